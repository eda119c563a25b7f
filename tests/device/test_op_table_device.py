"""Every op-table op on the ``cuda`` device backed by ``fake_cupy``: forward and first-order
gradients in float64 must run without touching host memory, land on the device, and equal what
ember computes on the CPU (the CPU results are compared with PyTorch in tests/ops).

Run as a script (``python -m tests.device.test_op_table_device``) for the failures grouped by the
innermost ember frame."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import ember

from ..ops.op_table import OPS
from ..ops.spec import as_list, make_arrays

CASES = [(spec, i) for spec in OPS for i in range(len(spec.shapes))]
IDS = [f"{spec.name}-{i}" for spec, i in CASES]
DEV = "cuda"


def _tensors(arrays, device, requires_grad_idx=()):
    out = []
    for k, a in enumerate(arrays):
        a = a.astype("float64") if a.dtype.kind == "f" else a
        t = ember.tensor(a, device=device)
        if k in requires_grad_idx:
            t.requires_grad_(True)
        out.append(t)
    return out


def _grad_idx(spec, arrays):
    idx = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
    if spec.grad_inputs is not None:
        idx = [k for k in idx if k in spec.grad_inputs]
    return idx


def _run(spec, arrays, device, default_device):
    """Forward outputs and (if the op is differentiable) input gradients on ``device``."""
    idx = _grad_idx(spec, arrays) if spec.grad else []
    ctx = ember.device(device) if default_device else contextlib.nullcontext()
    with ctx:
        ts = _tensors(arrays, device, idx)
        outs = as_list(spec.fn(ember, *ts))
        grads = []
        if idx:
            diff = [o for o in outs if o is not None and o.requires_grad]
            if diff:
                rng = np.random.default_rng(7)
                ups = [ember.tensor(rng.standard_normal(tuple(o.shape)), device=device)
                       for o in diff]
                grads = list(ember.autograd.grad(diff, [ts[k] for k in idx], ups,
                                                 allow_unused=True))
    return outs, grads


def _is_mixing_error(err) -> bool:
    return isinstance(err, RuntimeError) and "same device" in str(err)


def _check_same(dev_vals, cpu_vals, what):
    assert len(dev_vals) == len(cpu_vals), what
    for k, (d, c) in enumerate(zip(dev_vals, cpu_vals)):
        if c is None or not hasattr(c, "device"):
            assert (d is None) == (c is None), f"{what} {k}: {d!r} vs {c!r}"
            if c is not None:
                assert d == c, f"{what} {k}: {d!r} vs {c!r}"
            continue
        assert d is not None, f"{what} {k}: None on the device"
        assert d.device.type == "cuda", f"{what} {k} is on {d.device}, not on the device"
        assert tuple(d.shape) == tuple(c.shape) and d.dtype == c.dtype, \
            f"{what} {k}: {tuple(d.shape)} {d.dtype} vs {tuple(c.shape)} {c.dtype}"
        dv = d.detach().cpu().numpy()
        cv = c.detach().numpy()
        if cv.dtype.kind in "fc":
            np.testing.assert_allclose(dv, cv, rtol=1e-7, atol=1e-9, equal_nan=True,
                                       err_msg=f"{what} {k}")
        else:
            np.testing.assert_array_equal(dv, cv, err_msg=f"{what} {k}")


def check_case(spec, i):
    arrays = make_arrays(spec, spec.shapes[i], np.random.default_rng(1234 + i))
    cpu_outs, cpu_grads = _run(spec, arrays, "cpu", False)
    try:
        outs, grads = _run(spec, arrays, DEV, False)
    except RuntimeError as err:
        if not _is_mixing_error(err):
            raise
        # the table's lambda makes its own (CPU) tensors: run it with cuda as the default
        outs, grads = _run(spec, arrays, DEV, True)
    _check_same(outs, cpu_outs, "output")
    _check_same(grads, cpu_grads, "grad")


@pytest.mark.parametrize("spec,i", CASES, ids=IDS)
def test_op_runs_on_the_device(spec, i):
    check_case(spec, i)


def test_scatter_multiply_has_a_device_path():
    """CuPy has no multiply.at: _backend.ufunc_at takes it through the host."""
    outs = []
    for device in ("cpu", "cuda"):
        x = ember.arange(1.0, 7.0, device=device).reshape(2, 3)
        idx = ember.tensor([[0, 1, 0], [0, 0, 1]], device=device)
        outs.append(x.scatter(0, idx, ember.full((2, 3), 2.0, device=device), reduce="multiply"))
    assert outs[1].device.type == "cuda"
    np.testing.assert_array_equal(outs[1].cpu().numpy(), outs[0].numpy())


def _survey():  # pragma: no cover - a developer's tool
    import collections
    import traceback

    from ember import _backend

    from . import fake_cupy

    _backend.use_cuda_module(fake_cupy)
    by_where = collections.defaultdict(list)
    failed_ops = set()
    for spec, i in CASES:
        try:
            check_case(spec, i)
        except Exception as err:
            tb = traceback.extract_tb(err.__traceback__)
            frames = [f for f in tb if "/ember/" in f.filename]
            where = (f"{frames[-1].filename.split('/ember/')[1]}:{frames[-1].lineno} "
                     f"{frames[-1].name}") if frames else "test"
            by_where[(where, f"{type(err).__name__}: {str(err)[:90]}")].append(
                f"{spec.name}-{i}")
            failed_ops.add(spec.name)
    for (where, msg), names in sorted(by_where.items(), key=lambda kv: -len(kv[1])):
        print(f"{len(names):4d}  {where}  {msg}\n      {' '.join(names[:8])}")
    print(f"ops passing every case: {len(OPS) - len(failed_ops)}/{len(OPS)}")


if __name__ == "__main__":
    _survey()
