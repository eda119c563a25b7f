"""Second-order gradients (``create_graph=True``) against PyTorch: a gradient's gradient, with
None told apart from zeros (PyTorch ties a pooling or padding gradient to the input with a zero
derivative, so ``autograd.grad(gp, x)`` works without ``allow_unused``), products through zeros
(``prod``/``cumprod`` backward built from differentiable ops), and a WGAN-GP gradient penalty
through a conv + pooling + LayerNorm critic."""

import numpy as np
import pytest
import torch

import ember
from tests.ops.op_table import OPS
from tests.ops.spec import as_list, make_arrays, to_lib

SPECS = {s.name: s for s in OPS}


def _numpy(t):
    return None if t is None else t.detach().cpu().numpy(force=True).astype(np.float64)


def _second(lib, fn, arrays, grad_idx):
    """grad of sum(g_i * w_i) where g = grad(out, inputs, v, create_graph=True): (first-order
    values, second-order values) with None kept as None."""
    tensors = to_lib(lib, arrays, "float64", requires_grad=True, grad_inputs=grad_idx)
    outs = [o for o in as_list(fn(lib, *tensors)) if o.requires_grad]
    rng = np.random.default_rng(11)
    ups = [lib.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
    inputs = [tensors[k] for k in grad_idx]
    g = lib.autograd.grad(outs, inputs, ups, create_graph=True, allow_unused=True)
    assert all(gi is None or gi.requires_grad for gi in g), "gradient not differentiable"
    total = sum((gi * lib.tensor(np.random.default_rng(5 + k).standard_normal(tuple(gi.shape))))
                .sum() for k, gi in enumerate(g) if gi is not None)
    g2 = lib.autograd.grad(total, inputs, allow_unused=True)
    return [_numpy(a) for a in g], [_numpy(a) for a in g2]


def _check(fn, arrays, grad_idx):
    (e1, e2), (t1, t2) = _second(ember, fn, arrays, grad_idx), _second(torch, fn, arrays, grad_idx)
    for e, t in zip(e1 + e2, t1 + t2):
        assert (e is None) == (t is None), (e, t)
        if t is not None:
            np.testing.assert_allclose(e, t, rtol=1e-7, atol=1e-12)
            # +0.0 where torch has +0.0 (no -0.0 from the differentiable paths)
            assert np.array_equal(np.signbit(e[e == 0]), np.signbit(t[e == 0]))


# op-table entries whose second derivative was None/absent, not built, or missed the terms of
# factors held as constants (svd, eigh, qr, eigvals), where torch's is not
FIXED_OPS = [
    "max_pool2d", "max_pool2d_overlap_ceil", "max_pool2d_dilation", "max_pool1d",
    "max_pool3d_with_indices", "avg_pool2d", "avg_pool2d_pad_ceil", "avg_pool2d_divisor",
    "avg_pool1d", "fractional_max_pool2d", "adaptive_avg_pool2d", "adaptive_avg_pool2d_uneven",
    "adaptive_avg_pool3d_uneven", "adaptive_max_pool1d", "adaptive_max_pool3d",
    "interpolate_area_3d", "max_unpool1d", "max_unpool2d_overlap", "max_unpool3d",
    "prod_one_zero", "prod_two_zeros", "cumprod_zero", "pad_reflect", "pad_reflect_2d",
    "pad_replicate", "svd", "svdvals", "matrix_norm_nuc", "matrix_norm_2", "eigh", "qr",
    "linalg_eigvals",
]


@pytest.mark.parametrize("name", FIXED_OPS)
def test_op_table_second_order_matches_torch(name):
    spec = SPECS[name]
    for i in range(len(spec.shapes)):
        arrays = make_arrays(spec, spec.shapes[i], np.random.default_rng(1234 + i))
        idx = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"
               and (spec.grad_inputs is None or k in spec.grad_inputs)]
        _check(spec.fn, arrays, idx)


