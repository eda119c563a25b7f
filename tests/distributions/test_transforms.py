"""Transforms and constraints against torch: forward, inverse, log_abs_det_jacobian and their
gradients; biject_to / transform_to for each constraint; constraint checks."""

import numpy as np
import pytest

import ember
import ember.distributions as ed

from .test_against_torch import assert_close

torch = pytest.importorskip("torch")

TRANSFORMS = [
    ("Exp", lambda T, lib: T.ExpTransform(), (2, 3)),
    ("Affine", lambda T, lib: T.AffineTransform(lib.tensor([1.0, -2.0, 0.5]),
                                                lib.tensor([2.0, 0.5, -1.5])), (2, 3)),
    ("Affine-event", lambda T, lib: T.AffineTransform(1.0, 3.0, event_dim=1), (2, 3)),
    ("Sigmoid", lambda T, lib: T.SigmoidTransform(), (2, 3)),
    ("Tanh", lambda T, lib: T.TanhTransform(), (2, 3)),
    ("Softplus", lambda T, lib: T.SoftplusTransform(), (2, 3)),
    ("Power", lambda T, lib: T.PowerTransform(lib.tensor(2.5)), (2, 3)),
    ("Abs", lambda T, lib: T.AbsTransform(), (2, 3)),
    ("Compose", lambda T, lib: T.ComposeTransform([T.AffineTransform(0.5, 2.0),
                                                    T.ExpTransform()]), (2, 3)),
    ("Inverse", lambda T, lib: T.ExpTransform().inv, (2, 3)),
    ("StickBreaking", lambda T, lib: T.StickBreakingTransform(), (2, 3)),
    ("Softmax", lambda T, lib: T.SoftmaxTransform(), (2, 3)),
    ("LowerCholesky", lambda T, lib: T.LowerCholeskyTransform(), (2, 3, 3)),
    ("CorrCholesky", lambda T, lib: T.CorrCholeskyTransform(), (2, 3)),
    ("PositiveDefinite", lambda T, lib: T.PositiveDefiniteTransform(), (2, 3, 3)),
    ("Reshape", lambda T, lib: T.ReshapeTransform((6,), (2, 3)), (4, 6)),
    ("IndependentExp", lambda T, lib: T.IndependentTransform(T.ExpTransform(), 1), (2, 3)),
    ("Cat", lambda T, lib: T.CatTransform([T.ExpTransform(), T.AffineTransform(0.0, 2.0)],
                                          dim=-1, lengths=[1, 2]), (2, 3)),
    ("Stack", lambda T, lib: T.StackTransform([T.ExpTransform(), T.SigmoidTransform()],
                                              dim=0), (2, 3)),
    ("CumulativeDistribution", lambda T, lib: T.CumulativeDistributionTransform(
        lib.distributions.Normal(0.0, 1.0)), (2, 3)),
]

# inputs in the domain; the stick-breaking/softmax inverses need points on the simplex
X = np.random.default_rng(0).normal(size=(4, 6)) * 0.8


def _input(shape):
    return X.reshape(-1)[:int(np.prod(shape))].reshape(shape)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, make, shape", TRANSFORMS, ids=[t[0] for t in TRANSFORMS])
def test_transform_matches_torch(name, make, shape, dtype):
    tt = make(torch.distributions.transforms, torch)
    et = make(ed.transforms, ember)
    assert repr(et) == repr(tt)
    assert et.bijective == tt.bijective
    assert repr(et.domain) == repr(tt.domain) and repr(et.codomain) == repr(tt.codomain)
    x = _input(shape)
    tx = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    ex = ember.tensor(x, dtype=getattr(ember, dtype), requires_grad=True)
    ty, ey = tt(tx), et(ex)
    assert_close(ey, ty, dtype, "forward")
    assert tuple(et.forward_shape(ex.shape)) == tuple(tt.forward_shape(tx.shape))
    if tt.bijective:
        assert_close(et.inv(ey.detach()), tt.inv(ty.detach()), dtype, "inverse")
    try:
        tl = tt.log_abs_det_jacobian(tx, ty)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            et.log_abs_det_jacobian(ex, ey)
        tl, el = None, None
    else:
        el = et.log_abs_det_jacobian(ex, ey)
        assert_close(el, tl, dtype, "log_abs_det_jacobian")
    t_loss = ty.sin().sum() + (tl.sum() if tl is not None else 0)
    e_loss = ey.sin().sum() + (el.sum() if el is not None else 0)
    (tg,) = torch.autograd.grad(t_loss, [tx])
    (eg,) = ember.autograd.grad(e_loss, [ex])
    assert_close(eg, tg, dtype, "gradient")


