"""Losses against torch: values, input gradients (and target gradients where torch has them),
every reduction, options, and the dtype/shape error messages."""

import warnings

import numpy as np
import pytest

import ember

from ._helpers import same

R = np.random.default_rng(0)


def _f32(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, shape).astype(np.float32)


def _sign(*shape):
    return np.where(R.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


X = _f32(4, 5)
PROB = _f32(4, 5, lo=0.02, hi=0.98)
T01 = (R.random((4, 5)) < 0.5).astype(np.float32)
IDX = np.array([1, 0, 4, 2])
IDX_IGN = np.array([1, -100, 4, 2])
X3 = _f32(3, 4, 2, 2)
IDX3 = R.integers(0, 4, (3, 2, 2))
W5 = _f32(5, lo=0.2, hi=2.0)
SOFT = R.dirichlet(np.ones(5), 4).astype(np.float32)

# name, module constructor, input arrays, which inputs get gradients
CASES = [
    ("MSELoss", "nn.MSELoss({r})", [X, _f32(4, 5)], (0, 1)),
    ("L1Loss", "nn.L1Loss({r})", [X, _f32(4, 5)], (0, 1)),
    ("SmoothL1Loss", "nn.SmoothL1Loss({r}, beta=0.5)", [X, _f32(4, 5)], (0, 1)),
    ("SmoothL1Loss0", "nn.SmoothL1Loss({r}, beta=0.0)", [X, _f32(4, 5)], (0, 1)),
    ("HuberLoss", "nn.HuberLoss({r}, delta=0.7)", [X, _f32(4, 5)], (0, 1)),
    ("CE", "nn.CrossEntropyLoss({r})", [X, IDX], (0,)),
    ("CE_weight", "nn.CrossEntropyLoss(W, {r})", [X, IDX], (0,)),
    ("CE_ignore", "nn.CrossEntropyLoss({r}, ignore_index=-100)", [X, IDX_IGN], (0,)),
    ("CE_ignore_w", "nn.CrossEntropyLoss(W, {r}, ignore_index=2)", [X, IDX], (0,)),
    ("CE_smooth", "nn.CrossEntropyLoss({r}, label_smoothing=0.2)", [X, IDX_IGN], (0,)),
    ("CE_smooth_w", "nn.CrossEntropyLoss(W, {r}, label_smoothing=0.1)", [X, IDX], (0,)),
    ("CE_nd", "nn.CrossEntropyLoss({r})", [X3, IDX3], (0,)),
    ("CE_probs", "nn.CrossEntropyLoss({r})", [X, SOFT], (0, 1)),
    ("CE_probs_w_smooth", "nn.CrossEntropyLoss(W, {r}, label_smoothing=0.3)", [X, SOFT], (0,)),
    ("CE_unbatched", "nn.CrossEntropyLoss({r})", [_f32(5), np.array(3)], (0,)),
    ("NLL", "nn.NLLLoss({r})", [X, IDX], (0,)),
    ("NLL_w_ignore", "nn.NLLLoss(W, {r}, ignore_index=0)", [X, IDX], (0,)),
    ("NLL_nd", "nn.NLLLoss({r})", [X3, IDX3], (0,)),
    ("BCE", "nn.BCELoss({r})", [PROB, T01], (0,)),
    ("BCE_soft_target", "nn.BCELoss({r})", [PROB, _f32(4, 5, lo=0, hi=1)], (0, 1)),
    ("BCE_w", "nn.BCELoss(W, {r})", [PROB, T01], (0,)),
    ("BCELogits", "nn.BCEWithLogitsLoss({r})", [X * 5, T01], (0, 1)),
    ("BCELogits_pw", "nn.BCEWithLogitsLoss(W, {r}, pos_weight=W)", [X, T01], (0, 1)),
    ("KLDiv", "nn.KLDivLoss({r})", [X, PROB], (0, 1)),
    ("KLDiv_log", "nn.KLDivLoss({r}, log_target=True)", [X, X.T.copy().T * 0.5], (0, 1)),
    ("Poisson", "nn.PoissonNLLLoss(reduction={r})", [X, PROB * 3], (0, 1)),
    ("Poisson_nolog_full", "nn.PoissonNLLLoss(log_input=False, full=True, reduction={r})",
     [PROB * 2, PROB * 4], (0,)),
    ("CosEmb", "nn.CosineEmbeddingLoss(0.1, {r})", [X, _f32(4, 5), _sign(4)], (0, 1)),
    ("MarginRank", "nn.MarginRankingLoss(0.2, {r})", [_f32(6), _f32(6), _sign(6)], (0, 1)),
    ("Hinge", "nn.HingeEmbeddingLoss(0.8, {r})", [X, _sign(4, 5)], (0,)),
    ("Triplet", "nn.TripletMarginLoss(1.0, {r})", [X, _f32(4, 5), _f32(4, 5)], (0, 1, 2)),
    ("Triplet_swap_p1", "nn.TripletMarginLoss(0.5, p=1, swap=True, reduction={r})",
     [X, _f32(4, 5), _f32(4, 5)], (0, 1, 2)),
    ("SoftMargin", "nn.SoftMarginLoss({r})", [X, _sign(4, 5)], (0,)),
    ("MultiLabelSoftMargin", "nn.MultiLabelSoftMarginLoss(W, {r})", [X, T01], (0,)),
]


def _make(lib, expr, reduction):
    r = f"reduction='{reduction}'"
    if "reduction=" in expr:
        src = expr.replace("{r}", f"'{reduction}'")
    else:
        src = expr.replace("{r}", r)
    return eval(src, {"nn": lib.nn, "W": lib.tensor(W5)})


@pytest.mark.parametrize("name,expr,arrays,grads", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_matches_torch(torch, name, expr, arrays, grads, reduction):
    e_in, t_in = [], []
    for i, a in enumerate(arrays):
        e, t = ember.tensor(a), torch.tensor(a)
        if i in grads:
            e.requires_grad_(True)
            t.requires_grad_(True)
        e_in.append(e)
        t_in.append(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e_out = _make(ember, expr, reduction)(*e_in)
        t_out = _make(torch, expr, reduction)(*t_in)
    same(e_out, t_out, atol=1e-5)
    assert str(e_out.dtype) == str(t_out.dtype)
    g = R.standard_normal(tuple(t_out.shape)).astype(np.float32)
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    for i in grads:
        same(e_in[i].grad, t_in[i].grad, atol=1e-5)


def test_cross_entropy_is_stable_for_huge_logits(torch):
    x = np.array([[1000.0, -1000.0, 0.0], [-5e4, 5e4, 1.0]], np.float32)
    t = np.array([0, 2])
    e = ember.nn.functional.cross_entropy(ember.tensor(x), ember.tensor(t))
    tt = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t))
    same(e, tt)
    assert np.isfinite(e.item())


def test_cross_entropy_float64(torch):
    x = R.standard_normal((3, 4))
    t = np.array([0, 3, 1])
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    e = ember.nn.functional.cross_entropy(xe, ember.tensor(t))
    tt = torch.nn.functional.cross_entropy(xt, torch.tensor(t))
    assert e.dtype == ember.float64
    e.backward()
    tt.backward()
    same(xe.grad, xt.grad, atol=1e-12)


def test_cross_entropy_all_ignored_gives_nan(torch):
    out = ember.nn.functional.cross_entropy(ember.zeros(2, 3), ember.tensor([-100, -100]))
    assert np.isnan(out.item())


def test_cross_entropy_ignored_entry_is_positive_zero(torch):
    # label smoothing (and class weights) take the dense path; an ignored entry there must be
    # +0.0 as in torch, which prints "0.0000", not "-0.0000"
    x = R.standard_normal((2, 4, 3)).astype(np.float32)
    t = np.array([[0, 1, 3], [2, 2, -100]])
    for kw in ({"label_smoothing": 0.1}, {"label_smoothing": 0.2, "weight": W5[:4]}, {}):
        e = ember.nn.functional.cross_entropy(
            ember.tensor(x), ember.tensor(t), reduction="none",
            **{k: ember.tensor(v) if k == "weight" else v for k, v in kw.items()})
        tt = torch.nn.functional.cross_entropy(
            torch.tensor(x), torch.tensor(t), reduction="none",
            **{k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()})
        same(e, tt, atol=1e-6)
        assert np.signbit(e.numpy()[1, 2]) == np.signbit(tt.numpy()[1, 2]), kw
        assert repr(e.round(decimals=4)) == repr(tt.round(decimals=4)), kw


def test_cross_entropy_second_order(torch):
    x = R.standard_normal((3, 4))
    t = np.array([0, 3, 1])
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (ge,) = ember.autograd.grad(ember.nn.functional.cross_entropy(xe, ember.tensor(t),
                                                                  label_smoothing=0.1), xe,
                                create_graph=True)
    (gt,) = torch.autograd.grad(torch.nn.functional.cross_entropy(xt, torch.tensor(t),
                                                                  label_smoothing=0.1), xt,
                                create_graph=True)
    (ge * ge).sum().backward()
    (gt * gt).sum().backward()
    same(xe.grad, xt.grad, atol=1e-10)


def test_nll_second_order_through_log_softmax(torch):
    x = R.standard_normal((3, 4))
    t = np.array([0, 3, 1])
    res = []
    for lib in (ember, torch):
        xl = lib.tensor(x, requires_grad=True)
        F = lib.nn.functional
        (g,) = lib.autograd.grad(F.nll_loss(F.log_softmax(xl, 1), lib.tensor(t)), xl,
                                 create_graph=True)
        (g * g).sum().backward()
        res.append(xl.grad)
    same(*res, atol=1e-10)


def test_cross_entropy_target_dtype_errors():
    F = ember.nn.functional
    with pytest.raises(RuntimeError, match=r"Long or Byte, but got Int") as info:
        F.cross_entropy(ember.zeros(3, 4), ember.tensor([1, 2, 3], dtype=ember.int32))
    assert any("target.long()" in note for note in info.value.__notes__)
    with pytest.raises(RuntimeError, match="Long or Byte, but got Float"):
        F.cross_entropy(ember.zeros(3, 4), ember.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.cross_entropy(ember.zeros(3, 4), ember.tensor([1, 2, 5]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target "
                                         r"batch_size \(1\)"):
        F.cross_entropy(ember.zeros(3, 4), ember.tensor([[1, 2, 3]]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(ember.zeros(3, 4), ember.tensor([1, 2, 3]), reduction="avg")


def test_regression_loss_dtype_and_shape_messages(torch):
    F = ember.nn.functional
    # torch 2.13 promotes an integer target (tests/test_error_parity_s37.py compares more)
    assert F.mse_loss(ember.zeros(3), ember.tensor([1, 2, 3])).item() == pytest.approx(
        torch.nn.functional.mse_loss(torch.zeros(3), torch.tensor([1, 2, 3])).item())
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(ember.zeros(3, 1), ember.zeros(3))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(ember.zeros(3, 1) + 0.5, ember.zeros(3))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(ember.zeros(3, 1), ember.zeros(3))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([1.5]), ember.tensor([1.0]))


@pytest.mark.parametrize("input_dtype,target_dtype,hint", [
    ("float64", "float32", "double"), ("float32", "float64", "float"),
    ("float32", "int64", "float"), ("float32", "bool", "float"), ("float32", "float16", "float")])
def test_bce_refuses_a_target_of_another_dtype_like_torch(torch, input_dtype, target_dtype, hint):
    # torch's binary_cross_entropy kernel casts nothing: float64 input, float32 target raises
    x, y = np.array([0.25, 0.75]), np.array([0.0, 1.0])

    def run(lib):
        return lib.nn.BCELoss()(lib.tensor(x, dtype=getattr(lib, input_dtype)),
                                lib.tensor(y, dtype=getattr(lib, target_dtype)))

    with pytest.raises(RuntimeError) as expected:
        run(torch)
    with pytest.raises(RuntimeError) as got:
        run(ember)
    assert str(got.value) == str(expected.value)  # torch's message; the fix is a note
    assert any(f"target.{hint}()" in note for note in got.value.__notes__)


def test_bce_clamps_log_like_torch(torch):
    x = np.array([0.0, 1.0, 0.5], np.float32)
    y = np.array([1.0, 0.0, 1.0], np.float32)
    e = ember.nn.functional.binary_cross_entropy(ember.tensor(x), ember.tensor(y))
    t = torch.nn.functional.binary_cross_entropy(torch.tensor(x), torch.tensor(y))
    same(e, t)


def test_kl_div_batchmean_and_warning(torch):
    x, y = _f32(4, 5), PROB
    e = ember.nn.functional.kl_div(ember.tensor(x), ember.tensor(y), reduction="batchmean")
    t = torch.nn.functional.kl_div(torch.tensor(x), torch.tensor(y), reduction="batchmean")
    same(e, t)
    with pytest.warns(UserWarning, match="batchmean"):
        ember.nn.functional.kl_div(ember.tensor(x), ember.tensor(y))


def test_gaussian_nll_matches_torch(torch):
    x, y, v = _f32(4, 3), _f32(4, 3), _f32(4, 1, lo=0.0, hi=1.0)
    v[0, 0] = 0.0  # clamped to eps
    res = []
    for lib in (ember, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in (x, y, v)]
        out = lib.nn.GaussianNLLLoss(full=True)(*xs)
        out.backward()
        res.append([out] + [a.grad for a in xs])
    for e, t in zip(*res):
        same(e, t, atol=1e-4)


def test_legacy_size_average_reduce(torch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = ember.nn.MSELoss(size_average=False)
        t = torch.nn.MSELoss(size_average=False)
    assert e.reduction == t.reduction == "sum"


@pytest.mark.parametrize("target", ["index", "index_ignore", "probs"])
def test_cross_entropy_backward_twice_with_retained_graph(torch, target):
    """backward reuses the saved softmax in place; a second backward through a retained graph
    must recompute it, not read the first one's gradient."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    idx = np.array([0, 4, 2, 2, 1, 3])
    probs = rng.random((6, 5)).astype(np.float32)
    probs /= probs.sum(1, keepdims=True)
    grads, losses = [], []
    for L in (ember, torch):
        t = L.from_numpy(x.copy()).requires_grad_()
        y = L.from_numpy(probs.copy()) if target == "probs" else L.from_numpy(idx.copy())
        kw = {"ignore_index": 2} if target == "index_ignore" else {}
        loss = L.nn.functional.cross_entropy(t, y, **kw)
        loss.backward(retain_graph=True)
        first = t.grad.numpy().copy()
        loss.backward()
        grads.append((first, t.grad.numpy()))
        losses.append(loss.item())
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_cross_entropy_with_no_classes_and_no_samples_as_torch(torch, reduction):
    """(0, 0, 2) logits: the rows could not be inferred by reshape(-1, 0), which raised."""
    out = []
    for lib in (torch, ember):
        loss = lib.nn.functional.cross_entropy(lib.zeros(0, 0, 2), lib.zeros(0, 2, dtype=lib.long),
                                               reduction=reduction)
        out.append((tuple(loss.shape), loss.numpy().tolist()))
    assert str(out[0]) == str(out[1])  # nan for mean on both sides


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_elementwise_loss_weight_matches_torch(name, reduction):
    """torch 2.13's ``weight=``: mse/l1 take the weighted mean sum(w*l)/sum(w), huber the plain
    mean of w*l; the weight must have the input's size (ember used to broadcast it and took
    the plain mean everywhere)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, y, w = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    w = np.abs(w)
    results = []
    for lib in (torch, ember):
        xi = lib.tensor(x, requires_grad=True)
        out = getattr(lib.nn.functional, name)(xi, lib.tensor(y), reduction=reduction,
                                               weight=lib.tensor(w))
        out.sum().backward()
        results.append((out.detach().numpy(), xi.grad.numpy(), out.grad_fn.name()))
        with pytest.raises(ValueError, match="Weights and input must have the same size"):
            getattr(lib.nn.functional, name)(xi, lib.tensor(y), weight=lib.tensor(w[0]))
    (t_out, t_grad, t_name), (e_out, e_grad, e_name) = results
    np.testing.assert_allclose(e_out, t_out, rtol=1e-6)
    np.testing.assert_allclose(e_grad, t_grad, rtol=1e-6)
    assert e_name == t_name
