"""``torch.cuda.nvtx``: NVTX ranges and marks for profilers (Nsight), through CuPy's NVTX.

As in PyTorch's CPU build, without CUDA every call raises RuntimeError ("NVTX functions not
installed"). On a GPU whose CuPy lacks NVTX support the calls do nothing.

Example:
    >>> with ember.cuda.nvtx.range("forward"):  # on a GPU machine
    ...     y = model(x)
"""

from __future__ import annotations

from contextlib import contextmanager

from . import _runtime

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]

_depth = [0]            # how many range_push ranges are open
_open: dict = {}        # range_start id -> its message, until range_end
_next_id = [1]


def _nvtx():
    """CuPy's NVTX module, or None where CuPy has none; raises without CUDA."""
    cp = _runtime.loaded_cupy()
    if cp is None:
        raise RuntimeError("NVTX functions not installed. Are you sure you have a CUDA build?")
    nvtx = getattr(cp.cuda, "nvtx", None)
    return nvtx if nvtx is not None and getattr(nvtx, "available", True) else None


def range_push(msg: str) -> int:
    """Open a nested range named ``msg``; returns its depth (0-based).

    Example:
        >>> ember.cuda.nvtx.range_push("step")  # on a GPU machine
        0
    """
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.RangePush(msg)
    _depth[0] += 1
    return _depth[0] - 1


def range_pop() -> int:
    """Close the innermost range; returns the depth it was at.

    Example:
        >>> ember.cuda.nvtx.range_pop()  # on a GPU machine
        0
    """
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.RangePop()
    _depth[0] = max(0, _depth[0] - 1)
    return _depth[0]


def range_start(msg: str) -> int:
    """Open a range that may end on another thread; returns its id for ``range_end``. CuPy
    has no start/end ranges (only nested push/pop), so the range is marked with ``mark``.

    Example:
        >>> rid = ember.cuda.nvtx.range_start("load")  # on a GPU machine
        >>> ember.cuda.nvtx.range_end(rid)
    """
    mark(msg)
    rid = _next_id[0]
    _next_id[0] += 1
    _open[rid] = msg
    return rid


def range_end(range_id: int) -> None:
    """Close the range ``range_start`` opened.

    Example:
        >>> ember.cuda.nvtx.range_end(rid)  # doctest: +SKIP
    """
    _nvtx()
    msg = _open.pop(range_id, None)
    if msg is not None:
        mark(f"{msg} (end)")


def mark(msg: str) -> None:
    """An instant marker named ``msg``.

    Example:
        >>> ember.cuda.nvtx.mark("checkpoint")  # on a GPU machine
    """
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.Mark(msg)


@contextmanager
def range(msg: str, *args, **kwargs):
    """A range around a block; ``msg`` is formatted with ``args``/``kwargs``.

    Example:
        >>> with ember.cuda.nvtx.range("layer {}", 3):  # on a GPU machine
        ...     pass
    """
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
