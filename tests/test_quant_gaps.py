"""Gaps found while writing the quantization programs (tests/programs/quant_*.py), each checked
against PyTorch: quantized tensors' ``t()``/``T``, ``max``/``min``, and
``_make_per_tensor_quantized_tensor``/``_make_per_channel_quantized_tensor``; the learnable
fake-quantize kernels (LSQ) with their gradients, bit for bit; ``RecordingObserver`` and
``PlaceholderObserver``'s repr; ``get_observer_state_dict``, ``default_eval_fn``,
``add_quant_dequant``; and ``torch.ao.nn.quantized.functional.linear``."""

import warnings

import numpy as np
import pytest
import torch

import ember

warnings.filterwarnings("ignore", message=".*quantize.*deprecated")
warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated")

X = np.array([[-1.02, 0.49, 2.0], [0.31, -0.7, 1.14]], np.float32)


def _both(fn):
    """``fn(lib)`` for ember and torch."""
    return fn(ember), fn(torch)


def _np(t):
    return t.detach().numpy() if hasattr(t, "numpy") else np.asarray(t)


def _qsummary(q):
    """What a quantized tensor holds: integers, dtype name and parameters."""
    summary = [_np(q.int_repr()).tolist(), str(q.dtype), str(q.qscheme()), tuple(q.shape)]
    if "per_tensor" in str(q.qscheme()):
        return summary + [q.q_scale(), q.q_zero_point()]
    return summary + [_np(q.q_per_channel_scales()).tolist(),
                      _np(q.q_per_channel_zero_points()).tolist(), q.q_per_channel_axis()]


def _quantized(lib, dtype="quint8"):
    return lib.quantize_per_tensor(lib.from_numpy(X.copy()), 0.05, 20, getattr(lib, dtype))


def test_quantized_transpose_t_and_T():
    mine, theirs = _both(lambda lib: [_qsummary(_quantized(lib).t()),
                                      _qsummary(_quantized(lib).T),
                                      _qsummary(_quantized(lib)[0].t())])
    assert mine == theirs


@pytest.mark.parametrize("name", ["max", "min"])
def test_quantized_max_min(name):
    def run(lib):
        q = _quantized(lib, "qint8")
        full = getattr(q, name)()
        by_dim = getattr(q, name)(dim=1)
        keep = getattr(lib, name)(q, 0, keepdim=True)
        return (_qsummary(full), repr(full).replace("ember.", "torch."), _qsummary(by_dim.values),
                _np(by_dim.indices).tolist(), _qsummary(keep.values), _np(keep.indices).tolist())

    mine, theirs = _both(run)
    assert mine == theirs


def test_quantized_max_of_per_channel_raises_like_torch():
    def run(lib):
        q = lib.quantize_per_channel(lib.from_numpy(X.copy()), lib.tensor([0.01, 0.02]),
                                     lib.tensor([0, 3]), 0, lib.qint8)
        with pytest.raises(RuntimeError) as info:
            q.max()
        return str(info.value)

    mine, theirs = _both(run)
    assert mine == theirs


def test_make_quantized_tensor_from_ints():
    def run(lib):
        ints = lib.tensor([[1, -2], [3, 4]], dtype=lib.int8)
        q = lib._make_per_tensor_quantized_tensor(ints, 0.5, 1)
        ints[0, 0] = 100  # the quantized tensor holds a copy
        u8 = lib._make_per_tensor_quantized_tensor(lib.tensor([1, 2], dtype=lib.uint8),
                                                   lib.tensor(0.1), lib.tensor(3))
        i32 = lib._make_per_tensor_quantized_tensor(lib.tensor([1, 2], dtype=lib.int32), 0.5, 1)
        transposed = lib._make_per_tensor_quantized_tensor(ints.t(), 0.25, 0)
        pc = lib._make_per_channel_quantized_tensor(ints, lib.tensor([0.5, 0.25]),
                                                    lib.tensor([0, 1]), 1)
        with pytest.raises(RuntimeError) as info:
            lib._make_per_tensor_quantized_tensor(lib.tensor([1.0]), 0.5, 0)
        return ([_qsummary(t) for t in (q, u8, i32, transposed, pc)],
                _np(pc.dequantize()).tolist(), str(info.value))

    mine, theirs = _both(run)
    assert mine == theirs


