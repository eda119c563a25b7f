"""Random draws whose parameters are tensors: ``normal`` (its four overloads), ``bernoulli``,
``poisson``, ``multinomial``. Re-exported by ``ember._random``.

As in PyTorch, a draw from parameters that require grad requires grad too, and the parameters'
gradient is zero (``NormalBackward1..3``, ``BernoulliBackward0``, ``PoissonBackward0``): these
are not reparameterised samples (``ember.distributions``' ``rsample`` is, where it exists).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import _dtype as D
from ._backend import CPU, to_device_array, to_numpy
from ._creation import _finish
from ._factory_args import is_meta, meta_result, out_args, write_out
from ._factory_args import sizes as sizes_of
from ._random import P_IN_RANGE, _float_dtype, _gen, _not_implemented
from ._tensor import Tensor


def _zero_grad_node(name: str):
    """An op whose forward hands back a drawn array and whose backward gives each tensor
    input a zero gradient of its own shape."""
    from ._ops._core import Op

    class Draw(Op):
        _name = name

        @staticmethod
        def forward(ctx, *arrays, sample):
            return sample

        @staticmethod
        def backward(ctx, grad):
            from ._creation import zeros_like

            return tuple(zeros_like(x) if isinstance(x, Tensor) and need else None
                         for x, need in zip(ctx.inputs, ctx.needs_input_grad))

    Draw.__name__ = Draw.__qualname__ = name.replace("Backward", "Draw")
    return Draw


_NODES: dict = {}


def _sampled(name: str, inputs: tuple, arr, dt: D.dtype, device) -> Tensor:
    """Wrap a host sample as the result: on ``device``, recorded with a zero-gradient node
    when an input requires grad."""
    arr = to_device_array(np.asarray(arr, dt.np_dtype), device)
    if any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        node = _NODES.get(name)
        if node is None:
            node = _NODES[name] = _zero_grad_node(name)
        return node.apply(*inputs, sample=arr)
    return Tensor._make(arr, dt)


def _number(fname: str, name: str, value) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{fname}(): argument '{name}' must be a Tensor or a float, not "
                    f"{type(value).__name__}")


def _std_message(std: float) -> str:
    return f"normal expects std >= 0.0, but found std {std:g}"


def _normal_draw(g, shape, dt: D.dtype, mean, std):
    """mean + std * N(0, 1) in ``dt``, drawn as PyTorch's kernels draw: numbers for mean and
    std go into ``normal_(mean, std)``; tensors scale and shift a standard draw in ``dt``.
    Complex dtypes fill real and imaginary parts interleaved, each with std / sqrt(2)."""
    if dt.is_complex:
        part = D.float64 if dt is D.complex128 else D.float32
        pair_std = std / math.sqrt(2) if np.ndim(std) == 0 else np.expand_dims(std, -1) \
            / math.sqrt(2)
        pair_mean = mean if np.ndim(mean) == 0 else np.expand_dims(mean, -1)
        pairs = _normal_draw(g, tuple(shape) + (2,), part, pair_mean, pair_std)
        return (pairs[..., 0] + 1j * pairs[..., 1]).astype(dt.np_dtype)
    work = np.float64 if dt is D.float64 else np.float32
    if dt in (D.float16, D.bfloat16):
        return _normal_draw_half(g, shape, dt, mean, std)
    if np.ndim(mean) == 0 and np.ndim(std) == 0:
        return g.normal(float(mean), float(std), shape, work).astype(dt.np_dtype, copy=False)
    if np.ndim(std) == 0:  # normal(mean_tensor, std): normal_(0, std), then add the means
        z = g.normal(0.0, float(std), shape, work)
        return (z + np.asarray(mean, work)).astype(dt.np_dtype, copy=False)
    z = g.normal(0.0, 1.0, shape, work)
    return (z * np.asarray(std, work) + np.asarray(mean, work)).astype(dt.np_dtype, copy=False)


def _normal_draw_half(g, shape, dt: D.dtype, mean, std):
    """``_normal_draw`` for float16/bfloat16: the standard draw is rounded to ``dt`` first and
    each later step (scale, shift) computes in float32 and rounds again, as torch's half
    kernels do."""
    half = dt.np_dtype
    if np.ndim(std) == 0:
        z = g.normal(0.0 if np.ndim(mean) else float(mean), float(std), shape, half)
        if np.ndim(mean) == 0:
            return z
        return (z.astype(np.float32) + np.asarray(mean, np.float32)).astype(half)
    z = g.normal(0.0, 1.0, shape, half).astype(np.float32)
    z = (z * np.asarray(std, np.float32)).astype(half).astype(np.float32)
    # a number mean is rounded to ``dt`` before it is added (torch adds it as a tensor)
    shift = np.asarray(mean, np.float32) if np.ndim(mean) else np.float32(half.type(mean))
    return (z + shift).astype(half)


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Normal samples, PyTorch's four overloads: ``normal(mean_tensor, std_tensor)``,
    ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)`` (tensors broadcast; the
    result takes the tensor's dtype and device) and ``normal(mean, std, size)`` with numbers
    (``dtype``/``device``/``requires_grad`` only here; not the default device, as PyTorch).

    Example:
        >>> ember.normal(ember.zeros(3), 1.0).shape
        torch.Size([3])
        >>> ember.normal(0.0, 1.0, (2, 2)).shape
        torch.Size([2, 2])
    """
    g = _gen(generator)
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_t and not std_t:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got "
                            "(float, float): with numbers for mean and std, pass a size too, "
                            "e.g. ember.normal(0.0, 1.0, (3,))")
        mean, std = _number("normal", "mean", mean), _number("normal", "std", std)
        if not std >= 0.0:
            raise RuntimeError(_std_message(std))
        shape = sizes_of("normal", (), size)
        grad_out = False
        if out is not None:
            dtype, device = out_args("normal", dtype, device, out)
            grad_out, requires_grad = requires_grad, False
        dt = _float_dtype(dtype, "normal_kernel_cpu")
        device = CPU if device is None else device  # normal is no default-device constructor
        if is_meta(device):
            return write_out(meta_result(shape, dt, requires_grad), out, grad_out)
        return write_out(_finish(_normal_draw(g, shape, dt, mean, std), dt, device,
                                 requires_grad), out, grad_out)
    if size is not None or dtype is not None or device is not None or requires_grad:
        raise TypeError("normal() received an invalid combination of arguments: size, dtype, "
                        "device and requires_grad go only with numbers for mean and std, "
                        "e.g. ember.normal(0.0, 1.0, (3,)); with tensors the result takes "
                        "their shape, dtype and device")
    like = mean if mean_t else std
    dt = like.dtype
    if dt.category < D._FLOAT:
        raise _not_implemented("normal_kernel_cpu", dt)
    if std_t:
        s_host = to_numpy(std._data) if std.device.type != "meta" else None
        if s_host is not None and not np.all(s_host >= 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    else:
        std = _number("normal", "std", std)
        if not std >= 0.0:
            raise RuntimeError(_std_message(std))
        s_host = std
    if not mean_t:
        mean = _number("normal", "mean", mean)
    from ._ops._core import broadcast_shapes

    shape = broadcast_shapes(tuple(mean.shape) if mean_t else (),
                             tuple(std.shape) if std_t else ())
    if out is not None:
        out_args("normal", None, None, out, factory=False)
        dt = out.dtype
    if like.device.type == "meta":
        return write_out(meta_result(shape, dt, False), out)
    m_host = to_numpy(mean._data) if mean_t else mean
    arr = _normal_draw(g, shape, dt, m_host, s_host)
    if out is not None:
        return write_out(Tensor._make(to_device_array(arr, like.device), dt), out)
    name = "NormalBackward3" if mean_t and std_t else (
        "NormalBackward1" if mean_t else "NormalBackward2")
    return _sampled(name, (mean, std) if mean_t and std_t else (like,), arr, dt, like.device)


def _require_tensor(fname: str, value) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(value).__name__}")


