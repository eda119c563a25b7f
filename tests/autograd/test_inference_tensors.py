"""Tensors made under ``inference_mode`` are inference tensors, as in PyTorch: views keep
their base's kind, in-place updates outside the mode and saving for backward are refused."""

import pytest

import ember

torch = pytest.importorskip("torch")


def _outcome(lib, fn):
    try:
        out = fn(lib)
    except RuntimeError as err:
        return "RuntimeError: " + str(err)[:40]
    return out


def _view_of_normal(L):
    x = L.ones(3)
    with L.inference_mode():
        v = x[0:2]
        made = x * 1
    return v.is_inference(), made.is_inference(), x.is_inference()


def _inplace_in_no_grad(L):
    with L.inference_mode():
        y = L.ones(2)
    with L.no_grad():
        y.add_(1)
    return y.is_inference()


def _unsaved_use(L):  # add saves nothing: an inference tensor may meet autograd there
    with L.inference_mode():
        c = L.ones(2)
    w = L.ones(2, requires_grad=True)
    (w + c).sum().backward()
    return [float(g) for g in w.grad]


def _saved_use(L):
    with L.inference_mode():
        c = L.ones(2)
    w = L.ones(2, requires_grad=True)
    (w * c).sum().backward()
    return None


@pytest.mark.parametrize("fn", [_view_of_normal, _inplace_in_no_grad, _unsaved_use, _saved_use])
def test_inference_tensors_match_torch(fn):
    assert _outcome(ember, fn) == _outcome(torch, fn)
