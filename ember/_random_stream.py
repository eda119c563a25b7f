"""PyTorch's CPU random stream: MT19937 words and the transforms PyTorch applies to them.

Seeded alike, ember draws the numbers PyTorch draws: ``manual_seed(0); rand(3)`` prints
``tensor([0.4963, 0.7682, 0.0885])`` on both, and so do weight initialisation, dropout masks,
``randperm`` and the samplers built on them. The transforms were established by comparing with
PyTorch's output (tests/test_random_stream.py keeps them compared):

* a 32-bit word ``w`` gives a float32 uniform ``(w & 0xFFFFFF) * 2**-24``; two words ``hi, lo``
  give a float64 uniform ``((hi << 32 | lo) & (2**53 - 1)) * 2**-53``;
* integers in ``[low, high)`` are ``word % range + low``, from one word below a range of 2**28
  and from a 64-bit pair from there on;
* normal samples of fewer than 16 elements come one at a time from Box-Muller on two float64
  uniforms (the second value is cached for the next call), 16 or more are filled with uniforms
  of the dtype and transformed in blocks of 16 (the last, partial block redone on the last 16).

float64 transforms use Python's ``math`` (the C library PyTorch calls), so they are bit-exact;
float32 normal blocks use NumPy's float32 functions, which can differ from PyTorch's vectorised
ones in the last bit of about one value in eight.

Large draws are converted a chunk at a time (``_CHUNK`` elements) into one preallocated result:
whole-array temporaries of 8-byte words cost more in page faults than the arithmetic itself
(a 100M-element ``Linear`` weight took seconds). Chunking changes no value: every transform is
elementwise (or per block of 16, and chunks hold whole blocks).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

_N = 624  # MT19937's state words
_VERSIONS = itertools.count(1)  # a stream's state number after each draw or seeding (mark())
_LARGE_RANGE = 1 << 28  # from this range on, integers come from 64-bit pairs
_BLOCK = 16  # normal samples are transformed 16 at a time from this many elements on
_M53 = np.uint64((1 << 53) - 1)
_M24 = np.uint64(0xFFFFFF)
_U32 = np.uint64(32)
_CHUNK = 1 << 16  # elements converted per pass (a multiple of _BLOCK): temporaries stay cached
_ALL32 = 1 << 32  # Generator.integers(0, _ALL32, dtype=uint32) returns raw words, one each


def _spans(n: int):
    """``(start, stop)`` of the chunks covering ``range(n)``."""
    return ((a, min(a + _CHUNK, n)) for a in range(0, n, _CHUNK))


def _seeded_key(seed: int) -> np.ndarray:
    """MT19937's standard initialisation from a 32-bit seed (what PyTorch seeds with)."""
    key = [seed & 0xFFFFFFFF]
    for i in range(1, _N):
        prev = key[-1]
        key.append((1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF)
    return np.array(key, np.uint32)


class ScalarReader:
    """Reads a stream's float64 uniforms one at a time, as PyTorch's scalar samplers consume
    them, without a NumPy call per value: it reads ahead a block at a time and ``close()``
    puts the stream exactly after the values taken (rewinding the read-ahead). ``normal()`` is
    the stream's scalar Box-Muller normal (sharing its cached second value).

    Use as ``with stream.scalar_reader() as r: ... r.double() ... r.normal()``.
    """

    __slots__ = ("_stream", "_state", "_buf", "_i")
    _BLOCK = 256

    def __init__(self, stream: TorchStream):
        self._stream = stream
        self._state, self._buf, self._i = None, [], 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def double(self) -> float:
        if self._i == len(self._buf):
            self._state = self._stream._bits.state  # the state before this block
            self._buf, self._i = self._stream.doubles(self._BLOCK).tolist(), 0
        value = self._buf[self._i]
        self._i += 1
        return value

    def normal(self) -> float:
        stream = self._stream
        if stream._next_normal is not None:
            value, stream._next_normal = stream._next_normal, None
            return value
        u0 = self.double()
        radius = math.sqrt(-2.0 * math.log1p(-self.double()))
        theta = 2.0 * math.pi * u0
        stream._next_normal = radius * math.sin(theta)
        return radius * math.cos(theta)

    def close(self) -> None:
        if self._i < len(self._buf):  # rewind to the block's start, then take what was used
            self._stream._bits.state = self._state
            self._stream.words64(self._i)
        self._buf, self._i = [], 0


class TorchStream:
    """One generator's stream: the MT19937 state, and the cached second normal sample.

    Method names follow ``numpy.random.Generator`` where they mean the same draw, so code reads
    the same; each one consumes words exactly as the PyTorch kernel of the same purpose does.
    """

    __slots__ = ("_bits", "_raw", "_next_normal", "_drawn", "_version")

    def __init__(self, seed: int = 67280421310721):
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self._set_bits({"key": _seeded_key(seed), "pos": _N})
        self._next_normal = None
        self._drawn = False  # PyTorch's state bytes say "next 0" until the first draw

    def _set_bits(self, state: dict) -> None:
        self._version = next(_VERSIONS)
        self._bits = np.random.MT19937()
        self._bits.state = {"bit_generator": "MT19937", "state": state}
        # a NumPy Generator over the same bits: its full-range uint32 ``integers`` are the raw
        # words (no rejection, no buffering), written as uint32 rather than random_raw's uint64
        self._raw = np.random.Generator(self._bits).integers

    # -- words ------------------------------------------------------------------------------
    def _words32(self, n: int) -> np.ndarray:
        """``n`` 32-bit words as uint32 (the same words ``words`` gives)."""
        self._drawn = True
        self._version = next(_VERSIONS)
        return self._raw(0, _ALL32, n, dtype=np.uint32)

    def _floats_into(self, out: np.ndarray) -> None:
        """Fill the float32 ``out`` (at most a chunk) with float32 uniforms."""
        w = self._words32(out.size)
        np.bitwise_and(w, np.uint32(0xFFFFFF), out=w)
        np.multiply(w, np.float32(2.0 ** -24), out=out, dtype=np.float32)  # exact

    def _doubles_into(self, out: np.ndarray) -> None:
        """Fill the float64 ``out`` (at most a chunk) with float64 uniforms: each pair
        ``hi, lo`` gives ``(hi & (2**21 - 1)) * 2**-21 + lo * 2**-53``, which is the 53-bit
        value exactly (both terms and their sum are exact in float64)."""
        w = self._words32(2 * out.size).reshape(-1, 2)
        hi = np.bitwise_and(w[:, 0], np.uint32(0x1FFFFF))
        np.multiply(hi, 2.0 ** -21, out=out, dtype=np.float64)
        out += np.multiply(w[:, 1], 2.0 ** -53, dtype=np.float64)

    def words(self, n: int) -> np.ndarray:
        """``n`` 32-bit words (as uint64)."""
        self._drawn = True
        self._version = next(_VERSIONS)
        return self._bits.random_raw(n)

    def words64(self, n: int) -> np.ndarray:
        w = self.words(2 * n)
        return (w[0::2] << _U32) | w[1::2]

    def floats(self, n: int) -> np.ndarray:
        """``n`` float32 uniforms, one word each."""
        out = np.empty(n, np.float32)
        for a, b in _spans(n):
            self._floats_into(out[a:b])
        return out

    def doubles(self, n: int) -> np.ndarray:
        """``n`` float64 uniforms, two words each."""
        out = np.empty(n, np.float64)
        for a, b in _spans(n):
            self._doubles_into(out[a:b])
        return out

    def scalar_reader(self) -> ScalarReader:
        """Float64 uniforms and normals one at a time, for samplers that draw a varying number
        per element (gamma, Poisson, binomial): see :class:`ScalarReader`."""
        return ScalarReader(self)

    # -- uniform ----------------------------------------------------------------------------
    def random(self, size=(), dtype=np.float64) -> np.ndarray:
        """Uniform on [0, 1): float64 from 53 bits, every other dtype from float32's 24."""
        n = math.prod(_shape(size))
        u = self.doubles(n) if np.dtype(dtype) == np.float64 else self.floats(n)
        return u.astype(dtype, copy=False).reshape(_shape(size))

    def uniform(self, low=0.0, high=1.0, size=(), dtype=np.float64, out=None) -> np.ndarray:
        """PyTorch's ``uniform_(low, high)``: ``u * (high - low) + low`` in the dtype, with
        one rounding (a fused multiply-add). ``out``: a C-contiguous float32/float64 array of
        ``size`` and ``dtype`` to draw into (saves a temporary as large as the draw)."""
        dt = np.dtype(dtype)
        shape = _shape(size)
        n = math.prod(shape)
        dest = _flat_out(out, n, dt)
        if dt == np.float64:
            lo, span = float(low), float(np.float64(high) - np.float64(low))
            flat = np.empty(n, np.float64) if dest is None else dest
            for a, b in _spans(n):
                self._doubles_into(flat[a:b])
                flat[a:b] = _fma(flat[a:b], span, lo)
            return flat.reshape(shape) if out is None else out
        lo32 = np.float32(low)
        lo, span = float(lo32), float(np.float32(high) - lo32)
        # float32 operands: u * span is exact in float64 (24 + 24 bits), so one float64 add
        # and the cast round as a fused float32 multiply-add does (but for ties at ~2**-29
        # odds); u = m * 2**-24 for the word's low 24 bits m, so m * (span * 2**-24) is the
        # same product, without making u first
        step = span * 2.0 ** -24
        flat = np.empty(n, np.float32) if dest is None else dest
        work = np.empty(min(n, _CHUNK), np.float64)
        for a, b in _spans(n):
            w = self._words32(b - a)
            np.bitwise_and(w, np.uint32(0xFFFFFF), out=w)
            t = work[:b - a]
            np.multiply(w, step, out=t, dtype=np.float64)
            t += lo
            flat[a:b] = t
        if out is not None:
            return out
        out = flat.reshape(shape).astype(dt, copy=False)  # half/bfloat16: rounded from float32
        if dt.itemsize < 4:  # a value rounded up to ``high`` becomes ``low``, as PyTorch
            out[out == dt.type(high)] = dt.type(low)
        return out

    # -- integers ---------------------------------------------------------------------------
    def integers(self, low: int, high: int, size=()) -> np.ndarray:
        """Integers in [low, high) as int64 (uint64 where ``high`` needs it)."""
        span = int(high) - int(low)
        n = math.prod(_shape(size))
        w = self.words64(n) if span >= _LARGE_RANGE else self.words(n)
        r = w % np.uint64(span)
        if low >= 0 and high > 2 ** 63:
            return (r + np.uint64(low)).reshape(_shape(size))
        return (r.astype(np.int64) + np.int64(low)).reshape(_shape(size))

    def below(self, span: int, size=()) -> np.ndarray:
        """``random_()`` without bounds: integers in [0, span), one word each up to a span of
        2**32 (a pair beyond)."""
        n = math.prod(_shape(size))
        w = self.words(n) if span <= 1 << 32 else self.words64(n)
        return (w % np.uint64(span)).reshape(_shape(size))

    def permutation(self, n: int) -> np.ndarray:
        """PyTorch's randperm: Fisher-Yates from the front, ``word % (n - i)`` at step i."""
        if n < 2:
            return np.arange(n, dtype=np.int64)
        steps = np.arange(n - 1, dtype=np.uint64)
        partners = (steps + self.words(n - 1) % (np.uint64(n) - steps)).astype(np.int64)
        if n < 64:  # a few swaps: the plain loop is quicker than the array passes
            p = list(range(n))
            for i, j in enumerate(partners.tolist()):
                p[i], p[j] = p[j], p[i]
            return np.array(p, np.int64)
        return _swapped_in_order(partners, n)

    # -- normal -----------------------------------------------------------------------------
    def _scalar_normals(self, n: int) -> list:
        """Box-Muller one value at a time on float64 uniforms, caching the second value."""
        out = []
        if n and self._next_normal is not None:
            out.append(self._next_normal)
            self._next_normal = None
        pairs = (n - len(out) + 1) // 2
        if not pairs:
            return out
        # the uniforms of all pairs in one draw (the same stream as pair by pair); the libm
        # functions stay scalar (math.*) so the values keep PyTorch's bits
        u = self.doubles(2 * pairs).tolist()
        log1p, sqrt, cos, sin, two_pi = math.log1p, math.sqrt, math.cos, math.sin, 2.0 * math.pi
        for k in range(pairs):
            radius = sqrt(-2.0 * log1p(-u[2 * k + 1]))
            theta = two_pi * u[2 * k]
            out.append(radius * cos(theta))
            out.append(radius * sin(theta))
        if len(out) > n:  # an odd count: the last sine waits for the next call
            self._next_normal = out.pop()
        return out

    def normal(self, loc=0.0, scale=1.0, size=(), dtype=np.float64,
               one_at_a_time: bool = False, out=None) -> np.ndarray:
        """PyTorch's ``normal_(mean, std)`` for a contiguous tensor of ``size``;
        ``one_at_a_time`` takes the small-tensor path at any size (a non-contiguous one).
        ``out``: as for ``uniform``."""
        shape = _shape(size)
        n = math.prod(shape)
        dt = np.dtype(dtype)
        dest = _flat_out(out, n, dt)
        half = dt.kind == "f" and dt.itemsize == 2 or dt.name == "bfloat16"
        if n < _BLOCK or one_at_a_time:
            z = _fma(np.array(self._scalar_normals(n), np.float64), scale, loc)
            z = (z.astype(np.float32) if half else z).astype(dt).reshape(shape)
            if out is None:
                return z
            dest[...] = z.reshape(-1)
            return out
        if dt != np.float64:
            # torch's half/bfloat16 kernel draws uniforms for the full blocks only, then 16
            # fresh ones for the last, partial block; float32 draws one per element first (the
            # partial block's are drawn and unused), then the same 16 fresh ones
            full = n - n % _BLOCK
            loc32, scale32 = np.float32(loc), np.float32(scale)
            data = np.empty(n, np.float32) if dest is None else dest
            for a, b in _spans(full):
                self._floats_into(data[a:b])
                _blocks_float32(data[a:b], b - a, loc32, scale32)
            if n % _BLOCK:
                if not half:
                    self._words32(n - full)
                tail = self.floats(_BLOCK)
                _blocks_float32(tail, _BLOCK, loc32, scale32)
                data[n - _BLOCK:] = tail
            return data.astype(dt, copy=False).reshape(shape) if out is None else out
        data = np.empty(n, np.float64) if dest is None else dest
        for a, b in _spans(n):
            self._doubles_into(data[a:b])
        _blocks_exact(data, n, float(loc), float(scale))
        if n % _BLOCK:
            data[n - _BLOCK:] = self.doubles(_BLOCK)
            _blocks_exact(data[n - _BLOCK:], _BLOCK, float(loc), float(scale))
        return data.reshape(shape) if out is None else out

    def standard_normal(self, size=(), dtype=np.float64) -> np.ndarray:
        return self.normal(0.0, 1.0, size, dtype)

    def log_normal(self, mean: float, std: float, size=(), dtype=np.float64) -> np.ndarray:
        """``exp(mean + std * z)`` with z from the one-at-a-time float64 path."""
        shape = _shape(size)
        z = self._scalar_normals(math.prod(shape))
        return np.array([math.exp(v * std + mean) for v in z], np.float64) \
            .astype(dtype).reshape(shape)

    # -- other distributions ----------------------------------------------------------------
    def bernoulli(self, p: float, size=()) -> np.ndarray:
        """``bernoulli_(p)`` with a number p: float64 uniforms below p (a bool array)."""
        shape = _shape(size)
        n = math.prod(shape)
        out = np.empty(n, np.bool_)
        u = np.empty(min(n, _CHUNK), np.float64)
        for a, b in _spans(n):
            self._doubles_into(u[:b - a])
            np.less(u[:b - a], p, out=out[a:b])
        return out.reshape(shape)

    def bernoulli_tensor(self, probs: np.ndarray) -> np.ndarray:
        """``bernoulli(probs)``: one uniform of the probabilities' precision per element."""
        dt = np.float64 if probs.dtype == np.float64 else np.float32
        return self.random(probs.shape, dt) < probs.astype(dt, copy=False)

    def exponential(self, lambd: float, size=(), dtype=np.float64) -> np.ndarray:
        shape = _shape(size)
        u = self.doubles(math.prod(shape))
        rate = -1.0 / lambd
        if np.dtype(dtype) == np.float64:  # the C library's log1p, bit for bit
            return np.array([rate * math.log1p(-x) for x in u.tolist()]).reshape(shape)
        return (rate * np.log1p(-u)).astype(dtype).reshape(shape)

    def cauchy(self, median: float, sigma: float, size=(), dtype=np.float64) -> np.ndarray:
        shape = _shape(size)
        u = self.doubles(math.prod(shape)).tolist()
        return np.array([median + sigma * math.tan(math.pi * (x - 0.5)) for x in u],
                        np.float64).astype(dtype).reshape(shape)

    def geometric(self, p: float, size=(), dtype=np.float64) -> np.ndarray:
        shape = _shape(size)
        u = self.doubles(math.prod(shape))
        with np.errstate(divide="ignore"):
            return np.ceil(np.log(u) / math.log1p(-p)).astype(dtype).reshape(shape)

    def categorical(self, weights: np.ndarray, num_samples: int, replacement: bool):
        """multinomial's draw for a 2-D array of non-negative row weights (valid sums)."""
        rows = weights.shape[0]
        out = np.empty((rows, num_samples), np.int64)
        # one draw with replacement is one draw without: PyTorch takes the exponential-race
        # path below for it, so the stream advances the same way
        if replacement and num_samples > 1:
            for i in range(rows):
                cdf = np.cumsum(weights[i], dtype=np.float64)
                cdf /= cdf[-1]
                out[i] = np.minimum(cdf.searchsorted(self.doubles(num_samples), side="left"),
                                    weights.shape[1] - 1)
            return out
        # without replacement: the largest p / q with q ~ Exponential(1), as PyTorch
        q = self.exponential(1.0, weights.shape, weights.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = weights / q
        out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
        if 1 < num_samples:
            # PyTorch takes its topk of the keys; zero weights tie at key 0, and when they are
            # reached (more samples than non-zero weights) they come out in topk's tie order
            from ._ops.reduction._topk_order import topk_row

            for i in np.flatnonzero((keys == 0).sum(axis=1) > keys.shape[1] - num_samples):
                out[i] = topk_row(keys[i], num_samples, True, True)
        return out

    def numpy_generator(self) -> np.random.Generator:
        """A NumPy generator seeded from this stream, for distributions whose PyTorch
        kernels are not reproduced (gamma, binomial, poisson): reproducible, not PyTorch's."""
        return np.random.Generator(np.random.PCG64(int(self.words64(2)[0])))

    # -- state ------------------------------------------------------------------------------
    def snapshot(self) -> tuple:
        """The state, to ``restore`` (vmap's randomness modes)."""
        st = self._bits.state["state"]
        return (np.array(st["key"], np.uint32), int(st["pos"]), self._next_normal, self._drawn,
                self._version)

    def restore(self, snap: tuple) -> None:
        key, pos, self._next_normal, self._drawn, version = snap
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
        self._version = version  # the state it was taken in, so marks taken then still match

    def mark(self) -> tuple:
        """A cheap token of the state (no copy of it), for ``moved_since``."""
        return self._version, self._next_normal

    def moved_since(self, mark: tuple) -> bool:
        """Whether anything drew from (or set) the stream since ``mark`` was taken: every
        draw and every seeding gives the stream a new version number, and ``restore`` puts
        back the number of the state it restores."""
        return mark[0] != self._version or mark[1] != self._next_normal

    # -- state in PyTorch's layout ----------------------------------------------------------
    def state_bytes(self, seed: int) -> bytes:
        """The 5056 bytes ``torch.get_rng_state()`` holds for this state."""
        st = self._bits.state["state"]
        pos = int(st["pos"])
        left, nxt = (1, (_N if self._drawn else 0)) if pos >= _N else (_N + 1 - pos, pos)
        head = np.array([seed & 0xFFFFFFFFFFFFFFFF], np.uint64).tobytes()
        head += np.array([left, 1], np.int32).tobytes() + np.array([nxt], np.uint64).tobytes()
        body = np.asarray(st["key"], np.uint64).tobytes()
        cached = self._next_normal
        tail = np.array([0.0, cached or 0.0, 0.0], np.float64).tobytes()
        tail += np.array([int(cached is not None)], np.int32).tobytes()
        tail += np.zeros(1, np.float32).tobytes() + bytes(8)
        return head + body + tail

    def load_state_bytes(self, raw: bytes) -> int:
        """Restore from ``state_bytes``' layout; returns the seed it holds."""
        seed = int(np.frombuffer(raw[:8], np.uint64)[0])
        left = int(np.frombuffer(raw[8:12], np.int32)[0])
        nxt = int(np.frombuffer(raw[16:24], np.uint64)[0])
        key = np.frombuffer(raw[24:24 + 8 * _N], np.uint64).astype(np.uint32)
        if not 1 <= left <= _N or nxt > _N:
            raise RuntimeError("Invalid mt19937 state")
        self._set_bits({"key": key, "pos": _N if left == 1 else nxt})
        self._drawn = nxt != 0
        valid = int(np.frombuffer(raw[5040:5044], np.int32)[0])
        self._next_normal = float(np.frombuffer(raw[5024:5032], np.float64)[0]) if valid \
            else None
        return seed


def _swapped_in_order(partners: np.ndarray, n: int) -> np.ndarray:
    """The arrangement of ``0 .. n-1`` after swapping position ``i`` with ``partners[i]``
    (``>= i``) for i = 0, 1, ..., n-2 in turn, without a Python loop over the swaps.

    Step i fixes position i for good, so only what each step finds there matters. Call
    ``held[x]`` the value position x holds when step x reaches it: x itself if no earlier step
    chose x as its partner, else the value the latest such step k left there, ``held[k]``.
    Following "latest earlier step that chose x" from x down to a position nobody chose gives
    ``held`` for every position (pointer jumping: each pass doubles the distance followed).
    Step i then takes what its partner holds: ``held[k]`` for the latest earlier step k with
    the same partner, or the partner's own value if there is none; the last position keeps
    ``held[n - 1]``."""
    m = n - 1
    steps = np.arange(m, dtype=np.int64)
    # steps grouped by partner, in step order within a group (partner * n + step is unique)
    key = np.sort(partners * n + steps)
    by_step, by_partner = key % n, key // n
    same = by_partner[1:] == by_partner[:-1]
    before = np.full(m, -1, np.int64)  # the previous step with the same partner
    before[by_step[1:][same]] = by_step[:-1][same]
    latest = np.ones(m, bool)
    latest[:-1] = ~same
    step, target = by_step[latest], by_partner[latest]
    step = np.where(step < target, step, before[step])  # strictly before reaching target
    chosen = step >= 0
    held = np.arange(n, dtype=np.int64)
    held[target[chosen]] = step[chosen]  # for now: where to look instead
    pending = np.flatnonzero(held != np.arange(n, dtype=np.int64))
    while pending.size:
        further = held[held[pending]]
        held[pending] = further
        pending = pending[held[further] != further]
    out = np.empty(n, np.int64)
    out[:m] = np.where(before >= 0, held[np.maximum(before, 0)], partners)
    out[m] = held[m]
    return out


def _shape(size) -> tuple:
    if size is None:
        return ()
    return (int(size),) if isinstance(size, (int, np.integer)) else tuple(size)


def _flat_out(out, n: int, dt: np.dtype):
    """``out`` as a flat view, checked: a C-contiguous float32/float64 array of ``n``
    elements of ``dt`` (None stays None)."""
    if out is None:
        return None
    if not (isinstance(out, np.ndarray) and out.flags.c_contiguous and out.size == n
            and out.dtype == dt and dt in (np.float32, np.float64)):
        raise ValueError("out must be a C-contiguous float32/float64 array of the draw's "
                         "size and dtype")
    return out.reshape(-1)


def _blocks_exact(data: np.ndarray, n: int, loc: float, scale: float) -> None:
    """Box-Muller in place on full blocks of 16 float64 uniforms, with the C library's
    log/cos/sin as PyTorch (values 0-7 of a block pair with 8-15)."""
    full = n - n % _BLOCK
    if not full:
        return
    blocks = data[:full].reshape(-1, _BLOCK)
    u1 = blocks[:, :8].ravel().tolist()
    u2 = blocks[:, 8:].ravel().tolist()
    radius = [math.sqrt(-2.0 * math.log(1.0 - a)) for a in u1]
    theta = [2.0 * math.pi * b for b in u2]
    cos = np.array([r * math.cos(t) for r, t in zip(radius, theta)]).reshape(-1, 8)
    sin = np.array([r * math.sin(t) for r, t in zip(radius, theta)]).reshape(-1, 8)
    blocks[:, :8] = _fma(cos, scale, loc)
    blocks[:, 8:] = _fma(sin, scale, loc)


def _fma(x: np.ndarray, scale: float, loc: float) -> np.ndarray:
    """``x * scale + loc`` rounded once, as PyTorch's compiled kernels (fused multiply-add)
    compute it: the product's rounding error recovered exactly (Dekker's product), the sum
    compensated (Knuth's two-sum), then one final rounding."""
    if scale == 1.0 and loc == 0.0:
        return x
    x = np.asarray(x, np.float64)
    if not abs(scale) < 1e290 > abs(loc):  # Dekker's split would overflow: scale by 2**-512
        return _fma(x, scale * 2.0 ** -512, loc * 2.0 ** -512) * 2.0 ** 512
    p = x * scale
    split = 134217729.0  # 2**27 + 1: splits a double into two 26-bit halves
    t = split * x
    xh = t - (t - x)
    xl = x - xh
    t = split * scale
    sh = t - (t - scale)
    sl = scale - sh
    err = ((xh * sh - p) + xh * sl + xl * sh) + xl * sl  # p + err == x * scale exactly
    total = p + loc
    back = total - p
    rest = (p - (total - back)) + (loc - back)  # total + rest == p + loc exactly
    return total + (rest + err)


def _blocks_float32(data: np.ndarray, n: int, loc, scale) -> None:
    """The same on float32 uniforms, in float32 arithmetic."""
    full = n - n % _BLOCK
    if not full:
        return
    blocks = data[:full].reshape(-1, _BLOCK)
    radius = np.sqrt(np.float32(-2.0) * np.log(np.float32(1.0) - blocks[:, :8]))
    theta = np.float32(2.0 * math.pi) * blocks[:, 8:]
    cos, sin = radius * np.cos(theta), radius * np.sin(theta)
    blocks[:, :8] = cos * scale + loc
    blocks[:, 8:] = sin * scale + loc