def bernoulli(input: Tensor, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples that are 1 with probability ``input`` (or a fixed float ``p``), in
    ``input``'s dtype (``out``'s with ``out=``).

    Example:
        >>> ember.bernoulli(ember.tensor([0.0, 1.0]))
        tensor([0., 1.])
    """
    _require_tensor("bernoulli", input)
    g = _gen(generator)
    if p is not None:
        if isinstance(p, Tensor) or not isinstance(p, numbers.Real) or isinstance(p, bool):
            raise TypeError("bernoulli() received an invalid combination of arguments - got "
                            f"(Tensor, {type(p).__name__}): p is a float; for per-element "
                            "probabilities pass them as the input, ember.bernoulli(probs)")
        if out is not None:
            raise TypeError("bernoulli(input, p) takes no out=; use out.bernoulli_(p)")
        if not 0.0 <= p <= 1.0:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
        if input.dtype.is_complex:  # torch draws into a tensor like input: none is complex
            raise _not_implemented("bernoulli_scalar_cpu_", input.dtype)
        probs = p
    else:
        if input.dtype.is_complex:
            raise _not_implemented("bernoulli_tensor_cpu_self_", input.dtype)
        if input.dtype.category != D._FLOAT:
            raise _not_implemented("bernoulli_tensor_cpu_p_", input.dtype)
        probs = to_numpy(input._data) if input.device.type != "meta" else None
        if probs is not None and not np.all((probs >= 0) & (probs <= 1)):
            raise RuntimeError(P_IN_RANGE)
    dt = input.dtype
    if out is not None:
        out_args("bernoulli", None, None, out, factory=False)
        dt = out.dtype
        if dt.is_complex:  # the samples are drawn into out: no complex kernel
            raise _not_implemented("bernoulli_tensor_cpu_self_", dt)
    if input.device.type == "meta":
        return write_out(meta_result(tuple(input.shape), dt, False), out)
    arr = (g.bernoulli(probs, tuple(input.shape)) if p is not None
           else g.bernoulli_tensor(probs)).astype(dt.np_dtype)
    if out is not None:
        return write_out(Tensor._make(to_device_array(arr, input.device), dt), out)
    return _sampled("BernoulliBackward0" if p is None else "BernoulliBackward1", (input,), arr,
                    dt, input.device)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Samples from Poisson distributions whose rates are the elements of ``input`` (floating
    dtypes), in ``input``'s dtype.

    Example:
        >>> ember.poisson(ember.tensor([0.0, 0.0]))
        tensor([0., 0.])
    """
    _require_tensor("poisson", input)
    if generator is not None and not hasattr(generator, "_stream"):
        raise TypeError(f"poisson(): argument 'generator' (position 2) must be torch.Generator, "
                        f"not {type(generator).__name__}")
    g = _gen(generator)
    if input.dtype.category != D._FLOAT:
        raise _not_implemented("poisson_cpu", input.dtype)
    if input.device.type == "meta":
        return meta_result(tuple(input.shape), input.dtype, input.requires_grad)
    rates = to_numpy(input._data).astype(np.float64)
    if not np.all(rates >= 0):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    arr = _torch_poisson(g, rates)
    return _sampled("PoissonBackward0", (input,), arr, input.dtype, input.device)


