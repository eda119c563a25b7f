"""``ember.cuda``: PyTorch's ``torch.cuda`` over CuPy (False, cleanly, without CuPy or a GPU).

ember's GPU arrays are CuPy arrays from CuPy's default memory pool, and its kernels run on
CuPy's current stream, so the memory statistics, streams and events here are CuPy's.

Example:
    >>> device = "cuda" if ember.cuda.is_available() else "cpu"
"""

from __future__ import annotations

from . import _backend
from ._backend import Device, _require_cuda, cuda_available, cuda_device_count
from .amp._device_aliases import cuda_amp as amp  # torch.cuda.amp: deprecated amp spellings

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "get_device_name",
    "get_device_capability", "synchronize", "manual_seed", "manual_seed_all", "empty_cache",
    "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
    "reset_peak_memory_stats", "reset_max_memory_allocated", "mem_get_info", "is_bf16_supported",
    "Event", "Stream", "current_stream", "default_stream", "stream", "amp",
]


def _cupy(what: str = "ember.cuda needs a GPU"):
    """CuPy, or PyTorch's error for a machine without CUDA."""
    return _require_cuda(Device("cuda"), what)


def _index(device=None) -> int:
    """A device argument (None, an int, ``"cuda:1"``, an ember.device) as a GPU index."""
    if device is None:
        return int(_cupy().cuda.runtime.getDevice())
    if isinstance(device, int):
        return device
    dev = Device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return dev.index if dev.index is not None else int(_cupy().cuda.runtime.getDevice())


def is_available() -> bool:
    """True when CuPy is installed and a GPU is present.

    Example:
        >>> ember.cuda.is_available()  # on a machine without a GPU
        False
    """
    return cuda_available()


def device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy or a GPU).

    Example:
        >>> ember.cuda.device_count()  # on a machine without a GPU
        0
    """
    return cuda_device_count()


def current_device() -> int:
    """The index of the current GPU.

    Example:
        >>> ember.cuda.current_device()  # on a GPU machine
        0
    """
    return int(_cupy().cuda.runtime.getDevice())


def set_device(device) -> None:
    """Make ``device`` (an index, ``"cuda:1"`` or an ember.device) the current GPU; a negative
    index does nothing, as in PyTorch.

    Example:
        >>> ember.cuda.set_device(0)  # on a GPU machine
    """
    index = _index(device)
    if index < 0:
        return
    cp = _cupy()
    if index >= cp.cuda.runtime.getDeviceCount():
        raise RuntimeError(f"CUDA error: invalid device ordinal {index}")
    cp.cuda.runtime.setDevice(index)


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H200'``.

    Example:
        >>> ember.cuda.get_device_name(0)  # on a GPU machine
        'NVIDIA H200'
    """
    name = _cupy().cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device=None) -> tuple[int, int]:
    """The GPU's compute capability as ``(major, minor)``.

    Example:
        >>> ember.cuda.get_device_capability()  # on an H100 or H200
        (9, 0)
    """
    props = _cupy().cuda.runtime.getDeviceProperties(_index(device))
    return int(props["major"]), int(props["minor"])


def synchronize(device=None) -> None:
    """Wait until all work queued on the GPU is done.

    Example:
        >>> ember.cuda.synchronize()  # on a GPU machine
    """
    cp = _cupy("ember.cuda.synchronize() waits for the GPU")
    with cp.cuda.Device(_index(device)):
        cp.cuda.runtime.deviceSynchronize()


