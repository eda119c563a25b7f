"""The nn functions PyTorch also exposes at the top level (``torch.embedding``,
``torch.kl_div``, ``torch.native_layer_norm`` ...), with the argument order, defaults and
return values of those ATen forms, which differ from ``torch.nn.functional``'s (weight before
indices, reductions as integers, tuples of saved statistics).

Each one calls ``ember.nn.functional`` or an existing op, so autograd comes for free.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ... import _dtype as D
from ... import _random
from ..._backend import asarray_like, get_array_module, to_numpy
from ..._tensor import Tensor
from .._core import Op, set_node_name
from ..inplace import apply_inplace
from .activation import hardshrink as _hardshrink


def _F():
    # ember.nn imports the op modules, so it is reached lazily
    from ...nn import functional

    return functional


def _ember():
    import ember

    return ember


# -- distances, shuffles --------------------------------------------------------------------

def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """``torch.embedding``: rows of ``weight`` picked by ``indices`` (weight first). A
    ``padding_idx`` outside ``[0, num_embeddings)`` (the default -1 included) marks no row.

    Example:
        >>> ember.embedding(ember.eye(3), ember.tensor([2, 0]))
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    # ATen compares indices with padding_idx as is: a negative or too large one matches none
    pad = padding_idx if 0 <= padding_idx < weight.shape[0] else None
    return _F().embedding(indices, weight, pad, scale_grad_by_freq=scale_grad_by_freq,
                          sparse=sparse)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``.

    Example:
        >>> ember.cosine_similarity(ember.tensor([[1.0, 0.0]]), ember.tensor([[1.0, 1.0]]))
        tensor([0.7071])
    """
    return _F().cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """p-norm of ``x1 - x2 + eps`` along the last dim.

    Example:
        >>> ember.pairwise_distance(ember.tensor([[0.0, 0.0]]), ember.tensor([[3.0, 4.0]]))
        tensor([5.0000])
    """
    return _F().pairwise_distance(x1, x2, p, eps, keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """p-norm distances between the rows of a 2-D ``input``, pair ``(i, j)`` with ``i < j`` in
    row-major order (the upper triangle of the distance matrix).

    Example:
        >>> ember.pdist(ember.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]))
        tensor([5.0000, 1.0000, 4.2426])
    """
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if input._dtype.category != D._FLOAT:
        raise RuntimeError("pdist only supports floating-point dtypes")
    if not p >= 0:  # NaN too
        raise RuntimeError("pdist only supports non-negative p values")
    e = _ember()
    n = input.shape[0]
    i, j = e.triu_indices(n, n, 1, device=input.device)
    return set_node_name(e.linalg.vector_norm(input[i] - input[j], p, dim=1), "PdistBackward0")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r).

    Example:
        >>> ember.pixel_shuffle(ember.ones(1, 4, 2, 2), 2).shape
        torch.Size([1, 1, 4, 4])
    """
    return _F().pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of :func:`pixel_shuffle`.

    Example:
        >>> ember.pixel_unshuffle(ember.ones(1, 1, 4, 4), 2).shape
        torch.Size([1, 4, 2, 2])
    """
    return _F().pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups.

    Example:
        >>> ember.channel_shuffle(ember.arange(4.0).reshape(1, 4, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    return _F().channel_shuffle(input, groups)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """:func:`channel_shuffle` as ATen's native kernel (one node).

    Example:
        >>> ember.native_channel_shuffle(ember.arange(4.0).reshape(1, 4, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    return _F().native_channel_shuffle(input, groups)


# -- losses (reduction as an int: 0 none, 1 mean, 2 sum) -------------------------------------

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(reduction, name: str) -> str:
    """ATen's int reduction as functional's string; like ATen, any other int reduces nothing."""
    if not isinstance(reduction, int) or isinstance(reduction, bool):
        raise TypeError(f"{name}(): argument 'reduction' must be int, not "
                        f"{type(reduction).__name__}")
    return _REDUCTIONS.get(reduction, "none")


# The defaults below are 0 (no reduction): the schemas say ``reduction=Mean``, but torch's
# Python bindings of these top-level forms reduce nothing when it is left out.

def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: int = 0) -> Tensor:
    """Binary cross entropy on logits; ``reduction`` 0 none, 1 mean, 2 sum.

    Example:
        >>> ember.binary_cross_entropy_with_logits(ember.zeros(2), ember.ones(2), None, None, 2)
        tensor(1.3863)
    """
    r = _reduction(reduction, "binary_cross_entropy_with_logits")
    return _F().binary_cross_entropy_with_logits(input, target, weight, reduction=r,
                                                 pos_weight=pos_weight)


def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *,
           log_target: bool = False) -> Tensor:
    """KL divergence with ``input`` as log-probabilities; ``reduction`` 0 none, 1 mean (over
    every element, without functional's warning), 2 sum.

    Example:
        >>> ember.kl_div(ember.zeros(2), ember.ones(2), 2)
        tensor(0.)
    """
    r = _reduction(reduction, "kl_div")
    loss = _F().kl_div(input, target, reduction="none", log_target=log_target)
    return loss.mean() if r == "mean" else loss.sum() if r == "sum" else loss


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``; ``reduction`` 0 none, 1 mean, 2 sum.

    Example:
        >>> ember.margin_ranking_loss(ember.tensor([1.0]), ember.tensor([2.0]), ember.ones(1))
        tensor([1.])
    """
    r = _reduction(reduction, "margin_ranking_loss")
    return _F().margin_ranking_loss(input1, input2, target, margin, reduction=r)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction: int = 0) -> Tensor:
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1.

    Example:
        >>> ember.hinge_embedding_loss(ember.tensor([0.3, 0.3]), ember.tensor([1.0, -1.0]))
        tensor([0.3000, 0.7000])
    """
    r = _reduction(reduction, "hinge_embedding_loss")
    return _F().hinge_embedding_loss(input, target, margin, reduction=r)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    """``1 - cos`` where ``target`` is 1, ``max(0, cos - margin)`` where it is -1.

    Example:
        >>> x = ember.tensor([[1.0, 0.0]])
        >>> ember.cosine_embedding_loss(x, x, ember.tensor([1.0]))
        tensor([0.])
    """
    r = _reduction(reduction, "cosine_embedding_loss")
    return _F().cosine_embedding_loss(input1, input2, target, margin, reduction=r)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                        reduction: int = 0) -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with pairwise p-norm distances.

    Example:
        >>> a = ember.zeros(1, 2)
        >>> ember.triplet_margin_loss(a, a, a + 3.0)
        tensor([0.])
    """
    r = _reduction(reduction, "triplet_margin_loss")
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                    reduction=r)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """Poisson negative log likelihood; every argument is required, as in ATen.

    Example:
        >>> ember.poisson_nll_loss(ember.zeros(2), ember.ones(2), True, False, 1e-8, 2)
        tensor(2.)
    """
    r = _reduction(reduction, "poisson_nll_loss")
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=r)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: int = 0, zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification loss; the lengths are int lists or tensors, and
    ``reduction`` 1 divides each loss by its target length before the batch mean.

    Example:
        >>> lp = ember.zeros(3, 1, 2).log_softmax(2)
        >>> ember.ctc_loss(lp, ember.tensor([[1]]), [3], [1]).shape
        torch.Size([1])
    """
    r = _reduction(reduction, "ctc_loss")
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, r,
                         zero_infinity)


# -- activations ----------------------------------------------------------------------------

