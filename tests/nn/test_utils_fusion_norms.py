"""ember.nn.utils additions against torch.nn.utils: conv/linear + batch-norm fusion,
get_total_norm / clip_grads_with_norm_, skip_init, conv weight memory formats, and
rnn.invert_permutation / unpad_sequence."""

import warnings

import numpy as np
import pytest

import ember


def _copy_params(src, dst, torch):
    """Copy torch module ``src``'s parameters and buffers into ember module ``dst``."""
    for (name, t), (ename, e) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert name == ename
        with ember.no_grad():
            e.copy_(ember.tensor(t.numpy()))


def _bn_stats(bn, rng):
    with np.errstate(all="ignore"):
        bn.running_mean.copy_(bn.running_mean.new_tensor(rng.standard_normal(bn.num_features)))
        bn.running_var.copy_(bn.running_var.new_tensor(rng.uniform(0.5, 2.0, bn.num_features)))
        if bn.weight is not None:
            bn.weight.data.copy_(bn.weight.new_tensor(rng.standard_normal(bn.num_features)))
            bn.bias.data.copy_(bn.bias.new_tensor(rng.standard_normal(bn.num_features)))


def _pair(torch, rng, make_conv, make_bn):
    """The same (conv, bn) in torch and ember, in eval mode with random statistics."""
    tconv, tbn = make_conv(torch.nn).eval(), make_bn(torch.nn).eval()
    with torch.no_grad():
        _bn_stats(tbn, rng)
    econv, ebn = make_conv(ember.nn).eval(), make_bn(ember.nn).eval()
    _copy_params(tconv, econv, torch)
    _copy_params(tbn, ebn, torch)
    return (tconv, tbn), (econv, ebn)


