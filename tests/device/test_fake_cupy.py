"""The CuPy stand-in refuses what CuPy refuses (else the device tests prove nothing) and allows
what CuPy allows (else they fail for nothing); and ember selects it as its ``cuda`` device."""

import numpy as np
import pytest

import ember
from ember import _backend

from . import fake_cupy as fc


def dev(a):
    return fc.asarray(np.asarray(a))


@pytest.mark.parametrize("convert", [np.asarray, np.array, np.ascontiguousarray,
                                     lambda a: np.lib.stride_tricks.as_strided(a, (2,), (8,)),
                                     lambda a: np.add(a, np.ones(3)),
                                     lambda a: np.concatenate([a, np.ones(3)])],
                         ids=["asarray", "array", "ascontiguousarray", "as_strided",
                              "ufunc-with-host", "function-with-host"])
def test_implicit_host_conversion_and_host_operands_are_refused(convert):
    with pytest.raises(TypeError):
        convert(dev([1.0, 2.0, 3.0]))


def test_numpy_only_features_are_refused():
    a = dev([1.0, -2.0, 3.0])
    with pytest.raises(TypeError, match="where"):
        np.divide(1, a, out=fc.empty(3), where=a > 0)
    with pytest.raises(TypeError):
        np.add.at(a, np.array([0, 0]), 1.0)  # host indices
    with pytest.raises(TypeError):
        np.add.at(a, (dev([0, 0]),), 1.0)  # NumPy's dispatch with a tuple index: NotImplemented
    with pytest.raises(TypeError, match="initial"):
        np.max(a, initial=0.0)
    with pytest.raises(AttributeError):
        a.flags.writeable  # noqa: B018
    with pytest.raises(TypeError, match="writeable"):
        np.lib.stride_tricks.sliding_window_view(a, 2, writeable=True)
    with pytest.raises(NotImplementedError):
        np.logaddexp.accumulate(a)
    with pytest.raises(TypeError):
        a[:] = np.ones(3)  # a host value assigned into device memory
    with pytest.raises(ValueError):
        np.linalg.solve(fc.ones((2, 3, 3)), fc.ones((3, 2)))  # CuPy does not broadcast batches


def test_what_cupy_allows_is_allowed():
    a = dev([[1.0, 2.0], [3.0, 4.0]])
    assert type(a + 1) is fc.ndarray and type(np.exp(a)) is fc.ndarray
    assert type(a.sum()) is fc.ndarray and a.sum().ndim == 0  # 0-d arrays, never scalars
    assert type(np.concatenate([a, a])) is fc.ndarray
    assert a[np.array([1, 0])].get().tolist() == [[3.0, 4.0], [1.0, 2.0]]  # host index: copied
    assert float(a[1, 1]) == 4.0 and a.sum().item() == 10.0
    z = fc.zeros(3)
    fc.add.at(z, dev([0, 0, 2]), 1.0)  # the device API with device indices
    z.scatter_add(dev([1, 1]), dev([2.0, 3.0]))
    assert z.get().tolist() == [2.0, 5.0, 1.0]
    d = np.diagonal(fc.zeros((2, 2)))
    d[...] = 1  # CuPy has no read-only views
    v = a[0, 1]
    v[...] = 7.0  # a 0-d view, as CuPy's
    assert a.get()[0, 1] == 7.0
    assert np.asarray(a.get()).dtype == np.float64


def test_ember_selects_the_stand_in_as_its_cuda_device():
    assert ember.cuda.is_available() and ember.cuda.device_count() == 1
    assert ember.cuda.get_device_name() == "Fake CUDA device (NumPy)"
    t = ember.ones(2, device="cuda")
    assert t.device == ember.device("cuda:0") and t.is_cuda
    assert type(t._data) is fc.ndarray
    assert _backend.get_array_module(t._data) is fc and not _backend.is_host(t._data)
    assert _backend.get_array_module(np.zeros(1)) is np


def test_the_stand_in_is_put_back_after_each_test():
    prev = _backend.use_cuda_module(None)  # what other test folders see
    try:
        assert not ember.cuda.is_available()
        with pytest.raises(AssertionError):
            ember.ones(1, device="cuda")
    finally:
        _backend.use_cuda_module(prev)
