"""Write PyTorch's ``data.pkl`` without torch.

PyTorch's pickle names globals such as ``torch._utils._rebuild_tensor_v2`` and
``torch.FloatStorage``. ember writes those names through stand-in objects (``TorchGlobal``)
that the pickler emits as GLOBAL opcodes, and gives each storage a persistent id
``('storage', <torch.XStorage>, key, location, numel)`` whose bytes go to ``data/<key>``.
"""

from __future__ import annotations

import collections
import pickle

import numpy as np

from .. import _dtype as D
from .. import _layout
from .._backend import Device, to_numpy
from .._tensor import Size, Tensor
from . import locations

STORAGE_NAMES = {
    D.float64: "DoubleStorage", D.float32: "FloatStorage", D.float16: "HalfStorage",
    D.bfloat16: "BFloat16Storage", D.int64: "LongStorage", D.int32: "IntStorage",
    D.int16: "ShortStorage", D.int8: "CharStorage", D.uint8: "ByteStorage",
    D.bool: "BoolStorage", D.complex64: "ComplexFloatStorage",
    D.complex128: "ComplexDoubleStorage",
    D.qint8: "QInt8Storage", D.quint8: "QUInt8Storage", D.qint32: "QInt32Storage",
}


class TorchGlobal:
    """Stands for a global of the torch namespace; pickled as a GLOBAL opcode by name."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __repr__(self):
        return f"{self.module}.{self.name}"

    def __call__(self, *args):  # pickle requires reduce functions to be callable
        raise TypeError(f"{self!r} is a stand-in for pickling, not callable in ember")


_GLOBALS: dict = {}


def torch_global(module: str, name: str) -> TorchGlobal:
    """The one stand-in for ``module.name`` (shared, so the pickle memoizes it)."""
    key = (module, name)
    g = _GLOBALS.get(key)
    if g is None:
        g = _GLOBALS[key] = TorchGlobal(module, name)
    return g


REBUILD_TENSOR = torch_global("torch._utils", "_rebuild_tensor_v2")
# dtypes with no typed storage class (uint16/32/64, float8): PyTorch writes an untyped (byte)
# storage and names the dtype in _rebuild_tensor_v3's extra argument.
REBUILD_TENSOR_V3 = torch_global("torch._utils", "_rebuild_tensor_v3")
UNTYPED_STORAGE = torch_global("torch.storage", "UntypedStorage")
REBUILD_PARAMETER = torch_global("torch._utils", "_rebuild_parameter")
TORCH_SIZE = torch_global("torch", "Size")
TORCH_DEVICE = torch_global("torch", "device")
REBUILD_SPARSE = torch_global("torch._utils", "_rebuild_sparse_tensor")
GET_LAYOUT = torch_global("torch.serialization", "_get_layout")
REBUILD_QTENSOR = torch_global("torch._utils", "_rebuild_qtensor")
_COMPRESSED_LAYOUTS = (_layout.sparse_csr, _layout.sparse_csc)


class _Reduced:
    """A value pickled as the call ``fn(*args)`` (a REDUCE of stand-in globals)."""

    __slots__ = ("fn", "args")

    def __init__(self, fn, args):
        self.fn, self.args = fn, args


class StorageRef:
    """One storage to be written as ``data/<key>``: a contiguous array and its location."""

    __slots__ = ("array", "key", "location", "dtype")

    def __init__(self, array, key, location, dtype):
        self.array, self.key, self.location, self.dtype = array, key, location, dtype


def _storage_view(t: Tensor):
    """(root array, offset, strides) in elements, when ``t`` can be written as a view of its
    root storage; else None (then ``t`` is written as its own contiguous storage)."""
    arr = t._data
    root = arr
    while isinstance(getattr(root, "base", None), np.ndarray):
        root = root.base
    if not root.flags.c_contiguous or root.dtype != arr.dtype or root is arr and not \
            arr.flags.c_contiguous:
        return None
    item = arr.itemsize
    strides = tuple(s // item for s in arr.strides)
    if any(s < 0 for s in strides) or any(s % item for s in arr.strides):
        return None
    start = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if start < 0 or start % item:
        return None
    return root, start // item, strides


class ArchivePickler(pickle._Pickler):
    """A pickler (protocol 2) that writes ember objects under torch's global names."""

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file, protocol=2):
        super().__init__(file, protocol)
        self.storages: list[StorageRef] = []
        self._keys: dict[int, StorageRef] = {}

    def _save_torch_global(self, obj: TorchGlobal):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[TorchGlobal] = _save_torch_global

    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            if obj.dtype not in STORAGE_NAMES:  # an untyped storage: its size is in bytes
                return ("storage", UNTYPED_STORAGE, obj.key, obj.location, int(obj.array.size))
            return ("storage", torch_global("torch", STORAGE_NAMES[obj.dtype]), obj.key,
                    obj.location, int(obj.array.size))
        return None

    def _storage_for(self, t: Tensor):
        dev = t.device
        location = "cpu" if dev.type != "cuda" else f"cuda:{dev.index or 0}"
        if locations.has_custom_entries():  # register_package: the program's taggers decide
            location = locations.save_location(t._data, dev)
        data = to_numpy(t._data) if dev.type == "cuda" else t._data
        view = _storage_view(t) if dev.type == "cpu" else None
        if view is None:
            # written as its own dense storage; np.ascontiguousarray makes a 0-d array 1-d, so
            # the strides come from the tensor's shape, not the copy's
            root, offset = np.ascontiguousarray(data), 0
            strides = _contiguous(tuple(t.shape))
        else:
            root, offset, strides = view
        ref = self._keys.get(id(root))
        if ref is None:
            # untyped storages hold bytes: both writers then store and size them as PyTorch does
            array = root if t.dtype in STORAGE_NAMES else root.reshape(-1).view(np.uint8)
            ref = StorageRef(array, str(len(self.storages)), location, t.dtype)
            self._keys[id(root)] = ref
            self.storages.append(ref)
        return ref, offset, strides

    def reducer_override(self, obj):
        if isinstance(obj, Tensor) and obj.layout in _COMPRESSED_LAYOUTS:
            # CSR/CSC: _rebuild_sparse_tensor(layout, (compressed, plain, values, size))
            from .._sparse_compressed import reduce_args

            if obj.requires_grad and not obj.is_leaf:
                raise RuntimeError("Can't save a sparse tensor that is part of a graph; save "
                                   "t.detach() instead")
            return (REBUILD_SPARSE, (_Reduced(GET_LAYOUT, (str(obj.layout),)),
                                     reduce_args(obj)))
        if isinstance(obj, Tensor) and obj.is_sparse:
            # torch._utils._rebuild_sparse_tensor(layout, (indices, values, size, coalesced))
            if obj.requires_grad and not obj.is_leaf:
                raise RuntimeError("Can't save a sparse tensor that is part of a graph; save "
                                   "t.detach() instead")
            layout = (GET_LAYOUT, ("torch.sparse_coo",))
            return (REBUILD_SPARSE, (_Reduced(*layout), (obj._indices().detach(),
                                                         obj._values().detach(),
                                                         tuple(obj.shape),
                                                         bool(obj.is_coalesced()))))
        if isinstance(obj, _Reduced):
            return (obj.fn, obj.args)
        if isinstance(obj, Tensor) and obj.is_quantized:
            return self._reduce_quantized(obj)
        if isinstance(obj, Tensor):
            if obj.device.type == "meta":
                raise RuntimeError("Cannot save a meta tensor: it has no data.")
            ref, offset, strides = self._storage_for(obj)
            if not obj._data.size:
                strides = _contiguous(obj.shape)
            args = (ref, offset, tuple(obj.shape), tuple(strides),
                    bool(obj.requires_grad) if type(obj) is Tensor else False,
                    collections.OrderedDict())
            if type(obj) is not Tensor and type(obj).__name__ == "Parameter":
                plain = Tensor._make(obj._data, obj.dtype)
                return (REBUILD_PARAMETER, (plain, bool(obj.requires_grad),
                                            collections.OrderedDict()))
            if obj.dtype not in STORAGE_NAMES:
                return (REBUILD_TENSOR_V3, args + (obj.dtype,))
            return (REBUILD_TENSOR, args)
        if isinstance(obj, Size):
            return (TORCH_SIZE, (tuple(obj),))
        if isinstance(obj, Device):
            return (TORCH_DEVICE, (str(obj),))
        return NotImplemented

    def _reduce_quantized(self, q: Tensor):
        """``_rebuild_qtensor(storage, offset, size, stride, quantizer_params, False, {})``
        over the integers in a ``torch.QInt8Storage`` (etc.), as PyTorch writes it."""
        from .._quantized_tensor import per_tensor_affine

        data = q._data
        ints = Tensor._make(data.ints, q.dtype)  # carries the ints with the storage's name
        ref, offset, strides = self._storage_for(ints)
        if data.scheme is per_tensor_affine:
            params = (torch_global("torch", "per_tensor_affine"), float(data.scale),
                      int(data.zero_point))
        else:
            params = (torch_global("torch", "per_channel_affine"),
                      Tensor._make(data.scales, D.float64),
                      Tensor._make(data.zero_points, D.int64), int(data.axis))
        return (REBUILD_QTENSOR, (ref, offset, tuple(q.shape), tuple(strides), params, False,
                                  collections.OrderedDict()))

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, D.dtype):
            obj = torch_global("torch", obj.name)
        if isinstance(obj, TorchGlobal):
            # Stand-ins are written by name before pickle's own reduce machinery sees them.
            x = self.memo.get(id(obj))
            if x is not None:
                self.write(self.get(x[0]))
                return
            self._save_torch_global(obj)
            return
        super().save(obj, save_persistent_id)


def _contiguous(shape) -> tuple:
    out, acc = [], 1
    for s in reversed(tuple(shape)):
        out.append(acc)
        acc *= max(int(s), 1)
    return tuple(reversed(out))
