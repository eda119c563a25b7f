"""``torch.Stream`` and ``torch.Event``: the device-generic stream and event.

On the CPU, as in PyTorch's CPU build, there is one stream and it is always done (ember's CPU
work is synchronous): ``query()`` is True, ``synchronize()`` and ``wait_event()`` return at
once, and recording an event raises, as PyTorch's does ("cpu backend doesn't support events").
On a GPU they wrap ``ember.cuda.Stream`` / ``ember.cuda.Event`` (CuPy's).
"""

from __future__ import annotations

import numbers

from ._backend import Device

__all__ = ["Stream", "Event"]

# c10::DeviceType codes, what PyTorch's ``Stream.device_type`` reports
_DEVICE_TYPE = {"cpu": 0, "cuda": 1, "meta": 14}


def _device(device, cls: str) -> Device:
    if device is None:
        from . import cuda

        return Device("cuda", cuda.current_device()) if cuda.is_available() else Device("cpu")
    if isinstance(device, numbers.Integral) and not isinstance(device, bool):
        from . import cuda

        if not cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return Device("cuda", int(device))
    if not isinstance(device, (str, Device)):
        raise TypeError(f"{cls}(): argument 'device' must be torch.device, not "
                        f"{type(device).__name__}")
    dev = Device(device)
    if dev.type == "cuda":
        from . import cuda

        if not cuda.is_available():
            raise RuntimeError("PyTorch is not linked with support for cuda devices")
        return Device("cuda", dev.index or 0)
    return Device(dev.type)  # PyTorch's CPU and meta streams carry no index


def _no_events(device: Device) -> RuntimeError:
    return RuntimeError(f"{device.type} backend doesn't support events.")


class Stream:
    """An in-order queue of work on a device (``torch.Stream``).

    ``Stream(device=None, *, priority=0)``; without a device, the GPU's when there is one,
    else the CPU's. A CPU stream is always idle.

    Example:
        >>> s = ember.Stream(device="cpu")
        >>> s.query(), s.device_type, s.stream_id
        (True, 0, 0)
    """

    def __init__(self, device=None, *, priority: int = 0):
        if not isinstance(priority, numbers.Integral) or isinstance(priority, bool):
            raise TypeError(f"Stream(): argument 'priority' must be int, not "
                            f"{type(priority).__name__}")
        self.device = _device(device, "Stream")
        self._impl = None
        if self.device.type == "cuda":
            from . import cuda

            self._impl = cuda.Stream(self.device, priority)

    @property
    def device_type(self) -> int:
        return _DEVICE_TYPE[self.device.type]

    @property
    def device_index(self) -> int:
        return -1 if self.device.index is None else self.device.index

    @property
    def stream_id(self) -> int:
        return 0 if self._impl is None else self._impl.cuda_stream

    @property
    def native_handle(self) -> int:
        if self._impl is None:
            raise RuntimeError("Backend doesn't support getting stream native handle.")
        return self._impl.cuda_stream

    def query(self) -> bool:
        """Whether all work queued on the stream is done (always, on the CPU).

        Example:
            >>> ember.Stream(device="cpu").query()
            True
        """
        return True if self._impl is None else self._impl.query()

    def synchronize(self) -> None:
        """Wait for the work queued on the stream (none left, on the CPU).

        Example:
            >>> ember.Stream(device="cpu").synchronize()
        """
        if self._impl is not None:
            self._impl.synchronize()

    def wait_event(self, event) -> None:
        """Make later work on this stream wait for ``event``.

        Example:
            >>> ember.Stream(device="cpu").wait_event(ember.Event(device="cpu"))
        """
        if not isinstance(event, Event):
            raise TypeError(f"wait_event(): argument 'event' must be torch.Event, not "
                            f"{type(event).__name__}")
        if self._impl is not None and event._impl is not None:
            self._impl.wait_event(event._impl)

    def wait_stream(self, stream) -> None:
        """Make later work on this stream wait for the work queued on ``stream`` so far
        (needs events: raises on the CPU, as PyTorch does).

        Example:
            >>> ember.Stream(device="cpu").wait_stream(ember.Stream(device="cpu"))
            Traceback (most recent call last):
            RuntimeError: cpu backend doesn't support events.
        """
        if self._impl is None:
            raise _no_events(self.device)
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        """Record ``event`` (a new one when None) on this stream and return it (raises on the
        CPU, as PyTorch does).

        Example:
            >>> ember.Stream(device="cpu").record_event()
            Traceback (most recent call last):
            RuntimeError: cpu backend doesn't support events.
        """
        if self._impl is None:
            raise _no_events(self.device)
        event = Event(self.device) if event is None else event
        event.record(self)
        return event

    def is_capturing(self) -> bool:
        """Whether a CUDA graph capture is running on this stream (never, in ember).

        Example:
            >>> ember.Stream(device="cpu").is_capturing()
            False
        """
        return False

    def __enter__(self):
        if self._impl is not None:
            self._impl.__enter__()
        return self

    def __exit__(self, *exc):
        if self._impl is not None:
            self._impl.__exit__(*exc)

    def __eq__(self, other):
        return isinstance(other, Stream) and (self.device, self.stream_id) == \
            (other.device, other.stream_id)

    def __hash__(self):
        return hash((self.device, self.stream_id))

    def __repr__(self):
        return f"torch.Stream device_type={self.device.type}, " \
               f"device_index={self.device_index}, stream_id={self.stream_id}"


