"""Random numbers, torch-shaped: ``manual_seed``, ``Generator``, ``rand``, ``randn``, ...

Each ``Generator`` holds PyTorch's CPU stream (MT19937 and PyTorch's transforms, in
``_random_stream``): the same seed gives PyTorch's numbers, so ``manual_seed(0)`` followed by
``rand``, ``randn``, ``randint``, ``randperm``, ``nn.init``, dropout or a shuffling DataLoader
draws what PyTorch draws. Without a seed, ember starts from PyTorch's documented default seed
(PyTorch itself seeds from the clock).
"""

from __future__ import annotations

import builtins
import operator
import time

import numpy as np

from . import _dtype as D
from ._backend import to_numpy
from ._creation import _finish, check_storage_size
from ._errors import with_hint
from ._factory_args import check_dtype, is_meta, meta_result, out_args, write_out
from ._factory_args import sizes as sizes_of
from ._random_stream import TorchStream
from ._tensor import Tensor

__all__ = [
    "Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
    "default_generator", "rand", "randn", "randint", "randperm", "normal", "bernoulli",
    "multinomial", "poisson", "rand_like", "randn_like", "randint_like",
]

_STATE_BYTES = 5056  # PyTorch's CPUGeneratorImplState


class Generator:
    """A source of random numbers with its own state (PyTorch's stream for the same seed).

    Example:
        >>> g = ember.Generator().manual_seed(0)
        >>> ember.rand(2, generator=g)
        tensor([0.4963, 0.7682])
    """

    def __init__(self, device="cpu"):
        from ._backend import Device

        self.device = Device(device)
        self._seed = 67280421310721
        self._stream = TorchStream(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        if not hasattr(seed, "__index__") or isinstance(seed, (bool, np.bool_)):
            # (torch.manual_seed calls int() first: a float or a bool seed passes there)
            kind = type(seed)
            name = kind.__name__ if kind.__module__ == "builtins" else \
                f"{kind.__module__}.{kind.__name__}"
            raise RuntimeError(f"manual_seed expected a long, but got {name}")
        seed = int(seed)
        if seed < -0x8000_0000_0000_0000 or seed > 0xFFFF_FFFF_FFFF_FFFF:
            raise with_hint(ValueError("Overflow when unpacking long long"),
                            f"a seed is a 64-bit integer; {seed} is out of range")
        self._seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        self._stream.reseed(self._seed)
        return self

    def seed(self) -> int:
        s = int(time.time_ns()) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor in PyTorch's layout (restore it with ``set_state``;
        a state saved by PyTorch loads too)."""
        raw = self._stream.state_bytes(self._seed)
        return Tensor._make(np.frombuffer(raw, np.uint8).copy(), D.uint8)

    def set_state(self, new_state: Tensor) -> Generator:
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype != D.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor (a uint8 tensor from "
                            "get_rng_state()/get_state())")
        raw = bytes(np.asarray(new_state._data, np.uint8).reshape(-1))
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_BYTES} but "
                               f"found the input RNG state size to be {len(raw)}")
        self._seed = self._stream.load_state_bytes(raw)
        return self

    def clone_state(self) -> Generator:
        """A new generator on the same device holding a copy of this one's state: it draws
        what this one would draw next, independently of it.

        Example:
            >>> g = ember.Generator().manual_seed(0)
            >>> ember.rand(1, generator=g.clone_state()) == ember.rand(1, generator=g)
            tensor([True])
        """
        twin = Generator(self.device)
        twin.set_state(self.get_state())
        return twin

    def graphsafe_get_state(self):
        """For CUDA graphs in PyTorch; a CPU generator has no graph-safe state."""
        raise NotImplementedError("graphsafe_get_state is not supported in this Generator")

    def graphsafe_set_state(self, state) -> None:
        """For CUDA graphs in PyTorch; a CPU generator has no graph-safe state."""
        if not isinstance(state, Generator):
            raise TypeError(f"expected a Generator, but got {type(state).__name__}")
        raise NotImplementedError("graphsafe_set_state is not supported in this Generator")

    def __getstate__(self):
        return {"device": self.device, "state": self.get_state()._data}

    def __setstate__(self, d):
        self.__init__(d["device"])
        self.set_state(Tensor._make(d["state"], D.uint8))


default_generator = Generator()


def _gen(generator) -> TorchStream:
    if generator is None:
        return default_generator._stream
    if not isinstance(generator, Generator):
        raise TypeError(f"argument 'generator' must be torch.Generator, not "
                        f"{type(generator).__name__}")
    return generator._stream


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and so every op that draws without ``generator=``)."""
    import random as _pyrandom

    _ = _pyrandom  # Python's and NumPy's own RNGs are left alone, as PyTorch does
    return default_generator.manual_seed(int(seed))  # (a float or str seed reads as torch's)


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


