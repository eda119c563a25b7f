"""The last nn classes ember lacked (issue 13): the distance-function triplet loss, channel
shuffle, 3-d power-average pooling, 3-d max unpooling, ``NLLLoss2d``, ``CrossMapLRN2d`` and
fractional max pooling, each against torch (values, gradients, errors, module reprs)."""

import numpy as np
import pytest

import ember

from ._helpers import same

torch = pytest.importorskip("torch")
EF = ember.nn.functional
TF = torch.nn.functional


def _run(lib, fn, arrays, grad=(0,), seed=0):
    """fn(lib, *tensors): the output and the gradients of inputs ``grad`` for a random
    upstream gradient (the same in both libraries)."""
    ts = [lib.tensor(a) for a in arrays]
    for k in grad:
        ts[k].requires_grad_(True)
    out = fn(lib, *ts)
    up = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    gs = lib.autograd.grad(out, [ts[k] for k in grad], lib.tensor(up).to(out.dtype))
    return out, gs


def _compare(fn, arrays, grad=(0,), atol=1e-6):
    eo, eg = _run(ember, fn, arrays, grad)
    to, tg = _run(torch, fn, arrays, grad)
    same(eo, to, atol=atol)
    for a, b in zip(eg, tg):
        same(a, b, atol=atol)
    return eo, to


def _raises_like(fn_e, fn_t):
    with pytest.raises(Exception) as te:
        fn_t()
    with pytest.raises(type(te.value), match=None) as ee:
        fn_e()
    assert str(ee.value) == str(te.value)


# -- TripletMarginWithDistanceLoss ----------------------------------------------------------

def _triplet_arrays(seed=1, shape=(5, 4)):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(3)]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_with_distance_default(reduction, swap):
    def fn(lib, a, p, n):
        return lib.nn.functional.triplet_margin_with_distance_loss(
            a, p, n, margin=1.5, swap=swap, reduction=reduction)
    _compare(fn, _triplet_arrays(), grad=(0, 1, 2))


def test_triplet_with_distance_custom_function_and_module():
    def fn(lib, a, p, n):
        dist = lambda x, y: 1.0 - lib.nn.functional.cosine_similarity(x, y)  # noqa: E731
        loss = lib.nn.TripletMarginWithDistanceLoss(distance_function=dist, margin=0.7,
                                                    swap=True, reduction="sum")
        return loss(a, p, n)
    _compare(fn, _triplet_arrays(2), grad=(0, 1, 2))
    e, t = ember.nn.TripletMarginWithDistanceLoss(), torch.nn.TripletMarginWithDistanceLoss()
    assert repr(e) == repr(t)
    assert type(e.distance_function).__name__ == "PairwiseDistance"
    out = e(*[ember.tensor(a, requires_grad=True) for a in _triplet_arrays()])
    assert out.grad_fn.name() == "MeanBackward0"


def test_triplet_with_distance_errors():
    ea = [ember.tensor(a) for a in _triplet_arrays()]
    ta = [torch.tensor(a) for a in _triplet_arrays()]
    for kw in ({"margin": 0}, {"margin": -1.0}, {"reduction": "bad"}):
        _raises_like(lambda kw=kw: EF.triplet_margin_with_distance_loss(*ea, **kw),
                     lambda kw=kw: TF.triplet_margin_with_distance_loss(*ta, **kw))
    _raises_like(lambda: ember.nn.TripletMarginWithDistanceLoss(margin=0),
                 lambda: torch.nn.TripletMarginWithDistanceLoss(margin=0))
    _raises_like(lambda: EF.triplet_margin_with_distance_loss(ea[0], ea[1], ea[2][0]),
                 lambda: TF.triplet_margin_with_distance_loss(ta[0], ta[1], ta[2][0]))
    with pytest.raises(TypeError):  # keyword-only, as in PyTorch
        EF.triplet_margin_with_distance_loss(*ea, None)


# -- ChannelShuffle -------------------------------------------------------------------------

@pytest.mark.parametrize("shape,groups", [((2, 6, 3, 2), 3), ((1, 8, 5), 2),
                                          ((2, 4, 1, 2, 2), 4), ((3, 6, 2), 1)])
