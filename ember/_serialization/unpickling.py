"""Read PyTorch's ``data.pkl`` into ember objects.

What a pickle may name and call: the rebuild functions (``torch._utils._rebuild_tensor_v2``
and friends), storage classes, dtypes, ``torch.Size``, ``torch.device``, ``OrderedDict``,
``Counter`` and four builtins (``set``, ``complex``, ``bytearray``, ``_codecs.encode``): PyTorch's
default list, mapped onto ember's objects by ``allowed_globals()``. The functions here validate
what they are given, since under ``weights_only=True`` (the default) their arguments come from
an untrusted file; ``restricted.py`` is the interpreter that calls them.

``weights_only=False`` uses ``ArchiveUnpickler``: Python's full pickle, with torch's names
mapped onto ember's (``_torch_fallback``). Only for files you trust.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import collections
import functools
import math
import pickle

import numpy as np

from .. import _dtype as D
from .._backend import Device, as_strided, get_array_module, meta_array, to_device_array
from .._storage import check_view_bounds
from .._tensor import Size, Tensor
from .brief import brief
from .pickling import STORAGE_NAMES
from .safe_globals import (  # noqa: F401  (re-exported: ember.serialization imports them here)
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
    user_table,
)

STORAGE_DTYPES = {name: dt for dt, name in STORAGE_NAMES.items()}
STORAGE_DTYPES["UntypedStorage"] = D.uint8


class StorageType:
    """What ``torch.FloatStorage`` (etc.) resolves to: the dtype of the storage bytes."""

    def __init__(self, name: str, dtype: D.dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


class DeviceBoundStorage(np.ndarray):
    """A checkpoint storage read into host memory and bound for another device by
    ``map_location``: tensors are checked and built on its host bytes, then take their view of
    one device copy of the whole storage (moved once, on first use), so tensors that share a
    storage in the file share memory on the device too."""

    def __array_finalize__(self, obj):
        self.target = getattr(obj, "target", None)
        self._moved = None

    def on_device(self):
        if self._moved is None:
            self._moved = to_device_array(self.view(np.ndarray), self.target)
        return self._moved


class ForeignOrderBytes(np.ndarray):
    """An untyped (byte) storage from a checkpoint written in the other byte order. Its bytes
    are swapped once per element type a tensor gives them (``in_native_order``), so tensors of
    one dtype over the storage still share memory. (PyTorch leaves such storages unswapped,
    which gives wrong values for uint16/32/64 tensors saved on a big-endian machine.)"""

    def __array_finalize__(self, obj):
        self._native = getattr(obj, "_native", None)

    def in_native_order(self, np_dtype) -> np.ndarray:
        if self._native is None:
            self._native = {}
        np_dtype = np.dtype(np_dtype)
        out = self._native.get(np_dtype)
        if out is None:
            raw = self.view(np.ndarray)
            out = raw.view(np_dtype.newbyteorder("S")).astype(np_dtype) \
                if np_dtype.itemsize > 1 else raw.view(np_dtype)
            self._native[np_dtype] = out
        return out


def bind_storage(arr: np.ndarray, device: Device) -> DeviceBoundStorage:
    """``arr`` (a host storage) marked for ``device``; the copy happens when a tensor is
    built on it."""
    out = arr.view(DeviceBoundStorage)
    out.target = device
    return out


def _corrupt(what: str) -> RuntimeError:
    return RuntimeError(f"invalid tensor record: {what} (the checkpoint is truncated or corrupt)")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    arr = storage
    if not isinstance(arr, np.ndarray) or arr.ndim != 1 or \
            not isinstance(size, (tuple, list, Size)) or not isinstance(stride, (tuple, list)):
        raise _corrupt(f"storage {type(arr).__name__}, size {brief(size)}, stride {brief(stride)}")
    if not isinstance(requires_grad, bool):
        raise _corrupt(f"requires_grad is {brief(requires_grad)}, not a bool")
    size, stride = tuple(size), tuple(stride)
    _check_layout_values(size, stride, storage_offset, arr.itemsize)
    try:
        check_view_bounds(size, stride, storage_offset, arr.size, arr.itemsize)
    except RuntimeError as err:
        raise _corrupt(str(err)) from None
    strides = tuple(s * arr.itemsize for s in stride)
    if isinstance(arr, DeviceBoundStorage) and arr.target.type == "meta":
        view = meta_array(size, arr.dtype)  # map_location="meta": shapes and dtypes, no data
    elif isinstance(arr, DeviceBoundStorage):  # built on the host bytes, viewed on the device
        moved = arr.on_device()
        view = get_array_module(moved).zeros(size, arr.dtype) if 0 in size else \
            as_strided(moved[storage_offset:], size, strides)
    elif 0 in size:
        view = np.zeros(size, arr.dtype)
    else:
        # An ndarray over the storage's buffer keeps the storage as its base (as_strided hides
        # it behind a wrapper), so storage_offset() and untyped_storage() see the whole storage.
        view = np.ndarray(size, arr.dtype, buffer=arr, offset=storage_offset * arr.itemsize,
                          strides=strides)
    t = Tensor._make(view, D.from_numpy_dtype(arr.dtype))
    if requires_grad:
        t.requires_grad_(True)
    return t


_MAX_DIMS = 64  # NumPy's limit on an array's dimensions


def _check_layout_values(size, stride, storage_offset, itemsize: int) -> None:
    """Sizes, strides and offset must be plain ints that NumPy can hold: checked here so a
    crafted value is named in the error, not reported by NumPy as an internal failure (and
    never printed whole: see ``brief``)."""
    for v in (*size, *stride, storage_offset):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise _corrupt(f"size {brief(size)}, stride {brief(stride)} and storage offset "
                           f"{brief(storage_offset)} must be integers")
    if len(size) > _MAX_DIMS:
        raise _corrupt(f"a tensor with {len(size)} dimensions (at most {_MAX_DIMS} are "
                       "supported)")
    limit = np.iinfo(np.int64).max
    numel = math.prod(int(n) for n in size) if all(n >= 0 for n in size) else 0
    if any(abs(int(v)) > limit for v in (*size, *stride, storage_offset)) or \
            numel * itemsize > limit:
        raise _corrupt(f"size {brief(size)}, stride {brief(stride)} and storage offset "
                       f"{brief(storage_offset)} overflow a 64-bit tensor layout")


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    if not isinstance(dtype, D.dtype) or not isinstance(storage, np.ndarray):
        raise _corrupt(f"dtype {brief(dtype)} over storage {type(storage).__name__}")
    try:
        if isinstance(storage, ForeignOrderBytes):
            arr = storage.in_native_order(dtype.np_dtype)
        else:
            arr = storage.view(dtype.np_dtype) if storage.dtype != dtype.np_dtype else storage
    except ValueError as err:
        raise _corrupt(f"a {storage.nbytes}-byte storage cannot hold {dtype}: {err}") from None
    return _rebuild_tensor_v2(arr, storage_offset, size, stride, requires_grad)


def _new_parameter(data=None, requires_grad=True):
    from ..nn.parameter import Parameter

    if data is not None and not isinstance(data, Tensor) or not isinstance(requires_grad, bool):
        raise _corrupt(f"Parameter({type(data).__name__}, requires_grad={brief(requires_grad)})")
    return Parameter(data, requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    p = _new_parameter(data, requires_grad)
    if state:
        set_tensor_state(p, state)
    return p


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _rebuild_parameter(data, requires_grad, backward_hooks, state)


# Attributes ember keeps in a tensor's __dict__ (autograd hooks, view bases, forward-mode
# tangents...): a file that set them would change how the tensor behaves (a hooks list
# holding an allowed callable is called on every gradient), so state may not name them.
_TENSOR_INTERNALS = frozenset((
    "_data", "_dtype", "_requires_grad", "_vbox", "_version", "_base", "_conj_bit",
    "_fw_tangent", "_grad", "_grad_acc", "_grad_private", "_hooks", "_pre_hooks",
    "_post_hooks", "_post_acc_hooks", "_inference", "_output_nr", "_retains_grad", "_view_fn",
    "_no_grad_view", "_vmap_levels", "_fx_name", "_torch_function_raw", "_names"))


def set_tensor_state(t: Tensor, state) -> None:
    """Set the Python attributes a pickle saved with a tensor (``t.note = ...``), as
    ``torch._utils._set_obj_state`` does, but never one of ember's own attributes: a file
    cannot replace a tensor's data, dtype, grad or hooks this way."""
    slots = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
    items = []
    for part in (state, slots):
        if part is None:
            continue
        if not isinstance(part, dict):
            raise _corrupt(f"tensor state {type(part).__name__}, expected a dict")
        items.extend(part.items())
    for key, value in items:
        if not isinstance(key, str) or key.startswith("__") or hasattr(type(t), key) or \
                key in _TENSOR_INTERNALS:
            raise pickle.UnpicklingError(
                f"the checkpoint sets the attribute {brief(key)} of a tensor, which is part of "
                "the tensor itself; only new attributes can be restored")
        t.__dict__[key] = value


