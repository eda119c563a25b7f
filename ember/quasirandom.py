"""Quasi-random sequences, as ``torch.quasirandom``: ``SobolEngine``.

A Sobol sequence in base 2 is fixed by its direction numbers. Dimension ``j`` has 30 of them
(one per output bit, ``MAXBIT``), written as 30-bit integers ``v[j, 0..29]``; point ``i`` is
the XOR of the ``v[j, k]`` whose bit ``k`` is set in the Gray code ``i ^ (i >> 1)``, scaled by
``2**-30``. ``draw`` builds a block of points from two small Gray-code tables (one over the
low index bits, one over the high) combined by a broadcast XOR (see ``_gray_span``), and
``fast_forward`` makes the one point it lands on from its Gray code: whole-array NumPy
operations with no per-point loop, and a jump costs the same for any ``n``.

The direction numbers are those of S. Joe and F. Y. Kuo ("new-joe-kuo-6.21201", search
criterion D(6)), the table PyTorch uses. Dimension 1 is the van der Corput sequence; every
other dimension has a primitive polynomial of degree ``s`` with middle coefficients ``a`` and
initial odd integers ``m_1 .. m_s`` (``m_k < 2**k``); the rest follow from the recurrence

    m_k = m_{k-s} ^ (m_{k-s} << s) ^ XOR_{i=1}^{s-1} a_i (m_{k-i} << i)

and ``v[j, k] = m_{k+1} << (29 - k)``. ``_embedded/sobol_joe_kuo.npz`` holds ``(s, a, m)`` for
the first ``MAXDIM`` dimensions, recovered from PyTorch's unscrambled output (point
``2**(k+1) - 1`` is ``v[:, k]``; ``m`` then gives ``a`` through the first step of the
recurrence, and the later steps check it). Degrees come sorted (every primitive polynomial of
degree 1 to 18, in order), ``a`` is stored as gaps within a degree, and the ``m`` bits as
one stream, section ``k`` holding ``m_k >> 1`` for every dimension that has an ``m_k``. The
``m`` bits are close to random and do not compress, so all 21,201 dimensions would take about
352 KB; ember keeps the first 15,900 (256 KB) and says so when asked for more. The file is
read on the first ``SobolEngine``, not by ``import ember``.

Scrambling (``scramble=True``) is PyTorch's: a random digital shift (30 random bits per
dimension) and a random lower-triangular binary matrix with unit diagonal per dimension, which
multiplies every direction number's bit vector (most significant bit first) over GF(2). The
bits are ``randint(2)`` draws: with ``seed`` given, from a ``Generator`` seeded with it, so a
seeded engine gives PyTorch's points exactly (ember's generators draw PyTorch's stream); with
``seed=None``, from ember's default generator, as PyTorch draws from its global one.
"""

from __future__ import annotations

import operator
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import _dtype as D
from ._tensor import Tensor

__all__ = ["SobolEngine"]

_MAXBIT = 30
_DATA = Path(__file__).parent / "_embedded" / "sobol_joe_kuo.npz"
_TORCH_MAXDIM = 21201  # the length of Joe & Kuo's table, and PyTorch's limit
_SHIPPED_DIMS = 15900  # what fits in the 256 KB ember allows the table (see the module doc)