def test_channel_shuffle(shape, groups):
    x = np.random.default_rng(3).standard_normal(shape)
    eo, to = _compare(lambda lib, t: lib.nn.functional.channel_shuffle(t, groups), [x])
    assert eo.grad_fn.name() == to.grad_fn.name() == "ChannelShuffleBackward0"
    assert eo.is_contiguous()
    m = ember.nn.ChannelShuffle(groups)
    assert repr(m) == repr(torch.nn.ChannelShuffle(groups))
    same(m(ember.tensor(x)), torch.nn.ChannelShuffle(groups)(torch.tensor(x)))
    same(EF.native_channel_shuffle(ember.tensor(x), groups),
         TF.native_channel_shuffle(torch.tensor(x), groups))


def test_channel_shuffle_dtypes_and_empty():
    x = np.arange(24).reshape(2, 6, 2)
    for dt in ("int64", "bool", "float32"):
        e = EF.channel_shuffle(ember.tensor(x).to(getattr(ember, dt)), 2)
        t = TF.channel_shuffle(torch.tensor(x).to(getattr(torch, dt)), 2)
        assert str(e.dtype) == str(t.dtype)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    for shape in ((0, 6, 2), (1, 0, 2)):
        assert EF.channel_shuffle(ember.zeros(shape), 3).shape == \
            tuple(TF.channel_shuffle(torch.zeros(shape), 3).shape)


@pytest.mark.parametrize("shape,groups", [((1, 5, 2), 2), ((1, 6, 2), 0), ((1, 6, 2), -1),
                                          ((6,), 3), ((1, 6), 3), ((6,), 0), ((1, 6, 2), 2.0),
                                          ((1, 6, 2), True)])
def test_channel_shuffle_errors(shape, groups):
    for name in ("channel_shuffle", "native_channel_shuffle"):
        _raises_like(lambda name=name: getattr(EF, name)(ember.zeros(shape), groups),
                     lambda name=name: getattr(TF, name)(torch.zeros(shape), groups))


def test_native_channel_shuffle_has_no_derivative():
    for lib in (ember, torch):
        x = lib.randn(1, 4, 2, requires_grad=True)
        y = lib.nn.functional.native_channel_shuffle(x, 2)
        assert y.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::native_channel_shuffle"):
            y.sum().backward()


# -- LPPool3d (and the infinite norms of every lp_pool) -------------------------------------

@pytest.mark.parametrize("norm,kernel,stride,ceil", [
    (2, 2, None, False), (3.0, (2, 3, 2), 1, False), (1.5, 3, 2, True),
    (2, (1, 2, 2), (1, 2, 1), False)])
def test_lp_pool3d(norm, kernel, stride, ceil):
    x = np.random.default_rng(4).uniform(0.3, 2.0, (2, 3, 5, 6, 5))

    def fn(lib, t):
        return lib.nn.functional.lp_pool3d(t, norm, kernel, stride, ceil)
    eo, to = _compare(fn, [x])
    assert eo.grad_fn.name() == to.grad_fn.name()
    m_e, m_t = ember.nn.LPPool3d(norm, kernel, stride, ceil), torch.nn.LPPool3d(norm, kernel,
                                                                                  stride, ceil)
    assert repr(m_e) == repr(m_t)
    same(m_e(ember.tensor(x)), m_t(torch.tensor(x)))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("norm", [float("inf"), -float("inf")])
def test_lp_pool_infinite_norm_is_max_pooling(nd, norm):
    # regression: lp_pool1d/2d computed x ** inf (inf or nan) instead of PyTorch's max pooling
    x = np.random.default_rng(5).standard_normal((2, 3) + (6,) * nd)
    fn_name = f"lp_pool{nd}d"
    eo, to = _compare(lambda lib, t: getattr(lib.nn.functional, fn_name)(t, norm, 2), [x])
    assert np.isfinite(eo.detach().numpy()).all()
    assert eo.grad_fn.name() == to.grad_fn.name()


# -- MaxUnpool3d (and the repeated indices of every max_unpool) -----------------------------

def _pool_unpool(nd, kernel, stride, padding=0, output_size=None):
    def fn(lib, t):
        F = lib.nn.functional
        y, i = getattr(F, f"max_pool{nd}d")(t, kernel, stride, padding, return_indices=True)
        return getattr(F, f"max_unpool{nd}d")(y, i, kernel, stride, padding, output_size)
    return fn