class Event:
    """A marker in a stream, to wait on or to time work between two (``torch.Event``).

    ``Event(device=None, *, enable_timing=False, blocking=False, interprocess=False)``. A CPU
    event can never be recorded (PyTorch's CPU build has no events), so it is always done.

    Example:
        >>> e = ember.Event(device="cpu")
        >>> e.query(), e.synchronize()
        (True, None)
    """

    def __init__(self, device=None, *, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False):
        self.device = _device(device, "Event")
        self.enable_timing = bool(enable_timing)
        self._impl = None
        if self.device.type == "cuda":
            from . import cuda

            self._impl = cuda.Event(enable_timing, blocking, interprocess)
        self._recorded = False

    @property
    def event_id(self) -> int:
        return 0 if self._impl is None else id(self._impl)

    def record(self, stream=None) -> None:
        """Record the event on ``stream`` (default: the current one); raises on the CPU, as
        PyTorch does.

        Example:
            >>> ember.Event(device="cpu").record()
            Traceback (most recent call last):
            RuntimeError: cpu backend doesn't support events.
        """
        if stream is not None and not isinstance(stream, Stream):
            raise TypeError(f"record(): argument 'stream' must be torch.Stream, not "
                            f"{type(stream).__name__}")
        if self._impl is None:
            raise _no_events(self.device)
        if stream is not None and stream.device.type != self.device.type:
            raise RuntimeError(f"Event device type {self.device.type.upper()} does not match "
                               f"recording stream's device type "
                               f"{stream.device.type.upper()}.")
        self._impl.record(stream._impl if stream is not None else None)
        self._recorded = True

    def wait(self, stream=None) -> None:
        """Make later work on ``stream`` (default: the current one) wait for this event.

        Example:
            >>> ember.Event(device="cpu").wait()
        """
        if self._impl is not None and self._recorded:
            self._impl.wait(stream._impl if stream is not None else None)

    def query(self) -> bool:
        """Whether the work before the recorded point is done (True if never recorded).

        Example:
            >>> ember.Event(device="cpu").query()
            True
        """
        return True if self._impl is None or not self._recorded else self._impl.query()

    def synchronize(self) -> None:
        """Wait for the work before the recorded point (returns at once if never recorded).

        Example:
            >>> ember.Event(device="cpu").synchronize()
        """
        if self._impl is not None and self._recorded:
            self._impl.synchronize()

    def elapsed_time(self, end_event) -> float:
        """Milliseconds between this event and ``end_event``: both need ``enable_timing=True``
        and must have been recorded (so never on the CPU).

        Example:
            >>> e = ember.Event(device="cpu", enable_timing=True)
            >>> e.elapsed_time(e)
            Traceback (most recent call last):
            ValueError: Both events must be recorded before calculating elapsed time.
        """
        if not isinstance(end_event, Event):
            raise RuntimeError("expected other to be a torch.Event object")
        if not (self.enable_timing and end_event.enable_timing):
            raise ValueError("Both events must be created with argument 'enable_timing=True'.")
        if not (self._recorded and end_event._recorded):
            raise ValueError("Both events must be recorded before calculating elapsed time.")
        return self._impl.elapsed_time(end_event._impl)

    def ipc_handle(self):
        """Not supported, as in PyTorch.

        Example:
            >>> ember.Event(device="cpu").ipc_handle()
            Traceback (most recent call last):
            NotImplementedError: torch.Event ipc is not supported yet, please open an issue if you need this!
        """  # noqa: E501
        raise NotImplementedError("torch.Event ipc is not supported yet, please open an issue "
                                  "if you need this!")

    @classmethod
    def from_ipc_handle(cls, device, ipc_handle):
        """Not supported, as in PyTorch.

        Example:
            >>> ember.Event.from_ipc_handle("cpu", b"")
            Traceback (most recent call last):
            NotImplementedError: torch.Event ipc is not supported yet, please open an issue if you need this!
        """  # noqa: E501
        raise NotImplementedError("torch.Event ipc is not supported yet, please open an issue "
                                  "if you need this!")

    def __repr__(self):
        index = -1 if self.device.index is None else self.device.index
        return f"torch.Event device_type={self.device.type}, device_index={index}, " \
               f"event_flag={int(self.enable_timing)}, event_id={self.event_id}"
