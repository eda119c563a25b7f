"""Gaps found while writing the equivariant-network programs (tests/programs/eq_*.py),
each checked against PyTorch."""

import subprocess
import sys

import ember

_T_PROBE = """
import warnings
import {lib}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for shape in [(2, 3), (4, 2, 3), (3,), (), (5, 1, 2), ()]:
        print(tuple({lib}.zeros(shape).T.shape))
for w in caught:  # torch's C++ warnings end with "(Triggered internally at <file>:<line>.)"
    print(w.category.__name__, w.filename == "<string>",
          str(w.message).split(" (Triggered internally")[0])
{lib}.set_warn_always(True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    {lib}.zeros(2, 3, 4).T, {lib}.zeros(2, 3, 4).T, {lib}.zeros(2, 3).T
print(len(caught))
"""


def _t_probe(lib):
    out = subprocess.run([sys.executable, "-c", _T_PROBE.format(lib=lib)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_T_on_non_matrix_warns_once_like_torch():
    """``x.T`` reverses all dims; on anything but a matrix torch gives a deprecation warning,
    once per process per message (every time under set_warn_always), at the user's line."""
    mine = _t_probe("ember")
    assert "UserWarning True The use of `x.T` on tensors of dimension other than 2" in mine
    assert "UserWarning True Tensor.T is deprecated on 0-D tensors" in mine
    assert mine == _t_probe("torch")


def _rot90_facts(lib, k, dims, shape=(2, 3, 4)):
    base = lib.arange(24.0).reshape(shape).requires_grad_()
    x = base * 1  # a non-leaf: next_functions name the multiplication
    y = lib.rot90(x, k, dims)
    weight = lib.arange(float(y.numel())).reshape(y.shape)
    (g,) = lib.autograd.grad((y * weight).sum(), base, create_graph=True)
    return (type(y.grad_fn).__name__, type(y.grad_fn.next_functions[0][0]).__name__,
            tuple(y.shape), y.stride(), y.is_contiguous(), y._base is None,
            y.detach().numpy().tolist(), g.detach().numpy().tolist(), g.requires_grad)


def test_rot90_is_one_node_laid_out_like_torch():
    """torch.rot90 is one autograd node (Rot90Backward0, whose backward is rot90 again) and
    returns a fresh tensor (no _base): a flip transposed in place for odd k, a contiguous
    clone for k = 0. ember built it from flip + transpose (TransposeBackward0, a view)."""
    import torch as real_torch

    for k, dims in [(1, (0, 1)), (2, (1, 2)), (3, (2, 0)), (-1, (0, 2)), (0, (1, 0)),
                    (5, (-1, -2))]:
        assert _rot90_facts(ember, k, dims) == _rot90_facts(real_torch, k, dims), (k, dims)
