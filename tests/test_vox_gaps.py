"""Gaps found while writing the volumetric programs (tests/programs/vox_*.py), each checked
against PyTorch: ``F.interpolate(mode="bicubic")`` on a 3-D or 5-D input raises torch's generic
"Only 3D, 4D and 5D input Tensors supported" error (torch has no "needs 4D input" line for
bicubic), and a transposed convolution whose ``output_padding`` is too large names every value
per axis as torch does (``output_padding_depth: 2 ... dilation_width: 1``); a pooling argument
of the wrong length (``F.max_pool3d(x, (2, 2))``) raises the message of torch's kernel
(``max_pool3d: kernel_size must either be a single int, or a tuple of three ints``; 1-d, 2-d,
avg, adaptive and lp pools each word it their own way); ``F.affine_grid``'s result shows
``grad_fn=<AffineGridGeneratorBackward0>``; ``Conv3d._reversed_padding_repeated_twice`` is a
tuple for integer padding, as torch keeps it. bfloat16/float16 volumes: BatchNorm3d and
InstanceNorm3d (outputs, running statistics, gradients) follow torch's 2-byte kernel, which
rounds its statistics to the 2-byte dtype (they were computed in that dtype step by step);
Conv1d/2d/3d add the bias before the output's one rounding (not after) and their gradients
are float32 sums rounded once; ConvTranspose3d likewise."""

import numpy as np
import pytest
import torch

import ember


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001  (the type and message are compared)
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("shape", [(1, 2, 3, 4, 5), (1, 2, 6), (2, 3)])
def test_bicubic_on_non_4d_input_raises_torchs_error(shape):
    def run(lib):
        x = lib.zeros(shape)
        size = (2,) * max(len(shape) - 2, 1)
        return _error(lambda: lib.nn.functional.interpolate(x, size=size, mode="bicubic"))

    assert run(ember) == run(torch)
    assert run(ember) is not None


@pytest.mark.parametrize("nd, stride, output_padding, dilation", [
    (3, 2, 2, 1), (3, (1, 2, 2), (1, 0, 0), (1, 1, 1)), (2, (2, 3), (2, 1), 1), (1, 2, 2, 1),
    (2, 1, (0, 1), (1, 1))])
def test_transposed_conv_output_padding_error_names_each_axis(nd, stride, output_padding,
                                                              dilation):
    def run(lib):
        conv = getattr(lib.nn, f"ConvTranspose{nd}d")(2, 3, 2, stride=stride, dilation=dilation,
                                                       output_padding=output_padding)
        return _error(lambda: conv(lib.zeros((1, 2) + (4,) * nd)))

    assert run(ember) == run(torch)
    assert run(ember) is not None


def _pool_call(lib, nd, op, arg, bad):
    x = lib.zeros((1, 2) + (8,) * nd)
    fn = getattr(lib.nn.functional, f"{op}_pool{nd}d")
    if op.startswith("adaptive"):
        return _error(lambda: fn(x, bad))
    if op == "lp":
        return _error(lambda: fn(x, 2.0, bad))
    return _error(lambda: fn(x, **{"kernel_size": 2, arg: bad}))


def _bad_lengths(nd, op, arg):
    """Argument values of a length the pooling op refuses (a 1-tuple is a valid "single int"
    except for the lp and adaptive pools, and an empty stride means "omitted")."""
    bad = [(2,) * (nd + 1)]
    if nd == 3:
        bad.append((1, 1))
    if op in ("max", "avg") and arg != "stride":
        bad.append(())
    if nd > 1 and op not in ("max", "avg"):
        bad.append((2,))
    return bad


_POOL_CASES = [(nd, op, arg, bad)
               for nd in (1, 2, 3)
               for op, args in (("max", ("kernel_size", "stride", "padding", "dilation")),
                                ("avg", ("kernel_size", "stride", "padding")),
                                ("adaptive_max", ("output_size",)),
                                ("adaptive_avg", ("output_size",)),
                                ("lp", ("kernel_size",)))
               for arg in args
               for bad in _bad_lengths(nd, op, arg)]


@pytest.mark.parametrize("nd, op, arg, bad", _POOL_CASES)
def test_pooling_argument_of_wrong_length_raises_torchs_message(nd, op, arg, bad):
    expected = _pool_call(torch, nd, op, arg, bad)
    assert _pool_call(ember, nd, op, arg, bad) == expected
    assert expected is not None


def test_affine_grid_result_names_its_node_like_torch():
    def shown(lib, size):
        theta = lib.eye(len(size) - 1)[:-1].unsqueeze(0).requires_grad_()
        grid = lib.nn.functional.affine_grid(theta, size, align_corners=False)
        return type(grid.grad_fn).__name__ if lib is torch else grid.grad_fn.name(), str(grid)

    for size in ((1, 1, 2, 2), (1, 1, 1, 2, 2)):
        assert shown(ember, size)[1] == shown(torch, size)[1]
    assert "AffineGridGeneratorBackward0" in shown(ember, (1, 1, 1, 2, 2))[1]