def _torch_poisson(stream, rates: np.ndarray) -> np.ndarray:
    """Poisson counts as PyTorch's CPU sampler draws them from its stream, one element at a
    time in row-major order (established by comparing with PyTorch): a zero rate draws
    nothing; below 10, multiply float64 uniforms until the product falls to exp(-rate); from
    10 on, Hoermann's transformed rejection (PTRS) on pairs of float64 uniforms."""
    out = np.empty(rates.size, np.float64)
    with stream.scalar_reader() as reader:
        _poisson_loop(reader.double, rates.reshape(-1).tolist(), out)
    return out.reshape(rates.shape)


def _poisson_loop(uniform, rates: list, out: np.ndarray) -> None:
    log, lgamma = math.log, math.lgamma
    for i, lam in enumerate(rates):
        if lam == 0.0:
            out[i] = 0.0
        elif lam < 10.0:
            count, prod, limit = 0, 1.0, math.exp(-lam)
            while True:
                prod *= uniform()
                if prod <= limit:
                    break
                count += 1
            out[i] = count
        else:
            slam, loglam = math.sqrt(lam), log(lam)
            b = 0.931 + 2.53 * slam
            a = -0.059 + 0.02483 * b
            log_inv_alpha = log(1.1239 + 1.1328 / (b - 3.4))
            vr = 0.9277 - 3.6224 / (b - 2)
            while True:
                u = uniform() - 0.5
                v = uniform()
                us = 0.5 - abs(u)
                k = math.floor((2 * a / us + b) * u + lam + 0.43)
                if us >= 0.07 and v <= vr:
                    break
                if k < 0 or (us < 0.013 and v > us):
                    continue
                if log(v) + log_inv_alpha - log(a / (us * us) + b) <= \
                        -lam + k * loglam - lgamma(k + 1):
                    break
            out[i] = k


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None, out=None) -> Tensor:
    """Indices drawn from the rows of ``input`` (non-negative weights that need not sum to 1),
    with or without replacement; int64, shape ``input.shape[:-1] + (num_samples,)``.

    Example:
        >>> ember.multinomial(ember.tensor([0.0, 1.0, 0.0]), 1)
        tensor([1])
    """
    _require_tensor("multinomial", input)
    g = _gen(generator)
    if input.dtype.category != D._FLOAT:
        from ._ops.inplace import _type_title

        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{_type_title(input.dtype)}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if out is not None:
        out_args("multinomial", None, None, out, factory=False)
        if out.dtype is not D.int64:
            from ._ops.inplace import _type_title

            raise RuntimeError(f"multinomial expects Long tensor out, got: "
                               f"{_type_title(out.dtype)}")
    shape = tuple(input.shape[:-1]) + (num_samples,)
    if not replacement and num_samples > input.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if input.device.type == "meta":
        return write_out(meta_result(shape, D.int64, False), out)
    w = to_numpy(input._data).astype(np.float64)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1])
    if np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    # the weights in their own precision (float32 unless float64), as PyTorch's kernel keys
    work = np.float64 if input.dtype is D.float64 else np.float32
    result = g.categorical(rows.astype(work), num_samples, replacement)
    t = Tensor._make(to_device_array(result.reshape(shape), input.device), D.int64)
    return write_out(t, out)