@pytest.mark.parametrize("make_conv, make_bn, shape, transpose", [
    (lambda nn: nn.Conv2d(3, 4, 3), lambda nn: nn.BatchNorm2d(4), (2, 3, 6, 6), False),
    (lambda nn: nn.Conv2d(3, 4, 3, bias=False), lambda nn: nn.BatchNorm2d(4, affine=False),
     (2, 3, 5, 5), False),
    (lambda nn: nn.Conv1d(3, 4, 2), lambda nn: nn.BatchNorm1d(4), (2, 3, 7), False),
    (lambda nn: nn.Conv3d(2, 3, 2), lambda nn: nn.BatchNorm3d(3), (1, 2, 4, 4, 4), False),
    (lambda nn: nn.ConvTranspose2d(3, 4, 3), lambda nn: nn.BatchNorm2d(4), (2, 3, 4, 4), True),
])
def test_fuse_conv_bn_eval_matches_torch(torch, rng, make_conv, make_bn, shape, transpose):
    (tconv, tbn), (econv, ebn) = _pair(torch, rng, make_conv, make_bn)
    x = rng.standard_normal(shape).astype(np.float32)
    tfused = torch.nn.utils.fuse_conv_bn_eval(tconv, tbn, transpose=transpose)
    efused = ember.nn.utils.fuse_conv_bn_eval(econv, ebn, transpose=transpose)
    assert type(efused) is type(econv) and efused is not econv
    assert isinstance(efused.weight, ember.nn.Parameter) and efused.weight.is_leaf
    assert efused.weight.requires_grad and efused.bias.requires_grad == tfused.bias.requires_grad
    np.testing.assert_allclose(efused.weight.detach().numpy(), tfused.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(efused.bias.detach().numpy(), tfused.bias.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    out = efused(ember.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), ebn(econv(ember.tensor(x))).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.detach().numpy(), tbn(tconv(torch.tensor(x))).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    # the original conv is untouched
    np.testing.assert_array_equal(econv.weight.detach().numpy(), tconv.weight.detach().numpy())


@pytest.mark.parametrize("features", [4, 1])
def test_fuse_linear_bn_eval_matches_torch(torch, rng, features):
    (tlin, tbn), (elin, ebn) = _pair(torch, rng, lambda nn: nn.Linear(3, 4),
                                     lambda nn: nn.BatchNorm1d(features))
    x = rng.standard_normal((5, 3)).astype(np.float32)
    tfused = torch.nn.utils.fuse_linear_bn_eval(tlin, tbn)
    efused = ember.nn.utils.fuse_linear_bn_eval(elin, ebn)
    for name in ("weight", "bias"):
        np.testing.assert_allclose(getattr(efused, name).detach().numpy(),
                                   getattr(tfused, name).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(efused(ember.tensor(x)).detach().numpy(),
                               tfused(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_fuse_weights_functions_dtypes_and_defaults(torch, rng):
    w = rng.standard_normal((4, 3, 2, 2))
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    tw, tb = torch.nn.utils.fuse_conv_bn_weights(torch.tensor(w), None, torch.tensor(rm),
                                                 torch.tensor(rv), 1e-5, None, None)
    ew, eb = ember.nn.utils.fuse_conv_bn_weights(ember.tensor(w), None, ember.tensor(rm),
                                                 ember.tensor(rv), 1e-5, None, None)
    assert str(ew.dtype) == str(tw.dtype) == "torch.float64"
    assert (ew.requires_grad, eb.requires_grad) == (tw.requires_grad, tb.requires_grad)
    np.testing.assert_allclose(ew.detach().numpy(), tw.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(eb.detach().numpy(), tb.detach().numpy(), rtol=1e-12)
    lw = rng.standard_normal((4, 3)).astype(np.float32)
    args = [rm.astype(np.float32), rv.astype(np.float32)]
    bw, bb = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    tw, tb = torch.nn.utils.fuse_linear_bn_weights(
        torch.tensor(lw), None, *map(torch.tensor, args), 1e-3, torch.tensor(bw),
        torch.tensor(bb))
    ew, eb = ember.nn.utils.fuse_linear_bn_weights(
        ember.tensor(lw), None, *map(ember.tensor, args), 1e-3, ember.tensor(bw),
        ember.tensor(bb))
    assert isinstance(ew, ember.nn.Parameter) and str(eb.dtype) == str(tb.dtype)
    np.testing.assert_allclose(ew.detach().numpy(), tw.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(eb.detach().numpy(), tb.detach().numpy(), rtol=1e-6)


def test_fusion_errors(torch):
    for lib in (torch, ember):
        nn, U = lib.nn, lib.nn.utils
        with pytest.raises(AssertionError, match="Fusion only for eval!"):
            U.fuse_conv_bn_eval(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2).eval())
        with pytest.raises(AssertionError, match="Fusion only for eval!"):
            U.fuse_linear_bn_eval(nn.Linear(1, 2).eval(), nn.BatchNorm1d(2))
        with pytest.raises(AssertionError, match="bn.running_mean and bn.running_var must not"):
            U.fuse_conv_bn_eval(nn.Conv2d(1, 2, 1).eval(),
                                nn.BatchNorm2d(2, track_running_stats=False).eval())
        with pytest.raises(AssertionError, match="To fuse, linear.out_features == "
                                                 "bn.num_features or bn.num_features == 1, got "
                                                 "linear.out_features=2 and bn.num_features=3"):
            U.fuse_linear_bn_eval(nn.Linear(1, 2).eval(), nn.BatchNorm1d(3).eval())


# -- norms -------------------------------------------------------------------------------------

@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, float("inf"), "inf", 0])
def test_get_total_norm_matches_torch(torch, rng, norm_type):
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    for dtypes in (("float32", "float32"), ("float64", "float32")):
        t = torch.nn.utils.get_total_norm(
            [torch.tensor(a.astype(d)) for a, d in zip(arrays, dtypes)], norm_type)
        e = ember.nn.utils.get_total_norm(
            [ember.tensor(a.astype(d)) for a, d in zip(arrays, dtypes)], norm_type)
        assert str(e.dtype) == str(t.dtype) and e.shape == t.shape
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
    single = rng.standard_normal(6).astype(np.float32)
    np.testing.assert_allclose(ember.nn.utils.get_total_norm(ember.tensor(single)).numpy(),
                               torch.nn.utils.get_total_norm(torch.tensor(single)).numpy(),
                               rtol=1e-6)


def test_get_total_norm_edge_cases(torch):
    for lib in (torch, ember):
        empty = lib.nn.utils.get_total_norm([])
        assert empty.item() == 0.0 and str(empty.dtype) == "torch.float32"
        with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                               "`parameters` is non-finite"):
            lib.nn.utils.get_total_norm([lib.tensor([float("inf"), 1.0])],
                                        error_if_nonfinite=True)
        assert lib.nn.utils.get_total_norm([lib.tensor([float("nan")])]).isnan().item()
        with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor"):
            lib.nn.utils.get_total_norm([lib.ones(2, dtype=lib.int64)])
        x = lib.ones(2, requires_grad=True)
        assert not lib.nn.utils.get_total_norm([x * 2]).requires_grad


@pytest.mark.parametrize("max_norm, total", [(1.0, 5.0), (10.0, 5.0), (0.3, 1e-7)])
def test_clip_grads_with_norm_matches_torch(torch, rng, max_norm, total):
    grads = [rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(4)]
    results = []
    for lib in (torch, ember):
        params = [lib.zeros(g.shape, dtype=lib.float32 if g.dtype == np.float32 else lib.float64,
                            requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        params.append(lib.zeros(2, requires_grad=True))  # no grad: skipped
        assert lib.nn.utils.clip_grads_with_norm_(params, max_norm, lib.tensor(total)) is None
        results.append([p.grad.numpy() for p in params[:2]])
        assert params[2].grad is None
    for e, t in zip(*results[::-1]):
        assert e.dtype == t.dtype
        np.testing.assert_allclose(e, t, rtol=1e-6)


def test_clip_grads_with_norm_single_tensor_and_bad_total(torch):
    for lib in (torch, ember):
        p = lib.zeros(3, requires_grad=True)
        p.grad = lib.full((3,), 3.0)
        lib.nn.utils.clip_grads_with_norm_(p, 1.0, lib.tensor(9.0, dtype=lib.float64))
        np.testing.assert_allclose(p.grad.numpy(), np.full(3, 1 / 3, np.float32), rtol=1e-5)
        assert str(p.grad.dtype) == "torch.float32"
        with pytest.raises(TypeError):
            lib.nn.utils.clip_grads_with_norm_(p, 1.0, 5.0)


def test_clip_grad_norm_is_total_norm_then_clip(torch, rng):
    grads = [rng.standard_normal((3, 3)).astype(np.float32) * 4, rng.standard_normal(3) * 4]
    out = []
    for lib in (torch, ember):
        params = [lib.zeros(g.shape, dtype=getattr(lib, str(g.dtype)), requires_grad=True)
                  for g in grads]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        total = lib.nn.utils.clip_grad_norm_(params, 1.0, norm_type=3.0)
        out.append((total.numpy(), [p.grad.numpy() for p in params]))
    (et, eg), (tt, tg) = out[1], out[0]
    np.testing.assert_allclose(et, tt, rtol=1e-6)
    assert et.dtype == tt.dtype
    for e, t in zip(eg, tg):
        np.testing.assert_allclose(e, t, rtol=1e-6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ember.nn.utils.clip_grad_norm_((p for p in []), 1.0).item() == 0.0
    assert "empty generator" in str(caught[0].message)


# -- skip_init, memory formats ---------------------------------------------------------------

def test_skip_init(torch):
    m = ember.nn.utils.skip_init(ember.nn.Linear, 5, 3, bias=False, dtype=ember.float64)
    t = torch.nn.utils.skip_init(torch.nn.Linear, 5, 3, bias=False, dtype=torch.float64)
    assert m.weight.shape == t.weight.shape and str(m.weight.dtype) == str(t.weight.dtype)
    assert str(m.weight.device) == str(t.weight.device) == "cpu"
    assert m.bias is None and isinstance(m.weight, ember.nn.Parameter)
    assert m.weight.requires_grad
    assert m(ember.ones(2, 5, dtype=ember.float64)).shape == (2, 3)
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip "
                                               "initialization"):
            lib.nn.utils.skip_init(lib.nn.ReLU)
        with pytest.raises(RuntimeError, match="Expected a Module; got <class 'int'>"):
            lib.nn.utils.skip_init(int)
        with pytest.raises(TypeError, match="issubclass"):
            lib.nn.utils.skip_init(lib.nn.Linear(2, 2))


def test_convert_conv_weight_memory_format(torch):
    for lib in (torch, ember):
        U = lib.nn.utils
        model = lib.nn.Sequential(lib.nn.Conv2d(2, 3, 1), lib.nn.Sequential(lib.nn.Conv3d(2, 2, 1)))
        before = [p.detach().clone() for p in model.parameters()]
        assert U.convert_conv2d_weight_memory_format(model, lib.channels_last) is model
        assert U.convert_conv3d_weight_memory_format(model, lib.channels_last_3d) is model
        assert U.convert_conv2d_weight_memory_format(model, lib.contiguous_format) is model
        for p, b in zip(model.parameters(), before):
            assert p.shape == b.shape and bool((p == b).all())
        with pytest.raises(TypeError, match="must be torch.memory_format, not str"):
            U.convert_conv2d_weight_memory_format(model, "channels_last")
        with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last "
                                               "format"):
            U.convert_conv3d_weight_memory_format(model, lib.channels_last)
        with pytest.raises(RuntimeError, match="Unsupported memory format"):
            U.convert_conv2d_weight_memory_format(model, lib.preserve_format)
        # no convolution of that kind: nothing is checked
        assert U.convert_conv2d_weight_memory_format(lib.nn.Linear(2, 2), "x") is not None


def test_convert_conv_weight_memory_format_lays_the_weights_out_as_torch(torch):
    strides = []
    for lib in (torch, ember):
        model = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.ConvTranspose2d(4, 2, 3),
                                  lib.nn.Conv3d(2, 2, 1))
        lib.nn.utils.convert_conv2d_weight_memory_format(model, lib.channels_last)
        lib.nn.utils.convert_conv3d_weight_memory_format(model, lib.channels_last_3d)
        assert all(type(p).__name__ == "Parameter" for p in model.parameters())
        strides.append([tuple(p.stride()) for p in model.parameters()])
    assert strides[0] == strides[1]
    assert strides[1][0] == (27, 1, 9, 3)  # NHWC strides: channels innermost


# -- rnn -------------------------------------------------------------------------------------

def test_invert_permutation_matches_torch(torch):
    for perm in ([2, 0, 1], [0], [3, 1, 0, 2], []):
        t = torch.nn.utils.rnn.invert_permutation(torch.tensor(perm, dtype=torch.long))
        e = ember.nn.utils.rnn.invert_permutation(ember.tensor(perm, dtype=ember.long))
        assert e.tolist() == t.tolist() and str(e.dtype) == str(t.dtype)
    assert ember.nn.utils.rnn.invert_permutation(None) is None
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="out of bounds"):
            lib.nn.utils.rnn.invert_permutation(lib.tensor([3, 0, 1]))
        with pytest.raises(RuntimeError, match="scatter"):
            lib.nn.utils.rnn.invert_permutation(lib.tensor([2, 0, 1], dtype=lib.int32))


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_matches_torch(torch, rng, batch_first):
    seqs = [rng.standard_normal((n, 2)).astype(np.float32) for n in (3, 1, 4)]
    out = []
    for lib in (torch, ember):
        leaves = [lib.tensor(s, requires_grad=True) for s in seqs]
        padded = lib.nn.utils.rnn.pad_sequence(leaves, batch_first=batch_first)
        parts = lib.nn.utils.rnn.unpad_sequence(padded, lib.tensor([3, 1, 4]),
                                                batch_first=batch_first)
        sum((p * (i + 1)).sum() for i, p in enumerate(parts)).backward()
        # torch transposes a time-first input in place; ember does the same
        out.append((tuple(padded.shape), [p.detach().numpy() for p in parts],
                    [x.grad.numpy() for x in leaves]))
    (ts, tp, tg), (es, ep, eg) = out
    assert es == ts
    for e, t, s in zip(ep, tp, seqs):
        np.testing.assert_array_equal(e, t)
        np.testing.assert_array_equal(e, s)
    for e, t in zip(eg, tg):
        np.testing.assert_array_equal(e, t)
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="zip"):
            lib.nn.utils.rnn.unpad_sequence(lib.zeros(2, 4, 1), lib.tensor([1]),
                                            batch_first=True)


def test_new_names_exported_like_torch(torch):
    names = ["clip_grads_with_norm_", "get_total_norm", "fuse_conv_bn_eval",
             "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights", "skip_init",
             "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]
    for name in names:
        assert "Example:" in getattr(ember.nn.utils, name).__doc__
        assert getattr(ember.nn.utils, name).__module__.replace("ember", "torch") == \
            getattr(torch.nn.utils, name).__module__
    for sub in ("fusion", "memory_format"):
        assert getattr(ember.nn.utils, sub).__all__ == getattr(torch.nn.utils, sub).__all__
    for name in ("invert_permutation", "unpad_sequence"):
        assert name in ember.nn.utils.rnn.__all__
        assert "Example:" in getattr(ember.nn.utils.rnn, name).__doc__
