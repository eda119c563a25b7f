"""torch.ao.quantization observers, FakeQuantize, QConfig, stubs and fuse_modules against
PyTorch: qparams equal (same float32 arithmetic), reprs equal where they name no module path."""

import warnings

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _batches(rng, n=4, shape=(3, 5)):
    return [(rng.standard_normal(shape) * rng.uniform(0.1, 4) + rng.uniform(-1, 1))
            .astype(np.float32) for _ in range(n)]


OBSERVERS = [
    ("MinMaxObserver", {}),
    ("MinMaxObserver", {"dtype": "qint8", "qscheme": "per_tensor_symmetric"}),
    ("MinMaxObserver", {"qscheme": "per_tensor_symmetric"}),
    ("MinMaxObserver", {"reduce_range": True}),
    ("MinMaxObserver", {"dtype": "qint8", "reduce_range": True}),
    ("MinMaxObserver", {"quant_min": 0, "quant_max": 127}),
    ("MovingAverageMinMaxObserver", {}),
    ("MovingAverageMinMaxObserver", {"averaging_constant": 0.5, "dtype": "qint8"}),
    ("PerChannelMinMaxObserver", {}),
    ("PerChannelMinMaxObserver", {"ch_axis": 1, "dtype": "qint8",
                                  "qscheme": "per_channel_symmetric"}),
    ("MovingAveragePerChannelMinMaxObserver", {"averaging_constant": 0.3}),
]


def _kwargs(L, kwargs):
    return {k: getattr(L, v) if isinstance(v, str) else v for k, v in kwargs.items()}


@pytest.mark.parametrize("name,kwargs", OBSERVERS, ids=[f"{n}-{i}" for i, (n, _) in
                                                        enumerate(OBSERVERS)])
def test_observer_qparams_equal(torch, rng, name, kwargs):
    batches = _batches(rng)
    results = []
    for L in (ember, torch):
        obs = getattr(L.ao.quantization, name)(**_kwargs(L, kwargs))
        for b in batches:
            x = L.tensor(b)
            assert obs(x) is x
        scale, zp = obs.calculate_qparams()
        results.append((scale.numpy(), zp.numpy(), str(zp.dtype), str(scale.dtype),
                        repr(obs), obs.quant_min, obs.quant_max))
    (se, ze, *rest_e), (st, zt, *rest_t) = results
    np.testing.assert_array_equal(se, st)
    np.testing.assert_array_equal(ze, zt)
    assert rest_e == rest_t


@pytest.mark.parametrize("kwargs", [
    {"qscheme": "per_tensor_symmetric", "quant_min": 0, "quant_max": 15},
    {"quant_min": 0, "quant_max": 100, "reduce_range": True},
    {"dtype": "qint8", "quant_min": -100, "quant_max": 100, "reduce_range": True},
    {"dtype": "qint8", "qscheme": "per_tensor_symmetric", "reduce_range": True},
    {"dtype": "qint32"},
])
def test_observer_ranges(torch, kwargs):
    got = []
    for L in (ember, torch):
        obs = L.ao.quantization.MinMaxObserver(**_kwargs(L, kwargs))
        obs(L.tensor([-1.0, 3.0]))
        scale, zp = obs.calculate_qparams()
        got.append((obs.quant_min, obs.quant_max, scale.tolist(), zp.tolist(), str(zp.dtype)))
    assert got[0] == got[1]


def test_observer_refusals(torch):
    for L in (ember, torch):
        with pytest.raises(NotImplementedError, match="Cannot reduce range for symmetric"):
            L.ao.quantization.MinMaxObserver(qscheme=L.per_tensor_symmetric, reduce_range=True)


def test_unobserved_default_qparams(torch):
    e = ember.ao.quantization.MinMaxObserver().calculate_qparams()
    t = torch.ao.quantization.MinMaxObserver().calculate_qparams()
    assert [repr(v) for v in e] == [repr(v) for v in t]
    assert repr(ember.ao.quantization.MinMaxObserver()) == \
        repr(torch.ao.quantization.MinMaxObserver())


