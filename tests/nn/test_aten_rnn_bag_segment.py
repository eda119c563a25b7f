"""ATen forms at the top level: lstm/gru/rnn_tanh/rnn_relu (multi-layer and packed),
embedding_bag's 4-tuple, segment_reduce, binomial, resize_as_ — against torch."""

import numpy as np
import pytest

import ember


def _e(t, grad=False):
    return ember.tensor(t.detach().numpy(), requires_grad=grad)


def _close(a, b, atol=1e-5):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=1e-5)


_MODULES = {"lstm": ("LSTM", {}), "gru": ("GRU", {}), "rnn_tanh": ("RNN", {}),
            "rnn_relu": ("RNN", {"nonlinearity": "relu"})}


@pytest.mark.parametrize("name", list(_MODULES))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("has_biases", [True, False])
def test_recurrent_forms_values_and_grads_match_torch(torch, name, batch_first, has_biases):
    cls, kw = _MODULES[name]
    torch.manual_seed(0)
    m = getattr(torch.nn, cls)(3, 4, 2, bias=has_biases, bidirectional=True, **kw)
    p = [w.detach().clone().requires_grad_() for w in m._flat_weights]
    pe = [_e(w, True) for w in p]
    x = torch.randn(2, 5, 3) if batch_first else torch.randn(5, 2, 3)
    x.requires_grad_()
    h = torch.randn(4, 2, 4)
    hx, hxe = ((h, h * 0.5), (_e(h), _e(h * 0.5))) if name == "lstm" else (h, _e(h))
    xe = _e(x, True)
    rt = getattr(torch, name)(x, hx, p, has_biases, 2, 0.0, False, True, batch_first)
    re = getattr(ember, name)(xe, hxe, pe, has_biases, 2, 0.0, False, True, batch_first)
    assert len(rt) == len(re) == (3 if name == "lstm" else 2)
    for a, b in zip(rt, re):
        assert tuple(a.shape) == tuple(b.shape)
        _close(a, b)
    sum(o.sum() for o in rt).backward()
    sum(o.sum() for o in re).backward()
    _close(x.grad, xe.grad, 1e-4)
    for a, b in zip(p, pe):
        _close(a.grad, b.grad, 1e-4)


@pytest.mark.parametrize("name", list(_MODULES))
def test_recurrent_packed_forms_match_torch(torch, name):
    cls, kw = _MODULES[name]
    torch.manual_seed(1)
    m = getattr(torch.nn, cls)(3, 4, 1, **kw)
    p = list(m._flat_weights)
    seqs = [torch.randn(4, 3), torch.randn(2, 3)]
    packed = torch.nn.utils.rnn.pack_sequence(seqs)
    h = torch.zeros(1, 2, 4)
    data, sizes = packed.data, packed.batch_sizes
    if name == "lstm":
        rt = torch.lstm(data, sizes, (h, h), p, True, 1, 0.0, False, False)
        re = ember.lstm(_e(data), _e(sizes), (_e(h), _e(h)), [_e(w) for w in p], True, 1, 0.0,
                        False, False)
    else:
        rt = getattr(torch, name)(data, sizes, h, p, True, 1, 0.0, False, False)
        re = getattr(ember, name)(_e(data), _e(sizes), _e(h), [_e(w) for w in p], True, 1, 0.0,
                                  False, False)
    for a, b in zip(rt, re):
        _close(a, b)


def test_lstm_form_errors(torch):
    m = torch.nn.LSTM(3, 4)
    p = list(m._flat_weights)
    h = torch.zeros(1, 2, 4)
    for lib, args in ((torch, (torch.randn(5, 2, 3), h, p)),
                      (ember, (ember.randn(5, 2, 3), _e(h), [_e(w) for w in p]))):
        x, h0, ps = args
        with pytest.raises(RuntimeError, match="lstm expects two hidden states"):
            lib.lstm(x, (h0,), ps, True, 1, 0.0, False, False, False)
        with pytest.raises(RuntimeError, match="not divisible by stride 4"):
            lib.lstm(x, (h0, h0), ps[:-1], True, 1, 0.0, False, False, False)
        with pytest.raises(IndexError, match="Dimension out of range"):
            lib.lstm(x[:, 0], (h0[:, 0], h0[:, 0]), ps, True, 1, 0.0, False, False, False)


