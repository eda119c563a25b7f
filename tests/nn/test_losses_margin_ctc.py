"""The multi-class margin losses, CTC and adaptive softmax against torch (values, gradients,
every reduction, error types and messages), plus checks that need no torch: CTC against a
brute-force sum over alignments, and hand-computed margin losses."""

import itertools
import math
import warnings

import numpy as np
import pytest

import ember

from ._helpers import copy_params, pair, same

EF = ember.nn.functional


def _both(torch, fn, *arrays, grad=(0,), up_seed=0):
    """fn(lib, *tensors) in both libraries: outputs and the gradients of inputs ``grad``."""
    outs, grads = [], []
    for lib in (ember, torch):
        ts = [lib.tensor(a) for a in arrays]
        for k in grad:
            ts[k].requires_grad_(True)
        out = fn(lib, *ts)
        up = np.random.default_rng(up_seed).standard_normal(tuple(out.shape))
        gs = lib.autograd.grad(out, [ts[k] for k in grad], lib.tensor(up).to(out.dtype))
        outs.append(out)
        grads.append(gs)
    return outs, grads


def _raises_like(torch, fn, match=None):
    """Both libraries raise the same exception type (ember's message matching ``match``)."""
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember)
    if match is not None:
        assert match in str(e_err.value), (str(e_err.value), str(t_err.value))
    return str(e_err.value), str(t_err.value)


# -- multi_margin_loss ------------------------------------------------------------------------

def test_multi_margin_by_hand():
    x = ember.tensor([[0.1, 0.2, 0.4, 0.8]])
    # sum over i != 3 of max(0, 1 - 0.8 + x_i) / 4 = (0.3 + 0.4 + 0.6) / 4
    assert abs(EF.multi_margin_loss(x, ember.tensor([3])).item() - 0.325) < 1e-6
    sq = (0.3 ** 2 + 0.4 ** 2 + 0.6 ** 2) / 4 * 2.0  # p=2, weight 2 on class 3
    got = EF.multi_margin_loss(x, ember.tensor([3]), p=2, weight=ember.tensor([1., 1., 1., 2.]))
    assert abs(got.item() - sq) < 1e-6


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multi_margin_matches_torch(torch, p, reduction, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 5)).astype(dtype)
    t = rng.integers(0, 5, 6)
    w = rng.uniform(0.5, 2, 5).astype(dtype)
    (e, tt), (ge, gt) = _both(torch, lambda L, x, t, w: L.nn.functional.multi_margin_loss(
        x, t, p=p, margin=0.6, weight=w, reduction=reduction), x, t, w)
    assert e.dtype == ember.float32 if dtype == "float32" else e.dtype == ember.float64
    same(e, tt)
    same(ge[0], gt[0])
    assert e.grad_fn.name() == "MultiMarginLossBackward0"


def test_multi_margin_unbatched_shapes(torch):
    x = np.array([0.3, -0.2, 0.9], dtype=np.float32)
    for t, red in [(np.array(1), "none"), (np.array([1]), "none"), (np.array(2), "mean")]:
        (e, tt), (ge, gt) = _both(torch, lambda L, x, t, red=red: L.nn.functional.
                                  multi_margin_loss(x, t, reduction=red), x, t)
        same(e, tt)  # shapes too: 0-d target gives a 0-d 'none' result, (1,) a (1,)
        same(ge[0], gt[0])


def test_multi_margin_kink_has_zero_gradient():
    # z = margin - x_y + x_i is exactly 0 for class 0: PyTorch counts only z > 0
    x = ember.tensor([[0.0, 1.0]], requires_grad=True)
    EF.multi_margin_loss(x, ember.tensor([1])).backward()
    assert x.grad.tolist() == [[0.0, 0.0]]


