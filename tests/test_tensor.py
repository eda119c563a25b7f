"""The Tensor surface against torch: attributes, layout, conversions, legacy constructors."""

import copy

import numpy as np
import pytest

import ember


def _arange(lib):
    return lib.arange(24.0).reshape(2, 3, 4)


def _views(t):
    return [t, t.transpose(0, 2), t[1], t[:, 1], t[..., 1:3], t.permute(2, 0, 1), t[0].t(),
            t[:, ::2], t.unsqueeze(1), t[0].unsqueeze(0).expand(5, 3, 4), t.view(6, 4)]


CASES = {
    "shape": lambda L, t: (t.shape, t.size(), t.size(1), t.size(-1), t.dtype, t.device, t.ndim,
                           t.dim(), t.numel(), len(t), t.nelement(), t.ndimension()),
    "layout": lambda L, t: [(v.stride(), v.storage_offset(), v.is_contiguous())
                            for v in _views(t)],
    "contiguous": lambda L, t: (t.transpose(0, 2).contiguous().stride(),
                                t.transpose(0, 2).clone().stride(),
                                t.transpose(0, 2).contiguous().is_contiguous(),
                                t.contiguous() is t),
    "item": lambda L, t: (L.tensor(3.5).item(), L.tensor([7]).item(),
                          type(L.tensor(2).item()), type(L.tensor(True).item())),
    "tolist": lambda L, t: (t[0].tolist(), L.tensor(2.0).tolist(), L.tensor([True]).tolist()),
    "to_forms": lambda L, t: [str(t.to(L.float64).dtype), str(t.to("cpu").device),
                              str(t.to(L.ones(1, dtype=L.int32)).dtype),
                              str(t.to("cpu", L.int64).dtype), str(t.to(dtype=L.float16).dtype),
                              t.to(L.device("cpu")) is t, t.to(L.float32) is t,
                              t.to(L.float32, copy=True) is t, t.cpu() is t],
    "type": lambda L, t: (t.type(), str(t.type(L.int64).dtype),
                          str(t.type("torch.DoubleTensor").dtype), L.tensor([1]).type(),
                          L.tensor([True]).type(), L.tensor([1], dtype=L.uint8).type()),
    "casts": lambda L, t: [str(x.dtype) for x in [t.float(), t.double(), t.half(), t.int(),
                                                  t.long(), t.short(), t.bool(), t.byte(),
                                                  t.char(), t.bfloat16()]],
    "element_size": lambda L, t: [L.ones(1, dtype=d).element_size() for d in
                                  [L.float32, L.float64, L.int8, L.int16, L.bool, L.float16,
                                   L.bfloat16, L.int64, L.uint8, L.int32]] + [t.nbytes,
                                                                              t.itemsize],
    "transposes": lambda L, t: (L.ones(2, 3).T.shape, t.mT.shape, L.ones(2, 3).mT.shape),
    "iteration": lambda L, t: [r.tolist() for r in L.tensor([[1, 2], [3, 4]])],
    "scalars": lambda L, t: (bool(L.tensor([0.0])), bool(L.tensor(3)), float(L.tensor([2.5])),
                             int(L.tensor(3.9)), int(L.tensor([-3.9])), [1, 2, 3][L.tensor(1)],
                             [1, 2, 3][L.tensor([2])], [1, 2, 3][L.tensor(True)]),
    "legacy": lambda L, t: (L.FloatTensor(2, 3).shape, L.FloatTensor([2, 3]).tolist(),
                            L.FloatTensor(L.Size([2, 3])).shape, str(L.LongTensor([1, 2]).dtype),
                            L.FloatTensor().shape, str(L.DoubleTensor(3).dtype),
                            L.IntTensor([[1]]).tolist(), L.BoolTensor([1, 0]).tolist(),
                            L.Tensor(2, 2).shape, str(L.Tensor([1, 2]).dtype), L.Tensor().shape,
                            str(L.ByteTensor([3]).dtype), str(L.HalfTensor(1).dtype)),
    "device": lambda L, t: (L.device("cpu"), str(L.device("cpu")), L.device("cuda:1"),
                            L.device("cuda", 0).index, L.device("cpu") == L.device("cpu"),
                            L.device("meta").type, L.device(L.device("cpu")), str(t.device),
                            t.get_device(), t.is_cuda, t.is_cpu, t.is_meta),
    "meta": lambda L, t: (lambda m: (m.shape, m.dtype, m.device, m.is_meta, (m + 1).shape,
                                     (m * m).device, repr(m)))(L.empty(2, 3, device="meta")),
    "tensor_dtypes": lambda L, t: [str(L.tensor(v).dtype) for v in
                                   [1, 1.0, True, [1, 2.0], [[1], [2]], np.float64(1),
                                    np.array([1, 2], dtype=np.int32), 1 + 2j, [True, False],
                                    np.array(3.0, dtype=np.float32), []]],
    "autograd_attrs": lambda L, t: (
        L.ones(2).requires_grad_().requires_grad,
        (lambda x: (x.data.requires_grad, x.data.is_leaf, x.is_leaf, x.grad_fn.name()))(
            L.ones(2, requires_grad=True) * 2),
        (lambda c: (c.requires_grad, c.grad_fn.name()))(L.ones(2, requires_grad=True).clone())),
    "new_methods": lambda L, t: [(str(n.dtype), n.shape) for n in [
        t.new_zeros(2), t.new_tensor([1, 2]), t.new_ones((2, 3)), t.new_full((2,), 3),
        t.new_empty(3), L.tensor([1]).new_zeros(2, 2), t.new_ones(2, dtype=L.int64)]],
    "size_object": lambda L, t: (repr(t.shape), repr(L.Size([])), t.shape == (2, 3, 4),
                                 t.shape[1:], type(t.shape[1:]).__name__,
                                 L.Size([2, 3]).numel(), t.shape + (5,)),
    "zero_d_and_empty": lambda L, t: (L.tensor(5).shape, L.tensor(5).dim(), L.tensor(5).stride(),
                                      L.tensor([]).shape, L.zeros(0, 3).stride(),
                                      L.zeros(0, 3).numel()),
    "predicates": lambda L, t: (t.is_floating_point(), L.tensor([1]).is_floating_point(),
                                L.is_tensor(t), L.numel(t), L.is_tensor([1]),
                                L.is_floating_point(t)),
    "format": lambda L, t: (f"{L.tensor(2.5):.2f}", f"{L.tensor([1.0])}"),
    "deepcopy": lambda L, t: (lambda c: (c.requires_grad, c.tolist(), c.is_leaf))(
        copy.deepcopy(L.ones(2, requires_grad=True))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_surface_matches_torch(torch, case):
    got = CASES[case](ember, _arange(ember))
    want = CASES[case](torch, _arange(torch))
    assert repr(got) == repr(want)


ERRORS = {
    "item_of_many": (lambda L: L.tensor([1.0, 2.0]).item(), RuntimeError),
    "numpy_requires_grad": (lambda L: L.ones(2, requires_grad=True).numpy(), RuntimeError),
    "len_0d": (lambda L: len(L.tensor(1.0)), TypeError),
    "iter_0d": (lambda L: list(L.tensor(1.0)), TypeError),
    "bool_many": (lambda L: bool(L.tensor([1, 2])), RuntimeError),
    "bool_empty": (lambda L: bool(L.tensor([])), RuntimeError),
    "float_many": (lambda L: float(L.tensor([1.0, 2.0])), (TypeError, ValueError, RuntimeError)),
    "int_many": (lambda L: int(L.tensor([1, 2])), (TypeError, ValueError, RuntimeError)),
    "index_float": (lambda L: [1, 2, 3][L.tensor(1.0)], TypeError),
    "legacy_bad_size": (lambda L: L.FloatTensor(2, [3]), TypeError),
    "bad_device": (lambda L: L.device("gpu"), RuntimeError),
    "size_out_of_range": (lambda L: L.ones(2, 3).size(3), IndexError),
    "view_incompatible": (lambda L: _arange(L).transpose(0, 1).view(-1), RuntimeError),
    "meta_item": (lambda L: L.empty(2, device="meta").sum().item(), RuntimeError),
    "cuda_without_gpu": (lambda L: L.ones(1).cuda(), (AssertionError, RuntimeError)),
    "from_numpy_strings": (lambda L: L.from_numpy(np.array(["a"])), TypeError),
    "from_numpy_list": (lambda L: L.from_numpy([1, 2]), TypeError),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(torch, case):
    fn, kind = ERRORS[case]
    if case == "cuda_without_gpu" and torch.cuda.is_available():
        pytest.skip("torch has a GPU here")
    with pytest.raises(kind) as want:
        fn(torch)
    with pytest.raises(type(want.value)):
        fn(ember)


def test_numpy_error_says_detach():
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        ember.ones(2, requires_grad=True).numpy()


def test_cuda_error_is_clear():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="is_available"):
        ember.ones(1).to("cuda")


def test_numpy_shares_memory():
    t = ember.zeros(3)
    a = t.numpy()
    a[0] = 5.0
    assert t.tolist() == [5.0, 0.0, 0.0]
    t.add_(1)
    assert a.tolist() == [6.0, 1.0, 1.0]
    v = ember.arange(6.0).reshape(2, 3).t()
    assert np.shares_memory(v.numpy(), v.t().numpy())


def test_from_numpy_shares_memory_and_keeps_dtype(torch):
    for dt in ["float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
               "bool"]:
        arr = np.zeros(3, dtype=dt)
        assert str(ember.from_numpy(arr).dtype) == str(torch.from_numpy(arr).dtype)
    arr = np.array([1.0, 2.0])
    t = ember.from_numpy(arr)
    arr[0] = 9.0
    assert t.tolist() == [9.0, 2.0] and t.dtype is ember.float64
    t.mul_(2)
    assert arr.tolist() == [18.0, 4.0]


@pytest.mark.parametrize("expr", [
    "np.sin(L.tensor([1.0, 2.0]))", "np.greater(L.tensor([1.0, 2.0]), 1)",  # bool -> uint8
    "np.sqrt(L.tensor([4, 9]))", "np.exp(L.tensor(1.0))", "np.add(1, L.tensor([1.0]))",
    "np.maximum(L.arange(3.0).view(3, 1).expand(3, 2), 1.0)", "np.divmod(L.tensor([3.0]), 2)",
    "np.add.accumulate(L.tensor([1.0, 2.0]))", "np.dot(L.tensor([1.0]), L.tensor([2.0]))",
    "np.negative(L.tensor([1.0]), out=np.empty(1, np.float32))",
])
def test_numpy_ufuncs_on_tensors_give_tensors_as_torch(torch, expr):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch's __array_wrap__ signature
        want = eval(expr, {"L": torch, "np": np})
    got = eval(expr, {"L": ember, "np": np})
    assert repr(got).replace("ember", "torch") == repr(want)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow",
                                "matmul", "and_", "xor", "lshift", "eq", "ne", "lt", "ge"])
