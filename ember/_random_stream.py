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
"""

from __future__ import annotations

import math

import numpy as np

_N = 624  # MT19937's state words
_LARGE_RANGE = 1 << 28  # from this range on, integers come from 64-bit pairs
_BLOCK = 16  # normal samples are transformed 16 at a time from this many elements on
_M53 = np.uint64((1 << 53) - 1)
_M24 = np.uint64(0xFFFFFF)
_U32 = np.uint64(32)


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

    __slots__ = ("_bits", "_next_normal", "_drawn")

    def __init__(self, seed: int = 67280421310721):
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self._bits = np.random.MT19937()
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": _seeded_key(seed), "pos": _N}}
        self._next_normal = None
        self._drawn = False  # PyTorch's state bytes say "next 0" until the first draw

    # -- words ------------------------------------------------------------------------------
    def words(self, n: int) -> np.ndarray:
        """``n`` 32-bit words (as uint64)."""
        self._drawn = True
        return self._bits.random_raw(n)

    def words64(self, n: int) -> np.ndarray:
        w = self.words(2 * n)
        return (w[0::2] << _U32) | w[1::2]

    def floats(self, n: int) -> np.ndarray:
        return (self.words(n) & _M24).astype(np.float32) * np.float32(2.0 ** -24)

    def doubles(self, n: int) -> np.ndarray:
        return (self.words64(n) & _M53).astype(np.float64) * (2.0 ** -53)

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

    def uniform(self, low=0.0, high=1.0, size=(), dtype=np.float64) -> np.ndarray:
        """PyTorch's ``uniform_(low, high)``: ``u * (high - low) + low`` in the dtype, with
        one rounding (a fused multiply-add)."""
        dt = np.dtype(dtype)
        work = np.float64 if dt == np.float64 else np.float32
        u = self.random(size, work)
        lo, hi = work(low), work(high)
        if work is np.float32:
            # float32 operands: the product is exact in float64, so one float64 add and the
            # cast round as a fused float32 multiply-add does (but for ties at ~2**-29 odds)
            out = (u.astype(np.float64) * float(hi - lo) + float(lo)).astype(np.float32)
            out = out.astype(dt, copy=False)  # half/bfloat16: rounded from float32, as torch
        else:
            out = _fma(u, float(hi - lo), float(lo)).astype(dt, copy=False)
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
        p = list(range(n))
        if n > 1:
            w = self.words(n - 1).tolist()
            for i, word in enumerate(w):
                j = i + word % (n - i)
                p[i], p[j] = p[j], p[i]
        return np.array(p, np.int64)

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
               one_at_a_time: bool = False) -> np.ndarray:
        """PyTorch's ``normal_(mean, std)`` for a contiguous tensor of ``size``;
        ``one_at_a_time`` takes the small-tensor path at any size (a non-contiguous one)."""
        shape = _shape(size)
        n = math.prod(shape)
        dt = np.dtype(dtype)
        half = dt.kind == "f" and dt.itemsize == 2 or dt.name == "bfloat16"
        if n < _BLOCK or one_at_a_time:
            z = _fma(np.array(self._scalar_normals(n), np.float64), scale, loc)
            return (z.astype(np.float32) if half else z).astype(dt).reshape(shape)
        if half:
            # torch's half/bfloat16 kernel draws uniforms for the full blocks only, then 16
            # fresh ones for the last, partial block (float32 draws one per element first)
            full = n - n % _BLOCK
            data = np.empty(n, np.float32)
            data[:full] = self.floats(full)
            _blocks_float32(data, full, np.float32(loc), np.float32(scale))
            if n % _BLOCK:
                tail = self.floats(_BLOCK)
                _blocks_float32(tail, _BLOCK, np.float32(loc), np.float32(scale))
                data[n - _BLOCK:] = tail
            return data.astype(dt).reshape(shape)
        if dt == np.float64:
            data = self.doubles(n)
            _blocks_exact(data, n, float(loc), float(scale))
            tail = n % _BLOCK
            if tail:
                data[n - _BLOCK:] = self.doubles(_BLOCK)
                _blocks_exact(data[n - _BLOCK:], _BLOCK, float(loc), float(scale))
            return data.reshape(shape)
        data = self.floats(n)
        _blocks_float32(data, n, np.float32(loc), np.float32(scale))
        if n % _BLOCK:
            data[n - _BLOCK:] = self.floats(_BLOCK)
            _blocks_float32(data[n - _BLOCK:], _BLOCK, np.float32(loc), np.float32(scale))
        return data.astype(dt, copy=False).reshape(shape)

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
        return (self.doubles(math.prod(shape)) < p).reshape(shape)

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
        """The state, to ``restore`` or to compare with ``changed_since`` (vmap's randomness
        modes)."""
        st = self._bits.state["state"]
        return np.array(st["key"], np.uint32), int(st["pos"]), self._next_normal, self._drawn

    def restore(self, snap: tuple) -> None:
        key, pos, self._next_normal, self._drawn = snap
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}

    def changed_since(self, snap: tuple) -> bool:
        key, pos, cached, _ = snap
        st = self._bits.state["state"]
        return (int(st["pos"]) != pos or cached != self._next_normal
                or not np.array_equal(st["key"], key))

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
        self._bits = np.random.MT19937()
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": key, "pos": _N if left == 1 else nxt}}
        self._drawn = nxt != 0
        valid = int(np.frombuffer(raw[5040:5044], np.int32)[0])
        self._next_normal = float(np.frombuffer(raw[5024:5032], np.float64)[0]) if valid \
            else None
        return seed


def _shape(size) -> tuple:
    if size is None:
        return ()
    return (int(size),) if isinstance(size, (int, np.integer)) else tuple(size)


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