def test_multi_margin_module(torch):
    w = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    t = np.array([0, 2, 1, 1])
    e_mod = ember.nn.MultiMarginLoss(p=2, margin=0.5, weight=ember.tensor(w), reduction="sum")
    t_mod = torch.nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor(w), reduction="sum")
    same(e_mod(ember.tensor(x), ember.tensor(t)), t_mod(torch.tensor(x), torch.tensor(t)))
    assert "weight" in dict(e_mod.named_buffers())
    assert repr(e_mod) == repr(t_mod)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        ember.nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="expected weight to be None or 1D tensor, got 2D"):
        ember.nn.MultiMarginLoss(weight=ember.ones(2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ember.nn.MultiMarginLoss(size_average=False).reduction == "sum"


def _mm(**kw):
    return lambda L: L.nn.functional.multi_margin_loss(**{
        k: (L.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()})


X34 = np.zeros((3, 4), np.float32)
T3 = np.array([0, 3, 1])


@pytest.mark.parametrize("kw,match", [
    (dict(input=X34, target=T3[:2]), "Expected target size [3], but got [2]"),
    (dict(input=X34, target=T3[:, None]), "Expected target size [3], but got [3, 1]"),
    (dict(input=X34, target=np.array([0, 4, 1])), "target out of range"),
    (dict(input=X34, target=T3.astype(np.float32)), "expected scalar type Long but found Float"),
    (dict(input=X34, target=T3.astype(np.int32)), "expected scalar type Long but found Int"),
    (dict(input=X34.astype(np.int64), target=T3), "not implemented for 'Long'"),
    (dict(input=X34, target=T3, p=3), "only p == 1 and p == 2 supported"),
    (dict(input=X34, target=T3, weight=np.ones(3, np.float32)),
     "inconsistent weight size, expected 4 but got [3]"),
    (dict(input=X34, target=T3, weight=np.ones((2, 2), np.float32)),
     "weight must be one-dimensional"),
    (dict(input=X34, target=T3, weight=np.ones(4)), "expected scalar type Float but found Double"),
    (dict(input=np.zeros((3, 0), np.float32), target=T3), "Expected non-empty vector or matrix"),
    (dict(input=np.zeros((2, 3, 4), np.float32), target=T3), "but got: [2, 3, 4]"),
    (dict(input=X34, target=T3, reduction="bad"), "bad is not a valid value for reduction"),
])
def test_multi_margin_errors(torch, kw, match):
    _raises_like(torch, _mm(**kw), match)


def test_multi_margin_weight_requiring_grad_is_refused(torch):
    def call(L):
        w = L.ones(4, requires_grad=True)
        return L.nn.functional.multi_margin_loss(L.zeros(3, 4), L.tensor(T3), weight=w)

    _raises_like(torch, call, "not differentiable with respect to argument 'weight'")


def test_multi_margin_empty_batch(torch):
    # PyTorch returns its output buffer unwritten for an empty batch (shape right, value
    # whatever memory held): ember gives the shape and the values a sum and a mean over nothing
    # have, 0 and NaN
    for red, want in (("none", []), ("sum", 0.0), ("mean", math.nan)):
        e = EF.multi_margin_loss(ember.zeros(0, 4), ember.zeros(0, dtype=ember.int64),
                                 reduction=red)
        t = torch.nn.functional.multi_margin_loss(torch.zeros(0, 4), torch.zeros(0).long(),
                                                  reduction=red)
        assert tuple(e.shape) == tuple(t.shape) and e.dtype == ember.float32
        np.testing.assert_array_equal(e.numpy(), np.array(want, np.float32))


# -- multilabel_margin_loss -------------------------------------------------------------------

def test_multilabel_margin_by_hand():
    x = ember.tensor([[0.1, 0.2, 0.4, 0.8]])
    # targets {3, 0} (the 1 after -1 is ignored); non-targets {1, 2}:
    # [(1-(0.8-0.2)) + (1-(0.8-0.4)) + (1-(0.1-0.2)) + (1-(0.1-0.4))] / 4
    got = EF.multilabel_margin_loss(x, ember.tensor([[3, 0, -1, 1]]))
    assert abs(got.item() - 0.85) < 1e-6


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multilabel_margin_matches_torch(torch, reduction, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4)).astype(dtype)
    # padding with -1, entries after the first -1 ignored, a duplicate, a row with no target
    t = np.array([[3, 0, -1, 1], [0, 1, 2, 3], [-1, 1, 2, 0], [2, 2, -1, 3], [1, -1, -1, -1]])
    (e, tt), (ge, gt) = _both(torch, lambda L, x, t: L.nn.functional.multilabel_margin_loss(
        x, t, reduction=reduction), x, t)
    same(e, tt)
    same(ge[0], gt[0])
    assert e.grad_fn.name() == "MultilabelMarginLossBackward0"


def test_multilabel_margin_unbatched(torch):
    x = np.array([0.5, -1.0, 2.0, 0.1], dtype=np.float32)
    t = np.array([2, 0, -1, 3])
    for red in ("none", "mean"):
        (e, tt), (ge, gt) = _both(torch, lambda L, x, t, red=red: L.nn.functional.
                                  multilabel_margin_loss(x, t, reduction=red), x, t)
        same(e, tt)  # a 1-D input gives a 0-d result even for 'none'
        same(ge[0], gt[0])
    same(ember.nn.MultiLabelMarginLoss(reduction="sum")(ember.tensor(x), ember.tensor(t)),
         torch.nn.MultiLabelMarginLoss(reduction="sum")(torch.tensor(x), torch.tensor(t)))


def _mlm(x, t, **kw):
    return lambda L: L.nn.functional.multilabel_margin_loss(L.tensor(x), L.tensor(t), **kw)


Y34 = np.array([[3, 0, -1, 1], [0, 1, 2, 3], [-1, 1, 2, 0]])


@pytest.mark.parametrize("x,t,match", [
    (X34, Y34[:2], "inconsistent target size: [2, 4] for input of size: [3, 4]"),
    (X34, Y34[:, :3], "inconsistent target size: [3, 3]"),
    (X34, Y34 + 1, "argument #2 'target' is out of range"),
    (X34, Y34 - 1, "argument #2 'target' is out of range"),
    (X34, Y34.astype(np.float32), "expected scalar type Long but found Float"),
    (X34.astype(np.int64), Y34, "not implemented for 'Long'"),
    (np.zeros(2, np.float32), Y34[:1, :2], "inconsistent target size: [1, 2]"),
])
def test_multilabel_margin_errors(torch, x, t, match):
    _raises_like(torch, _mlm(x, t), match)


# -- ctc_loss ---------------------------------------------------------------------------------

def _brute_ctc_nll(lp, target, blank):
    """-log of the summed probability of every alignment of length T that collapses (merge
    repeats, drop blanks) to ``target``: the definition, by enumeration."""
    steps, classes = lp.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=steps):
        collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
        if collapsed == list(target):
            total += math.exp(sum(lp[t, c] for t, c in enumerate(path)))
    return -math.log(total) if total > 0 else math.inf


@pytest.mark.parametrize("target,steps,blank", [
    ([1, 2], 4, 0), ([1, 1], 3, 0), ([1, 1], 4, 0), ([2, 2, 2], 5, 0), ([], 3, 0),
    ([0, 2], 4, 1), ([1], 1, 0),
])
def test_ctc_matches_brute_force(target, steps, blank):
    rng = np.random.default_rng(len(target) + steps)
    logits = rng.standard_normal((steps, 3))
    lp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    want = _brute_ctc_nll(lp, target, blank)
    got = EF.ctc_loss(ember.tensor(lp[:, None, :]), ember.tensor([target], dtype=ember.int64),
                      (steps,), (len(target),), blank=blank, reduction="sum")
    assert abs(got.item() - want) < 1e-10


def test_ctc_repeat_without_room_for_a_blank_is_infinite():
    # [1, 1] needs a blank between the two 1s: three steps, so two steps give probability 0
    lp = ember.zeros(2, 1, 3).log_softmax(2)
    assert EF.ctc_loss(lp, ember.tensor([[1, 1]]), (2,), (2,), reduction="none").item() == math.inf
    assert EF.ctc_loss(lp, ember.tensor([[1, 2]]), (2,), (2,), reduction="none").item() < math.inf


def _ctc_case(rng, steps=8, classes=5, il=(8, 7, 5, 0), tl=(3, 2, 0, 0), dtype="float64"):
    n, s = len(il), max(max(tl), 1)
    logits = rng.standard_normal((steps, n, classes)).astype(dtype)
    targets = rng.integers(1, classes, (n, s))
    targets[0, 1] = targets[0, 0]  # a repeat
    return logits, targets, np.array(il), np.array(tl)


def _ctc_fn(reduction, zero_infinity=False, blank=0, lengths="tensor", concat=False):
    def fn(L, logits, targets, il, tl):
        t_len = [int(v) for v in tl]
        if concat:
            targets = L.cat([targets[i, :k] for i, k in enumerate(t_len)])
        if lengths == "tuple":
            il, tl = tuple(int(v) for v in il), tuple(t_len)
        return L.nn.functional.ctc_loss(logits.log_softmax(-1), targets, il, tl, blank=blank,
                                        reduction=reduction, zero_infinity=zero_infinity)
    return fn


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ctc_matches_torch(torch, reduction, dtype):
    arrays = _ctc_case(np.random.default_rng(0), dtype=dtype)
    (e, t), (ge, gt) = _both(torch, _ctc_fn(reduction), *arrays)
    assert str(e.dtype) == str(t.dtype)
    tol = 1e-4 if dtype == "float32" else 1e-10
    same(e, t, atol=tol, rtol=tol)
    same(ge[0], gt[0], atol=tol, rtol=tol)


def test_ctc_mean_divides_by_target_lengths_clamped_to_one():
    arrays = _ctc_case(np.random.default_rng(1))
    per = _ctc_fn("none")(ember, *[ember.tensor(a) for a in arrays])
    mean = _ctc_fn("mean")(ember, *[ember.tensor(a) for a in arrays])
    tl = np.maximum(arrays[3], 1)
    np.testing.assert_allclose(mean.item(), (per.numpy() / tl).mean(), rtol=1e-12)


@pytest.mark.parametrize("variant", [dict(lengths="tuple"), dict(concat=True),
                                     dict(blank=4), dict(concat=True, lengths="tuple")])
def test_ctc_target_and_length_forms(torch, variant):
    rng = np.random.default_rng(2)
    logits, targets, il, tl = _ctc_case(rng, classes=5)
    if variant.get("blank") == 4:
        targets = np.where(targets == 4, 1, targets)  # keep the blank out of the targets
    (e, t), (ge, gt) = _both(torch, _ctc_fn("none", **variant), logits, targets, il, tl)
    same(e, t, atol=1e-10)
    same(ge[0], gt[0], atol=1e-10)


def test_ctc_padded_and_concatenated_agree():
    logits, targets, il, tl = _ctc_case(np.random.default_rng(5))
    args = [ember.tensor(a) for a in (logits, targets, il, tl)]
    padded = _ctc_fn("none")(ember, *args)
    concat = _ctc_fn("none", concat=True, lengths="tuple")(ember, *args)
    np.testing.assert_array_equal(padded.numpy(), concat.numpy())


def test_ctc_int32_targets_and_lengths(torch):
    logits, targets, il, tl = _ctc_case(np.random.default_rng(6))
    arrays = (logits, targets.astype(np.int32), il.astype(np.int32), tl.astype(np.int32))
    (e, t), _ = _both(torch, _ctc_fn("sum"), *arrays)
    same(e, t, atol=1e-10)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_zero_infinity(torch, reduction):
    # sample 1 cannot fit 3 labels in 2 steps; sample 2 repeats a label with no room for the
    # blank between; sample 0 is feasible
    logits, targets, il, tl = _ctc_case(np.random.default_rng(7), steps=6, il=(6, 2, 2),
                                        tl=(2, 3, 2))
    targets[2, :2] = 3
    for zero_infinity in (False, True):
        (e, t), (ge, gt) = _both(torch, _ctc_fn(reduction, zero_infinity=zero_infinity),
                                 logits, targets, il, tl)
        e_arr, t_arr = e.detach().numpy(), t.detach().numpy()
        np.testing.assert_array_equal(np.isinf(e_arr), np.isinf(t_arr))
        np.testing.assert_allclose(e_arr, t_arr, atol=1e-10, rtol=1e-10)
        g_e, g_t = ge[0].numpy(), gt[0].numpy()
        np.testing.assert_array_equal(np.isnan(g_e), np.isnan(g_t))  # NaN without zero_inf
        np.testing.assert_allclose(g_e, g_t, atol=1e-10)
        if zero_infinity:
            assert np.all(np.isfinite(e_arr)) and np.all(np.isfinite(g_e))
            if reduction == "none":
                assert e_arr[1] == 0 and e_arr[2] == 0 and e_arr[0] > 0
            assert not np.any(g_e[:, 1:]), "impossible samples get no gradient"


def test_ctc_unbatched(torch):
    rng = np.random.default_rng(8)
    logits = rng.standard_normal((7, 4))
    target = np.array([1, 3, 3])
    for il, tl, red in [(np.array(7), np.array(3), "none"), (np.array([6]), np.array([3]), "mean"),
                        ((7,), (3,), "sum")]:
        def fn(L, x, t, il=il, tl=tl, red=red):
            conv = (lambda v: L.tensor(v)) if isinstance(il, np.ndarray) else (lambda v: v)
            return L.nn.functional.ctc_loss(x.log_softmax(-1), t, conv(il), conv(tl),
                                            reduction=red)
        (e, t), (ge, gt) = _both(torch, fn, logits, target)
        assert e.shape == () and t.shape == ()
        same(e, t, atol=1e-10)
        same(ge[0], gt[0], atol=1e-10)


def test_ctc_gradient_is_pytorchs_on_raw_log_probs(torch):
    """PyTorch's gradient w.r.t. log_probs carries an ``exp(log_probs)`` term (it vanishes
    through log_softmax); ember gives the same numbers when log_probs is a leaf."""
    logits, targets, il, tl = _ctc_case(np.random.default_rng(9))
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))

    def fn(L, lp, targets, il, tl):
        return L.nn.functional.ctc_loss(lp, targets, il, tl, reduction="sum")

    (e, t), (ge, gt) = _both(torch, fn, lp, targets, il, tl)
    same(ge[0], gt[0], atol=1e-10)
    assert e.grad_fn.name() == "SumBackward0"
    assert fn(ember, ember.tensor(lp, requires_grad=True), *[ember.tensor(a) for a in (
        targets, il, tl)]).grad_fn.next_functions[0][0].name() == "CtcLossBackward0"