@pytest.mark.parametrize("kernel,stride,padding,output_size", [
    (2, None, 0, None), ((2, 3, 2), (2, 2, 1), (1, 1, 0), (4, 6, 4)), (3, 1, 1, None),
    (2, 2, 0, (5, 5, 5)), (2, 2, 0, (2, 3, 5, 7, 5))])
def test_max_unpool3d(kernel, stride, padding, output_size):
    x = np.random.default_rng(6).standard_normal((2, 3, 4, 6, 4))
    eo, to = _compare(_pool_unpool(3, kernel, stride, padding, output_size), [x])
    assert eo.grad_fn.name() == to.grad_fn.name() == "MaxUnpool3DBackward0"
    m_e, m_t = ember.nn.MaxUnpool3d(kernel, stride, padding), torch.nn.MaxUnpool3d(kernel,
                                                                                     stride,
                                                                                     padding)
    assert repr(m_e) == repr(m_t)


def test_max_unpool3d_unbatched_and_dtypes():
    x = np.random.default_rng(7).standard_normal((3, 4, 4, 4))
    _compare(_pool_unpool(3, 2, 2), [x])
    y, i = torch.nn.functional.max_pool3d(torch.tensor(x), 2, return_indices=True)
    ey, ei = ember.tensor(y.numpy()), ember.tensor(i.numpy())
    e = EF.max_unpool3d(ey.to(ember.float32), ei, 2)
    t = TF.max_unpool3d(y.to(torch.float32), i, 2)
    assert str(e.dtype) == str(t.dtype)
    same(e, t)
    for nd, (yy, ii), (eyy, eii) in ((3, (y, i), (ey, ei)),
                                     (2, (y[0], i[0]), (ey[0], ei[0]))):
        fn = f"max_unpool{nd}d"  # integer inputs: PyTorch's kernels are float-only
        _raises_like(lambda fn=fn, a=(eyy, eii): getattr(EF, fn)(a[0].to(ember.int32), a[1], 2),
                     lambda fn=fn, a=(yy, ii): getattr(TF, fn)(a[0].to(torch.int32), a[1], 2))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool_repeated_indices_store_once(nd):
    # regression: overlapping windows repeat an index; ember summed the repeats (2x, 3x the
    # value) where PyTorch stores the value once; the gradient still reaches every repeat
    x = np.random.default_rng(8).standard_normal((1, 2) + (5,) * nd)
    _compare(_pool_unpool(nd, 3, 1), [x])


def test_max_unpool3d_errors():
    y, i = TF.max_pool3d(torch.randn(2, 3, 4, 4, 4), 2, return_indices=True)
    ey, ei = ember.tensor(y.numpy()), ember.tensor(i.numpy())
    bad = i.clone()
    bad[0, 0, 0, 0, 0] = 64
    cases = [((y, i[..., :1], 2), (ey, ei[..., :1], 2)),
             ((y, bad, 2), (ey, ember.tensor(bad.numpy()), 2)),
             ((y[0, 0], i[0, 0], 2), (ey[0, 0], ei[0, 0], 2)),
             ((y, i.float(), 2), (ey, ei.float(), 2)),
             ((y, i, 2, 0), (ey, ei, 2, 0))]
    for t_args, e_args in cases:
        _raises_like(lambda e_args=e_args: EF.max_unpool3d(*e_args),
                     lambda t_args=t_args: TF.max_unpool3d(*t_args))
    for size in ((5, 5), (1, 2, 3, 5, 5, 5), (1, 1, 1), (6, 4, 4)):
        _raises_like(lambda size=size: EF.max_unpool3d(ey, ei, 2, output_size=size),
                     lambda size=size: TF.max_unpool3d(y, i, 2, output_size=size))


# -- NLLLoss2d ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (4, 3)])
def test_nll_loss2d_is_nll_loss(shape):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape)
    t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    t.reshape(-1)[0] = 1
    w = rng.uniform(0.5, 2.0, shape[1])
    for kw in ({}, {"ignore_index": 1, "reduction": "sum"}, {"reduction": "none"}):
        def fn(lib, a, b, kw=kw):
            loss = lib.nn.NLLLoss2d(weight=lib.tensor(w), **kw)
            return loss(a.log_softmax(1), b)
        _compare(fn, [x, t])
    e, tm = ember.nn.NLLLoss2d(), torch.nn.NLLLoss2d()
    assert isinstance(e, ember.nn.NLLLoss) and repr(e) == repr(tm)
    assert e.ignore_index == tm.ignore_index and e.reduction == tm.reduction