def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x1^T W x2 + b`` for each output feature.

    Example:
        >>> ember.bilinear(ember.ones(1, 2), ember.ones(1, 3), ember.ones(4, 2, 3)).shape
        torch.Size([1, 4])
    """
    return _F().bilinear(input1, input2, weight, bias)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Example:
        >>> ember.celu(ember.tensor([1.0, 0.0]))
        tensor([1., 0.])
    """
    return _F().celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`.

    Example:
        >>> ember.celu_(ember.tensor([2.0]))
        tensor([2.])
    """
    return _F().celu_(input, alpha)


def selu(input: Tensor) -> Tensor:
    """Scaled ELU with the self-normalizing constants.

    Example:
        >>> ember.selu(ember.tensor([0.0]))
        tensor([0.])
    """
    return _F().selu(input)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`.

    Example:
        >>> ember.selu_(ember.tensor([0.0]))
        tensor([0.])
    """
    return _F().selu_(input)


def _rrelu(input: Tensor, lower, upper, training: bool, generator) -> Tensor:
    F = _F()
    if lower > upper:  # PyTorch checks the bounds in evaluation too
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    F._kernel_dtype(input, "rrelu_with_noise_out_cpu" if training else "leaky_relu_cpu")
    if not training:  # the mean slope; torch's node is the noise kernel's in both modes
        return set_node_name(F.leaky_relu(input, (lower + upper) / 2), "RreluWithNoiseBackward0")
    x = input._data
    slope = _random.rrelu_slopes(_random._gen(generator), to_numpy(x), lower, upper)
    d = get_array_module(x).where(x > 0, x.dtype.type(1), asarray_like(slope, x))
    return set_node_name(input * Tensor._make(d, input._dtype), "RreluWithNoiseBackward0")


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          generator=None) -> Tensor:
    """Randomized leaky ReLU: negative inputs get a slope drawn from ``[lower, upper]`` when
    ``training`` (from ``generator``), else the mean slope.

    Example:
        >>> ember.rrelu(ember.tensor([-8.0, 1.0]), 0.25, 0.25)
        tensor([-2.,  1.])
    """
    return _rrelu(input, lower, upper, training, generator)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
           generator=None) -> Tensor:
    """In-place :func:`rrelu`.

    Example:
        >>> ember.rrelu_(ember.tensor([-8.0, 1.0]), 0.25, 0.25)
        tensor([-2.,  1.])
    """
    out = apply_inplace(input, _rrelu(input, lower, upper, training, generator), "rrelu_")
    return set_node_name(out, "RreluWithNoiseBackward1")


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``max(0, x) + weight * min(0, x)`` with one learned slope per channel (dim 1).

    Example:
        >>> ember.prelu(ember.tensor([[-2.0, 3.0]]), ember.tensor([0.5]))
        tensor([[-1.,  3.]])
    """
    return _F().prelu(input, weight)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0.

    Example:
        >>> ember.hardshrink(ember.tensor([0.2, -1.0]), 0.5)
        tensor([ 0., -1.])
    """
    return _hardshrink(input, lambd)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``.

    Example:
        >>> ember.threshold(ember.tensor([0.5, 2.0]), 1.0, 9.0)
        tensor([9., 2.])
    """
    return _F().threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`.

    Example:
        >>> ember.threshold_(ember.tensor([0.5, 2.0]), 1.0, 9.0)
        tensor([9., 2.])
    """
    return _F().threshold_(input, threshold, value)


# -- dropout (ATen's ``(input, p, train)``) ---------------------------------------------------

def _check_p(p: float) -> None:
    # ATen raises RuntimeError here where nn.functional raises ValueError
    if p < 0.0 or p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout that keeps SELU's zero mean and unit variance (when ``train``).

    Example:
        >>> ember.alpha_dropout(ember.ones(2), 0.5, False)
        tensor([1., 1.])
    """
    _check_p(p)
    return _F().alpha_dropout(input, p, train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`alpha_dropout`.

    Example:
        >>> ember.alpha_dropout_(ember.ones(2), 0.5, False)
        tensor([1., 1.])
    """
    _check_p(p)
    return _F().alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout of whole channels (dim 1 of an input of 2 or more dims).

    Example:
        >>> ember.feature_alpha_dropout(ember.ones(1, 2), 0.5, False)
        tensor([[1., 1.]])
    """
    _check_p(p)
    return _F().feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`feature_alpha_dropout`.

    Example:
        >>> ember.feature_alpha_dropout_(ember.ones(1, 2), 0.5, False)
        tensor([[1., 1.]])
    """
    _check_p(p)
    return _F().feature_alpha_dropout(input, p, train, inplace=True)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zero whole channels (dim 1) with probability ``p``, scaling the rest by ``1/(1-p)``.

    Example:
        >>> ember.feature_dropout(ember.ones(1, 2), 0.5, False)
        tensor([[1., 1.]])
    """
    from ...nn._functional_dropout import _feature_dropout

    _check_p(p)
    return _feature_dropout(input, p, train, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`feature_dropout`.

    Example:
        >>> ember.feature_dropout_(ember.ones(1, 2), 0.5, False)
        tensor([[1., 1.]])
    """
    from ...nn._functional_dropout import _feature_dropout

    _check_p(p)
    return _feature_dropout(input, p, train, True)


def native_dropout(input: Tensor, p: float, train: bool | None):
    """``(output, mask)``: dropout's result and the bool mask of kept elements. With ``train``
    False the output is a copy and the mask all True (``None`` counts as training).

    Example:
        >>> out, mask = ember.native_dropout(ember.ones(3), 0.0, True)
        >>> out, mask
        (tensor([1., 1., 1.]), tensor([True, True, True]))
    """
    e = _ember()
    if train is not None and not train:
        return input.clone(), e.ones_like(input, dtype=e.bool)
    if p < 0.0 or p > 1.0:
        # ATen draws the mask with bernoulli_(1 - p)
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={1 - p}")
    keep = _random._gen(None).bernoulli(1.0 - p, tuple(input.shape))
    mask = Tensor._make(asarray_like(keep, input._data), D.bool)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return input * mask * scale, mask


# -- normalization (with the saved statistics) ----------------------------------------------

def native_layer_norm(input: Tensor, normalized_shape, weight: Tensor | None,
                      bias: Tensor | None, eps: float):
    """``(output, mean, rstd)`` of layer norm over the trailing ``normalized_shape`` dims;
    ``mean`` and ``rstd`` keep those dims as size 1 and carry no gradient.

    Example:
        >>> out, mean, rstd = ember.native_layer_norm(ember.ones(2, 3), [3], None, None, 1e-5)
        >>> mean.shape, rstd.shape
        (torch.Size([2, 1]), torch.Size([2, 1]))
    """
    out = _F().layer_norm(input, normalized_shape, weight, bias, eps)
    dims = tuple(range(input.ndim - len(tuple(normalized_shape)), input.ndim))
    mean, rstd = _stats(input.detach(), dims, eps, keepdim=True)
    return out, mean, rstd


def _stats(x: Tensor, dims, eps: float, keepdim: bool):
    """Mean and ``1 / sqrt(biased var + eps)`` over ``dims``."""
    mean = x.mean(dim=dims, keepdim=keepdim)
    var = x.var(dim=dims, unbiased=False, keepdim=keepdim)
    return mean, (var + eps).rsqrt()


def native_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                      running_mean: Tensor | None, running_var: Tensor | None, training: bool,
                      momentum: float, eps: float):
    """``(output, save_mean, save_invstd)`` of batch norm; in training the batch's per-channel
    mean and ``1/sqrt(var + eps)`` (running statistics updated), in eval two empty tensors.

    Example:
        >>> out, m, s = ember.native_batch_norm(ember.ones(2, 3), None, None, None, None,
        ...                                     True, 0.1, 1e-5)
        >>> m.shape
        torch.Size([3])
    """
    if not training and (running_mean is None or running_var is None):
        # torch crashes here; refuse instead
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    out = _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                          eps)
    if not training:
        empty = input.new_empty((0,))
        return out, empty, empty.clone()
    dims = (0,) + tuple(range(2, input.ndim))
    mean, invstd = _stats(input.detach(), dims, eps, keepdim=False)
    return out, mean, invstd


def native_group_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, N: int, C: int,
                      HxW: int, group: int, eps: float):
    """``(output, mean, rstd)`` of group norm; ``mean`` and ``rstd`` have shape
    ``(N, group)`` and, as in ATen, are differentiable.

    Example:
        >>> out, mean, rstd = ember.native_group_norm(ember.ones(2, 4, 3), None, None,
        ...                                           2, 4, 3, 2, 1e-5)
        >>> mean.shape
        torch.Size([2, 2])
    """
    if input.numel() != N * C * HxW:
        raise RuntimeError(f"Expected input to have {N * C * HxW} elements (N * C * HxW), "
                           f"but got {input.numel()}")
    out = _F().group_norm(input, group, weight, bias, eps)
    mean, rstd = _stats(input.reshape(N, group, -1), (2,), eps, keepdim=False)
    return out, mean, rstd


def native_norm(input: Tensor, p=2, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """ATen's ``native_norm``, kept only for sparse tensors: on a dense CPU tensor it has no
    kernel and raises NotImplementedError, as PyTorch's does.

    Example:
        >>> ember.native_norm(ember.tensor([[3.0, 0.0], [0.0, 4.0]]).to_sparse())
        tensor(5.)
    """
    name = "aten::native_norm" if dim is None else "aten::native_norm.ScalarOpt_dim_dtype"
    if not getattr(input, "is_sparse", False):
        raise NotImplementedError(f"Could not run '{name}' with arguments from the "
                                  f"'{input.device.type.upper()}' backend. '{name}' is only "
                                  "available for sparse backends.")
    if dim is not None and {d % input.ndim for d in dim} != set(range(input.ndim)):
        raise RuntimeError("norm_sparse currently only supports full reductions, so 'dim' must "
                           "either be empty or contain all dimensions of the input")
    values = input.coalesce().values()
    return _ember().linalg.vector_norm(values, 2 if p is None else p, dtype=dtype)


def frobenius_norm(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """The 2-norm over one or two dims (deprecated in PyTorch: it warns once, as torch does).

    Example:
        >>> ember.frobenius_norm(ember.tensor([[3.0, 4.0]]), [1])
        tensor([5.])
    """
    dim = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dim) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dim)} dimensions "
                           "instead.")
    warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. "
                  "It will be removed in a future PyTorch release. Please use "
                  "`linalg.vector_norm(A, 2., dim, keepdim)` instead", UserWarning, stacklevel=2)
    return _ember().linalg.vector_norm(input, 2.0, dim, keepdim)


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Sum of singular values over ``dim`` (default the last two dims); called as
    ``nuclear_norm(input, keepdim)`` too, as in torch. Deprecated in PyTorch: it warns.

    Example:
        >>> ember.nuclear_norm(ember.eye(3))
        tensor(3.)
    """
    if isinstance(dim, bool):  # the (input, keepdim) overload
        dim, keepdim = None, dim
    warnings.warn("at::nuclear_norm is deprecated and it is just left for JIT compatibility. "
                  "It will be removed in a future PyTorch release. Please use "
                  "`linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead", UserWarning,
                  stacklevel=2)
    dim = (-2, -1) if dim is None else tuple(dim)
    return _ember().linalg.matrix_norm(input, "nuc", dim, keepdim)


