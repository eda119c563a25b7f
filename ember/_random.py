"""Random numbers, torch-shaped: ``manual_seed``, ``Generator``, ``rand``, ``randn``, ...

Each ``Generator`` wraps a NumPy PCG64 bit generator. Runs are reproducible from a seed, but
the streams differ from PyTorch's (which uses MT19937 with its own transforms): the same seed
does not give PyTorch's numbers.
"""

from __future__ import annotations

import time

import numpy as np

from . import _dtype as D
from ._creation import _finish, _shape
from ._tensor import Tensor

__all__ = [
    "Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
    "default_generator", "rand", "randn", "randint", "randperm", "normal", "bernoulli",
    "multinomial", "poisson", "rand_like", "randn_like", "randint_like",
]


class Generator:
    """A source of random numbers with its own state.

    Example:
        >>> g = ember.Generator().manual_seed(0)
        >>> ember.rand(2, generator=g)
    """

    def __init__(self, device="cpu"):
        from ._backend import Device

        self.device = Device(device)
        self._seed = 67280421310721
        self._np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if seed < -0x8000_0000_0000_0000 or seed > 0xFFFF_FFFF_FFFF_FFFF:
            raise RuntimeError(f"Overflow when unpacking long: seed {seed} is out of range")
        self._seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        self._np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        s = int(time.time_ns()) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor (restore it with ``set_state``)."""
        state = self._np.bit_generator.state
        words = [state["state"]["state"], state["state"]["inc"], state["has_uint32"],
                 state["uinteger"], self._seed]
        raw = b"".join(int(w).to_bytes(16, "little") for w in words)
        return Tensor._make(np.frombuffer(raw, np.uint8).copy(), D.uint8)

    def set_state(self, new_state: Tensor) -> Generator:
        raw = bytes(np.asarray(new_state._data, np.uint8))
        if len(raw) != 80:
            raise RuntimeError(f"RNG state is wrong size: expected 80 bytes, got {len(raw)}")
        words = [int.from_bytes(raw[i:i + 16], "little") for i in range(0, 80, 16)]
        bitgen = np.random.PCG64()
        bitgen.state = {"bit_generator": "PCG64", "state": {"state": words[0], "inc": words[1]},
                        "has_uint32": words[2], "uinteger": words[3]}
        self._np = np.random.Generator(bitgen)
        self._seed = words[4]
        return self

    def __getstate__(self):
        return {"device": self.device, "state": self.get_state()._data}

    def __setstate__(self, d):
        self.__init__(d["device"])
        self.set_state(Tensor._make(d["state"], D.uint8))


default_generator = Generator()


def _gen(generator) -> np.random.Generator:
    return (generator or default_generator)._np


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and so every op that draws without ``generator=``)."""
    import random as _pyrandom

    _ = _pyrandom  # Python's and NumPy's own RNGs are left alone, as PyTorch does
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from a non-deterministic source and return that seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last seeded with.

    Example:
        >>> _ = ember.manual_seed(7)
        >>> ember.initial_seed()
        7
    """
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state as a uint8 tensor (restore it with ``set_rng_state``).

    Example:
        >>> state = ember.get_rng_state()
        >>> a = ember.rand(2)
        >>> ember.set_rng_state(state)
        >>> bool((ember.rand(2) == a).all())
        True
    """
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    """Restore the default generator's state from a tensor returned by ``get_rng_state``."""
    default_generator.set_state(new_state)


def _float_dtype(dtype) -> D.dtype:
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if dt.category < D._FLOAT:
        from ._ops.inplace import _type_title

        raise NotImplementedError(
            f"\"check_uniform_bounds\" not implemented for '{_type_title(dt)}'")
    return dt