def test_ctc_gradcheck_through_log_softmax():
    logits, targets, il, tl = _ctc_case(np.random.default_rng(10), steps=5, classes=4,
                                        il=(5, 4), tl=(2, 1))
    x = ember.tensor(logits, requires_grad=True)
    args = [ember.tensor(a) for a in (targets, il, tl)]
    assert ember.autograd.gradcheck(
        lambda x: EF.ctc_loss(x.log_softmax(-1), *args, reduction="none"), (x,))


def test_ctc_module(torch):
    logits, targets, il, tl = _ctc_case(np.random.default_rng(11))
    e_mod, t_mod = ember.nn.CTCLoss(blank=0, zero_infinity=True), torch.nn.CTCLoss(
        blank=0, zero_infinity=True)
    assert repr(e_mod) == repr(t_mod)
    e_in = [ember.tensor(logits).log_softmax(2)] + [ember.tensor(a) for a in (targets, il, tl)]
    t_in = [torch.tensor(logits).log_softmax(2)] + [torch.tensor(a) for a in (targets, il, tl)]
    same(e_mod(*e_in), t_mod(*t_in), atol=1e-10)
    assert ember.nn.modules.loss.CTCLoss is ember.nn.CTCLoss


def _ctc_call(lp_shape=(6, 3, 5), targets=np.array([[1, 2, 3]] * 3), il=(6, 5, 4),
              tl=(3, 2, 0), dtype="float32", **kw):
    def call(L):
        lp = L.zeros(lp_shape, dtype=getattr(L, dtype)) if dtype != "int64" else \
            L.zeros(lp_shape, dtype=L.int64)
        conv = (lambda v: L.tensor(v)) if isinstance(il, np.ndarray) else (lambda v: v)
        return L.nn.functional.ctc_loss(lp, L.tensor(targets), conv(il),
                                        conv(tl) if isinstance(tl, np.ndarray) else tl, **kw)
    return call