def manual_seed(seed: int) -> None:
    """Seed the GPU's random numbers. ember draws GPU random numbers on the host from its one
    generator, so this seeds that generator (as ``ember.manual_seed`` does); without CUDA it
    does nothing, as in PyTorch.

    Example:
        >>> ember.cuda.manual_seed(0)
    """
    if cuda_available():
        from ._random import manual_seed as seed_all_devices

        seed_all_devices(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's random numbers: as ``manual_seed`` (one generator serves all devices).

    Example:
        >>> ember.cuda.manual_seed_all(0)
    """
    manual_seed(seed)


def empty_cache() -> None:
    """Give the unused blocks cached in CuPy's memory pool back to the driver (nothing without
    CUDA).

    Example:
        >>> ember.cuda.empty_cache()
    """
    if cuda_available():
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()


def _stats(device) -> dict:
    if not cuda_available():
        return _backend.memory_stats(0)
    return _backend.memory_stats(_index(device))


def memory_allocated(device=None) -> int:
    """Bytes held by live GPU tensors (0 without CUDA).

    Example:
        >>> ember.cuda.memory_allocated()  # on a machine without a GPU
        0
    """
    return _stats(device)["allocated"]


def max_memory_allocated(device=None) -> int:
    """The most bytes held by live GPU tensors since the start or the last
    ``reset_peak_memory_stats`` (0 without CUDA).

    Example:
        >>> ember.cuda.max_memory_allocated()  # on a machine without a GPU
        0
    """
    return _stats(device)["peak_allocated"]


def memory_reserved(device=None) -> int:
    """Bytes CuPy's memory pool holds on the GPU, in use or cached (0 without CUDA).

    Example:
        >>> ember.cuda.memory_reserved()  # on a machine without a GPU
        0
    """
    return _stats(device)["reserved"]


def max_memory_reserved(device=None) -> int:
    """The most bytes the memory pool held since the start or the last reset (0 without CUDA).

    Example:
        >>> ember.cuda.max_memory_reserved()  # on a machine without a GPU
        0
    """
    return _stats(device)["peak_reserved"]


def reset_peak_memory_stats(device=None) -> None:
    """Start ``max_memory_allocated``/``max_memory_reserved`` over from the present use.

    Example:
        >>> ember.cuda.reset_peak_memory_stats()
    """
    if cuda_available():
        _backend.reset_peak_memory(_index(device))


def reset_max_memory_allocated(device=None) -> None:
    """Start ``max_memory_allocated`` over (PyTorch's older spelling of the reset).

    Example:
        >>> ember.cuda.reset_max_memory_allocated()
    """
    reset_peak_memory_stats(device)


def mem_get_info(device=None) -> tuple[int, int]:
    """``(free, total)`` bytes of the GPU's memory, as the driver reports them.

    Example:
        >>> free, total = ember.cuda.mem_get_info()  # on a GPU machine
    """
    cp = _cupy()
    with cp.cuda.Device(_index(device)):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """True on a GPU (ember computes bfloat16 through CuPy's float32 kernels)."""
    return cuda_available()


# -- streams and events: CuPy's, under PyTorch's names --------------------------------------------

class Stream:
    """A CUDA stream. ember's kernels are queued on the current stream: ``with
    ember.cuda.stream(s):`` (or ``with s:``) makes ``s`` current for a block.

    Example:
        >>> s = ember.cuda.Stream()  # on a GPU machine
        >>> with ember.cuda.stream(s):
        ...     y = x * 2
        >>> s.synchronize()
    """

    def __init__(self, device=None, priority: int = 0, *, _cupy_stream=None):
        cp = _cupy()
        self.device = Device("cuda", _index(device))
        if _cupy_stream is None:
            with cp.cuda.Device(self.device.index):
                _cupy_stream = cp.cuda.Stream(non_blocking=False,
                                              priority=priority if priority else None)
        self._cp = _cupy_stream

    @property
    def cuda_stream(self) -> int:
        """The raw ``cudaStream_t`` as an int."""
        return int(self._cp.ptr)

    def synchronize(self) -> None:
        self._cp.synchronize()

    def query(self) -> bool:
        """True when all work queued on the stream is done."""
        return bool(self._cp.done)

    def wait_event(self, event: Event) -> None:
        self._cp.wait_event(event._cp)

    def wait_stream(self, stream: Stream) -> None:
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        event = event if event is not None else Event()
        event.record(self)
        return event

    def __enter__(self):
        self._cp.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cp.__exit__(*exc)

    def __eq__(self, other):
        return isinstance(other, Stream) and self.cuda_stream == other.cuda_stream

    def __hash__(self):
        return hash(self.cuda_stream)

    def __repr__(self):
        return f"<ember.cuda.Stream device={self.device} cuda_stream={self.cuda_stream:#x}>"


class Event:
    """A CUDA event: a marker in a stream, to wait on or to time GPU work between two.

    Example:
        >>> start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
        >>> start.record(); y = x @ x; end.record(); end.synchronize()
        >>> ms = start.elapsed_time(end)
    """

    def __init__(self, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False):
        cp = _cupy()
        self._cp = cp.cuda.Event(block=blocking, disable_timing=not enable_timing,
                                 interprocess=interprocess)

    def record(self, stream: Stream | None = None) -> None:
        self._cp.record(stream._cp if stream is not None else None)

    def wait(self, stream: Stream | None = None) -> None:
        (stream if stream is not None else current_stream()).wait_event(self)

    def query(self) -> bool:
        return bool(self._cp.done)

    def synchronize(self) -> None:
        self._cp.synchronize()

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, timing on)."""
        return float(_cupy().cuda.get_elapsed_time(self._cp, end_event._cp))


def current_stream(device=None) -> Stream:
    """The stream ember's kernels are queued on now.

    Example:
        >>> ember.cuda.current_stream().synchronize()  # on a GPU machine
    """
    cp = _cupy()
    with cp.cuda.Device(_index(device)):
        return Stream(device, _cupy_stream=cp.cuda.get_current_stream())


def default_stream(device=None) -> Stream:
    """The device's default (null) stream.

    Example:
        >>> ember.cuda.default_stream().synchronize()  # on a GPU machine
    """
    return Stream(device, _cupy_stream=_cupy().cuda.Stream.null)


class stream:
    """``with ember.cuda.stream(s):`` queues the block's GPU work on ``s`` (``None``: no change).

    Example:
        >>> with ember.cuda.stream(ember.cuda.Stream()):  # on a GPU machine
        ...     y = x * 2
    """

    def __init__(self, stream: Stream | None):
        self.stream = stream

    def __enter__(self):
        if self.stream is not None:
            self.stream.__enter__()
        return self.stream

    def __exit__(self, *exc):
        if self.stream is not None:
            self.stream.__exit__(*exc)