def norm_except_dim(v: Tensor, pow: int = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm over every dim but ``dim``, kept as size-1 dims (weight norm's ``g``);
    ``dim=-1`` gives the norm of the whole tensor.

    Example:
        >>> ember.norm_except_dim(ember.tensor([[3.0, 4.0], [0.0, 1.0]]), 2, 0)
        tensor([[5.],
                [1.]])
    """
    if not isinstance(pow, int) or isinstance(pow, bool):
        raise TypeError(f"norm_except_dim(): argument 'pow' (position 2) must be int, not "
                        f"{type(pow).__name__}")
    e = _ember()
    if dim == -1:
        return e.linalg.vector_norm(v, pow)
    from .._core import wrap_dim

    dim = wrap_dim(dim, v.ndim)
    others = tuple(d for d in range(v.ndim) if d != dim)
    if not others:  # a 1-D v: each entry is its own slice (an empty dim list would mean "all")
        return e.linalg.vector_norm(v.unsqueeze(-1), pow, -1)
    return e.linalg.vector_norm(v, pow, others, keepdim=True)


# -- padding, convolution, sampling ---------------------------------------------------------

def constant_pad_nd(input: Tensor, pad, value: float = 0) -> Tensor:
    """Pad (or, with negative sizes, crop) the last dims by ``pad``, given last dim first as
    ``(left, right, top, bottom, ...)``, with ``value``.

    Example:
        >>> ember.constant_pad_nd(ember.ones(1, 2), [1, 0], 5.0)
        tensor([[5., 1., 1.]])
    """
    if len(pad) % 2:
        raise RuntimeError(f"Length of pad must be even but instead it equals {len(pad)}")
    return _F().pad(input, list(pad), "constant", value)


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation,
                transposed: bool, output_padding, groups: int) -> Tensor:
    """ATen's generic convolution: 1-, 2- or 3-d after ``weight``'s rank, transposed or not.

    Example:
        >>> ember.convolution(ember.ones(1, 1, 4), ember.ones(1, 1, 2), None, [1], [0], [1],
        ...                   False, [0], 1)
        tensor([[[2., 2., 2.]]])
    """
    from . import conv

    nd = weight.ndim - 2
    if nd not in (1, 2, 3):
        raise RuntimeError(f"Expected 3D, 4D or 5D weight for convolution, but got weight of "
                           f"size {list(weight.shape)}")
    if transposed:
        fn = getattr(conv, f"conv_transpose{nd}d")
        return fn(input, weight, bias, _expand(stride, nd), _expand(padding, nd),
                  _expand(output_padding, nd), groups, _expand(dilation, nd))
    fn = getattr(conv, f"conv{nd}d")
    return fn(input, weight, bias, _expand(stride, nd), _expand(padding, nd),
              _expand(dilation, nd), groups)


def _expand(v, nd: int):
    """ATen repeats a one-element size list over every spatial dim."""
    v = [v] if isinstance(v, int) else list(v)
    return v * nd if len(v) == 1 else v


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """1-d convolution of a (time, batch, channel) input with a (kernel, in, out) weight.

    Example:
        >>> ember.conv_tbc(ember.ones(4, 1, 2), ember.ones(3, 2, 1), ember.zeros(1)).shape
        torch.Size([2, 1, 1])
    """
    if input.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.ndim != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    out = _F().conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


def affine_grid_generator(theta: Tensor, size, align_corners: bool) -> Tensor:
    """The sampling grid of the affine maps ``theta`` for an output of ``size``.

    Example:
        >>> theta = ember.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
        >>> ember.affine_grid_generator(theta, [1, 1, 2, 2], False).shape
        torch.Size([1, 2, 2, 2])
    """
    _check_bool(align_corners, "affine_grid_generator", 3)
    return _F().affine_grid(theta, list(size), align_corners)


def _check_bool(v, name: str, pos: int) -> None:
    if not isinstance(v, bool):
        raise TypeError(f"{name}(): argument 'align_corners' (position {pos}) must be bool, "
                        f"not {type(v).__name__}")


_INTERPOLATION = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")


def _grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners, name):
    _check_bool(align_corners, name, 5)
    # torch reads an unknown mode as garbage memory; refuse it
    if interpolation_mode not in range(3):
        raise RuntimeError(f"{name}(): interpolation_mode must be 0 (bilinear), 1 (nearest) "
                           f"or 2 (bicubic), but got {interpolation_mode}")
    if padding_mode not in range(3):
        raise RuntimeError(f"{name}(): padding_mode must be 0 (zeros), 1 (border) or "
                           f"2 (reflection), but got {padding_mode}")
    return _F().grid_sample(input, grid, _INTERPOLATION[interpolation_mode],
                            _PADDING[padding_mode], align_corners)


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                 align_corners: bool) -> Tensor:
    """``grid_sample`` with integer modes: interpolation 0 bilinear, 1 nearest, 2 bicubic;
    padding 0 zeros, 1 border, 2 reflection.

    Example:
        >>> ember.grid_sampler(ember.ones(1, 1, 2, 2), ember.zeros(1, 1, 1, 2), 0, 0, False)
        tensor([[[[1.]]]])
    """
    return _grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners,
                         "grid_sampler")


def grid_sampler_2d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """:func:`grid_sampler` for 4-D inputs only.

    Example:
        >>> ember.grid_sampler_2d(ember.ones(1, 1, 2, 2), ember.zeros(1, 1, 1, 2), 0, 0, False)
        tensor([[[[1.]]]])
    """
    if input.ndim != 4 or grid.ndim != 4:
        raise RuntimeError(f"grid_sampler(): expected 4D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid "
                           f"with sizes {list(grid.shape)}")
    return _grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners,
                         "grid_sampler_2d")


def grid_sampler_3d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """:func:`grid_sampler` for 5-D inputs only (no bicubic).

    Example:
        >>> ember.grid_sampler_3d(ember.ones(1, 1, 2, 2, 2), ember.zeros(1, 1, 1, 1, 3),
        ...                       0, 0, False).shape
        torch.Size([1, 1, 1, 1, 1])
    """
    if input.ndim != 5 or grid.ndim != 5:
        raise RuntimeError(f"grid_sampler(): expected 5D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid "
                           f"with sizes {list(grid.shape)}")
    if interpolation_mode == 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    return _grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners,
                         "grid_sampler_3d")


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float,
                      norm_type: float) -> Tensor:
    """Rescale, in place and outside autograd, the rows of ``input`` named in ``indices`` whose
    ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm``; returns ``input``.

    Example:
        >>> w = ember.tensor([[3.0, 4.0], [0.3, 0.4]])
        >>> ember.embedding_renorm_(w, ember.tensor([0, 1]), 1.0, 2.0)
        tensor([[0.6000, 0.8000],
                [0.3000, 0.4000]])
    """
    from ...nn._functional_embedding import _renorm_rows

    if indices._dtype not in (D.int64, D.int32):
        raise RuntimeError(f"Expected tensor for argument #2 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {indices.type()} instead "
                           "(while checking arguments for embedding_renorm_)")
    _renorm_rows(input, indices._data.reshape(-1), max_norm, norm_type)
    return input


# -- recurrent cells ------------------------------------------------------------------------

def _gates(input, hx, w_ih, w_hh, b_ih, b_hh):
    F = _F()
    return F.linear(input, w_ih, b_ih), F.linear(hx, w_hh, b_hh)


def lstm_cell(input: Tensor, hx, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None):
    """One LSTM step: ``(h', c')`` from ``input`` and ``hx = (h, c)``; gates ``[i, f, g, o]``.

    Example:
        >>> h, c = ember.zeros(1, 2), ember.zeros(1, 2)
        >>> [t.shape for t in ember.lstm_cell(ember.ones(1, 3), (h, c), ember.ones(8, 3),
        ...                                   ember.ones(8, 2))]
        [torch.Size([1, 2]), torch.Size([1, 2])]
    """
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    h, c = hx
    gi, gh = _gates(input, h, w_ih, w_hh, b_ih, b_hh)
    i, f, g, o = (gi + gh).chunk(4, 1)
    c2 = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c2.tanh(), c2


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """One GRU step: gates ``[r, z, n]``, ``h' = (1 - z) * n + z * h``.

    Example:
        >>> ember.gru_cell(ember.ones(1, 3), ember.zeros(1, 2), ember.ones(6, 3),
        ...                ember.ones(6, 2)).shape
        torch.Size([1, 2])
    """
    gi, gh = _gates(input, hx, w_ih, w_hh, b_ih, b_hh)
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (hx - n)


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step: ``tanh(W_ih x + b_ih + W_hh h + b_hh)``.

    Example:
        >>> ember.rnn_tanh_cell(ember.zeros(1, 3), ember.zeros(1, 2), ember.ones(2, 3),
        ...                     ember.ones(2, 2))
        tensor([[0., 0.]])
    """
    gi, gh = _gates(input, hx, w_ih, w_hh, b_ih, b_hh)
    return (gi + gh).tanh()


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step with ReLU: ``relu(W_ih x + b_ih + W_hh h + b_hh)``.

    Example:
        >>> ember.rnn_relu_cell(ember.ones(1, 3), ember.zeros(1, 2), ember.ones(2, 3),
        ...                     ember.ones(2, 2))
        tensor([[3., 3.]])
    """
    gi, gh = _gates(input, hx, w_ih, w_hh, b_ih, b_hh)
    return _F().relu(gi + gh)


# -- whole recurrent layers (ATen's multi-layer forms) --------------------------------------

@functools.cache
def _runner_class():
    """nn.RNNBase's layer loops, run over ATen's flat parameter list instead of a module's
    named parameters (nn imports this package, so the class is built on first use)."""
    from ...nn.modules.rnn import RNNBase

    class Runner:
        _run, _run_packed, _layer = RNNBase._run, RNNBase._run_packed, RNNBase._layer

        def __init__(self, mode, params, has_biases, num_layers, dropout, train,
                     bidirectional, proj):
            self.mode, self.bias, self.num_layers = mode, has_biases, num_layers
            self.dropout, self.training, self.bidirectional = dropout, train, bidirectional
            self.proj_size = 1 if proj else 0
            self.per = 2 + 2 * bool(has_biases) + bool(proj)
            params = list(params)
            if len(params) % self.per:
                raise RuntimeError(f"MatrixRef: ArrayRef size {len(params)} not divisible by "
                                   f"stride {self.per}")
            if len(params) != self.per * num_layers * (2 if bidirectional else 1):
                raise RuntimeError(f"{mode.lower()}: expected {num_layers} layers of "
                                   f"{self.per} parameters per direction, got {len(params)} "
                                   "parameters")
            self.params = params

        def _weights(self, layer: int, d: int):
            k = (layer * (2 if self.bidirectional else 1) + d) * self.per
            p = self.params[k:k + self.per]
            b_ih, b_hh = (p[2], p[3]) if self.bias else (None, None)
            return p[0], p[1], b_ih, b_hh, (p[-1] if self.proj_size else None)

    return Runner


def _rnn(mode, input, batch_sizes, hx, params, has_biases, num_layers, dropout, train,
         bidirectional, batch_first):
    _check_p(dropout)
    dirs = 2 if bidirectional else 1
    if mode == "LSTM":
        if len(hx) != 2:
            raise RuntimeError("lstm expects two hidden states")
        h0, c0 = hx
        proj = h0.shape[-1] != c0.shape[-1]
    else:
        h0, c0, proj = hx, None, False
    runner = _runner_class()(mode, params, has_biases, num_layers, dropout, train,
                             bidirectional, proj)
    if batch_sizes is None and input.ndim != 3:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-input.ndim}, {input.ndim - 1}], but got 2)")
    for h in (h0,) if c0 is None else (h0, c0):
        if h.ndim != 3 or h.shape[0] != num_layers * dirs:
            raise RuntimeError(f"Expected hidden size ({num_layers * dirs}, *, *), got "
                               f"{list(h.shape)}")
    if batch_sizes is not None:
        out, h, c = runner._run_packed(input, batch_sizes._data, h0, c0)
        return (out, h, c) if mode == "LSTM" else (out, h)
    x = input.transpose(0, 1) if batch_first else input
    out, h, c = runner._run(x, h0, c0)
    out = out.transpose(0, 1) if batch_first else out
    return (out, h, c) if mode == "LSTM" else (out, h)


def lstm(input: Tensor, hx, params, has_biases: bool, num_layers: int, dropout: float,
         train: bool, bidirectional: bool, batch_first: bool):
    """ATen's multi-layer LSTM over a 3-D ``input``, ``hx = (h0, c0)`` and the flat
    ``params`` list (per layer and direction ``w_ih, w_hh[, b_ih, b_hh][, w_hr]``): returns
    ``(output, h_n, c_n)``. The packed form ``lstm(data, batch_sizes, hx, params,
    has_biases, num_layers, dropout, train, bidirectional)`` runs packed ``data``.

    Example:
        >>> m = ember.nn.LSTM(3, 4)
        >>> h = ember.zeros(1, 2, 4)
        >>> [t.shape for t in ember.lstm(ember.ones(5, 2, 3), (h, h), m._flat_weights, True, 1,
        ...                               0.0, False, False, False)]
        [torch.Size([5, 2, 4]), torch.Size([1, 2, 4]), torch.Size([1, 2, 4])]
    """
    if isinstance(hx, Tensor):  # lstm.data: (data, batch_sizes, hx, params, ...)
        return _rnn("LSTM", input, hx, params, has_biases, num_layers, dropout, train,
                    bidirectional, batch_first, False)
    return _rnn("LSTM", input, None, hx, params, has_biases, num_layers, dropout, train,
                bidirectional, batch_first)


def _rnn_form(mode: str):
    def form(input: Tensor, hx, params, has_biases: bool, num_layers: int, dropout: float,
             train: bool, bidirectional: bool, batch_first: bool):
        if isinstance(params, Tensor):  # the .data form: (data, batch_sizes, hx, params, ...)
            return _rnn(mode, input, hx, params, has_biases, num_layers, dropout, train,
                        bidirectional, batch_first, False)
        return _rnn(mode, input, None, hx, params, has_biases, num_layers, dropout, train,
                    bidirectional, batch_first)

    return form


_gru, _rnn_tanh, _rnn_relu = _rnn_form("GRU"), _rnn_form("RNN_TANH"), _rnn_form("RNN_RELU")


def gru(input: Tensor, hx, params, has_biases: bool, num_layers: int, dropout: float,
        train: bool, bidirectional: bool, batch_first: bool):
    """ATen's multi-layer GRU: ``(output, h_n)`` from a 3-D ``input``, ``hx`` and the flat
    ``params``; ``gru(data, batch_sizes, hx, params, ...)`` is the packed form.

    Example:
        >>> m = ember.nn.GRU(3, 4)
        >>> out, h = ember.gru(ember.ones(5, 2, 3), ember.zeros(1, 2, 4), m._flat_weights,
        ...                    True, 1, 0.0, False, False, False)
        >>> out.shape, h.shape
        (torch.Size([5, 2, 4]), torch.Size([1, 2, 4]))
    """
    return _gru(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                batch_first)


def rnn_tanh(input: Tensor, hx, params, has_biases: bool, num_layers: int, dropout: float,
             train: bool, bidirectional: bool, batch_first: bool):
    """ATen's multi-layer Elman RNN with tanh: ``(output, h_n)``; see :func:`gru`.

    Example:
        >>> m = ember.nn.RNN(3, 4)
        >>> ember.rnn_tanh(ember.ones(5, 2, 3), ember.zeros(1, 2, 4), m._flat_weights, True,
        ...                1, 0.0, False, False, False)[0].shape
        torch.Size([5, 2, 4])
    """
    return _rnn_tanh(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                     batch_first)


def rnn_relu(input: Tensor, hx, params, has_biases: bool, num_layers: int, dropout: float,
             train: bool, bidirectional: bool, batch_first: bool):
    """ATen's multi-layer Elman RNN with ReLU: ``(output, h_n)``; see :func:`gru`.

    Example:
        >>> m = ember.nn.RNN(3, 4, nonlinearity="relu")
        >>> ember.rnn_relu(ember.ones(5, 2, 3), ember.zeros(1, 2, 4), m._flat_weights, True,
        ...                1, 0.0, False, False, False)[1].shape
        torch.Size([1, 2, 4])
    """
    return _rnn_relu(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                     batch_first)


# -- embedding bags, segments ---------------------------------------------------------------

_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor,
                  scale_grad_by_freq: bool = False, mode: int = 0, sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None):
    """ATen's embedding bag (weight first; ``mode`` 0 sum, 1 mean, 2 max): returns
    ``(output, offset2bag, bag_size, max_indices)`` as PyTorch's CPU kernel does, with
    ``offset2bag`` empty on its fast sum path (float weights, no ``padding_idx``). A negative
    ``padding_idx`` counts from the end.

    Example:
        >>> w = ember.arange(6.0).reshape(3, 2)
        >>> out, bags, size, idx = ember.embedding_bag(w, ember.tensor([0, 2, 1]),
        ...                                            ember.tensor([0, 2]), False, 1)
        >>> out, size
        (tensor([[2., 3.],
                [2., 3.]]), tensor([2, 1]))
    """
    from ..._backend import to_numpy

    if mode not in (0, 1, 2) or isinstance(mode, bool):
        raise RuntimeError("`mode` must be sum, mean, or max.")
    if indices._dtype not in (D.int64, D.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {indices.type()} instead "
                           "(while checking arguments for embedding_bag)")
    if offsets.ndim != 1:
        raise RuntimeError(f"offsets has to be a 1D Tensor, but got Tensor of dimension "
                           f"{offsets.ndim}")
    if indices.ndim != 1:
        raise RuntimeError(f"input has to be a 1D Tensor, but got Tensor of dimension "
                           f"{indices.ndim}")
    idx, off = to_numpy(indices._data).astype(np.int64), to_numpy(offsets._data).astype(np.int64)
    n = idx.size
    if off.size and off[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {off[0]}")
    if off.size and off[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                           f"offsets[-1] of {off[-1]}")
    if per_sample_weights is not None and mode != 0:
        raise RuntimeError("embedding_bag: per_sample_weights only supported with mode='sum'")
    pad = padding_idx
    if pad is not None and pad < 0:  # ATen wraps a negative padding_idx
        pad += weight.shape[0]
    out = _F().embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq,
                             mode=_BAG_MODES[mode], sparse=sparse,
                             per_sample_weights=per_sample_weights,
                             include_last_offset=include_last_offset, padding_idx=pad)
    bags = off.size - 1 if include_last_offset else off.size
    offset2bag = np.searchsorted(off[:bags], np.arange(n), side="right") - 1
    keep = idx != pad if pad is not None else np.ones(n, bool)
    sizes = np.bincount(offset2bag[keep], minlength=bags).astype(np.int64)[:bags]
    if mode == 2:
        rows = to_numpy(weight.detach()._data)[idx]  # (n, dim)
        max_idx = np.zeros((bags, weight.shape[1]), np.int64)
        for b in range(bags):
            sel = np.flatnonzero((offset2bag == b) & keep)
            if sel.size:  # the first maximum, as PyTorch's kernel keeps
                max_idx[b] = idx[sel][np.argmax(rows[sel], axis=0)]
    else:
        max_idx = sizes if mode == 1 else np.zeros(off.size, np.int64)
    fast = mode == 0 and pad is None and weight._dtype in (D.float32, D.float16, D.bfloat16)
    if fast:
        offset2bag = offset2bag[:0]
    if mode == 0:
        sizes = np.zeros(off.size, np.int64)

    def wrap(a):
        return Tensor._make(asarray_like(np.ascontiguousarray(a, np.int64), weight._data),
                            D.int64)

    return out, wrap(offset2bag), wrap(sizes), wrap(max_idx)


_SEGMENT_REDUCTIONS = ("sum", "prod", "mean", "max", "min", "amax", "amin")


def _segments(data: Tensor, axis: int, lengths, offsets, unsafe: bool):
    """Host arrays ``(starts, lengths)``, each shaped ``data.shape[:axis] + (segments,)``."""
    from ..._backend import to_numpy

    given = offsets if offsets is not None else lengths
    kind = "offsets" if offsets is not None else "lengths"
    if axis != given.ndim - 1:
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of {kind} "
                           f"but got {axis}.")
    if given._dtype not in (D.int64, D.int32):
        raise _random._not_implemented(f"_segment_reduce_{kind}_cpu_kernel1", given._dtype)
    if tuple(given.shape[:-1]) != tuple(data.shape[:axis]):
        raise RuntimeError(f"segment_reduce(): Expected {kind} of shape "
                           f"{list(data.shape[:axis])} + [segments], got {list(given.shape)}")
    arr = to_numpy(given._data).astype(np.int64)
    if offsets is not None:
        lens, starts = np.diff(arr, axis=-1), arr[..., :-1]
        if (lens < 0).any():
            raise RuntimeError("Expected segment_length >= 0 to be true, but got false.")
        return starts, lens
    if arr.size == 0:
        raise RuntimeError("min(): Expected reduction dim to be specified for input.numel() == "
                           "0. Specify the reduction dim with the 'dim' argument.")
    if (arr < 0).any():
        raise RuntimeError("lengths contains negative value!")
    if not unsafe and (arr.sum(-1) != data.shape[axis]).any():
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                           "data.size(lengths.dim()-1) when !unsafe.")
    return np.cumsum(arr, -1) - arr, arr


def segment_reduce(data: Tensor, reduce: str, *, lengths: Tensor | None = None,
                   indices: Tensor | None = None, offsets: Tensor | None = None, axis: int = 0,
                   unsafe: bool = False, initial=None) -> Tensor:
    """Reduce consecutive segments of ``data`` along ``axis`` with ``"sum"``, ``"prod"``,
    ``"mean"``, ``"max"``/``"amax"`` or ``"min"``/``"amin"``. Segments are given by
    ``lengths`` or ``offsets`` (which wins when both are given), shaped
    ``data.shape[:axis] + (segments,)``. ``initial`` joins every segment's reduction (an empty
    segment gives it; without it: 0, 1, nan, -inf or inf).

    Example:
        >>> ember.segment_reduce(ember.tensor([1.0, 5.0, 2.0, 3.0]), "max",
        ...                      lengths=ember.tensor([2, 0, 2]))
        tensor([5., -inf, 3.])
    """
    from .._core import wrap_dim

    if reduce not in _SEGMENT_REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if lengths is None and offsets is None:
        if indices is not None:
            raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    if data._dtype.category != D._FLOAT:
        raise _random._not_implemented("_segment_reduce_cpu", data._dtype)
    axis = wrap_dim(axis, data.ndim)
    starts, lens = _segments(data, axis, lengths, offsets, unsafe)
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)
    width = max(int(lens.max()) if lens.size else 0, 1)
    pos = np.arange(width)
    mask = pos < lens[..., None]  # (*lead, segments, width): which slots hold data
    trail = (1,) * (data.ndim - axis - 1)
    fill = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "amax": -np.inf, "amin": np.inf}[reduce]
    if data.shape[axis] == 0:  # no rows to gather: every segment is empty
        shape = (*lens.shape, *data.shape[axis + 1:])
        vals = _ember().full(shape, fill, dtype=data.dtype, device=data.device)
    else:
        idx = np.minimum(np.where(mask, starts[..., None] + pos, 0), data.shape[axis] - 1)
        flat = idx.reshape(*lens.shape[:-1], -1, *trail)
        index = Tensor._make(asarray_like(flat, data._data), D.int64)
        index = index.expand(*flat.shape[:axis + 1], *data.shape[axis + 1:])
        rows = data.gather(axis, index).reshape(*lens.shape, width, *data.shape[axis + 1:])
        keep = Tensor._make(asarray_like(mask.reshape(*mask.shape, *trail), data._data), D.bool)
        rows = rows.masked_fill(~keep, fill)
        vals = {"sum": rows.sum, "mean": rows.sum, "prod": rows.prod, "amax": rows.amax,
                "amin": rows.amin}[reduce](axis + 1)
    if reduce == "mean":
        count = Tensor._make(asarray_like(lens.reshape(*lens.shape, *trail), data._data),
                             D.int64)
        total = vals if initial is None else vals + initial
        out = total / count
        return out if initial is None else out.masked_fill(count == 0, initial)
    if initial is None:
        return vals
    if reduce == "sum":
        return vals + initial
    if reduce == "prod":
        return vals * initial
    e = _ember()
    init = e.full_like(vals, initial)
    # where() sends the whole gradient to the data when it wins or ties, as PyTorch's kernel
    return e.where(vals < initial, init, vals) if reduce == "amax" else \
        e.where(vals > initial, init, vals)


# -- SyncBatchNorm's statistics (batch_norm_stats ... batch_norm_backward_elemt) ---------------
# PyTorch runs these on GPUs only (batch_norm_update_stats also on the CPU); ember computes
# what its kernels compute, on any device. Statistics are per channel (dim 1), accumulated in
# float32 for float16/bfloat16 inputs. None is differentiable: as in PyTorch, outputs of inputs
# that require grad carry a node whose backward raises.

class _NoDerivative(Op):
    """Outputs computed elsewhere, recorded behind PyTorch's ``NotImplemented`` node."""

    @staticmethod
    def forward(ctx, *inputs, outputs, aten):
        ctx._aten = aten
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(f"derivative for aten::{ctx._aten} is not implemented")


def _no_derivative(aten: str, inputs, outputs):
    """``outputs`` (a tuple, Nones allowed), behind a refusing node when grad mode is on and an
    input requires grad."""
    from ...autograd import grad_mode

    tensors = [t for t in inputs if isinstance(t, Tensor)]
    if not (grad_mode._state.enabled and any(t.requires_grad for t in tensors)):
        return outputs
    present = [o for o in outputs if o is not None]
    if not any(o._dtype.category in (D._FLOAT, D._COMPLEX) for o in present):
        return outputs
    wrapped = _NoDerivative.apply(*tensors, outputs=tuple(o._data for o in present), aten=aten)
    wrapped = iter(wrapped if isinstance(wrapped, tuple) else (wrapped,))
    out = tuple(None if o is None else next(wrapped) for o in outputs)
    for o in out:
        if o is not None and o.grad_fn is not None:
            o.grad_fn._name = "torch::autograd::NotImplemented"
    return out


def _acc_dtype(dt):
    """The accumulation dtype of PyTorch's GPU kernels: float32 for float16/bfloat16."""
    return D.float32 if dt in (D.float16, D.bfloat16) else dt


def _check_dispatch(dt, kernel: str) -> None:
    if dt.category != D._FLOAT:
        from ..inplace import _type_title

        raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_title(dt)}\'')