@pytest.mark.parametrize("kw,match", [
    (dict(blank=5), "blank must be in label range"),
    (dict(blank=-1), "blank must be in label range"),
    (dict(il=(6, 5)), "input_lengths must be of size batch_size"),
    (dict(tl=(3, 2)), "target_lengths must be of size batch_size"),
    (dict(il=(7, 5, 4)), "Expected input_lengths to have value at most 6, but got value 7"),
    (dict(il=(-1, 5, 4)), "Expected input_lengths to have value at least 0, but got value -1"),
    (dict(tl=(3, -1, 0)), "Expected target_lengths to have value at least 0, but got value -1"),
    (dict(targets=np.array([[1, 2, 3]] * 2)), "Expected tensor to have size 3 at dimension 0"),
    (dict(targets=np.array([[1, 2]] * 3)), "Expected tensor to have size at least 3 at dim"),
    (dict(targets=np.array([1, 2, 3, 4])), "Expected tensor to have size 5 at dimension 0"),
    (dict(targets=np.zeros((3, 3, 1), np.int64)), "Expected 1 to 2 dimensions, but got 3"),
    (dict(lp_shape=(5,)), "Expected 3-dimensional tensor, but got 2-dimensional"),
    (dict(lp_shape=(6, 3, 5, 1)), "Expected 3-dimensional tensor, but got 5-dimensional"),
    (dict(lp_shape=(0, 3, 5)), "log_probs tensor must not be empty"),
    (dict(dtype="int64"), "\"ctc_loss_cpu\" not implemented for 'Long'"),
    (dict(dtype="float16"), "\"ctc_loss_cpu\" not implemented for 'Half'"),
    (dict(il=np.array([6.0, 5.0, 4.0]), tl=np.array([3, 2, 0])), "input_lengths must be integral"),
    (dict(il=np.array([6, 5, 4]), tl=np.array([3.0, 2.0, 0.0])),
     "target_lengths must be integral"),
    (dict(il=np.array([6, 5, 4]), tl=(3, 2, 0)), "both be Tensors or both tuples of ints"),
    (dict(il=6, tl=3), "both be Tensors or both tuples of ints"),
    (dict(reduction="bad"), "bad is not a valid value for reduction"),
])
def test_ctc_errors(torch, kw, match):
    _raises_like(torch, _ctc_call(**kw), match)