# -- CrossMapLRN2d --------------------------------------------------------------------------

@pytest.mark.parametrize("size,channels", [(2, 7), (3, 6), (4, 7), (5, 9), (5, 3), (7, 4)])
def test_cross_map_lrn2d(size, channels):
    x = np.random.default_rng(10).standard_normal((2, channels, 3, 4))
    for dt in ("float64", "float32"):
        xs = x.astype(dt)

        def fn(lib, t):
            return lib.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.7, k=1.5)(t)
        eo, to = _compare(fn, [xs], atol=1e-6 if dt == "float64" else 1e-5)
        assert str(eo.dtype) == str(to.dtype)
        assert eo.grad_fn.name() == "CrossMapLRN2dBackward"
    assert repr(ember.nn.CrossMapLRN2d(size)) == repr(torch.nn.CrossMapLRN2d(size))


def test_cross_map_lrn2d_errors():
    _raises_like(lambda: ember.nn.CrossMapLRN2d(3)(ember.zeros(2, 3, 4)),
                 lambda: torch.nn.CrossMapLRN2d(3)(torch.zeros(2, 3, 4)))
    for shape, dt in (((2, 0, 3, 2), "float32"), ((1, 4, 2, 2), "int64"),
                      ((1, 4, 2, 2), "int32"), ((1, 4, 2, 2), "bool")):
        _raises_like(lambda s=shape, d=dt: ember.nn.CrossMapLRN2d(3)(
                         ember.zeros(s, dtype=getattr(ember, d))),
                     lambda s=shape, d=dt: torch.nn.CrossMapLRN2d(3)(
                         torch.zeros(s, dtype=getattr(torch, d))))
    for shape in ((0, 5, 3, 2), (2, 5, 0, 2)):  # empty batch or plane: empty results
        assert ember.nn.CrossMapLRN2d(3)(ember.zeros(shape)).shape == shape
    for lib in (ember, torch):  # size 1: PyTorch's backward runs past its buffer
        x = lib.ones(1, 3, 2, 2, requires_grad=True)
        y = lib.nn.CrossMapLRN2d(1)(x)
        with pytest.raises(RuntimeError, match="exceeds dimension size"):
            y.sum().backward()
        x = lib.randn(1, 4, 2, 2, requires_grad=True)
        with pytest.raises(RuntimeError):  # no second derivative in either library
            (g,) = lib.autograd.grad(lib.nn.CrossMapLRN2d(3)(x).sum(), x, create_graph=True)
            g.sum().backward()


# -- FractionalMaxPool2d / 3d ---------------------------------------------------------------

@pytest.mark.parametrize("nd,shape,kernel,kw", [
    (2, (2, 3, 9, 8), 3, {"output_size": (4, 5)}),
    (2, (2, 3, 10, 7), (2, 3), {"output_ratio": (0.5, 0.5)}),
    (2, (3, 6, 6), 2, {"output_size": 5}),  # unbatched, overlapping windows
    (3, (2, 2, 7, 8, 6), (2, 3, 2), {"output_size": (4, 5, 3)}),
    (3, (2, 5, 6, 7), 2, {"output_ratio": (0.5, 0.6, 0.7)})])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fractional_max_pool(nd, shape, kernel, kw, dtype):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape).astype(dtype)
    batch = shape[0] if len(shape) == nd + 2 else 1
    s = rng.random((batch, shape[-nd - 1], nd)).astype(dtype)

    def fn(lib, t):
        f = getattr(lib.nn.functional, f"fractional_max_pool{nd}d")
        return f(t, kernel, _random_samples=lib.tensor(s), **kw)
    eo, to = _compare(fn, [x], atol=1e-6 if dtype == "float64" else 1e-5)
    assert eo.grad_fn.name() == to.grad_fn.name() == f"FractionalMaxPool{nd}DBackward0"
    for lib in (ember, torch):
        out, idx = getattr(lib.nn.functional, f"fractional_max_pool{nd}d_with_indices")(
            lib.tensor(x), kernel, _random_samples=lib.tensor(s), **kw)
        if lib is ember:
            e_idx = idx.numpy()
        else:
            np.testing.assert_array_equal(e_idx, idx.numpy())
    cls = f"FractionalMaxPool{nd}d"
    m_e = getattr(ember.nn, cls)(kernel, return_indices=True, _random_samples=ember.tensor(s),
                                 **kw)
    m_t = getattr(torch.nn, cls)(kernel, return_indices=True, _random_samples=torch.tensor(s),
                                 **kw)
    assert repr(m_e) == repr(m_t)
    assert list(m_e.state_dict()) == list(m_t.state_dict())
    (eo, ei), (to, ti) = m_e(ember.tensor(x)), m_t(torch.tensor(x))
    same(eo, to)
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())


