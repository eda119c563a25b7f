"""Top-level constants, memory formats, configuration switches and tensor predicates, each
checked against PyTorch."""

import math
import pickle
import warnings

import pytest

import ember
import ember._config as config


def _libs(torch):
    return (ember, torch)


def _error(fn, *args):
    try:
        fn(*args)
    except Exception as err:  # noqa: BLE001  (the type is what is compared)
        return type(err), str(err)
    return None


def _same_error(torch, name, *args, match=None):
    got, want = _error(getattr(ember, name), *args), _error(getattr(torch, name), *args)
    assert want is not None and got is not None, (got, want)
    assert got[0] is want[0], (got, want)
    if match:
        assert match in got[1] and match in want[1], (got, want)


# -- constants ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["inf", "pi", "e"])
def test_float_constants_match(torch, name):
    value = getattr(ember, name)
    assert type(value) is type(getattr(torch, name)) is float
    assert value == getattr(torch, name)


def test_nan_and_newaxis(torch):
    assert type(ember.nan) is float and math.isnan(ember.nan) and math.isnan(torch.nan)
    assert ember.newaxis is None and torch.newaxis is None
    assert ember.ones(3)[ember.newaxis].shape == torch.ones(3)[torch.newaxis].shape == (1, 3)


# -- memory formats -----------------------------------------------------------------------------

FORMATS = ["contiguous_format", "preserve_format", "channels_last", "channels_last_3d",
           "legacy_contiguous_format"]


@pytest.mark.parametrize("name", FORMATS)
def test_memory_format_objects(torch, name):
    fmt = getattr(ember, name)
    assert isinstance(fmt, ember.memory_format)
    assert repr(fmt) == repr(getattr(torch, name)) == str(fmt)
    assert pickle.loads(pickle.dumps(fmt)) is fmt


def test_memory_format_identity(torch):
    assert ember.legacy_contiguous_format is ember.contiguous_format
    assert torch.legacy_contiguous_format is torch.contiguous_format
    assert ember.channels_last != ember.contiguous_format
    assert len({ember.contiguous_format, ember.preserve_format, ember.channels_last,
                ember.channels_last_3d}) == 4
    for lib in _libs(torch):
        with pytest.raises(TypeError, match="cannot create 'torch.memory_format' instances"):
            lib.memory_format()


@pytest.mark.parametrize("name", FORMATS)
def test_memory_format_keywords_accept_the_objects(name):
    fmt = getattr(ember, name)
    # channels_last_3d needs a 5-D tensor (torch refuses others: tested in test_channels_last)
    x = ember.arange(24.0).reshape(1, 2, 3, 4, *((1,) if name == "channels_last_3d" else ()))
    for y in (x.contiguous(memory_format=fmt), x.clone(memory_format=fmt),
              x.to(memory_format=fmt), x.to(ember.float64, memory_format=fmt),
              x.float(memory_format=fmt), x.cpu(memory_format=fmt)):
        assert y.tolist() == x.tolist()
    for like in (ember.empty_like, ember.zeros_like, ember.ones_like, ember.rand_like,
                 ember.randn_like):
        assert like(x, memory_format=fmt).shape == x.shape
    assert isinstance(x.is_contiguous(memory_format=fmt), bool)
    model = ember.nn.Conv3d(2, 3, 1) if x.dim() == 5 else ember.nn.Conv2d(2, 3, 1)
    assert model.to(memory_format=fmt) is model
    assert model(x).shape == (1, 3, 3, 4, *x.shape[4:])


# -- float32 matmul precision -------------------------------------------------------------------

@pytest.fixture
def restore_precision(torch):
    yield
    ember.set_float32_matmul_precision("highest")
    torch.set_float32_matmul_precision("highest")


def test_matmul_precision_values(torch, restore_precision):
    for lib in _libs(torch):
        assert lib.get_float32_matmul_precision() == "highest"
        for value in ("high", "medium", "highest"):
            assert lib.set_float32_matmul_precision(value) is None
            assert lib.get_float32_matmul_precision() == value


def test_matmul_precision_changes_no_result(restore_precision):
    a, b = ember.randn(5, 7), ember.randn(7, 3)
    exact = (a @ b).tolist()
    ember.set_float32_matmul_precision("medium")
    assert (a @ b).tolist() == exact


@pytest.mark.parametrize("value", ["low", "HIGH", ""])
def test_matmul_precision_unknown_string_warns_and_is_ignored(torch, restore_precision, value):
    for lib in _libs(torch):
        lib.set_float32_matmul_precision("high")
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            lib.set_float32_matmul_precision(value)
        assert lib.get_float32_matmul_precision() == "high"


@pytest.mark.parametrize("value", [1, None, 0.5])
def test_matmul_precision_non_string_raises(torch, value):
    _same_error(torch, "set_float32_matmul_precision", value, match="expects a str")


# -- flush denormal, interop threads, warn always -----------------------------------------------

