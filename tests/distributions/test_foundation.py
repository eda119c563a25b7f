"""The foundation modules (constraints, constraint_registry, utils, exp_family) against torch,
for behaviour the distribution tests do not reach: compound constraints, dependent
placeholders, registry errors, broadcasting dtypes, triangular packing, lazy properties and the
generic exponential-family entropy."""

import numpy as np
import pytest

import ember
import ember.distributions as ed
from ember.distributions import constraints as EC
from ember.distributions import utils as EU

torch = pytest.importorskip("torch")
TC = torch.distributions.constraints
TU = torch.distributions.utils


def _outcome(fn):
    """(result, None) or (None, (exception type name, message))."""
    try:
        return fn(), None
    except Exception as exc:  # noqa: BLE001 - the type and message are what is compared
        return None, (type(exc).__name__, str(exc))


def _same_outcome(torch_fn, ember_fn):
    t, terr = _outcome(torch_fn)
    e, eerr = _outcome(ember_fn)
    assert eerr == terr
    return t, e


COMPOUND = [
    ("independent-2", lambda C, lib: C.independent(C.positive, 2)),
    ("independent-simplex", lambda C, lib: C.independent(C.simplex, 1)),
    ("mixture-real", lambda C, lib: C.MixtureSameFamilyConstraint(C.real)),
    ("mixture-simplex", lambda C, lib: C.MixtureSameFamilyConstraint(C.simplex)),
    ("cat", lambda C, lib: C.cat([C.real, C.positive], dim=-1, lengths=[1, 2])),
    ("cat-short", lambda C, lib: C.cat([C.positive, C.boolean], dim=0)),
    ("stack", lambda C, lib: C.stack([C.real, C.positive, C.unit_interval], dim=-1)),
    ("stack-rows", lambda C, lib: C.stack([C.positive, C.real], dim=0)),
    ("stack-simplex", lambda C, lib: C.stack([C.simplex] * 3, dim=-2)),
    ("interval-tensor", lambda C, lib: C.interval(0.0, lib.tensor([1.0, 2.0, 3.0]))),
    ("integer-less-than", lambda C, lib: C._IntegerLessThan(1)),
    ("positive-integer", lambda C, lib: C.positive_integer),
    ("psd", lambda C, lib: C.positive_semidefinite),
    ("lower-triangular", lambda C, lib: C.lower_triangular),
]

_rng = np.random.default_rng(3)
VALUES = [_rng.normal(size=(3,)), _rng.normal(size=(2, 3)), np.abs(_rng.normal(size=(3, 3))),
          np.array([[0.2, 0.3, 0.5], [0.5, 0.5, 0.1], [1.0, 0.0, 0.0]]),
          np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 1.0]]),
          np.array([[[1.0, 0.0], [0.0, -1e-9]], [[1.0, 0.0], [0.0, 0.0]]]),
          np.array([0.0, 1.0, 2.0, 2.5]), np.array(1.0), np.array([np.nan, 1.0, 2.0])]


@pytest.mark.parametrize("name, make", COMPOUND, ids=[c[0] for c in COMPOUND])
def test_compound_constraints_match_torch(name, make):
    tc, ec = make(TC, torch), make(EC, ember)
    assert repr(ec) == repr(tc)
    assert (ec.is_discrete, ec.event_dim) == (tc.is_discrete, tc.event_dim)
    for v in VALUES:
        t, e = _same_outcome(lambda v=v: tc.check(torch.tensor(v)),
                             lambda v=v: ec.check(ember.tensor(v)))
        if t is not None:
            assert e.dtype == ember.bool
            np.testing.assert_array_equal(e.numpy(), t.numpy())


def _ones(C):
    return (torch if C is TC else ember).ones(2, 2)


@pytest.mark.parametrize("make", [
    lambda C: C.independent(3, 1), lambda C: C.independent(C.real, -1),
    lambda C: C.independent(C.real, 1.5), lambda C: C.MixtureSameFamilyConstraint(2),
    lambda C: C.cat([C.real, C.positive], lengths=[1, 2, 3]), lambda C: C.cat([C.real, 3]),
    lambda C: C.stack([C.real, None]),
    lambda C: C.cat([C.real, C.real], dim=2).check(_ones(C)),
    lambda C: C.stack([C.real, C.real], dim=-3).check(_ones(C)),
])
def test_compound_constraint_errors_match_torch(make):
    _same_outcome(lambda: make(TC), lambda: make(EC))


