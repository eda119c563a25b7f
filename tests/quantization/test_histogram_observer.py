"""HistogramObserver against torch.ao.quantization.HistogramObserver: the histogram, its range
and the qparams of the error-minimising range search are equal (same float32 arithmetic),
batch by batch, over many seeded inputs, schemes and edge cases."""

import warnings

import numpy as np
import pytest

import ember
from ember.ao.quantization import observer as obs_mod

CONFIGS = [
    {},
    {"dtype": "qint8", "qscheme": "per_tensor_symmetric"},
    {"qscheme": "per_tensor_symmetric", "reduce_range": False},
    {"reduce_range": True},
    {"dtype": "qint8", "reduce_range": True},
    {"quant_min": 0, "quant_max": 127},
    {"bins": 100},
    {"bins": 37, "qscheme": "per_tensor_symmetric"},
    {"bins": 8, "dtype": "qint8"},
]


def _kwargs(lib, kw):
    return {k: getattr(lib, v) if isinstance(v, str) else v for k, v in kw.items()}


def _pair(torch, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (torch.ao.quantization.HistogramObserver(**_kwargs(torch, kw)),
                ember.ao.quantization.HistogramObserver(**_kwargs(ember, kw)))


def _feed(t, e, x):
    x = np.ascontiguousarray(x, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t(__import__("torch").from_numpy(x.copy()))
        e(ember.from_numpy(x.copy()))


def _assert_same_state(t, e):
    np.testing.assert_array_equal(e.histogram.numpy(), t.histogram.numpy())
    assert float(e.min_val) == t.min_val.item()
    assert float(e.max_val) == t.max_val.item()


def _assert_same_qparams(t, e):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts, tz = t.calculate_qparams()
        es, ez = e.calculate_qparams()
    assert es.numpy().tolist() == ts.numpy().tolist()
    assert ez.numpy().tolist() == tz.numpy().tolist()
    assert str(ez.dtype) == str(tz.dtype) and es.shape == ts.shape


def _batch(rng, kind):
    if kind == 0:
        return (rng.standard_normal((int(rng.integers(1, 300)), 8)) * rng.uniform(0.1, 5)
                + rng.uniform(-2, 2))
    if kind == 1:
        return rng.exponential(1.0, 500) * rng.uniform(0.5, 4)
    if kind == 2:  # a bulk with a few far outliers: the search clips them
        return np.concatenate([rng.standard_normal(1000), rng.uniform(-50, 50, 3)])
    return rng.uniform(-1, 1, 200) * rng.uniform(0.1, 10)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("cfg", range(len(CONFIGS)))
def test_batches_and_qparams_equal(torch, seed, cfg):
    rng = np.random.default_rng(1000 * cfg + seed)
    t, e = _pair(torch, CONFIGS[cfg])
    for b in range(int(rng.integers(1, 5))):
        _feed(t, e, _batch(rng, (seed + b) % 4))
        _assert_same_state(t, e)  # includes re-binning when a batch widens the range
    _assert_same_qparams(t, e)


EDGE = [
    [[2.0, 2.0]],                      # constant: a zero-width range
    [[2.0, 2.0], [1.0, 3.0, 3.0]],     # a point histogram spread into a wider range
    [np.zeros(5)],
    [np.zeros(5), np.ones(3)],
    [[5.0]],
    [[-3.0, -1.0]],                    # all negative
    [[1.0, 2.0, 3.0], [1.5, 2.5]],     # same range again: counts simply add
    [[0.5] * 10, [0.5] * 3],
    [[1e-30, 2e-30]],
    [[1e6, -1e6, 3.0]],
    [np.arange(100.0)],
    [[-1.0, -1.0], [-1.0, -1.0], [-5.0, 4.0]],
    [[1.0, float("inf"), -2.0]],       # infinities are dropped
    [[1.0, 2.0], [float("-inf"), 7.0]],
]


@pytest.mark.parametrize("bins", [2048, 8])
@pytest.mark.parametrize("case", range(len(EDGE)))
def test_edge_cases_equal(torch, case, bins):
    t, e = _pair(torch, {"bins": bins})
    for x in EDGE[case]:
        _feed(t, e, np.asarray(x))
        _assert_same_state(t, e)
    _assert_same_qparams(t, e)


def test_inf_input_warns_and_is_ignored(torch):
    e = ember.ao.quantization.HistogramObserver()
    with pytest.warns(UserWarning, match="torch.inf detected in input tensor, ignoring input"):
        e(ember.tensor([float("inf"), float("-inf")]))
    assert float(e.min_val) == float("inf") and float(e.max_val) == float("-inf")
    with pytest.warns(UserWarning, match="torch.inf detected"):
        e(ember.tensor([1.0, float("inf")]))
    assert float(e.histogram.sum()) == 1.0


def test_nan_and_integer_inputs_raise(torch):
    for lib in (torch, ember):
        o = lib.ao.quantization.HistogramObserver()
        with pytest.raises(RuntimeError, match="is not finite"):
            o(lib.tensor([1.0, float("nan")]))
        assert np.isnan(float(o.min_val))  # the NaN range was stored before the refusal
        o = lib.ao.quantization.HistogramObserver()
        o(lib.tensor([1.0, 2.0]))
        with pytest.raises(RuntimeError, match="is not finite"):
            o(lib.tensor([float("nan")]))
        assert float(o.min_val) == 1.0 and float(o.histogram.sum()) == 2.0
        with pytest.raises(NotImplementedError, match="histogram_cpu"):
            lib.ao.quantization.HistogramObserver()(lib.tensor([1, 2]))


def test_empty_input_is_ignored(torch):
    t, e = _pair(torch, {})
    _feed(t, e, np.zeros(0))
    assert float(e.min_val) == float("inf")
    _feed(t, e, [1.0, -1.0])
    _assert_same_state(t, e)


def test_uninitialized_qparams_warn_defaults(torch):
    e = ember.ao.quantization.HistogramObserver()
    with pytest.warns(UserWarning, match="must run observer before calling calculate_qparams"):
        s, z = e.calculate_qparams()
    assert s.tolist() == [1.0] and z.tolist() == [0] and z.dtype == ember.int64


def test_attributes_state_dict_and_refusals(torch):
    for kw in ({}, {"dtype": "qint8"}, {"dtype": "qint32"}, {"bins": 64, "reduce_range": True}):
        t, e = _pair(torch, kw)
        assert (e.bins, e.dst_nbins, e.upsample_rate, e.quant_min, e.quant_max) == \
            (t.bins, t.dst_nbins, t.upsample_rate, t.quant_min, t.quant_max)
        ts, es = t.state_dict(), e.state_dict()
        assert list(es) == list(ts)
        for k in ts:
            assert tuple(es[k].shape) == tuple(ts[k].shape)
            assert str(es[k].dtype) == str(ts[k].dtype)
    assert repr(ember.ao.quantization.HistogramObserver()) == \
        repr(torch.ao.quantization.HistogramObserver())
    for lib in (torch, ember):
        with pytest.raises(NotImplementedError, match="per_tensor_symmetric"):
            lib.ao.quantization.HistogramObserver(qscheme=lib.per_channel_affine)


def test_load_torch_state_then_same_qparams(torch, rng):
    t, e = _pair(torch, {})
    x = (rng.standard_normal(4000) ** 3).astype(np.float32)
    t(torch.from_numpy(x))
    e.load_state_dict({k: ember.from_numpy(v.numpy().copy()) for k, v in t.state_dict().items()})
    _assert_same_qparams(t, e)


def test_histc32_matches_torch_histc_at_bin_edges(torch):
    # a float64 bin formula puts some values that sit on an edge one bin off (regression)
    for s in range(60):
        rng = np.random.default_rng(s)
        x = (rng.standard_normal(3000) * rng.uniform(0.01, 100)).astype(np.float32)
        if s % 2:
            x = (np.round(x * 7) / 7).astype(np.float32)
        bins = (2048, 100, 7)[s % 3]
        lo, hi = np.float32(x.min()), np.float32(x.max())
        want = torch.histc(torch.from_numpy(x), bins, min=float(lo), max=float(hi)).numpy()
        np.testing.assert_array_equal(obs_mod._histc32(x, bins, lo, hi), want)


def test_linspace32_matches_torch(torch):
    rng = np.random.default_rng(7)
    for n in (2, 5, 100, 101, 2049, 32769):
        a, b = sorted(rng.standard_normal(2).astype(np.float32) * 30)
        want = torch.linspace(torch.tensor(a), torch.tensor(b), n).numpy()
        np.testing.assert_array_equal(obs_mod._linspace32(a, b, n), want)


def test_default_x86_qconfig_static_flow_scale_equal(torch, rng):
    # the x86 qconfig's activation observer is a HistogramObserver(reduce_range=True)
    def build(lib):
        lib.manual_seed(0)
        Q = lib.ao.quantization
        m = lib.nn.Sequential(Q.QuantStub(), lib.nn.Linear(6, 3), Q.DeQuantStub()).eval()
        m.qconfig = Q.get_default_qconfig("x86")
        return m

    xs = [(rng.standard_normal((16, 6)) * 2).astype(np.float32) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mt, me = build(torch), build(ember)
        me[1].load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                               for k, v in mt[1].state_dict().items()})
        pt = torch.ao.quantization.prepare(mt)
        pe = ember.ao.quantization.prepare(me)
        for x in xs:
            pt(torch.from_numpy(x))
            pe(ember.from_numpy(x))
        for i in (0, 1):
            _assert_same_qparams(pt[i].activation_post_process, pe[i].activation_post_process)
        ct, ce = torch.ao.quantization.convert(pt), ember.ao.quantization.convert(pe)
    assert float(ce[0].scale) == float(ct[0].scale)
    assert int(ce[0].zero_point) == int(ct[0].zero_point)
