"""Tensors over memory that ember did not allocate: ``frombuffer`` (a Python buffer),
``from_file`` (a file, mapped), and DLPack exchange with other array libraries
(``from_dlpack``, ``to_dlpack``, ``Tensor.__dlpack__``), all through NumPy (CuPy on a GPU), so
the tensor and its source share memory.
"""

from __future__ import annotations

import enum
import os
import warnings

import numpy as np

from . import _dtype as D
from ._backend import Device, MetaArray, to_device_array
from ._tensor import Tensor

__all__ = ["frombuffer", "from_file", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    """DLPack's device codes (``torch.utils.dlpack.DLDeviceType``), the first item of
    ``Tensor.__dlpack_device__()``."""

    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


_readonly_warned = False


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D tensor over the memory of an object with the buffer protocol (``bytearray``,
    ``array.array``, ``memoryview`` ...): ``count`` elements of ``dtype`` (all that fit when
    ``count`` is not positive) from byte ``offset``. Writes show through both ways.

    A read-only buffer (``bytes``) warns, as PyTorch does; PyTorch's tensor would still write
    into it, ember's stays read-only (writes raise).

    Example:
        >>> buf = bytearray(b"\\x01\\x02\\x03\\x04")
        >>> t = ember.frombuffer(buf, dtype=ember.uint8, count=2, offset=1)
        >>> buf[1] = 9; t
        tensor([9, 3], dtype=torch.uint8)
    """
    global _readonly_warned
    dt = D.to_dtype(dtype)
    try:
        view = memoryview(buffer)
    except TypeError:
        raise ValueError("object does not implement Python buffer protocol.") from None
    length, size = view.nbytes, dt.itemsize
    if length <= 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if offset < 0 or offset >= length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    if count <= 0 and (length - offset) % size:
        raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} bytes) "
                         f"must be a multiple of element size ({size})")
    n = (length - offset) // size if count < 0 else count
    if offset + n * size > length:
        raise ValueError(f"requested buffer length ({n} * {size} bytes) after offset ({offset} "
                         f"bytes) must not be greater than actual buffer length ({length} bytes)")
    if view.readonly and not _readonly_warned:
        _readonly_warned = True  # PyTorch warns once per program
        warnings.warn("The given buffer is not writable, and PyTorch does not support "
                      "non-writable tensors. ember's tensor over it is read-only: writing to it "
                      "raises. You may want to copy the buffer to protect its data or make it "
                      "writable before converting it to a tensor. This type of warning will be "
                      "suppressed for the rest of this program.", UserWarning, stacklevel=2)
    arr = np.frombuffer(buffer, dt.np_dtype, n, offset)
    return Tensor._make(arr, dt).requires_grad_(requires_grad)


def from_file(filename, shared: bool | None = None, size: int = 0, *, dtype=None, layout=None,
              device=None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """A 1-D tensor of ``size`` elements of ``dtype`` (default: the default dtype) read from
    the start of a file through a memory map.

    ``shared=True`` maps the file itself: writes to the tensor reach the file, and a file
    shorter than ``size`` elements (or missing) is grown (or created). Otherwise the map is
    private (copy-on-write): writes stay in the tensor, and the file must be long enough.

    Example:
        >>> import os, tempfile; path = os.path.join(tempfile.mkdtemp(), "t.bin")
        >>> _ = open(path, "wb").write(bytes([1, 2, 3]))
        >>> ember.from_file(path, size=2, dtype=ember.uint8)
        tensor([1, 2], dtype=torch.uint8)
    """
    dt = D.get_default_dtype() if dtype is None else D.to_dtype(dtype)
    dev = Device(device) if device is not None else Device("cpu")
    if dev.type == "meta":
        raise NotImplementedError("aten::from_file: attempted to run this operator with Meta "
                                  "tensors, but there was no fake impl or Meta kernel registered.")
    name = os.fspath(filename)
    nbytes = int(size) * dt.itemsize
    if nbytes < 0:
        raise RuntimeError(f"unable to mmap {nbytes} bytes from file <{name}>: Cannot allocate "
                           "memory (12)")
    if shared:
        with open(name, "ab"):  # creates a missing file, as PyTorch's O_CREAT does
            pass
        if os.path.getsize(name) < nbytes:
            os.truncate(name, nbytes)
    elif not os.path.exists(name):
        raise RuntimeError(f"unable to open file <{name}> in read-only mode: No such file or "
                           "directory (2)")
    elif os.path.getsize(name) < nbytes:
        raise RuntimeError(f"file <{name}> size <{os.path.getsize(name)}> is smaller than the "
                           f"required mapping size <{nbytes}>")
    if nbytes == 0:  # NumPy cannot map zero bytes
        arr = np.empty(0, dt.np_dtype)
    else:
        arr = np.memmap(name, dt.np_dtype, "r+" if shared else "c", shape=(int(size),))
    return Tensor._make(to_device_array(arr, dev), dt).requires_grad_(requires_grad)


class _Capsule:
    """A bare DLPack capsule dressed as an exporter, so NumPy's ``from_dlpack`` takes it."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (DLDeviceType.kDLCPU, 0)  # NumPy checks the capsule's own device as it reads


_INVALID = ("from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
            "consumed only once, so you might have already constructed a tensor from it once.")


def from_dlpack(ext_tensor, *, device=None, copy: bool | None = None) -> Tensor:
    """A tensor over the memory of another library's array (anything with ``__dlpack__``,
    such as a PyTorch tensor or a NumPy array) or of a DLPack capsule from ``to_dlpack``
    (which can be read once). ``copy=True`` copies instead; ``device`` moves the result.

    Example:
        >>> a = np.arange(3.0); t = ember.from_dlpack(a); a[0] = 7.0; t
        tensor([7., 1., 2.], dtype=torch.float64)
    """
    if isinstance(ext_tensor, Tensor):  # ember to ember: share the array as is
        if ext_tensor.requires_grad:  # what PyTorch's export would refuse
            raise BufferError("Can't export tensors that require gradient, use "
                              "tensor.detach()")
        arr = ext_tensor._data
        arr = arr.copy() if copy else arr
        return _finish(Tensor._make(arr, ext_tensor.dtype), device)
    if hasattr(ext_tensor, "__dlpack__"):
        kind = ext_tensor.__dlpack_device__()[0]
        source = ext_tensor
    elif type(ext_tensor).__name__ == "PyCapsule":
        kind, source = DLDeviceType.kDLCPU, _Capsule(ext_tensor)
    else:
        raise RuntimeError(_INVALID)
    if kind in (DLDeviceType.kDLCUDA, DLDeviceType.kDLCUDAManaged):
        from ._backend import _get_cupy

        cp = _get_cupy()
        if cp is None:
            raise RuntimeError("from_dlpack: the array lives on a CUDA device, but ember has no "
                               "CuPy to read it with")
        arr = cp.from_dlpack(source)
        arr = arr.copy() if copy else arr
    elif kind == DLDeviceType.kDLCPU:
        try:
            arr = np.from_dlpack(source, copy=copy)
        except ValueError as err:
            if isinstance(source, _Capsule) and "capsule" in str(err).lower():
                raise RuntimeError(_INVALID) from None
            raise
        if isinstance(source, _Capsule) and not arr.flags.writeable:
            arr = _writable(arr)
    else:
        raise RuntimeError(f"from_dlpack: unsupported DLPack device type {int(kind)} (ember "
                           "reads CPU and CUDA memory)")
    return _finish(Tensor._make(arr, D.from_numpy_dtype(arr.dtype)), device)


class _Holder:
    """Keeps the imported array (and so the capsule's memory) alive under a writable view."""

    def __init__(self, arr):
        self._arr = arr
        iface = dict(arr.__array_interface__)
        iface["data"] = (iface["data"][0], False)
        self.__array_interface__ = iface


def _writable(arr):
    # NumPy marks memory from an unversioned capsule read-only, since that format cannot say
    # whether it is; PyTorch's to_dlpack hands out writable memory and its from_dlpack writes.
    return np.asarray(_Holder(arr))


def _finish(t: Tensor, device) -> Tensor:
    return t if device is None else t.to(device)


def to_dlpack(tensor: Tensor):
    """A DLPack capsule over ``tensor``'s memory, for another library's ``from_dlpack`` (read
    once). Prefer passing the tensor itself: ``np.from_dlpack(t)``, ``torch.from_dlpack(t)``.

    Example:
        >>> t = ember.arange(3.0); u = ember.from_dlpack(ember.to_dlpack(t)); u[0] = 5.0; t
        tensor([5., 1., 2.])
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"_to_dlpack(): argument 'data' (position 1) must be Tensor, not "
                        f"{type(tensor).__module__}.{type(tensor).__name__}")
    return _export(tensor._data, None, None, None)


def _export(arr, max_version, dl_device, copy):
    if isinstance(arr, MetaArray):
        raise BufferError("Cannot export a meta tensor through DLPack: it has no data")
    kwargs = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device),
                                ("copy", copy)) if v is not None}
    return arr.__dlpack__(**kwargs)


def tensor_dlpack(self: Tensor, stream=-1, max_version=None, dl_device=None, copy=None):
    """``Tensor.__dlpack__``: the tensor's memory as a DLPack capsule (see ``to_dlpack``)."""
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if self.device.type == "cpu" and stream not in (None, -1):
        raise AssertionError("stream should be None on cpu.")
    return _export(self._data, max_version, dl_device, copy)


def tensor_dlpack_device(self: Tensor) -> tuple:
    """``Tensor.__dlpack_device__``: ``(DLDeviceType, device index)``."""
    if self.device.type == "meta":
        raise BufferError("Cannot export a meta tensor through DLPack: it has no data")
    if self.device.type == "cuda":
        return (DLDeviceType.kDLCUDA, self.device.index or 0)
    return (DLDeviceType.kDLCPU, 0)
