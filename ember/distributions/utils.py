"""Small helpers the distributions share: broadcasting parameters, moving between
probabilities and logits, a cached property, packing lower-triangular matrices, and the
random draws that must follow PyTorch's stream."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import update_wrapper
from typing import Any, Generic, TypeVar

import ember
import ember.nn.functional as F
from ember import Tensor

# what counts as a plain number parameter (isinstance checks, and annotations)
_Number = (int, float, bool)
Number = int | float | bool
_size = ember.Size | Sequence[int]
_dtype = ember.dtype
Device = ember.device | str | int | None

# the Euler-Mascheroni constant (Gumbel and Weibull moments, some KL divergences)
euler_constant = 0.57721566490153286060

__all__ = ["broadcast_all", "logits_to_probs", "clamp_probs", "probs_to_logits", "lazy_property",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]


def is_tensor_like(value) -> bool:
    """Whether ``value`` is a tensor, or an object that takes part in the tensor protocol
    through ``__torch_function__``."""
    return isinstance(value, Tensor) or hasattr(type(value), "__torch_function__")


def broadcast_all(*values: Tensor | Number) -> tuple[Tensor, ...]:
    """Turn numbers into tensors and broadcast everything to one shape.

    Numbers take the dtype and device of the first tensor among ``values``, or the default
    float dtype when there is none; tensors keep their own dtypes. Anything that is neither
    a number nor tensor-like raises ``ValueError``.

    Example:
        >>> from ember.distributions.utils import broadcast_all
        >>> loc, scale = broadcast_all(ember.tensor([0.0, 1.0]), 2.0)
        >>> scale
        tensor([2., 2.])
    """
    if not all(isinstance(v, _Number) or is_tensor_like(v) for v in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or "
                         "objects implementing __torch_function__.")
    like = next((v for v in values if is_tensor_like(v)), None)
    if like is None:
        kind = {"dtype": ember.get_default_dtype()}
    else:
        kind = {"dtype": like.dtype, "device": like.device}
    tensors = [v if is_tensor_like(v) else ember.tensor(v, **kind) for v in values]
    return tuple(ember.broadcast_tensors(*tensors))


def _standard_normal(shape: _size, dtype: _dtype | None, device: Device) -> Tensor:
    """Standard normal draws of ``shape``: the same numbers ``ember.randn`` gives (and so
    PyTorch for the same seed)."""
    return ember.randn(shape, dtype=dtype, device=device)


def _one_hot(indices: Tensor, num_classes: int) -> Tensor:
    """Integer one-hot vectors (a new last dimension of size ``num_classes``)."""
    return F.one_hot(indices, num_classes)


def _host_fill(shape, dtype, device, method: str, *args) -> Tensor:
    """A new tensor filled by the in-place random method ``method`` (``"cauchy_"``,
    ``"exponential_"``, ``"uniform_"``, ...), called with ``args``.

    The fill runs on the host, where ember replays PyTorch's CPU generator, and the result
    then moves to ``device``: the same seed gives the same sample on every device."""
    out = ember.empty(shape, dtype=dtype)
    getattr(out, method)(*args)
    return out.to(device)


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum over the ``dim`` rightmost dimensions (``dim`` 0: ``value`` as it is)."""
    # reshape, not flatten: with more dims asked for than there are, everything is summed
    # (as PyTorch does) instead of raising.
    return value if dim == 0 else value.reshape(value.shape[:-dim] + (-1,)).sum(-1)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from logits: a sigmoid for independent binary events, otherwise a
    softmax over the last dimension (logits there are log-probabilities up to a constant).

    Example:
        >>> from ember.distributions.utils import logits_to_probs
        >>> logits_to_probs(ember.tensor([0.0, 0.0]))
        tensor([0.5000, 0.5000])
        >>> logits_to_probs(ember.tensor([0.0]), is_binary=True)
        tensor([0.5000])
    """
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Keep probabilities inside ``[eps, 1 - eps]`` (``eps`` the dtype's machine epsilon),
    so that their logarithms and logits stay finite.

    Example:
        >>> from ember.distributions.utils import clamp_probs
        >>> clamp_probs(ember.tensor([0.0, 0.5], dtype=ember.float64))
        tensor([2.2204e-16, 5.0000e-01], dtype=torch.float64)
    """
    eps = ember.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Logits from probabilities (clamped first, see ``clamp_probs``): ``log(p / (1 - p))``
    for binary events, otherwise ``log(p)``, which ``logits_to_probs`` maps back.

    Example:
        >>> from ember.distributions.utils import probs_to_logits
        >>> probs_to_logits(ember.tensor([0.5]), is_binary=True)
        tensor([0.])
    """
    p = clamp_probs(probs)
    if is_binary:
        return p.log() - (-p).log1p()
    return p.log()


T = TypeVar("T", contravariant=True)
R = TypeVar("R", covariant=True)


class lazy_property(Generic[T, R]):
    """A property computed on first access and then stored on the instance, under the
    same name, so later reads are plain attribute lookups.

    The computation runs with gradients enabled, even inside ``ember.no_grad()``: the stored
    value outlives that block and must still connect to the parameters it came from.

    Example:
        >>> from ember.distributions.utils import lazy_property
        >>> class Circle:
        ...     def __init__(self, r):
        ...         self.r = r
        ...     @lazy_property
        ...     def area(self):
        ...         print("computing")
        ...         return 3.0 * self.r ** 2
        >>> c = Circle(2.0)
        >>> c.area
        computing
        12.0
        >>> c.area
        12.0
    """

    def __init__(self, wrapped: Callable[[T], R]) -> None:
        self.wrapped: Callable[[T], R] = wrapped
        update_wrapper(self, wrapped)  # the method's name, doc and annotations show through

    def __get__(self, instance: T | None, obj_type: Any = None) -> R | _lazy_property_and_property:
        if instance is None:  # read from the class: look like a property too (docs, checks)
            return _lazy_property_and_property(self.wrapped)
        with ember.set_grad_enabled(True):
            value = self.wrapped(instance)
        # an instance attribute of the same name now hides this (non-data) descriptor, so the
        # method never runs again for this instance
        setattr(instance, self.__name__, value)
        return value


class _lazy_property_and_property(lazy_property[T, R], property):
    """What a ``lazy_property`` reads as from its class: also a ``property``, with the method as
    its getter."""

    def __init__(self, wrapped: Callable[[T], R]) -> None:
        super().__init__(wrapped)
        property.__init__(self, wrapped)


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of the square matrices ``mat`` (last two dims) on and below diagonal
    ``diag``, row by row, in a vector; ``diag`` shifts the diagonal as ``Tensor.tril`` does.

    Example:
        >>> from ember.distributions.utils import tril_matrix_to_vec
        >>> tril_matrix_to_vec(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor([1., 3., 4.])
    """
    size = mat.shape[-1]
    if not -size <= diag < size:
        raise ValueError(f"diag ({diag}) provided is outside [{-size}, {size - 1}].")
    below = ember.ones(size, size, dtype=ember.bool, device=mat.device).tril(diag)
    return mat[..., below]


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of ``tril_matrix_to_vec``: square matrices with ``vec`` (last dim) laid
    out row by row on and below diagonal ``diag``, zeros elsewhere. The matrix size is
    solved from the length of ``vec``; a length no matrix fits raises an error.

    Example:
        >>> from ember.distributions.utils import vec_to_tril_matrix
        >>> vec_to_tril_matrix(ember.tensor([1.0, 3.0, 4.0]))
        tensor([[1., 0.],
                [3., 4.]])
    """
    length = vec.shape[-1]
    # the count of entries is quadratic in the size: n**2 + (1 + 2d) n - 2 length - |d|(d + 1)
    # = 0; take the nearest whole root
    b = 1 + 2 * diag
    root = (-b + math.sqrt(b * b + 8 * length + 4 * abs(diag) * (diag + 1))) / 2
    size = round(root)
    if size > root:  # rounded up: too few values for the nearest size
        raise ValueError(f"The size of last dimension is {length} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    out = vec.new_zeros(vec.shape[:-1] + (size, size))
    below = ember.ones(size, size, dtype=ember.bool, device=vec.device).tril(diag)
    out[..., below] = vec
    return out
