"""Gaps found while writing the anomaly-detection programs (tests/programs/anom_*.py), each
checked against PyTorch: ``trapezoid``/``trapz``/``cumulative_trapezoid`` take ``dx`` as torch's
argument parser does (a 0-d tensor that needs no grad, a bool for ``trapz``'s float), and name
themselves in their argument errors; ``cov``'s weight checks and their messages, in torch's
order; ``cdist`` refuses an unknown ``compute_mode``; ``interpolate`` without a size says so;
``linalg.solve_triangular`` gives exact zeros where substitution does (the ``scale_tril`` of a
``MultivariateNormal`` built from a precision matrix printed ``5.8654e-17`` and ``-0.``)."""

import numpy as np
import pytest
import torch

import ember


def _outcome(fn):
    try:
        out = fn()
    except (RuntimeError, TypeError, ValueError, IndexError) as e:
        return type(e).__name__, str(e).split("\n")[0]
    if isinstance(out, (torch.Tensor, ember.Tensor)):
        return str(out.dtype).split(".")[-1], np.round(out.numpy(), 4).tolist()
    return out


def _same(case):
    mine = _outcome(lambda: case(ember))
    theirs = _outcome(lambda: case(torch))
    assert mine == theirs


@pytest.mark.parametrize("fn", ["trapezoid", "trapz", "cumulative_trapezoid"])
@pytest.mark.parametrize("dx", [
    lambda lib: lib.tensor(2.0), lambda lib: lib.tensor(3), lambda lib: lib.tensor(True),
    lambda lib: lib.tensor([2.0]), lambda lib: lib.tensor(2.0, requires_grad=True),
    lambda lib: lib.tensor(2 + 1j), lambda lib: True, lambda lib: 2 + 0j, lambda lib: "a",
    lambda lib: np.float32(0.5), lambda lib: 2,
])
def test_trapezoid_dx_forms_match_torch(fn, dx):
    if fn == "cumulative_trapezoid":
        _same(lambda lib: getattr(lib, fn)(lib.tensor([1.0, 2.0, 4.0]), dx=dx(lib)))
    else:
        _same(lambda lib: getattr(lib, fn)(lib.tensor([1.0, 2.0, 4.0]), dx=dx(lib)))
        _same(lambda lib: getattr(lib, fn)(lib.tensor([1, 2, 4]), dx=dx(lib)))


@pytest.mark.parametrize("fn", ["trapezoid", "trapz"])
def test_trapezoid_argument_errors_name_the_function(fn):
    _same(lambda lib: getattr(lib, fn)(lib.tensor([1.0, 2.0]), lib.tensor([0.0, 1.0]), dx=2.0))
    _same(lambda lib: getattr(lib, fn)(lib.tensor([1.0, 2.0]), 2.0))
    _same(lambda lib: getattr(lib, fn)(lib.tensor([True, False]), dx=1.0))
    _same(lambda lib: getattr(lib, fn)(lib.tensor([1.0, 2.0]), lib.tensor([0.0, 1.0, 2.0])))


@pytest.mark.parametrize("kw", [
    {"fweights": [1.0, 2, 1, 3, 1]}, {"fweights": [[1, 2, 1, 3, 1]]}, {"fweights": [1, 2, 1, 3]},
    {"fweights": [1, 2, -1, 3, 1]}, {"fweights": [True, True, False, True, True]},
    {"aweights": [1, 2, 1, 3, 1]}, {"aweights": [1.0, 2, 1, 3]}, {"aweights": [[1.0] * 5]},
    {"aweights": [1.0, 2, -1, 3, 1]}, {"fweights": [1, 2, 1, 3, 1], "aweights": [0.5] * 5},
])
def test_cov_weight_checks_match_torch(kw):
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    _same(lambda lib: lib.cov(lib.from_numpy(x), **{k: lib.tensor(v) for k, v in kw.items()}))


def test_cdist_refuses_unknown_compute_mode():
    a = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    _same(lambda lib: lib.cdist(lib.from_numpy(a), lib.from_numpy(a), compute_mode="foo"))
    _same(lambda lib: lib.cdist(lib.from_numpy(a), lib.from_numpy(a)[:2],
                                compute_mode="donot_use_mm_for_euclid_dist").round(decimals=4))


@pytest.mark.parametrize("kw", [{}, {"mode": "bilinear"}, {"size": 3, "scale_factor": 2.0}])
def test_interpolate_size_and_scale_messages(kw):
    _same(lambda lib: lib.nn.functional.interpolate(lib.zeros(1, 1, 4, 4), **kw))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [False, True])
def test_solve_triangular_keeps_exact_zeros(upper, left):
    # off-diagonal entries larger than the diagonal: LU's row swaps left round-off above it
    a = np.array([[1.0, 0.0, 0.0], [2.5, 1.5, 0.0], [0.7, 3.0, 2.0]], dtype=np.float32)
    a = (a.T if upper else a).copy()

    def case(lib):
        x = lib.linalg.solve_triangular(lib.from_numpy(a), lib.eye(3), upper=upper, left=left)
        return (x == 0).tolist(), x.signbit().tolist()

    assert case(ember) == case(torch)


def test_multivariate_normal_precision_scale_tril_prints_as_torch():
    torch.manual_seed(0)
    g = torch.randn(3, 3)
    p = (g @ g.T + torch.eye(3)).numpy()

    def case(lib):
        d = lib.distributions.MultivariateNormal(lib.zeros(3), precision_matrix=lib.from_numpy(p))
        return str(d.scale_tril)

    assert case(ember) == case(torch)


@pytest.mark.parametrize("batched", [True, False])
def test_unfold_fold_nodes_are_im2col_col2im(batched):
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6) if batched else (3, 6, 6))

    def case(lib):
        a = lib.tensor(x, requires_grad=True)
        cols = lib.nn.functional.unfold(a, 3, padding=1, stride=2)
        img = lib.nn.functional.fold(cols * 2, (6, 6), 3, padding=1, stride=2)
        (g,) = lib.autograd.grad(img.pow(2).sum(), a, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), a)
        return (cols.grad_fn.name(), len(cols.grad_fn.next_functions), img.grad_fn.name(),
                tuple(img.shape), np.round(g.detach().numpy(), 6).tolist(),
                np.round(gg.numpy(), 6).tolist())

    assert case(ember) == case(torch)


@pytest.mark.parametrize("correction", [1, True, 1.0, None, np.int64(0), "tensor_int",
                                        "tensor_float"])
def test_cov_correction_must_be_int(correction):
    def case(lib):
        c = {"tensor_int": lib.tensor(1), "tensor_float": lib.tensor(1.0)}.get(
            correction, correction) if isinstance(correction, str) else correction
        return lib.cov(lib.tensor([[1.0, 2.0, 4.0]]), correction=c)

    _same(case)


@pytest.mark.parametrize("fn", ["cdist", "pdist"])
def test_distances_refuse_nan_p(fn):
    def case(lib):
        x = lib.ones(3, 2)
        return lib.cdist(x, x, p=float("nan")) if fn == "cdist" else lib.pdist(x, p=float("nan"))

    _same(case)
