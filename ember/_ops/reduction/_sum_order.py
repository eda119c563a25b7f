"""Floating-point sums added in PyTorch's CPU order, so ``sum``/``mean`` match it bit for bit.

NumPy adds with pairwise summation (blocks of 128, 8 accumulators); PyTorch's CPU kernel
(ATen's ``cascade_sum``) adds in another order, and float32 rounding makes the two differ in
the last bits. This module replays PyTorch's order with whole-array NumPy operations: every
addition PyTorch makes is made here too, on the same operands, in the same association.

PyTorch's order, as this module reproduces it:

* **TensorIterator** drops size-1 dims, puts the reduced dims innermost (ordered by input
  stride), the kept dims after them (ordered by the contiguous output's strides), and merges
  neighbours whose strides chain. Its innermost two dims reach the kernel as one 2-d loop;
  outer dims are a loop around it that adds each call's result into the output.
* **cascade**: PyTorch's ``multi_row_sum``. Rows are added one after another into a level-0
  accumulator; every ``2**p`` rows (``p = max(4, ceil_log2(n) // 4)``) it is added into
  level 1, every ``2**(2p)`` rows level 1 into level 2, every ``2**(3p)`` level 2 into level 3;
  at the end ``((level0 + level1) + level2) + level3``.
* **ilp**: PyTorch's ``row_sum``: a row read as ``(n // 4, 4)``, the four columns cascaded
  side by side, the leftover 0-3 elements added to column 0, then columns 1, 2, 3.
* **inner** (reduced dim contiguous, at least one vector long): a row read as vectors of W
  lanes (32 bytes: 8 float32s, 4 float64s; see ``_vector_bytes``), the vectors summed by ilp
  lane by lane; then ``0 + tail elements + lane 0 + ... + lane W-1``.
* **outer** (a kept dim contiguous): columns in blocks of ``4 W`` are cascaded, the rest go
  by ilp; with scalar (strided) columns, blocks of 4 instead of ``4 W``.
* **threads**: at 32768 elements or more, a full reduction is split into one contiguous piece
  per thread (each summed as above, then the pieces summed); a partial one splits its kept
  columns between threads (rounded to 128 bytes), which moves the block boundaries. ember's
  thread count (``ember.get_num_threads()``) stands in for PyTorch's.

Sums this module does not cover (broadcast or negative strides, a split that cuts rows) return
None, and the caller uses NumPy.
"""

from __future__ import annotations

import math
import platform

import numpy as np

from ... import _threads

GRAIN_SIZE = 32768  # ATen's internal::GRAIN_SIZE: below it a reduction runs on one thread
_LEVELS = 4  # multi_row_sum's accumulator levels
_ILP = 4  # row_sum's independent accumulators


