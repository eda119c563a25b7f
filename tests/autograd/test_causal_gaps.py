"""grad_fn names found different by the causal-inference programs (tests/programs/causal_*.py,
which print weighted estimates still attached to the graph), compared with PyTorch: scatter,
scatter_add, index_copy/index_fill/index_add/index_put(accumulate) (and in-place forms),
masked_scatter, put, take_along_dim, trapezoid, quantile/nanquantile, nanmedian, special.ndtr,
pdist, pairwise_distance, and cov over several variables. Gradients are compared as well."""
import pytest
import torch

import ember


def _inputs(lib):
    x = lib.tensor([0.3, -1.2, 0.8, 2.0, -0.5, 1.1], requires_grad=True)
    s = lib.tensor([0.7, -0.4], requires_grad=True)
    return x, s, lib.tensor([0, 2]), lib.zeros(6)


CASES = {
    "scatter_src": lambda t, x, s, i, z: z.scatter(0, i, s) * x,
    "scatter_value": lambda t, x, s, i, z: x.scatter(0, i, 2.0),
    "scatter_add": lambda t, x, s, i, z: z.scatter_add(0, i, s) * x,
    "scatter_add_inplace": lambda t, x, s, i, z: x.clone().scatter_add_(0, i, s),
    "scatter_add_0d": lambda t, x, s, i, z: x[0].scatter_add(0, t.tensor(0), s[0]),
    "index_copy": lambda t, x, s, i, z: t.index_copy(x, 0, i, s),
    "index_copy_inplace": lambda t, x, s, i, z: x.clone().index_copy_(0, i, s),
    "index_fill": lambda t, x, s, i, z: x.index_fill(0, i, 1.0),
    "index_add": lambda t, x, s, i, z: x.index_add(0, i, s, alpha=2),
    "trapezoid": lambda t, x, s, i, z: t.trapezoid(x.view(2, 3)),
    "trapezoid_dx": lambda t, x, s, i, z: t.trapezoid(x, dx=0.5),
    "trapezoid_x": lambda t, x, s, i, z: t.trapezoid(x, t.arange(6.0) ** 2),
    "quantile": lambda t, x, s, i, z: t.quantile(x, 0.3),
    "quantile_q_tensor": lambda t, x, s, i, z: t.quantile(x, t.tensor([0.2, 0.9])),
    "quantile_keepdim": lambda t, x, s, i, z: t.quantile(x.view(2, 3), 0.5, dim=1, keepdim=True),
    "nanquantile": lambda t, x, s, i, z: t.nanquantile(x.view(3, 2), 0.75, dim=0),
    "cov": lambda t, x, s, i, z: t.cov(t.stack([x, x ** 2])),
    "cov_aweights": lambda t, x, s, i, z: t.cov(t.stack([x, x.sin()]), aweights=t.arange(1.0, 7)),
    "corrcoef": lambda t, x, s, i, z: t.corrcoef(t.stack([x, x ** 2])),
    "take_along_dim_flat": lambda t, x, s, i, z: t.take_along_dim(x, x.argsort()),
    "take_along_dim_dim": lambda t, x, s, i, z: t.take_along_dim(x.view(2, 3), i.view(2, 1), 1),
    "index_put_accumulate": lambda t, x, s, i, z: x.index_put((i,), s, accumulate=True),
    "masked_scatter": lambda t, x, s, i, z: x.masked_scatter(x > 0, s.repeat(3)),
    "put_accumulate": lambda t, x, s, i, z: x.put(i, s, accumulate=True),
    "nanmedian": lambda t, x, s, i, z: x.nanmedian(),
    "nanmedian_dim": lambda t, x, s, i, z: x.view(2, 3).nanmedian(1).values,
    "special_ndtr": lambda t, x, s, i, z: t.special.ndtr(x),
    "pdist": lambda t, x, s, i, z: t.pdist(x.view(3, 2), p=1),
    "pairwise_distance": lambda t, x, s, i, z: t.nn.functional.pairwise_distance(
        x.view(3, 2), s),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_grad_fn_name_and_gradient_match_torch(name):
    results = []
    for lib in (torch, ember):
        x, s, i, z = _inputs(lib)
        out = CASES[name](lib, x, s, i, z)
        out.sum().backward() if out.ndim else out.backward()
        results.append((out.grad_fn.name(), out.detach().flatten().tolist(), x.grad, s.grad))
    (t_name, t_val, t_gx, t_gs), (e_name, e_val, e_gx, e_gs) = results
    assert e_name == t_name
    assert e_val == pytest.approx(t_val, rel=1e-5, abs=1e-6)
    for tg, eg in ((t_gx, e_gx), (t_gs, e_gs)):
        assert (tg is None) == (eg is None)
        if tg is not None:
            assert eg.tolist() == pytest.approx(tg.tolist(), rel=1e-5, abs=1e-6)