def _rebuild_from_type_v2(func, new_type, args, state):
    if func not in _TENSOR_REBUILDS or not isinstance(args, tuple):
        raise pickle.UnpicklingError(
            f"_rebuild_from_type_v2 may only call a tensor rebuild function, not {brief(func)}")
    ret = func(*args)
    from ..nn.parameter import Parameter

    if new_type is Parameter and type(ret) is not Parameter:
        ret = Parameter(ret, ret.requires_grad)
    elif isinstance(new_type, type) and issubclass(new_type, Tensor) and \
            type(ret) is not new_type and new_type is not Parameter:
        ret = new_type._make(ret._data, ret._dtype, ret._requires_grad)
    elif not (isinstance(new_type, type) and issubclass(new_type, Tensor)):
        raise pickle.UnpicklingError(f"_rebuild_from_type_v2 got {brief(new_type)}, which is not a "
                                     "tensor type")
    if state:
        set_tensor_state(ret, state)
    return ret


def _device(spec, index=None):
    return Device(spec, index)


def _size(dims=()):
    dims = tuple(dims)
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise _corrupt(f"torch.Size({brief(list(dims))}) holds something other than ints")
    return Size(dims)


def _tensor_new(*args, max_items: int = 1 << 24):
    """``torch.Tensor()`` / ``torch.Tensor([data])`` from a pickle; never ``torch.Tensor(n)``,
    which would allocate memory the file does not hold. ``data`` may hold at most
    ``max_items`` lists and numbers in all (the caller passes the pickle's size: each costs at
    least a byte unless the memo repeats it), counting a list once per place it appears."""
    if not args:
        return Tensor()
    if len(args) == 1 and type(args[0]) in (list, tuple):
        _check_nested_data(args[0], max_items)
        return Tensor(list(args[0]))
    raise pickle.UnpicklingError(
        f"torch.Tensor{brief(args)} in a weights-only load: ember rebuilds torch.Tensor() and "
        "torch.Tensor(data) only, not the size constructor")


