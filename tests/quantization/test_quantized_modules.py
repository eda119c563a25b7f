"""quantize_dynamic, static prepare/convert and QAT against PyTorch, on models built from the
same weights. Quantized weights and module scales are equal; float outputs agree within one
quantum of the output (float32 rounding order differs from FBGEMM's: see ember.ao.nn.quantized).
"""

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


def _same_weights(mt, me):
    me.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in mt.state_dict().items()})


def _mlp(L):
    nn = L.nn
    return nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 5))


def test_quantize_dynamic_linear(torch, rng):
    torch.manual_seed(0)
    mt = _mlp(torch)
    me = _mlp(ember)
    _same_weights(mt, me)
    qt = torch.ao.quantization.quantize_dynamic(mt, {torch.nn.Linear}, dtype=torch.qint8)
    qe = ember.ao.quantization.quantize_dynamic(me, {ember.nn.Linear}, dtype=ember.qint8)
    assert repr(qe) == repr(qt)
    for i in (0, 2):
        we, wt = qe[i].weight(), qt[i].weight()
        assert we.q_scale() == wt.q_scale() and we.q_zero_point() == wt.q_zero_point()
        np.testing.assert_array_equal(we.int_repr().numpy(), wt.int_repr().numpy())
        assert repr(we) == repr(wt)
    for _ in range(5):
        x = (rng.standard_normal((4, 7, 20)) * rng.uniform(0.1, 5)).astype(np.float32)
        ye = qe(ember.tensor(x)).numpy()
        yt = qt(torch.tensor(x)).detach().numpy()
        assert ye.shape == yt.shape
        np.testing.assert_allclose(ye, yt, rtol=1e-5, atol=1e-5)
    # the original model is untouched (inplace=False)
    assert type(me[0]) is ember.nn.Linear


def test_dynamic_linear_default_spec_and_repr(torch):
    m = ember.nn.Sequential(ember.nn.Linear(4, 3, bias=False))
    q = ember.ao.quantization.quantize_dynamic(m)
    assert q[0]._get_name() == "DynamicQuantizedLinear" and q[0].bias() is None
    assert isinstance(q[0], ember.ao.nn.quantized.dynamic.Linear)
    assert q(ember.ones(2, 4)).shape == (2, 3)


def _static_model(L):
    nn, Q = L.nn, L.ao.quantization

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = Q.QuantStub()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.avg = nn.AvgPool2d(1)
            self.flat = nn.Flatten()
            self.fc = nn.Linear(4 * 4 * 4, 6)
            self.relu2 = nn.ReLU()
            self.fc2 = nn.Linear(6, 3)
            self.dequant = Q.DeQuantStub()

        def forward(self, x):
            x = self.avg(self.pool(self.relu(self.conv(self.quant(x)))))
            return self.dequant(self.fc2(self.relu2(self.fc(self.flat(x)))))

    return Net().eval()


@pytest.mark.parametrize("qconfig", ["default_qconfig", "default_per_channel_qconfig"])
def test_static_post_training(torch, rng, qconfig):
    mt, me = _static_model(torch), _static_model(ember)
    _same_weights(mt, me)
    calib = [rng.standard_normal((4, 1, 8, 8)).astype(np.float32) for _ in range(3)]
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    got = []
    for L, m in ((ember, me), (torch, mt)):
        Q = L.ao.quantization
        m.qconfig = getattr(Q, qconfig)
        fused = Q.fuse_modules(m, [["fc", "relu2"]])
        prepared = Q.prepare(fused)
        for b in calib:
            prepared(L.tensor(b))
        converted = Q.convert(prepared)
        got.append((converted, converted(L.tensor(x)).numpy()))
    (ce, ye), (ct, yt) = got
    for name in ("conv", "fc"):  # modules fed by exactly matching float calibration
        assert getattr(ce, name).zero_point == getattr(ct, name).zero_point
        np.testing.assert_allclose(getattr(ce, name).scale, getattr(ct, name).scale,
                                   rtol=1e-6)
        np.testing.assert_array_equal(getattr(ce, name).weight().int_repr().numpy(),
                                      getattr(ct, name).weight().int_repr().numpy())
    for name in ("quant", "relu", "pool", "avg", "flat", "relu2", "dequant"):
        assert repr(getattr(ce, name)) == repr(getattr(ct, name))
    for name in ("conv", "fc", "fc2"):  # their reprs hold float scales (see above)
        assert getattr(ce, name)._get_name() == getattr(ct, name)._get_name()
    quantum = ct.fc2.scale
    assert np.abs(ye - yt).max() <= quantum * 1.01