_W = np.arange(12.0, dtype=np.float32).reshape(6, 2)
_I, _O = [0, 2, 4, 5, 1, 3], [0, 2, 2, 5]


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("pad", [None, 2, -1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_bag_tuple_matches_torch(torch, mode, pad, dtype):
    w = _W.astype(dtype)
    rt = torch.embedding_bag(torch.tensor(w), torch.tensor(_I), torch.tensor(_O), False, mode,
                             False, None, False, pad)
    re = ember.embedding_bag(ember.tensor(w), ember.tensor(_I), ember.tensor(_O), False, mode,
                             False, None, False, pad)
    for a, b in zip(rt, re):
        assert a.tolist() == b.tolist() and str(a.dtype) == str(b.dtype)


def test_embedding_bag_weights_ties_grads_and_errors(torch):
    psw = np.arange(6.0, dtype=np.float32)
    rt = torch.embedding_bag(torch.tensor(_W), torch.tensor(_I), torch.tensor(_O), False, 0,
                             False, torch.tensor(psw))
    re = ember.embedding_bag(ember.tensor(_W), ember.tensor(_I), ember.tensor(_O), False, 0,
                             False, ember.tensor(psw))
    assert [a.tolist() for a in rt] == [b.tolist() for b in re]
    w2 = np.array([[1.0, 5.0], [3.0, 2.0], [3.0, 5.0]], np.float32)
    rt = torch.embedding_bag(torch.tensor(w2), torch.tensor([0, 1, 2]), torch.tensor([0]), False, 2)
    re = ember.embedding_bag(ember.tensor(w2), ember.tensor([0, 1, 2]), ember.tensor([0]), False, 2)
    assert rt[3].tolist() == re[3].tolist() == [[1, 0]]  # the first maximum wins
    wt, we = torch.tensor(_W, requires_grad=True), ember.tensor(_W, requires_grad=True)
    torch.embedding_bag(wt, torch.tensor(_I), torch.tensor(_O), False, 1)[0].sum().backward()
    ember.embedding_bag(we, ember.tensor(_I), ember.tensor(_O), False, 1)[0].sum().backward()
    _close(wt.grad, we.grad)
    for lib in (torch, ember):
        w, i = lib.tensor(_W), lib.tensor(_I)
        with pytest.raises(RuntimeError, match="`mode` must be sum, mean, or max"):
            lib.embedding_bag(w, i, lib.tensor([0, 3]), False, 3)
        with pytest.raises(RuntimeError, match="Long, Int"):
            lib.embedding_bag(w, i.float(), lib.tensor([0, 3]))
        with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
            lib.embedding_bag(w, i, lib.tensor([1, 3]))
        with pytest.raises(RuntimeError, match="offsets has to be a 1D Tensor"):
            lib.embedding_bag(w, i, lib.tensor([[0, 3]]))
        with pytest.raises(RuntimeError, match="per_sample_weights only supported"):
            lib.embedding_bag(w, i, lib.tensor([0, 3]), False, 1, False, lib.ones(6))


_DATA = [1.0, 5.0, 2.0, 3.0, 3.0, 7.0]


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod", "amax", "amin"])
@pytest.mark.parametrize("initial", [None, 2.0])
def test_segment_reduce_values_and_grads_match_torch(torch, reduce, initial):
    d = torch.tensor(_DATA, requires_grad=True)
    de = _e(d, True)
    rt = torch.segment_reduce(d, reduce, lengths=torch.tensor([2, 0, 3, 1]), initial=initial)
    re = ember.segment_reduce(de, reduce, lengths=ember.tensor([2, 0, 3, 1]), initial=initial)
    np.testing.assert_allclose(rt.detach().numpy(), re.detach().numpy(), rtol=1e-6)
    assert re.dtype == ember.float32
    g = torch.arange(1.0, 5.0)
    (gt,) = torch.autograd.grad(rt, d, g)
    (ge,) = ember.autograd.grad(re, de, ember.arange(1.0, 5.0))
    _close(gt, ge)


def test_segment_reduce_axes_offsets_and_dtypes(torch):
    d2 = torch.arange(12.0).reshape(2, 6)
    off = [[0, 2, 6], [0, 3, 6]]
    lens = [[2, 4], [3, 3]]
    for kw in (dict(offsets=off), dict(lengths=lens)):
        for reduce in ("sum", "max", "mean"):
            a = torch.segment_reduce(d2, reduce, axis=1, **{k: torch.tensor(v)
                                                            for k, v in kw.items()})
            b = ember.segment_reduce(_e(d2), reduce, axis=1, **{k: ember.tensor(v)
                                                                for k, v in kw.items()})
            assert a.tolist() == b.tolist()
    d = torch.arange(12.0).reshape(6, 2).double()
    for lengths, kw in (([2, 0, 3, 1], {}), ([2, 0, 3, 1], {"axis": -2}),
                        ([2, 3], {"unsafe": True})):
        a = torch.segment_reduce(d, "sum", lengths=torch.tensor(lengths), **kw)
        b = ember.segment_reduce(_e(d), "sum", lengths=ember.tensor(lengths), **kw)
        assert a.tolist() == b.tolist() and b.dtype == ember.float64
    # offsets win over lengths; offsets need not start at 0
    a = torch.segment_reduce(d, "sum", lengths=torch.tensor([2, 4]), offsets=torch.tensor([1, 6]))
    b = ember.segment_reduce(_e(d), "sum", lengths=ember.tensor([2, 4]),
                             offsets=ember.tensor([1, 6]))
    assert a.tolist() == b.tolist()
    a = torch.segment_reduce(torch.zeros(0, 2), "sum", lengths=torch.tensor([0, 0]))
    assert ember.segment_reduce(ember.zeros(0, 2), "sum", lengths=ember.tensor([0, 0])).tolist() \
        == a.tolist()
    nan = [1.0, float("nan"), 2.0]
    for reduce in ("max", "min"):
        assert np.isnan(ember.segment_reduce(ember.tensor(nan), reduce,
                                             lengths=ember.tensor([3])).item())
    h = ember.segment_reduce(ember.ones(4, dtype=ember.float16), "sum",
                             lengths=ember.tensor([2, 2]))
    assert h.dtype == ember.float16 and h.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("kwargs,err,match", [
    (dict(reduce="avg", lengths=[2, 0, 3, 1]), RuntimeError, "reduce argument must be"),
    (dict(reduce="sum"), RuntimeError, "Either lengths or offsets must be defined"),
    (dict(reduce="sum", indices=[0, 0, 1, 1, 1, 2]), RuntimeError, "indices based reduction"),
    (dict(reduce="sum", lengths=[2, 3]), RuntimeError, "to sum to data.size"),
    (dict(reduce="sum", lengths=[7, -1]), RuntimeError, "lengths contains negative value"),
    (dict(reduce="sum", lengths=[1, 1], axis=1), RuntimeError, "last dimension of lengths"),
    (dict(reduce="sum", lengths=[2, 0, 3, 1], axis=2), IndexError, "Dimension out of range"),
    (dict(reduce="sum", offsets=[0, 3, 2, 6]), RuntimeError, "segment_length >= 0"),
])
def test_segment_reduce_errors_match_torch(torch, kwargs, err, match):
    for lib in (torch, ember):
        kw = {k: (lib.tensor(v) if isinstance(v, list) else v) for k, v in kwargs.items()}
        reduce = kw.pop("reduce")
        with pytest.raises(err, match=match):
            lib.segment_reduce(lib.arange(12.0).reshape(6, 2), reduce, **kw)
    for lib in (torch, ember):
        with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
            lib.segment_reduce(lib.arange(6), "sum", lengths=lib.tensor([6]))
        with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
            lib.segment_reduce(lib.arange(6.0), "sum", lengths=lib.tensor([6.0]))


def test_binomial_matches_torch(torch):
    count = [10.0, 5.0, -1.0, 2.5, 3.0, 4.0]
    prob = [0.0, 1.0, 0.5, 1.0, float("nan"), 1.5]
    a = torch.binomial(torch.tensor(count), torch.tensor(prob))
    b = ember.binomial(ember.tensor(count), ember.tensor(prob))
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # the deterministic cases
    assert b.dtype == ember.float32
    g = ember.Generator().manual_seed(0)
    s = ember.binomial(ember.full((2000,), 10.0, dtype=ember.float64),
                       ember.full((2000,), 0.3, dtype=ember.float64), generator=g)
    assert s.dtype == ember.float64 and abs(s.mean().item() - 3.0) < 0.2
    assert ((s >= 0) & (s <= 10) & (s == s.round())).all()
    assert ember.binomial(ember.tensor([10.0, 5.0]), ember.tensor([0.0])).shape == (2,)
    x = ember.tensor([10.0], requires_grad=True)
    y = ember.binomial(x, ember.tensor([0.5]))
    assert y.requires_grad and type(y.grad_fn).__name__ != "NoneType"
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="derivative for aten::binomial is not implemented"):
            lib.binomial(lib.tensor([10.0], requires_grad=True), lib.tensor([0.5])).sum() \
                .backward()
        with pytest.raises(ValueError, match="floating-point dtypes for count, got: Long"):
            lib.binomial(lib.tensor([10, 5]), lib.tensor([0.5, 1.0]))
        with pytest.raises(RuntimeError, match="Found dtype Double but expected Float"):
            lib.binomial(lib.tensor([10.0]), lib.tensor([0.5], dtype=lib.float64))


def test_resize_as_matches_torch(torch):
    for lib in (torch, ember):
        t = lib.resize_as_(lib.arange(6.0), lib.zeros(2, 2))
        assert t.tolist() == [[0.0, 1.0], [2.0, 3.0]] and t.dtype == lib.float32
        assert lib.resize_as_(lib.arange(3.0), lib.zeros(1, dtype=lib.int64)).dtype == lib.float32
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            lib.resize_as_(lib.arange(3.0, requires_grad=True), lib.zeros(2))