def test_set_flush_denormal_answers_false_and_checks_type(torch):
    assert ember.set_flush_denormal(True) is False
    assert ember.set_flush_denormal(False) is False
    assert isinstance(torch.set_flush_denormal(False), bool)
    for bad in ("x", 1):
        _same_error(torch, "set_flush_denormal", bad, match="expects a bool")


def test_interop_threads_default(torch):
    n = ember.get_num_interop_threads()
    assert isinstance(n, int) and n >= 1
    assert isinstance(torch.get_num_interop_threads(), int)


@pytest.mark.parametrize("bad,match", [(0, "positive integer"), (-1, "positive integer"),
                                       ("2", "expects an int"), (2.0, "expects an int"),
                                       (True, "expects an int")])
def test_set_num_interop_threads_validates(torch, bad, match):
    _same_error(torch, "set_num_interop_threads", bad, match=match)


def test_set_num_interop_threads_once(monkeypatch):
    monkeypatch.setattr(config, "_interop_threads", None)
    assert ember.set_num_interop_threads(3) is None
    assert ember.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
        ember.set_num_interop_threads(4)
    assert ember.get_num_interop_threads() == 3


def test_set_num_interop_threads_once_in_torch(torch):
    # a fresh process each: torch's setting is once per process too
    import subprocess
    import sys

    code = ("import {0} as t\nt.set_num_interop_threads(3)\nprint(t.get_num_interop_threads())\n"
            "try:\n    t.set_num_interop_threads(4)\nexcept RuntimeError as e:\n    print(e)\n")
    outs = [subprocess.run([sys.executable, "-c", code.format(m)], capture_output=True,
                           text=True, timeout=120).stdout for m in ("ember", "torch")]
    assert outs[0] == outs[1] and outs[0].startswith("3\n"), outs


def test_warn_always(torch, monkeypatch):
    monkeypatch.setattr(config, "_warn_always", False)
    try:
        for lib in _libs(torch):
            assert lib.is_warn_always_enabled() is False
            assert lib.set_warn_always(True) is None
            assert lib.is_warn_always_enabled() is True
            lib.set_warn_always(False)
            assert lib.is_warn_always_enabled() is False
    finally:
        torch.set_warn_always(False)
    for bad in ("x", 1):
        _same_error(torch, "set_warn_always", bad, match="expects a bool")


# -- anomaly mode ---------------------------------------------------------------------------------

def test_anomaly_switches_match_torch(torch):
    try:
        for lib in _libs(torch):
            assert (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) == (False, True)
            lib.set_anomaly_enabled(True, False)
            assert (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) == (True, False)
            lib.set_anomaly_enabled(True)
            assert (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) == (True, True)
            lib.set_anomaly_enabled(False)
            assert (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) == (False, True)
    finally:
        torch.set_anomaly_enabled(False)
        ember.set_anomaly_enabled(False)


def test_anomaly_state_is_shared_with_autograd(torch):
    for lib in _libs(torch):
        with lib.autograd.detect_anomaly(check_nan=False):
            assert (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) == (True, False)
            with lib.autograd.set_detect_anomaly(False):
                assert not lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
            assert (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) == (True, False)
        assert (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) == (False, True)
    try:
        ember.set_anomaly_enabled(True)
        assert ember.autograd.is_anomaly_enabled()
    finally:
        ember.set_anomaly_enabled(False)


def test_anomaly_check_nan_off_lets_nan_through(torch):
    for lib in _libs(torch):
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        try:
            lib.set_anomaly_enabled(True, check_nan=False)
            (x / x).sum().backward()  # no error: the NaN check is off
            assert math.isnan(x.grad.tolist()[0])
            x.grad = None
            lib.set_anomaly_enabled(True)
            with pytest.raises(RuntimeError, match="returned nan values"):
                (x / x).sum().backward()
        finally:
            lib.set_anomaly_enabled(False)


@pytest.mark.parametrize("args", [("x",), (1,), (True, 1)])
def test_set_anomaly_enabled_bad_types(torch, args):
    _same_error(torch, "set_anomaly_enabled", *args, match="must be bool")


# -- set_default_tensor_type -----------------------------------------------------------------------

@pytest.fixture
def restore_dtype(torch):
    yield
    ember.set_default_dtype(ember.float32)
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("name", ["DoubleTensor", "HalfTensor", "BFloat16Tensor",
                                  "FloatTensor"])
def test_set_default_tensor_type(torch, restore_dtype, name):
    for lib in _libs(torch):
        for t in (getattr(lib, name), f"torch.{name}"):
            lib.set_default_dtype(lib.float32)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert lib.set_default_tensor_type(t) is None
            assert repr(lib.get_default_dtype()) == repr(getattr(torch, name)().dtype)
            assert repr(lib.tensor([1.0]).dtype) == repr(lib.get_default_dtype())


def test_set_default_tensor_type_warns(torch, restore_dtype, monkeypatch):
    monkeypatch.setattr(config, "_warn_always", True)
    with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
        ember.set_default_tensor_type(ember.FloatTensor)