def _check_scalar_type(t: Tensor | None, want, what: str = "") -> None:
    """The kernels read ``t`` as ``want``; another dtype is refused as ``data_ptr<T>`` does."""
    if t is not None and t._dtype is not want:
        from ..inplace import _type_title

        raise RuntimeError(f"expected scalar type {_type_title(want)} but found "
                           f"{_type_title(t._dtype)}{what}")


def _same_stat_dtypes(mean: Tensor, invstd: Tensor) -> None:
    if mean._dtype is not invstd._dtype:
        raise RuntimeError("mean and invstd need to have the same data types")


def _channel_dims(input: Tensor) -> tuple:
    """The reduced dims of per-channel statistics: all but dim 1."""
    from .._core import wrap_dim

    wrap_dim(1, input.ndim)  # a 0-d or 1-d input has no channel dim: IndexError, as PyTorch
    return (0,) + tuple(range(2, input.ndim))


def _per_channel(v: Tensor, ndim: int) -> Tensor:
    """A (C,) vector shaped to broadcast against an (N, C, *) input."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _check_nonempty(input: Tensor) -> None:
    if input.numel() == 0:
        raise RuntimeError("input tensor must have at least one element, but got input_sizes = "
                           f"{list(input.shape)}")


def _invstd(var: Tensor, eps: float) -> Tensor:
    """``1 / sqrt(var + eps)``, and 0 where both are 0 (ATen's ``InvStd``)."""
    if eps == 0:
        return _ember().where(var == 0, var.new_zeros(()), var.rsqrt())
    return (var + eps).rsqrt()


def batch_norm_stats(input: Tensor, eps: float):
    """``(mean, invstd)`` of ``input`` per channel (dim 1): the mean and ``1/sqrt(var + eps)``
    with the biased variance, as float32 for float16/bfloat16 inputs (else ``input``'s dtype).
    SyncBatchNorm's first step on every process; not differentiable.

    Example:
        >>> mean, invstd = ember.batch_norm_stats(ember.tensor([[1.0, 2.0], [3.0, 2.0]]), 0.0)
        >>> mean, invstd
        (tensor([2., 2.]), tensor([1., 0.]))
    """
    _check_dispatch(input._dtype, "batch_norm_stats")
    dims = _channel_dims(input)
    _check_nonempty(input)
    from ...autograd.grad_mode import no_grad

    with no_grad():
        x = input.detach().to(_acc_dtype(input._dtype))
        mean = x.mean(dim=dims)
        invstd = _invstd(x.var(dim=dims, unbiased=False), eps)
    return _no_derivative("batch_norm_stats", (input,), (mean, invstd))


def batch_norm_gather_stats_with_counts(input: Tensor, mean: Tensor, invstd: Tensor,
                                        running_mean: Tensor | None, running_var: Tensor | None,
                                        momentum: float, eps: float, counts: Tensor):
    """Combine per-process statistics: ``mean`` and ``invstd`` of shape ``(world, C)`` from
    :func:`batch_norm_stats`, ``counts`` (``(world,)``) the number of values each process
    reduced. Returns the ``(mean, invstd)`` of all values together, and updates
    ``running_mean``/``running_var`` in place (when given) with ``momentum``, the variance
    unbiased with the total count. ``input`` only sets the dtypes: ``counts`` and the running
    statistics must have ``running_mean``'s dtype (else ``input``'s), ``mean`` and ``invstd``
    its accumulation dtype (float32 for float16/bfloat16). Not differentiable.

    Example:
        >>> x = ember.tensor([[0.0], [2.0], [4.0], [6.0]])
        >>> m0, s0 = ember.batch_norm_stats(x[:2], 0.0)
        >>> m1, s1 = ember.batch_norm_stats(x[2:], 0.0)
        >>> ember.batch_norm_gather_stats_with_counts(
        ...     x, ember.stack([m0, m1]), ember.stack([s0, s1]), None, None, 0.1, 0.0,
        ...     ember.tensor([2.0, 2.0]))
        (tensor([3.]), tensor([0.4472]))
    """
    scalar = running_mean._dtype if running_mean is not None else input._dtype
    _check_dispatch(scalar, "batch_norm_update_stats_cuda")
    acc = _acc_dtype(scalar)
    for t in (mean, invstd):
        if t.ndim != 2:
            raise RuntimeError(f"TensorAccessor expected 2 dims but tensor has {t.ndim}")
        _check_scalar_type(t, acc)
    for t in (running_mean, running_var, counts):
        _check_scalar_type(t, scalar)
    from ...autograd.grad_mode import no_grad

    with no_grad():
        c = counts.detach().to(acc).reshape(-1, 1)
        m = mean.detach()
        var = invstd.detach().reciprocal().square() - eps   # each process's biased variance
        n = c.sum(0)
        avg = (c * m).sum(0) / n
        var_n = (c * (var + (m - avg).square())).sum(0)  # sum of squared deviations, all of it
        out_invstd = (var_n / n + eps).rsqrt()
        if running_mean is not None:
            running_mean.copy_(running_mean.to(acc) * (1 - momentum) + avg * momentum)
        if running_var is not None:
            running_var.copy_(running_var.to(acc) * (1 - momentum) + var_n / (n - 1) * momentum)
    return _no_derivative("batch_norm_gather_stats_with_counts", (input, mean, invstd, counts),
                          (avg, out_invstd))


def batch_norm_gather_stats(input: Tensor, mean: Tensor, invstd: Tensor,
                            running_mean: Tensor | None, running_var: Tensor | None,
                            momentum: float, eps: float, count: int):
    """:func:`batch_norm_gather_stats_with_counts` where every process reduced ``count``
    values.

    Example:
        >>> ember.batch_norm_gather_stats(ember.zeros(4, 1), ember.tensor([[1.0], [3.0]]),
        ...                               ember.tensor([[1.0], [1.0]]), None, None, 0.1, 0.0, 2)
        (tensor([2.]), tensor([0.7071]))
    """
    scalar = running_mean._dtype if running_mean is not None else input._dtype
    counts = _ember().full((mean.shape[0],), int(count), dtype=scalar, device=mean.device)
    return batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var,
                                               momentum, eps, counts)


