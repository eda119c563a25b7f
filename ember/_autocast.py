"""Autocast's state and its one hook in the op path.

Public op functions that PyTorch's autocast lists start with one flag check::

    def matmul(input, other):
        if _amp.active and _autocast.state.active:
            return _autocast.call(matmul, "matmul", input, other)
        ...

``_amp`` is ``hot``, a plain process-wide flag that is False unless some thread has an enabled
``autocast`` region, so with autocast off an op pays one attribute read; ``state`` is the
thread's own (thread-local, as in PyTorch). Inside a region, ``call`` looks the op up in the
table of the device its tensors live on (``POLICIES``), casts the floating arguments as that
table says, and runs the op with autocast switched off, so the ops it is built from do not cast
again (PyTorch's autocast kernels exclude the autocast key while they run the op in the same
way).

Policies, as PyTorch's autocast op reference lists them:

* ``LOWER``: floating inputs (not float64) are cast to the region's dtype (bfloat16 by
  default on the CPU, float16 on CUDA): matmul, linear, conv...
* ``FP32``: floating inputs (not float64) are cast to float32: losses, ``prod``, linear
  algebra decompositions, some poolings and paddings.
* ``PROMOTE``: floating inputs are cast to the widest floating dtype among them.

Casts of float32 leaf tensors that require grad (parameters) are cached until the outermost
region exits (``cache_enabled``), so a weight used twice is cast once, as in PyTorch.

The public API (``ember.autocast``, ``ember.amp``, ``ember.is_autocast_enabled`` ...) is built
on this module; see ``ember/amp``.
"""

from __future__ import annotations

import functools
import threading

from . import _dtype as D

__all__ = ["is_autocast_enabled", "get_autocast_dtype", "set_autocast_enabled",
           "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
           "clear_autocast_cache", "is_autocast_cpu_enabled", "get_autocast_cpu_dtype",
           "set_autocast_cpu_enabled", "set_autocast_cpu_dtype", "get_autocast_gpu_dtype",
           "set_autocast_gpu_dtype", "autocast_increment_nesting", "autocast_decrement_nesting"]

LOWER, FP32, PROMOTE = "lower", "fp32", "promote"

DEVICE_TYPES = ("cpu", "cuda")

# PyTorch's CPU autocast lists (aten/src/ATen/autocast_mode.cpp), restricted to the ops ember
# has, under the names of ember's public functions (checked against torch 2.13's output dtypes
# in tests/amp). einsum is composite in PyTorch (over bmm), so it runs in the lower dtype too.
_CPU_LOWER = (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "bmm", "mm", "matmul", "linalg_vecdot", "baddbmm", "addmm", "addbmm", "linear", "prelu",
    "scaled_dot_product_attention", "einsum",
)
_CPU_FP32 = (
    "avg_pool3d", "max_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d", "max_unpool2d",
    "binary_cross_entropy", "polar", "prod",
    "quantile", "nanquantile", "cdist", "trace", "cholesky", "inverse", "pinverse",
    "triangular_solve", "svd", "reflection_pad1d", "reflection_pad2d", "replication_pad1d",
    "replication_pad2d", "replication_pad3d", "mse_loss", "cosine_embedding_loss", "nll_loss",
    "hinge_embedding_loss", "poisson_nll_loss", "smooth_l1_loss", "cross_entropy", "l1_loss",
    "huber_loss", "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss", "kl_div",
    "binary_cross_entropy_with_logits", "linalg_solve", "linalg_cholesky", "linalg_cholesky_ex",
    "linalg_svdvals", "linalg_eigvalsh", "linalg_inv", "linalg_inv_ex", "linalg_qr",
    "linalg_svd", "linalg_eigh", "multi_margin_loss", "multilabel_margin_loss", "ctc_loss",
    # probed against torch 2.13 (bfloat16 in, float32 out): spectral ops, the remaining LAPACK
    # wrappers, fractional pooling, and per-tensor fake quantization
    "fft_fft", "fft_ifft", "fft_fft2", "fft_ifft2", "fft_fftn", "fft_ifftn", "fft_rfft",
    "fft_irfft", "fft_rfft2", "fft_irfft2", "fft_rfftn", "fft_irfftn", "fft_hfft", "fft_ihfft",
    "stft", "view_as_complex", "cholesky_inverse", "cholesky_solve", "geqrf", "orgqr", "ormqr",
    "lu", "linalg_householder_product", "linalg_eig", "linalg_eigvals", "linalg_lstsq",
    "linalg_matrix_rank", "linalg_tensorinv", "linalg_tensorsolve", "fractional_max_pool2d",
    "fractional_max_pool3d", "max_unpool1d", "fake_quantize_per_tensor_affine",
)
_CPU_PROMOTE = ("index_copy",)

