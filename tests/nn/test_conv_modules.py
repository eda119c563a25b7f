"""Conv and pooling layers against torch: same weights -> same outputs, input gradients,
parameter gradients; default init statistics, extra_repr and state_dict keys."""

import numpy as np
import pytest

import ember
import ember.nn as enn

from ._helpers import copy_params, pair, same


def check_layer(torch, make, shape, rng, atol=3e-5, out_index=None, forward=None):
    """Build the layer in both libraries with torch's weights and compare forward/backward."""
    t_mod = make(torch.nn)
    e_mod = make(enn)
    copy_params(e_mod, t_mod)
    assert repr(e_mod) == repr(t_mod)
    x = rng.standard_normal(shape).astype(np.float32)
    ex, tx = pair(torch, x)
    fwd = forward or (lambda m, v: m(v))
    ey, ty = fwd(e_mod, ex), fwd(t_mod, tx)
    if out_index is not None:
        same(ey[1], ty[1])
        ey, ty = ey[out_index], ty[out_index]
    same(ey, ty, atol=atol, rtol=1e-4)
    up = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    ey.backward(ember.tensor(up))
    ty.backward(torch.tensor(up))
    same(ex.grad, tx.grad, atol=atol, rtol=1e-4)
    t_params = dict(t_mod.named_parameters())
    for name, p in e_mod.named_parameters():
        same(p.grad, t_params[name].grad, atol=atol, rtol=1e-4)
    return e_mod, t_mod


CONV_CASES = [
    ("conv2d", lambda nn: nn.Conv2d(3, 4, 3), (2, 3, 6, 5)),
    ("conv2d_args", lambda nn: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                                         dilation=(1, 2), groups=2, bias=False), (2, 4, 7, 6)),
    ("conv2d_same", lambda nn: nn.Conv2d(2, 3, 4, padding="same"), (1, 2, 5, 6)),
    ("conv2d_valid", lambda nn: nn.Conv2d(2, 3, 2, padding="valid"), (1, 2, 4, 4)),
    ("conv2d_reflect", lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
     (2, 2, 5, 5)),
    ("conv2d_replicate", lambda nn: nn.Conv2d(2, 3, 3, padding=(2, 1),
                                              padding_mode="replicate"), (1, 2, 4, 5)),
    ("conv2d_circular", lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"),
     (1, 2, 4, 5)),
    ("conv2d_unbatched", lambda nn: nn.Conv2d(2, 3, 3), (2, 5, 5)),
    ("conv1d", lambda nn: nn.Conv1d(3, 5, 3, stride=2, padding=1), (2, 3, 9)),
    ("conv1d_same_reflect", lambda nn: nn.Conv1d(3, 2, 4, padding="same",
                                                 padding_mode="reflect"), (2, 3, 8)),
    ("conv3d", lambda nn: nn.Conv3d(2, 3, 2, stride=(1, 2, 1)), (1, 2, 4, 4, 3)),
    ("conv_transpose2d", lambda nn: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1,
                                                       output_padding=1, groups=2),
     (2, 4, 3, 4)),
    ("conv_transpose2d_dilation", lambda nn: nn.ConvTranspose2d(3, 2, (2, 3), dilation=2,
                                                                bias=False), (1, 3, 3, 3)),
    ("conv_transpose1d", lambda nn: nn.ConvTranspose1d(3, 2, 3, stride=3), (2, 3, 4)),
]


@pytest.mark.parametrize("name,make,shape", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_layers_match_torch(torch, rng, name, make, shape):
    check_layer(torch, make, shape, rng)


def test_conv_transpose_output_size(torch, rng):
    def fwd(m, v):
        return m(v, output_size=[8, 10])
    check_layer(torch, lambda nn: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
                (1, 2, 4, 5), rng, forward=fwd)
    m = enn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match="valid sizes"):
        m(ember.randn(1, 2, 4, 5), output_size=[20, 20])