def batch_norm_elemt(input: Tensor, weight: Tensor | None, bias: Tensor | None, mean: Tensor,
                     invstd: Tensor, eps: float) -> Tensor:
    """``(input - mean) * invstd * weight + bias`` per channel (dim 1), in ``input``'s dtype:
    the normalization step of SyncBatchNorm (``eps`` is unused, as in PyTorch: ``invstd``
    already holds it). Not differentiable.

    Example:
        >>> ember.batch_norm_elemt(ember.tensor([[1.0, 4.0], [3.0, 0.0]]), None, None,
        ...                        ember.tensor([2.0, 2.0]), ember.tensor([1.0, 0.5]), 1e-5)
        tensor([[-1.,  1.],
                [ 1., -1.]])
    """
    _check_dispatch(input._dtype, "batch_norm_elementwise_cuda")
    acc = _acc_dtype(input._dtype)
    nd = input.ndim
    _channel_dims(input)
    from ...autograd.grad_mode import no_grad

    with no_grad():
        out = (input.detach().to(acc) - _per_channel(mean.detach().to(acc), nd)) \
            * _per_channel(invstd.detach().to(acc), nd)
        if weight is not None:
            out = out * _per_channel(weight.detach().to(acc), nd)
        if bias is not None:
            out = out + _per_channel(bias.detach().to(acc), nd)
        out = out.to(input._dtype)
    return _no_derivative("batch_norm_elemt", (input, weight, bias, mean, invstd), (out,))[0]