def test_ctc_label_out_of_range_is_a_clear_error():
    # PyTorch's CPU kernel reads past the class axis here (its result is garbage)
    with pytest.raises(RuntimeError, match="target label 7 is out of range for 5 classes"):
        EF.ctc_loss(ember.zeros(6, 1, 5), ember.tensor([[1, 7]]), (6,), (2,))


def test_ctc_float_targets_are_cast_as_in_torch(torch):
    (e, t), _ = _both(torch, _ctc_fn("sum"), *_ctc_case(np.random.default_rng(12))[:1],
                      _ctc_case(np.random.default_rng(12))[1].astype(np.float32),
                      *_ctc_case(np.random.default_rng(12))[2:])
    same(e, t, atol=1e-10)


# -- AdaptiveLogSoftmaxWithLoss ---------------------------------------------------------------

def _asm_pair(torch, dtype=None, **kw):
    args = dict(in_features=16, n_classes=50, cutoffs=[5, 20, 35], div_value=2.0, head_bias=True)
    args.update(kw)
    torch.manual_seed(0)
    t_mod = torch.nn.AdaptiveLogSoftmaxWithLoss(**args, dtype=dtype and getattr(torch, dtype))
    e_mod = ember.nn.AdaptiveLogSoftmaxWithLoss(**args, dtype=dtype and getattr(ember, dtype))
    copy_params(e_mod, t_mod)  # asserts torch's state_dict keys and order
    return e_mod, t_mod