def test_conv_default_init_statistics():
    ember.manual_seed(0)
    m = enn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)  # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), ...)
    w = m.weight.detach().numpy()
    b = m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert list(m.state_dict()) == ["weight", "bias"]
    assert m.weight.shape == (32, 16, 3, 3)
    t = enn.ConvTranspose2d(16, 8, 3, groups=2)
    assert t.weight.shape == (16, 4, 3, 3)


def test_conv_argument_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        enn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        enn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        enn.Conv2d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string"):
        enn.Conv2d(4, 4, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode"):
        enn.Conv2d(4, 4, 3, padding_mode="mirror")
    m = enn.Conv2d(3, 4, 3)
    with pytest.raises(RuntimeError, match="to have 3 channels, but got 5 channels"):
        m(ember.randn(1, 5, 6, 6))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        m(ember.randn(1, 3, 2, 2))
    with pytest.raises(RuntimeError, match="Expected 3D"):
        m(ember.randn(3, 6, 6, 6, 6))


def test_conv_double_backward_matches_torch(torch, rng):
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    res = []
    for lib in (ember, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv2d(xt, wt, stride=2, padding=1)
        gx, gw = lib.autograd.grad((y * y).sum(), (xt, wt), create_graph=True)
        pen = (gx * gx).sum() + (gw * gw).sum()
        res.append(lib.autograd.grad(pen, (xt, wt)))
    for e, t in zip(*res):
        same(e, t, atol=1e-8)


POOL_CASES = [
    ("maxpool2d", lambda nn: nn.MaxPool2d(2), (2, 3, 6, 6)),
    ("maxpool2d_args", lambda nn: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
     (2, 3, 7, 6)),
    ("maxpool2d_dilation", lambda nn: nn.MaxPool2d((2, 3), stride=1, dilation=(2, 1)),
     (1, 2, 6, 6)),
    ("maxpool1d", lambda nn: nn.MaxPool1d(3, stride=2), (2, 3, 9)),
    ("avgpool2d", lambda nn: nn.AvgPool2d(2), (2, 3, 6, 6)),
    ("avgpool2d_args", lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                               count_include_pad=False), (2, 3, 7, 6)),
    ("avgpool2d_divisor", lambda nn: nn.AvgPool2d(2, divisor_override=3), (1, 2, 4, 4)),
    ("avgpool1d", lambda nn: nn.AvgPool1d(3, stride=2, padding=1), (2, 3, 8)),
    ("adaptive_avg2d", lambda nn: nn.AdaptiveAvgPool2d((3, None)), (2, 3, 7, 5)),
    ("adaptive_avg2d_one", lambda nn: nn.AdaptiveAvgPool2d(1), (2, 3, 7, 5)),
    ("adaptive_avg1d", lambda nn: nn.AdaptiveAvgPool1d(4), (2, 3, 10)),
    ("adaptive_max2d", lambda nn: nn.AdaptiveMaxPool2d((2, 3)), (2, 3, 5, 7)),
    ("adaptive_max1d", lambda nn: nn.AdaptiveMaxPool1d(3), (2, 3, 6)),
    ("adaptive_avg3d", lambda nn: nn.AdaptiveAvgPool3d((2, None, 3)), (2, 3, 5, 4, 7)),
    ("adaptive_avg3d_one", lambda nn: nn.AdaptiveAvgPool3d(1), (2, 3, 3, 4, 5)),
    ("adaptive_avg3d_unbatched", lambda nn: nn.AdaptiveAvgPool3d(2), (3, 4, 6, 4)),
    ("adaptive_max3d", lambda nn: nn.AdaptiveMaxPool3d((3, 2, 4)), (2, 3, 5, 4, 7)),
    ("lppool2d", lambda nn: nn.LPPool2d(2, 2), (2, 3, 4, 6)),
    ("lppool1d", lambda nn: nn.LPPool1d(3, 2, stride=1), (2, 3, 5)),
    ("unfold", lambda nn: nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
     (2, 3, 5, 6)),
    ("fold", lambda nn: nn.Fold((4, 5), 2, padding=1, stride=(2, 1)), (2, 8, 18)),
    ("lrn", lambda nn: nn.LocalResponseNorm(3, alpha=1e-2, k=2.0), (2, 5, 3, 3)),
]


@pytest.mark.parametrize("name,make,shape", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_pool_layers_match_torch(torch, rng, name, make, shape):
    check_layer(torch, make, shape, rng)


def test_maxpool_indices_and_unpool(torch, rng):
    check_layer(torch, lambda nn: nn.MaxPool2d(3, 2, 1, return_indices=True), (2, 3, 7, 6),
                rng, out_index=0)
    check_layer(torch, lambda nn: nn.AdaptiveMaxPool2d((3, 4), return_indices=True),
                (2, 2, 7, 6), rng, out_index=0)
    check_layer(torch, lambda nn: nn.AdaptiveMaxPool3d((2, 3, 2), return_indices=True),
                (2, 2, 5, 6, 4), rng, out_index=0)
    x = rng.standard_normal((1, 2, 5, 6, 4)).astype(np.float32)
    em, tm = enn.AdaptiveMaxPool3d((2, 3, 2), True), torch.nn.AdaptiveMaxPool3d((2, 3, 2), True)
    assert repr(em) == repr(tm)
    same(em(ember.tensor(x))[1], tm(torch.tensor(x))[1])
    x = rng.standard_normal((2, 3, 6, 4)).astype(np.float32)
    ey, ei = enn.MaxPool2d(2, return_indices=True)(ember.tensor(x))
    ty, ti = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    assert ei.dtype == ember.int64
    same(enn.MaxUnpool2d(2)(ey, ei), torch.nn.MaxUnpool2d(2)(ty, ti))


def test_maxpool_gradient_goes_to_first_maximum(torch):
    x = np.array([[[[1.0, 1.0], [1.0, 0.0]]]])
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        lib.nn.functional.max_pool2d(t, 2).sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), [[[[1.0, 0.0], [0.0, 0.0]]]])


