"""vmap's batched path (issue 13): the function captured once and run on the whole batch with
batching rules, against torch.func on the tutorial patterns (per-sample gradients, model
ensembles, Jacobians and Hessians, nested vmap, in_dims/out_dims), with a check that the
batched path was taken; and the loop still taken, with the loop's results, where it cannot
be (an op without a rule, data-dependent ops, a graph break, random draws, in-place changes)."""

import numpy as np
import pytest

import ember
from ember.func import _batching

from ._util import assert_same, run_both, same_error


@pytest.fixture(autouse=True)
def small_batches_too(monkeypatch):
    """Batch the small batches these tests use (ember takes the loop below MIN_ROWS)."""
    monkeypatch.setattr(_batching, "MIN_ROWS", 1)


@pytest.fixture
def count():
    """``count()``: how many vmap/jacrev calls took the batched path and the loop since the
    test began."""
    start = dict(_batching.STATS)
    return lambda: {k: _batching.STATS[k] - start[k] for k in start}


def batched(fn, torch, count, atol=1e-6, rtol=1e-5, **kw):
    """``fn`` gives torch's results under ember, and every ember call took the batched path
    (the loop, disabled, gives the same numbers)."""
    got, want = run_both(fn, torch)
    assert count()["fallback"] == 0 and count()["batched"] > 0, count()
    assert_same(got, want, atol=atol, rtol=rtol, **kw)
    _batching.ENABLED = False
    try:
        looped = fn(ember, ember.func)
    finally:
        _batching.ENABLED = True
    assert_same(got, looped, atol=atol, rtol=rtol, **kw)
    return got


def falls_back(fn, torch, count):
    got, want = run_both(fn, torch)
    assert count()["fallback"] > 0, count()
    assert_same(got, want, atol=1e-6, rtol=1e-5)


def arr(lib, *shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return lib.from_numpy(a)


def mlp(lib):
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))


def cnn(lib):
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(36, 10), nn.Tanh(), nn.Linear(10, 3))


# -- per-sample gradients -------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "nll"])
def test_per_sample_grads_of_an_mlp(loss, torch, count):
    def case(T, F):
        model = mlp(T)
        params = {k: v.detach() for k, v in model.named_parameters()}
        xs = arr(T, 8, 6)
        ys = arr(T, 8, 3, seed=1) if loss == "mse" else T.tensor([0, 2, 1, 1, 0, 2, 2, 1])

        def compute_loss(p, x, y):
            out = F.functional_call(model, p, (x.unsqueeze(0),))
            if loss == "mse":
                return T.nn.functional.mse_loss(out, y.unsqueeze(0))
            if loss == "nll":
                return T.nn.functional.nll_loss(out.log_softmax(-1), y.unsqueeze(0))
            return T.nn.functional.cross_entropy(out, y.unsqueeze(0))

        return F.vmap(F.grad(compute_loss), in_dims=(None, 0, 0))(params, xs, ys)

    batched(case, torch, count)


def test_per_sample_grads_of_a_cnn(torch, count):
    def case(T, F):
        model = cnn(T)
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def compute_loss(p, b, x, y):
            out = F.functional_call(model, (p, b), (x.unsqueeze(0),))
            return T.nn.functional.cross_entropy(out, y.unsqueeze(0))

        grads = F.vmap(F.grad(compute_loss), in_dims=(None, None, 0, 0))
        return grads(params, buffers, arr(T, 5, 1, 8, 8), T.tensor([0, 2, 1, 1, 0]))

    batched(case, torch, count)


def test_grad_and_value_with_aux_and_argnums(torch, count):
    def case(T, F):
        def f(x, w):
            return ((x * w).sum() ** 2, {"mean": x.mean(), "w": w * 2})

        gv = F.vmap(F.grad_and_value(f, argnums=(0, 1), has_aux=True), in_dims=(0, None))
        g = F.vmap(F.grad(f, argnums=1, has_aux=True), in_dims=(0, None))
        return gv(arr(T, 4, 3), arr(T, 3, seed=1)), g(arr(T, 4, 3), arr(T, 3, seed=1))

    batched(case, torch, count)


def test_per_sample_grads_reach_an_outer_backward(torch, count):
    def case(T, F):
        w = arr(T, 3, 2).requires_grad_()
        xs = arr(T, 5, 3, seed=1)
        g = F.vmap(F.grad(lambda v, x: ((x @ v).tanh() ** 2).sum()), in_dims=(None, 0))(w, xs)
        g.pow(2).sum().backward()
        return g, w.grad

    batched(case, torch, count)


# -- ensembles, dims, kwargs, nesting ---------------------------------------------------------