def test_dependent_placeholders_match_torch():
    def probe(C):
        d = C.dependent(is_discrete=True, event_dim=1)

        class Box:
            @C.dependent_property
            def plain(self):
                "a doc"
                return C.real

            @C.dependent_property(is_discrete=True, event_dim=0)
            def counted(self):
                return C.nonnegative_integer

        out = [repr(C.dependent), repr(C.Constraint()), d.is_discrete, d.event_dim,
               d(event_dim=2).event_dim, d(event_dim=2).is_discrete, d is C.dependent,
               C.is_dependent(d), C.is_dependent(C.real), repr(Box().plain), repr(Box.plain),
               Box.plain.__doc__, Box.counted.is_discrete, Box.counted.event_dim,
               isinstance(Box.plain, property), C.is_dependent(Box.counted)]
        for what in (lambda: C.dependent.is_discrete, lambda: Box.plain.event_dim,
                     lambda: C.dependent.check(1), lambda: Box.counted.check(1),
                     lambda: C.Constraint().check(1)):
            out.append(_outcome(what)[1])
        return out

    assert probe(EC) == probe(TC)


def _describe(t, T):
    """A transform as nested names and parameters, for comparing structure."""
    if isinstance(t, T.ComposeTransform):
        return ("Compose", [_describe(p, T) for p in t.parts])
    if isinstance(t, T.AffineTransform):
        return ("Affine", np.asarray(t.loc).tolist(), np.asarray(t.scale).tolist(), t.event_dim)
    if isinstance(t, T.IndependentTransform):
        return ("Independent", _describe(t.base_transform, T), t.reinterpreted_batch_ndims)
    if isinstance(t, (T.CatTransform, T.StackTransform)):
        return (type(t).__name__, [_describe(p, T) for p in t.transforms], t.dim,
                getattr(t, "lengths", None))
    return type(t).__name__


REGISTRY_CASES = [
    lambda C, lib: C.nonnegative, lambda C, lib: C.greater_than_eq(2),
    lambda C, lib: C.interval(0, 1), lambda C, lib: C.interval(lib.tensor(0.0), 1.0),
    lambda C, lib: C.half_open_interval(-1.0, 3.0), lambda C, lib: C.positive_semidefinite,
    lambda C, lib: C.independent(C.interval(0.0, 1.0), 2), lambda C, lib: C.boolean,
    lambda C, lib: C.cat([C.real, C.positive], dim=-1, lengths=[1, 2]),
    lambda C, lib: C.stack([C.real, C.unit_interval], dim=0), lambda C, lib: C.dependent,
    lambda C, lib: C.greater_than(lib.tensor([1.0, 2.0])), lambda C, lib: C.lower_triangular,
    lambda C, lib: C.one_hot, lambda C, lib: C.Constraint,
]


@pytest.mark.parametrize("make", REGISTRY_CASES)
@pytest.mark.parametrize("fn", ["biject_to", "transform_to"])
def test_registry_structure_matches_torch(make, fn):
    tc, ec = make(TC, torch), make(EC, ember)
    t, e = _same_outcome(lambda: getattr(torch.distributions, fn)(tc),
                         lambda: getattr(ed, fn)(ec))
    if t is not None:
        assert _describe(e, ed.transforms) == _describe(t, torch.distributions.transforms)
    assert (ed.biject_to(EC.real) is ed.transforms.identity_transform)


def test_registry_register():
    from torch.distributions.constraint_registry import ConstraintRegistry as TorchRegistry

    from ember.distributions.constraint_registry import ConstraintRegistry

    for Registry, C in ((ConstraintRegistry, EC), (TorchRegistry, TC)):
        registry = Registry()

        def factory(c):
            return ("made", repr(c))

        assert registry.register(C.positive, factory) is factory
        assert registry.register(C.simplex)(factory) is factory
        assert registry(C.greater_than(2.0)) == ("made", "GreaterThan(lower_bound=2.0)")
        assert registry(C.simplex) == ("made", "Simplex()")
    _same_outcome(lambda: TorchRegistry().register(3, print),
                  lambda: ConstraintRegistry().register(3, print))
    _same_outcome(lambda: TorchRegistry()(TC.real), lambda: ConstraintRegistry()(EC.real))


