"""Where a checkpoint says a storage lives, and how ``load`` puts it there: PyTorch's registry
of ``(priority, tagger, deserializer)`` entries (``register_package``).

``save`` asks the taggers, in priority order, for a storage's location string (``"cpu"``,
``"cuda:0"``); ``load`` asks the deserializers to place a storage read from the file at the
recorded (or ``map_location``'s) location. ember's built-in entries are cpu (10), cuda (20) and
meta (22), as in PyTorch. While only those are registered, ``save``/``load`` take their own
direct path; an entry a program adds is consulted first wherever its priority puts it.
"""

from __future__ import annotations

from .._backend import CPU, Device


def _device_of(obj):
    dev = getattr(obj, "device", None)
    return None if dev is None else Device(dev)


def _cpu_tag(obj):
    dev = _device_of(obj)
    return "cpu" if dev is not None and dev.type == "cpu" else None


def _cuda_tag(obj):
    dev = _device_of(obj)
    return f"cuda:{dev.index or 0}" if dev is not None and dev.type == "cuda" else None


def _meta_tag(obj):
    dev = _device_of(obj)
    return "meta" if dev is not None and dev.type == "meta" else None


def _restore(obj, location: str, prefix: str):
    if not isinstance(location, str) or not location.startswith(prefix):
        return None
    from .._tensor import Tensor

    target = Device(location)
    if _device_of(obj) == target:
        return obj
    if isinstance(obj, Tensor):
        return obj.to(target)
    if target.type == "cuda":
        validate_cuda_device(location)
        return obj.cuda(target.index)
    return obj.cpu() if target.type == "cpu" else None


def _cpu_deserialize(obj, location):
    return _restore(obj, location, "cpu")


def _cuda_deserialize(obj, location):
    return _restore(obj, location, "cuda")


def _meta_deserialize(obj, location):
    return _restore(obj, location, "meta")


_BUILTIN = {_cpu_deserialize: "cpu", _cuda_deserialize: "cuda", _meta_deserialize: "meta"}
package_registry: list = [(10, _cpu_tag, _cpu_deserialize), (20, _cuda_tag, _cuda_deserialize),
                          (22, _meta_tag, _meta_deserialize)]


def register_package(priority: int, tagger, deserializer) -> None:
    """Register a ``tagger(storage) -> location | None`` and a
    ``deserializer(storage, location) -> storage | None`` for ``save`` and ``load``.

    Entries run in ascending ``priority`` (ember's: cpu 10, cuda 20, meta 22) until one returns
    something other than None. Entries of equal priority run in the order registered.

    Example:
        >>> def tag(s): return "cpu" if s.device.type == "cpu" else None
        >>> def restore(s, location): return s if location == "cpu" else None
        >>> ember.serialization.register_package(5, tag, restore)
    """
    entries = package_registry + [(priority, tagger, deserializer)]
    entries.sort(key=lambda entry: entry[0])  # TypeError for a priority that is not a number
    package_registry[:] = entries


def has_custom_entries() -> bool:
    """True once a program registered its own tagger or deserializer."""
    return any(des not in _BUILTIN for _, _, des in package_registry)


def location_tag(storage):
    """The location a checkpoint records for a tensor's or a storage's data.

    Example:
        >>> ember.serialization.location_tag(ember.ones(2))
        'cpu'
    """
    for _, tagger, _ in package_registry:
        location = tagger(storage)
        if location:
            return location
    raise RuntimeError(f"don't know how to determine data location of {type(storage).__name__}")


def default_restore_location(storage, location):
    """``storage`` (what a ``map_location`` callable receives) placed at ``location``: what
    ``load`` does when no ``map_location`` is given. Old code calls it from its own
    ``map_location`` functions, e.g. ``lambda s, loc: default_restore_location(s, "cpu")``.

    Example:
        >>> ember.load(f, map_location=lambda s, loc: default_restore_location(s, "cpu"))
    """
    for _, _, deserializer in package_registry:
        result = deserializer(storage, location)
        if result is not None:
            return result
    raise RuntimeError(f"don't know how to restore data location of "
                       f"{type(storage).__name__} (tagged with {location})")