def _not_implemented(kernel: str, dt: D.dtype):
    from ._ops.inplace import _type_title

    return NotImplementedError(f"\"{kernel}\" not implemented for '{_type_title(dt)}'")


def _float_dtype(dtype, kernel: str = "check_uniform_bounds") -> D.dtype:
    """The dtype of a real-valued draw: the default float dtype unless given; floating or
    complex only (PyTorch's NotImplementedError, naming its kernel, otherwise)."""
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if dt.category < D._FLOAT:
        raise _not_implemented(kernel, dt)
    return dt


def _real_draw(draw, shape, dt: D.dtype):
    """Draw in float64 for float64, float32 for every other floating dtype (then cast), as
    PyTorch's kernels compute. A complex ``dt`` draws real and imaginary parts interleaved,
    as PyTorch fills the tensor viewed as real."""
    if dt.is_complex:
        part = D.float64 if dt is D.complex128 else D.float32
        pairs = _real_draw(draw, tuple(shape) + (2,), part)
        return (pairs[..., 0] + 1j * pairs[..., 1]).astype(dt.np_dtype)
    if dt is D.float32 or dt is D.float64:
        return draw(shape, dt.np_dtype)
    out = draw(shape, np.float32).astype(dt.np_dtype)
    out[out == 1] = 0  # a float32 draw that rounds up to 1 wraps to 0: [0, 1) holds, as torch
    return out


def _factory(fname, shape, dtype, device, requires_grad, out, check, draw):
    """The tail every random factory shares: ``check(dtype)`` settles the dtype (PyTorch's
    errors), ``draw(dt)`` draws on the host and ``_finish`` places the result on its device;
    meta draws nothing; ``out=`` receives the result."""
    if dtype is not None and not isinstance(dtype, D.dtype):
        check_dtype(fname, dtype)
    grad_out = False
    if out is not None:
        dtype, device = out_args(fname, dtype, device, out)
        grad_out, requires_grad = requires_grad, False
    dt = check(dtype)
    check_storage_size(shape, dt.itemsize)
    if is_meta(device):
        return write_out(meta_result(shape, dt, requires_grad), out, grad_out)
    return write_out(_finish(draw(dt), dt, device, requires_grad), out, grad_out)


