"""``ember.save`` and ``ember.load``: PyTorch's zip checkpoint format, safe by default.

Files written by ``ember.save`` load in PyTorch (``torch.load(f, weights_only=True)``) and files
written by ``torch.save`` load in ember, without torch installed.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import struct
import tempfile
import warnings

import numpy as np

from . import _dtype as D
from ._backend import Device
from ._serialization import config as _config
from ._serialization.archive import read_archive, read_pickle_record, write_archive
from ._serialization.config import MAP_PRIVATE, MAP_SHARED, LoadEndianness
from ._serialization.locations import (
    default_restore_location,
    location_tag,
    register_package,
    validate_cuda_device,
    validate_hpu_device,
)
from ._serialization.restricted import unsafe_globals_in_pickle
from ._serialization.safe_globals import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from ._tensor import Tensor

__all__ = ["SourceChangeWarning", "mkdtemp", "register_package",
           "check_module_version_greater_or_equal", "validate_cuda_device",
           "validate_hpu_device", "location_tag", "default_restore_location",
           "normalize_storage_type", "storage_to_tensor_type", "save", "load", "StorageType",
           "LoadEndianness", "get_crc32_options", "set_crc32_options",
           "get_default_load_endianness", "set_default_load_endianness",
           "get_default_mmap_options", "set_default_mmap_options", "clear_safe_globals",
           "get_safe_globals", "add_safe_globals", "safe_globals",
           "get_unsafe_globals_in_checkpoint", "skip_data"]

# PyTorch's module constants (the legacy format's header and the C sizes it records).
DEFAULT_PROTOCOL = 2
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
LONG_SIZE = struct.Struct("=l").size
INT_SIZE = struct.Struct("=i").size
SHORT_SIZE = struct.Struct("=h").size
STORAGE_KEY_SEPARATOR = ","


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
    (a file path only) maps the file instead of reading it: by default copy-on-write, so
    tensors are writable and the file never changes; after
    ``set_default_mmap_options(mmap.MAP_SHARED)`` changes to the tensors go to the file.
    ``mmap=None`` follows the serialization config's ``load.mmap`` (off unless set). A file
    without a ``byteorder`` record is read in ``get_default_load_endianness()``'s order.

    Example:
        >>> model.load_state_dict(ember.load("model_weights.pth"))
    """
    if not (map_location is None or isinstance(map_location, (str, dict, Device))
            or callable(map_location)):  # PyTorch would call it on each storage, and fail
        raise TypeError(f"'{type(map_location).__name__}' object is not callable")
    weights_only = _resolve_weights_only(weights_only, pickle_module)
    if mmap is None:
        mmap = _config.load.mmap
    if mmap and not isinstance(f, (str, os.PathLike)):
        raise ValueError("f must be a file path in order to use the mmap argument")
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


# -- options: endianness, mmap, CRC-32, skip_data --------------------------------------------

def get_default_load_endianness():
    """The byte order ``load`` assumes for a checkpoint with no ``byteorder`` record: a
    ``LoadEndianness``, or None (the default: this machine's order).

    Example:
        >>> ember.serialization.get_default_load_endianness() is None
        True
    """
    return _config.load.endianness


def set_default_load_endianness(endianness) -> None:
    """Set the byte order ``load`` assumes for a checkpoint with no ``byteorder`` record
    (files that record one are read in their own order).

    Args:
        endianness: a ``LoadEndianness`` (``NATIVE``, ``LITTLE``, ``BIG``) or None.

    Example:
        >>> ember.serialization.set_default_load_endianness(LoadEndianness.BIG)
    """
    if endianness is not None and not isinstance(endianness, LoadEndianness):
        raise TypeError("Invalid argument type in function set_default_load_endianness")
    _config.load.endianness = endianness


def get_default_mmap_options():
    """The flags ``load(..., mmap=True)`` maps files with: ``mmap.MAP_PRIVATE`` (the default,
    copy-on-write) or ``mmap.MAP_SHARED``.

    Example:
        >>> ember.serialization.get_default_mmap_options() == mmap.MAP_PRIVATE
        True
    """
    return _config.load.mmap_flags


class set_default_mmap_options:
    """Set the flags ``load(..., mmap=True)`` maps files with; as a context manager, only
    inside its block.

    ``mmap.MAP_PRIVATE`` (the default) maps copy-on-write: tensors may be changed, the file
    never is. ``mmap.MAP_SHARED`` writes changes to the tensors through to the file (a file
    this process may not write is then mapped read-only).

    Args:
        flags: ``mmap.MAP_PRIVATE`` or ``mmap.MAP_SHARED``.

    Example:
        >>> with ember.serialization.set_default_mmap_options(mmap.MAP_SHARED):
        ...     sd = ember.load("ckpt.pt", mmap=True)
    """

    def __init__(self, flags: int) -> None:
        if flags not in (MAP_PRIVATE, MAP_SHARED) or isinstance(flags, bool):
            raise ValueError("Invalid argument in function set_default_mmap_options, expected "
                             f"mmap.MAP_PRIVATE or mmap.MAP_SHARED, but got {flags}")
        self.prev = _config.load.mmap_flags
        _config.load.mmap_flags = flags

    def __enter__(self) -> None:
        pass

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        _config.load.mmap_flags = self.prev


def get_crc32_options() -> bool:
    """Whether ``save`` computes and writes each record's CRC-32 (default True).

    Example:
        >>> ember.serialization.get_crc32_options()
        True
    """
    return _config.save.compute_crc32


