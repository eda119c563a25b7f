"""Lazy modules (``nn.LazyLinear``, ``LazyConv*``, ``LazyConvTranspose*``, ``LazyBatchNorm*``,
``LazyInstanceNorm*``) and their placeholders ``UninitializedParameter``/``UninitializedBuffer``,
against PyTorch: reprs before and after the first forward, the class they become, the shapes
they infer, ember's eager initialization for the same seed, state dicts, conversions, optimizers.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest

import ember
from ember.nn.modules.lazy import LazyModuleMixin
from ember.nn.parameter import is_lazy

torch = pytest.importorskip("torch")

# (lazy class, its constructor arguments, input shape, the eager class and its arguments for
# the inferred size)
CASES = [
    ("LazyLinear", (3,), (2, 4), "Linear", (4, 3)),
    ("LazyConv1d", (4, 3), (2, 3, 8), "Conv1d", (3, 4, 3)),
    ("LazyConv2d", (4, 3), (2, 3, 6, 6), "Conv2d", (3, 4, 3)),
    ("LazyConv3d", (4, 2), (1, 3, 4, 4, 4), "Conv3d", (3, 4, 2)),
    ("LazyConvTranspose1d", (4, 3), (2, 3, 5), "ConvTranspose1d", (3, 4, 3)),
    ("LazyConvTranspose2d", (4, 3), (2, 3, 5, 5), "ConvTranspose2d", (3, 4, 3)),
    ("LazyConvTranspose3d", (4, 2), (1, 3, 3, 3, 3), "ConvTranspose3d", (3, 4, 2)),
    ("LazyBatchNorm1d", (), (4, 3), "BatchNorm1d", (3,)),
    ("LazyBatchNorm2d", (), (2, 3, 4, 4), "BatchNorm2d", (3,)),
    ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2), "BatchNorm3d", (3,)),
    ("LazyInstanceNorm1d", (), (2, 3, 5), "InstanceNorm1d", (3,)),
    ("LazyInstanceNorm2d", (), (2, 3, 4, 4), "InstanceNorm2d", (3,)),
    ("LazyInstanceNorm3d", (), (2, 3, 2, 2, 2), "InstanceNorm3d", (3,)),
]
IDS = [c[0] for c in CASES]


def _eager_kwargs(name):
    # the lazy instance norms default to affine and running statistics, as PyTorch's do
    return {"affine": True, "track_running_stats": True} if "InstanceNorm" in name else {}


@pytest.mark.parametrize("name,args,shape,eager,eager_args", CASES, ids=IDS)
def test_lazy_module_matches_torch_and_becomes_its_eager_class(name, args, shape, eager,
                                                               eager_args):
    em, tm = getattr(ember.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(em) == repr(tm)
    assert isinstance(em, LazyModuleMixin) and em.has_uninitialized_params()
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [type(v).__name__ for v in em.state_dict().values()] == \
        [type(v).__name__ for v in tm.state_dict().values()]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ember.manual_seed(3)
    em(ember.tensor(x))
    tm(torch.tensor(x))
    assert repr(em) == repr(tm)
    assert type(em) is getattr(ember.nn, eager) and type(tm) is getattr(torch.nn, eager)
    assert not any(is_lazy(t) for t in [*em.parameters(), *em.buffers()])
    assert not em._forward_pre_hooks
    assert all(type(p) is ember.nn.Parameter for p in em.parameters())
    assert {k: tuple(v.shape) for k, v in em.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    # initialized as the eager class with the inferred size: same random draws
    ember.manual_seed(3)
    ref = getattr(ember.nn, eager)(*eager_args, **_eager_kwargs(name))
    # running statistics moved with the forward; compare the parameters only
    for (k, a), (k2, b) in zip(em.named_parameters(), ref.named_parameters()):
        assert k == k2
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # with torch's values loaded, the outputs agree
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_lazy_linear_seed_matches_eager_linear():
    ember.manual_seed(7)
    lazy = ember.nn.LazyLinear(5)
    lazy(ember.ones(2, 6))
    ember.manual_seed(7)
    eager = ember.nn.Linear(6, 5)
    assert ember.equal(lazy.weight, eager.weight) and ember.equal(lazy.bias, eager.bias)


def test_constructor_arguments_reach_the_eager_class():
    cases = [
        (dict(out_channels=4, kernel_size=3, stride=2, padding=1, dilation=1, groups=2,
              bias=False, padding_mode="reflect"), "LazyConv2d", (1, 4, 7, 7)),
        (dict(out_channels=4, kernel_size=3, stride=2, padding=1, output_padding=1, groups=2,
              bias=True, dilation=1), "LazyConvTranspose2d", (1, 6, 4, 4)),
        (dict(eps=1e-3, momentum=None, affine=False, track_running_stats=True),
         "LazyBatchNorm1d", (4, 3)),
        (dict(affine=True, bias=False, track_running_stats=False), "LazyBatchNorm2d",
         (2, 3, 2, 2)),
        (dict(affine=False, track_running_stats=False), "LazyInstanceNorm2d", (2, 3, 4, 4)),
    ]
    for kwargs, name, shape in cases:
        em, tm = getattr(ember.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
        assert repr(em) == repr(tm)
        x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
        ye, yt = em(ember.tensor(x)), tm(torch.tensor(x))
        assert repr(em) == repr(tm) and tuple(ye.shape) == tuple(yt.shape)
        assert list(em.state_dict()) == list(tm.state_dict())


def test_lazy_conv_input_errors():
    for module in (ember, torch):
        with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
            module.nn.LazyConv2d(4, 3, groups=2)(module.ones(1, 3, 5, 5))
        with pytest.raises(RuntimeError,
                           match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to "
                                 "LazyConv2d"):
            module.nn.LazyConv2d(4, 3)(module.ones(5, 5))
    m = ember.nn.LazyConv1d(2, 3)  # unbatched: channels from dim 0
    assert m(ember.ones(5, 8)).shape == (2, 6) and m.in_channels == 5


def test_uninitialized_parameter_refuses_use_like_torch():
    for module in (ember, torch):
        p = module.nn.UninitializedParameter()
        assert repr(p) == str(p) == "<UninitializedParameter>"
        assert p.requires_grad and p.is_leaf and p.grad is None and p.ndim == 1
        assert p.dtype == module.float32 and p.device.type == "cpu" and p.size() == (0,)
        assert module.nn.parameter.is_lazy(p) and isinstance(p, module.nn.Parameter)
        for use in (lambda p, m: p + 1, lambda p, m: p.numel(), lambda p, m: p.detach(),
                    lambda p, m: p.zero_(), lambda p, m: p.dim(),
                    lambda p, m: p.requires_grad_(False),
                    lambda p, m: m.nn.functional.linear(m.ones(2, 3), p)):
            with pytest.raises(ValueError, match=r"Attempted to use an uninitialized parameter "
                               r"in .*This error happens when you are using a `LazyModule`"):
                use(p, module)
        with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
            _ = p.shape
        with pytest.raises(RuntimeError, match="Can't share memory on an uninitialized"):
            p.share_memory_()
        p.requires_grad = False  # the attribute may be set, the method may not
        assert not p.requires_grad


def test_conversions_of_placeholders_follow_torch():
    for module in (ember, torch):
        p = module.nn.UninitializedParameter()
        assert p.float() is p and p.cpu() is p
        d = p.double()  # a parameter's conversion is a plain empty tensor
        assert type(d) is module.Tensor and d.dtype == module.float64 and d.shape == (0,)
        b = module.nn.UninitializedBuffer()
        assert repr(b) == "<UninitializedBuffer>" and not b.requires_grad and b.persistent
        bd = b.to(module.float64)
        assert type(bd) is module.nn.UninitializedBuffer and bd.dtype == module.float64


def test_materialize_in_place():
    p = ember.nn.UninitializedParameter(dtype=ember.float64)
    before = id(p)
    p.materialize((2, 3))
    assert id(p) == before and type(p) is ember.nn.Parameter
    assert p.shape == (2, 3) and p.dtype == ember.float64 and p.requires_grad
    b = ember.nn.UninitializedBuffer()
    b.materialize(4, dtype=ember.float16)
    assert type(b) is ember.Tensor and b.shape == (4,) and b.dtype == ember.float16
    assert not is_lazy(b) and not is_lazy(p)


def test_module_conversion_before_forward_keeps_placeholders():
    for module in (ember, torch):
        m = module.nn.LazyBatchNorm1d().double()
        assert module.nn.parameter.is_lazy(m.weight) and module.nn.parameter.is_lazy(
            m.running_mean)
        assert m.weight.dtype == m.running_mean.dtype == module.float64
        m(module.randn(3, 4, dtype=module.float64))
        assert m.weight.dtype == m.running_var.dtype == module.float64
        assert m.num_batches_tracked.dtype == module.int64


def test_initialize_parameters_directly_and_the_mixin_default():
    for module in (ember, torch):
        m = module.nn.LazyLinear(3)
        m.initialize_parameters(module.ones(2, 4))
        assert type(m).__name__ == "LazyLinear"  # the hook turns it into Linear, not this
        assert m.in_features == 4 and tuple(m.weight.shape) == (3, 4)
        with pytest.raises(NotImplementedError,
                           match="initialize_parameters is not implemented for LazyLinear"):
            module.nn.modules.lazy.LazyModuleMixin.initialize_parameters(m)
        no_bias = module.nn.LazyLinear(3, bias=False)
        assert no_bias.has_uninitialized_params() and no_bias.bias is None


def test_load_state_dict_materializes_like_torch():
    for module in (ember, torch):
        m = module.nn.LazyLinear(3)
        src = module.nn.Linear(5, 3)
        m.load_state_dict(src.state_dict())
        # PyTorch keeps the lazy class and in_features=0 until the forward
        assert type(m).__name__ == "LazyLinear" and m.in_features == 0
        assert tuple(m.weight.shape) == (3, 5) and not m.has_uninitialized_params()
        out = m(module.ones(2, 5))
        assert type(m).__name__ == "Linear" and m.in_features == 5
        np.testing.assert_allclose(out.detach().numpy(), src(module.ones(2, 5)).detach().numpy())
        with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "weight"'):
            module.nn.LazyLinear(3).load_state_dict({})
        bn = module.nn.LazyBatchNorm1d()
        bn.load_state_dict(module.nn.BatchNorm1d(4).state_dict())
        bn(module.randn(3, 4))
        assert repr(bn) == ("BatchNorm1d(0, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                            "track_running_stats=True)")


def test_load_state_dict_placeholders():
    for module in (ember, torch):
        m = module.nn.LazyLinear(3)
        m.load_state_dict(module.nn.LazyLinear(3).state_dict())  # placeholder into placeholder
        assert module.nn.parameter.is_lazy(m.weight)
        with pytest.raises(RuntimeError, match="Can't access the shape"):
            module.nn.Linear(2, 3).load_state_dict(module.nn.LazyLinear(3).state_dict())


def test_optimizer_made_before_the_first_forward():
    """PyTorch neither warns nor fails: the optimizer holds the placeholders, which become the
    parameters in place."""
    for opt_cls in (ember.optim.SGD, ember.optim.Adam):
        m = ember.nn.LazyLinear(3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt = opt_cls(m.parameters(), lr=0.1)
        held = opt.param_groups[0]["params"]
        m(ember.ones(2, 4)).sum().backward()
        before = m.weight.detach().clone()
        opt.step()
        assert held[0] is m.weight and not ember.equal(before, m.weight)
    # the same program under torch: no warning either
    m = torch.nn.LazyLinear(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.optim.Adam(m.parameters(), lr=0.1)


def test_copy_and_pickle_of_a_lazy_module():
    m = ember.nn.Sequential(ember.nn.LazyLinear(4), ember.nn.ReLU(), ember.nn.LazyLinear(2))
    for twin in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert is_lazy(twin[0].weight) and twin[0].weight is not m[0].weight
        assert twin(ember.ones(3, 5)).shape == (3, 2)
        assert repr(twin[0]) == "Linear(in_features=5, out_features=4, bias=True)"
        assert is_lazy(m[0].weight)  # the original is untouched


def test_parameter_counting_before_forward_raises_like_torch():
    for module in (ember, torch):
        with pytest.raises(ValueError, match="uninitialized parameter"):
            sum(p.numel() for p in module.nn.LazyLinear(3).parameters())


def test_exports():
    assert ember.nn.UninitializedParameter is ember.nn.parameter.UninitializedParameter
    assert ember.nn.UninitializedBuffer is ember.nn.parameter.UninitializedBuffer
    assert ember.nn.modules.lazy.LazyModuleMixin is LazyModuleMixin
    for name, *_ in CASES:
        cls = getattr(ember.nn, name)
        assert issubclass(cls, LazyModuleMixin) and cls.cls_to_become is not None
