"""Gaps found while writing the depth-estimation programs (tests/programs/depth_*.py), each
checked against PyTorch: ``F.gaussian_nll_loss`` with a per-pixel variance map that broadcasts
over one dimension (an aleatoric-uncertainty head predicting one variance for all channels,
``(N, 1, H, W)`` against ``(N, C, H, W)``), which torch accepts wherever the one mismatched
dimension of ``var`` has size 1, and torch's order of checks (negative entries before the
size, the reduction before var's dtype)."""

import numpy as np
import pytest
import torch

import ember


def _outcome(fn, *args, **kwargs):
    try:
        out = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the exception is the thing compared
        return type(exc).__name__, str(exc)
    return "ok", tuple(out.shape), np.round(out.detach().numpy().astype(np.float64), 10).tolist()


_INPUT = np.random.default_rng(0).standard_normal((2, 3, 4, 5))


@pytest.mark.parametrize("var_shape", [
    (2, 1, 4, 5), (1, 3, 4, 5), (2, 3, 1, 5), (2, 3, 4, 1), (2, 3, 4), (2, 3, 4, 5),
    (2, 1, 1, 5), (1, 1, 1, 1), (3, 4, 5), (2, 2, 4, 5), (5,), ()])
def test_gaussian_nll_var_shapes_and_grads(var_shape):
    var = np.random.default_rng(1).uniform(0.1, 2.0, var_shape)
    results = []
    for lib in (torch, ember):
        x = lib.from_numpy(_INPUT.copy()).requires_grad_()
        v = lib.from_numpy(np.array(var)).requires_grad_()
        got = _outcome(lib.nn.functional.gaussian_nll_loss, x, lib.from_numpy(_INPUT * 0.5), v,
                       reduction="none")
        if got[0] == "ok":
            out = lib.nn.functional.gaussian_nll_loss(x, lib.from_numpy(_INPUT * 0.5), v,
                                                      reduction="none")
            gx, gv = lib.autograd.grad((out * out.detach()).sum(), (x, v))
            got += (np.round(gx.numpy(), 10).tolist(), np.round(gv.numpy(), 10).tolist())
        results.append(got)
    assert results[1] == results[0]


def _var_of_kind(lib, kind):
    if kind == "negative_float":
        return -0.5
    if kind == "int":
        return lib.ones(2, 3, 4, 5, dtype=lib.long)
    var = lib.ones(2, 2, 4, 5, dtype=lib.float64)
    return -var if kind == "negative_bad_shape" else var


@pytest.mark.parametrize("var_kind,reduction", [
    ("negative_bad_shape", "mean"), ("int", "avg"), ("int", "mean"), ("bad_shape", "avg"),
    ("negative_float", "mean")])
def test_gaussian_nll_order_of_checks(var_kind, reduction):
    results = []
    for lib in (torch, ember):
        x = lib.from_numpy(_INPUT.copy())
        var = _var_of_kind(lib, var_kind)
        results.append(_outcome(lib.nn.functional.gaussian_nll_loss, x, x, var,
                                reduction=reduction))
    assert results[1] == results[0]


def test_gaussian_nll_module_channel_broadcast():
    results = []
    for lib in (torch, ember):
        x = lib.from_numpy(_INPUT.copy())
        loss = lib.nn.GaussianNLLLoss(full=True, reduction="sum")
        results.append(round(loss(x, x * 0.3, x.abs()[:, :1] + 0.1).item(), 8))
    assert results[1] == results[0]
