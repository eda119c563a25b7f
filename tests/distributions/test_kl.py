"""kl_divergence against torch for the registered pairs (values and gradients, float32 and
float64), register_kl dispatch, and the NotImplementedError for a pair nobody registered."""

import numpy as np
import pytest

import ember
import ember.distributions as ed

from .test_against_torch import assert_close, make_params

torch = pytest.importorskip("torch")

A = np.array
PAIRS = [
    ("Normal-Normal", lambda lib, p: (lib.distributions.Normal(p["m1"], p["s1"]),
                                      lib.distributions.Normal(p["m2"], p["s2"])),
     {"m1": A([0.0, 1.0]), "s1": A([1.0, 0.5]), "m2": A([0.5, -1.0]), "s2": A([2.0, 0.7])}),
    ("Categorical-Categorical", lambda lib, p: (lib.distributions.Categorical(logits=p["a"]),
                                                lib.distributions.Categorical(probs=p["b"])),
     {"a": A([[0.1, 0.5, -1.0], [0.0, 0.0, 0.0]]), "b": A([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])}),
    ("Bernoulli-Bernoulli", lambda lib, p: (lib.distributions.Bernoulli(probs=p["a"]),
                                            lib.distributions.Bernoulli(logits=p["b"])),
     {"a": A([0.1, 0.5, 0.9]), "b": A([0.3, -2.0, 1.0])}),
    ("MVN-MVN", lambda lib, p: (
        lib.distributions.MultivariateNormal(p["m1"], scale_tril=p["L1"]),
        lib.distributions.MultivariateNormal(p["m2"], covariance_matrix=p["S2"])),
     {"m1": A([0.0, 1.0]), "L1": A([[1.0, 0.0], [0.3, 0.8]]), "m2": A([0.5, 0.0]),
      "S2": A([[2.0, 0.4], [0.4, 1.0]])}),
    ("Uniform-Uniform", lambda lib, p: (lib.distributions.Uniform(p["a1"], p["b1"]),
                                        lib.distributions.Uniform(p["a2"], p["b2"])),
     {"a1": A([0.0, 0.5]), "b1": A([1.0, 1.0]), "a2": A([-1.0, 0.0]), "b2": A([2.0, 1.5])}),
    ("Independent-Independent", lambda lib, p: (
        lib.distributions.Independent(lib.distributions.Normal(p["m1"], p["s1"]), 1),
        lib.distributions.Independent(lib.distributions.Normal(p["m2"], p["s2"]), 1)),
     {"m1": A([[0.0, 1.0]]), "s1": A([[1.0, 0.5]]), "m2": A([[0.5, -1.0]]),
      "s2": A([[2.0, 0.7]])}),
    ("Beta-Beta", lambda lib, p: (lib.distributions.Beta(p["a1"], p["b1"]),
                                  lib.distributions.Beta(p["a2"], p["b2"])),
     {"a1": A([1.0, 2.5]), "b1": A([3.0, 0.7]), "a2": A([2.0, 1.0]), "b2": A([1.0, 1.5])}),
    ("Gamma-Gamma", lambda lib, p: (lib.distributions.Gamma(p["a1"], p["b1"]),
                                    lib.distributions.Gamma(p["a2"], p["b2"])),
     {"a1": A([1.0, 2.5]), "b1": A([3.0, 0.7]), "a2": A([2.0, 1.0]), "b2": A([1.0, 1.5])}),
    ("Dirichlet-Dirichlet", lambda lib, p: (lib.distributions.Dirichlet(p["a"]),
                                            lib.distributions.Dirichlet(p["b"])),
     {"a": A([1.0, 2.0, 0.5]), "b": A([0.7, 1.0, 3.0])}),
    ("Exponential-Exponential", lambda lib, p: (lib.distributions.Exponential(p["a"]),
                                                lib.distributions.Exponential(p["b"])),
     {"a": A([1.0, 2.0]), "b": A([0.7, 3.0])}),
    ("Laplace-Laplace", lambda lib, p: (lib.distributions.Laplace(p["m1"], p["s1"]),
                                        lib.distributions.Laplace(p["m2"], p["s2"])),
     {"m1": A([0.0, 1.0]), "s1": A([1.0, 0.5]), "m2": A([0.5, -1.0]), "s2": A([2.0, 0.7])}),
    ("Poisson-Poisson", lambda lib, p: (lib.distributions.Poisson(p["a"]),
                                        lib.distributions.Poisson(p["b"])),
     {"a": A([1.0, 2.0]), "b": A([0.7, 3.0])}),
    ("OneHot-OneHot", lambda lib, p: (lib.distributions.OneHotCategorical(probs=p["a"]),
                                      lib.distributions.OneHotCategorical(probs=p["b"])),
     {"a": A([0.2, 0.3, 0.5]), "b": A([0.6, 0.3, 0.1])}),
    ("Binomial-Binomial", lambda lib, p: (lib.distributions.Binomial(5, p["a"]),
                                          lib.distributions.Binomial(5, p["b"])),
     {"a": A([0.2, 0.7]), "b": A([0.5, 0.4])}),
    ("LogNormal-LogNormal", lambda lib, p: (lib.distributions.LogNormal(p["m1"], p["s1"]),
                                            lib.distributions.LogNormal(p["m2"], p["s2"])),
     {"m1": A([0.0, 1.0]), "s1": A([1.0, 0.5]), "m2": A([0.5, -1.0]), "s2": A([2.0, 0.7])}),
    ("Normal-Gumbel", lambda lib, p: (lib.distributions.Normal(p["m1"], p["s1"]),
                                      lib.distributions.Gumbel(p["m2"], p["s2"])),
     {"m1": A([0.0, 1.0]), "s1": A([1.0, 0.5]), "m2": A([0.5, -1.0]), "s2": A([2.0, 0.7])}),
    ("Uniform-Normal", lambda lib, p: (lib.distributions.Uniform(p["a1"], p["b1"]),
                                       lib.distributions.Normal(p["m2"], p["s2"])),
     {"a1": A([0.0, 0.5]), "b1": A([1.0, 1.0]), "m2": A([0.5, -1.0]), "s2": A([2.0, 0.7])}),
    ("Beta-Uniform (infinite)", lambda lib, p: (lib.distributions.Beta(p["a1"], p["b1"]),
                                                lib.distributions.Uniform(p["a2"], p["b2"])),
     {"a1": A([1.0, 2.5]), "b1": A([3.0, 0.7]), "a2": A([0.2, 0.0]), "b2": A([2.0, 1.0])}),
    ("LowRankMVN-MVN", lambda lib, p: (
        lib.distributions.LowRankMultivariateNormal(p["m1"], p["W"], p["d"]),
        lib.distributions.MultivariateNormal(p["m2"], covariance_matrix=p["S2"])),
     {"m1": A([0.0, 1.0]), "W": A([[0.5], [0.2]]), "d": A([1.0, 0.5]), "m2": A([0.5, 0.0]),
      "S2": A([[2.0, 0.4], [0.4, 1.0]])}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, build, params", PAIRS, ids=[p[0] for p in PAIRS])
def test_kl_divergence_and_its_gradients_match_torch(name, build, params, dtype):
    tp = make_params(torch, params, dtype, grad=True)
    ep = make_params(ember, params, dtype, grad=True)
    t = torch.distributions.kl_divergence(*build(torch, tp))
    e = ed.kl_divergence(*build(ember, ep))
    assert_close(e, t, dtype, "kl")
    if not torch.isfinite(t).all():
        return
    names = list(tp)
    tg = torch.autograd.grad(t.sum(), [tp[k] for k in names], allow_unused=True)
    eg = ember.autograd.grad(e.sum(), [ep[k] for k in names], allow_unused=True)
    for k, tgrad, egrad in zip(names, tg, eg):
        if tgrad is None:
            assert egrad is None or not egrad.abs().sum().item(), k
        else:
            assert_close(egrad, tgrad, dtype, f"d kl / d {k}")


def test_register_kl_dispatches_to_the_most_specific_pair():
    class MyNormal(ed.Normal):
        pass

    calls = []

    @ed.register_kl(MyNormal, ed.Normal)
    def _kl_mine(p, q):
        calls.append((type(p), type(q)))
        return ember.zeros(p.batch_shape)

    try:
        out = ed.kl_divergence(MyNormal(0.0, 1.0), ed.Normal(1.0, 1.0))
        assert out.item() == 0.0 and calls == [(MyNormal, ed.Normal)]
        # the base pair is untouched
        kl = ed.kl_divergence(ed.Normal(0.0, 1.0), ed.Normal(1.0, 1.0)).item()
        assert kl == pytest.approx(0.5)
    finally:
        from ember.distributions import kl as kl_module

        kl_module._KL_REGISTRY.pop((MyNormal, ed.Normal), None)
        kl_module._KL_MEMOIZE.clear()


def test_kl_of_the_same_normal_is_zero_and_kl_is_differentiable():
    loc = ember.tensor([0.3, -1.0], requires_grad=True)
    p = ed.Normal(loc, 1.0)
    q = ed.Normal(ember.zeros(2), 1.0)
    kl = ed.kl_divergence(p, q).sum()
    (g,) = ember.autograd.grad(kl, [loc])
    assert ember.allclose(g, loc.detach())
    assert ed.kl_divergence(q, q).abs().max().item() == 0.0


def test_every_pair_of_the_case_table_agrees_with_torch():
    # kl_divergence between every two distributions of tests/distributions/cases.py: the same
    # value where torch has a formula, the same exception type where it has none
    import warnings

    from .cases import CASES
    from .test_against_torch import build

    built = []
    for case in CASES:
        if case[0] == "GeneralizedPareto":
            continue
        td, edist, _, _ = build(case, "float64")
        built.append((case[0], td, edist))
    compared = 0
    problems = []
    for pn, tp, ep in built:
        for qn, tq, eq in built:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    expected = torch.distributions.kl_divergence(tp, tq)
                except Exception as exc:  # noqa: BLE001 - compare whatever torch raises
                    try:
                        ed.kl_divergence(ep, eq)
                    except type(exc):
                        continue
                    except Exception as other:  # noqa: BLE001
                        problems.append(f"{pn}||{qn}: {other!r} where torch: {exc!r}")
                        continue
                    problems.append(f"{pn}||{qn}: no error where torch raises {exc!r}")
                    continue
                try:
                    got = ed.kl_divergence(ep, eq)
                except Exception as exc:  # noqa: BLE001
                    problems.append(f"{pn}||{qn}: {exc!r}")
                    continue
            compared += 1
            if tuple(got.shape) != tuple(expected.shape) or not np.allclose(
                    got.detach().numpy(), expected.detach().numpy(), rtol=1e-7, atol=1e-9,
                    equal_nan=True):
                problems.append(f"{pn}||{qn}: {got} vs {expected}")
    assert not problems, "\n".join(problems)
    assert compared > 60, compared


def _lookup_outcome(lib, regs, query):
    """Which registered function the lookup picks for ``query`` and what it warns, in ``lib``."""
    import warnings

    kl_mod = lib.distributions.kl
    kl_mod._KL_MEMOIZE.clear()
    for pair in regs:
        lib.distributions.register_kl(*pair)(lambda p, q, pair=pair: pair)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fun = kl_mod._dispatch_kl(*query)
        return fun(None, None), [(w.category, str(w.message)) for w in caught]
    finally:
        for pair in regs:
            kl_mod._KL_REGISTRY.pop(pair, None)
        kl_mod._KL_MEMOIZE.clear()


def test_lookup_order_and_ambiguity_warning_match_torch():
    def family(lib):
        base = lib.distributions.Normal
        a = type("A", (base,), {})
        b = type("B", (base,), {})
        a2 = type("A2", (a,), {})
        b2 = type("B2", (b,), {})
        c = type("C", (base,), {})
        ac = type("AC", (a, c), {})
        return base, a, b, a2, b2, c, ac

    def idx(fam, pairs):
        return [tuple(fam[i] for i in pair) for pair in pairs]

    scenarios = [  # (registered pairs, query), as indices into family()
        ([(1, 0), (0, 2)], (1, 2)), ([(0, 2), (1, 0)], (1, 2)), ([(3, 0), (1, 2)], (3, 2)),
        ([(1, 0), (5, 0)], (6, 0)), ([(5, 0), (1, 0)], (6, 0)), ([(1, 0), (0, 1)], (1, 1)),
        ([(3, 0), (1, 2), (0, 4)], (3, 4)), ([(1, 0), (0, 2)], (3, 4)),
    ]
    for regs, query in scenarios:
        tf, ef = family(torch), family(ember)
        t_pick, t_warn = _lookup_outcome(torch, idx(tf, regs), tuple(tf[i] for i in query))
        e_pick, e_warn = _lookup_outcome(ember, idx(ef, regs), tuple(ef[i] for i in query))
        assert [c.__name__ for c in e_pick] == [c.__name__ for c in t_pick], (regs, query)
        assert e_warn == t_warn, (regs, query)


def test_unregistered_pair_and_bad_registration():
    with pytest.raises(NotImplementedError, match="p type Cauchy and q type Normal"):
        ed.kl_divergence(ed.Cauchy(0.0, 1.0), ed.Normal(0.0, 1.0))
    with pytest.raises(TypeError):
        ed.register_kl("Normal", ed.Normal)
    with pytest.raises(NotImplementedError):  # both exponential families, but different ones
        ed.kl_divergence(ed.Bernoulli(0.3), ed.Gamma(1.0, 1.0))
    with pytest.raises(NotImplementedError):
        ed.kl_divergence(ed.Binomial(3, ember.tensor(0.3)), ed.Binomial(5, ember.tensor(0.4)))
    mvn = ed.MultivariateNormal(ember.zeros(2), ember.eye(2))
    with pytest.raises(ValueError, match="different event shapes"):
        ed.kl_divergence(mvn, ed.MultivariateNormal(ember.zeros(3), ember.eye(3)))


EDGE_PAIRS = [  # support boundaries, degenerate probabilities and shapes PyTorch settles its way
    ("Beta", ([2.0], [3.0]), "Uniform", ([-0.1, 0.0, 0.1, 0.0, 0.0, -0.1],
                                         [1.1, 1.0, 0.9, 0.9, 1.1, 1.0])),
    ("ContinuousBernoulli", ([0.3],), "Uniform", ([-0.1, 0.0, 0.1, 0.0, 0.0, -0.1],
                                                 [1.1, 1.0, 0.9, 0.9, 1.1, 1.0])),
    ("Uniform", ([-0.1, 0.0, 0.1, 0.0, 0.0, -0.1], [1.1, 1.0, 0.9, 0.9, 1.1, 1.0]),
     "ContinuousBernoulli", ([0.3],)),
    ("Uniform", ([-0.1, 0.0, 0.1, 0.0, 0.0, -0.1], [1.1, 1.0, 0.9, 0.9, 1.1, 1.0]),
     "Beta", ([2.0], [3.0])),
    ("Uniform", ([-0.1, 0.0, 0.1], [1.0]), "Gamma", ([0.5], [2.0])),
    ("Uniform", ([0.9, 1.0, 1.1], [2.0]), "Pareto", ([1.0], [2.0])),
    ("Pareto", ([0.9, 1.0, 1.1], [0.5, 1.5, 2.5]), "Normal", ([1.0], [1.0])),
    ("Pareto", ([0.9, 1.0, 1.1], [2.0]), "Pareto", ([1.0], [3.0])),
    ("Bernoulli", ([0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0],),
     "Bernoulli", ([0.0, 0.5, 1.0] * 3,)),
    ("Bernoulli", ([0.0, 0.5, 1.0],), "Poisson", ([1.0, 0.0, 2.0],)),
    ("Geometric", ([0.5, 1.0, 0.5, 1.0],), "Geometric", ([0.5, 0.5, 1.0, 1.0],)),
    ("Poisson", ([0.0, 0.0, 1.0, 1.0],), "Poisson", ([0.0, 1.0, 0.0, 1.0],)),
    ("Binomial", ([3.0, 3.0, 5.0], [0.2, 1.0, 0.4]), "Binomial", ([3.0, 3.0, 3.0],
                                                                  [0.0, 0.0, 0.4])),
    ("Beta", ([1.0, 2.0], [1.0, 2.0]), "Pareto", ([[1.0], [2.0], [3.0]], [1.0])),  # p's shape
    ("Normal", ([1.0, 2.0], [1.0]), "Exponential", ([[1.0], [2.0], [3.0]],)),
    ("Exponential", ([1.0, 2.0],), "Gumbel", ([0.0, 1.0], [1.0, 0.5])),
    ("Normal", ([0.0, 1.0], [1.0, 0.5]), "Laplace", ([0.5, -1.0], [2.0, 0.7])),
]


@pytest.mark.parametrize("pn, pa, qn, qa", EDGE_PAIRS, ids=[f"{e[0]}-{e[2]}" for e in EDGE_PAIRS])
def test_edge_values_match_torch(pn, pa, qn, qa):
    def make(lib, name, args):
        return getattr(lib.distributions, name)(
            *[lib.tensor(a, dtype=lib.float64) for a in args])

    expected = torch.distributions.kl_divergence(make(torch, pn, pa), make(torch, qn, qa))
    got = ed.kl_divergence(make(ember, pn, pa), make(ember, qn, qa))
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-10, equal_nan=True)


def test_bregman_fallback_sums_a_scalar_term_over_the_whole_tensor():
    # Wishart's natural parameters include one with no event dims; like PyTorch, the
    # event-dim sum of that term folds everything left (here the batch as well)
    p = {"df": 4.0, "covariance_matrix": [[2.0, 0.3], [0.3, 1.0]]}
    q = {"df": 5.0, "covariance_matrix": [[1.0, 0.0], [0.0, 1.0]]}

    def make(lib, d):
        return lib.distributions.Wishart(lib.tensor(d["df"], dtype=lib.float64),
                                         covariance_matrix=lib.tensor(d["covariance_matrix"],
                                                                      dtype=lib.float64))

    expected = torch.distributions.kl_divergence(make(torch, p), make(torch, q))
    got = ed.kl_divergence(make(ember, p), make(ember, q))
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-9)


@pytest.mark.parametrize("obj", [ed.kl_divergence, ed.register_kl])
def test_kl_docstring_examples_print_what_they_say(obj):
    import doctest

    tests = doctest.DocTestFinder(recurse=False).find(obj, globs={"ember": ember})
    assert tests and tests[0].examples
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    lines = []
    try:
        for t in tests:
            runner.run(t, out=lines.append)
    finally:
        ed.kl._KL_REGISTRY.pop(next((k for k in ed.kl._KL_REGISTRY
                                     if k[0].__name__ == "Shifted"), None), None)
        ed.kl._KL_MEMOIZE.clear()
    assert runner.summarize(verbose=False).failed == 0, "".join(lines)