@pytest.mark.parametrize("make", [lambda L: L.LongTensor, lambda L: "torch.LongTensor",
                                  lambda L: L.BoolTensor, lambda L: L.float64, lambda L: 3,
                                  lambda L: L.Tensor, lambda L: L.sparse.DoubleTensor,
                                  lambda L: "torch.Nope", lambda L: "DoubleTensor"])
def test_set_default_tensor_type_errors(torch, restore_dtype, make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, want = _error(ember.set_default_tensor_type, make(ember)), \
            _error(torch.set_default_tensor_type, make(torch))
    assert want is not None and got is not None and got[0] is want[0], (got, want)
    assert got[1].replace("'ember'", "'torch'") == want[1]
    assert ember.get_default_dtype() is ember.float32


# -- typename and tensor predicates ---------------------------------------------------------------

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool", "complex64", "complex128"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_typename_of_tensors(torch, dtype):
    got = ember.typename(ember.zeros(2, dtype=getattr(ember, dtype)))
    assert got == torch.typename(torch.zeros(2, dtype=getattr(torch, dtype)))


def test_typename_of_other_objects(torch):
    for obj in (3, 2.5, "s", None, [1], {}):
        assert ember.typename(obj) == torch.typename(obj)
    assert ember.typename(ember.nn.Parameter(ember.ones(1))) == "torch.FloatTensor"
    assert ember.typename(ember.ones(2).to_sparse()) == \
        torch.typename(torch.ones(2).to_sparse()) == "torch.sparse.FloatTensor"
    assert ember.typename(ember.nn.Linear(1, 1)) == "ember.nn.modules.linear.Linear"
    assert torch.typename(torch.nn.Linear(1, 1)) == "torch.nn.modules.linear.Linear"


@pytest.mark.parametrize("dtype", DTYPES)
def test_is_signed(torch, dtype):
    assert ember.is_signed(ember.zeros(1, dtype=getattr(ember, dtype))) is \
        torch.is_signed(torch.zeros(1, dtype=getattr(torch, dtype)))


@pytest.mark.parametrize("values", [[0.0], [0.5], [[0]], [float("nan")], [-1]])
def test_is_nonzero(torch, values):
    assert ember.is_nonzero(ember.tensor(values)) is torch.is_nonzero(torch.tensor(values))
    assert ember.is_nonzero(ember.tensor(values)) is ember.tensor(values).is_nonzero()


@pytest.mark.parametrize("values", [[], [1.0, 2.0]])
def test_is_nonzero_ambiguous(torch, values):
    got = _error(ember.is_nonzero, ember.tensor(values))
    assert got == _error(torch.is_nonzero, torch.tensor(values))
    assert got[0] is RuntimeError and "is ambiguous" in got[1]


def test_is_same_size_is_inference_is_distributed_get_device(torch):
    for lib in _libs(torch):
        a, b = lib.zeros(2, 3), lib.ones(2, 3)
        assert lib.is_same_size(a, b) is True
        assert lib.is_same_size(a, lib.ones(3, 2)) is False
        assert lib.is_distributed(a) is False
        assert lib.get_device(a) == -1
        assert lib.is_inference(a) is False
        with lib.inference_mode():
            c = lib.ones(2) * 2
        assert lib.is_inference(c) is True


@pytest.mark.parametrize("name,args", [("is_nonzero", (3,)), ("is_signed", (3,)),
                                       ("is_distributed", (None,)), ("get_device", (1,)),
                                       ("is_inference", ([1],)), ("is_same_size", (3, 4))])
def test_predicates_refuse_non_tensors(torch, name, args):
    got, want = _error(getattr(ember, name), *args), _error(getattr(torch, name), *args)
    assert got == want and got[0] is TypeError, (got, want)


def test_is_same_size_second_argument(torch):
    got = _error(ember.is_same_size, ember.ones(2), [1, 2])
    assert got == _error(torch.is_same_size, torch.ones(2), [1, 2])


# -- build flags and error classes -------------------------------------------------------------

def test_build_flags(torch):
    assert ember.compiled_with_cxx11_abi() is True is torch.compiled_with_cxx11_abi()
    for name in ("has_lapack", "has_mkl", "has_openmp", "has_spectral"):
        assert type(getattr(ember, name)) is type(getattr(torch, name)) is bool
    assert (ember.has_lapack, ember.has_spectral) == (True, True)
    assert (ember.has_mkl, ember.has_openmp) == (False, False)
    assert ember.has_mkl is ember.backends.mkl.is_available()
    assert ember.has_openmp is ember.backends.openmp.is_available()


@pytest.mark.parametrize("name", ["OutOfMemoryError", "AcceleratorError"])
def test_error_classes(torch, name):
    cls = getattr(ember, name)
    assert cls.__mro__[1:] == getattr(torch, name).__mro__[1:]
    assert cls.__name__ == name
    with pytest.raises(RuntimeError, match="boom"):
        raise cls("boom")
    assert isinstance(pickle.loads(pickle.dumps(cls("x"))), cls)