def test_adaptive_structure_and_state_dict(torch):
    e_mod, t_mod = _asm_pair(torch)
    assert repr(e_mod) == repr(t_mod)
    assert [(k, tuple(v.shape)) for k, v in e_mod.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t_mod.state_dict().items()]
    assert isinstance(e_mod.tail[0], ember.nn.Sequential)
    for name in ("shortlist_size", "n_clusters", "head_size", "cutoffs"):
        assert getattr(e_mod, name) == getattr(t_mod, name)
    assert ember.nn.modules.adaptive.AdaptiveLogSoftmaxWithLoss is ember.nn.AdaptiveLogSoftmaxWithLoss


def test_adaptive_forward_loss_and_gradients(torch):
    e_mod, t_mod = _asm_pair(torch)
    x = np.random.default_rng(0).standard_normal((7, 16)).astype(np.float32)
    y = np.array([0, 4, 5, 19, 20, 49, 3])  # every cluster, its first and last class
    ex, tx = pair(torch, x)
    e_out, t_out = e_mod(ex, ember.tensor(y)), t_mod(tx, torch.tensor(y))
    assert type(e_out).__name__ == "_ASMoutput" and e_out._fields == ("output", "loss")
    same(e_out.output, t_out.output)
    same(e_out.loss, t_out.loss)
    e_out.loss.backward()
    t_out.loss.backward()
    same(ex.grad, tx.grad, atol=1e-6)
    for (_, ep), (_, tp) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        same(ep.grad, tp.grad, atol=1e-6)


def test_adaptive_unused_cluster_gets_no_gradient(torch):
    e_mod, t_mod = _asm_pair(torch)
    x = np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32)
    y = np.array([1, 7, 2])  # shortlist and the first cluster only
    e_mod(ember.tensor(x), ember.tensor(y)).loss.backward()
    t_mod(torch.tensor(x), torch.tensor(y)).loss.backward()
    for (name, ep), (_, tp) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        assert (ep.grad is None) == (tp.grad is None), name