def _vector_bytes() -> int | None:
    """Bytes in one of the vectors PyTorch's sum kernel adds with: 32 on x86-64 whatever the
    CPU. (ATen registers its sum kernel with ``REGISTER_DISPATCH``, which leaves the AVX-512
    slot empty, so an AVX-512 CPU runs the AVX2 build; the no-AVX build's generic vectors are
    32 bytes too.) None elsewhere: there this module does not know PyTorch's kernel."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    return 32


VECTOR_BYTES = _vector_bytes()


def vector_width(dtype) -> int | None:
    """Lanes of the vectors PyTorch's CPU sum adds ``dtype`` in (8 float32s on x86-64).

    Example:
        >>> vector_width(np.float32) in (8, 16, None)
        True
    """
    return None if VECTOR_BYTES is None else VECTOR_BYTES // np.dtype(dtype).itemsize


# -- the summation orders, each along one axis of an array (the other axes are independent) --

def _at(a: np.ndarray, axis: int, i: int) -> np.ndarray:
    """``a[..., i, ...]`` with ``i`` on ``axis``."""
    return a[(slice(None),) * axis + (i,)]


def _part(a: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    """``a[..., start:stop, ...]`` on ``axis``."""
    return a[(slice(None),) * axis + (slice(start, stop),)]


def _split_axis(a: np.ndarray, axis: int, parts: tuple) -> np.ndarray:
    return a.reshape(a.shape[:axis] + parts + a.shape[axis + 1:])


def _seq(a: np.ndarray, axis: int) -> np.ndarray:
    """``((a0 + a1) + a2) + ...`` along ``axis``: one running sum per other position."""
    n = a.shape[axis]
    if n == 1:
        return _at(a, axis, 0)
    if n <= 64 and a.size >= 1 << 14 and a.shape[-1] < 256:
        # a few whole-array adds: faster than np.add.reduce over a middle axis when the
        # inner loop (the last axis) is short
        total = _at(a, axis, 0).copy()
        for i in range(1, n):
            np.add(total, _at(a, axis, i), out=total)
        return total
    # np.add.reduce runs its inner loop over the axis of smallest stride: when that is one of
    # the other axes, each output is a running sum (sequential). Otherwise it would add the
    # reduced axis pairwise, so accumulate (always sequential) is used instead.
    step = abs(a.strides[axis])
    if axis < a.ndim - 1 and a.shape[-1] > 1 and abs(a.strides[-1]) < step or any(
            size > 1 and abs(st) < step
            for i, (size, st) in enumerate(zip(a.shape, a.strides)) if i != axis):
        return np.add.reduce(a, axis=axis)
    return _at(np.add.accumulate(a, axis=axis), axis, n - 1)


def _ceil_log2(n: int) -> int:
    return 1 if n <= 2 else (n - 1).bit_length()


def _cascade(a: np.ndarray, axis: int) -> np.ndarray:
    """PyTorch's ``multi_row_sum`` along ``axis`` (see the module docstring)."""
    n = a.shape[axis]
    step = 1 << max(4, _ceil_log2(n) // _LEVELS)
    if n < step:  # no full block: level 0 holds everything
        return _seq(a, axis)
    parts = []  # what each level's accumulator holds at the end, level 0 first
    level = a
    for _ in range(_LEVELS - 1):
        m = level.shape[axis]
        full = m // step
        if full * step < m:
            parts.append(_seq(_part(level, axis, full * step, m), axis))
        if full == 0:
            break
        level = _seq(_split_axis(_part(level, axis, 0, full * step), axis, (full, step)),
                     axis + 1)
    else:  # the top level is never flushed: it adds all its inputs
        parts.append(_seq(level, axis))
    total = parts[0].copy()  # (levels left empty hold 0, and x + 0 is x)
    for part in parts[1:]:
        total += part
    return total


def _ilp(a: np.ndarray, axis: int) -> np.ndarray:
    """PyTorch's ``row_sum`` along ``axis``: four interleaved cascades, then the leftovers."""
    n = a.shape[axis]
    body = n // _ILP * _ILP
    if not body:  # the four partial sums stay 0: the elements, one after another
        return _seq(a, axis)
    partial = _cascade(_split_axis(_part(a, axis, 0, body), axis, (n // _ILP, _ILP)), axis)
    # partial 0, then the leftover elements, then partials 1, 2, 3, one after another
    order = [_part(partial, axis, 0, 1), _part(a, axis, body, n), _part(partial, axis, 1, _ILP)]
    return _seq(np.concatenate(order, axis=axis), axis)


def _row_sums(rows: np.ndarray, width: int) -> np.ndarray:
    """Sum of each row (the last axis) as PyTorch's inner reduction adds it: vectorized when
    the row is contiguous and at least one vector long, else scalar ``row_sum``."""
    n = rows.shape[-1]
    if n < width or rows.strides[-1] != rows.itemsize:
        return _ilp(rows, rows.ndim - 1)
    lead = rows.shape[:-1]
    vectors = n // width
    quads = vectors // _ILP  # row_sum's rows: four vectors each
    vec = rows[..., :vectors * width].reshape(lead + (vectors, width))
    # (the reductions over axis -2 below are running sums: the lanes are the inner loop)
    if quads:
        blocks = vec[..., :quads * _ILP, :].reshape(lead + (quads, _ILP * width))
        partial = _cascade(blocks, len(lead)).reshape(lead + (_ILP, width))
        # partial 0, then the leftover vectors, then partials 1, 2, 3, one after another
        order = (partial[..., :1, :], vec[..., quads * _ILP:, :], partial[..., 1:, :])
        lanes = np.add.reduce(np.concatenate(order, axis=-2), axis=-2)
    else:  # the partial sums stay 0: the 1-3 vectors, one after another
        lanes = np.add.reduce(vec, axis=-2)
    # 0 + each leftover element + each lane, one after another
    tail = rows[..., vectors * width:]
    last = np.concatenate((tail, lanes), axis=-1) if tail.shape[-1] else lanes
    return np.add.accumulate(last, axis=-1)[..., -1]


def _column_sums(a: np.ndarray, runs: list) -> np.ndarray:
    """Sum over axis -2 of ``a`` (..., n, columns), each run of columns ``(start, stop,
    cascaded)`` by cascade (``multi_row_sum``) or by ilp (``row_sum``)."""
    out = np.empty(a.shape[:-2] + a.shape[-1:], a.dtype)
    axis = a.ndim - 2
    for start, stop, cascaded in runs:
        part = a[..., start:stop]
        out[..., start:stop] = _cascade(part, axis) if cascaded else _ilp(part, axis)
    return out


# -- PyTorch's TensorIterator: which dims, in which order, on how many threads --------------

def _iteration_dims(x: np.ndarray, axes: tuple):
    """PyTorch's iteration dims, innermost first, as ``[size, stride, reduced]`` (stride in
    elements) after dropping size-1 dims and merging chained neighbours; None if a stride is
    not positive (broadcast or flipped memory, which this module leaves to NumPy)."""
    dims = []
    for axis, (size, stride) in enumerate(zip(x.shape, x.strides)):
        if size == 1:
            continue
        if stride <= 0 or stride % x.itemsize:
            return None
        dims.append((axis, size, stride // x.itemsize, axis in axes))
    reduced = sorted((d for d in dims if d[3]), key=lambda d: d[2])
    kept = sorted((d for d in dims if not d[3]), key=lambda d: -d[0])
    merged = []
    for _, size, stride, red in reduced + kept:
        if merged and merged[-1][2] == red and merged[-1][0] * merged[-1][1] == stride:
            merged[-1][0] *= size
        else:
            merged.append([size, stride, red])
    return merged


def _thread_ranges(n: int, grain: int, threads: int) -> list:
    """``at::parallel_for``'s pieces of ``range(n)`` (OpenMP: equal chunks, one per thread)."""
    used = min(threads, -(-n // grain))
    chunk = -(-n // used)
    return [(lo, min(n, lo + chunk)) for lo in range(0, n, chunk)]


def _column_chunks(dims: list, threads: int, itemsize: int) -> list:
    """The column ranges of iteration dim 1 that one kernel call sees: all of it, unless a
    parallel reduction splits that dim between threads (rounded to 128 bytes where
    contiguous)."""
    columns = dims[1][0]
    numel = math.prod(d[0] for d in dims)
    if numel < GRAIN_SIZE or threads == 1:
        return [(0, columns)]
    split = len(dims) - 1  # find_split_dim: the outermost kept dim with a row per thread,
    for d in range(len(dims) - 1, -1, -1):  # else the largest kept dim
        if dims[d][2]:
            break
        if dims[d][0] >= threads:
            split = d
            break
        if dims[d][0] > dims[split][0]:
            split = d
    if split != 1:
        return [(0, columns)]
    chunks = []
    for lo, hi in _thread_ranges(columns, 1, threads):
        if dims[1][1] == 1:  # round_columns: multiples of 128 bytes, the last end kept
            multiple = 128 // itemsize
            lo -= lo % multiple
            if hi != columns:
                hi -= hi % multiple
        if lo != hi:
            chunks.append((lo, hi))
    return chunks


def _runs(chunks: list, vector_outer: bool, scalar_inner: bool, width: int) -> list:
    """Which columns each kernel call cascades (blocks of 4 vectors, or of 4 columns) and
    which it adds by ``row_sum``."""
    runs = []
    for lo, hi in chunks:
        m = hi - lo
        if vector_outer and m >= width:
            block = 4 * width
        elif scalar_inner:
            block = m + 1  # no blocks: every column by row_sum
        else:
            block = 4
        cut = lo + m // block * block
        for run in ((lo, cut, True), (cut, hi, False)):
            if run[0] == run[1]:
                continue
            if runs and runs[-1][1] == run[0] and runs[-1][2] == run[2]:
                runs[-1] = (runs[-1][0], run[1], run[2])  # columns are independent: merge
            else:
                runs.append(run)
    return runs


def _strided_view(x: np.ndarray, dims: list) -> np.ndarray:
    """``x`` seen through the iteration dims, outermost first."""
    shape = tuple(d[0] for d in reversed(dims))
    strides = tuple(d[1] * x.itemsize for d in reversed(dims))
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def torch_order_sum(x: np.ndarray, axes: tuple, keepdims: bool):
    """``np.add.reduce(x, axes, keepdims=keepdims)`` added in PyTorch's CPU order (a new
    row-major array), or None where this module does not reproduce that order (the caller
    then uses NumPy).

    Example:
        >>> x = np.float32([1e8, 1, -1e8, 1] * 8)
        >>> r = torch_order_sum(x, (0,), False)
        >>> r is None or r.shape == ()
        True
    """
    if x.dtype not in (np.float32, np.float64) or x.size == 0 or not axes:
        return None
    width = vector_width(x.dtype)
    if width is not None and x.flags.c_contiguous:
        fast = _contiguous_rows(x, axes, keepdims, width)
        if fast is not None:
            return fast
    dims = None if width is None else _iteration_dims(x, set(axes))
    if dims is None:
        return None
    if not any(d[2] for d in dims):
        return None  # only size-1 dims reduced: a copy, which NumPy makes exactly
    threads = _threads.num_threads()
    view = _strided_view(x, dims)
    reduced = sum(1 for d in dims if d[2])
    if reduced == len(dims):
        result = _full_sum(view, dims, width, threads)
        if result is None:
            return None
    elif reduced >= 2:
        rows = view.reshape(view.shape[:len(dims) - reduced] + (-1, dims[0][0]))
        result = _seq(_row_sums(rows, width), rows.ndim - 2)
    else:
        result = _one_dim_sum(view, dims, width, threads)
    out_shape = tuple(1 if a in axes else n for a, n in enumerate(x.shape) if keepdims or
                      a not in axes)
    out = np.zeros(out_shape, x.dtype)  # torch adds into a zero-filled output (-0 becomes 0)
    out += np.reshape(result, out_shape)
    return out


def _contiguous_rows(x: np.ndarray, axes: tuple, keepdims: bool, width: int):
    """The common case without the general bookkeeping: a C-contiguous array reduced over
    its trailing dims, at least one vector per row (PyTorch's vectorized inner sum)."""
    k = len(axes)
    if min(axes) != x.ndim - k or max(axes) != x.ndim - 1:
        return None
    n = math.prod(x.shape[x.ndim - k:])
    rows = x.size // n
    if n < width or (rows == 1 and n >= GRAIN_SIZE and _threads.num_threads() > 1):
        return None  # scalar kernels, or a full sum split between threads: the general path
    flat = x.reshape(rows, n)
    out = np.empty(rows, x.dtype)

    def block(lo, hi):
        # (+ 0: torch adds into a zero-filled output, so -0 becomes 0)
        np.add(_row_sums(flat[lo:hi], width), 0, out=out[lo:hi])

    if rows > 1 and x.nbytes >= _threads.PARALLEL_MIN_BYTES:  # rows are independent:
        _threads.run_chunks(block, _threads.split(rows, n * x.itemsize), blas=False)
    else:
        block(0, rows)
    return out.reshape(x.shape[:x.ndim - k] + ((1,) * k if keepdims else ()))


def _full_sum(view: np.ndarray, dims: list, width: int, threads: int):
    """All dims reduced: rows (iteration dim 0) summed, their sums added one after another;
    at GRAIN_SIZE elements or more, one such sum per thread's piece, then the pieces summed."""
    row = dims[0][0]
    rows = view.reshape(-1, row)
    numel = rows.size
    if numel < GRAIN_SIZE or threads == 1:
        pieces = [(0, numel)]
    else:
        pieces = _thread_ranges(numel, GRAIN_SIZE, threads)
    if len(dims) > 1 and any(lo % row or hi % row for lo, hi in pieces):
        return None  # a piece starts or ends inside a row: not reproduced
    slots = [None] * len(pieces)

    def piece(i, _):  # (NumPy lets go of the GIL: the pieces run on ember's threads too)
        lo, hi = pieces[i]
        if len(dims) == 1:
            slots[i] = _row_sums(rows[0, lo:hi], width)
        else:
            slots[i] = _seq(_row_sums(rows[lo // row:hi // row], width), 0)

    if len(pieces) == 1:
        piece(0, 1)
        return slots[0]
    _threads.run_chunks(piece, [(i, i + 1) for i in range(len(pieces))], blas=False)
    # the second pass sums one slot per thread (idle threads' slots hold 0)
    slots += [np.zeros((), view.dtype)] * (threads - len(slots))
    return _row_sums(np.stack(slots), width)


def _one_dim_sum(view: np.ndarray, dims: list, width: int, threads: int) -> np.ndarray:
    """One (merged) reduced dim: each kept element's sum, by the kernel PyTorch picks from
    the strides (inner: rows; outer: blocks of columns)."""
    n, s0 = dims[0][0], dims[0][1]
    columns, s1 = dims[1][0], dims[1][1]
    lead = view.shape[:-2]
    if s0 == 1 and n >= width:
        return _row_sums(view, width)
    chunks = _column_chunks(dims, threads, view.itemsize)
    runs = _runs(chunks, s1 == 1, s0 < s1, width)
    a = np.swapaxes(view, -1, -2)  # (..., n, columns)
    if s0 < s1:  # the reduced axis is the closer one in memory: copy so columns are
        a = np.ascontiguousarray(a)
    return _column_sums(a, runs).reshape(lead + (columns,))