@pytest.mark.parametrize("dtype, array", [
    ("float32", "np.array([1.0, 3.0])"), ("int64", "np.array([1, 3])"),
    ("float32", "np.array(2.0)"), ("int64", "np.array([[1], [2]], dtype=np.int32)"),
])
def test_operators_with_numpy_arrays_as_torch(torch, op, dtype, array):
    # tensor OP ndarray is left to NumPy (NotImplemented), whose result comes back as a tensor;
    # == compares elementwise, != falls back to identity, < raises TypeError
    import operator
    import warnings

    results = []
    for lib in (torch, ember):
        t = lib.tensor([1, 2], dtype=getattr(lib, dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch's __array_wrap__
            try:
                r = getattr(operator, op)(t, eval(array))
                results.append(f"{type(r).__name__} {r!r}".replace("torch.", ""))
            except (TypeError, ValueError) as e:
                results.append(type(e).__name__)
    assert results[1] == results[0]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow",
                                "matmul", "and_", "lshift", "eq", "lt",
                                "iadd", "isub", "imul", "itruediv", "ifloordiv", "imod", "ipow",
                                "iand"])
@pytest.mark.parametrize("dtype, array", [
    ("float32", "np.array([1.0, 3.0])"), ("int64", "np.array([1, 3])"),
    ("float64", "np.array([1.0, 3.0], dtype=np.float32)"), ("float32", "np.array(2.0)"),
    ("int64", "np.array([[1], [2]], dtype=np.int32)"),
])
def test_numpy_array_on_the_left_and_in_place_as_torch(torch, op, dtype, array):
    # ndarray OP tensor: torch's reflected operators give NotImplemented, except / (its
    # __rtruediv__ is reciprocal() * ndarray); tensor OP= ndarray falls back to tensor OP ndarray,
    # a new tensor, and leaves the original as it was
    import operator
    import warnings

    results = []
    for lib in (torch, ember):
        t = lib.tensor([1, 2], dtype=getattr(lib, dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch's __array_wrap__
            try:
                if op.startswith("i"):
                    r = getattr(operator, op)(t, eval(array))
                    results.append(f"{type(r).__name__} {r!r} {r is t} {t!r}")
                else:
                    r = getattr(operator, op)(eval(array), t)
                    results.append(f"{type(r).__name__} {r!r}")
            except (TypeError, ValueError) as e:
                results.append(type(e).__name__)
    assert results[1].replace("torch.", "") == results[0].replace("torch.", "")


def test_as_tensor_shares_when_it_can(torch):
    arr = np.array([1.0, 2.0])
    t = ember.as_tensor(arr)
    arr[0] = 42.0
    assert t.tolist() == [42.0, 2.0] and t.dtype is ember.float64
    assert ember.as_tensor(arr, dtype=ember.float32).dtype is ember.float32
    x = ember.ones(2)
    assert ember.as_tensor(x) is x
    assert ember.as_tensor([1, 2]).dtype is ember.int64
    assert ember.tensor(arr).numpy() is not arr  # tensor() always copies
    arr[1] = -1.0
    assert ember.tensor(np.array([0.0])).tolist() == [0.0] and t.tolist()[1] == -1.0


def test_clone_detach_contiguous_semantics():
    a = ember.ones(2, 3, requires_grad=True)
    c = a.clone()
    assert c.grad_fn is not None and c.data_ptr() != a.data_ptr()
    d = a.detach()
    assert d.data_ptr() == a.data_ptr() and not d.requires_grad
    t = ember.arange(6.0).reshape(2, 3).t()
    assert not t.is_contiguous() and t.contiguous().is_contiguous()
    assert t.contiguous().tolist() == t.tolist()


def test_requires_grad_setter_and_grad_fields():
    x = ember.ones(2)
    x.requires_grad = True
    assert x.requires_grad and x.grad is None and x.is_leaf and x.grad_fn is None
    x.requires_grad_(False)
    assert not x.requires_grad


def test_meta_tensors_have_no_data():
    m = ember.zeros(1000, 1000, device="meta")
    assert m.shape == (1000, 1000) and m.device.type == "meta"
    with pytest.raises((RuntimeError, TypeError)):
        m.numpy()
    with pytest.raises(RuntimeError):
        m.item()


def test_out_keyword_on_functions_that_lack_their_own(torch):
    a = ember.ones(2, 2)
    out = ember.empty(2, 2)
    assert ember.matmul(a, a, out=out) is out
    assert out.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="out="):
        ember.matmul(x, x, out=ember.empty(()))


def test_is_storage_matches_torch(torch):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that TypedStorage is deprecated
        for lib in (ember, torch):
            t = lib.ones(2)
            assert [lib.is_storage(x) for x in (t.untyped_storage(), t, t.storage(), 3)] == \
                [True, False, True, False]


def test_set_num_threads_round_trip(torch):
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1
        assert ember.ones(64, 64).matmul(ember.ones(64, 64))[0, 0].item() == 64.0
    finally:
        ember.set_num_threads(before)
    assert ember.get_num_threads() == before
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="positive integer"):
            lib.set_num_threads(0)