def _learnable_run(lib, per_channel, zero_points, seed):
    rng = np.random.default_rng(seed)
    if per_channel:
        x = lib.tensor(rng.normal(0, 0.3, size=(16, 50)).astype(np.float32), requires_grad=True)
        s = lib.tensor(rng.uniform(0.03, 0.05, size=16).astype(np.float32), requires_grad=True)
        z = lib.tensor(rng.uniform(*zero_points, size=16).astype(np.float32), requires_grad=True)
        y = lib._fake_quantize_learnable_per_channel_affine(x, s, z, 0, -8, 7, 0.02)
    else:
        x = lib.tensor(rng.normal(0, 1, size=(2000,)).astype(np.float32), requires_grad=True)
        s = lib.tensor([0.1], requires_grad=True)
        z = lib.tensor([rng.uniform(*zero_points)], dtype=lib.float32, requires_grad=True)
        y = lib._fake_quantize_learnable_per_tensor_affine(x, s, z, 0, 15, 0.5)
    y.backward(lib.tensor(rng.normal(size=tuple(x.shape)).astype(np.float32)))
    return y.grad_fn.name(), [_np(t) for t in (y, x.grad, s.grad, z.grad)]


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learnable_fake_quantize_bit_exact(per_channel, seed):
    # non-integer zero points: the forward rounds them, the per-tensor backward rounds half up
    zero_points = (-3.0, 3.0) if per_channel else (0.0, 15.0)
    (name, mine), (their_name, theirs) = _both(
        lambda lib: _learnable_run(lib, per_channel, zero_points, seed))
    assert name == their_name
    for a, b in zip(mine, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_learnable_fake_quantize_half_zero_points_and_checks():
    def run(lib):
        out = []
        for zp in (2.4, 2.5, 2.6, -3.0, 7.5, 300.0):
            x = lib.tensor([-1.3, -0.2, 0.0, 0.33, 1.1, 2.9], requires_grad=True)
            s = lib.tensor([0.2], requires_grad=True)
            z = lib.tensor([zp], requires_grad=True)
            y = lib._fake_quantize_learnable_per_tensor_affine(x, s, z, 0, 15, 0.5)
            y.backward(lib.arange(6.0))
            out.append([_np(t).tolist() for t in (y, x.grad, s.grad, z.grad)])
        for bad in (lambda: lib._fake_quantize_learnable_per_tensor_affine(
                        lib.ones(3), lib.tensor(0.1), lib.tensor(0.0), 0, 255),
                    lambda: lib._fake_quantize_learnable_per_tensor_affine(
                        lib.ones(3, dtype=lib.int32), lib.tensor([0.1]), lib.tensor([0.0]), 0, 255),
                    lambda: lib._fake_quantize_learnable_per_channel_affine(
                        lib.ones(3, 4), lib.tensor([0.1]), lib.tensor([0.0]), 0, 0, 5)):
            with pytest.raises(Exception) as info:
                bad()
            out.append((type(info.value).__name__, str(info.value)))
        return out

    mine, theirs = _both(run)
    assert mine == theirs


def test_recording_and_placeholder_observers():
    def run(lib):
        Q = lib.ao.quantization
        rec = Q.RecordingObserver()
        rec(lib.ones(2))
        rec(lib.zeros(3))
        with pytest.raises(Exception) as info:
            rec.calculate_qparams()
        return ([_np(t).tolist() for t in rec.get_tensor_value()], repr(rec), str(rec.dtype),
                str(info.value), repr(Q.PlaceholderObserver(dtype=lib.float16)),
                repr(Q.PlaceholderObserver(dtype=lib.quint8, is_dynamic=True)))

    mine, theirs = _both(run)
    assert mine == theirs


def test_observer_state_dict_eval_fn_add_quant_dequant():
    def run(lib):
        Q = lib.ao.quantization
        lib.manual_seed(0)
        model = lib.nn.Sequential(Q.QuantStub(), lib.nn.Linear(3, 2), Q.DeQuantStub())
        model.qconfig = Q.default_qconfig
        prepared = Q.prepare(model)
        Q.default_eval_fn(prepared, [(lib.from_numpy(X.copy()), 0)])
        state = Q.get_observer_state_dict(prepared)
        leaf = lib.nn.Linear(2, 2)
        leaf.qconfig = Q.default_qconfig
        nested = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
        nested[0].qconfig = Q.default_qconfig
        wrapped = Q.add_quant_dequant(nested)
        return ({k: _np(v).tolist() for k, v in state.items()},
                type(Q.add_quant_dequant(leaf)).__name__,
                [type(m).__name__ for m in wrapped.children()],
                [name for name, _ in wrapped[0].named_children()])

    mine, theirs = _both(run)
    assert mine == theirs


def test_quantized_functional_linear():
    def run(lib):
        qF = lib.ao.nn.quantized.functional
        rng = np.random.default_rng(0)
        x = lib.from_numpy(np.abs(rng.normal(0, 1, size=(5, 6))).astype(np.float32))
        w = lib.from_numpy(rng.normal(0, 0.3, size=(4, 6)).astype(np.float32))
        b = lib.from_numpy(rng.normal(0, 0.1, size=4).astype(np.float32))
        qx = lib.quantize_per_tensor(x, 0.02, 0, lib.quint8)
        qw = lib.quantize_per_tensor(w, 0.005, 0, lib.qint8)
        scales = (w.abs().amax(dim=1) / 127).double()
        qwc = lib.quantize_per_channel(w, scales, lib.zeros(4, dtype=lib.long), 0, lib.qint8)
        return [_qsummary(qF.linear(qx, qw, b, 0.03, 100)),
                _qsummary(qF.linear(qx, qwc, None, 0.03, 120)),
                _qsummary(qF.linear(qx, qw, b))]

    mine, theirs = _both(run)
    assert mine == theirs


def test_like_constructors_of_quantized_tensors():
    def run(lib):
        q = _quantized(lib)
        qc = lib.quantize_per_channel(lib.from_numpy(X.copy()), lib.tensor([0.01, 0.02]),
                                      lib.tensor([0, 3]), 0, lib.qint8)
        made = [lib.ones_like(q), lib.full_like(q, -0.33), lib.ones_like(qc),
                lib.full_like(qc, 0.5)]
        out = [_qsummary(t) for t in made]
        empty = lib.empty_like(qc)
        out.append((empty.is_quantized, str(empty.dtype), tuple(empty.shape),
                    _np(empty.q_per_channel_scales()).tolist()))
        for bad in (lambda: lib.zeros_like(q), lambda: lib.ones_like(q, dtype=lib.float32),
                    lambda: lib.empty_like(q, dtype=lib.qint8)):
            with pytest.raises((RuntimeError, NotImplementedError)) as info:
                bad()
            out.append((type(info.value).__name__, str(info.value).split(" with arguments")[0]))
        return out

    mine, theirs = _both(run)
    assert mine == theirs


def test_quantized_functional_pooling_and_clamp():
    def run(lib):
        qF = lib.ao.nn.quantized.functional
        x = np.random.default_rng(0).normal(size=(2, 3, 6, 6)).astype(np.float32)
        q = lib.quantize_per_tensor(lib.from_numpy(x), 0.05, 128, lib.quint8)
        out = [_qsummary(r) for r in (
            qF.max_pool2d(q, 2), qF.max_pool2d(q, 3, 2, 1), qF.max_pool1d(q[0], 2),
            qF.avg_pool2d(q, 2), qF.avg_pool3d(q[None], (1, 2, 2)),
            qF.adaptive_avg_pool2d(q, 1), qF.adaptive_avg_pool3d(q[None], 1),
            qF.interpolate(q, scale_factor=2), qF.upsample(q, size=(3, 3)),
            qF.upsample_nearest(q, scale_factor=2), qF.clamp(q, -0.5, 0.5),
            qF.hardtanh(q, -0.3, 0.7))]
        for bad in (lambda: qF.clamp(lib.from_numpy(x), 0, 1),
                    lambda: qF.adaptive_avg_pool2d(lib.from_numpy(x), 1),
                    lambda: qF.max_pool2d(q, 2, return_indices=True)):
            with pytest.raises((ValueError, NotImplementedError)) as info:
                bad()
            out.append((type(info.value).__name__, str(info.value)))
        return out

    mine, theirs = _both(run)
    assert mine == theirs


def test_per_channel_fake_quantize_checks_qparam_shapes_first():
    def run(lib):
        out = []
        for scale, zero_point in ((lib.tensor(0.3), lib.tensor(0, dtype=lib.int32)),
                                  (lib.tensor([0.3]), lib.tensor(0, dtype=lib.int32)),
                                  (lib.tensor([0.3, 0.2]), lib.tensor([0], dtype=lib.int32))):
            with pytest.raises(RuntimeError) as info:
                lib.fake_quantize_per_channel_affine(lib.tensor(0.5), scale, zero_point, 0, -8,
                                                     7)
            out.append(str(info.value))
        return out

    mine, theirs = _both(run)
    assert mine == theirs


@pytest.mark.parametrize("dtype", ["quint8", "qint8"])
def test_quantized_sigmoid_tanh_fixed_output_grid(dtype):
    def run(lib):
        F = lib.nn.functional
        x = lib.linspace(-6, 6, 1001)
        q = lib.quantize_per_tensor(x, 0.05, 128 if dtype == "quint8" else 0, getattr(lib, dtype))
        calls = (lib.sigmoid, lib.tanh, F.sigmoid, F.tanh, lambda t: t.sigmoid(),
                 lambda t: t.tanh(), lib.nn.Sigmoid(), lib.nn.Tanh())
        out = [_qsummary(f(q)) for f in calls]
        qc = lib.quantize_per_channel(lib.from_numpy(X.copy()), lib.tensor([0.01, 0.02]),
                                      lib.tensor([0, 3]), 0, lib.qint8)
        with pytest.raises(RuntimeError) as info:
            lib.sigmoid(qc)
        return out, str(info.value)

    mine, theirs = _both(run)
    assert mine == theirs


def test_empty_affine_quantized_and_quantized_max_pool():
    def run(lib):
        lib.manual_seed(0)
        x = lib.quantize_per_tensor(lib.randn(1, 2, 4, 4), 0.1, 10, lib.quint8)
        pooled = [lib.quantized_max_pool2d(x, [2, 2]),
                  lib.quantized_max_pool2d(x, [2, 2], [1, 1], [1, 1]),
                  lib.quantized_max_pool1d(x[0], [2]),
                  lib.quantized_max_pool2d(x, [3, 3], [2, 2], [1, 1], [1, 1], True)]
        empty = lib._empty_affine_quantized([2, 3], scale=0.5, zero_point=3, dtype=lib.qint8)
        channel = lib._empty_per_channel_affine_quantized(
            [2, 3], scales=lib.tensor([0.1, 0.2]), zero_points=lib.tensor([0, 1]), axis=0,
            dtype=lib.qint8)
        out = [_qsummary(p) for p in pooled]
        out.append((empty.q_scale(), empty.q_zero_point(), str(empty.dtype), tuple(empty.shape)))
        out.append((str(channel.qscheme()), _np(channel.q_per_channel_scales()).tolist(),
                    _np(channel.q_per_channel_zero_points()).tolist()))
        for bad in (lambda: lib._empty_affine_quantized([2]),
                    lambda: lib.quantized_max_pool2d(x.dequantize(), [2, 2])):
            with pytest.raises((RuntimeError, NotImplementedError)) as info:
                bad()
            out.append((type(info.value).__name__, str(info.value).split(" with arguments")[0]))
        return out

    mine, theirs = _both(run)
    assert mine == theirs