# PyTorch's CUDA lists, for the ops above that CUDA lists too (CUDA autocast needs CuPy and a
# GPU; CUDA's float32 list of pointwise ops and softmax/sum is not applied by ember yet).
_CUDA_LOWER = (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "bmm", "mm", "matmul", "baddbmm", "addmm", "addbmm", "linear", "prelu",
    "scaled_dot_product_attention", "einsum",
)
_CUDA_FP32 = (
    "mse_loss", "cosine_embedding_loss", "nll_loss", "hinge_embedding_loss", "poisson_nll_loss",
    "smooth_l1_loss", "l1_loss", "huber_loss", "margin_ranking_loss", "soft_margin_loss",
    "triplet_margin_loss", "kl_div", "binary_cross_entropy_with_logits", "cross_entropy",
    "cdist", "prod",
)


def _table(lower, fp32, promote=()):
    table = dict.fromkeys(lower, LOWER)
    table.update(dict.fromkeys(fp32, FP32))
    table.update(dict.fromkeys(promote, PROMOTE))
    return table


POLICIES = {"cpu": _table(_CPU_LOWER, _CPU_FP32, _CPU_PROMOTE),
            "cuda": _table(_CUDA_LOWER, _CUDA_FP32)}


class _State(threading.local):
    """Autocast's thread-local state, as PyTorch keeps it (a new thread starts with it off)."""

    def __init__(self):
        self.active = False  # enabled for some device type here, and not inside a hooked op
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": D.bfloat16, "cuda": D.float16}
        self.cache_enabled = True
        self.nesting = 0
        self.cache = {}
        self.counted = False  # this thread is counted in hot.threads


state = _State()


class _Hot:
    """The flag op functions read first: True while some thread has autocast enabled. A plain
    object, because reading a thread-local attribute costs about 100 ns more per op; the
    thread's own ``state.active`` is read only when this one is set."""

    __slots__ = ("active", "threads", "lock")

    def __init__(self):
        self.active = False
        self.threads = 0
        self.lock = threading.Lock()


hot = _Hot()


def _refresh():
    s = state
    on = any(s.enabled.values())
    if on is not s.counted:
        with hot.lock:
            hot.threads += 1 if on else -1
            hot.active = hot.threads > 0
        s.counted = on
    s.active = on


def _check_device_type(device_type) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if device_type not in DEVICE_TYPES:
        raise RuntimeError(f"User specified an unsupported autocast device_type "
                           f"'{device_type}': ember's autocast supports 'cpu' and 'cuda'")
    return device_type


# -- the hook --------------------------------------------------------------------------------

def call(fn, name: str, *args, **kwargs):
    """Run the public op ``fn`` (named ``name`` in ``POLICIES``) as autocast says: cast its
    floating tensor arguments, then call it with autocast off (this thread's
    ``state.active``) for the ops it is built from. Called only when ``state.active`` is
    true."""
    s = state
    device_type = _device_type(args, kwargs)
    policy = POLICIES.get(device_type, {}).get(name) if s.enabled.get(device_type) else None
    if policy is not None:
        if policy is LOWER:
            target = s.dtype[device_type]
        elif policy is FP32:
            target = D.float32
        else:
            target = _widest(args, kwargs, device_type)
        if target is not None:
            lower = policy is LOWER
            args = tuple(_cast(a, target, device_type, lower) for a in args)
            if kwargs:
                kwargs = {k: _cast(v, target, device_type, lower) for k, v in kwargs.items()}
    s.active = False
    try:
        return fn(*args, **kwargs)
    finally:
        s.active = True