def batch_norm_backward_reduce(grad_out: Tensor, input: Tensor, mean: Tensor, invstd: Tensor,
                               weight: Tensor | None, input_g: bool, weight_g: bool,
                               bias_g: bool):
    """The per-channel sums batch norm's backward needs: ``(sum_dy, sum_dy_xmu, grad_weight,
    grad_bias)`` with ``sum_dy = sum(grad_out)`` and ``sum_dy_xmu = sum(grad_out * (input -
    mean))`` (in ``mean``'s dtype, only with ``input_g``), ``grad_weight = sum_dy_xmu * invstd``
    (with ``weight_g``) and ``grad_bias = sum_dy`` (with ``bias_g``), in ``weight``'s dtype; a
    result not asked for is None. Not differentiable.

    Example:
        >>> x = ember.tensor([[1.0], [3.0]])
        >>> ember.batch_norm_backward_reduce(ember.tensor([[1.0], [2.0]]), x,
        ...     ember.tensor([2.0]), ember.tensor([1.0]), None, True, True, True)
        (tensor([3.]), tensor([1.]), tensor([1.]), tensor([3.]))
    """
    _check_dispatch(grad_out._dtype, "batch_norm_backward_reduce")
    _same_stat_dtypes(mean, invstd)
    acc = _acc_dtype(input._dtype)
    dims, nd = _channel_dims(input), input.ndim
    param_dtype = weight._dtype if weight is not None else D.get_default_dtype()
    from ...autograd.grad_mode import no_grad

    with no_grad():
        dy = grad_out.detach().to(acc).reshape(input.shape)
        xmu = input.detach().to(acc) - _per_channel(mean.detach().to(acc), nd)
        sum_dy = dy.sum(dim=dims)
        sum_dy_xmu = (dy * xmu).sum(dim=dims)
        outs = (sum_dy.to(mean._dtype) if input_g else None,
                sum_dy_xmu.to(mean._dtype) if input_g else None,
                (sum_dy_xmu * invstd.detach().to(acc)).to(param_dtype) if weight_g else None,
                sum_dy.to(param_dtype) if bias_g else None)
    return _no_derivative("batch_norm_backward_reduce", (grad_out, input, mean, invstd, weight),
                          outs)


