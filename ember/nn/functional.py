"""``ember.nn.functional``: the stateless functions behind the layers (``import ... as F``).

Activations, linear maps, dropout, embedding and distances live here; losses in
``_functional_loss``; convolution, pooling, normalization and attention in ``functional_conv``.
"""

from __future__ import annotations

import numpy as np

from .. import _autocast, _random
from .. import _dtype as D
from .._autocast import hot as _amp
from .._layout import sparse_coo as _sparse_coo
from .._layout import strided as _strided
from .._ops._core import (
    mapped_by_vmap,
    named_node,
    set_node_name,
    set_vmapped_node_name,
    wrap_dim,
)
from .._ops._dispatch import REFUSED as _REFUSED
from .._ops._dispatch import not_implemented_for
from .._ops._dispatch import refuse as _refuse
from .._ops.inplace import _type_title, apply_inplace
from .._ops.nn import activation as A
from .._ops.nn.activation import PreluKernel
from .._ops.nn.linear_softmax import (
    Exp,
    _softmax_dim,
    _t,
    abs_,
    linear,
    log_softmax_any_dim,
    softmax_any_dim,
)
from .._ops.pointwise.abs_round_clamp import Relu as _Relu
from .._ops.pointwise.compare import where
from .._tensor import Tensor
from ._functional_dropout import (  # noqa: F401
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from ._functional_embedding import embedding, embedding_bag  # noqa: F401
from ._functional_grid import affine_grid, grid_sample  # noqa: F401
from ._functional_loss import *  # noqa: F401,F403
from ._functional_loss import __all__ as _loss_all

__all__ = [
    "linear", "bilinear", "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu",
    "rrelu", "elu", "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "sigmoid",
    "tanh", "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "softplus", "softsign",
    "softmax", "log_softmax", "softmin", "threshold", "threshold_", "logsigmoid", "tanhshrink",
    "softshrink", "hardshrink", "glu", "normalize", "cosine_similarity", "pairwise_distance",
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    "embedding", "one_hot", "pad", "gumbel_softmax", "affine_grid", "grid_sample",
] + list(_loss_all)


def _inplace(input: Tensor, result: Tensor, name: str) -> Tensor:
    return apply_inplace(input, result, name)


# -- activations ----------------------------------------------------------------------------

def _kernel_dtype(input: Tensor, kernel: str, ints: bool = False, complex_: bool = False):
    """PyTorch's NotImplementedError where its CPU kernel lacks ``input``'s dtype: the
    activations below take floating tensors (some also integers or complex), never bool."""
    cat = input._dtype.category
    if cat == D._FLOAT or (ints and cat == D._INT) or (complex_ and cat == D._COMPLEX):
        return
    raise not_implemented_for(kernel, input._dtype)


def _clamp_dtype(input: Tensor, name: str, bool_word: str) -> None:
    """relu and hardtanh run torch's clamp: bool and complex inputs are refused."""
    if input._dtype is D.bool:
        raise RuntimeError(f"{bool_word} inputs not supported for {name}")
    if input._dtype.category == D._COMPLEX:
        raise NotImplementedError("clamp is not supported for complex types")


def _quantized_ops():
    from .. import _quantized_ops

    return _quantized_ops


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x). Example: ``F.relu(ember.tensor([-1.0, 2.0]))`` -> ``tensor([0., 2.])``."""
    if input.is_quantized:
        return _quantized_ops().relu(input)
    _clamp_dtype(input, "relu", "Boolean")
    try:
        out = _Relu.apply(input)
    except NotImplementedError:
        if input.layout is _strided:
            raise
        from .._sparse_ops import coo_unary_, sparse_unary

        if inplace:
            if input.layout is not _sparse_coo:
                raise
            return coo_unary_(input, "relu")  # COO: its values, when flagged coalesced
        return sparse_unary(input, "relu")  # CSR/CSC/COO: the values alone (refusal path)
    return _inplace(input, out, "relu_") if inplace else out


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``: ``input`` becomes ``max(input, 0)``; returns ``input``."""
    return relu(input, inplace=True)


