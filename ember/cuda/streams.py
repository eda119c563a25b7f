"""``torch.cuda.streams``: CUDA streams and events, CuPy's under PyTorch's names.

ember's GPU kernels are queued on CuPy's current stream, so making a ``Stream`` current
(``with ember.cuda.stream(s):``) sends the block's work to it. Without CUDA, streams and events
cannot be made (PyTorch's CPU build raises too); ``stream(None)`` and ``set_stream(None)`` do
nothing.

Example:
    >>> with ember.cuda.stream(None):   # no stream: no change, works anywhere
    ...     pass
"""

from __future__ import annotations

from .._backend import Device
from . import _runtime

__all__ = ["Stream", "ExternalStream", "Event", "StreamContext", "stream", "current_stream",
           "default_stream", "set_stream", "get_stream_from_external"]


class Stream:
    """A CUDA stream. ember's kernels are queued on the current stream: ``with
    ember.cuda.stream(s):`` (or ``with s:``) makes ``s`` current for a block.

    Example:
        >>> s = ember.cuda.Stream()  # on a GPU machine
        >>> with ember.cuda.stream(s):
        ...     y = x * 2
        >>> s.synchronize()
    """

    def __init__(self, device=None, priority: int = 0, *, _cupy_stream=None, **kwargs):
        cp = _runtime.cupy()
        self.device = Device("cuda", _runtime.index(device))
        self.priority = priority
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
        """Wait until all work queued on the stream is done."""
        self._cp.synchronize()

    def query(self) -> bool:
        """True when all work queued on the stream is done."""
        return bool(self._cp.done)

    def wait_event(self, event: Event) -> None:
        """Make later work on this stream wait for ``event``."""
        self._cp.wait_event(event._cp)

    def wait_stream(self, stream: Stream) -> None:
        """Make later work on this stream wait for the work queued on ``stream`` so far."""
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        """Record ``event`` (a new one when None) on this stream and return it."""
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


class ExternalStream(Stream):
    """A stream made elsewhere (another library's ``cudaStream_t``, given as an int), used as
    an ember stream; ember never destroys it.

    Example:
        >>> s = ember.cuda.ExternalStream(other_library_stream_ptr)  # doctest: +SKIP
    """

    def __init__(self, stream_ptr, device=None, **kwargs):
        cp = _runtime.cupy("ember.cuda.ExternalStream needs a GPU")
        idx = _runtime.index(device)
        with cp.cuda.Device(idx):
            external = cp.cuda.ExternalStream(int(stream_ptr))
        super().__init__(idx, _cupy_stream=external)


class Event:
    """A CUDA event: a marker in a stream, to wait on or to time GPU work between two.

    Example:
        >>> start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
        >>> start.record(); y = x @ x; end.record(); end.synchronize()
        >>> ms = start.elapsed_time(end)
    """

    def __init__(self, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False, external: bool = False):
        cp = _runtime.cupy()
        self._cp = cp.cuda.Event(block=blocking, disable_timing=not enable_timing,
                                 interprocess=interprocess)

    def record(self, stream: Stream | None = None) -> None:
        """Mark the point reached on ``stream`` (default: the current one)."""
        self._cp.record(stream._cp if stream is not None else None)

    def wait(self, stream: Stream | None = None) -> None:
        """Make later work on ``stream`` (default: the current one) wait for this event."""
        (stream if stream is not None else current_stream()).wait_event(self)

    def query(self) -> bool:
        """True when the work before the recorded point is done."""
        return bool(self._cp.done)

    def synchronize(self) -> None:
        """Wait for the work before the recorded point."""
        self._cp.synchronize()

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, timing on)."""
        return float(_runtime.cupy().cuda.get_elapsed_time(self._cp, end_event._cp))


def current_stream(device=None) -> Stream:
    """The stream ember's kernels are queued on now.

    Example:
        >>> ember.cuda.current_stream().synchronize()  # on a GPU machine
    """
    cp = _runtime.cupy()
    with cp.cuda.Device(_runtime.index(device)):
        return Stream(device, _cupy_stream=cp.cuda.get_current_stream())


def default_stream(device=None) -> Stream:
    """The device's default (null) stream.

    Example:
        >>> ember.cuda.default_stream().synchronize()  # on a GPU machine
    """
    return Stream(device, _cupy_stream=_runtime.cupy().cuda.Stream.null)


def set_stream(stream: Stream | None) -> None:
    """Make ``stream`` the current stream from now on (``None``: no change). Prefer the
    ``with ember.cuda.stream(s):`` block, which puts the previous stream back.

    Example:
        >>> ember.cuda.set_stream(None)
    """
    if stream is None:
        return
    stream._cp.use()


def get_stream_from_external(data_ptr: int, device=None) -> Stream:
    """An ``ExternalStream`` over a ``cudaStream_t`` made by another library.

    Example:
        >>> s = ember.cuda.get_stream_from_external(ptr)  # doctest: +SKIP
    """
    _runtime.cupy("ember.cuda.get_stream_from_external needs a GPU")
    return ExternalStream(data_ptr, device)


class StreamContext:
    """The context manager ``ember.cuda.stream(s)`` returns: the block's GPU work goes to
    ``s`` (``None``: no change, on any machine).

    Example:
        >>> with ember.cuda.StreamContext(None) as s:
        ...     s is None
        True
    """

    def __init__(self, stream: Stream | None):
        if stream is not None and not isinstance(stream, Stream):
            raise TypeError(f"StreamContext(): expected a torch.cuda.Stream or None, got "
                            f"{type(stream).__name__}")
        self.stream = stream
        self._device = None

    def __enter__(self):
        if self.stream is None:
            return None
        cp = _runtime.cupy()
        # a stream of another GPU: that GPU is current for the block too, as in PyTorch
        self._device = cp.cuda.Device(self.stream.device.index)
        self._device.__enter__()
        self.stream.__enter__()
        return self.stream

    def __exit__(self, *exc):
        if self.stream is None:
            return None
        self.stream.__exit__(*exc)
        self._device.__exit__(*exc)
        return None


def stream(stream: Stream | None) -> StreamContext:
    """``with ember.cuda.stream(s):`` queues the block's GPU work on ``s`` (``None``: no
    change).

    Example:
        >>> with ember.cuda.stream(None):
        ...     pass
    """
    return StreamContext(stream)