def _layer(name, nd):
    shape = (2, 3) + (6,) * nd
    builds = {
        "MaxPool": lambda L: getattr(L.nn, f"MaxPool{nd}d")(2),
        "MaxPoolOverlap": lambda L: getattr(L.nn, f"MaxPool{nd}d")(3, stride=1, padding=1),
        "AvgPool": lambda L: getattr(L.nn, f"AvgPool{nd}d")(3, stride=2, padding=1),
        "AdaptiveAvgPool": lambda L: getattr(L.nn, f"AdaptiveAvgPool{nd}d")(4),
        "AdaptiveMaxPool": lambda L: getattr(L.nn, f"AdaptiveMaxPool{nd}d")(4),
        "AreaInterpolate": lambda L: (lambda x: L.nn.functional.interpolate(
            x, size=(4,) * nd, mode="area")),
    }
    return shape, builds[name]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("name", ["MaxPool", "MaxPoolOverlap", "AvgPool", "AdaptiveAvgPool",
                                  "AdaptiveMaxPool", "AreaInterpolate"])
def test_pooling_layers_second_order_is_zeros_not_none(name, nd):
    shape, build = _layer(name, nd)
    x = np.random.default_rng(0).standard_normal(shape)
    _check(lambda L, t: build(L)(t), [x], [0])
    # torch: grad(penalty, x) needs no allow_unused (the gradient is tied to x)
    for L in (ember, torch):
        t = L.tensor(x, requires_grad=True)
        g, = L.autograd.grad(build(L)(t).sum(), t, create_graph=True)
        h, = L.autograd.grad(g.norm(), t)
        assert not h.any()


@pytest.mark.parametrize("dim", [0, 1, None])
def test_prod_cumprod_through_zeros_second_order(dim):
    x = np.array([[1.5, 0.0, 2.0, -0.7], [0.3, 1.2, 0.0, 0.0], [0.0, 1.1, 0.9, 2.0]])
    if dim is None:
        _check(lambda L, t: t.prod(), [x], [0])
    else:
        _check(lambda L, t: t.prod(dim), [x], [0])
        _check(lambda L, t: t.cumprod(dim), [x], [0])


def _critic(L, kind):
    L.manual_seed(0)
    if kind == "linear":  # the penalty's derivative in the interpolates is zeros in torch
        layers = [L.nn.MaxPool2d(2), L.nn.Conv2d(2, 4, 3, padding=1), L.nn.AvgPool2d(2),
                  L.nn.AdaptiveMaxPool2d(1), L.nn.Flatten(), L.nn.Linear(4, 1)]
    else:
        layers = [L.nn.Conv2d(2, 4, 3, padding=1), L.nn.LeakyReLU(0.2), L.nn.MaxPool2d(2),
                  L.nn.Conv2d(4, 4, 3, padding=1), L.nn.AvgPool2d(2), L.nn.LayerNorm([4, 2, 2]),
                  L.nn.LeakyReLU(0.2), L.nn.AdaptiveAvgPool2d(1), L.nn.Flatten(),
                  L.nn.Linear(4, 1)]
    return L.nn.Sequential(*layers).double()


@pytest.mark.parametrize("kind", ["conv_pool_layernorm", "linear"])
def test_wgan_gp_penalty_matches_torch(kind):
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((3, 2, 8, 8)), rng.standard_normal((3, 2, 8, 8))
    alpha = rng.random((3, 1, 1, 1))
    t_net, e_net = _critic(torch, kind), _critic(ember, kind)
    e_net.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_net.state_dict().items()})
    results = []
    for L, net in ((torch, t_net), (ember, e_net)):
        mixed = (L.tensor(alpha) * L.tensor(real) + (1 - L.tensor(alpha)) * L.tensor(fake))
        mixed.requires_grad_(True)
        score = net(mixed)
        g, = L.autograd.grad(score, mixed, L.ones_like(score), create_graph=True)
        gp = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
        # the penalty in the interpolates (no allow_unused, as users write it) and in the
        # critic's parameters (the biases take no part in it)
        gx, = L.autograd.grad(10 * gp, mixed, retain_graph=True)
        grads = L.autograd.grad(10 * gp, list(net.parameters()), allow_unused=True)
        results.append([gp.item(), _numpy(gx)] + [_numpy(a) for a in grads])
    t_res, e_res = results
    np.testing.assert_allclose(e_res[0], t_res[0], rtol=1e-10)
    for e, t in zip(e_res[1:], t_res[1:]):
        assert (e is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(e, t, rtol=1e-7, atol=1e-12)