def batch_norm_backward_elemt(grad_out: Tensor, input: Tensor, mean: Tensor, invstd: Tensor,
                              weight: Tensor | None, sum_dy: Tensor, sum_dy_xmu: Tensor,
                              count: Tensor) -> Tensor:
    """Batch norm's input gradient from the sums of :func:`batch_norm_backward_reduce` over
    all processes and ``count`` (int32, ``(world,)``), the values each process reduced:
    ``(grad_out - sum_dy / n - (input - mean) * invstd**2 * sum_dy_xmu / n) * invstd * weight``
    with ``n = count.sum()``, in ``input``'s dtype. Not differentiable.

    Example:
        >>> x = ember.tensor([[1.0], [3.0]])
        >>> ember.batch_norm_backward_elemt(ember.tensor([[1.0], [2.0]]), x, ember.tensor([2.0]),
        ...     ember.tensor([1.0]), None, ember.tensor([3.0]), ember.tensor([1.0]),
        ...     ember.tensor([2], dtype=ember.int32))
        tensor([[0.],
                [0.]])
    """
    _check_dispatch(input._dtype, "batch_norm_backward_elemt")
    _same_stat_dtypes(mean, invstd)
    _check_scalar_type(count, D.int32)
    acc = _acc_dtype(input._dtype)
    nd = input.ndim
    _channel_dims(input)
    from ...autograd.grad_mode import no_grad

    with no_grad():
        norm = count.detach().sum(dtype=D.int64).to(acc).reciprocal()
        s = invstd.detach().to(acc)
        mean_dy = sum_dy.detach().to(acc) * norm
        factor_1 = s.square() * sum_dy_xmu.detach().to(acc) * norm
        factor_2 = s * weight.detach().to(acc) if weight is not None else s
        xmu = input.detach().to(acc) - _per_channel(mean.detach().to(acc), nd)
        dy = grad_out.detach().to(acc).reshape(input.shape)
        grad = ((dy - _per_channel(mean_dy, nd) - xmu * _per_channel(factor_1, nd))
                * _per_channel(factor_2, nd)).to(input._dtype)
    return _no_derivative("batch_norm_backward_elemt",
                          (grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu), (grad,))[0]


