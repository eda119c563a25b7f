"""Parameter initialisation (``ember.nn.init``), with PyTorch's formulas and fan rules.

Every function fills its tensor in place without recording autograd and returns it; each
takes ``generator=`` for reproducible draws.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype as D
from .. import _random
from .._errors import with_hint
from .._ops._dispatch import not_implemented_for
from .._tensor import Tensor
from ..autograd import grad_mode

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_", "uniform", "normal", "constant",
           "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal",
           "eye", "dirac", "sparse"]


def _write(tensor: Tensor, arr) -> Tensor:
    """Copy ``arr`` into ``tensor`` outside autograd and bump its version."""
    if tensor.device.type == "meta":  # nothing to copy; the version moves as PyTorch's does
        tensor._vbox[0] += 1
        return tensor
    if tensor._inference:  # an in-place write like any other: refused outside inference mode
        from .._ops.inplace import check_inplace

        check_inplace(tensor)
    data = tensor._data
    if type(data) is not np.ndarray:
        from .._backend import to_device_array

        arr = to_device_array(np.asarray(arr), tensor.device)
    if arr is not data:  # a draw made straight into the tensor (see _into) is in place
        data[...] = arr
    tensor._vbox[0] += 1
    return tensor


def _rng(generator):
    return _random._gen(generator)


def _work(tensor: Tensor):
    """The precision PyTorch's fill kernels draw in for ``tensor``'s dtype."""
    return _random._work(tensor)


def _into(tensor: Tensor):
    """``tensor``'s own array when a draw can be made straight into it (a C-contiguous host
    array of the draw's precision, not an inference tensor), else None: a large weight then
    needs no temporary of its size and no copy."""
    data = tensor._data
    if type(data) is np.ndarray and data.flags.c_contiguous and not tensor._inference \
            and data.dtype == np.dtype(_work(tensor)):
        return data
    return None


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (``'relu'`` -> sqrt(2), ``'tanh'`` -> 5/3, ...).

    Example:
        >>> ember.nn.init.calculate_gain("leaky_relu", 0.2)
        1.3867504905630728
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    dimensions = tensor.dim()
    if dimensions < 2:
        raise with_hint(ValueError("Fan in and fan out can not be computed for tensor with fewer "
                                   "than 2 dimensions"), f"got shape {list(tensor.shape)}")
    num_input_fmaps = tensor.size(1)
    num_output_fmaps = tensor.size(0)
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]  # torch's message prints this list
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _order(tensor: Tensor):
    """The memory order torch's fill kernels walk ``tensor`` in (None: row-major)."""
    return None if tensor.device.type == "meta" else _random._memory_order(tensor._data)