def _real_draw(draw, shape, dt: D.dtype):
    """Draw in float64 (float32 for float32 itself, as NumPy can) and cast to ``dt``."""
    if dt is D.float32 or dt is D.float64:
        return draw(shape, dt.np_dtype)
    return draw(shape, np.float32).astype(dt.np_dtype)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples from [0, 1). Example: ``ember.rand(2, 3)``."""
    dt = _float_dtype(dtype)
    g = _gen(generator)
    arr = _real_draw(lambda s, d: g.random(s, d), _shape(size), dt)
    return _finish(arr, dt, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples. Example: ``ember.randn(2, 3)``."""
    dt = _float_dtype(dtype)
    g = _gen(generator)
    arr = _real_draw(lambda s, d: g.standard_normal(s, d), _shape(size), dt)
    return _finish(arr, dt, device, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """Integers drawn uniformly from [low, high). Example: ``ember.randint(0, 10, (3,))``."""
    if size is None:
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise TypeError("randint() missing required argument 'size'")
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    dt = D.to_dtype(dtype) if dtype is not None else D.int64
    arr = _gen(generator).integers(low, high, size=_shape((tuple(size),)))
    return _finish(arr.astype(dt.np_dtype), dt, device, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    dt = D.to_dtype(dtype) if dtype is not None else D.int64
    return _finish(_gen(generator).permutation(n).astype(dt.np_dtype), dt, device, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """Normal samples; ``mean``/``std`` may be tensors (broadcast) or numbers with ``size``."""
    g = _gen(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if np.any(np.asarray(s) < 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        like = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        arr = m + s * g.standard_normal(shape)
        return _finish(arr.astype(like.dtype.np_dtype), like.dtype, like.device, requires_grad)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if size is None:
        raise TypeError("normal() with number arguments needs a size")
    dt = _float_dtype(dtype)
    arr = mean + std * _real_draw(lambda s, d: g.standard_normal(s, d), _shape((tuple(size),)), dt)
    return _finish(arr.astype(dt.np_dtype), dt, device, requires_grad)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or a fixed ``p``)."""
    probs = input._data if p is None else np.full(input.shape, p)
    if np.any((probs < 0) | (probs > 1)):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    arr = (_gen(generator).random(input.shape) < probs).astype(input.dtype.np_dtype)
    return Tensor._make(arr, input.dtype)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Samples from Poisson distributions whose rates are the elements of ``input``.

    Example:
        >>> ember.poisson(ember.tensor([0.0, 0.0]))
        tensor([0., 0.])
    """
    arr = _gen(generator).poisson(input._data).astype(input.dtype.np_dtype)
    return Tensor._make(arr, input.dtype)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Indices drawn from the rows of ``input`` (non-negative weights, need not sum to 1)."""
    w = np.asarray(input._data, np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    g = _gen(generator)
    out = np.empty((rows.shape[0], num_samples), np.int64)
    for i, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            out[i] = g.choice(row.size, num_samples, replace=True, p=row / total)
        else:
            # Gumbel-top-k: sampling without replacement proportional to the weights.
            keys = np.log(row) - np.log(-np.log(g.random(row.size)))
            out[i] = np.argsort(-keys, kind="stable")[:num_samples]
    return Tensor._make(out.reshape(w.shape[:-1] + (num_samples,)), D.int64)


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples on [0, 1) with ``input``'s shape (and its dtype and device unless given)."""
    return rand(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples with ``input``'s shape (and its dtype and device unless given)."""
    return randn(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low=0, high=None, *, dtype=None, device=None,
                 requires_grad=False) -> Tensor:
    """Random integers in ``[low, high)`` (``[0, low)`` when ``high`` is omitted) with ``input``'s
    shape, dtype and device unless given.
    """
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype,
                   device=device or input.device, requires_grad=requires_grad)


# -- in-place random fills (Tensor methods; also used by nn.init) ---------------------------

def _fill(t: Tensor, arr) -> Tensor:
    from ._ops.inplace import write_inplace

    return write_inplace(t, arr)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with uniform samples from [a, b)."""
    return _fill(self, a + (b - a) * _gen(generator).random(self.shape))


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with normal samples."""
    return _fill(self, mean + std * _gen(generator).standard_normal(self.shape))


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    probs = p._data if isinstance(p, Tensor) else p
    return _fill(self, _gen(generator).random(self.shape) < probs)


def random_(self: Tensor, from_: int = 0, to: int | None = None, *, generator=None) -> Tensor:
    if to is None:
        to = 2 ** (24 if self.dtype is D.float32 else 53) if self.dtype.is_floating_point else (
            int(np.iinfo(self.dtype.np_dtype).max) + 1 if self.dtype is not D.bool else 2)
    return _fill(self, _gen(generator).integers(from_, to, size=self.shape))


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    return _fill(self, _gen(generator).exponential(1.0 / lambd, size=self.shape))


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    return _fill(self, _gen(generator).geometric(p, size=self.shape))


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    return _fill(self, _gen(generator).lognormal(mean, std, size=self.shape))


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    return _fill(self, median + sigma * _gen(generator).standard_cauchy(size=self.shape))


TENSOR_METHODS = {
    "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_, "random_": random_,
    "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_,
    "cauchy_": cauchy_, "bernoulli": bernoulli, "multinomial": multinomial,
}