def test_adaptive_unbatched_and_single_row(torch):
    e_mod, t_mod = _asm_pair(torch)
    x = np.random.default_rng(2).standard_normal((1, 16)).astype(np.float32)
    for xs, ys in [(x[0], np.array(30)), (x, np.array([30])), (x, np.array([2]))]:
        e_out = e_mod(ember.tensor(xs), ember.tensor(ys))
        t_out = t_mod(torch.tensor(xs), torch.tensor(ys))
        same(e_out.output, t_out.output)
        same(e_out.loss, t_out.loss)


def test_adaptive_log_prob_and_predict(torch):
    e_mod, t_mod = _asm_pair(torch)
    x = np.random.default_rng(3).standard_normal((64, 16)).astype(np.float32) * 3
    lp = e_mod.log_prob(ember.tensor(x))
    same(lp, t_mod.log_prob(torch.tensor(x)), atol=1e-5)
    np.testing.assert_allclose(lp.exp().sum(1).detach().numpy(), 1.0, rtol=1e-5)
    # predict's three paths: all in the shortlist, none in it, a mix
    head = e_mod.head(ember.tensor(x)).argmax(1).numpy()
    short = head < e_mod.shortlist_size
    assert short.any() and (~short).any(), "the sample must mix both kinds of rows"
    for rows in (short, ~short, np.ones(len(x), bool)):
        got = e_mod.predict(ember.tensor(x[rows]))
        want = t_mod.predict(torch.tensor(x[rows]))
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        np.testing.assert_array_equal(got.numpy(), lp.detach().numpy()[rows].argmax(1))


def test_adaptive_float64(torch):
    e_mod, t_mod = _asm_pair(torch, dtype="float64")
    assert e_mod.head.weight.dtype == ember.float64
    x = np.random.default_rng(4).standard_normal((4, 16))
    y = np.array([0, 10, 25, 45])
    e_out, t_out = e_mod(ember.tensor(x), ember.tensor(y)), t_mod(torch.tensor(x), torch.tensor(y))
    assert e_out.loss.dtype == ember.float64
    same(e_out.loss, t_out.loss, atol=1e-12, rtol=1e-12)


def test_adaptive_whole_module_pickled_by_torch(torch, tmp_path):
    _, t_mod = _asm_pair(torch)
    path = tmp_path / "asm.pt"
    torch.save(t_mod, path)
    e_mod = ember.load(path, weights_only=False)
    assert type(e_mod) is ember.nn.AdaptiveLogSoftmaxWithLoss
    x = np.random.default_rng(5).standard_normal((3, 16)).astype(np.float32)
    same(e_mod.log_prob(ember.tensor(x)), t_mod.log_prob(torch.tensor(x)))


@pytest.mark.parametrize("cutoffs,match", [
    ([], "cutoffs should be a sequence of length larger than 0"),
    ([10, 5], "cutoffs should be a sequence of unique, positive integers"),
    ([0, 5], "cutoffs should be a sequence of unique, positive integers"),
    ([5, 50], "cutoffs should be a sequence of unique, positive integers"),
    ([5, 5], "cutoffs should be a sequence of unique, positive integers"),
    ([5.5], "cutoffs should be a sequence of unique, positive integers"),
])
def test_adaptive_bad_cutoffs(torch, cutoffs, match):
    _raises_like(torch, lambda L: L.nn.AdaptiveLogSoftmaxWithLoss(16, 50, cutoffs), match)


@pytest.mark.parametrize("x_shape,y,match", [
    ((3, 16), [0, 50, 2], "Target values should be in [0, 49], but values in range [0, 50]"),
    ((3, 16), [0, -1, 2], "Target values should be in [0, 49]"),
    ((3, 16), [0, 1], "Input and target should have the same size in the batch dimension."),
    ((16,), [1], "Input and target should have the same size"),
    ((3, 16), [[0], [1], [2]], "0D or 1D target tensor expected, multi-target not supported"),
    ((2, 16), 1, "0D target tensor expects 1D input tensors"),
    ((1, 1, 16), [1], "1D target tensor expects 2D input tensors"),
])
def test_adaptive_forward_errors(torch, x_shape, y, match):
    def call(L):
        L.manual_seed(0)
        mod = L.nn.AdaptiveLogSoftmaxWithLoss(16, 50, [5, 20])
        return mod(L.zeros(x_shape), L.tensor(y))

    _raises_like(torch, call, match)