def test_model_ensembling_with_stack_module_state(torch, count):
    def case(T, F):
        nn = T.nn
        T.manual_seed(0)
        models = [nn.Sequential(nn.Linear(5, 7), nn.GELU(), nn.Linear(7, 2)) for _ in range(4)]
        params, buffers = F.stack_module_state(models)
        base = models[0]

        def run(p, b, x):
            return F.functional_call(base, (p, b), (x,))

        x = arr(T, 3, 5)
        same_minibatch = F.vmap(run, in_dims=(0, 0, None))(params, buffers, x)
        own_minibatch = F.vmap(run)(params, buffers, x.expand(4, 3, 5))
        return same_minibatch, own_minibatch

    batched(case, torch, count, check_grad=False)


def test_ensemble_of_cnns(torch, count):
    def case(T, F):
        T.manual_seed(0)
        models = [cnn(T) for _ in range(3)]
        params, buffers = F.stack_module_state(models)

        def run(p, b, x):
            return F.functional_call(models[0], (p, b), (x,))

        return F.vmap(run, in_dims=(0, 0, None))(params, buffers, arr(T, 2, 1, 8, 8))

    batched(case, torch, count, check_grad=False)


def test_in_dims_out_dims_none_and_kwargs(torch, count):
    def case(T, F):
        w = arr(T, 4, 5, seed=2)

        def f(x, y, scale=1.0):
            a = (x @ w).softmax(-1) * scale + y.sum()
            return a.t(), x.norm(), w.sum()

        x, y = arr(T, 3, 4, 4), arr(T, 2, seed=1)
        return (F.vmap(f, in_dims=(1, None), out_dims=(1, 0, None))(x, y, scale=2.0),
                F.vmap(f, in_dims=(-1, None), out_dims=(-1, 0, 0))(x, y))

    batched(case, torch, count)


@pytest.mark.parametrize("body", [
    lambda T, x, y: (x[1:, ::2] + y[0]).sum(-1, keepdim=True),
    lambda T, x, y: T.cat([x, y.unsqueeze(0)], 0).mean(0),
    lambda T, x, y: T.stack([x[0], y], dim=-1).permute(1, 0).flatten(),
    lambda T, x, y: T.where(x > 0, x, y).amax(0) + x.var(1).sum(),
    lambda T, x, y: T.einsum("ij,j->i", x, y).exp(),
    lambda T, x, y: x.max(1).values + x.log_softmax(0)[:, 0] + x.clamp(min=0).pow(2).sum(1),
    lambda T, x, y: T.nn.functional.layer_norm(x, (4,), T.arange(4.0), T.ones(4)).sum(1)
    + (x.reshape(4, 3).t() @ y),
    lambda T, x, y: T.nn.functional.layer_norm(x, (3, 4)).sum(1) * 2,
    lambda T, x, y: T.nn.functional.smooth_l1_loss(x, y.expand(3, 4), reduction="sum"),
    lambda T, x, y: (y @ x.t()) + x.abs().sqrt().sum(-1),
])
def test_rules_match_torch(body, torch, count):
    def case(T, F):
        return F.vmap(lambda x, y: body(T, x, y))(arr(T, 5, 3, 4), arr(T, 5, 4, seed=1))

    got, want = run_both(case, torch)
    assert_same(got, want, atol=1e-5, rtol=1e-5)
    assert count()["batched"] == 1


def test_nested_vmap(torch, count):
    def case(T, F):
        def dot(a, b):
            return (a * b).sum().tanh()

        x, y = arr(T, 3, 4, 5), arr(T, 4, 5, seed=1)
        return F.vmap(F.vmap(dot, in_dims=(0, 0)), in_dims=(0, None))(x, y)

    # the outer call is batched; the inner one, run while the outer one captures, is
    # recorded as its loop (and that loop is batched with the outer one's rules)
    got, want = run_both(case, torch)
    assert_same(got, want, atol=1e-6, rtol=1e-5)
    assert count()["batched"] == 1


# -- Jacobians and Hessians -----------------------------------------------------------------


@pytest.mark.parametrize("api", ["jacrev", "jacfwd"])
def test_jacobians_take_one_batched_pass(api, torch, count):
    def case(T, F):
        w = arr(T, 5, 4, seed=3)

        def f(x, b):
            return {"y": (w @ x).tanh() * b.sum(), "s": x.sin().sum()}

        jac = getattr(F, api)
        x, b = arr(T, 4), arr(T, 2, seed=1)
        return jac(f)(x, b), jac(f, argnums=(1, 0))(x, b)

    batched(case, torch, count)


def test_hessian_and_jacobian_of_an_mlp(torch, count):
    def case(T, F):
        model = mlp(T)

        def scalar(x):
            return (x.sin() * x ** 3).sum()

        return F.hessian(scalar)(arr(T, 4)), F.jacrev(model)(arr(T, 6))

    got, want = run_both(case, torch)
    assert_same(got, want, atol=1e-5, rtol=1e-5, check_grad=False)
    assert count()["batched"] > 0


