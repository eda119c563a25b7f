"""nn.LinearCrossEntropyLoss, F.linear_cross_entropy and LinearCrossEntropyOptions against
torch 2.13: values and gradients on its reference path, K-dimensional heads, probability
targets, ignore_index's None default, the options' fallback warning and every check."""

import warnings

import numpy as np
import pytest

import ember

CASES = [
    # (input shape, out_features, bias, target kind, kwargs)
    ((6, 5), (), False, "index", {}),
    ((6, 5), (), True, "index", {"reduction": "sum"}),
    ((5,), (), True, "index", {"reduction": "none"}),
    ((6, 5), (), True, "index", {"ignore_index": 2, "label_smoothing": 0.1}),
    ((6, 5), (), False, "prob", {"reduction": "mean"}),
    ((6, 5), (3,), True, "index", {"reduction": "none"}),
    ((6, 5), (2, 3), False, "index", {"weighted": True}),
]


def _run(lib, x, w, b, target, kwargs):
    xt = lib.tensor(x, requires_grad=True)
    wt = lib.tensor(w, requires_grad=True)
    bt = lib.tensor(b, requires_grad=True) if b is not None else None
    kw = dict(kwargs)
    if kw.pop("weighted", False):
        kw["weight"] = lib.linspace(0.5, 2.0, w.shape[0])
    tt = lib.tensor(target)
    loss = lib.nn.functional.linear_cross_entropy(xt, wt, tt, linear_bias=bt, **kw)
    loss.sum().backward()
    grads = [t.grad.numpy() for t in (xt, wt, bt) if t is not None]
    return loss.detach().numpy(), grads


@pytest.mark.parametrize("shape,out_features,bias,kind,kwargs", CASES)
def test_functional_matches_torch(torch, shape, out_features, bias, kind, kwargs):
    rng = np.random.default_rng(0)
    classes = 4
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((classes, *out_features, shape[-1])).astype(np.float32)
    b = rng.standard_normal((classes, *out_features)).astype(np.float32) if bias else None
    batch = shape[:-1]
    if kind == "index":
        target = rng.integers(0, classes, (*batch, *out_features))
    else:
        target = rng.random((*batch, classes, *out_features)).astype(np.float32)
        target /= target.sum(axis=len(batch), keepdims=True)
    t_loss, t_grads = _run(torch, x, w, b, target, kwargs)
    e_loss, e_grads = _run(ember, x, w, b, target, kwargs)
    assert e_loss.shape == t_loss.shape
    np.testing.assert_allclose(e_loss, t_loss, rtol=1e-5, atol=1e-6)
    for e, t in zip(e_grads, t_grads):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


def test_module_matches_torch_and_keeps_its_parameters_flat(torch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    target = rng.integers(0, 3, (5, 2))
    losses, keys = [], []
    for lib in (torch, ember):
        lib.manual_seed(0)
        head = lib.nn.LinearCrossEntropyLoss(6, 3, out_features=(2,), bias=True,
                                             label_smoothing=0.05)
        with lib.no_grad():
            head.linear.weight.copy_(lib.tensor(np.linspace(-1, 1, 36).reshape(6, 6)))
            head.linear.bias.copy_(lib.tensor(np.linspace(-0.5, 0.5, 6)))
        loss = head(lib.tensor(x), lib.tensor(target))
        loss.backward()
        losses.append((loss.item(), head.linear.weight.grad.numpy().copy()))
        keys.append({k: tuple(v.shape) for k, v in head.state_dict().items()})
        assert repr(head).startswith("LinearCrossEntropyLoss(")
    assert keys[0] == keys[1] == {"linear.weight": (6, 6), "linear.bias": (6,)}
    np.testing.assert_allclose(losses[1][0], losses[0][0], rtol=1e-6)
    np.testing.assert_allclose(losses[1][1], losses[0][1], rtol=1e-5, atol=1e-7)


def test_options_are_checked_and_fall_back_with_torch_warning(torch):
    for lib in (torch, ember):
        opts = lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
        x, w = lib.ones(3, 4), lib.ones(5, 4)
        target = lib.tensor([0, 1, 2])
        plain = lib.nn.functional.linear_cross_entropy(x, w, target)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the supported case: no warning
            chunked = lib.nn.functional.linear_cross_entropy(x, w, target, options=opts)
        assert abs(chunked.item() - plain.item()) < 1e-6
        with pytest.warns(UserWarning, match=r"options`` ignored; chunked path needs .*"
                                             r"label_smoothing=0.2"):
            lib.nn.functional.linear_cross_entropy(x, w, target, options=opts,
                                                   label_smoothing=0.2)
        for bad, match in (({"acc_policy": "fast"}, "invalid acc_policy: 'fast'"),
                           ({"chunking_method": "rows"}, "invalid chunking_method: 'rows'"),
                           ({"batch_chunk_size": 0}, "batch_chunk_size must be positive"),
                           ({"acc_dtype": lib.int32}, "acc_dtype must be one of")):
            with pytest.raises(ValueError, match=match):
                lib.nn.LinearCrossEntropyOptions(**bad)
        with pytest.raises(AttributeError):  # a frozen dataclass (FrozenInstanceError)
            opts.batch_chunk_size = 4


@pytest.mark.parametrize("args,match", [
    (((2, 3, 4), (5, 4), (2, 3)), "expected input with dimensionality 1 or 2, got 3"),
    (((2, 4), (4,), (2,)), "expected linear_weight with dimensionality at least 2, got 1"),
    (((2, 4), (5, 3), (2,)), "expected equal input and linear_weight last dimensions"),
    (((4,), (5, 2, 4), (2,)), "requires batched input"),
])
def test_checks_raise_torch_errors(torch, args, match):
    for lib in (torch, ember):
        x, w, t = (lib.zeros(s) for s in args)
        with pytest.raises(RuntimeError, match=match):
            lib.nn.functional.linear_cross_entropy(x, w, t.long())
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match=r"expected linear_bias shape \(5,\), got \(4,\)"):
            lib.nn.functional.linear_cross_entropy(lib.zeros(2, 4), lib.zeros(5, 4),
                                                   lib.tensor([0, 1]), linear_bias=lib.zeros(4))
        with pytest.raises(RuntimeError, match="ignore_index cannot be specified"):
            lib.nn.functional.linear_cross_entropy(lib.zeros(2, 4), lib.zeros(5, 4),
                                                   lib.zeros(2, 5), ignore_index=1)
        with pytest.raises(RuntimeError, match=r"expected weight shape to be \(3,\)"):
            lib.nn.LinearCrossEntropyLoss(4, 3, weight=lib.ones(4))
        with pytest.raises(RuntimeError, match="label_smoothing to be in range"):
            lib.nn.LinearCrossEntropyLoss(4, 3, label_smoothing=1.5)