# Stirling-series remainders log k! - (k + 1/2) log(k + 1) + (k + 1) - log(2 pi) / 2, k < 10
_STIRLING_TAIL = (0.08106146679532726, 0.04134069595540929, 0.02767792568499834,
                  0.02079067210376509, 0.01664469118982119, 0.01387612882307075,
                  0.01189670994589177, 0.01041126526197209, 0.009255462182712733,
                  0.008330563433362871)


def _stirling_tail(k: float) -> float:
    if k <= 9:
        return _STIRLING_TAIL[int(k)]
    sq = (k + 1) ** 2
    return (1 / 12 - (1 / 360 - 1 / 1260 / sq) / sq) / (k + 1)


def _binomial_inversion(uniform, n: float, p: float) -> float:
    # count geometric waiting times (float64 uniforms) until they pass n trials
    total, successes, log_q = 0.0, 0, math.log1p(-p)
    while True:
        total += math.ceil(math.log(uniform()) / log_q)
        if total > n:
            return successes
        successes += 1


def _binomial_btrs(uniform, n: float, p: float) -> float:
    # Hoermann's transformed rejection with squeeze (BTRS), for n p >= 10
    spread = math.sqrt(n * p * (1 - p))
    b = 1.15 + 2.53 * spread
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    r = p / (1 - p)
    alpha = (2.83 + 5.1 / b) * spread
    m = math.floor((n + 1) * p)
    log = math.log
    while True:
        u = uniform() - 0.5
        v = uniform()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= v_r:
            return k
        v = log(v * alpha / (a / (us * us) + b))
        bound = ((m + 0.5) * log((m + 1) / (r * (n - m + 1)))
                 + (n + 1) * log((n - m + 1) / (n - k + 1))
                 + (k + 0.5) * log(r * (n - k + 1) / (k + 1))
                 + _stirling_tail(m) + _stirling_tail(n - m)
                 - _stirling_tail(k) - _stirling_tail(n - k))
        if v <= bound:
            return k


def _torch_binomial(stream, count: np.ndarray, prob: np.ndarray,
                    single: bool = False) -> np.ndarray:
    """Binomial counts as PyTorch's CPU sampler draws them from its stream, one element at a
    time in row-major order (established by comparing with PyTorch): inversion by geometric
    waiting times below n min(p, q) = 10, BTRS from there on, on the smaller of p and q.
    ``single``: the tensors were float32, whose product n q PyTorch compares with 10 in float32
    (1000 x float32(0.01) rounds to 10 there, so it takes BTRS)."""
    count, prob = np.broadcast_arrays(count, prob)
    q = np.minimum(prob, 1 - prob)
    work = np.float32 if single else np.float64
    with np.errstate(invalid="ignore", over="ignore"):
        btrs = count.astype(work) * q.astype(work) >= 10
    out = np.empty(count.size, np.float64)
    with stream.scalar_reader() as reader:
        _binomial_loop(reader.double, count.reshape(-1).tolist(), prob.reshape(-1).tolist(),
                       btrs.reshape(-1).tolist(), out)
    return out.reshape(count.shape)


def _binomial_loop(uniform, counts: list, probs: list, btrs: list, out: np.ndarray) -> None:
    for i, (n, p, big) in enumerate(zip(counts, probs, btrs)):
        if n <= 0 or p <= 0:
            out[i] = 0.0
            continue
        if p >= 1:
            out[i] = n
            continue
        q = min(p, 1 - p)
        k = _binomial_btrs(uniform, n, q) if big else _binomial_inversion(uniform, n, q)
        out[i] = k if p <= 0.5 else n - k