def test_jacobian_of_an_input_that_requires_grad_is_differentiable(torch, count):
    def case(T, F):
        x = arr(T, 3).requires_grad_()
        j = F.jacrev(lambda v: v.sin() * v.sum())(x)
        j.sum().backward()
        return j, x.grad

    batched(case, torch, count)


# -- the loop where batching cannot promise the loop's numbers ---------------------------------


@pytest.mark.parametrize("body", [
    lambda T, x: x.cumsum(0),                                   # no rule: the loop
    lambda T, x: x * T.count_nonzero(x > 0),                    # reads the data outside ops
    lambda T, x: T.bincount((x.abs() * 3).long().clamp(max=4), minlength=5),  # likewise
    lambda T, x: x[T.argmax(x)] * x,                             # an index from the data
])
def test_unsupported_ops_fall_back_to_the_loop(body, torch, count):
    falls_back(lambda T, F: F.vmap(lambda x: body(T, x))(arr(T, 4, 5)), torch, count)


def test_graph_break_falls_back_and_raises_torchs_error(torch, count):
    same_error(lambda T, F: F.vmap(lambda x: x * x.sum().item())(arr(T, 3, 2)), torch)
    assert count()["fallback"] > 0


def test_random_draws_fall_back(torch, count):
    ember.manual_seed(0)
    out = ember.func.vmap(lambda x: x + ember.rand(2), randomness="different")(ember.zeros(3, 2))
    assert count() == {"batched": 0, "fallback": 1}
    ember.manual_seed(0)
    want = ember.rand(3, 2)  # the loop draws element after element
    assert ember.equal(out, want)


def test_in_place_change_of_an_input_falls_back():
    x = ember.zeros(3, 2)
    before = dict(_batching.STATS)
    out = ember.func.vmap(lambda v: v.add_(1))(x)
    assert _batching.STATS["fallback"] == before["fallback"] + 1
    assert ember.equal(x, ember.ones(3, 2)) and ember.equal(out, ember.ones(3, 2))


def test_gradient_inside_a_vmapped_function_falls_back(torch, count):
    def case(T, F):
        return F.vmap(F.jacrev(lambda v: v.sin() * v.sum()))(arr(T, 3, 4))

    got, want = run_both(case, torch)
    assert_same(got, want, atol=1e-6, rtol=1e-5)
    assert count()["fallback"] >= 1


@pytest.mark.parametrize("second", [
    lambda F, f: F.hessian(f)(*_hessian_inputs(F)),
    lambda F, f: F.hessian(f, argnums=(0, 1))(*_hessian_inputs(F)),
    lambda F, f: F.jacrev(F.jacrev(f, argnums=1), argnums=0)(*_hessian_inputs(F)),
    lambda F, f: F.jacfwd(F.jacrev(f, argnums=0), argnums=1)(*_hessian_inputs(F)),
])
def test_second_derivatives_take_one_batched_pass(second, torch, count):
    def case(T, F):
        def f(x, y):
            return (T.tanh(x.reshape(2, 2) @ y) ** 2).sum() + (x.sin() * x).sum() * y[0]

        return second(F, f)

    batched(case, torch, count)


def _hessian_inputs(F):
    lib = ember if F is ember.func else __import__("torch")
    return arr(lib, 4), arr(lib, 2, seed=1)


def test_hessian_of_parameters_that_require_grad_reaches_backward(torch, count):
    def case(T, F):
        w = arr(T, 3, 3).requires_grad_()

        def f(x):
            return (w @ x).tanh().sum()

        h = F.hessian(f)(arr(T, 3, seed=1))
        (h ** 2).sum().backward()
        return h, w.grad

    batched(case, torch, count)


def test_autograd_imported_by_name_inside_falls_back(count):
    # (torch refuses requires_grad_() inside vmap; ember's loop computes it, and a captured
    # backward would hold one element's values: the capture refuses any backward pass)
    from ember.autograd import grad

    def f(x):
        x = x.detach().requires_grad_()
        return grad((x ** 3).sum(), x)[0]

    xs = arr(ember, 4, 3)
    out = ember.func.vmap(f)(xs)
    assert count()["fallback"] == 1
    np.testing.assert_allclose(out.numpy(), (3 * xs ** 2).numpy(), rtol=1e-6)


def test_forward_ad_inside_falls_back(count):
    # (torch has no batching rule for make_dual; ember's loop computes it)
    fwAD = ember.autograd.forward_ad

    def f(x):
        with fwAD.dual_level():
            return fwAD.unpack_dual(fwAD.make_dual(x, ember.ones_like(x)).sin() * 2).tangent

    xs = arr(ember, 4, 3)
    out = ember.func.vmap(f)(xs)
    assert count()["fallback"] == 1
    np.testing.assert_allclose(out.numpy(), (2 * xs.cos()).numpy(), rtol=1e-6)
