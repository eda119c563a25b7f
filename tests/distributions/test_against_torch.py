"""Every distribution against torch.distributions on the same parameters, float32 and float64:
shapes, support, mean/mode/variance/stddev/entropy, log_prob/cdf/icdf on torch's own samples,
gradients of those with respect to the parameters, and sample shapes and dtypes."""

import math

import numpy as np
import pytest

import ember

from .cases import CASES

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Singular sample detected")

TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-7, atol=1e-9)}
# cases whose formulas go through special functions ember evaluates its own way
LOOSE = {"float64": dict(rtol=1e-6, atol=1e-8)}


def make_params(lib, params, dtype, grad):
    out = {}
    for key, value in params.items():
        t = lib.tensor(value, dtype=getattr(lib, dtype))
        if grad:
            t.requires_grad_(True)
        out[key] = t
    return out


# torch 2.13 itself fails here ("Double did not match Float" in GeneralizedPareto's log_prob)
TORCH_BROKEN = {("GeneralizedPareto", "float64")}


def build(case, dtype, grad=False):
    name, builder, params = case
    if (name, dtype) in TORCH_BROKEN:
        pytest.skip("torch 2.13 raises here; nothing to compare with")
    tp = make_params(torch, params, dtype, grad)
    ep = make_params(ember, params, dtype, grad)
    return builder(torch, tp), builder(ember, ep), tp, ep


def to_np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return x.detach().numpy()


def assert_close(e, t, dtype, what):
    assert tuple(e.shape) == tuple(t.shape), (what, e.shape, t.shape)
    assert str(e.dtype) == str(t.dtype), (what, e.dtype, t.dtype)
    np.testing.assert_allclose(to_np(e), to_np(t), err_msg=what, equal_nan=True,
                               **TOL[dtype])


def both(fn_t, fn_e, dtype, what):
    """Run fn on both libraries: same values, or the same exception type."""
    try:
        t = fn_t()
    except (NotImplementedError, ValueError) as exc:
        with pytest.raises(type(exc)):
            fn_e()
        return None
    e = fn_e()
    assert_close(e, t, dtype, what)
    return t, e


def torch_values(tdist, n=2):
    torch.manual_seed(0)
    with torch.no_grad():
        return tdist.sample((n,))


IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_statistics_and_densities_match_torch(case, dtype):
    td, ed, _, _ = build(case, dtype)
    assert tuple(ed.batch_shape) == tuple(td.batch_shape)
    assert tuple(ed.event_shape) == tuple(td.event_shape)
    assert ed.has_rsample == td.has_rsample
    assert ed.has_enumerate_support == td.has_enumerate_support
    for name in ("mean", "mode", "variance", "stddev"):
        both(lambda n=name: getattr(td, n), lambda n=name: getattr(ed, n), dtype, name)
    both(td.entropy, ed.entropy, dtype, "entropy")
    tv = torch_values(td)
    ev = ember.tensor(tv.numpy())
    both(lambda: td.log_prob(tv), lambda: ed.log_prob(ev), dtype, "log_prob")
    got = both(lambda: td.cdf(tv), lambda: ed.cdf(ev), dtype, "cdf")
    if got is not None:
        q = got[0].clamp(0.05, 0.95)
        both(lambda: td.icdf(q), lambda: ed.icdf(ember.tensor(q.numpy())), dtype, "icdf")
    if td.has_enumerate_support:
        for expand in (True, False):
            both(lambda x=expand: td.enumerate_support(x),
                 lambda x=expand: ed.enumerate_support(x), dtype, "enumerate_support")