def _check_nested_data(data, max_items: int) -> None:
    """Refuse nested lists that would expand to more than ``max_items`` items or nest deeper
    than a tensor's dimensions: with the memo, a small pickle can repeat one list at every
    level (2**40 numbers from a 1 kB file) or put a list inside itself (infinitely deep)."""
    count, pending = 1, [(data, 1)]
    while pending:
        x, depth = pending.pop()
        if type(x) not in (list, tuple):
            continue
        if depth > _MAX_DIMS:
            raise pickle.UnpicklingError(
                f"torch.Tensor(data) in a weights-only load: the data is nested more than "
                f"{_MAX_DIMS} levels deep (or contains itself)")
        count += len(x)
        if count > max_items:
            raise pickle.UnpicklingError(
                f"torch.Tensor(data) in a weights-only load: the data expands to more than "
                f"{max_items} items, more than the file holds (it repeats lists through the "
                "pickle's memo)")
        pending.extend((y, depth + 1) for y in x)


_TEXT_CODECS = ("latin1", "latin-1", "latin_1", "iso-8859-1", "utf-8", "utf8", "ascii")


def _codecs_encode(text, encoding="latin1", errors="strict"):
    """``_codecs.encode``, which protocol-2 pickles use for ``bytes``: text codecs only."""
    if not isinstance(text, str) or not isinstance(encoding, str) or \
            encoding.lower() not in _TEXT_CODECS or errors != "strict":
        raise pickle.UnpicklingError(
            f"_codecs.encode({type(text).__name__}, {brief(encoding)}) in a weights-only load: "
            "only text encodings (latin1, utf-8, ascii) are allowed")
    return codecs.encode(text, encoding)


