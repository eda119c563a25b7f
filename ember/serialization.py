"""``ember.save`` and ``ember.load``: PyTorch's zip checkpoint format, safe by default.

Files written by ``ember.save`` load in PyTorch (``torch.load(f, weights_only=True)``) and files
written by ``torch.save`` load in ember, without torch installed.
"""

from __future__ import annotations

import os
import pickle
import warnings

import numpy as np

from . import _dtype as D
from ._backend import Device
from ._serialization.archive import read_archive, read_pickle_record, write_archive
from ._serialization.restricted import unsafe_globals_in_pickle
from ._serialization.safe_globals import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from ._tensor import Tensor

__all__ = ["save", "load", "add_safe_globals", "safe_globals", "get_safe_globals",
           "clear_safe_globals", "get_unsafe_globals_in_checkpoint", "location_tag",
           "default_restore_location"]

DEFAULT_PROTOCOL = 2


def save(obj, f, pickle_module=None, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Save an object (tensors, state dicts, nested containers) as a PyTorch checkpoint.

    Writing to a path is atomic: if anything fails, a previous file at that path is untouched.
    Otherwise the result is what ``torch.save`` gives: a symlink is written through to its
    target, an existing file keeps its mode, a new one gets the umask's.
    ``_use_new_zipfile_serialization=False`` writes PyTorch's pre-1.6 (non-zip) format.

    Example:
        >>> ember.save(model.state_dict(), "model_weights.pth")
    """
    write_archive(obj, f, pickle_protocol, legacy=not _use_new_zipfile_serialization)


_TRUE = ("1", "y", "yes", "true")


def _env_flag(*names) -> str | None:
    """The first of ``names`` set to a true value (PyTorch's spellings), or None."""
    for name in names:
        if os.environ.get(name, "0").lower() in _TRUE:
            return name
    return None


def _resolve_weights_only(weights_only, pickle_module) -> bool:
    """``torch.load``'s rules: ``weights_only`` defaults to True unless a ``pickle_module`` is
    given; ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` (or ``EMBER_FORCE_WEIGHTS_ONLY_LOAD``) forces it on
    even over ``weights_only=False``; ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` (or
    ``EMBER_FORCE_NO_WEIGHTS_ONLY_LOAD``) turns it off, with a warning, only where the call did
    not pass ``weights_only``."""
    not_set = weights_only is None
    if not_set:
        weights_only = pickle_module is None
    force = _env_flag("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "EMBER_FORCE_WEIGHTS_ONLY_LOAD")
    force_no = _env_flag("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "EMBER_FORCE_NO_WEIGHTS_ONLY_LOAD")
    if force and force_no:
        raise RuntimeError(
            f"Only one of `{force}` or `{force_no}` should be set, but both were set.")
    if force:
        weights_only = True
    elif force_no and not_set:
        warnings.warn(
            f"Environment variable {force_no} detected, since the `weights_only` argument was "
            "not explicitly passed to `ember.load`, forcing weights_only=False.",
            UserWarning, stacklevel=3)
        weights_only = False
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    return bool(weights_only)


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args):
    """Load a checkpoint written by ``ember.save`` or ``torch.save``.

    By default (``weights_only=True``) the file's pickle runs in a restricted interpreter that
    rebuilds only tensors, containers, numbers, strings and PyTorch's short list of safe types
    (plus what ``add_safe_globals`` allows); anything else is refused before it can run.
    Pass ``weights_only=False`` only for files you trust. ``map_location`` may be a device, a
    string, a dict of location renames or a callable ``(tensor, location)``. ``mmap=True``
    maps storages copy-on-write: tensors are writable and the file never changes.

    Example:
        >>> model.load_state_dict(ember.load("model_weights.pth"))
    """
    weights_only = _resolve_weights_only(weights_only, pickle_module)
    encoding = pickle_load_args.pop("encoding", "utf-8")
    if pickle_load_args and weights_only:
        warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
    if isinstance(f, (str, os.PathLike)) and not os.path.exists(f):
        raise FileNotFoundError(f"[Errno 2] No such file or directory: '{os.fspath(f)}'")
    return read_archive(f, map_location, weights_only, bool(mmap), encoding)


def get_unsafe_globals_in_checkpoint(f) -> list[str]:
    """The ``"module.name"`` globals in a checkpoint that ``load(weights_only=True)`` refuses.

    The pickle is read statically: nothing in it runs. Globals allowed by default or with
    ``add_safe_globals``/``safe_globals`` are left out, so the answer is what to allow (if
    the file is trusted) before loading it with ``weights_only=True``. Raises ``ValueError``
    for a file that is not a zip checkpoint written by ``save``.

    Example:
        >>> ember.serialization.get_unsafe_globals_in_checkpoint("ckpt.pt")
        ['__main__.TrainConfig']
    """
    return unsafe_globals_in_pickle(read_pickle_record(f))


def location_tag(storage) -> str:
    """The location a checkpoint records for a tensor's or a storage's data.

    Example:
        >>> ember.serialization.location_tag(ember.ones(2))
        'cpu'
    """
    dev = getattr(storage, "device", None)
    if dev is None:
        raise RuntimeError(
            f"don't know how to determine data location of {type(storage).__name__}")
    dev = Device(dev)
    return f"cuda:{dev.index or 0}" if dev.type == "cuda" else dev.type


def default_restore_location(storage, location: str):
    """``storage`` (what a ``map_location`` callable receives) placed at ``location``: what
    ``load`` does when no ``map_location`` is given. Old code calls it from its own
    ``map_location`` functions, e.g. ``lambda s, loc: default_restore_location(s, "cpu")``.

    Example:
        >>> ember.load(f, map_location=lambda s, loc: default_restore_location(s, "cpu"))
    """
    if not isinstance(location, str) or not location.startswith(("cpu", "cuda", "meta")):
        raise RuntimeError(f"don't know how to restore data location of "
                           f"{type(storage).__name__} (tagged with {location})")
    target = Device(location)
    if Device(getattr(storage, "device", "cpu")) == target:
        return storage
    if isinstance(storage, Tensor):
        return storage.to(target)
    return storage.cpu() if target.type == "cpu" else storage.cuda(target.index)


def _rebuild_from_array(array, dtype_name: str, requires_grad: bool, cls_name: str = "Tensor"):
    """Rebuild a tensor pickled by plain ``pickle`` (not ``ember.save``): copies, workers."""
    t = Tensor._make(array, D.to_dtype(dtype_name))
    if cls_name == "Parameter":
        from .nn.parameter import Parameter

        return Parameter(t, requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _reduce_tensor(t: Tensor):
    if not t.is_leaf:
        raise RuntimeError(
            "Can't pickle a tensor that is part of a graph (it has a grad_fn); pickle "
            "t.detach() instead")
    from ._backend import to_numpy

    # ascontiguousarray turns 0-d into 1-d; keep the shape (optimizer 'step' tensors are 0-d).
    arr = np.ascontiguousarray(to_numpy(t._data)).reshape(t._data.shape)
    return (_rebuild_from_array, (arr, t.dtype.name, t.requires_grad, type(t).__name__))


_ = pickle