def set_crc32_options(compute_crc32: bool) -> None:
    """Set whether ``save`` computes and writes each record's CRC-32.

    With False every record's CRC-32 is written as 0, which saves time on large checkpoints;
    ``load`` (ember's and PyTorch's) still reads such files, but ``unzip`` may warn about them.

    Example:
        >>> ember.serialization.set_crc32_options(False)
    """
    _config.save.compute_crc32 = compute_crc32


class skip_data:
    """Context manager: ``save`` writes storages' records without their bytes, ``load``
    does not read them.

    Inside the block, ``save`` writes every record at its full size, zero-filled and with a
    CRC-32 of 0 (the bytes can be filled in a later pass), and ``load`` builds each tensor
    with its shape, dtype and views but with zero-filled storages. The setting is per thread.
    ``_use_new_zipfile_serialization=False`` cannot be combined with it.

    Args:
        materialize_fake_tensors: for PyTorch's FakeTensors, which ember has none of; accepted
            and ignored.

    Example:
        >>> with ember.serialization.skip_data():
        ...     ember.save(model.state_dict(), "layout.pt")
    """

    def __init__(self, materialize_fake_tensors: bool = False):
        self.materialize_fake_tensors = materialize_fake_tensors

    def __enter__(self):
        state = _config.skip_state
        self._saved = (state.skip_data, state.materialize_fake_tensors)
        state.skip_data = True
        state.materialize_fake_tensors = self.materialize_fake_tensors

    def __exit__(self, exc_type, exc_value, traceback):
        state = _config.skip_state
        state.skip_data, state.materialize_fake_tensors = self._saved


# -- PyTorch's remaining helpers -------------------------------------------------------------

class SourceChangeWarning(Warning):
    """Warned by PyTorch when a module pickled whole (``weights_only=False``) changed since it
    was saved. ember loads no module source, so it never warns it; the class is here for
    programs that filter it.

    Example:
        >>> warnings.simplefilter("ignore", ember.serialization.SourceChangeWarning)
    """


@contextlib.contextmanager
def mkdtemp():
    """A temporary directory for the block, removed with its contents afterwards.

    Example:
        >>> with ember.serialization.mkdtemp() as folder:
        ...     ember.save(x, os.path.join(folder, "x.pt"))
    """
    path = tempfile.mkdtemp()
    try:
        yield path
    finally:
        shutil.rmtree(path)


def check_module_version_greater_or_equal(module, req_version_tuple, error_if_malformed=True):
    """Whether ``module.__version__`` is at least ``req_version_tuple``.

    The version string's first ``len(req_version_tuple)`` dot-separated fields are converted
    with each required field's type and compared as tuples. A version that cannot be compared
    raises ``RuntimeError``, or with ``error_if_malformed=False`` warns and counts as met.

    Example:
        >>> ember.serialization.check_module_version_greater_or_equal(np, (1, 20))
        True
    """
    version = module.__version__
    try:
        fields = version.split(".")
        module_version = tuple(type(req)(fields[i]) for i, req in enumerate(req_version_tuple))
        return module_version >= req_version_tuple
    except Exception as err:
        message = (f"'{module.__name__}' module version string is malformed '{version}' and "
                   f"cannot be compared with tuple {req_version_tuple}")
        if error_if_malformed:
            raise RuntimeError(message) from err
        warnings.warn(message + ", but continuing assuming that requirement is met",
                      stacklevel=2)
        return True


def normalize_storage_type(storage_type):
    """The top-level storage class of the same name (``ember.cuda.FloatStorage`` ->
    ``ember.FloatStorage``).

    Example:
        >>> ember.serialization.normalize_storage_type(ember.FloatStorage)
        <class 'ember._storage.FloatStorage'>
    """
    import ember

    return getattr(ember, storage_type.__name__)


def storage_to_tensor_type(storage):
    """The legacy tensor class named like ``storage``'s class (``XStorage`` -> ``XTensor``),
    from the same module.

    Example:
        >>> ember.serialization.storage_to_tensor_type(ember.ones(1))
        <class 'ember.Tensor'>
    """
    import importlib

    storage_type = type(storage)
    module = importlib.import_module(storage_type.__module__)
    return getattr(module, storage_type.__name__.replace("Storage", "Tensor"))


class StorageType:
    """A storage class named in a pickle (``"FloatStorage"``), read as its dtype.

    Example:
        >>> ember.serialization.StorageType("FloatStorage").dtype
        torch.float32
    """

    def __init__(self, name):
        dtype = _pickle_storage_dtypes().get(name) if isinstance(name, str) else None
        if dtype is None:
            raise KeyError(f'pickle storage type "{name}" is not recognized')
        self._dtype = dtype

    @property
    def dtype(self):
        return self._dtype

    def __str__(self):
        return f"StorageType(dtype={self.dtype})"


def _pickle_storage_dtypes() -> dict:
    """PyTorch's typed storage names (those a pickle may name) and their dtypes."""
    import ember

    from ._serialization.pickling import STORAGE_NAMES

    table = {name: dt for dt, name in STORAGE_NAMES.items()}
    for name, dt in (("QUInt8Storage", "quint8"), ("QInt8Storage", "qint8"),
                     ("QInt32Storage", "qint32"), ("QUInt4x2Storage", "quint4x2"),
                     ("QUInt2x4Storage", "quint2x4")):
        if hasattr(ember, dt):
            table[name] = getattr(ember, dt)
    return table


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
