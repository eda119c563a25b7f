"""Inference tensors outside ``inference_mode``, compared with PyTorch: asking them to require
grad (``requires_grad_``, the setter, ``nn.Parameter``) is refused; ``detach()`` and ``.data``
stay inference tensors; ``zero_``/``fill_``/``copy_``/``fill_diagonal_``/``resize_``, ``out=``
and ``nn.init`` writes are refused like every other in-place update; the save-for-backward
refusal has PyTorch 2.13's words. (Found writing the generative-model programs: samples drawn
under ``inference_mode`` and then fed to training.)"""

import pytest

import ember

torch = pytest.importorskip("torch")


def _inference_ones(L, *shape):
    with L.inference_mode():
        return L.ones(*shape)


def _outcome(fn, L):
    try:
        out = fn(L)
    except RuntimeError as err:
        return "RuntimeError: " + str(err)
    if isinstance(out, (L.Tensor,)):
        return ("tensor", out.tolist(), out.requires_grad)
    return out


CASES = {
    "requires_grad_": lambda L: _inference_ones(L, 2).requires_grad_(),
    "requires_grad_false": lambda L: _inference_ones(L, 2).requires_grad_(False),
    "setter": lambda L: setattr(_inference_ones(L, 2), "requires_grad", True),
    "setter_false": lambda L: setattr(_inference_ones(L, 2), "requires_grad", False),
    "parameter": lambda L: L.nn.Parameter(_inference_ones(L, 2)),
    "parameter_no_grad": lambda L: L.nn.Parameter(_inference_ones(L, 2), requires_grad=False),
    "detach_is_inference": lambda L: _inference_ones(L, 2).detach().is_inference(),
    "data_is_inference": lambda L: _inference_ones(L, 2).data.is_inference(),
    "detach_requires_grad": lambda L: _inference_ones(L, 2).detach().requires_grad_(),
    "clone_requires_grad": lambda L: _inference_ones(L, 2).clone().requires_grad_(),
    "zero_": lambda L: _inference_ones(L, 2).zero_(),
    "view_zero_": lambda L: _inference_ones(L, 2).view(2).zero_(),
    "fill_": lambda L: _inference_ones(L, 2).fill_(3.0),
    "copy_": lambda L: _inference_ones(L, 2).copy_(L.zeros(2)),
    "fill_diagonal_": lambda L: _inference_ones(L, 2, 2).fill_diagonal_(0.0),
    "resize_": lambda L: _inference_ones(L, 4).resize_(2, 2),
    "out=": lambda L: L.add(L.ones(2), 1, out=_inference_ones(L, 2)),
    "init_zeros_": lambda L: L.nn.init.zeros_(_inference_ones(L, 2, 2)),
    "init_normal_": lambda L: L.nn.init.normal_(_inference_ones(L, 2, 2)),
    "saved_for_backward": lambda L: (L.ones(2, requires_grad=True) * _inference_ones(L, 2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_inference_tensor_outside_mode_matches_torch(name):
    assert _outcome(CASES[name], ember) == _outcome(CASES[name], torch)


def test_inside_inference_mode_requires_grad_is_allowed():
    t = _inference_ones(ember, 2)
    with ember.inference_mode():
        assert t.requires_grad_().requires_grad
        assert ember.nn.Parameter(t).requires_grad