def _bytearray(source=b"", encoding=None):
    """``bytearray`` as protocol 2 pickles it: from bytes, or from text and an encoding; never
    ``bytearray(n)``, which would allocate memory the file does not hold."""
    if isinstance(source, (bytes, bytearray)) and encoding is None:
        return bytearray(source)
    if isinstance(source, str) and isinstance(encoding, str):
        return bytearray(_codecs_encode(source, encoding))
    raise pickle.UnpicklingError(
        f"bytearray({type(source).__name__}) in a weights-only load: only bytearray(bytes) and "
        "bytearray(str, encoding) are allowed")


def _complex(real=0, imag=0):
    for v in (real, imag):
        if type(v) not in (int, float, complex, str):
            raise _corrupt(f"complex({type(real).__name__}, {type(imag).__name__})")
    try:
        return complex(real, imag)
    except (OverflowError, TypeError, ValueError) as err:  # an int past float's range
        raise _corrupt(f"complex({brief(real, 60)}, {brief(imag, 60)}): {err}") from None


def _get_layout(name):
    """``torch.serialization._get_layout("torch.strided")``: ember's layout of that name."""
    import ember

    layout = getattr(ember, str(name).replace("torch.", "", 1), None) \
        if isinstance(name, str) else None
    if layout is None or type(layout).__name__ != "layout":
        raise pickle.UnpicklingError(f"ember has no layout {brief(name)}")
    return layout


def _rebuild_sparse_tensor(layout, data):
    """``torch._utils._rebuild_sparse_tensor``: a COO tensor from (indices, values, size[,
    coalesced]); ``sparse_coo_tensor`` checks every index against the size."""
    from .._layout import sparse_coo, sparse_csc, sparse_csr
    from .._sparse_tensor import sparse_coo_tensor

    if layout is sparse_csr or layout is sparse_csc:
        from .._sparse_compressed import rebuild_compressed

        if not (isinstance(data, tuple) and len(data) == 4
                and isinstance(data[3], (tuple, list))
                and all(type(n) is int and n >= 0 for n in data[3])):
            raise _corrupt("a compressed sparse tensor record that is not (compressed_indices, "
                           "plain_indices, values, size)")
        try:
            return rebuild_compressed(layout, data)
        except (RuntimeError, ValueError, TypeError) as err:
            raise _corrupt(f"an invalid compressed sparse tensor ({err})") from None
    if layout is not sparse_coo:
        raise pickle.UnpicklingError(f"ember rebuilds sparse COO, CSR and CSC tensors only, "
                                     f"not {brief(layout)}")
    if not (isinstance(data, tuple) and len(data) in (3, 4) and isinstance(data[0], Tensor)
            and isinstance(data[1], Tensor) and isinstance(data[2], (tuple, list))
            and (len(data) == 3 or data[3] is None or isinstance(data[3], bool))):
        raise _corrupt("a sparse tensor record that is not (indices, values, size[, coalesced])")
    indices, values, size = data[:3]
    coalesced = data[3] if len(data) == 4 else None
    if indices._dtype is not D.int64 or indices.ndim != 2:
        raise _corrupt("sparse indices must be a 2-D int64 tensor")
    if not all(type(n) is int for n in size) or len(size) > _MAX_DIMS or \
            math.prod(abs(n) for n in size) > np.iinfo(np.int64).max:
        # PyTorch: "numel: integer multiplication overflow"
        raise _corrupt(f"sparse tensor size {brief(size)}: its number of elements overflows "
                       "int64 (or it is not a list of at most 64 ints)")
    return sparse_coo_tensor(indices, values, tuple(size), is_coalesced=coalesced or None)