def rand(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Uniform samples from [0, 1); the shape as ints, one sequence or ``size=``.

    Example:
        >>> ember.rand(2, 3).shape
        torch.Size([2, 3])
    """
    shape = sizes_of("rand", sizes, size)
    g = _gen(generator)
    return _factory("rand", shape, dtype, device, requires_grad, out, _float_dtype,
                    lambda dt: _real_draw(lambda s, d: g.random(s, d), shape, dt))


def randn(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    """Standard normal samples (complex dtypes: each part with variance 1/2, as PyTorch).

    Example:
        >>> ember.randn(2, 3).shape
        torch.Size([2, 3])
    """
    shape = sizes_of("randn", sizes, size)
    g = _gen(generator)

    def draw(dt):
        if dt.is_complex:  # normal_(0, 1/sqrt(2)) on the tensor viewed as real, as PyTorch
            part = np.float64 if dt is D.complex128 else np.float32
            pairs = g.normal(0.0, 1 / 2 ** 0.5, tuple(shape) + (2,), part)
            return (pairs[..., 0] + 1j * pairs[..., 1]).astype(dt.np_dtype)
        if dt in (D.float16, D.bfloat16):  # no [0, 1) wrap for normals; half blocks its own
            return g.standard_normal(shape, dt.np_dtype)
        return _real_draw(lambda s, d: g.standard_normal(s, d), shape, dt)

    return _factory("randn", shape, dtype, device, requires_grad, out,
                    lambda dtype: _float_dtype(dtype, "normal_kernel_cpu"), draw)


_C_NAMES = {"uint8": "unsigned char", "int8": "signed char", "int16": "short int",
            "int32": "int", "int64": "long", "bool": "bool", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double",
            "uint16": "short unsigned int", "uint32": "unsigned int",
            "uint64": "long unsigned int"}
_DIGITS = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


def _check_random_bounds(low: int, high: int, dt: D.dtype, stacklevel: int = 5) -> None:
    """PyTorch's check_random_bounds: [low, high) must fit the result's dtype."""
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    if dt.is_complex:
        raise RuntimeError("check_random_bounds handles only integral, floating-point and "
                           "boolean types")
    if dt in D.FLOAT8:  # torch has no random kernels for float8
        from ._ops._dispatch import not_implemented_for

        raise not_implemented_for("random_update_from_to", dt)
    name = _C_NAMES[dt.name]
    if dt.category < D._FLOAT:
        lo, hi = (0, 1) if dt is D.bool else (int(np.iinfo(dt.np_dtype).min),
                                              int(np.iinfo(dt.np_dtype).max))
        if not lo <= low <= hi:
            raise RuntimeError(f"from is out of bounds for {name}")
        if not lo <= high - 1 <= hi:
            raise RuntimeError(f"to - 1 is out of bounds for {name}")
        return
    if dt is D.float16 and not (-65504 <= low and high - 1 <= 65504):
        raise RuntimeError(f"{'from' if low < -65504 else 'to - 1'} is out of bounds for {name}")
    digits = _DIGITS[dt.name]
    for value, what in ((low, "from"), (high - 1, "to - 1")):
        if not -(2 ** digits) <= value <= 2 ** digits:
            import warnings

            warnings.warn(
                f"{what} is out of bounds [-(2^{digits}), 2^{digits}]. Due to precision "
                f"limitations {name} can support discrete uniform distribution only within "
                "this range. This warning will become an error in version 1.7 release, please "
                "fix the code in advance", UserWarning, stacklevel=stacklevel)


def _float_top(high: int, dt: D.dtype) -> int:
    """The exclusive upper bound PyTorch samples below for a float dtype: where ``high - 1``
    rounds (to nearest even, at the dtype's precision) up to ``high`` or beyond, the bound
    drops to the representable value just below that rounding."""
    if dt.category < D._FLOAT or dt.name not in _DIGITS:
        return high
    digits = _DIGITS[dt.name]
    v = high - 1
    if abs(v) <= 1 << digits:  # every integer up to 2**digits is exact
        return high
    shift = abs(v).bit_length() - digits
    q, r = divmod(abs(v), 1 << shift)
    if r > 1 << (shift - 1) or (r == 1 << (shift - 1) and q & 1):
        q += 1
    top = (q << shift) * (1 if v > 0 else -1)
    if top < high:
        return high
    # the next representable value below ``top``: the gap halves just under a power of two
    gap_shift = abs(top).bit_length() - digits
    if top > 0 and top & (top - 1) == 0:
        gap_shift -= 1
    return top - (1 << gap_shift)


def _int_arg(fname: str, name: str, pos: int, value) -> int:
    """An integer bound of randint/randint_like (ints and integer 0-d tensors)."""
    if isinstance(value, builtins.bool) or isinstance(value, (float, np.floating)):
        raise TypeError(f"{fname}(): argument '{name}' (position {pos}) must be int, not "
                        f"{type(value).__name__}")
    try:
        out = operator.index(value)
    except TypeError:
        raise TypeError(f"{fname}(): argument '{name}' (position {pos}) must be int, not "
                        f"{type(value).__name__}") from None
    if not -2 ** 63 <= out < 2 ** 63:
        raise ValueError("Overflow when unpacking long long")
    return out


def randint(*args, low=None, high=None, size=None, generator=None, out=None, dtype=None,
            layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Integers drawn uniformly from [low, high) (``low`` defaults to 0), as PyTorch's
    ``randint(low=0, high, size)``: ``randint(10, (3,))``, ``randint(10, size=(3,))``,
    ``randint(3, 10, (2,))`` and the keyword forms all work. int64 unless ``dtype`` is given.

    Example:
        >>> ember.randint(10, size=(3,)).shape
        torch.Size([3])
    """
    given = len(args)
    bad = TypeError(
        f"randint() received an invalid combination of arguments - got {given} positional "
        f"and {[k for k, v in (('low', low), ('high', high), ('size', size)) if v is not None]} "
        "keyword arguments, but expected one of: (int high, tuple of ints size, ...) or "
        "(int low, int high, tuple of ints size, ...)")
    if given > 3:
        raise bad
    if given == 3:
        if low is not None or high is not None or size is not None:
            raise bad
        low, high, size = args
    elif given == 2:
        if low is not None or high is not None:
            raise bad
        if size is None:
            if not isinstance(args[1], (tuple, list)):
                raise TypeError(f"randint(): argument 'size' (position 2) must be tuple of "
                                f"ints, not {type(args[1]).__name__}")
            high, size = args
        else:
            low, high = args
    elif given == 1:
        if low is not None:
            raise bad
        if high is None:
            high = args[0]
        else:
            low = args[0]
    if high is None or size is None:
        missing = [f'"{n}"' for n, v in (("high", high), ("size", size)) if v is None]
        raise TypeError(f"randint() missing {len(missing)} required positional argument: "
                        f"{', '.join(missing)}; e.g. ember.randint(10, (3,)) or "
                        "ember.randint(0, 10, size=(3,))")
    high_pos = 2 if given == 3 or (given == 2 and low is not None) else 1
    high = _int_arg("randint", "high", high_pos, high)
    low = 0 if low is None else _int_arg("randint", "low", 1, low)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    shape = sizes_of("randint", (), size)
    g = _gen(generator)

    def check(dtype):
        dt = D.to_dtype(dtype) if dtype is not None else D.int64
        _check_random_bounds(low, high, dt)
        return dt

    return _factory("randint", shape, dtype, device, requires_grad, out, check,
                    lambda dt: g.integers(low, _float_top(high, dt),
                                          size=shape).astype(dt.np_dtype))


_STDINT = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t",
           "int64": "int64_t"}


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` is given).

    Example:
        >>> sorted(ember.randperm(4).tolist())
        [0, 1, 2, 3]
    """
    try:
        if isinstance(n, (builtins.bool, float, np.floating)):
            raise TypeError
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}") from None
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    g = _gen(generator)

    def check(dtype):
        dt = D.to_dtype(dtype) if dtype is not None else D.int64
        if dt is D.bool or dt.is_complex:
            raise _not_implemented("randperm", dt)
        if dt.category == D._INT and n > 0 and n - 1 > np.iinfo(dt.np_dtype).max:
            raise RuntimeError(f"value cannot be converted to type {_STDINT[dt.name]} without "
                               "overflow")
        return dt

    return _factory("randperm", (n,), dtype, device, requires_grad, out, check,
                    lambda dt: g.permutation(n).astype(dt.np_dtype))


def _like_args(input: Tensor, dtype, device):
    if not isinstance(input, Tensor):
        raise TypeError(f"argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return (dtype if dtype is not None else input.dtype,
            device if device is not None else input.device)


def rand_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None) -> Tensor:
    """Uniform samples on [0, 1) with ``input``'s shape (and its dtype and device unless given).

    Example:
        >>> ember.rand_like(ember.zeros(2, 3)).shape
        torch.Size([2, 3])
    """
    from ._creation import laid_out_like

    dtype, device = _like_args(input, dtype, device)
    order = _like_order(input, memory_format)
    out = rand(_ordered(input.shape, order), generator=generator, dtype=dtype, device=device,
               requires_grad=requires_grad)
    return laid_out_like(_unordered(out, order), input, memory_format, "rand_like")


def randn_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None) -> Tensor:
    """Standard normal samples with ``input``'s shape (and its dtype and device unless given).

    Example:
        >>> ember.randn_like(ember.zeros(2, 3)).shape
        torch.Size([2, 3])
    """
    from ._creation import laid_out_like

    dtype, device = _like_args(input, dtype, device)
    order = _like_order(input, memory_format)
    if order is not None and not (dtype or input.dtype).is_complex:
        # normal_ on the non-contiguous empty_like: one value at a time, in memory order
        from ._creation import empty

        out = _unordered(empty(_ordered(input.shape, order), dtype=dtype, device=device), order)
        normal_(out, generator=generator)
        out.requires_grad_(requires_grad)
        return laid_out_like(out, input, memory_format, "randn_like")
    out = randn(tuple(input.shape), generator=generator, dtype=dtype, device=device,
                requires_grad=requires_grad)
    return laid_out_like(out, input, memory_format, "randn_like")


def _bound_of_tensor(name: str, value):
    """randint_like takes a 0-d tensor as ``high`` (any dtype), as PyTorch does."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"{name} must be a scalar tensor and on CPU")
        return int(value.item())
    return value


def randint_like(input: Tensor, *args, low=None, high=None, generator=None, dtype=None,
                 layout=None, device=None, requires_grad=False, memory_format=None,
                 pin_memory=False) -> Tensor:
    """Random integers with ``input``'s shape, dtype and device unless given:
    ``randint_like(x, high)``, ``randint_like(x, low, high)`` or the keyword forms.

    Example:
        >>> ember.randint_like(ember.zeros(3), 10).shape
        torch.Size([3])
    """
    if len(args) > 2 or (args and low is not None) or (len(args) == 2 and high is not None):
        raise TypeError("randint_like() received an invalid combination of arguments; expected "
                        "(Tensor input, int high, ...) or (Tensor input, int low, int high, ...)")
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        else:
            low = args[0]
    if high is None:
        raise TypeError("randint_like() missing required argument 'high': pass "
                        "randint_like(input, high) or randint_like(input, low, high)")
    high = _int_arg("randint_like", "high", 2, _bound_of_tensor("high", high))
    low = 0 if low is None else _int_arg("randint_like", "low", 2, low)
    from ._creation import laid_out_like

    dtype, device = _like_args(input, dtype, device)
    order = _like_order(input, memory_format)
    out = randint(low, high, _ordered(input.shape, order), generator=generator, dtype=dtype,
                  device=device, requires_grad=requires_grad)
    return laid_out_like(_unordered(out, order), input, memory_format, "randint_like")


def _like_order(input: Tensor, memory_format) -> list | None:
    """The memory order (dims outermost first) of the tensor a ``*_like`` function fills, or
    None for row-major: torch draws into ``empty_like(input, memory_format)`` in memory order,
    so a transposed or channels_last input changes which element gets which draw."""
    from ._layout import dims_by_stride, target_strides

    if input.device.type == "meta" or input.ndim < 2 or (
            memory_format is not None and not isinstance(memory_format, D.memory_format)):
        return None
    strides = target_strides(input._data, memory_format)
    if strides is None:
        return None
    order = list(reversed(dims_by_stride(tuple(input.shape), strides)))
    return None if order == sorted(order) else order


def _ordered(shape, order) -> tuple:
    return tuple(shape) if order is None else tuple(shape[d] for d in order)


def _unordered(out: Tensor, order) -> Tensor:
    """``out`` (drawn in memory order) viewed back in logical order; it stays a leaf."""
    if order is not None:
        out._data = out._data.transpose(np.argsort(order))
    return out


# -- in-place random fills (Tensor methods; also used by nn.init) ---------------------------

def _fill(t: Tensor, generator, draw, into=None, node: str | None = None,
          operands=()) -> Tensor:
    """Fill ``t`` in place with ``draw(stream, shape)``; a meta tensor draws nothing (so
    ``nn.init`` on a module built under ``with ember.device("meta"):`` costs no memory).

    PyTorch's fill kernels walk a non-contiguous tensor in memory order (its dims sorted by
    stride), so a transposed or channels_last tensor takes the draws in that order: the
    draw is made in the memory-ordered shape and viewed back.

    ``into(stream, array)``, where given, makes the same draw straight into a C-contiguous
    host array of the draw's dtype: used when ``t``'s own array is one and autograd has
    nothing to record, it spares a temporary as large as ``t`` and the copy. ``node`` is
    PyTorch's name for the node autograd records (``UniformBackward0``), ``operands`` the
    tensor arguments that node takes as edges."""
    from ._ops.inplace import check_inplace, write_inplace

    g = _gen(generator)
    if t.device.type == "meta":  # no draw, but a write all the same: the version moves
        t._vbox[0] += 1
        return t
    data = t._data
    if into is not None and type(data) is np.ndarray and data.flags.c_contiguous and \
            data.dtype in (np.float32, np.float64) and data.dtype == _draw_dtype(t) and \
            not (t._requires_grad and _grad_enabled()):
        check_inplace(t)
        into(g, data)
        t._vbox[0] += 1
        return t
    return write_inplace(t, draw_in_order(_memory_order(t._data), t.shape,
                                          lambda shape: draw(g, shape)),
                         node=node, operands=operands)


def _grad_enabled() -> bool:
    from .autograd import grad_mode

    return grad_mode._state.enabled


def draw_in_order(order, shape, draw):
    """``draw(shape)`` made with its dims in ``order`` (outermost first in memory, as torch's
    kernels walk them) and viewed back in ``shape``'s order; ``order`` None: row-major."""
    if order is None:
        return draw(tuple(shape))
    return np.asarray(draw(tuple(shape[d] for d in order))).transpose(np.argsort(order))


def _memory_order(arr) -> list | None:
    """The dims of ``arr`` outermost first in memory, as torch's kernels walk them, or None
    when that is row-major order (contiguous arrays, size-1 dims aside)."""
    flags = getattr(arr, "flags", None)  # a meta placeholder has no memory to order
    if arr.ndim < 2 or flags is None or flags.c_contiguous:
        return None
    from ._layout import dims_by_stride, element_strides

    order = list(reversed(dims_by_stride(arr.shape, element_strides(arr))))
    return None if order == sorted(order) else order


def _draw_in_memory_order(shape, ref, draw):
    """``draw(shape)`` for a new tensor laid out as ``empty_like(ref)``: made in that layout's
    memory order and returned as a view in ``shape``'s order (torch's ``*_like`` random
    functions and dropout masks fill ``empty_like(input)`` in memory order)."""
    from ._layout import preserved_strides

    order = None
    flags = getattr(ref, "flags", None)
    if len(shape) >= 2 and flags is not None and not flags.c_contiguous and \
            tuple(ref.shape) == tuple(shape):
        from ._layout import dims_by_stride

        order = list(reversed(dims_by_stride(ref.shape, preserved_strides(ref))))
    if order is not None and order == sorted(order):  # row-major after all
        order = None
    return draw_in_order(order, shape, draw)


def _work(t: Tensor):
    """The precision PyTorch's fill kernels compute in for ``t``: float64 for float64 (and
    complex128), float32 for every other dtype."""
    return np.float64 if t.dtype in (D.float64, D.complex128) else np.float32


def _draw_dtype(t: Tensor):
    """The dtype a fill draws in for ``t``: its own for float16/bfloat16 (their kernels
    compute in float32 but round, wrap and block differently, see ``TorchStream``), else
    ``_work(t)``."""
    return t.dtype.np_dtype if t.dtype in (D.float16, D.bfloat16) else _work(t)


def _complex_pairs(t: Tensor, draw):
    """``draw`` for ``t``'s elements; a complex ``t`` is filled as PyTorch fills it, viewed as
    real: real and imaginary parts take consecutive draws (each part from the distribution)."""
    if not t.dtype.is_complex:
        return draw

    def pairs(g, shape):
        parts = draw(g, tuple(shape) + (2,))
        return parts[..., 0] + 1j * parts[..., 1]

    return pairs


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with uniform samples from [a, b)."""
    check_uniform_args(self, a, b)
    return _fill(self, generator,
                 _complex_pairs(self, lambda g, s: g.uniform(a, b, s, _draw_dtype(self))),
                 into=lambda g, arr: g.uniform(a, b, arr.shape, arr.dtype, out=arr),
                 node="UniformBackward0")


_SCALAR_TITLE = {D.float16: "Half", D.bfloat16: "BFloat16", D.float32: "Float",
                 D.float64: "Double"}


def check_uniform_args(self: Tensor, a: float, b: float) -> None:
    """PyTorch's checks before ``uniform_`` draws (``Tensor.uniform_`` and ``nn.init``): a
    floating or complex dtype (integer and bool tensors have no uniform kernel), then the
    range."""
    if self.device.type != "meta" and self.dtype.category < D._FLOAT:
        raise _not_implemented("check_uniform_bounds", self.dtype)
    if self.dtype in _SCALAR_TITLE:
        _check_uniform_bounds(float(a), float(b), self.dtype)


def check_normal_args(self: Tensor, std: float) -> None:
    """PyTorch's checks before ``normal_`` draws (``Tensor.normal_`` and ``nn.init``): a
    non-negative std, then a floating or complex dtype."""
    _check_param(std >= 0, f"normal expects std >= 0.0, but found std {std:g}")
    if self.dtype.category < D._FLOAT:  # integer and bool tensors: torch refuses
        if self.device.type == "meta":
            raise RuntimeError(f"expected a floating-point or complex dtype, but got "
                               f"dtype={self.dtype}")
        _float_dtype(self.dtype, "normal_kernel_cpu")


def _check_uniform_bounds(a: float, b: float, dt: D.dtype) -> None:
    """PyTorch's checks of uniform_'s range, in its order."""
    top = float(D.finfo(dt).max)
    for value, what in ((a, "from"), (b, "to")):
        if not -top <= value <= top:
            raise RuntimeError(f"{what} is out of bounds for {_C_NAMES[dt.name]}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a:g} > to={b:g}")
    if b - a > top:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<"
                           f"{_SCALAR_TITLE[dt]}>::max(), but found to={b:g} and from={a:g} "
                           "which result in to-from to exceed the limit")


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with normal samples (a non-contiguous tensor takes them one at a time,
    as PyTorch's kernel does: its blocks of 16 need contiguous memory)."""
    check_normal_args(self, std)
    single = not self.is_contiguous()
    if self.dtype.is_complex:  # each part gets std/sqrt(2): the complex variance is std**2
        std = std / 2 ** 0.5
    return _fill(self, generator, _complex_pairs(
        self, lambda g, s: g.normal(mean, std, s, _draw_dtype(self), one_at_a_time=single)),
        into=lambda g, arr: g.normal(mean, std, arr.shape, arr.dtype, one_at_a_time=single,
                                     out=arr), node="NormalBackward0")


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill in place with 0/1 samples that are 1 with probability ``p`` (a number or tensor);
    a probability outside [0, 1] raises PyTorch's error."""
    if isinstance(p, Tensor):
        if self._dtype.is_complex:  # torch's kernel takes no complex self (checked first)
            raise _not_implemented("bernoulli_tensor_cpu_self_", self._dtype)
        if p._dtype.category != D._FLOAT:
            raise _not_implemented("bernoulli_tensor_cpu_p_", p._dtype)
        if p.device.type != "meta" and not np.all((to_numpy(p._data) >= 0)
                                                  & (to_numpy(p._data) <= 1)):
            raise RuntimeError(P_IN_RANGE)
        probs = np.broadcast_to(np.asarray(p._data), tuple(self.shape))
        order = _memory_order(self._data)
        if order is not None:  # the probabilities follow the draws into memory order
            probs = probs.transpose(order)
        return _fill(self, generator, lambda g, s: g.bernoulli_tensor(probs),
                     node="BernoulliBackward1", operands=(p,))
    if not 0.0 <= p <= 1.0:  # NaN too
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
    if self._dtype.is_complex:
        raise _not_implemented("bernoulli_scalar_cpu_", self._dtype)
    return _fill(self, generator, lambda g, s: g.bernoulli(p, s), node="BernoulliBackward2")


# PyTorch's words for a probability tensor with a value outside [0, 1] (NaN included)
P_IN_RANGE = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
              "message be improved?  If so, please report an enhancement request to PyTorch.)")


_RANDOM_SPAN = {D.float16: 2 ** 11 + 1, D.bfloat16: 2 ** 8 + 1, D.float32: 2 ** 24 + 1,
                D.float64: 2 ** 53 + 1, D.bool: 2}


def random_(self: Tensor, *args, generator=None, **kwargs) -> Tensor:
    """Fill in place with integers from [from, to): ``random_(to)``, ``random_(from, to)``
    (``to=None``: up to the dtype's largest value) or ``random_()`` (every integer the dtype
    holds from 0 on: [0, 2**24] for float32, as PyTorch).

    Example:
        >>> ember.zeros(3, dtype=ember.uint8).random_(0, 2).shape
        torch.Size([3])
        >>> bool((ember.empty(5).random_(3) < 3).all())
        True
    """
    # PyTorch's overloads: one positional number is the exclusive upper bound (its node
    # RandomBackward1; from and to: RandomBackward0; no bound: RandomBackward2)
    if len(args) > 2 or set(kwargs) - {"from", "to"} or ("from" in kwargs and (
            args or "to" not in kwargs)) or (  # torch's ``to`` has no default in (from, to)
            len(args) + len(kwargs) == 1 and (args or kwargs)[0 if args else "to"] is None):
        # (a lone ``to`` is an int: only the (from, to) overload takes to=None)
        got = ", ".join([type(a).__name__ for a in args] +
                        [f"{k}={type(v).__name__}" for k, v in kwargs.items()])
        raise TypeError(f"random_() received an invalid combination of arguments - got ({got}"
                        "), but expected one of:\n * (*, torch.Generator generator = None)\n"
                        " * (int from, int to, *, torch.Generator generator = None)\n"
                        " * (int to, *, torch.Generator generator = None)")
    node = "RandomBackward1" if "from" not in kwargs and (
        len(args) == 1 and "to" not in kwargs or not args and "to" in kwargs) else \
        "RandomBackward0"
    if len(args) == 1 and "to" not in kwargs and "from" not in kwargs:
        from_, to = 0, args[0]
    else:
        named = dict(zip(("from", "to"), args))
        named.update(kwargs)
        from_, to = named.get("from", 0), named.get("to")
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, builtins.bool)
               for v in (from_, to) if v is not None):
        raise TypeError(f"random_() expects integer bounds, got from={from_!r}, to={to!r}")
    if any(not -(1 << 63) <= v < 1 << 63 for v in (from_, to) if v is not None):
        raise ValueError("Overflow when unpacking long long")  # PyTorch's int64 arguments
    if not args and not kwargs:
        span = _RANDOM_SPAN.get(self.dtype) or int(np.iinfo(self.dtype.np_dtype).max) + 1
        return _fill(self, generator, lambda g, s: g.below(span, s), node="RandomBackward2")
    # an explicit ``from`` (0 included) samples [from, top] as a from-to range: int32's
    # 2**31 values then come from 64-bit words, unlike the bare ``random_()``
    if to is None:
        to = _RANDOM_SPAN.get(self.dtype) or int(np.iinfo(self.dtype.np_dtype).max) + 1
    _check_random_bounds(int(from_), int(to), self.dtype, stacklevel=3)
    if int(to) - int(from_) == 1 << 64:  # int64's whole range: the raw 64-bit words
        return _fill(self, generator, lambda g, s: g.words64(
            builtins.max(1, int(np.prod(s)))).view(np.int64)[:int(np.prod(s))].reshape(s),
            node=node)
    top = _float_top(int(to), self.dtype)
    return _fill(self, generator, lambda g, s: g.integers(int(from_), top, size=s), node=node)


def _check_param(valid: bool, message: str) -> None:
    """PyTorch's argument checks of the in-place samplers (a NaN parameter fails them too)."""
    if not valid:
        raise RuntimeError(message)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with exponential samples of rate ``lambd``."""
    _check_param(lambd > 0, f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    return _fill(self, generator,
                 lambda g, s: g.exponential(lambd, s, _work(self)), node="ExponentialBackward0")


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill in place with geometric samples (trials until the first success)."""
    _check_param(0 < p < 1, f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    return _fill(self, generator, lambda g, s: g.geometric(p, s, _work(self)),
                 node="GeometricBackward0")


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill in place with log-normal samples."""
    _check_param(std > 0, f"log_normal_ expects std > 0.0, but found std={std:g}")
    return _fill(self, generator,
                 lambda g, s: g.log_normal(mean, std, s, _work(self)), node="LogNormalBackward0")


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with Cauchy samples."""
    _check_param(sigma > 0, f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    return _fill(self, generator,
                 lambda g, s: g.cauchy(median, sigma, s, _work(self)), node="CauchyBackward0")


def rrelu_slopes(stream, x: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """rrelu's training slopes: one float64 uniform in [lower, upper) per element <= 0, in
    element order (positive elements draw nothing), as PyTorch's kernel."""
    slopes = np.ones(x.shape, x.dtype)
    neg = x <= 0
    # float32 arithmetic on the float64 draws: the closest of the forms tried (a value in
    # ~20 can still differ from PyTorch's in the last bit)
    u = stream.doubles(int(np.count_nonzero(neg))).astype(np.float32)
    slopes[neg] = (u * (np.float32(upper) - np.float32(lower)) + np.float32(lower)).astype(
        x.dtype)
    return slopes


# normal, bernoulli, poisson and multinomial take tensors of parameters (and give them zero
# gradients, as PyTorch does); they live beside this module and are re-exported here.
from ._random_distributions import bernoulli, multinomial, normal, poisson  # noqa: E402

TENSOR_METHODS = {
    "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_, "random_": random_,
    "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_,
    "cauchy_": cauchy_, "bernoulli": bernoulli, "multinomial": multinomial,
}
