"""Transform behaviour that the numeric comparison in test_transforms.py leaves open: caching,
inverse bookkeeping, equality, sign, composed domains, shape rules and error messages, each
checked against torch."""

import pickle

import numpy as np
import pytest

import ember
import ember.distributions as ed

torch = pytest.importorskip("torch")


def _outcome(fn, T, lib):
    """What ``fn`` gives: a printable result, or the exception's type name and message."""
    try:
        out = fn(T, lib)
    except Exception as exc:  # noqa: BLE001 - the exception itself is the result compared
        return ("raises", type(exc).__name__, str(exc).replace("torch", "ember"))
    if isinstance(out, lib.Tensor):
        return ("tensor", str(out.dtype).replace("torch", "ember"), out.detach().numpy().tolist())
    if isinstance(out, tuple) and all(isinstance(n, int) for n in out):  # Size or tuple: compare the numbers and whether a Size came back
        return ("shape", type(out).__name__, tuple(out))
    return ("value", repr(out).replace("torch", "ember"))


CASES = {
    "bad-cache": lambda T, lib: T.ExpTransform(cache_size=2),
    "base-sign": lambda T, lib: T.Transform().sign,
    "abs-sign": lambda T, lib: T.AbsTransform().sign,
    "affine-sign-neg": lambda T, lib: T.AffineTransform(0.0, -2.0).sign,
    "affine-sign-zero": lambda T, lib: T.AffineTransform(0.0, 0.0).sign,
    "affine-sign-tensor": lambda T, lib: T.AffineTransform(0.0, lib.tensor([-2.0, 3.0])).sign,
    "power-sign": lambda T, lib: T.PowerTransform(lib.tensor(-2.0)).sign,
    "compose-sign": lambda T, lib: T.ComposeTransform(
        [T.AffineTransform(0.0, -2.0), T.ExpTransform()]).sign,
    "empty-compose-sign": lambda T, lib: T.ComposeTransform([]).sign,
    "inverse-sign": lambda T, lib: T.AffineTransform(0.0, -1.0).inv.sign,
    "event-dim-mismatch": lambda T, lib: T.StickBreakingTransform().event_dim,
    "reshape-event-dim": lambda T, lib: T.ReshapeTransform((6,), (2, 3)).event_dim,
    "compose-domain": lambda T, lib: T.ComposeTransform(
        [T.ExpTransform(), T.StickBreakingTransform()]).domain,
    "compose-codomain": lambda T, lib: T.ComposeTransform(
        [T.ReshapeTransform((6,), (2, 3)), T.ExpTransform()]).codomain,
    "compose-corr-reshape": lambda T, lib: (
        T.ComposeTransform([T.CorrCholeskyTransform(), T.ReshapeTransform((3, 3), (9,))]).domain,
        T.ComposeTransform([T.CorrCholeskyTransform(), T.ReshapeTransform((3, 3), (9,))]).codomain),
    "empty-compose-domain": lambda T, lib: T.ComposeTransform([]).domain,
    "compose-repr-empty": lambda T, lib: T.ComposeTransform([]),
    "compose-inv-repr": lambda T, lib: T.ComposeTransform(
        [T.ExpTransform(), T.AffineTransform(1.0, 2.0)]).inv,
    "affine-event-domain": lambda T, lib: T.AffineTransform(0.0, 1.0, event_dim=2).inv.domain,
    "eq-params": lambda T, lib: [
        T.ExpTransform() == T.ExpTransform(), T.Transform() == T.Transform(),
        T.AffineTransform(1.0, 2.0) == T.AffineTransform(lib.tensor(1.0), 2.0),
        T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 3.0),
        T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0, event_dim=1),
        T.PowerTransform(2.0) == T.PowerTransform(2.0),
        T.PowerTransform(2.0) == T.PowerTransform(3.0),
        T.ExpTransform().inv == T.ExpTransform().inv, T.ExpTransform().inv == T.ExpTransform(),
        T.ComposeTransform([T.ExpTransform()]) == T.ComposeTransform([T.ExpTransform()]),
        T.IndependentTransform(T.ExpTransform(), 1) == T.IndependentTransform(
            T.ExpTransform(), 1),
        T.TanhTransform() == T.ExpTransform(), T.ExpTransform() != T.ExpTransform()],
    "eq-kinds": lambda T, lib: [
        [type(a)() == type(b)() for b in kinds] for kinds in [[
            T.ExpTransform(), T.SigmoidTransform(), T.SoftplusTransform(), T.TanhTransform(),
            T.AbsTransform(), T.CorrCholeskyTransform(), T.SoftmaxTransform(),
            T.StickBreakingTransform(), T.LowerCholeskyTransform(),
            T.PositiveDefiniteTransform()]] for a in kinds],
    "unhashable": lambda T, lib: hash(T.ExpTransform()),
    "with-cache-custom-init": lambda T, lib: type(
        "My", (T.Transform,), {"__init__": lambda self, a: T.Transform.__init__(self)})(1)
    .with_cache(1),
    "with-cache-sizes": lambda T, lib: [
        T.AffineTransform(1.0, 2.0).with_cache(1)._cache_size,
        T.ComposeTransform([T.ExpTransform()]).with_cache(1).parts[0]._cache_size,
        T.ExpTransform().inv.with_cache(1).inv._cache_size,
        T.IndependentTransform(T.ExpTransform(), 1).with_cache(1).base_transform._cache_size,
        T.CatTransform([T.ExpTransform()], cache_size=1).transforms[0]._cache_size,
        T.ComposeTransform([T.ExpTransform()], cache_size=1).with_cache(0).parts[0]._cache_size,
        T.CumulativeDistributionTransform(lib.distributions.Normal(0.0, 1.0))
        .with_cache(1)._cache_size],
    "not-implemented": lambda T, lib: T.AbsTransform().log_abs_det_jacobian(
        lib.ones(1), lib.ones(1)),
    "abs-inverse": lambda T, lib: T.AbsTransform().inv(lib.tensor([-1.0, 2.0])),
    "reshape-numel": lambda T, lib: T.ReshapeTransform((6,), (2, 4)),
    "reshape-mismatch": lambda T, lib: T.ReshapeTransform((6,), (2, 3)).forward_shape((5,)),
    "reshape-few": lambda T, lib: T.ReshapeTransform((6,), (2, 3)).forward_shape(()),
    "reshape-inverse-shape": lambda T, lib: T.ReshapeTransform((6,), (2, 3)).inverse_shape(
        (4, 2, 3)),
    "reshape-ladj": lambda T, lib: T.ReshapeTransform((3,), (3, 1)).log_abs_det_jacobian(
        lib.ones(4, 3, dtype=lib.float64), None),
    "independent-few": lambda T, lib: T.IndependentTransform(T.ExpTransform(), 2)(lib.ones(3)),
    "corr-shape-bad": lambda T, lib: T.CorrCholeskyTransform().forward_shape((4,)),
    "corr-shapes": lambda T, lib: [T.CorrCholeskyTransform().forward_shape((2, 6)),
                                   T.CorrCholeskyTransform().inverse_shape((2, 3, 3)),
                                   T.CorrCholeskyTransform().forward_shape((0,))],
    "corr-not-square": lambda T, lib: T.CorrCholeskyTransform().inverse_shape((3, 2)),
    "corr-extreme": lambda T, lib: T.CorrCholeskyTransform()(lib.tensor([10.0, 20.0, -30.0])),
    "softmax-few": lambda T, lib: T.SoftmaxTransform().inverse_shape(()),
    "stick-shapes": lambda T, lib: [T.StickBreakingTransform().forward_shape((2, 3)),
                                    T.StickBreakingTransform().inverse_shape((3,))],
    "stick-edge-inverse": lambda T, lib: T.StickBreakingTransform().inv(
        lib.tensor([0.0, 1.0, 0.0])),
    "power-shape": lambda T, lib: T.PowerTransform(lib.ones(3)).forward_shape((2, 1)),
    "affine-shape": lambda T, lib: T.AffineTransform(lib.ones(3), lib.ones(2, 1)).inverse_shape(
        (1,)),
    "compose-shapes": lambda T, lib: T.ComposeTransform(
        [T.StickBreakingTransform(), T.PowerTransform(lib.ones(4))]).inverse_shape((2, 4)),
    "affine-ladj-event": lambda T, lib: T.AffineTransform(
        1.0, lib.tensor([[2.0], [3.0]]), event_dim=1).log_abs_det_jacobian(lib.ones(2, 3), None),
    "affine-ladj-number": lambda T, lib: T.AffineTransform(
        1.0, -2.0, event_dim=1).log_abs_det_jacobian(lib.ones(4, 3), None),
    "affine-ladj-zero": lambda T, lib: T.AffineTransform(1.0, 0.0).log_abs_det_jacobian(
        lib.ones(2), None),
    "compose-ladj-empty": lambda T, lib: T.ComposeTransform([]).log_abs_det_jacobian(
        lib.tensor(3), None),
    "compose-ladj-events": lambda T, lib: T.ComposeTransform(
        [T.ExpTransform(), T.StickBreakingTransform()]).log_abs_det_jacobian(
        lib.tensor([[0.1, 0.2], [0.3, -0.4]]),
        T.ComposeTransform([T.ExpTransform(), T.StickBreakingTransform()])(
            lib.tensor([[0.1, 0.2], [0.3, -0.4]]))),
    "cat-lengths": lambda T, lib: T.CatTransform([T.ExpTransform()], 0, [1, 2]),
    "cat-not-transform": lambda T, lib: T.CatTransform([1]),
    "stack-not-transform": lambda T, lib: T.StackTransform([1]),
    "cat-size": lambda T, lib: T.CatTransform([T.ExpTransform()])(lib.ones(2)),
    "cat-dim": lambda T, lib: T.CatTransform([T.ExpTransform()], dim=3)(lib.ones(2)),
    "cat-inverse-dim": lambda T, lib: T.CatTransform([T.ExpTransform()], dim=-3).inv(lib.ones(2)),
    "cat-ladj-y-dim": lambda T, lib: T.CatTransform([T.ExpTransform()], dim=1)
    .log_abs_det_jacobian(lib.ones(1, 1), lib.ones(1)),
    "cat-ladj-x-first": lambda T, lib: T.CatTransform([T.ExpTransform()], dim=1)
    .log_abs_det_jacobian(lib.ones(1, 2), lib.ones(1)),
    "cat-ladj-batch": lambda T, lib: T.CatTransform(
        [T.ExpTransform(), T.AffineTransform(0.0, 3.0)], dim=0, lengths=[1, 3])
    .log_abs_det_jacobian(lib.zeros(4, 2), lib.zeros(4, 2)),
    "cat-ladj-event": lambda T, lib: T.CatTransform(
        [T.StickBreakingTransform(), T.StickBreakingTransform()], dim=0, lengths=[1, 1])
    .log_abs_det_jacobian(lib.zeros(2, 2), lib.ones(2, 3) / 3),
    "cat-props": lambda T, lib: [
        T.CatTransform([T.ExpTransform(), T.StickBreakingTransform()]).event_dim,
        T.CatTransform([T.ExpTransform(), T.AbsTransform()]).bijective,
        T.CatTransform([T.ExpTransform()], lengths=(1,)).lengths,
        T.CatTransform([T.ExpTransform(), T.AffineTransform(0.0, 1.0)], dim=-1,
                       lengths=[1, 2]).domain],
    "stack-size": lambda T, lib: T.StackTransform([T.ExpTransform()])(lib.ones(2)),
    "stack-ladj-dim": lambda T, lib: T.StackTransform([T.ExpTransform()], dim=3)
    .log_abs_det_jacobian(lib.ones(1), lib.ones(2)),
    "stack-ladj": lambda T, lib: T.StackTransform(
        [T.ExpTransform(), T.AffineTransform(0.0, 3.0)], dim=1).log_abs_det_jacobian(
        lib.zeros(4, 2), lib.zeros(4, 2)),
    "stack-inverse": lambda T, lib: T.StackTransform(
        [T.ExpTransform(), T.AffineTransform(0.0, 3.0)], dim=1).inv(lib.ones(4, 2)),
    "cdf-props": lambda T, lib: [
        T.CumulativeDistributionTransform(lib.distributions.Normal(0.0, 1.0)).domain,
        T.CumulativeDistributionTransform(lib.distributions.Normal(0.0, 1.0)).event_dim,
        T.CumulativeDistributionTransform(lib.distributions.Normal(0.0, 1.0)).sign],
    "tanh-inverse-edge": lambda T, lib: T.TanhTransform().inv(lib.tensor([1.0, -1.0, 0.5])),
    "sigmoid-clip": lambda T, lib: T.SigmoidTransform()(lib.tensor([-200.0, 200.0])),
    "sigmoid-inverse-clip": lambda T, lib: T.SigmoidTransform().inv(lib.tensor([0.0, 1.0])),
    "softplus-inverse": lambda T, lib: T.SoftplusTransform().inv(lib.tensor([1e-3, 50.0])),
    "state": lambda T, lib: sorted(T.ExpTransform(cache_size=1).__dict__),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_transform_behaviour_matches_torch(name):
    expected = _outcome(CASES[name], torch.distributions.transforms, torch)
    got = _outcome(CASES[name], ed.transforms, ember)
    if expected[0] == "tensor":
        assert got[:2] == expected[:2]
        np.testing.assert_allclose(got[2], expected[2], rtol=1e-5, atol=1e-6)
    else:
        assert got == expected


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_cache_returns_the_remembered_tensors(lib):
    T = lib.distributions.transforms
    t = T.ExpTransform(cache_size=1)
    x = lib.tensor([1.0])
    y = t(x)
    assert t(x) is y and t.inv(y) is x
    y2 = lib.tensor([5.0])
    x2 = t.inv(y2)
    assert t(x2) is y2 and t._cached_x_y[0] is x2
    c = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], cache_size=1)
    y = c(x)
    assert c.inv(y) is x and c.inv._cache_size == 0


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_inverse_is_shared_and_round_trips(lib):
    T = lib.distributions.transforms
    e = T.ExpTransform()
    assert e.inv is e.inv and e.inv.inv is e
    c = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)])
    assert c.inv is c.inv and c.inv.inv is c
    # the weak link to the inverse does not pickle; a copy rebuilds it on demand
    e2 = pickle.loads(pickle.dumps(e))
    assert e2._inv is None and e2.inv.inv is e2