@lru_cache(maxsize=1)
def _direction_numbers() -> np.ndarray:
    """The unscrambled direction numbers of every shipped dimension, shape (MAXBIT, MAXDIM),
    int64: row ``k`` is what Gray-code bit ``k`` of a point's index XORs in."""
    with np.load(_DATA) as f:
        degree = f["degree"].astype(np.int64)  # dimensions 2.. (dimension 1 has no polynomial)
        poly_gap = f["poly_gap"].astype(np.int64)
        m_bits = np.unpackbits(f["m_bits"], bitorder="little")
    n = degree.size
    # a: stored as gaps between consecutive polynomials of one degree (they come sorted)
    starts = np.r_[True, degree[1:] != degree[:-1]]
    group = np.cumsum(starts) - 1
    running = np.cumsum(poly_gap)
    poly = running - np.r_[0, running[:-1]][starts][group] - 1
    # m_k is odd and below 2**k: only its upper k - 1 bits are stored. Degrees come sorted,
    # so the dimensions that have an m_k are a suffix; the stream holds m_2's fields for that
    # suffix, then m_3's, ..., each field low bit first.
    s_max = int(degree.max())
    m = np.zeros((_MAXBIT, n), np.int64)  # row k - 1 holds m_k: rows are contiguous
    m[0] = 1
    used = 0
    for k in range(2, s_max + 1):
        first = int(np.searchsorted(degree, k))
        size = (n - first) * (k - 1)
        fields = m_bits[used:used + size].reshape(n - first, k - 1).astype(np.float32)
        used += size
        # float32 sums of at most 17 bits are exact: the matmul assembles every field at once
        upper = fields @ np.exp2(np.arange(k - 1, dtype=np.float32))
        m[k - 1, first:] = (upper.astype(np.int64) << 1) | 1
    # the recurrence fills m_{s+1} .. m_30. Dimensions of degree <= row are a prefix (those
    # that need row filled), and the term i belongs to dimensions of degree > i (a suffix of
    # that prefix), so every step works on contiguous slices.
    for row in range(1, _MAXBIT):  # row is k - 1
        grow = int(np.searchsorted(degree, row, side="right"))
        if grow == 0:
            continue
        s = degree[:grow]
        back = m[row - s, np.arange(grow)]
        new = back ^ (back << s)
        for i in range(1, min(row, s_max - 1) + 1):
            lo = int(np.searchsorted(degree[:grow], i, side="right"))
            if lo == grow:
                break
            a_i = -((poly[lo:grow] >> (s[lo:] - 1 - i)) & 1)  # all ones where a_i is 1
            new[lo:] ^= (m[row - i, lo:grow] << i) & a_i
        m[row, :grow] = new
    v = np.empty((_MAXBIT, n + 1), np.int64)
    shifts = (_MAXBIT - 1 - np.arange(_MAXBIT))[:, None]
    v[:, :1] = 1 << shifts  # dimension 1: every m_k is 1 (van der Corput)
    v[:, 1:] = m << shifts
    return v