def _ordered_draw(tensor: Tensor, draw):
    """``draw(shape)`` made in ``tensor``'s memory order (a transposed weight takes the draws
    as PyTorch gives them) and returned in its logical order. A complex tensor is filled as
    PyTorch fills it viewed as real: each element's real and imaginary parts take
    consecutive draws. A meta tensor draws nothing (PyTorch's generator does not advance
    for it) and gets None, which ``_write`` ignores."""
    if tensor.device.type == "meta":
        return None
    if tensor.dtype.is_complex:
        def pairs(shape):
            parts = draw(tuple(shape) + (2,))
            return parts[..., 0] + 1j * parts[..., 1]

        return _random.draw_in_order(_order(tensor), tensor.shape, pairs)
    return _random.draw_in_order(_order(tensor), tensor.shape, draw)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b). Example: ``init.uniform_(w, -0.1, 0.1)``."""
    _random.check_uniform_args(tensor, a, b)  # Tensor.uniform_'s checks and errors
    g = _rng(generator)
    with grad_mode.no_grad():
        dest = _into(tensor)
        return _write(tensor, _ordered_draw(
            tensor, lambda s: g.uniform(a, b, s, _work(tensor), out=dest)))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2). Example: ``init.normal_(w, std=0.02)``."""
    _random.check_normal_args(tensor, std)  # Tensor.normal_'s checks and errors
    g, single = _rng(generator), not tensor.is_contiguous()
    if tensor.dtype.is_complex:  # each part gets std/sqrt(2): the complex variance is std**2
        std = std / math.sqrt(2.0)
    with grad_mode.no_grad():
        dest = _into(tensor)
        return _write(tensor, _ordered_draw(tensor, lambda s: g.normal(
            mean, std, s, _work(tensor), one_at_a_time=single, out=dest)))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b], drawing as PyTorch does (same seed, same
    values): rejection sampling from N(mean, std^2) when [a, b] holds at least 30% of the
    mass, else uniform proposals on [a, b] accepted with the ratio of their densities.

    Example:
        >>> w = ember.empty(3, 4)
        >>> _ = ember.nn.init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)
        >>> bool((w.abs() <= 0.04).all())
        True
    """
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    alpha, beta = (a - mean) / std, (b - mean) / std
    mass = _normal_cdf(beta) - _normal_cdf(alpha)
    g, work = _rng(generator), _work(tensor)
    if tensor.device.type == "meta":
        return tensor
    # drawn in the tensor's memory order, one normal at a time when it is not contiguous
    order, single = _order(tensor), not tensor.is_contiguous()
    shape = tuple(tensor.shape) if order is None else tuple(tensor.shape[d] for d in order)
    store = tensor.dtype.np_dtype
    if mass >= 0.3:
        _random.check_normal_args(tensor, std)
        # Each round draws the whole tensor again and keeps the new values only where the
        # current one is still outside [a, b] (so the stream advances as PyTorch's does).
        out = np.asarray(g.normal(mean, std, shape, work, one_at_a_time=single)).astype(store)
        outside = (out < a) | (out > b)
        # the redraws go to empty_like(tensor): dense, so contiguous unless permuted
        redraw_single = order is not None
        while outside.any():
            fresh = np.asarray(g.normal(mean, std, shape, work,
                                        one_at_a_time=redraw_single)).astype(store)
            out = np.where(outside, fresh, out)
            outside = (out < a) | (out > b)
    else:
        # A narrow or far-out window: normal proposals would mostly miss it, so propose
        # uniformly on [a, b] and accept with density(x) / density(point nearest the mean).
        _random.check_uniform_args(tensor, a, b)
        peak = 0.0 if alpha <= 0.0 <= beta else min(abs(alpha), abs(beta))
        out = np.zeros(shape, store)
        done = np.zeros(shape, bool)
        while not done.all():
            x = np.asarray(g.uniform(a, b, shape, work)).astype(store)
            u = np.asarray(g.uniform(0.0, 1.0, shape, work))
            z = (x.astype(work) - work(mean)) / work(std)
            ratio = np.exp((work(peak * peak) - z * z) / work(2.0))
            # written as "not rejected" so a NaN ratio accepts, as PyTorch's loop ends then
            take = ~done & ~(u > ratio)
            out[take] = x[take]
            done |= take
    if order is not None:
        out = out.transpose(np.argsort(order))
    with grad_mode.no_grad():
        return _write(tensor, out)


def _normal_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    with grad_mode.no_grad():
        return _write(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with ones in place (no gradient recorded); returns it."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with zeros in place (no gradient recorded); returns it."""
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with grad_mode.no_grad():
        return _write(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-5-D conv weight so the convolution preserves its input channels."""
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    arr = np.zeros(tuple(sizes))
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            arr[(g * out_chans_per_grp + d, d) + centre] = 1
    with grad_mode.no_grad():
        return _write(tensor, arr)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al.).

    Example:
        >>> ember.nn.init.kaiming_uniform_(ember.empty(3, 5), mode="fan_out", nonlinearity="relu")
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw, times ``gain``."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0 or tensor.device.type == "meta":  # meta: no draw, as PyTorch
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    if not tensor.dtype.is_floating_point or tensor.dtype in (D.float16, D.bfloat16):
        # PyTorch draws into a (rows, cols) tensor of this dtype (integers: normal_ refuses),
        # then fails where it has no kernel: QR of half precision, sign() of complex numbers
        tensor.new_empty((rows, cols)).normal_(0.0, 1.0, generator=generator)
        if tensor.dtype.is_complex:
            raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support "
                                      "complex numbers. Please use torch.sgn instead.")
        raise not_implemented_for("geqrf_cpu", tensor.dtype)
    flat = _rng(generator).normal(0.0, 1.0, (rows, cols), _work(tensor))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # make the decomposition unique, as PyTorch does
    if rows < cols:
        q = q.T
    with grad_mode.no_grad():
        return _write(tensor, (gain * q).reshape(tuple(tensor.shape)))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """A 2-D tensor with N(0, std^2) entries and a ``sparsity`` fraction of each column zero."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    if tensor.device.type == "meta":  # nothing to fill and no draws, as PyTorch
        return tensor
    # PyTorch's steps: normal_ fills the tensor (in its memory order, so a transposed weight
    # gets the same values as torch's), then each column zeroes the first rows of a randperm
    normal_(tensor, 0.0, std, generator)
    perm_rng = _rng(None)  # PyTorch's randperm here ignores ``generator``: the global stream
    with grad_mode.no_grad():
        for c in range(cols):
            zero_rows = perm_rng.permutation(rows)[:num_zeros]
            if len(zero_rows):
                tensor[zero_rows.tolist(), c] = 0
    return tensor


def _deprecated(new):
    def old(*args, **kwargs):
        warnings.warn(f"`nn.init.{new.__name__[:-1]}` is now deprecated in favor of "
                      f"`nn.init.{new.__name__}`.", FutureWarning, stacklevel=2)
        return new(*args, **kwargs)

    old.__name__ = new.__name__[:-1]
    old.__doc__ = f"Deprecated: use ``nn.init.{new.__name__}`` (this warns, then calls it)."
    return old


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
sparse = _deprecated(sparse_)
