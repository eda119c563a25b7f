"""The legacy typed classes of ``torch.cuda``: ``FloatTensor`` … (and ``torch.cuda.sparse``'s)
and ``FloatStorage`` ….

As in PyTorch they are type objects with a ``dtype`` and ``is_cuda``: ``isinstance(t,
ember.cuda.FloatTensor)`` asks whether ``t`` is a float32 tensor on a GPU (so it is False for
every tensor on a machine without one), and calling one builds a GPU tensor, as the CPU
``ember.FloatTensor(...)`` builds a CPU one. Without CUDA the call raises PyTorch's TypeError
("type torch.cuda.FloatTensor not available. Torch not compiled with CUDA enabled.").
"""

from __future__ import annotations

from .. import _dtype as D
from .. import _storage
from .._backend import Device
from . import _runtime

_TENSOR_DTYPES = {
    "FloatTensor": D.float32, "DoubleTensor": D.float64, "HalfTensor": D.float16,
    "BFloat16Tensor": D.bfloat16, "LongTensor": D.int64, "IntTensor": D.int32,
    "ShortTensor": D.int16, "CharTensor": D.int8, "ByteTensor": D.uint8, "BoolTensor": D.bool,
}
_SPARSE_NAMES = ("FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor",
                 "IntTensor", "ShortTensor", "CharTensor", "ByteTensor")


class _CudaTensorType(type):
    """The metaclass of the ``torch.cuda`` tensor types (``torch.tensortype`` in PyTorch)."""

    def __instancecheck__(cls, instance):
        device = getattr(instance, "device", None)
        return (getattr(instance, "dtype", None) is cls.dtype
                and getattr(device, "type", None) == "cuda"
                and bool(getattr(instance, "is_sparse", False)) == cls.is_sparse
                and not isinstance(instance, type))

    def __call__(cls, *args, **kwargs):
        if not _runtime.cuda_available():
            raise TypeError(f"type {cls._torch_name} not available. Torch not compiled with "
                            "CUDA enabled.")
        if cls.is_sparse:
            from .. import sparse

            return getattr(sparse, cls.__name__)(*args, **kwargs).to("cuda")
        from .._creation import _legacy_new

        return _legacy_new(cls.dtype, *args, device=Device("cuda"), **kwargs)

    def __repr__(cls):
        return f"<class '{cls._torch_name}'>"


def _tensor_type(name: str, dt: D.dtype, sparse: bool = False) -> type:
    where = "torch.cuda.sparse" if sparse else "torch.cuda"
    kind = "sparse COO " if sparse else ""
    doc = f"""``{where}.{name}``: the type of {kind}{dt} tensors on a GPU.

    ``isinstance(t, {name})`` is True for such a tensor; ``{name}(2, 3)`` or ``{name}([1, 2])``
    builds one (TypeError without CUDA, as in PyTorch).

    Example:
        >>> isinstance(ember.zeros(2), ember.{where[6:]}.{name})
        False
    """
    return _CudaTensorType(name, (), {
        "dtype": dt, "is_cuda": True, "is_sparse": sparse, "_torch_name": f"{where}.{name}",
        "__doc__": doc, "__module__": f"ember.{where[6:]}"})


TENSOR_TYPES = {name: _tensor_type(name, dt) for name, dt in _TENSOR_DTYPES.items()}
SPARSE_TENSOR_TYPES = {name: _tensor_type(name, _TENSOR_DTYPES[name], sparse=True)
                       for name in _SPARSE_NAMES}


class _CudaLegacyStorageMeta(_storage._LegacyStorageMeta):
    """``isinstance(s, ember.cuda.FloatStorage)``: a float32 TypedStorage on a GPU."""

    def __instancecheck__(cls, instance):
        return (type(instance) is _storage.TypedStorage and instance.device.type == "cuda"
                and instance.dtype is cls.dtype)


class _CudaLegacyStorage(_storage.TypedStorage, metaclass=_CudaLegacyStorageMeta):
    """Base of ``ember.cuda.FloatStorage`` and friends: ``FloatStorage(3)`` or
    ``FloatStorage([1, 2])`` make a GPU ``TypedStorage`` of that dtype."""

    _dtype = None
    is_cuda = True

    def __new__(cls, *args, wrap_storage=None, dtype=None, device=None, _internal=False):
        _storage._warn_typed_storage_removal()
        _runtime.cupy(f"ember.cuda.{cls.__name__} needs a GPU")
        if cls is _CudaLegacyStorage:
            raise RuntimeError("Only child classes of _LegacyStorage can be instantiated")
        if wrap_storage is not None:
            return _storage.TypedStorage(wrap_storage=wrap_storage, dtype=cls.dtype,
                                         _internal=True)
        return _storage.TypedStorage(*args, dtype=cls.dtype, device="cuda", _internal=True)


def _storage_type(name: str, dt: D.dtype) -> type:
    doc = f"""``torch.cuda.{name}``: builds a GPU ``TypedStorage`` of dtype {dt} (PyTorch's
    AssertionError without CUDA).

    Example:
        >>> import warnings; warnings.simplefilter("ignore")
        >>> ember.cuda.{name}(2).size()  # on a GPU machine
        2
    """
    return _CudaLegacyStorageMeta(name, (_CudaLegacyStorage,),
                                  {"_dtype": dt, "__doc__": doc, "__module__": "ember.cuda"})


STORAGE_TYPES = {name: _storage_type(name, dt) for name, dt in _storage._LEGACY.items()}