@pytest.mark.parametrize("kwargs", [dict(padding=(1, 2, 0), padding_mode="reflect"),
                                    dict(padding=1), dict(padding="same", dilation=2),
                                    dict(padding="valid")])
def test_conv3d_reversed_padding_keeps_torchs_type(kwargs):
    got = ember.nn.Conv3d(2, 2, 3, **kwargs)._reversed_padding_repeated_twice
    expected = torch.nn.Conv3d(2, 2, 3, **kwargs)._reversed_padding_repeated_twice
    assert type(got) is type(expected) and list(got) == list(expected)


def _norm_run(lib, dtype_name, nd, kind, channels_last):
    """Outputs, running statistics and gradients of a 2-byte norm layer over three steps
    (two in training, the second with ``momentum=None``; then evaluation)."""
    dt = getattr(lib, dtype_name)
    rng = np.random.default_rng(nd)
    shape = (2, 4) + (3, 4, 5)[3 - nd:]
    scale = rng.uniform(0.1, 3.0, (1, 4) + (1,) * nd)
    x = lib.from_numpy((rng.standard_normal(shape) * scale + 0.7).astype(np.float32)).to(dt)
    if channels_last:
        x = x.to(memory_format=lib.channels_last_3d if nd == 3 else lib.channels_last)
    layer = getattr(lib.nn, f"{kind}{nd}d")(4, affine=True, track_running_stats=True).to(dt)
    with lib.no_grad():
        layer.weight.copy_(lib.from_numpy(rng.standard_normal(4).astype(np.float32)))
        layer.bias.copy_(lib.from_numpy(rng.standard_normal(4).astype(np.float32)))
        layer.running_var.copy_(lib.from_numpy(rng.uniform(0.3, 2.0, 4).astype(np.float32)))
    x.requires_grad_()
    outs = [layer(x)]
    # a random output gradient (sum(out ** 2) would give a gradient of ~0 by cancellation),
    # laid out as the input (torch's kernels differ for mixed layouts)
    grad = lib.from_numpy(rng.standard_normal(shape).astype(np.float32)).to(dt)
    outs[0].backward(grad.to(memory_format=lib.channels_last_3d if nd == 3 else
                             lib.channels_last) if channels_last else grad)
    layer.momentum = None
    outs.append(layer(x))
    layer.eval()
    outs.append(layer(x))
    seen = outs + [layer.running_mean, layer.running_var, x.grad, layer.weight.grad,
                   layer.bias.grad]
    return [t.detach().float().numpy() for t in seen]


@pytest.mark.parametrize("dtype_name", ["bfloat16", "float16"])
@pytest.mark.parametrize("nd, kind, channels_last", [
    (3, "BatchNorm", False), (2, "BatchNorm", False), (1, "BatchNorm", False),
    (3, "BatchNorm", True), (3, "InstanceNorm", False), (2, "InstanceNorm", False)])
def test_two_byte_norm_layers_match_torch_bit_for_bit(dtype_name, nd, kind, channels_last):
    got = _norm_run(ember, dtype_name, nd, kind, channels_last)
    expected = _norm_run(torch, dtype_name, nd, kind, channels_last)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def _conv_run(lib, dtype_name, nd, transposed, kwargs):
    dt = getattr(lib, dtype_name)
    rng = np.random.default_rng(10 + nd)
    shape = (2, 4) + (7, 6, 5)[3 - nd:]
    x = lib.from_numpy(rng.standard_normal(shape).astype(np.float32)).to(dt).requires_grad_()
    lib.manual_seed(nd)
    cls = f"ConvTranspose{nd}d" if transposed else f"Conv{nd}d"
    layer = getattr(lib.nn, cls)(4, 6, 3, **kwargs).to(dt)
    out = layer(x)
    out.float().square().sum().backward()
    return [t.detach().float().numpy() for t in (out, x.grad, layer.weight.grad,
                                                  layer.bias.grad)]


@pytest.mark.parametrize("nd, transposed, kwargs", [
    (3, False, dict(stride=2)), (3, False, dict(padding=1, groups=2)), (2, False, {}),
    (1, False, dict(dilation=2)), (3, True, dict(stride=2)), (2, True, dict(padding=1))])
def test_bfloat16_convolution_adds_its_bias_before_rounding(nd, transposed, kwargs):
    got = _conv_run(ember, "bfloat16", nd, transposed, kwargs)
    expected = _conv_run(torch, "bfloat16", nd, transposed, kwargs)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