def test_quantized_linear_and_conv_against_torch_kernels(torch, rng):
    """The quantized modules alone, with identical quantized inputs and weights: int_repr of
    the outputs equal, or one level apart where FBGEMM rounds a boundary the other way."""
    x = rng.standard_normal((3, 2, 7, 7)).astype(np.float32)
    w = (rng.standard_normal((4, 2, 3, 3)) * 0.3).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    wl = (rng.standard_normal((5, 7)) * 0.3).astype(np.float32)
    outs = []
    for L in (ember, torch):
        nnq = L.ao.nn.quantized
        conv = nnq.Conv2d(2, 4, 3, stride=2, padding=1)
        conv.set_weight_bias(L.quantize_per_tensor(L.tensor(w), 0.01, 0, L.qint8), L.tensor(b))
        conv.scale, conv.zero_point = 0.05, 100
        xq = L.quantize_per_tensor(L.tensor(x), 0.03, 120, L.quint8)
        yc = conv(xq)
        lin = nnq.Linear(7, 5)
        lin.set_weight_bias(L.quantize_per_tensor(L.tensor(wl), 0.01, 0, L.qint8),
                            L.tensor(b[:1].repeat(5)))
        lin.scale, lin.zero_point = 0.04, 64
        yl = lin(xq[0])
        outs.append((yc.int_repr().numpy().astype(int), yl.int_repr().numpy().astype(int),
                     repr(conv), repr(lin)))
    (ce, le, rce, rle), (ct, lt, rct, rlt) = outs
    assert np.abs(ce - ct).max() <= 1 and (ce == ct).mean() > 0.98
    assert np.abs(le - lt).max() <= 1 and (le == lt).mean() > 0.98
    assert rce == rct and rle == rlt


def test_qat_prepare_train_convert(torch, rng):
    def build(L):
        nn, Q = L.nn, L.ao.quantization
        return nn.Sequential(Q.QuantStub(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 2),
                             Q.DeQuantStub())

    mt, me = build(torch), build(ember)
    _same_weights(mt, me)
    data = [(rng.standard_normal((16, 8)).astype(np.float32),
             rng.integers(0, 2, 16)) for _ in range(3)]
    results = []
    for L, m in ((ember, me), (torch, mt)):
        Q = L.ao.quantization
        m.train()
        m.qconfig = Q.get_default_qat_qconfig("x86")
        fused = Q.fuse_modules_qat(m, [["1", "2"]])
        prepared = Q.prepare_qat(fused)
        opt = L.optim.SGD(prepared.parameters(), lr=0.1)
        losses = []
        for xb, yb in data:
            opt.zero_grad()
            loss = L.nn.functional.cross_entropy(prepared(L.tensor(xb)), L.tensor(yb))
            loss.backward()
            opt.step()
            losses.append(float(loss))
        prepared.eval()
        q = Q.convert(prepared)
        out = q(L.tensor(data[0][0])).numpy()
        results.append((losses, out, type(prepared[1]).__name__, q[1]._get_name()))
    (le, oe, pe, ne), (lt, ot, pt, nt) = results
    np.testing.assert_allclose(le, lt, rtol=1e-4)
    assert pe == pt and ne == nt
    np.testing.assert_allclose(oe, ot, atol=0.1)  # a few output quanta


@pytest.mark.parametrize("kwargs", [{}, {"num_layers": 2, "batch_first": True},
                                    {"bidirectional": True, "num_layers": 2}])
def test_quantize_dynamic_lstm(torch, rng, kwargs):
    torch.manual_seed(0)
    mt = torch.nn.Sequential(torch.nn.LSTM(6, 5, **kwargs), torch.nn.Linear(5, 3))
    me = ember.nn.Sequential(ember.nn.LSTM(6, 5, **kwargs), ember.nn.Linear(5, 3))
    _same_weights(mt, me)
    qt = torch.ao.quantization.quantize_dynamic(mt, {torch.nn.LSTM, torch.nn.Linear},
                                                dtype=torch.qint8)
    qe = ember.ao.quantization.quantize_dynamic(me, {ember.nn.LSTM, ember.nn.Linear},
                                                dtype=ember.qint8)
    assert repr(qe) == repr(qt)
    x = (rng.standard_normal((4, 3, 6)) * 2).astype(np.float32)
    batch = 4 if kwargs.get("batch_first") else 3
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    h0 = rng.standard_normal((layers, batch, 5)).astype(np.float32)
    for args in ((), ((h0, h0 * 0.5),)):
        (ye, (he, ce)) = qe[0](ember.tensor(x), *[tuple(ember.tensor(a) for a in p)
                                                  for p in args])
        (yt, (ht, ct)) = qt[0](torch.tensor(x), *[tuple(torch.tensor(a) for a in p)
                                                  for p in args])
        for a, b in ((ye, yt), (he, ht), (ce, ct)):
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), atol=1e-5)


