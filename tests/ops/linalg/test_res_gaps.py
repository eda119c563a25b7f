"""Gaps found by the research-building-block programs (tests/programs/res_*.py), each compared
with torch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

RANK2 = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]


def _mixed_batch(lib):
    """A regular matrix, a rank-2 one (zero pivot at 3) and the zero matrix (pivot 1)."""
    m = lib.tensor(RANK2)
    return lib.stack([lib.eye(3) * 2, m, lib.zeros(3, 3)])


def _same(e, t):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6,
                               equal_nan=True)


@pytest.mark.parametrize("left", [True, False])
def test_solve_ex_reports_each_singular_matrix_of_a_batch(left):
    # ember used to answer info = n for every matrix and nan everywhere once one was singular
    shape = (3, 3, 2) if left else (3, 2, 3)
    e_res, e_info = ember.linalg.solve_ex(_mixed_batch(ember), ember.ones(shape), left=left)
    t_res, t_info = torch.linalg.solve_ex(_mixed_batch(torch), torch.ones(shape), left=left)
    assert e_info.tolist() == t_info.tolist()
    assert e_info.dtype == ember.int32
    _same(e_res, t_res)  # the regular matrix solved, LAPACK's inf/nan pattern for the others


def test_solve_ex_vector_rhs_and_gradient_of_regular_members():
    b = [1.0, -2.0, 0.5]
    e_a = _mixed_batch(ember).requires_grad_()
    t_a = _mixed_batch(torch).requires_grad_()
    e_res, e_info = ember.linalg.solve_ex(e_a, ember.tensor(b))
    t_res, t_info = torch.linalg.solve_ex(t_a, torch.tensor(b))
    assert e_info.tolist() == t_info.tolist() == [0, 3, 1]
    _same(e_res, t_res)
    e_res[0].sum().backward()
    t_res[0].sum().backward()
    _same(e_a.grad[0], t_a.grad[0])


def test_inv_ex_keeps_regular_inverses_in_a_singular_batch():
    e_inv, e_info = ember.linalg.inv_ex(_mixed_batch(ember))
    t_inv, t_info = torch.linalg.inv_ex(_mixed_batch(torch))
    assert e_info.tolist() == t_info.tolist() == [0, 3, 1]
    _same(e_inv, t_inv)


def test_solve_ex_check_errors_still_raises():
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.solve_ex(_mixed_batch(torch), torch.ones(3, 3, 2), check_errors=True)
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.solve_ex(_mixed_batch(ember), ember.ones(3, 3, 2), check_errors=True)


@pytest.mark.parametrize("a_shape,b_shape", [((2, 2), (2,)), ((3, 3, 3), (3, 3))])
def test_solve_left_false_refuses_a_vector_rhs(a_shape, b_shape):
    msgs = []
    for lib in (torch, ember):
        with pytest.raises(RuntimeError) as err:
            lib.linalg.solve(lib.ones(a_shape) + lib.eye(a_shape[-1]), lib.ones(b_shape),
                             left=False)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


def test_cdist_inf_gradient_gives_every_tied_coordinate_the_full_sign():
    # ember split the gradient among coordinates tied for the max (vector_norm's rule)
    xs = [[0.0, 0.0, 0.5], [2.0, 1.0, 3.0]]
    ys = [[1.0, -1.0, 0.0], [0.0, 0.0, 0.5]]
    w = [[1.0, 2.0], [3.0, 4.0]]
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(xs, requires_grad=True)
        y = lib.tensor(ys, requires_grad=True)
        d = lib.cdist(x, y, p=float("inf"))
        assert type(d.grad_fn).__name__ == "CdistBackward0"
        gx, gy = lib.autograd.grad((d * lib.tensor(w)).sum(), (x, y))
        grads.append((d.tolist(), gx.tolist(), gy.tolist()))
    assert grads[0] == grads[1]


def test_cdist_inf_self_distance_and_empty_features():
    for lib in (torch, ember):
        x = lib.tensor([[0.0, 0.0], [1.0, 1.0]], requires_grad=True)
        (g,) = lib.autograd.grad(lib.cdist(x, x, p=float("inf")).sum(), x)
        assert g.tolist() == [[-2.0, -2.0], [2.0, 2.0]]
        assert lib.cdist(lib.ones(2, 0), lib.ones(3, 0), p=float("inf")).tolist() == [[0.0] * 3] * 2


def test_cdist_negative_p_message():
    msgs = []
    for lib in (torch, ember):
        with pytest.raises(RuntimeError) as err:
            lib.cdist(lib.ones(2, 3), lib.ones(2, 3), p=-1)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("equation", ["ij->ii", "ij->iik", "ij->ii...", "ij->kk"])
def test_einsum_repeated_output_subscript_is_a_runtime_error(equation):
    # ember let NumPy answer with a ValueError of its own wording
    msgs = []
    for lib in (torch, ember):
        with pytest.raises(RuntimeError) as err:
            lib.einsum(equation, lib.ones(2, 2))
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("rows,code,batch", [
    ([[1.0, 0, 2], [3, 0, 4], [5, 0, 6], [7, 0, 1]], 2, False),   # a zero column, tall
    ([[0.0, 1, 2], [0, 3, 4], [0, 5, 6], [0, 7, 1]], 1, False),
    ([[1.0, 2, 3], [0, 0, 0]], 2, False),                          # a zero row, wide (LQ)
    ([[1.0, 0, 2], [3, 0, 4], [5, 0, 6], [7, 0, 1]], 2, True),
])
def test_lstsq_gels_refuses_a_structurally_rank_deficient_matrix(rows, code, batch):
    # ember answered every driver with the pseudo-inverse; gels is a plain QR and stops
    msgs = []
    for lib in (torch, ember):
        A = lib.tensor(rows)
        if batch:
            A = lib.stack([lib.eye(A.shape[0])[:, :A.shape[1]], A])
        with pytest.raises(lib.linalg.LinAlgError) as err:
            lib.linalg.lstsq(A, lib.ones(*A.shape[:-1], 1), driver="gels")
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
    assert f"(error code: {code})" in msgs[1]


def test_lstsq_gels_zero_matrix_and_full_rank_still_solve():
    for rows in ([[0.0, 0, 0], [0, 0, 0]], [[1.0, 0], [0, 2], [1, 1]]):
        e = ember.linalg.lstsq(ember.tensor(rows), ember.ones(len(rows), 1), driver="gels")
        t = torch.linalg.lstsq(torch.tensor(rows), torch.ones(len(rows), 1), driver="gels")
        _same(e.solution, t.solution)