CONSTRAINTS = [
    ("real", lambda c: c.real, (2, 3)),
    ("positive", lambda c: c.positive, (2, 3)),
    ("greater_than", lambda c: c.greater_than(1.5), (2, 3)),
    ("less_than", lambda c: c.less_than(-1.0), (2, 3)),
    ("interval", lambda c: c.interval(-1.0, 2.0), (2, 3)),
    ("unit_interval", lambda c: c.unit_interval, (2, 3)),
    ("simplex", lambda c: c.simplex, (2, 3)),
    ("lower_cholesky", lambda c: c.lower_cholesky, (2, 3, 3)),
    ("positive_definite", lambda c: c.positive_definite, (2, 3, 3)),
    ("corr_cholesky", lambda c: c.corr_cholesky, (2, 3)),
    ("real_vector", lambda c: c.real_vector, (2, 3)),
    ("independent", lambda c: c.independent(c.positive, 1), (2, 3)),
]


@pytest.mark.parametrize("name, pick, shape", CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
def test_biject_to_and_transform_to_match_torch(name, pick, shape):
    tc = pick(torch.distributions.constraints)
    ec = pick(ed.constraints)
    assert repr(ec) == repr(tc)
    assert ec.is_discrete == tc.is_discrete and ec.event_dim == tc.event_dim
    x = _input(shape)
    for fn in ("biject_to", "transform_to"):
        try:
            tt = getattr(torch.distributions, fn)(tc)
        except NotImplementedError as exc:
            with pytest.raises(NotImplementedError, match=str(exc)):
                getattr(ed, fn)(ec)
            continue
        et = getattr(ed, fn)(ec)
        assert repr(et) == repr(tt)
        ty = tt(torch.tensor(x))
        ey = et(ember.tensor(x))
        assert_close(ey, ty, "float64", fn)
        assert ec.check(ey).all().item()
        np.testing.assert_array_equal(ec.check(ey).numpy(), tc.check(ty).numpy())


@pytest.mark.parametrize("name, pick, shape", CONSTRAINTS + [
    ("boolean", lambda c: c.boolean, (5,)),
    ("nonnegative_integer", lambda c: c.nonnegative_integer, (5,)),
    ("integer_interval", lambda c: c.integer_interval(0, 3), (5,)),
    ("half_open_interval", lambda c: c.half_open_interval(0.0, 1.0), (5,)),
    ("nonnegative", lambda c: c.nonnegative, (5,)),
    ("square", lambda c: c.square, (2, 2)),
    ("symmetric", lambda c: c.symmetric, (2, 2)),
    ("one_hot", lambda c: c.one_hot, (5,)),
    ("multinomial", lambda c: c.multinomial(3), (5,)),
], ids=[c[0] for c in CONSTRAINTS] + ["boolean", "nonnegative_integer", "integer_interval",
                                      "half_open_interval", "nonnegative", "square",
                                      "symmetric", "one_hot", "multinomial"])
def test_constraint_check_matches_torch(name, pick, shape):
    values = [np.array([0.0, 1.0, 2.0, -1.0, 0.5]), np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]]),
              np.array([0.0, 1.0, 0.0]), _input(shape), np.abs(_input(shape))]
    for v in values:
        try:
            expected = pick(torch.distributions.constraints).check(torch.tensor(v))
        except (RuntimeError, IndexError, ValueError) as exc:
            with pytest.raises(type(exc) if not isinstance(exc, RuntimeError) else Exception):
                pick(ed.constraints).check(ember.tensor(v))
            continue
        got = pick(ed.constraints).check(ember.tensor(v))
        np.testing.assert_array_equal(np.asarray(got.numpy()), expected.numpy())