def test_fake_quantize_module(torch, rng):
    batches = _batches(rng, 3)
    outs = []
    for L in (ember, torch):
        Q = L.ao.quantization
        mods = [Q.FakeQuantize(), Q.default_fake_quant(), Q.default_weight_fake_quant(),
                Q.default_per_channel_weight_fake_quant(), Q.FusedMovingAvgObsFakeQuantize(),
                Q.get_default_qat_qconfig("x86").activation(),
                Q.get_default_qat_qconfig("x86").weight()]
        row = []
        for fq in mods:
            for b in batches:
                y = fq(L.tensor(b))
            row.append((y.detach().numpy(), repr(fq)))
        fq = Q.FakeQuantize()
        fq.disable_observer()
        row.append((fq(L.tensor(batches[0])).detach().numpy(), repr(fq)))
        outs.append(row)
    for (ye, re), (yt, rt) in zip(*outs):
        np.testing.assert_array_equal(ye, yt)
        assert re == rt


def test_fake_quantize_gradient(torch, rng):
    b = (rng.standard_normal((4, 6)) * 3).astype(np.float32)
    grads = []
    for L in (ember, torch):
        fq = L.ao.quantization.FakeQuantize(quant_min=0, quant_max=15)
        fq(L.tensor(b))  # observe once
        fq.disable_observer()
        x = L.tensor(b * 2, requires_grad=True)
        fq(x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(*grads)


def test_qconfigs(torch):
    for L in (ember, torch):
        Q = L.ao.quantization
        with pytest.raises(ValueError, match="QConfig received observer instance"):
            Q.QConfig(activation=Q.MinMaxObserver(), weight=Q.MinMaxObserver)
    pairs = [
        lambda Q: Q.default_qconfig, lambda Q: Q.default_dynamic_qconfig,
        lambda Q: Q.get_default_qconfig("x86"), lambda Q: Q.get_default_qconfig("fbgemm"),
        lambda Q: Q.get_default_qconfig("qnnpack"), lambda Q: Q.get_default_qat_qconfig("x86"),
        lambda Q: Q.get_default_qat_qconfig("qnnpack"), lambda Q: Q.default_qat_qconfig,
        lambda Q: Q.per_channel_dynamic_qconfig,
    ]
    for make in pairs:
        qe, qt = make(ember.ao.quantization), make(torch.ao.quantization)
        for part in ("activation", "weight"):
            oe, ot = getattr(qe, part)(), getattr(qt, part)()
            assert type(oe).__name__ == type(ot).__name__
            for attr in ("dtype", "qscheme", "quant_min", "quant_max", "is_dynamic"):
                if hasattr(ot, attr):
                    assert str(getattr(oe, attr)) == str(getattr(ot, attr)), (part, attr)


def test_stubs_and_legacy_alias(torch):
    Q = ember.ao.quantization
    x = ember.ones(2)
    assert Q.QuantStub()(x) is x and Q.DeQuantStub()(x) is x
    assert repr(Q.QuantStub()) == repr(torch.ao.quantization.QuantStub())
    assert ember.quantization.QuantStub is Q.QuantStub
    assert ember.nn.quantized.Linear is ember.ao.nn.quantized.Linear
    assert ember.nn.intrinsic.ConvReLU2d is ember.ao.nn.intrinsic.ConvReLU2d


def _conv_model(L):
    nn = L.nn
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(3 * 4 * 4, 5), nn.ReLU())


def test_fuse_modules(torch, rng):
    mt = _conv_model(torch)
    with torch.no_grad():  # non-trivial running statistics
        mt[1].running_mean.uniform_(-1, 1)
        mt[1].running_var.uniform_(0.5, 2)
    me = _conv_model(ember)
    me.load_state_dict({k: ember.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    outs = []
    for L, m in ((ember, me), (torch, mt)):
        fused = L.ao.quantization.fuse_modules(m.eval(), [["0", "1", "2"], ["4", "5"]])
        outs.append((fused(L.tensor(x)).detach().numpy(), repr(fused)))
        with pytest.raises(AssertionError, match="Fusion only for eval!"):
            L.ao.quantization.fuse_modules(m.train(), [["0", "1"]])
        qat = L.ao.quantization.fuse_modules_qat(m.train(), [["0", "1", "2"]])
        outs.append((None, repr(qat)))
    np.testing.assert_allclose(outs[0][0], outs[2][0], rtol=1e-5, atol=1e-6)
    assert outs[0][1] == outs[2][1] and outs[1][1] == outs[3][1]