@pytest.mark.parametrize("args", [
    (1.0, 2.0), (1, True), ("f", [1.0, 2.0], 3), ("d", [1.0, 2.0], 3.5), ("i", [1, 2], 2.5),
    (1.5, "d", [[1.0], [2.0]], "i", [1, 2]), (), ("f", [1.0, 2.0], "f", [1.0, 2.0, 3.0]),
    ("x", 1.0),
])
def test_broadcast_all_matches_torch(args):
    def build(lib):
        out, it = [], iter(args)
        for a in it:
            if a in ("f", "d", "i"):
                dt = {"f": lib.float32, "d": lib.float64, "i": lib.int64}[a]
                out.append(lib.tensor(next(it), dtype=dt))
            else:
                out.append(a)
        return out

    t, e = _same_outcome(lambda: TU.broadcast_all(*build(torch)),
                         lambda: EU.broadcast_all(*build(ember)))
    if t is not None:
        assert [(str(x.dtype), x.tolist()) for x in e] == [(str(x.dtype), x.tolist()) for x in t]


def test_tril_packing_matches_torch():
    for length in range(0, 24):
        for diag in range(-3, 4):
            t, e = _same_outcome(
                lambda n=length, d=diag: TU.vec_to_tril_matrix(torch.arange(float(n)), d),
                lambda n=length, d=diag: EU.vec_to_tril_matrix(ember.arange(float(n)), d))
            if t is None:
                continue
            np.testing.assert_array_equal(e.numpy(), t.numpy())
            for d2 in range(-4, 5):
                t2, e2 = _same_outcome(lambda t=t, d=d2: TU.tril_matrix_to_vec(t, d),
                                       lambda e=e, d=d2: EU.tril_matrix_to_vec(e, d))
                if t2 is not None:
                    np.testing.assert_array_equal(e2.numpy(), t2.numpy())
    v = ember.arange(6.0, requires_grad=True)
    (g,) = ember.autograd.grad((EU.vec_to_tril_matrix(v) * ember.arange(9.0).reshape(3, 3))
                               .sum(), [v])
    assert g.tolist() == [0.0, 3.0, 4.0, 6.0, 7.0, 8.0]


def test_lazy_property_caches_with_grad_enabled():
    calls = []

    class Thing:
        @EU.lazy_property
        def value(self):
            "the doc"
            calls.append(1)
            return ember.tensor(2.0, requires_grad=True) * 3

    with ember.no_grad():
        thing = Thing()
        assert thing.value.requires_grad  # computed with gradients on, then cached
    assert thing.value is thing.value and len(calls) == 1 and "value" in vars(thing)
    assert isinstance(Thing.value, property) and Thing.value.__doc__ == "the doc"


def test_clamp_probs_and_logits_match_torch():
    p = np.array([0.0, 1e-9, 0.3, 1.0])
    for dt in ("float16", "float32", "float64"):
        t = TU.clamp_probs(torch.tensor(p, dtype=getattr(torch, dt)))
        e = EU.clamp_probs(ember.tensor(p, dtype=getattr(ember, dt)))
        assert str(e.dtype) == str(t.dtype) and e.tolist() == t.tolist()
    for binary in (False, True):
        t = TU.probs_to_logits(torch.tensor(p), binary)
        e = EU.probs_to_logits(ember.tensor(p), binary)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)
        t = TU.logits_to_probs(torch.tensor(p), binary)
        e = EU.logits_to_probs(ember.tensor(p), binary)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)


def _gaussian_family(lib, base):
    class Gaussian(base):
        arg_constraints = {}

        def __init__(self, loc, scale):
            self.loc, self.scale = loc, scale
            super().__init__(loc.shape)

        @property
        def _natural_params(self):
            return (self.loc / self.scale ** 2, -0.5 / self.scale ** 2)

        def _log_normalizer(self, a, b):
            return -0.25 * a ** 2 / b + 0.5 * lib.log(-np.pi / b)

        @property
        def _mean_carrier_measure(self):
            return 0.25

    return Gaussian


def test_exponential_family_entropy_matches_torch():
    loc, scale = [[0.0, 1.0], [2.0, -1.0]], [[1.0, 2.0], [0.5, 3.0]]
    tl, ts = torch.tensor(loc, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64,
                                                                   requires_grad=True)
    el, es = ember.tensor(loc, dtype=ember.float64), ember.tensor(scale, dtype=ember.float64,
                                                                 requires_grad=True)
    t = _gaussian_family(torch, torch.distributions.ExponentialFamily)(tl, ts).entropy()
    e = _gaussian_family(ember, ed.ExponentialFamily)(el, es).entropy()
    assert e.requires_grad == t.requires_grad
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-12)
    base = ed.ExponentialFamily(validate_args=False)
    for what in (lambda: base._natural_params, lambda: base._mean_carrier_measure,
                 lambda: base._log_normalizer(1.0), base.entropy):
        with pytest.raises(NotImplementedError):
            what()