def hooked(name: str):
    """Decorator form of the flag check above, for ops whose body need not change: the op runs
    as ``POLICIES`` says for ``name``, and a call with ``out=`` runs uncast, as in PyTorch.

    Example:
        >>> @hooked("fft_rfft")
        ... def rfft(input, n=None, dim=-1, norm=None, *, out=None): ...
    """
    def wrap(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            if hot.active and state.active:
                if kwargs.get("out") is not None:
                    return run_without_autocast(fn, *args, **kwargs)
                return call(fn, name, *args, **kwargs)
            return fn(*args, **kwargs)
        return op
    return wrap


def run_without_autocast(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with autocast off (PyTorch does not autocast calls that pass
    ``out=``)."""
    s = state
    active, s.active = s.active, False
    try:
        return fn(*args, **kwargs)
    finally:
        s.active = active


def _tensors(args, kwargs):
    from ._tensor import Tensor

    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, Tensor):
                    yield b


def _device_type(args, kwargs):
    for t in _tensors(args, kwargs):
        return t.device.type
    return None


def _eligible(t, device_type) -> bool:
    # PyTorch's is_eligible: floating (not complex), not float64, on autocast's device type
    return t._dtype.category == D._FLOAT and t._dtype is not D.float64 and \
        t.device.type == device_type


def _widest(args, kwargs, device_type):
    widest = None
    for t in _tensors(args, kwargs):
        if _eligible(t, device_type):
            widest = t._dtype if widest is None else D.promote_types(widest, t._dtype)
    return widest


def _cast(value, dtype, device_type, lower: bool):
    from ._tensor import Tensor

    if isinstance(value, Tensor):
        if value._dtype is dtype or not _eligible(value, device_type):
            return value
        return _cached_cast(value, dtype) if lower else _to(value, dtype)
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype, device_type, lower) for v in value)
    return value


def _to(t, dtype):
    from ._ops.shape.views import Cast

    return Cast.apply(t, dtype=dtype)


def _cached_cast(t, dtype):
    """The cast of a float32 parameter (a leaf that requires grad, not a view) is kept until
    the outermost autocast region exits; PyTorch's weight cache. Not under no_grad: a cast
    made there has no graph and must not serve a later grad-mode use."""
    from .autograd.grad_mode import _state as grad_state

    s = state
    if not (s.cache_enabled and t._dtype is D.float32 and t._requires_grad
            and t.grad_fn is None and t._base is None and grad_state.enabled):
        return _to(t, dtype)
    hit = s.cache.get(id(t))
    if hit is not None and hit[0] is t and hit[1] == t._vbox[0] and hit[2]._dtype is dtype:
        return hit[2]
    out = _to(t, dtype)
    s.cache[id(t)] = (t, t._vbox[0], out)  # holding t keeps its id from being reused
    return out


# -- state functions (torch.is_autocast_enabled ...) ------------------------------------------

def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is enabled for ``device_type`` (with no argument: for CUDA, as in
    PyTorch).

    Example:
        >>> with ember.autocast("cpu"):
        ...     ember.is_autocast_enabled("cpu")
        True
    """
    return state.enabled[_check_device_type("cuda" if device_type is None else device_type)]


def set_autocast_enabled(device_type, enabled=None) -> None:
    """Turn autocast on or off for a device type (``autocast`` does this on entry and exit).

    ``set_autocast_enabled(True)`` (one argument) is the older CUDA-only form.

    Example:
        >>> ember.set_autocast_enabled("cpu", False)
    """
    if enabled is None:
        device_type, enabled = "cuda", device_type
    state.enabled[_check_device_type(device_type)] = bool(enabled)
    _refresh()


def get_autocast_dtype(device_type: str):
    """The dtype autocast casts to on ``device_type``: bfloat16 on the CPU and float16 on CUDA
    unless an ``autocast(dtype=...)`` region says otherwise.

    Example:
        >>> ember.get_autocast_dtype("cpu")
        torch.bfloat16
    """
    return state.dtype[_check_device_type(device_type)]


def set_autocast_dtype(device_type: str, dtype) -> None:
    """Set the dtype autocast casts to on ``device_type``.

    Example:
        >>> ember.set_autocast_dtype("cpu", ember.bfloat16)
    """
    state.dtype[_check_device_type(device_type)] = D.to_dtype(dtype)


def _deprecated(old: str, new: str) -> None:
    import warnings

    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.",
                  DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled() -> bool:
    """``is_autocast_enabled("cpu")`` (deprecated in PyTorch, and warns so here).

    Example:
        >>> ember.is_autocast_cpu_enabled()
        False
    """
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return state.enabled["cpu"]


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """``set_autocast_enabled("cpu", enabled)``."""
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    """``get_autocast_dtype("cpu")``.

    Example:
        >>> ember.get_autocast_cpu_dtype()
        torch.bfloat16
    """
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return state.dtype["cpu"]


def set_autocast_cpu_dtype(dtype) -> None:
    """``set_autocast_dtype("cpu", dtype)``."""
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype():
    """``get_autocast_dtype("cuda")``.

    Example:
        >>> ember.get_autocast_gpu_dtype()
        torch.float16
    """
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return state.dtype["cuda"]


def set_autocast_gpu_dtype(dtype) -> None:
    """``set_autocast_dtype("cuda", dtype)``."""
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


def is_autocast_cache_enabled() -> bool:
    """Whether autocast keeps the casts of parameters for the rest of the region.

    Example:
        >>> ember.is_autocast_cache_enabled()
        True
    """
    return state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Turn autocast's cast cache on or off."""
    state.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """Drop the cached casts (``autocast`` does this when its outermost region exits).

    Example:
        >>> ember.clear_autocast_cache()
    """
    state.cache.clear()


def autocast_increment_nesting() -> int:
    """Count one more open autocast region; returns the new depth."""
    state.nesting += 1
    return state.nesting


def autocast_decrement_nesting() -> int:
    """Count one autocast region closed; returns the new depth."""
    state.nesting -= 1
    return state.nesting