LOSSES = {
    "log_prob": lambda d, v: d.log_prob(v).sum(),
    "entropy": lambda d, v: d.entropy().sum(),
    "mean": lambda d, v: d.mean.sum(),
    "variance": lambda d, v: d.variance.sum(),
    "cdf": lambda d, v: d.cdf(v).sum(),
    "icdf": lambda d, v: d.icdf(d.cdf(v).detach().clamp(0.05, 0.95)).sum(),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_match_torch(case, dtype):
    td, ed, tp, ep = build(case, dtype, grad=True)
    tv = torch_values(td)
    ev = ember.tensor(tv.numpy())
    names = list(tp)
    compared = 0
    for what, fn in LOSSES.items():
        try:
            t_loss = fn(td, tv)
        except (NotImplementedError, ValueError):
            continue
        if not math.isfinite(t_loss.item()) or not t_loss.requires_grad:
            continue
        e_loss = fn(ed, ev)
        try:
            tg = torch.autograd.grad(t_loss, [tp[k] for k in names], allow_unused=True,
                                     retain_graph=True)
        except NotImplementedError as exc:  # e.g. igamma's derivative in its first argument
            with pytest.raises(NotImplementedError, match=str(exc)):
                ember.autograd.grad(e_loss, [ep[k] for k in names], allow_unused=True,
                                    retain_graph=True)
            continue
        eg = ember.autograd.grad(e_loss, [ep[k] for k in names], allow_unused=True,
                                 retain_graph=True)
        compared += 1
        for name, t, e in zip(names, tg, eg):
            if t is None:
                assert e is None or not np.any(to_np(e)), (what, name)
                continue
            assert e is not None, (what, name)
            assert_close(e, t, dtype, f"d {what} / d {name}")
    assert compared


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sample_shapes_and_dtypes_match_torch(case, dtype):
    td, ed, _, _ = build(case, dtype)
    for shape in ((), (4,), (2, 3)):
        t = td.sample(shape)
        e = ed.sample(shape)
        assert tuple(e.shape) == tuple(t.shape)
        assert str(e.dtype) == str(t.dtype)
        assert not e.requires_grad
        if td.has_rsample:
            e = ed.rsample(shape)
            assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_repr_and_expand_match_torch(case):
    td, ed, _, _ = build(case, "float64")
    assert repr(ed) == repr(td)
    shape = (3,) + tuple(td.batch_shape)
    te, ee = td.expand(shape), ed.expand(shape)
    assert type(ee) is type(ed) and tuple(ee.batch_shape) == tuple(te.batch_shape)
    assert tuple(ee.sample().shape) == tuple(te.sample().shape)
    tv = torch_values(te, 1)
    both(lambda: te.log_prob(tv), lambda: ee.log_prob(ember.tensor(tv.numpy())), "float64",
         "expanded log_prob")
    assert repr(ed.support) == repr(td.support)
    assert ({k: repr(v) for k, v in ed.arg_constraints.items()}
            == {k: repr(v) for k, v in td.arg_constraints.items()})


def test_generalized_pareto_float64_works_where_torch_raises():
    # torch 2.13 compares float64 parameters with a float32 zero in log_prob/entropy and
    # raises; ember compares with zeros of the parameters' dtype
    case = next(c for c in CASES if c[0] == "GeneralizedPareto")
    td, _, _, _ = build(case, "float32")
    e64 = case[1](ember, make_params(ember, case[2], "float64", False))
    tv = torch_values(td)
    got = e64.log_prob(ember.tensor(tv.numpy(), dtype=ember.float64))
    assert got.dtype == ember.float64
    np.testing.assert_allclose(got.numpy(), td.log_prob(tv).numpy(), rtol=1e-5)
    np.testing.assert_allclose(e64.entropy().numpy(), td.entropy().numpy(), rtol=1e-5)



EDGES = [
    ("masked logits", lambda lib, p: lib.distributions.Categorical(logits=p["x"]),
     {"x": [[0.0, -math.inf, 1.0], [-math.inf, -math.inf, 2.0]]}, [2, 2]),
    ("saturated Bernoulli logits", lambda lib, p: lib.distributions.Bernoulli(logits=p["x"]),
     {"x": [-30.0, 30.0, 0.0]}, [1.0, 0.0, 1.0]),
    ("Bernoulli probs 0 and 1", lambda lib, p: lib.distributions.Bernoulli(probs=p["x"]),
     {"x": [0.0, 1.0, 0.5]}, [0.0, 1.0, 1.0]),
    ("zero-probability category", lambda lib, p: lib.distributions.Categorical(probs=p["x"]),
     {"x": [0.0, 0.5, 0.5]}, 1),
    ("large Poisson rate", lambda lib, p: lib.distributions.Poisson(p["x"]),
     {"x": [1e-3, 1e4]}, [0.0, 1e4]),
    ("extreme Beta", lambda lib, p: lib.distributions.Beta(p["a"], p["b"]),
     {"a": [1e-2, 50.0], "b": [0.5, 1e3]}, [1e-3, 0.05]),
]


@pytest.mark.parametrize("what, make, params, value", EDGES, ids=[e[0] for e in EDGES])
def test_edge_parameters_match_torch(what, make, params, value):
    # masked actions (-inf logits) are how RL code forbids moves; saturated probabilities
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    ep = {k: ember.tensor(v, requires_grad=True) for k, v in params.items()}
    td, ed = make(torch, tp), make(ember, ep)
    t_out = td.log_prob(torch.tensor(value)).sum()
    e_out = ed.log_prob(ember.tensor(value)).sum()
    assert_close(e_out, t_out, "float32", "log_prob")
    try:
        t_out = t_out + td.entropy().sum()
    except NotImplementedError:
        pass
    else:
        e_out = e_out + ed.entropy().sum()
        assert_close(ed.entropy(), td.entropy(), "float32", "entropy")
    tg = torch.autograd.grad(t_out, list(tp.values()))
    eg = ember.autograd.grad(e_out, list(ep.values()))
    for t, e in zip(tg, eg):
        assert_close(e, t, "float32", "gradient")