def save_location(root, device: Device):
    """The location ``save`` records for a storage (the array ``root`` on ``device``), asking
    the registry (only called once a program has registered its own entries)."""
    from .._storage import UntypedStorage

    return location_tag(UntypedStorage._wrap(root, device))


def restore_registered(arr, location, map_location):
    """``arr`` (a storage read to the CPU) placed by a program's own deserializer, or None when
    a built-in entry handles the location first (then ``load`` takes its direct path)."""
    import numpy as np

    from .._storage import UntypedStorage, _flat
    from .._tensor import Tensor

    if map_location is None:
        target = location
    elif isinstance(map_location, dict):
        target = map_location.get(location, location)
    else:
        target = str(map_location)
    for _, _, deserializer in list(package_registry):
        prefix = _BUILTIN.get(deserializer)
        if prefix is not None:
            if isinstance(target, str) and target.startswith(prefix):
                return None
            continue
        result = deserializer(UntypedStorage._wrap(arr, CPU), target)
        if result is None:
            continue
        data = result._data if isinstance(result, Tensor) else getattr(result, "_root", None)
        if not isinstance(data, np.ndarray):
            raise RuntimeError(
                f"the deserializer registered for location {target!r} returned "
                f"{type(result).__name__}; ember rebuilds checkpoint tensors from CPU storages "
                "(return the storage itself, or its CPU copy)")
        if data is arr:
            return arr
        flat = _flat(data).view(np.uint8)
        if flat.nbytes != arr.nbytes:
            raise RuntimeError(
                f"the deserializer registered for location {target!r} returned a storage of "
                f"{flat.nbytes} bytes for one of {arr.nbytes}")
        return flat.view(arr.dtype)
    raise RuntimeError(f"don't know how to restore data location of UntypedStorage "
                       f"(tagged with {target})")


_TORCH_DEVICE_TYPES = frozenset(
    "cpu cuda ipu xpu mkldnn opengl opencl ideep hip ve fpga maia xla lazy vulkan mps meta hpu "
    "mtia privateuseone".split())
_HELP = ("If you are running on a CPU-only machine, please use torch.load with "
         "map_location=torch.device('cpu') to map your storages to the CPU.")


def validate_cuda_device(location):
    """The GPU index a ``"cuda[:n]"`` location names, checked against this machine's GPUs.

    Raises ``ValueError`` for a location that is not a CUDA device and ``RuntimeError`` when
    CUDA is unavailable or has too few devices.

    Example:
        >>> ember.serialization.validate_cuda_device("cuda:0")  # on a GPU machine
        0
    """
    from .._backend import cuda_available, cuda_device_count

    if isinstance(location, int) and not isinstance(location, bool):
        index = location
    elif location is None:
        index = None
    else:
        try:
            dev = Device(location)
        except RuntimeError:
            # A device type PyTorch knows but ember has no backend for ("hpu:0", "xpu")
            kind = location.split(":")[0] if isinstance(location, str) else None
            if kind in _TORCH_DEVICE_TYPES - {"cpu", "cuda", "meta"}:
                raise ValueError(f"Expected a cuda device, but got: {location}") from None
            raise
        if dev.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {dev}")
        index = dev.index
    if not cuda_available():
        raise RuntimeError("Attempting to deserialize object on a CUDA device but "
                           f"torch.cuda.is_available() is False. {_HELP}")
    if index is None:
        from .. import cuda

        index = cuda.current_device()
    count = cuda_device_count()
    if index >= count:
        raise RuntimeError(f"Attempting to deserialize object on CUDA device {index} but "
                           f"torch.cuda.device_count() is {count}. Please use torch.load with "
                           "map_location to map your storages to an existing device.")
    return index


def validate_hpu_device(location):
    """The HPU index of a location: ember has no HPU backend, so this always raises.

    Example:
        >>> ember.serialization.validate_hpu_device("hpu:0")
        Traceback (most recent call last):
        RuntimeError: The HPU device module is not registered. ...
    """
    raise RuntimeError(f"The HPU device module is not registered. {_HELP}")