def _piecewise(input, kind, a=0.0, b=0.0, inplace=False, name=""):
    out = A.PIECEWISE[kind].apply(input, kind=kind, a=a, b=b)
    return _inplace(input, out, name) if inplace else out


def _refuse_negative_slope_inplace(grad_outputs):
    raise RuntimeError(
        "In-place leakyReLu backward calculation is triggered with a negative slope which is "
        "not supported. This is caused by calling in-place forward function with a negative "
        "slope, please call out-of-place version instead. File an issue at "
        "https://github.com/pytorch/pytorch if you do require supporting in-place leakRelu "
        "backward calculation with negative slope")


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    _kernel_dtype(input, "leaky_relu_cpu")
    out = _piecewise(input, "leaky_relu", negative_slope, 0.0, inplace, "leaky_relu_")
    if inplace and out.grad_fn is not None and negative_slope < 0:
        # torch's in-place kernel keeps only the output, whose sign no longer tells which
        # slope applied; its backward refuses, so ours does too
        out.grad_fn.register_prehook(_refuse_negative_slope_inplace)
    return set_node_name(out, "LeakyReluBackward1") if inplace else out


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``; returns ``input``."""
    return leaky_relu(input, negative_slope, True)


@named_node("HardtanhBackward0")
def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input.is_quantized:
        return _quantized_ops().hardtanh(input, min_val, max_val)
    _clamp_dtype(input, "hardtanh", "Bool")
    return _piecewise(input, "hardtanh", min_val, max_val, inplace, "hardtanh_")


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh`` (clamp to ``[min_val, max_val]``); returns ``input``."""
    return hardtanh(input, min_val, max_val, True)


