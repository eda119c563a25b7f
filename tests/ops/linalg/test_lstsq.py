"""linalg.pinv, linalg.lstsq, linalg.matrix_rank, linalg.vander and einsum's sublist form
against torch: values, the fields each lstsq driver fills, gradients (pinv's closed form, in
both shapes, and a second derivative), tolerances and errors."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def pair(arr, requires_grad=False):
    return (ember.tensor(arr, requires_grad=requires_grad),
            torch.tensor(arr, requires_grad=requires_grad))


def close(e, t, **kw):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), **kw)


def matrices():
    rng = np.random.default_rng(0)
    deficient = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 4))
    return [rng.standard_normal((4, 4)), rng.standard_normal((6, 3)),
            rng.standard_normal((3, 6)), rng.standard_normal((2, 5, 3)), deficient,
            np.zeros((3, 2)), rng.standard_normal((4, 3)).astype(np.float32),
            rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))]


@pytest.mark.parametrize("k", range(8))
def test_pinv_and_rank_match_torch(k):
    arr = matrices()[k]
    e, t = pair(arr)
    close(ember.linalg.pinv(e), torch.linalg.pinv(t), rtol=1e-4, atol=1e-6)
    close(ember.pinverse(e), torch.pinverse(t), rtol=1e-4, atol=1e-6)
    assert ember.linalg.matrix_rank(e).tolist() == torch.linalg.matrix_rank(t).tolist()
    assert ember.linalg.matrix_rank(e).dtype == ember.int64


def test_tolerances_and_hermitian():
    e, t = pair(np.diag([3.0, 1.0, 1e-3]))
    for kw in [dict(atol=0.01), dict(rtol=0.5), dict(atol=0.5, rtol=0.1), dict(atol=0.0)]:
        close(ember.linalg.pinv(e, **kw), torch.linalg.pinv(t, **kw))
        assert ember.linalg.matrix_rank(e, **kw).item() == torch.linalg.matrix_rank(t, **kw).item()
    assert ember.linalg.matrix_rank(e, tol=0.01).item() == 2 == \
        torch.linalg.matrix_rank(t, tol=0.01).item()
    close(ember.linalg.pinv(e, 0.5), torch.linalg.pinv(t, 0.5))  # rcond, positionally
    sym = np.array([[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, -2.0]])
    e, t = pair(sym)
    close(ember.linalg.pinv(e, hermitian=True), torch.linalg.pinv(t, hermitian=True))
    assert (ember.linalg.matrix_rank(e, hermitian=True).item()
            == torch.linalg.matrix_rank(t, hermitian=True).item())


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (2, 4, 3)])
def test_pinv_gradient_matches_torch(shape):
    rng = np.random.default_rng(1)
    arr = rng.standard_normal(shape)
    weight = rng.standard_normal(shape[:-2] + (shape[-1], shape[-2]))
    e, t = pair(arr, requires_grad=True)
    (ember.linalg.pinv(e) * ember.tensor(weight)).sum().backward()
    (torch.linalg.pinv(t) * torch.tensor(weight)).sum().backward()
    close(e.grad, t.grad, rtol=1e-6, atol=1e-9)
    assert ember.linalg.pinv(e).grad_fn.name() == "LinalgPinvBackward0"
    e.grad = t.grad = None
    (ember.pinverse(e, rcond=1e-3) * ember.tensor(weight)).sum().backward()
    (torch.pinverse(t, rcond=1e-3) * torch.tensor(weight)).sum().backward()
    close(e.grad, t.grad, rtol=1e-6, atol=1e-9)


def test_pinv_second_derivative():
    rng = np.random.default_rng(2)
    a = ember.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert ember.autograd.gradgradcheck(ember.linalg.pinv, (a,))


@pytest.mark.parametrize("driver", [None, "gelsy", "gelsd", "gelss", "gels"])
@pytest.mark.parametrize("shapes", [((6, 3), (6, 2)), ((6, 3), (6,)), ((2, 5, 3), (2, 5, 2)),
                                    ((3, 5), (3, 2))])
def test_lstsq_fields_match_torch(driver, shapes):
    rng = np.random.default_rng(3)
    (ea, ta), (eb, tb) = pair(rng.standard_normal(shapes[0])), pair(rng.standard_normal(shapes[1]))
    if driver == "gels" and shapes[0][-2] < shapes[0][-1]:
        pytest.skip("gels needs full-rank tall or square A")
    e = ember.linalg.lstsq(ea, eb, driver=driver)
    t = torch.linalg.lstsq(ta, tb, driver=driver)
    assert type(e).__name__ == type(t).__name__ == "linalg_lstsq"
    for name in ("solution", "residuals", "rank", "singular_values"):
        ev, tv = getattr(e, name), getattr(t, name)
        assert ev.shape == tv.shape and ev.dtype.__repr__() == repr(tv.dtype), name
        close(ev, tv, rtol=1e-6, atol=1e-9)


def test_lstsq_rank_deficient_gives_the_minimum_norm_solution_and_gradients():
    A = matrices()[4]
    b = np.arange(5.0)
    (ea, ta), (eb, tb) = pair(A, True), pair(b)
    e, t = ember.linalg.lstsq(ea, eb), torch.linalg.lstsq(ta, tb)
    close(e.solution, t.solution, rtol=1e-6, atol=1e-9)
    assert e.rank.item() == t.rank.item() == 2
    e.solution.pow(2).sum().backward()
    t.solution.pow(2).sum().backward()
    close(ea.grad, ta.grad, rtol=1e-5, atol=1e-9)
    assert e.solution.grad_fn.name() == "LinalgLstsqBackward0"


ERRORS = {
    "pinv_int": lambda L: L.linalg.pinv(L.ones(3, 3, dtype=L.int64)),
    "pinv_1d": lambda L: L.linalg.pinv(L.ones(3)),
    "rank_1d": lambda L: L.linalg.matrix_rank(L.ones(3)),
    "rank_int": lambda L: L.linalg.matrix_rank(L.ones(3, 3, dtype=L.int64)),
    "lstsq_1d": lambda L: L.linalg.lstsq(L.ones(3), L.ones(3)),
    "lstsq_rows": lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(4, 2)),
    "lstsq_dtypes": lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(3, 2, dtype=L.float64)),
    "lstsq_int": lambda L: L.linalg.lstsq(L.ones(3, 2, dtype=L.int64),
                                          L.ones(3, 2, dtype=L.int64)),
    "lstsq_driver": lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(3, 2), driver="foo"),
    "vander_0d": lambda L: L.linalg.vander(L.tensor(1.0)),
    "vander_n1": lambda L: L.linalg.vander(L.ones(3), N=1),
    "vander_bool": lambda L: L.linalg.vander(L.tensor([True, False])),
    "einsum_range": lambda L: L.einsum(L.ones(2, 3), [0, 52]),
    "einsum_negative": lambda L: L.einsum(L.ones(2, 3), [0, -1]),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    with pytest.raises(Exception) as t_err:
        ERRORS[name](torch)
    with pytest.raises(type(t_err.value)) as e_err:
        ERRORS[name](ember)
    assert str(e_err.value) == str(t_err.value)


def test_vander_matches_torch():
    for arr, n in [([1, 2, 3], None), ([1.5, -2.0], 4), ([[1, 2], [3, 4]], 3)]:
        e, t = pair(np.array(arr))
        ev, tv = ember.linalg.vander(e, N=n), torch.linalg.vander(t, N=n)
        assert ev.tolist() == tv.tolist() and repr(ev.dtype) == repr(tv.dtype)
    ev = ember.linalg.vander(ember.tensor([1, 2], dtype=ember.int32))
    assert ev.dtype == ember.int64
    e, t = pair(np.array([1.0, 2.0, 3.0]), True)
    ember.linalg.vander(e, N=4).sum().backward()
    torch.linalg.vander(t, N=4).sum().backward()
    close(e.grad, t.grad)


def test_einsum_sublist_form_matches_torch():
    rng = np.random.default_rng(4)
    (ea, ta), (eb, tb) = pair(rng.standard_normal((2, 3))), pair(rng.standard_normal((3, 4)))
    for build in [lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2]),
                  lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2], [2, 0]),
                  lambda L, a, b: L.einsum(a, [..., 1], [1]),
                  lambda L, a, b: L.einsum(a, [27, 26]),
                  lambda L, a, b: L.einsum(a, [0, 1], a, [0, 1], [])]:
        close(build(ember, ea, eb), build(torch, ta, tb), rtol=1e-12)