def _gray_span(directions: np.ndarray, start: int, count: int, base=0) -> np.ndarray:
    """``base`` XOR the ``directions`` rows picked by the Gray code of each index in
    ``start .. start + count - 1``, shape (count, columns).

    Index ``i = h * 2**b + l`` (``l < 2**b``) has Gray code ``gray(h) << b``, XOR
    ``gray(l)``, XOR bit ``b - 1`` when ``h`` is odd. So the span is a small table over the
    low ``b`` bits (the reflected Gray code, built by mirroring: entry ``2**k + j`` is entry
    ``2**k - 1 - j`` with row ``k`` flipped) XORed, by broadcasting, with the span of the
    high parts ``h`` (the same problem on the rows from ``b`` on, about ``count / 2**b``
    long). With ``2**b`` near ``sqrt(count)`` the result is written once, in whole-array
    operations.
    """
    if count == 1:
        gray = start ^ (start >> 1)
        point = np.zeros((1, directions.shape[1]), directions.dtype)
        point ^= base
        for k in range(gray.bit_length()):
            if gray >> k & 1:
                point ^= directions[k]
        return point
    b = max((count - 1).bit_length() // 2, 1)
    low = np.zeros((1 << b, directions.shape[1]), directions.dtype)
    for k in range(b):
        np.bitwise_xor(low[(1 << k) - 1::-1], directions[k], out=low[1 << k:2 << k])
    first, last = start >> b, (start + count - 1) >> b
    # base goes into the few high rows rather than the whole span
    high = _gray_span(directions[b:], first, last - first + 1, base)
    high[(first + 1) & 1::2] ^= directions[b - 1]  # rows of odd h
    span = (high[:, None, :] ^ low[None, :, :]).reshape(-1, directions.shape[1])
    skip = start - (first << b)
    return span[skip:skip + count]


class SobolEngine:
    """An engine for (scrambled) Sobol sequences, low-discrepancy quasi-random points in
    ``[0, 1)^dimension``.

    The direction numbers are Joe and Kuo's (search criterion D(6)), as in PyTorch; ember
    ships them for the first 15,900 dimensions (PyTorch: 21,201). Unscrambled points and
    points scrambled with a given ``seed`` equal PyTorch's bit for bit.

    Args:
        dimension (int): the dimension of the points, 1 to ``SobolEngine.MAXDIM``.
        scramble (bool, optional): scramble the sequence with a random linear matrix and a
            random digital shift. Default: ``False``.
        seed (int, optional): seed of the scrambling; ``None`` draws from the default
            generator. Default: ``None``.

    Example:
        >>> engine = ember.quasirandom.SobolEngine(dimension=3)
        >>> engine.draw(3)
        tensor([[0.0000, 0.0000, 0.0000],
                [0.5000, 0.5000, 0.5000],
                [0.7500, 0.2500, 0.2500]])
    """

    MAXBIT = _MAXBIT
    MAXDIM = _SHIPPED_DIMS

    def __init__(self, dimension, scramble=False, seed=None):
        if isinstance(dimension, bool) or not hasattr(dimension, "__index__"):
            raise TypeError(f"SobolEngine(): argument 'dimension' must be int, not "
                            f"{type(dimension).__name__}")
        dimension = operator.index(dimension)
        if not 1 <= dimension <= self.MAXDIM:
            more = ""
            if self.MAXDIM < dimension <= _TORCH_MAXDIM:
                more = (f" (ember ships Joe & Kuo's direction numbers for the first "
                        f"{self.MAXDIM} dimensions; PyTorch has {_TORCH_MAXDIM})")
            raise ValueError(f"Supported range of dimensionality for SobolEngine is "
                             f"[1, {self.MAXDIM}]{more}")
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        directions = _direction_numbers()[:, :dimension]
        shift = np.zeros(dimension, np.int64)
        if scramble:
            shift, directions = self._scrambled(directions)
        # (MAXBIT, dimension); every value is below 2**30, and int32 halves the memory the
        # XORs stream through
        self._directions = np.ascontiguousarray(directions, dtype=np.int32)
        self._shift = shift
        self._quasi = shift.copy()  # the last point made, as integers (the shift before any)
        # PyTorch keeps the first point in the default dtype of the construction time, so a
        # scrambled first point is rounded to float32 (usually) even in a float64 draw
        first = Tensor._make((shift * 2.0 ** -_MAXBIT).reshape(1, dimension), D.float64)
        self._first_point = first.to(D.get_default_dtype())
        self.num_generated = 0

    def _scrambled(self, directions: np.ndarray):
        """The random shift and the scrambled direction numbers (PyTorch's order of draws:
        the shift's bits, then the matrices')."""
        d = self.dimension
        count = d * _MAXBIT + d * _MAXBIT * _MAXBIT
        from ._random import Generator, randint

        generator = None
        if self.seed is not None:
            seed = operator.index(self.seed)
            if not -(1 << 63) <= seed < (1 << 64):
                raise ValueError("Overflow when unpacking long long")
            generator = Generator().manual_seed(seed)
        # two draws, the shift's bits then the matrices', as PyTorch takes them
        bits = np.concatenate([
            np.asarray(randint(2, (d * _MAXBIT,), generator=generator)._data, np.int64),
            np.asarray(randint(2, (count - d * _MAXBIT,), generator=generator)._data, np.int64)])
        shift = (bits[:d * _MAXBIT].reshape(d, _MAXBIT) << np.arange(_MAXBIT)).sum(1)
        lower = np.tril(bits[d * _MAXBIT:].reshape(d, _MAXBIT, _MAXBIT)).astype(np.float32)
        diagonal = np.arange(_MAXBIT)
        lower[:, diagonal, diagonal] = 1
        # bit vectors most significant first: entry q of direction k is bit 29 - q of v[k]
        weights = _MAXBIT - 1 - np.arange(_MAXBIT)
        vec = ((directions.T[:, :, None] >> weights) & 1).astype(np.float32)  # (d, k, q)
        # float32 matmul is exact here (sums of at most 30 ones); parity gives the GF(2) sum
        product = np.matmul(vec, lower.transpose(0, 2, 1)).astype(np.int64) & 1  # (d, k, p)
        scrambled = (product << weights).sum(2)  # (d, k)
        return shift, scrambled.T

    # -- PyTorch's tensor attributes, as ember tensors over the engine's state ----------------
    @property
    def sobolstate(self) -> Tensor:
        """The direction numbers as integers, shape (dimension, MAXBIT), int64."""
        return Tensor._make(self._directions.T.astype(np.int64), D.int64)

    @property
    def shift(self) -> Tensor:
        """The digital shift of a scrambled engine (zeros otherwise), as integers."""
        return Tensor._make(self._shift.copy(), D.int64)

    @property
    def quasi(self) -> Tensor:
        """The last point made (the shift before any), as integers."""
        return Tensor._make(self._quasi.copy(), D.int64)

    def _points(self, count: int) -> np.ndarray:
        """The next ``count`` points as integers, shape (count, dimension); ``self._next``
        is the index of the first."""
        if count < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {count}: "
                               f"[{count}, {self.dimension}]")
        start = self._next
        if start + count > 1 << _MAXBIT:
            raise ValueError(
                f"SobolEngine makes at most 2**{_MAXBIT} = {1 << _MAXBIT} points (one "
                f"direction number per bit, MAXBIT = {_MAXBIT}); {self.num_generated} have "
                f"been generated, so {count} more would pass the end of the sequence "
                f"(PyTorch returns meaningless values there)")
        if count == 0:
            return np.empty((0, self.dimension), np.int64)
        points = _gray_span(self._directions, start, count, self._shift)
        self._quasi = points[-1].astype(np.int64)
        return points

    def _point(self, index: int) -> np.ndarray:
        """Point ``index`` as integers."""
        return _gray_span(self._directions, index, 1, self._shift)[0].astype(np.int64)

    @property
    def _next(self) -> int:
        """Index of the next point ``_points`` makes (the first point is made at construction
        time, so a fresh engine continues with point 1)."""
        return max(self.num_generated, 1)

    def draw(self, n: int = 1, out: Tensor | None = None, dtype=None) -> Tensor:
        """The next ``n`` points of the sequence, shape (n, dimension).

        Args:
            n (int, optional): how many points. Default: 1.
            out (Tensor, optional): written with the points (resized and cast as needed).
            dtype (ember.dtype, optional): float32 or float64. Default: the default dtype.

        Example:
            >>> ember.quasirandom.SobolEngine(2).draw(2)
            tensor([[0.0000, 0.0000],
                    [0.5000, 0.5000]])
        """
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise TypeError(f"_sobol_engine_draw(): argument 'n' (position 2) must be int, "
                            f"not {type(n).__name__}")
        n = operator.index(n)
        dt = D.get_default_dtype() if dtype is None else D.to_dtype(dtype)
        if dt not in (D.float32, D.float64):
            from ._random import _not_implemented

            raise _not_implemented("_sobol_engine_draw", dt)
        if self.num_generated == 0:
            rest = self._points(n - 1)
            head = np.asarray(self._first_point.to(dt)._data)
            values = np.concatenate([head, self._scale(rest, dt)])
        else:
            values = self._scale(self._points(n), dt)
        self.num_generated += n
        result = Tensor._make(values, dt)
        if out is not None:
            out.resize_as_(result).copy_(result)
            return out
        return result

    @staticmethod
    def _scale(points: np.ndarray, dt) -> np.ndarray:
        # int -> float rounds to nearest once and 2**-30 is exact, so float32 equals a
        # float64 result cast to float32 (as PyTorch's float32 points do)
        return np.multiply(points, dt.np_dtype.type(2.0 ** -_MAXBIT), dtype=dt.np_dtype)

    def draw_base2(self, m: int, out: Tensor | None = None, dtype=None) -> Tensor:
        """The next ``2**m`` points; the total drawn must stay a power of 2, which keeps
        the balance properties of Sobol points.

        Args:
            m (int): log2 of the number of points.
            out (Tensor, optional): written with the points.
            dtype (ember.dtype, optional): float32 or float64. Default: the default dtype.

        Example:
            >>> ember.quasirandom.SobolEngine(1).draw_base2(2).flatten()
            tensor([0.0000, 0.5000, 0.7500, 0.2500])
        """
        n = 2 ** m
        total_n = self.num_generated + n
        if total_n & (total_n - 1) != 0:
            raise ValueError(
                f"The balance properties of Sobol' points require n to be a power of 2. "
                f"{self.num_generated} points have been previously generated, then: "
                f"n={self.num_generated}+2**{m}={total_n}. If you still want to do this, "
                f"please use 'SobolEngine.draw()' instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self) -> SobolEngine:
        """Go back to the first point of the sequence; returns the engine.

        Example:
            >>> engine = ember.quasirandom.SobolEngine(2)
            >>> _ = engine.draw(4)
            >>> engine.reset().num_generated
            0
        """
        self._quasi = self._shift.copy()
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> SobolEngine:
        """Skip the next ``n`` points; returns the engine. The point after the jump is made
        directly from its Gray code, so the cost does not grow with ``n``.

        Example:
            >>> engine = ember.quasirandom.SobolEngine(1)
            >>> engine.fast_forward(2).draw(1)
            tensor([[0.7500]])
        """
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise TypeError(f"_sobol_engine_ff_(): argument 'n' (position 2) must be int, "
                            f"not {type(n).__name__}")
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"fast_forward(n) needs n >= 0, got {n}")
        last = self.num_generated + n - 1  # index of the last point skipped
        if last >= 1 << _MAXBIT:
            raise ValueError(
                f"SobolEngine makes at most 2**{_MAXBIT} = {1 << _MAXBIT} points; "
                f"{self.num_generated} have been generated, so skipping {n} more would pass "
                f"the end of the sequence")
        if last >= 1:
            self._quasi = self._point(last)
        self.num_generated += n
        return self

    def __repr__(self) -> str:
        fields = [f"dimension={self.dimension}"]
        if self.scramble:
            fields.append("scramble=True")
        if self.seed is not None:
            fields.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(fields)})"