def test_fractional_max_pool_random_samples_drawn():
    x = ember.randn(2, 3, 9, 9, requires_grad=True)
    out = EF.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.5))
    assert out.shape == (2, 3, 4, 4)
    out.sum().backward()
    assert float(x.grad.sum()) == 2 * 3 * 4 * 4  # each output's gradient reaches one input
    # an empty batch pools to an empty batch, as in PyTorch
    assert EF.fractional_max_pool2d(ember.zeros(0, 3, 6, 6), 2, output_size=3,
                                    _random_samples=ember.zeros(0, 3, 2)).shape == (0, 3, 3, 3)


def test_fractional_max_pool_errors():
    x, s = np.random.default_rng(12).standard_normal((2, 3, 7, 6)), np.full((2, 3, 2), 0.5)
    e = lambda kw, a=x: EF.fractional_max_pool2d(ember.tensor(a), **kw)  # noqa: E731
    t = lambda kw, a=x: TF.fractional_max_pool2d(torch.tensor(a), **kw)  # noqa: E731
    cases = [
        {"kernel_size": 2, "output_size": (6, 6), "_random_samples": s},
        {"kernel_size": 2, "output_size": (3, 4), "_random_samples": np.full((2, 3, 3), .5)},
        {"kernel_size": 2, "output_size": (3, 4), "_random_samples": np.full((1, 3, 2), .5)},
        {"kernel_size": (2, 2, 2), "output_size": (3, 4), "_random_samples": s},
        {"kernel_size": 2, "output_size": (3, 4, 5), "_random_samples": s},
        {"kernel_size": 2, "output_ratio": 0.5, "_random_samples": s},
        {"kernel_size": 2},
        {"kernel_size": 2, "output_size": 3, "_random_samples": s.astype(np.float32)},
    ]
    for kw in cases:
        ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        _raises_like(lambda ekw=ekw: e(ekw), lambda tkw=tkw: t(tkw))
    _raises_like(lambda: e({"kernel_size": 2, "output_size": 3}, np.zeros((2, 3, 0, 6))),
                 lambda: t({"kernel_size": 2, "output_size": 3}, np.zeros((2, 3, 0, 6))))
    _raises_like(lambda: EF.fractional_max_pool3d(ember.randn(1, 2, 5, 5, 5), 2, output_size=5),
                 lambda: TF.fractional_max_pool3d(torch.randn(1, 2, 5, 5, 5), 2, output_size=5))
    for kw in ({"output_ratio": 1.5}, {}, {"output_size": 2, "output_ratio": 0.5}):
        _raises_like(lambda kw=kw: ember.nn.FractionalMaxPool2d(2, **kw),
                     lambda kw=kw: torch.nn.FractionalMaxPool2d(2, **kw))
    _raises_like(lambda: ember.nn.FractionalMaxPool3d(2, output_ratio=(.5, .5, 1)),
                 lambda: torch.nn.FractionalMaxPool3d(2, output_ratio=(.5, .5, 1)))


def test_pairwise_distance_of_complex_inputs_is_real():
    # regression: ember squared complex differences (x * x, not |x|**2) and returned a complex
    # distance, so triplet_margin_with_distance_loss failed on complex inputs where torch works
    rng = np.random.default_rng(13)
    a, p, n = [(rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(
        np.complex64) for _ in range(3)]
    for norm in (2, 1, 3):
        e = EF.pairwise_distance(ember.tensor(a), ember.tensor(p), norm)
        t = TF.pairwise_distance(torch.tensor(a), torch.tensor(p), norm)
        assert str(e.dtype) == str(t.dtype)
        same(e, t)
    same(EF.triplet_margin_with_distance_loss(*map(ember.tensor, (a, p, n)), margin=5.0),
         TF.triplet_margin_with_distance_loss(*map(torch.tensor, (a, p, n)), margin=5.0))