@named_node("HardtanhBackward0")
def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value."""
    _kernel_dtype(input, "threshold_cpu", ints=True)
    for v in (threshold, value):
        if type(v) is int:
            D.check_int_scalar(v)  # past 64 bits: torch's OverflowError
    out = _piecewise(input, "threshold", threshold, value, inplace, "threshold_")
    return set_node_name(out, "ThresholdBackward1") if inplace else out


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``: elements not above ``threshold`` become ``value``."""
    out = _piecewise(input, "threshold", threshold, value, True, "threshold_")
    return set_node_name(out, "ThresholdBackward1")


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    _kernel_dtype(input, "hardshrink_cpu")
    return _piecewise(input, "hardshrink", lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd, x + lambd or 0, shrinking toward zero."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    _kernel_dtype(input, "softshrink_check")
    return _piecewise(input, "softshrink", lambd)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    if input.is_quantized:  # quantized input: fixed-range quantized output
        return _quantized_ops().hardsigmoid(input)
    _kernel_dtype(input, "hardsigmoid_cpu")
    return _piecewise(input, "hardsigmoid", 0.0, 0.0, inplace, "hardsigmoid_")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    _kernel_dtype(input, "hardswish_cpu")
    out = A.Hardswish.apply(input)
    return _inplace(input, out, "hardswish_") if inplace else out


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    _kernel_dtype(input, "elu_cpu")
    out = A.Elu.apply(input, alpha=alpha, scale=1.0, input_scale=1.0)
    return set_node_name(_inplace(input, out, "elu_"), "EluBackward1") if inplace else out


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``; returns ``input``."""
    return elu(input, alpha, True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants."""
    _kernel_dtype(input, "elu_cpu")
    out = A.Elu.apply(input, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0)
    return set_node_name(_inplace(input, out, "selu_"), "EluBackward1") if inplace else out


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``; returns ``input``."""
    return selu(input, True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    _kernel_dtype(input, "elu_cpu")
    out = A.Elu.apply(input, alpha=alpha, scale=1.0, input_scale=1.0 / alpha)
    if inplace:
        return set_node_name(_inplace(input, out, "celu_"), "CeluBackward1")
    return set_node_name(out, "CeluBackward0")


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``; returns ``input``."""
    return celu(input, alpha, True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (``approximate='tanh'``: the tanh approximation).

    Example:
        >>> F.gelu(ember.tensor([1.0]))
        tensor([0.8413])
    """
    if approximate in ("none", "tanh"):
        _kernel_dtype(input, "GeluKernelImpl")
    if approximate == "none":
        return A.Gelu.apply(input)
    if approximate == "tanh":
        return set_node_name(A.gelu_tanh(input), "GeluBackward0")
    raise RuntimeError(f"approximate argument must be either none or tanh, got '{approximate}'")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    _kernel_dtype(input, "silu_cpu", complex_=True)
    if input._dtype.is_complex:  # the stable real sigmoid has no complex form
        out = input * sigmoid(input)
    else:
        out = A.Silu.apply(input)
    return _inplace(input, out, "silu_") if inplace else out


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    _kernel_dtype(input, "mish_cpu")
    out = A.Mish.apply(input)
    return _inplace(input, out, "mish_") if inplace else out


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    if input.is_quantized:
        return _quantized_ops().sigmoid(input)
    if input._dtype.category != D._FLOAT:
        if input._dtype.is_complex:  # the stable real formula has no complex form
            from .._ops.pointwise.unary import sigmoid as complex_sigmoid

            return complex_sigmoid(input)
        input = input.to(D.get_default_dtype())  # bool and integers: the default float dtype
    return A.Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent (``ember.tanh``).

    Example:
        >>> F.tanh(ember.tensor([0.0]))
        tensor([0.])
    """
    if input.is_quantized:
        return _quantized_ops().tanh(input)
    if input._dtype.category < D._FLOAT:  # integers give the default float dtype, as torch
        input = input.to(D.get_default_dtype())
    try:
        return A.Tanh.apply(input)
    except NotImplementedError:
        if input.layout is _strided:
            raise
        from .._sparse_ops import sparse_unary

        return sparse_unary(input, "tanh")  # CSR/CSC/COO: the values alone (refusal path)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta; linear where beta * x > threshold."""
    _kernel_dtype(input, "softplus_cpu")
    return A.Softplus.apply(input, beta=beta, threshold=threshold)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), stable for large |x|.

    Example: ``F.logsigmoid(ember.tensor([0.0]))`` -> ``tensor([-0.6931])``."""
    _kernel_dtype(input, "log_sigmoid_cpu")
    low = input._dtype is D.float16 or input._dtype is D.bfloat16
    return A.LogSigmoid.apply(input, buffer_dtype=input._dtype.np_dtype if low else None)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    _kernel_dtype(input, "abs_cpu", ints=True, complex_=True)
    return input / (abs_(input) + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - tanh(input)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed stably; a missing or None ``dim`` picks one with
    torch's deprecation warning.

    Example:
        >>> F.softmax(ember.tensor([0.0, 0.0]), dim=0)
        tensor([0.5000, 0.5000])
    """
    return softmax_any_dim(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """``log(softmax(x, dim))`` without the overflow; a missing or None ``dim`` picks one with
    torch's deprecation warning.

    Example:
        >>> F.log_softmax(ember.tensor([0.0, 0.0]), dim=0)
        tensor([-0.6931, -0.6931])
    """
    return log_softmax_any_dim(input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x, dim)."""
    if dim is None:  # the implicit-dim warning names softmin, as torch's does
        # (the module form passes _stacklevel=5 for torch's two call frames; ember has one)
        dim = _softmax_dim(input.ndim, "softmin", stacklevel=min(_stacklevel, 4))
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    return softmax(-input, dim)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight * x, with one weight or one per channel (dim 1)."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(prelu, "prelu", input, weight)
    _kernel_dtype(input, "prelu_cpu")
    if weight._dtype is not input._dtype:  # torch's kernel neither promotes nor casts
        raise RuntimeError(f"prelu: Type promoting not supported. Got "
                           f"{_type_title(input._dtype)} and {_type_title(weight._dtype)}")
    if weight.numel() != 1:
        c = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if weight.numel() != c:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter numbers ="
                f" {weight.numel()} and channel size = {c}.")
        if input.ndim >= 2:
            weight = weight.reshape((c,) + (1,) * (input.ndim - 2))
    return PreluKernel.apply(input, weight)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: a random slope in [lower, upper] when training, else the mean.

    Example:
        >>> F.rrelu(ember.tensor([-8.0, 1.0]), 0.25, 0.25)
        tensor([-2.,  1.])
    """
    from .._ops.nn import aten_forms

    return (aten_forms.rrelu_ if inplace else aten_forms.rrelu)(input, lower, upper, training)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the halves of ``input`` along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    _kernel_dtype(input, "glu_cpu")
    dim = wrap_dim(dim, input.ndim)
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {n}")
    return A.Glu.apply(input, dim=dim)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """Samples from the Gumbel-softmax distribution (straight-through when ``hard``)."""
    # torch's draw: -log of Exponential(1) samples in the logits' dtype
    e = _random._gen(None).exponential(1.0, tuple(logits.shape), _random._work(logits))
    gumbels = _t((-np.log(e)).astype(logits._data.dtype))
    y = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y
    idx = np.argmax(y._data, axis=dim)
    hard_arr = np.zeros_like(y._data)
    np.put_along_axis(hard_arr, np.expand_dims(idx, dim), 1, axis=dim)
    return _t(hard_arr) - y.detach() + y


# -- linear maps and distances --------------------------------------------------------------

_BMM_REFUSED = _REFUSED["bmm"]


def _check_bilinear(input1, input2, weight, bias) -> None:
    """torch's bilinear checks, in its order and words (probed against torch 2.13)."""
    from .._ops._core import wrap_dim

    names = (("input1", input1), ("input2", input2), ("weight", weight)) + \
        ((("bias", bias),) if bias is not None else ())
    if any(t._dtype is not input1._dtype for _, t in names):
        listed = ", ".join(f"{n}: {t._dtype._legacy[:-6].lower()}" for n, t in names)
        raise RuntimeError(f"All tensors must have the same dtype, got {listed}")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    for i in range(input1.ndim - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: "
                               f"got {input1.shape[i]} and {input2.shape[i]}")
    for k, (name, x) in enumerate((("input1", input1), ("input2", input2)), start=1):
        want = weight.shape[wrap_dim(k, weight.ndim)]
        if x.shape[-1] != want:
            raise RuntimeError(f"bilinear(): {name} size does not match weight size: got "
                               f"{x.shape[-1]} but expected {want}")
    if bias is not None:
        if bias.ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        if bias.shape[0] != weight.shape[0]:
            raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                               f"{bias.shape[0]} but expected {weight.shape[0]}")


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T W_k x2 + b_k for weight (out, in1, in2)."""
    if input1._dtype in _BMM_REFUSED:  # torch computes it with bmm, which has no such loop
        _refuse("bmm", input1._dtype)
    _check_bilinear(input1, input2, weight, bias)
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, input1.shape[-1])
    x2 = input2.reshape(-1, input2.shape[-1])
    out_f, in1, in2 = weight.shape
    t = linear(x1, weight.permute(0, 2, 1).reshape(out_f * in2, in1))  # (B, out*in2)
    out = (t.reshape(x1.shape[0], out_f, in2) * x2.unsqueeze(1)).sum(dim=-1)  # B may be 0
    out = out.reshape(lead + (out_f,))
    # the bias goes on last, as torch's does (its result's node is then AddBackward0)
    out = out if bias is None else out + bias
    if any(mapped_by_vmap(t) for t in (input1, input2, weight, bias)):
        set_vmapped_node_name(out, "ViewBackward0")  # torch's fallback views its result
    return out


def _norm(x: Tensor, p: float, dim, keepdim: bool) -> Tensor:
    # torch's normalize/cosine_similarity/pairwise_distance take at::norm, whose backward gives
    # a zero vector a zero gradient (not sqrt's 0 * inf = nan) and shares an inf-norm's
    # gradient among ties: the same node as linalg.vector_norm
    from .._ops.reduction.norms import vector_norm

    return vector_norm(x, p, dim, keepdim)


def _clamp_min(x: Tensor, eps: float) -> Tensor:
    """max(x, eps) with gradient 1 where x > eps and 0 elsewhere."""
    keep = x._data > eps
    if keep.all():
        return x
    return where(_t(keep), x, float(eps))  # a select: an infinite x never meets 0 * inf


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``.

    Example:
        >>> F.normalize(ember.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    if input._dtype.category < D._FLOAT:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {input._dtype._legacy[:-6]}")
    # torch's graph: DivBackward0 <- ExpandBackward0 <- ClampMinBackward0 <- the norm's node
    denom = _norm(input, p, dim, True).clamp_min(eps).expand_as(input)
    if out is not None:  # written into ``out`` (and refused under autograd), as torch.div
        from .. import div

        return div(input, denom, out=out)
    return input / denom


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along ``dim``."""
    common = D.result_type(x1, x2)
    if common.category != D._FLOAT:
        raise RuntimeError("expected common dtype to be floating point, yet common dtype is "
                           f"{common._legacy[:-6]}")
    n1 = _clamp_min(_norm(x1, 2, dim, True), eps)
    n2 = _clamp_min(_norm(x2, 2, dim, True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim=dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dimension."""
    d = x1 - x2 + eps
    if d.is_complex():  # the norm of complex differences is real: that of their magnitudes
        d = d.abs()
    # torch's kernel ends on its norm(p, dim) overload: NormBackward1
    return set_node_name(_norm(d, p, -1 if d.ndim else None, keepdim), "NormBackward1")


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding (the indexing family's op)."""
    from .._ops.indexing.gather_scatter import one_hot as _one_hot

    return _one_hot(tensor, num_classes)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last dimensions by ``pad`` = (left, right, top, bottom, ...)."""
    from .._ops.shape.copies import pad as _pad

    if _amp.active and _autocast.state.active and mode in ("reflect", "replicate"):
        # PyTorch's kernel for the mode and rank decides the policy
        kernel = f"{'reflection' if mode == 'reflect' else 'replication'}_pad{len(pad) // 2}d"
        return _autocast.call(_pad, kernel, input, pad, mode, value)
    return _pad(input, pad, mode, value)


_ = (Exp,)

# torch.nn.functional also holds torch.pdist, torch.rrelu_ and the torch.nn.grad module
from .._ops.nn.aten_forms import pdist, rrelu_  # noqa: E402
from . import grad  # noqa: E402,F401

__all__ += ["pdist", "rrelu_"]

from .._ops.linalg.products import _grouped_mm  # noqa: E402


def grouped_mm(mat_a: Tensor, mat_b: Tensor, *, offs: Tensor | None = None,
               bias: Tensor | None = None, out_dtype=None) -> Tensor:
    """One GEMM per group of a mixture-of-experts layer, the groups cut from a 2-D operand
    by the int32 end offsets ``offs`` (see ``ember._grouped_mm``).

    Example:
        >>> offs = ember.tensor([1, 3], dtype=ember.int32)
        >>> ember.nn.functional.grouped_mm(ember.ones(3, 4), ember.ones(2, 4, 4), offs=offs).shape
        torch.Size([3, 4])
    """
    return _grouped_mm(mat_a, mat_b, offs=offs, bias=bias, out_dtype=out_dtype)


__all__ += ["grouped_mm"]

try:  # convolution, pooling, normalization, attention (the nn part 2 family)
    from .functional_conv import *  # noqa: F401,F403
    from .functional_conv import __all__ as _conv_all

    __all__ += [n for n in _conv_all if n not in __all__]
except ImportError as _err:
    if getattr(_err, "name", None) != f"{__package__}.functional_conv":
        raise
