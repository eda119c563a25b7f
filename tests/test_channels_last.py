"""channels_last / channels_last_3d carried as PyTorch carries them: logical NCHW shape with NHWC
strides. Every check compares strides, ``is_contiguous`` per format, values and gradients with
torch's."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
TF = pytest.importorskip("torch.nn.functional")
EF = ember.nn.functional

FORMATS = ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]


def _fmt(lib, name):
    return getattr(lib, name)


def _arr(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _pair(shape, fmt=None, seed=0, grad=False):
    a = _arr(shape, seed)
    t, e = torch.from_numpy(a.copy()), ember.from_numpy(a.copy())
    if fmt is not None:
        t, e = t.to(memory_format=_fmt(torch, fmt)), e.to(memory_format=_fmt(ember, fmt))
    if grad:
        t, e = t.requires_grad_(), e.requires_grad_()
    return t, e


def _same_layout(t, e):
    assert tuple(e.shape) == tuple(t.shape)
    assert e.stride() == t.stride()
    for name in FORMATS:
        assert e.is_contiguous(memory_format=_fmt(ember, name)) == t.is_contiguous(
            memory_format=_fmt(torch, name)), name
    assert e.is_contiguous() == t.is_contiguous()


def _same(t, e):
    _same_layout(t, e)
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())


def _raises_like(fn_t, fn_e):
    with pytest.raises(Exception) as et:
        fn_t()
    with pytest.raises(type(et.value)) as ee:
        fn_e()
    assert str(ee.value) == str(et.value)


# (shape, view applied to the dense tensor): size-1 dims, transposes and slices probe the
# ambiguous cases of torch's stride rules
VIEWS = [
    ((2, 3, 4, 5), lambda x: x),
    ((2, 1, 4, 5), lambda x: x),
    ((1, 3, 1, 1), lambda x: x),
    ((2, 3, 1, 5), lambda x: x),
    ((2, 3, 4, 5), lambda x: x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)),
    ((2, 3, 4, 5), lambda x: x.transpose(1, 3)),
    ((2, 3, 4, 5), lambda x: x[:, :, ::2]),
    ((2, 3, 4, 5), lambda x: x.transpose(1, 3)[:, ::2]),
    ((2, 3, 4, 5, 6), lambda x: x),
    ((2, 3, 4, 5, 6), lambda x: x.permute(0, 2, 3, 4, 1).contiguous().permute(0, 4, 1, 2, 3)),
    ((3, 4), lambda x: x.t()),
]


@pytest.mark.parametrize("case", range(len(VIEWS)))
@pytest.mark.parametrize("fmt", ["contiguous_format", "channels_last", "channels_last_3d",
                                 "preserve_format"])
@pytest.mark.parametrize("how", ["to", "contiguous", "clone", "empty_like", "zeros_like",
                                 "ones_like", "full_like"])
def test_conversions_match_torch(case, fmt, how):
    shape, view = VIEWS[case]
    a = _arr(shape)
    t, e = view(torch.from_numpy(a.copy())), view(ember.from_numpy(a.copy()))
    _same(t, e)
    ops = {
        "to": lambda lib, x, f: x.to(memory_format=f),
        "contiguous": lambda lib, x, f: x.contiguous(memory_format=f),
        "clone": lambda lib, x, f: x.clone(memory_format=f),
        "empty_like": lambda lib, x, f: lib.empty_like(x, memory_format=f),
        "zeros_like": lambda lib, x, f: lib.zeros_like(x, memory_format=f),
        "ones_like": lambda lib, x, f: lib.ones_like(x, memory_format=f),
        "full_like": lambda lib, x, f: lib.full_like(x, 2.5, memory_format=f),
    }[how]
    try:
        rt = ops(torch, t, _fmt(torch, fmt))
    except RuntimeError:
        _raises_like(lambda: ops(torch, t, _fmt(torch, fmt)),
                     lambda: ops(ember, e, _fmt(ember, fmt)))
        return
    re = ops(ember, e, _fmt(ember, fmt))
    if how == "empty_like":
        _same_layout(rt, re)
    else:
        _same(rt, re)
    if how in ("to", "contiguous"):  # torch returns self when nothing changes
        assert (re is e) == (rt is t)


@pytest.mark.parametrize("case", range(len(VIEWS)))
@pytest.mark.parametrize("how", ["clone", "empty_like", "rand_like", "randn_like",
                                 "randint_like", "double", "to_float64"])
def test_default_preserve_format_matches_torch(case, how):
    shape, view = VIEWS[case]
    a = _arr(shape)
    t, e = view(torch.from_numpy(a.copy())), view(ember.from_numpy(a.copy()))
    ops = {
        "clone": lambda lib, x: x.clone(),
        "empty_like": lambda lib, x: lib.empty_like(x),
        "rand_like": lambda lib, x: lib.rand_like(x),
        "randn_like": lambda lib, x: lib.randn_like(x),
        "randint_like": lambda lib, x: lib.randint_like(x, 5),
        "double": lambda lib, x: x.double(),
        "to_float64": lambda lib, x: x.to(lib.float64),
    }[how]
    rt, re = ops(torch, t), ops(ember, e)
    _same_layout(rt, re)
    if how in ("clone", "double", "to_float64"):
        np.testing.assert_array_equal(re.numpy(), rt.numpy())


@pytest.mark.parametrize("shape,fmt", [((2, 3, 4, 5), "channels_last"),
                                       ((2, 3, 4, 5, 6), "channels_last_3d"),
                                       ((2, 3), "contiguous_format"),
                                       ((2, 3), "channels_last"),
                                       ((2, 3, 4, 5), "channels_last_3d"),
                                       ((2, 3, 4, 5), "preserve_format")])
def test_empty_memory_format(shape, fmt):
    try:
        t = torch.empty(*shape, memory_format=_fmt(torch, fmt))
    except RuntimeError:
        _raises_like(lambda: torch.empty(*shape, memory_format=_fmt(torch, fmt)),
                     lambda: ember.empty(*shape, memory_format=_fmt(ember, fmt)))
        return
    _same_layout(t, ember.empty(*shape, memory_format=_fmt(ember, fmt)))


@pytest.mark.parametrize("size,stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2, 3), (10, 2)),
                                         ((2, 3, 4, 5), (60, 1, 15, 3)), ((4,), (3,)),
                                         ((2, 1, 3), (3, 7, 1))])
def test_empty_strided_has_the_strides(size, stride):
    t, e = torch.empty_strided(size, stride), ember.empty_strided(size, stride)
    _same_layout(t, e)
    e.fill_(1.5)  # every element is writable memory of its own
    np.testing.assert_array_equal(e.numpy(), np.full(size, 1.5, np.float32))


def test_contiguous_and_clone_errors():
    x, y = torch.zeros(2, 3, 4, 5).transpose(1, 3), ember.zeros(2, 3, 4, 5).transpose(1, 3)
    _raises_like(lambda: x.contiguous(memory_format=torch.preserve_format),
                 lambda: y.contiguous(memory_format=ember.preserve_format))
    with pytest.raises(TypeError):
        y.contiguous(memory_format="channels_last")
    with pytest.raises(TypeError):
        y.clone(memory_format=1)
    with pytest.raises(TypeError):
        ember.empty_like(y, memory_format="channels_last")


def test_module_to_channels_last_converts_4d_and_5d_params():
    def build(lib):
        np_w = _arr((4, 3, 3, 3))
        m = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4), lib.nn.Flatten(),
                              lib.nn.Linear(4, 2))
        with lib.no_grad():
            m[0].weight.copy_(lib.from_numpy(np_w))
        return m

    mt = build(torch).to(memory_format=torch.channels_last)
    me = build(ember).to(memory_format=ember.channels_last)
    for (nt, pt), (ne, pe) in zip(mt.named_parameters(), me.named_parameters()):
        assert nt == ne
        _same_layout(pt.detach(), pe.detach())
        assert isinstance(pe, ember.nn.Parameter)
    np.testing.assert_array_equal(me[0].weight.detach().numpy(), mt[0].weight.detach().numpy())
    # a 5-D parameter cannot take channels_last: torch's Module.to raises the tensor's error
    _raises_like(lambda: torch.nn.Conv3d(2, 2, 1).to(memory_format=torch.channels_last),
                 lambda: ember.nn.Conv3d(2, 2, 1).to(memory_format=ember.channels_last))
    c3t = torch.nn.Conv3d(2, 2, 2).to(memory_format=torch.channels_last_3d)
    c3e = ember.nn.Conv3d(2, 2, 2).to(memory_format=ember.channels_last_3d)
    _same_layout(c3t.weight.detach(), c3e.weight.detach())


X4 = (2, 4, 6, 6)
X5 = (2, 4, 4, 4, 4)

# name: (fn(lib, F, *inputs), shapes, formats of the inputs)
OPS = {
    "add": (lambda lib, F, a, b: a + b, [X4, X4], ["channels_last", "channels_last"]),
    "add_c_first": (lambda lib, F, a, b: a + b, [X4, X4], [None, "channels_last"]),
    "mul_scalar": (lambda lib, F, a: a * 3, [X4], ["channels_last"]),
    "bias_add": (lambda lib, F, a, b: a + b, [X4, (4, 1, 1)], ["channels_last", None]),
    "relu": (lambda lib, F, a: F.relu(a), [X4], ["channels_last"]),
    "sigmoid": (lambda lib, F, a: lib.sigmoid(a), [X4], ["channels_last"]),
    "dropout_eval": (lambda lib, F, a: F.dropout(a, 0.5, training=False), [X4],
                     ["channels_last"]),
    "conv2d": (lambda lib, F, a, w: F.conv2d(a, w, padding=1), [X4, (5, 4, 3, 3)],
               ["channels_last", None]),
    "conv2d_weight_cl": (lambda lib, F, a, w, b: F.conv2d(a, w, b, stride=2),
                         [X4, (5, 4, 3, 3), (5,)], [None, "channels_last", None]),
    "conv2d_groups": (lambda lib, F, a, w: F.conv2d(a, w, groups=2, dilation=2),
                      [X4, (6, 2, 2, 2)], ["channels_last", None]),
    "conv_transpose2d": (lambda lib, F, a, w, b: F.conv_transpose2d(a, w, b, stride=2),
                         [X4, (4, 5, 3, 3), (5,)], ["channels_last", None, None]),
    "conv3d": (lambda lib, F, a, w: F.conv3d(a, w), [X5, (3, 4, 2, 2, 2)],
               ["channels_last_3d", None]),
    "max_pool2d": (lambda lib, F, a: F.max_pool2d(a, 2), [X4], ["channels_last"]),
    "max_pool2d_pad": (lambda lib, F, a: F.max_pool2d(a, 3, 2, 1), [X4], ["channels_last"]),
    "max_pool3d": (lambda lib, F, a: F.max_pool3d(a, 2), [X5], ["channels_last_3d"]),
    "avg_pool2d": (lambda lib, F, a: F.avg_pool2d(a, 2), [X4], ["channels_last"]),
    "avg_pool2d_pad": (lambda lib, F, a: F.avg_pool2d(a, 3, 2, 1), [X4], ["channels_last"]),
    "avg_pool3d": (lambda lib, F, a: F.avg_pool3d(a, 2), [X5], ["channels_last_3d"]),
    "adaptive_avg_pool2d": (lambda lib, F, a: F.adaptive_avg_pool2d(a, (3, 3)), [X4],
                            ["channels_last"]),
    "adaptive_avg_pool2d_1": (lambda lib, F, a: F.adaptive_avg_pool2d(a, 1), [X4],
                              ["channels_last"]),
    "adaptive_max_pool2d": (lambda lib, F, a: F.adaptive_max_pool2d(a, (3, 3)), [X4],
                            ["channels_last"]),
    "batch_norm_train": (lambda lib, F, a: F.batch_norm(a, None, None, training=True), [X4],
                         ["channels_last"]),
    "batch_norm_affine": (lambda lib, F, a, w, b: F.batch_norm(a, None, None, w, b,
                                                               training=True),
                          [X4, (4,), (4,)], ["channels_last", None, None]),
    "batch_norm_eval": (lambda lib, F, a: F.batch_norm(a, lib.zeros(4), lib.ones(4)), [X4],
                        ["channels_last"]),
    "batch_norm_3d": (lambda lib, F, a: F.batch_norm(a, None, None, training=True), [X5],
                      ["channels_last_3d"]),
    "flatten": (lambda lib, F, a: lib.flatten(a, 1), [X4], ["channels_last"]),
    "cat": (lambda lib, F, a, b: lib.cat([a, b], 1), [X4, X4],
            ["channels_last", "channels_last"]),
    "sum_dim": (lambda lib, F, a: a.sum(1), [X4], ["channels_last"]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_propagate_channels_last_as_torch(name):
    fn, shapes, fmts = OPS[name]
    pairs = [_pair(s, f, seed=i, grad=True) for i, (s, f) in enumerate(zip(shapes, fmts))]
    rt = fn(torch, TF, *[p[0] for p in pairs])
    re = fn(ember, EF, *[p[1] for p in pairs])
    assert re.stride() == rt.stride()
    for f in FORMATS:
        assert re.is_contiguous(memory_format=_fmt(ember, f)) == rt.is_contiguous(
            memory_format=_fmt(torch, f))
    np.testing.assert_allclose(re.detach().numpy(), rt.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = _arr(tuple(rt.shape), seed=9)
    rt.backward(torch.from_numpy(g))
    re.backward(ember.from_numpy(g))
    for pt, pe in pairs:
        assert pe.grad.stride() == pt.grad.stride()
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_channels_last_values_equal_contiguous_values():
    """Layout changes no value beyond float rounding: a reduction (batch-norm statistics, a
    global average) sums in memory order, so the last bit may differ, as in torch."""
    x = ember.from_numpy(_arr((2, 3, 8, 8)))
    ember.manual_seed(0)
    m = ember.nn.Sequential(ember.nn.Conv2d(3, 4, 3, padding=1), ember.nn.BatchNorm2d(4),
                            ember.nn.ReLU(), ember.nn.MaxPool2d(2),
                            ember.nn.Conv2d(4, 4, 3, stride=2), ember.nn.AdaptiveAvgPool2d(1))
    ref = m(x)
    m.to(memory_format=ember.channels_last)
    out = m(x.to(memory_format=ember.channels_last))
    assert out.is_contiguous(memory_format=ember.channels_last)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_layout_conversion_is_exact_for_layout_free_ops():
    """Ops that do not reduce across the permuted dims give bit-identical values."""
    x = ember.from_numpy(_arr((2, 3, 8, 8)))
    w = ember.from_numpy(_arr((4, 3, 3, 3), seed=1))
    xc = x.to(memory_format=ember.channels_last)
    for fn in (lambda a: EF.conv2d(a, w, padding=1), lambda a: EF.max_pool2d(a, 2),
               lambda a: EF.avg_pool2d(a, 2), lambda a: EF.relu(a) * 2 + 1):
        np.testing.assert_array_equal(fn(xc).numpy(), fn(x).numpy())


def test_torch_checkpoint_keeps_channels_last_strides(tmp_path):
    t = torch.from_numpy(_arr((2, 3, 4, 5))).to(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(3, 4, 3).to(memory_format=torch.channels_last)
    path = tmp_path / "torch.pt"
    torch.save({"x": t, "sd": conv.state_dict()}, path)
    d = ember.load(path)
    _same(t, d["x"])
    _same(conv.weight.detach(), d["sd"]["weight"])


def test_ember_checkpoint_keeps_channels_last_strides(tmp_path):
    e = ember.from_numpy(_arr((2, 3, 4, 5))).to(memory_format=ember.channels_last)
    e5 = ember.from_numpy(_arr((2, 3, 2, 2, 2))).to(memory_format=ember.channels_last_3d)
    path = tmp_path / "ember.pt"
    ember.save({"x": e, "x5": e5, "sliced": e[:, :, ::2]}, path)
    d = torch.load(path)
    for key, src in (("x", e), ("x5", e5), ("sliced", e[:, :, ::2])):
        assert d[key].stride() == src.stride()
        np.testing.assert_array_equal(d[key].numpy(), src.numpy())
    back = ember.load(path)
    assert back["x"].stride() == e.stride() and back["x5"].stride() == e5.stride()