def test_dynamic_lstm_refusals(torch):
    for L in (ember, torch):
        with pytest.raises(AssertionError, match="mod.bias must be True"):
            L.ao.quantization.quantize_dynamic(L.nn.Sequential(L.nn.LSTM(6, 5, bias=False)),
                                               {L.nn.LSTM})
        q = L.ao.quantization.quantize_dynamic(L.nn.Sequential(L.nn.LSTM(6, 5)), {L.nn.LSTM})
        with pytest.raises(RuntimeError, match="input must have 3 dimensions, got 2"):
            q[0](L.ones(4, 6))


@pytest.mark.parametrize("engine", ["qnnpack", "fbgemm"])
def test_dynamic_linear_follows_the_engine(torch, rng, engine):
    """qnnpack quantizes dynamic activations with all 8 bits, the x86 engines with 7."""
    import ember.backends.quantized as eq

    saved_t, saved_e = torch.backends.quantized.engine, eq.engine
    try:
        torch.backends.quantized.engine = engine
        eq.engine = engine
        torch.manual_seed(0)
        mt = torch.nn.Sequential(torch.nn.Linear(20, 30))
        me = ember.nn.Sequential(ember.nn.Linear(20, 30))
        _same_weights(mt, me)
        qt = torch.ao.quantization.quantize_dynamic(mt, {torch.nn.Linear})
        qe = ember.ao.quantization.quantize_dynamic(me, {ember.nn.Linear})
        x = (rng.standard_normal((4, 20)) * 2).astype(np.float32)
        np.testing.assert_allclose(qe(ember.tensor(x)).numpy(),
                                   qt(torch.tensor(x)).detach().numpy(), atol=1e-5)
    finally:
        torch.backends.quantized.engine = saved_t
        eq.engine = saved_e


def test_engine_flag(torch):
    import ember.backends.quantized as eq

    assert eq.engine == torch.backends.quantized.engine == "x86"
    assert eq.supported_engines == torch.backends.quantized.supported_engines
    for mod in (eq, torch.backends.quantized):
        with pytest.raises(RuntimeError, match="foo is not a valid value for quantized engine"):
            mod.engine = "foo"


def _residual(L):
    nn, Q = L.nn, L.ao.quantization

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = Q.QuantStub()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)
            self.relu = nn.ReLU()
            self.skip = L.ao.nn.quantized.FloatFunctional()
            self.dequant = Q.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            return self.dequant(self.skip.add_relu(x, self.relu(self.conv(x))))

    return Block().eval()


def test_static_skip_connection_float_functional(torch, rng):
    mt, me = _residual(torch), _residual(ember)
    _same_weights(mt, me)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    got = []
    for L, m in ((ember, me), (torch, mt)):
        Q = L.ao.quantization
        m.qconfig = Q.default_qconfig
        p = Q.prepare(Q.fuse_modules(m, [["conv", "relu"]]))
        assert type(p.skip.activation_post_process).__name__ == "MinMaxObserver"
        for i in range(3):
            p(L.tensor(np.random.default_rng(i).standard_normal((2, 3, 6, 6))
                       .astype(np.float32)))
        c = Q.convert(p)
        got.append((c(L.tensor(x)).numpy(), c.skip._get_name(), c.skip.zero_point,
                    c.skip.scale))
    (ye, ne, ze, _), (yt, nt, zt, quantum) = got
    assert ne == nt == "QFunctional" and ze == zt
    assert np.abs(ye - yt).max() <= 1.01 * quantum


def test_qfunctional_ops_match_torch(torch, rng):
    a = (rng.standard_normal(500) * 2).astype(np.float32)
    b = (rng.standard_normal(500) * 2).astype(np.float32)
    got = []
    for L in (ember, torch):
        qf = L.ao.nn.quantized.QFunctional()
        qf.scale, qf.zero_point = 0.05, 100
        qa = L.quantize_per_tensor(L.tensor(a), 0.03, 120, L.quint8)
        qb = L.quantize_per_tensor(L.tensor(b), 0.02, 128, L.quint8)
        outs = [qf.add(qa, qb), qf.add_relu(qa, qb), qf.cat([qa, qb]), qf.add_scalar(qa, 1.0),
                qf.mul_scalar(qa, 2.0)]
        got.append([(o.int_repr().numpy(), o.q_scale(), o.q_zero_point()) for o in outs]
                   + [repr(qf)])
    for e, t in zip(got[0][:-1], got[1][:-1]):
        np.testing.assert_array_equal(e[0], t[0])
        assert e[1:] == pytest.approx(t[1:])
    assert got[0][-1] == got[1][-1]
