"""cross_entropy's fast path (every target a class, no weights, no smoothing) and general
path give torch's values and gradients, including ignore_index inside the class range,
retain_graph backward twice and an empty batch."""

import numpy as np
import pytest

import ember

CASES = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(ignore_index=2),                        # in range: the general path
    dict(ignore_index=2, reduction="sum"),
    dict(weight=True),
    dict(label_smoothing=0.1),
]


@pytest.mark.parametrize("kw", CASES, ids=[str(k) for k in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_matches_torch(torch, kw, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 4)).astype(dtype)
    y = np.array([0, 2, 3, 2, 1, 0, 3])
    w = rng.uniform(0.5, 2.0, 4).astype(dtype)
    res = []
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        args = dict(kw)
        if args.pop("weight", None):
            args["weight"] = lib.tensor(w)
        loss = lib.nn.functional.cross_entropy(xt, lib.tensor(y), **args)
        total = loss.sum() if loss.dim() else loss
        total.backward(retain_graph=True)
        first = xt.grad.clone()
        total.backward()  # the saved softmax must survive the first backward
        res.append((loss.detach().numpy(), first.numpy(), (xt.grad - first).numpy()))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, **tol)


def test_cross_entropy_empty_batch_and_bad_target(torch):
    for lib in (ember, torch):
        x = lib.zeros(0, 3, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.zeros(0, dtype=lib.int64), reduction="sum")
        loss.backward()
        assert loss.item() == 0 and tuple(x.grad.shape) == (0, 3)
        with pytest.raises(IndexError):
            lib.nn.functional.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 3]))


def test_cross_entropy_many_rows_matches_torch(torch):
    # 4096 rows of 21 classes (per-pixel segmentation-like): the transposed row-max path
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4096, 21)) * 5).astype(np.float32)
    y = rng.integers(0, 21, 4096)
    res = []
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xt, lib.tensor(y))
        loss.backward()
        res.append((loss.item(), xt.grad.numpy()))
    assert res[0][0] == pytest.approx(res[1][0], rel=1e-5)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-4, atol=1e-8)


def test_common_case_shortcut_equals_the_general_path(monkeypatch):
    # the usual call (N x C logits, in-range int64 targets, mean/sum) skips the general checks;
    # it must give the same value, gradient and grad_fn as the general path
    from ember._ops.nn import loss

    for n, c in ((1, 10), (5, 3), (64, 10)):
        x = ember.randn(n, c, requires_grad=True)
        t = ember.randint(0, c, (n,))
        for reduction in ("mean", "sum"):
            results = []
            for shortcut in (True, False):
                if not shortcut:
                    monkeypatch.setattr(loss, "_common_case", lambda *a: None)
                out = ember.nn.functional.cross_entropy(x, t, reduction=reduction)
                out.backward()
                results.append((out.item(), x.grad.clone(), out.grad_fn.name()))
                x.grad = None
                monkeypatch.undo()
            (v1, g1, n1), (v2, g2, n2) = results
            assert v1 == v2 and ember.equal(g1, g2) and n1 == n2 == "NllLossBackward0"
    # out of range and ignored targets still take the checked path
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        ember.nn.functional.cross_entropy(ember.zeros(2, 3), ember.tensor([0, 5]))
    assert ember.nn.functional.cross_entropy(
        ember.zeros(2, 3), ember.tensor([0, 1]), ignore_index=1).item() == pytest.approx(1.0986123)