@pytest.mark.parametrize("how", ["method", "setter", "tensor", "ones", "parameter"])
def test_integer_requires_grad_error_starts_with_torchs_words(how):
    """torch words the refusal three ways; ember's message starts with the same words."""
    torch = pytest.importorskip("torch")

    def attempt(lib):
        if how == "method":
            lib.tensor([1, 2]).requires_grad_()
        elif how == "setter":
            lib.tensor([1, 2]).requires_grad = True
        elif how == "tensor":
            lib.tensor([1, 2], requires_grad=True)
        elif how == "ones":
            lib.ones(2, dtype=lib.long, requires_grad=True)
        else:
            lib.nn.Parameter(lib.tensor([1, 2]))

    with pytest.raises(RuntimeError) as want:
        attempt(torch)
    with pytest.raises(RuntimeError) as got:
        attempt(ember)
    assert str(got.value).startswith(str(want.value))


_SCALAR_WARNING_PROGRAM = """
import warnings
import {lib} as torch
warnings.simplefilter("always")
x = torch.ones(1, requires_grad=True)
with warnings.catch_warnings(record=True) as seen:
    int(x); x.item(); bool(x); x.tolist(); float(x.detach())
    float(x); complex(x); float(x * 2)
print([str(w.message).split(" (Triggered")[0] for w in seen])
"""


def test_float_of_a_grad_tensor_warns_once_per_process_as_torch(torch):
    # torch warns once per process (float and complex share the warning); int/item/tolist never
    import subprocess
    import sys

    outputs = [subprocess.run([sys.executable, "-c", _SCALAR_WARNING_PROGRAM.format(lib=lib)],
                              capture_output=True, text=True, timeout=300, check=True).stdout
               for lib in ("torch", "ember")]
    assert "Consider using tensor.detach() first." in outputs[0]
    assert outputs[1] == outputs[0]