def batch_norm_update_stats(input: Tensor, running_mean: Tensor | None,
                            running_var: Tensor | None, momentum: float):
    """``(mean, var)`` of ``input`` per channel (dim 1), the variance biased, and the running
    statistics (when given) updated in place with ``momentum`` and the unbiased variance. With
    a float16/bfloat16 ``input`` the running statistics may be float32, and so are the results.
    Not differentiable.

    Example:
        >>> rm, rv = ember.zeros(1), ember.ones(1)
        >>> ember.batch_norm_update_stats(ember.tensor([[1.0], [3.0]]), rm, rv, 0.5)
        (tensor([2.]), tensor([1.]))
        >>> rm, rv
        (tensor([1.]), tensor([1.5000]))
    """
    _check_dispatch(input._dtype, "batch_norm_update_stats_cpu")
    dims = _channel_dims(input)
    _check_nonempty(input)
    params = [t for t in (running_mean, running_var) if t is not None]
    out_dtype = input._dtype
    if params and params[0]._dtype is not input._dtype:  # PyTorch's mixed-dtype rule
        if any(t._dtype is not D.float32 for t in params):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        if input._dtype not in (D.float16, D.bfloat16):
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
        out_dtype = D.float32
    acc = _acc_dtype(input._dtype)
    from ...autograd.grad_mode import no_grad

    with no_grad():
        x = input.detach().to(acc)
        mean = x.mean(dim=dims)
        var = x.var(dim=dims, unbiased=False)
        n = input.numel() // input.shape[1]
        if running_mean is not None:
            running_mean.copy_(running_mean.to(acc) * (1 - momentum) + mean * momentum)
        if running_var is not None:
            unbiased = var * (n / (n - 1)) if n > 1 else var * float("nan")
            running_var.copy_(running_var.to(acc) * (1 - momentum) + unbiased * momentum)
        outs = (mean.to(out_dtype), var.to(out_dtype))
    return _no_derivative("batch_norm_update_stats", (input, running_mean, running_var), outs)


# -- binomial ------------------------------------------------------------------------------

class _Binomial(Op):
    _name = "NotImplemented"  # PyTorch records binomial without a derivative

    @staticmethod
    def forward(ctx, count, prob, sample):
        return sample

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::binomial is not implemented")


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Samples of Binomial(``count``, ``prob``) (broadcast together; floating dtypes, the same
    for both). A ``prob`` of 1 or more gives ``count``, a negative ``count`` gives 0, a nan
    ``prob`` gives nan. Not differentiable: backward through it raises, as in PyTorch.

    Example:
        >>> ember.binomial(ember.tensor([10.0, 5.0]), ember.tensor([0.0, 1.0]))
        tensor([0., 5.])
    """
    from ..._backend import to_device_array, to_numpy
    from ..._random_distributions import _torch_binomial

    if count._dtype.category != D._FLOAT:
        from ..inplace import _type_title

        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{_type_title(count._dtype)}")
    if prob._dtype is not count._dtype:
        from ..inplace import _type_title

        raise RuntimeError(f"Found dtype {_type_title(prob._dtype)} but expected "
                           f"{_type_title(count._dtype)}")
    n, p = np.broadcast_arrays(to_numpy(count._data).astype(np.float64),
                               to_numpy(prob._data).astype(np.float64))
    n = np.maximum(n, 0.0)
    sure = p >= 1
    # PyTorch's sampler on its stream (same seed, same counts)
    draws = _torch_binomial(_random._gen(generator), np.floor(n),
                            np.where(np.isnan(p) | sure, 0.0, np.clip(p, 0, 1)),
                            single=count._dtype is D.float32)
    sample = np.where(np.isnan(p), np.nan, np.where(sure, n, draws)).astype(count._data.dtype)
    sample = to_device_array(sample, count.device)
    if count.requires_grad or prob.requires_grad:
        return _Binomial.apply(count, prob, sample=sample)
    return Tensor._make(sample, count._dtype)


__all__ = [
    "embedding", "cosine_similarity", "pairwise_distance", "pdist", "pixel_shuffle",
    "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
    "binary_cross_entropy_with_logits", "kl_div", "margin_ranking_loss", "hinge_embedding_loss",
    "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss", "ctc_loss", "bilinear",
    "celu", "celu_", "selu", "selu_", "rrelu", "rrelu_", "prelu", "threshold", "threshold_",
    "hardshrink", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout",
    "feature_alpha_dropout_", "feature_dropout", "feature_dropout_", "native_dropout",
    "native_layer_norm", "native_batch_norm", "native_group_norm", "native_norm",
    "constant_pad_nd", "convolution", "conv_tbc", "affine_grid_generator", "grid_sampler",
    "grid_sampler_2d", "grid_sampler_3d", "embedding_renorm_", "lstm_cell", "gru_cell",
    "rnn_tanh_cell", "rnn_relu_cell", "frobenius_norm", "nuclear_norm", "norm_except_dim",
    "lstm", "gru", "rnn_tanh", "rnn_relu", "embedding_bag", "segment_reduce", "binomial",
    "batch_norm_stats", "batch_norm_gather_stats", "batch_norm_gather_stats_with_counts",
    "batch_norm_elemt", "batch_norm_backward_reduce", "batch_norm_backward_elemt",
    "batch_norm_update_stats",
]

TENSOR_METHODS = {"prelu": prelu}
