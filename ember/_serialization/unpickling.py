"""Read PyTorch's ``data.pkl`` into ember objects, safely by default.

``weights_only=True`` (the default) resolves globals only from an allow-list: the rebuild
functions, storage classes, dtypes, ``Size``, ``device``, ``OrderedDict`` and a few builtins,
plus what the user adds with ``add_safe_globals``. Every callable a pickle can invoke (REDUCE,
NEWOBJ, BUILD) must first be fetched by ``find_class``, so nothing outside the list can run.
"""

from __future__ import annotations

import _compat_pickle
import collections
import pickle

import numpy as np

from .. import _dtype as D
from .._backend import Device
from .._storage import check_view_bounds
from .._tensor import Size, Tensor
from .pickling import STORAGE_NAMES

STORAGE_DTYPES = {name: dt for dt, name in STORAGE_NAMES.items()}
STORAGE_DTYPES["UntypedStorage"] = D.uint8

_user_safe: dict = {}     # "module.name" -> object, from add_safe_globals
_NEVER = ("sys", "os", "posix", "nt", "subprocess", "builtins.eval", "builtins.exec",
          "builtins.__import__", "builtins.getattr", "builtins.open", "shutil", "socket")


class StorageType:
    """What ``torch.FloatStorage`` (etc.) resolves to: the dtype of the storage bytes."""

    def __init__(self, name: str, dtype: D.dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    arr = storage
    if not isinstance(arr, np.ndarray) or arr.ndim != 1 or \
            not isinstance(size, (tuple, list, Size)) or not isinstance(stride, (tuple, list)):
        raise RuntimeError(
            f"invalid tensor record: storage {type(arr).__name__}, size {size!r}, stride "
            f"{stride!r} (the checkpoint is corrupt)")
    size, stride = tuple(size), tuple(stride)
    try:
        check_view_bounds(size, stride, storage_offset, arr.size, arr.itemsize)
    except RuntimeError as err:
        raise RuntimeError(f"invalid tensor record: {err} (the checkpoint is truncated or "
                           "corrupt)") from None
    if 0 in size:
        view = np.zeros(size, arr.dtype)
    else:
        item = arr.itemsize
        view = np.lib.stride_tricks.as_strided(
            arr[storage_offset:], shape=size, strides=tuple(s * item for s in stride))
    t = Tensor._make(view, D.from_numpy_dtype(arr.dtype))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    arr = storage.view(dtype.np_dtype) if storage.dtype != dtype.np_dtype else storage
    return _rebuild_tensor_v2(arr, storage_offset // 1, size, stride, requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    from ..nn.parameter import Parameter

    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    p = _rebuild_parameter(data, requires_grad)
    if state:
        p.__dict__.update(state if isinstance(state, dict) else {})
    return p


def _rebuild_from_type_v2(func, new_type, args, state):
    return func(*args)


def _device(spec, index=None):
    return Device(spec, index)


def _allowed() -> dict:
    table = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "collections.defaultdict": collections.defaultdict,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.Size": Size,
        "torch.device": _device,
        "torch.Tensor": Tensor,
        "torch.nn.parameter.Parameter": _rebuild_parameter,
        "builtins.set": set, "builtins.frozenset": frozenset, "builtins.complex": complex,
        "builtins.bytearray": bytearray, "builtins.slice": slice, "builtins.range": range,
        "_codecs.encode": _codecs_encode,
    }
    for name, dt in STORAGE_DTYPES.items():
        table[f"torch.{name}"] = StorageType(name, dt)
    for dt in D.ALL_DTYPES:
        table[f"torch.{dt.name}"] = dt
    return table


def _codecs_encode(text, encoding="latin1"):
    import codecs

    return codecs.encode(text, encoding)


class ArchiveUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl``; storages come from ``load_storage(dtype, key, location, numel)``."""

    def __init__(self, file, load_storage, weights_only: bool, filename: str):
        super().__init__(file, encoding="utf-8")
        self._load_storage = load_storage
        self._weights_only = weights_only
        self._filename = filename
        self._table = _allowed()

    def find_class(self, module, name):
        # Protocol 2 pickles use Python 2 module names (__builtin__.set, copy_reg...).
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        if full in self._table:
            return self._table[full]
        if full in _user_safe:
            return _user_safe[full]
        if self._weights_only:
            raise pickle.UnpicklingError(_refusal(full, self._filename))
        if module.startswith("torch"):
            return _torch_fallback(module, name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(
                f"{self._filename}: unexpected persistent id {pid!r}; only ('storage', ...) "
                "records are allowed in a checkpoint")
        _, stype, key, location, numel = pid
        if not isinstance(stype, StorageType):
            raise pickle.UnpicklingError(
                f"{self._filename}: unknown storage type {stype!r} for record data/{key}")
        return self._load_storage(stype.dtype, str(key), str(location), numel)


def _torch_fallback(module, name):
    """With weights_only=False, map other torch names onto ember's where they exist."""
    import importlib

    path = "ember" + module[len("torch"):]
    path = path.replace("ember.nn.modules.", "ember.nn.").replace("torchvision", "ember.vision")
    for candidate in (path, "ember.nn", "ember"):
        try:
            obj = getattr(importlib.import_module(candidate), name)
            return obj
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"ember has no equivalent of the torch global {module}.{name}")


def _refusal(full: str, filename: str) -> str:
    module, _, name = full.rpartition(".")
    return (
        f"Weights only load failed for {filename}: the file needs the global '{full}', which is "
        "not on the list of allowed globals, so nothing from the file was run. If you trust "
        "this file, either allow that global with "
        f"`ember.serialization.add_safe_globals([{name}])` (after `from {module} import "
        f"{name}`), or use `with ember.serialization.safe_globals([{name}]): ...`, or load with "
        "`weights_only=False` (which can run arbitrary code: only for files you trust).")


def add_safe_globals(objs) -> None:
    """Allow these classes/functions in ``weights_only=True`` loads.

    Example:
        >>> ember.serialization.add_safe_globals([MyConfig])
    """
    for obj in objs:
        if isinstance(obj, tuple):
            obj, full = obj
        else:
            full = f"{obj.__module__}.{obj.__qualname__}"
        if full.startswith(_NEVER) or full.split(".")[0] in ("sys", "os", "posix", "nt"):
            raise pickle.UnpicklingError(f"{full} can never be allowed in a weights-only load")
        _user_safe[full] = obj


def get_safe_globals() -> list:
    """The globals added with ``add_safe_globals`` (beyond ember's built-in allow-list).

    Example:
        >>> ember.serialization.get_safe_globals()
        []
    """
    return list(_user_safe.values())


def clear_safe_globals() -> None:
    """Forget every global added with ``add_safe_globals``."""
    _user_safe.clear()


class safe_globals:
    """Context manager allowing globals for ``weights_only`` loads inside its block."""

    def __init__(self, objs):
        self.objs = objs

    def __enter__(self):
        self._saved = dict(_user_safe)
        add_safe_globals(self.objs)

    def __exit__(self, *exc):
        _user_safe.clear()
        _user_safe.update(self._saved)
        return False
