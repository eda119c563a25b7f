"""``ember.save`` and ``ember.load``: PyTorch's zip checkpoint format, safe by default.

Files written by ``ember.save`` load in PyTorch (``torch.load(f, weights_only=True)``) and files
written by ``torch.save`` load in ember, without torch installed.
"""

from __future__ import annotations

import os
import pickle

import numpy as np

from . import _dtype as D
from ._serialization.archive import read_archive, write_archive
from ._serialization.unpickling import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from ._tensor import Tensor

__all__ = ["save", "load", "add_safe_globals", "safe_globals", "get_safe_globals",
           "clear_safe_globals"]

DEFAULT_PROTOCOL = 2


def save(obj, f, pickle_module=None, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Save an object (tensors, state dicts, nested containers) as a PyTorch checkpoint.

    Writing to a path is atomic: if anything fails, a previous file at that path is untouched.

    Example:
        >>> ember.save(model.state_dict(), "model_weights.pth")
    """
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("ember writes only the zip checkpoint format")
    write_archive(obj, f, pickle_protocol)


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args):
    """Load a checkpoint written by ``ember.save`` or ``torch.save``.

    By default (``weights_only=True``) only tensors, containers, numbers, strings and a short
    list of safe types are rebuilt; anything else is refused before it can run. Pass
    ``weights_only=False`` only for files you trust. ``map_location`` may be a device, a
    string, a dict of location renames or a callable ``(tensor, location)``.

    Example:
        >>> model.load_state_dict(ember.load("model_weights.pth"))
    """
    if weights_only is None:
        weights_only = os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0") not in ("1", "true")
    if isinstance(f, (str, os.PathLike)) and not os.path.exists(f):
        raise FileNotFoundError(f"[Errno 2] No such file or directory: '{os.fspath(f)}'")
    return read_archive(f, map_location, bool(weights_only), bool(mmap))


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