def _rebuild_qtensor(storage, storage_offset, size, stride, quantizer_params,
                     requires_grad=False, backward_hooks=None):
    """``torch._utils._rebuild_qtensor``: a quantized tensor from its integer storage
    (``torch.QInt8Storage`` ...) and ``quantizer_params``: ``(per_tensor_affine, scale,
    zero_point)`` or ``(per_channel_affine, scales, zero_points, axis)``. Every parameter is
    checked against the tensor it describes before anything is built."""
    from .._quantized_tensor import QData, _wrap, per_channel_affine, per_tensor_affine

    if isinstance(storage, DeviceBoundStorage):
        raise RuntimeError("ember keeps quantized tensors on the CPU; load this checkpoint "
                           "with map_location='cpu'")
    qdtype = {np.dtype(np.int8): D.qint8, np.dtype(np.uint8): D.quint8,
              np.dtype(np.int32): D.qint32}.get(getattr(storage, "dtype", None))
    if qdtype is None or requires_grad is not False:
        raise _corrupt("a quantized tensor needs an integer storage (QInt8Storage, "
                       "QUInt8Storage, QInt32Storage) and requires_grad=False")
    ints = _rebuild_tensor_v2(storage, storage_offset, size, stride)._data
    ints = np.asarray(ints, ints.dtype.newbyteorder("="))  # a big-endian file's qint32
    params = quantizer_params
    if not isinstance(params, tuple) or not params:
        raise _corrupt(f"quantizer parameters {brief(params)}")
    scheme = params[0]
    if scheme is per_tensor_affine and len(params) == 3:
        scale, zero_point = params[1], params[2]
        if not (isinstance(scale, float) and math.isfinite(scale) and scale > 0):
            raise _corrupt(f"quantization scale {brief(scale)} (a finite positive float)")
        if isinstance(zero_point, bool) or not isinstance(zero_point, int) or \
                not qdtype.qmin <= zero_point <= qdtype.qmax:
            raise _corrupt(f"zero point {brief(zero_point)} outside {qdtype}'s range")
        payload = QData(ints, per_tensor_affine, scale=scale, zero_point=zero_point)
    elif scheme is per_channel_affine and len(params) == 4:
        scales, zero_points, axis = params[1:]
        if isinstance(axis, bool) or not isinstance(axis, int) or not 0 <= axis < ints.ndim:
            raise _corrupt(f"per-channel axis {brief(axis)} for a {ints.ndim}-d tensor")
        channels = ints.shape[axis]
        ok = (isinstance(scales, Tensor) and isinstance(zero_points, Tensor)
              and scales._dtype.is_floating_point and zero_points._dtype in (D.int64, D.int32)
              and tuple(scales.shape) == (channels,) == tuple(zero_points.shape))
        if not ok:
            raise _corrupt(f"per-channel scales/zero points for {channels} channels")
        s = np.asarray(scales._data, np.float64)
        z = np.asarray(zero_points._data, np.int64)
        if not (np.isfinite(s).all() and (s > 0).all()
                and ((z >= qdtype.qmin) & (z <= qdtype.qmax)).all()):
            raise _corrupt("per-channel scales must be finite and positive, zero points "
                           f"within {qdtype}'s range")
        payload = QData(ints, per_channel_affine, scales=s.copy(), zero_points=z.copy(),
                        axis=axis)
    else:
        raise _corrupt(f"quantization scheme {brief(scheme)} with {len(params) - 1} parameters "
                       "(ember reads per_tensor_affine and per_channel_affine)")
    return _wrap(payload, qdtype)