def test_pool_errors():
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        enn.MaxPool2d(3, padding=2)(ember.randn(1, 1, 5, 5))
    with pytest.raises(RuntimeError, match="Output size is too small"):
        enn.AvgPool2d(7)(ember.randn(1, 1, 5, 5))
    with pytest.raises(RuntimeError, match="stride should not be zero"):
        enn.MaxPool2d(2, stride=0)(ember.randn(1, 1, 5, 5))


def test_workspace_reuse_keeps_results_exact(torch, rng, monkeypatch):
    """Pool every temporary (normally only large ones are) and run convolutions of different
    layouts in turn: a reused buffer must never leak stale values into a result."""
    from ember._ops.nn import _conv_kernels as conv_ops

    monkeypatch.setattr(conv_ops, "_MIN_BYTES", 0)
    monkeypatch.setattr(conv_ops, "_FREE", {})
    configs = [((2, 3, 5, 7), (4, 3, 3, 3), dict(padding=1)),
               ((2, 3, 6, 6), (4, 3, 2, 3), dict(padding=(2, 1), dilation=(1, 2))),
               ((2, 3, 7, 5), (4, 3, 3, 3), dict(stride=2, padding=1)),
               ((2, 3, 5, 7), (4, 3, 3, 3), dict(padding="same"))]
    for _ in range(3):
        for xs, ws, kw in configs:
            x, w = rng.standard_normal(xs), rng.standard_normal(ws)
            res = []
            for lib in (ember, torch):
                xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
                y = lib.nn.functional.conv2d(xt, wt, **kw)
                (y * y).sum().backward()
                res.append((y, xt.grad, wt.grad))
            for e, t in zip(*res):
                same(e, t, atol=1e-10)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_maxpool_ties_route_gradient_like_torch(torch, rng, kw):
    x = rng.integers(0, 3, size=(2, 2, 6, 7)).astype(np.float32)  # many ties
    grads = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        y, idx = lib.nn.functional.max_pool2d(t, return_indices=True, **kw)
        y.backward(lib.ones_like(y))
        grads.append((t.grad, idx))
    same(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1].numpy(), grads[1][1].numpy())