_TENSOR_REBUILDS = (_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter,
                    _rebuild_parameter_with_state)

# PyTorch allows these by default, but ember has nothing to rebuild them into.
TORCH_ONLY = frozenset(
    [f"torch._utils.{n}" for n in (
        "_rebuild_meta_tensor_no_storage",
        "_rebuild_nested_tensor", "_rebuild_wrapper_subclass",
        "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor")]
    + [f"torch.{n}" for n in ("QUInt2x4Storage", "QUInt4x2Storage", "per_tensor_symmetric",
                              "per_channel_symmetric", "per_channel_affine_float_qparams")])


@functools.lru_cache(maxsize=1)
def allowed_globals() -> dict:
    """PyTorch's default weights-only globals (``torch._weights_only_unpickler``), as ember
    objects: ``"module.name" -> object``."""
    from .._quantized_tensor import per_channel_affine, per_tensor_affine
    from ..nn.parameter import Parameter

    table = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.serialization._get_layout": _get_layout,
        "torch._utils._rebuild_sparse_tensor": _rebuild_sparse_tensor,
        "torch._utils._rebuild_qtensor": _rebuild_qtensor,
        "torch.per_tensor_affine": per_tensor_affine,
        "torch.per_channel_affine": per_channel_affine,
        "torch.Size": Size,
        "torch.device": _device,
        "torch.Tensor": Tensor,
        "torch.nn.parameter.Parameter": Parameter,
        "builtins.set": set, "builtins.complex": complex, "builtins.bytearray": bytearray,
        "_codecs.encode": _codecs_encode,
    }
    for name, dt in STORAGE_DTYPES.items():
        table[f"torch.{name}"] = StorageType(name, dt)
    table["torch.storage.UntypedStorage"] = table["torch.UntypedStorage"]
    for dt in (*D.ALL_DTYPES, D.qint8, D.quint8, D.qint32):
        table[f"torch.{dt.name}"] = dt
    return table


class ArchiveUnpickler(pickle.Unpickler):
    """``weights_only=False``: Python's full pickle (it can run code: trusted files only), with
    torch's global names mapped onto ember's. Storages come from ``persistent_load(pid)``."""

    def __init__(self, file, persistent_load, filename: str, encoding: str = "utf-8"):
        super().__init__(file, encoding=encoding)
        self._persistent = persistent_load
        self._filename = filename

    def find_class(self, module, name):
        # Protocol 2 pickles use Python 2 module names (__builtin__.set, copy_reg...).
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        table = allowed_globals()
        if module.startswith("torch") and full in table:
            return table[full]
        user = user_table()
        if full in user:
            return user[full]
        if module.startswith("torch"):
            return _torch_fallback(module, name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return self._persistent(pid)


def _torch_fallback(module, name):
    """With weights_only=False, map other torch names onto ember's where they exist."""
    import importlib

    # torch.nn.modules.<sub>.X is ember.nn.modules.<sub>.X: ember keeps PyTorch's module paths
    path = ("ember.vision" + module[len("torchvision"):] if module.startswith("torchvision")
            else "ember" + module[len("torch"):])
    for candidate in (path, "ember.nn", "ember"):
        try:
            obj = getattr(importlib.import_module(candidate), name)
            return obj
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"ember has no equivalent of the torch global {module}.{name}")
