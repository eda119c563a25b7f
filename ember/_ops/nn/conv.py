"""Convolution as gathers and GEMMs: forward, input gradient and weight gradient.

Three linear ops, each the adjoint of the others, so every backward is written with the other
two and gradients of any order come for free:

* ``Conv(x, w, b)``        -- cross-correlation: im2col (one strided copy) + one GEMM per group.
* ``ConvInput(g, w)``      -- the input gradient, also ``conv_transpose``: a convolution of the
  zero-dilated, padded ``g`` with the flipped, transposed weights (no scatter-add).
* ``ConvWeight(x, g)``     -- the weight gradient: one GEMM of ``g`` with the im2col matrix.

Spatial rank is generic (1-d, 2-d, 3-d). Padding is a tuple of ``(low, high)`` pairs so that
``padding='same'`` with an even kernel (PyTorch pads the extra element on the high side) and
the negative "padding" of a transposed convolution share one path.
"""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._errors import with_hint
from ..._layout import channels_last_of, in_format
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op, named_node
from .._dispatch import REFUSED, refuse
from ._conv_kernels import _conv_backward_raw, _conv_input_raw, _conv_raw, _conv_weight_raw
from .conv_type_check import refuse_mixed_types

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]


# -- ops ------------------------------------------------------------------------------------

class Conv(Op):
    listed_inputs = staticmethod(lambda inputs: (0, 1, 2))  # not stride, padding, ...

    @staticmethod
    def forward(ctx, x, w, b, stride, pad, dilation, groups):
        ctx.save_for_backward(ctx.inputs[0], ctx.inputs[1])
        ctx.args = (stride, pad, dilation, groups)
        # torch: a channels_last input or weight gives a channels_last output
        return in_format(_conv_raw(x, w, b, stride, pad, dilation, groups),
                         channels_last_of(x, w))

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        stride, pad, dilation, groups = ctx.args
        need = ctx.needs_input_grad
        need_b = len(need) > 2 and need[2]
        if not grad_mode._state.enabled:
            # first order only: all three gradients in one pass over the batch
            gx, gw, gb = _conv_backward_raw(_conj_raw(x._data), _conj_raw(w._data), grad._data,
                                            need[0], need[1], need_b, tuple(x.shape[2:]),
                                            stride, pad, dilation, groups)
            if gx is not None:  # torch's input gradient follows the output's layout
                gx = in_format(gx, channels_last_of(x._data, w._data))
            return (_t(gx, x), _t(gw, w), _t(gb, w))
        gx = gw = gb = None
        if need[0]:
            gx = ConvInput.apply(grad, _conj(w), in_size=x.shape[2:], stride=stride, pad=pad,
                                 dilation=dilation, groups=groups)
            if not gx._requires_grad:  # a constant weight: still a function of x, as torch's
                gx = _OperandTie.apply(gx, x)
        if need[1]:
            gw = ConvWeight.apply(_conj(x), grad, ksize=w.shape[2:], stride=stride, pad=pad,
                                  dilation=dilation, groups=groups)
            if not gw._requires_grad:
                gw = _OperandTie.apply(gw, w)
        if need_b:
            gb = grad.sum(dim=(0, *range(2, grad.dim())))
        return gx, gw, gb


class _OperandTie(Op):
    """``value`` unchanged, formally also a function of ``operand`` with no derivative (None).
    PyTorch's ``ConvolutionBackward0`` records each gradient as a function of the input and
    the weight together, so with ``create_graph=True`` the input's gradient requires grad even
    where the weight is constant (a fixed stencil or filter); differentiating it again reaches
    the input as None (``allow_unused=True``), not "does not require grad"."""

    @staticmethod
    def forward(ctx, value, operand):
        return value

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _t(arr, like: Tensor):
    return None if arr is None else Tensor._make(arr, like._dtype)


# The three ops are bilinear; for complex operands each gradient is the real rule's with the
# other operand conjugated (PyTorch's convention: the gradient is the conjugate Wirtinger
# derivative, as matmul's ``grad @ b.conj().T``).

def _conj(t: Tensor) -> Tensor:
    return t.conj() if t._dtype.is_complex else t


def _conj_raw(arr):
    return arr.conj() if arr.dtype.kind == "c" else arr


class ConvInput(Op):
    @staticmethod
    def forward(ctx, g, w, in_size, stride, pad, dilation, groups):
        ctx.save_for_backward(*ctx.inputs)
        ctx.args = (tuple(in_size), stride, pad, dilation, groups)
        return in_format(_conv_input_raw(g, w, tuple(in_size), stride, pad, dilation, groups),
                         channels_last_of(g, w))

    @staticmethod
    def backward(ctx, grad):
        g, w = ctx.saved_tensors
        _, stride, pad, dilation, groups = ctx.args
        gg = gw = None
        if ctx.needs_input_grad[0]:
            gg = Conv.apply(grad, _conj(w), None, stride, pad, dilation, groups)
            if gg.shape[2:] != g.shape[2:]:
                # output_padding >= stride (allowed when < dilation): the convolution has
                # positions past those of g, which g never reached
                gg = gg[(slice(None), slice(None)) + tuple(slice(0, n) for n in g.shape[2:])]
        if ctx.needs_input_grad[1]:
            gw = ConvWeight.apply(grad, _conj(g), ksize=w.shape[2:], stride=stride, pad=pad,
                                  dilation=dilation, groups=groups)
        if grad_mode._state.enabled:  # create_graph (conv_transpose): tied as torch's node
            if gg is not None and not gg._requires_grad:
                gg = _OperandTie.apply(gg, g)
            if gw is not None and not gw._requires_grad:
                gw = _OperandTie.apply(gw, w)
        return gg, gw


class ConvWeight(Op):
    @staticmethod
    def forward(ctx, x, g, ksize, stride, pad, dilation, groups):
        ctx.save_for_backward(*ctx.inputs)
        ctx.args = (stride, pad, dilation, groups)
        return _conv_weight_raw(x, g, tuple(ksize), stride, pad, dilation, groups)

    @staticmethod
    def backward(ctx, grad):
        x, g = ctx.saved_tensors
        stride, pad, dilation, groups = ctx.args
        gx = gg = None
        if ctx.needs_input_grad[0]:
            gx = ConvInput.apply(_conj(g), grad, in_size=x.shape[2:], stride=stride, pad=pad,
                                 dilation=dilation, groups=groups)
        if ctx.needs_input_grad[1]:
            gg = Conv.apply(_conj(x), grad, None, stride, pad, dilation, groups)
        return gx, gg


# -- argument checks and public functions ---------------------------------------------------

def _tuple(v, nd: int, name: str) -> tuple:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * nd
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * nd
    if len(v) != nd:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {nd} "
                           f"values to match the convolution dimensions, but got {name}={list(v)}")
    return v


def _type_name(t: Tensor) -> str:
    """The C++ type name torch's conv messages use for ``t``'s dtype."""
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>",
            }.get(t.dtype.name, t.dtype.name)


# the dtypes some conv kernel of torch refuses (a superset: ``refuse`` picks the kernel)
_CONV_REFUSED = REFUSED["conv_dilated"]


def _check(input: Tensor, weight: Tensor, bias, nd: int, name: str, params: tuple,
           transposed=False, groups=1) -> Tensor:
    """torch's checks of a convolution's tensors, in its order; returns the weight to use.
    ``params`` are the (name, value) pairs of stride, padding, dilation (and output_padding),
    which torch checks against the weight's rank."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{name}(): argument 'input' and 'weight' must be Tensors, got "
                        f"{type(input).__name__} and {type(weight).__name__}")
    # torch's convolution compares the bias's dtype first; its transposed one takes any bias
    # dtype (the bias is added in the input's dtype)
    if not transposed and bias is not None and bias._dtype is not input._dtype:
        _refuse_bias_dtype(input, bias)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(input.shape)}")
    if weight.dim() != nd + 2:
        _refuse_weight_rank(input, weight, nd, params)
    if input._dtype is not weight._dtype or \
            (transposed and bias is not None and bias._dtype is not input._dtype):
        if input.numel() or input._dtype.is_complex:  # (torch skips an empty real input)
            named = dict(params)
            refuse_mixed_types(input, weight, bias, nd, named["stride"], named["dilation"],
                               groups, transposed)
    if input._dtype is not weight._dtype:
        weight = _mixed_dtype_weight(input, weight)
    if transposed and bias is not None and bias._dtype is not input._dtype:
        _check_transposed_bias_dtype(input, bias, nd)
    return weight


def _check_transposed_bias_dtype(input: Tensor, bias: Tensor, nd: int):
    """torch's 1-d and 2-d transposed kernels add any real bias in the input's dtype; its 3-d
    kernel takes only the input's dtype."""
    from ... import _dtype as D

    names = D.SCALAR_TYPE
    if nd == 3:
        raise with_hint(RuntimeError(f"expected scalar type {names[input._dtype.name]} but "
                                     f"found {names[bias._dtype.name]}"),
                        f"input is {input.dtype}, bias is {bias.dtype}; cast one with .to(dtype)")
    common = D.promote_types(input._dtype, bias._dtype)
    if not D.can_cast(common, input._dtype):
        raise RuntimeError(f"result type {names[common.name]} can't be cast to the desired "
                           f"output type {names[input._dtype.name]}")


def _refuse_weight_rank(input: Tensor, weight: Tensor, nd: int, params: tuple):
    """torch's refusal of a weight whose rank is not the op's: the weight's rank sets the
    number of spatial dims, against which the stride, padding ... lists are checked first."""
    k = weight.dim()
    if k < 3:
        raise RuntimeError("weight should have at least three dimensions")
    shape = [1, *input.shape] if input.dim() == nd + 1 else list(input.shape)
    if not any(isinstance(v, str) for _, v in params):  # padding='same' skips the lists
        for pname, v in params:
            values = [int(v)] * nd if isinstance(v, (int, np.integer)) else [int(i) for i in v]
            if len(values) not in (1, k - 2):
                raise RuntimeError(
                    f"expected {pname} to be a single integer value or a list of {k - 2} values "
                    f"to match the convolution dimensions, but got {pname}={values}")
        raise RuntimeError(f"Expected {k}-dimensional input for {k}-dimensional weight "
                           f"{list(weight.shape)}, but got {len(shape)}-dimensional input of "
                           f"size {shape} instead")
    raise RuntimeError(f"Expected {k}-dimensional input for {k}-dimensional weight"
                       f"{list(weight.shape)}, but got {len(shape)}-dimensional input of size "
                       f"{shape} instead")


def _refuse_bias_dtype(input: Tensor, bias: Tensor):
    """torch's refusal of a bias whose dtype is not the input's."""
    raise with_hint(RuntimeError(f"Input type ({_type_name(input)}) and bias type "
                                 f"({_type_name(bias)}) should be the same"),
                    f"input is {input.dtype}, bias is {bias.dtype}; cast one with .to(dtype)")


def _mixed_dtype_weight(input: Tensor, weight: Tensor) -> Tensor:
    """torch's kernels take one dtype, but an empty input never reaches them: it returns an
    empty result of the input's floating dtype (so does ember: the weight is cast to it)."""
    if input.numel() == 0 and input._dtype.is_floating_point and \
            weight._dtype.is_floating_point:
        return weight.to(input._dtype)
    raise with_hint(RuntimeError(f"expected scalar type {_title(input)} but found "
                                 f"{_title(weight)}"),
                    f"input is {input.dtype}, weight is {weight.dtype}; cast one with .to(dtype)")


def _title(t: Tensor) -> str:
    from ... import _dtype as D

    return D.SCALAR_TYPE[t.dtype.name]  # torch's ScalarType name: Float, ComplexFloat ...


def _convnd(input, weight, bias, stride, padding, dilation, groups, nd: int, name: str):
    weight = _check(input, weight, bias, nd, name,
                    (("stride", stride), ("padding", padding), ("dilation", dilation)),
                    groups=groups)
    unbatched = input.dim() == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d < 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if any(d == 0 for d in dilation):
        shown = [1, *dilation] if nd == 1 else list(dilation)  # torch runs 1-d as 2-d
        raise RuntimeError(f"dilation should be greater than zero, but got {shown}")
    ksize = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pad = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, ksize)]
            pad = tuple((t // 2, t - t // 2) for t in total)
            if any(t % 2 for t in total):
                from ..._config import _warn_once_outside

                # torch pads such an input by hand first, and says so once per process
                _warn_once_outside("conv_same_even_kernel", (
                    "Using padding='same' with even kernel lengths and odd dilation may "
                    "require a zero-padded copy of the input be created"))
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        p = _tuple(padding, nd, "padding")
        if any(v < 0 for v in p):
            raise RuntimeError("negative padding is not supported")
        if any(v > _INT_MAX for v in p):
            raise RuntimeError("value cannot be converted to type int without overflow")
        pad = tuple((v, v) for v in p)
    o = weight.shape[0]
    if o < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if o % groups:
        # PyTorch prints the size wrapped in an extra pair of brackets here ("[[3, 1, 3, 3]]").
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(weight.shape)}] "
                           "instead")
    if input.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(input.shape)} to have {weight.shape[1] * groups} channels, but got "
            f"{input.shape[1]} channels instead")
    if bias is not None and tuple(bias.shape) != (o,):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {o} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    padded = [n + lo + hi for n, (lo, hi) in zip(input.shape[2:], pad)]
    ext = [d * (k - 1) + 1 for d, k in zip(dilation, ksize)]
    if any(p < e for p, e in zip(padded, ext)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, ext))}). Kernel size can't be greater than "
            "actual input size")
    # a stride past the padded input leaves one window, as any stride that large does: cap it
    # so a huge stride (10**18) does not overflow the strided view's arithmetic
    stride = tuple(min(s, p) for s, p in zip(stride, padded))
    # bool (and small ints when dilated): torch has no loop, but an empty batch runs none
    if input._dtype in _CONV_REFUSED and input._data.size:
        refuse("conv_dilated" if any(d != 1 for d in dilation) else
               "conv3d" if nd == 3 else "conv", input._dtype)
    out = Conv.apply(input, weight, bias, stride, pad, dilation, groups)
    return out.squeeze(0) if unbatched else out


@named_node("ConvolutionBackward0")
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-d cross-correlation over ``(N, C_in, L)`` with weight ``(C_out, C_in/groups, k)``.

    Example:
        >>> F.conv1d(ember.randn(2, 3, 8), ember.randn(4, 3, 3)).shape
        torch.Size([2, 4, 6])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(conv1d, "conv1d", input, weight, bias, stride, padding, dilation,
                              groups)
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


@named_node("ConvolutionBackward0")
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-d cross-correlation over ``(N, C_in, H, W)``; ``padding`` may be 'same' or 'valid'.

    Example:
        >>> F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(4, 3, 3, 3), padding=1).shape
        torch.Size([1, 4, 5, 5])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(conv2d, "conv2d", input, weight, bias, stride, padding, dilation,
                              groups)
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


@named_node("ConvolutionBackward0")
def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-d cross-correlation over ``(N, C_in, D, H, W)``."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(conv3d, "conv3d", input, weight, bias, stride, padding, dilation,
                              groups)
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


_INT_MAX = 2**31 - 1


def _per_dim(name: str, values: tuple, sep: str) -> str:
    """torch's 'name_height: 1, name_width: 0' (1-d runs as 2-d with height 1)."""
    if len(values) == 1:
        values = (1, *values)
    axes = ("depth", "height", "width")[-len(values):]
    return sep.join(f"{name}_{a}: {v}" for a, v in zip(axes, values))


def _check_transposed_args(stride, pad, opad, dilation, groups) -> None:
    """PyTorch's checks of a transposed convolution's arguments, in its order."""
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(v < 0 for v in pad):
        raise RuntimeError("negative padding is not supported")
    if any(v < 0 for v in opad):
        raise RuntimeError("negative output_padding is not supported")
    if any(d < 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    # torch's kernels hold these as 32-bit ints: a huge value wraps, and is refused as such
    wrap = [((v + 2**31) % 2**32) - 2**31 for v in (*stride, *dilation)]
    if any(d == 0 for d in dilation) or any(v <= 0 for v in wrap[len(stride):]):
        raise RuntimeError("dilation should be greater than zero, but got "
                           + _per_dim("dilation", tuple(wrap[len(stride):]), ", "))
    if any(v <= 0 for v in wrap[:len(stride)]):
        raise RuntimeError("stride should be greater than zero, but got "
                           + _per_dim("stride", tuple(wrap[:len(stride)]), " "))
    if any(v > _INT_MAX for v in (*stride, *dilation, *pad, *opad)):
        raise RuntimeError("value cannot be converted to type int without overflow")


def _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation,
                      nd: int, name: str):
    weight = _check(input, weight, bias, nd, name,
                    (("stride", stride), ("padding", padding), ("dilation", dilation),
                     ("output_padding", output_padding)), transposed=True, groups=groups)
    unbatched = input.dim() == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    pad = _tuple(padding, nd, "padding")
    opad = _tuple(output_padding, nd, "output_padding")
    _check_transposed_args(stride, pad, opad, dilation, groups)
    if any(op >= s and op >= d for op, s, d in zip(opad, stride, dilation)):
        # torch names each value by its axis: output_padding_depth: 2 ... dilation_width: 1
        axes = ("depth", "height", "width")[3 - nd:] if nd > 1 else ("height", "width")
        values = (opad, stride, dilation) if nd > 1 else ((0, *opad), (1, *stride),
                                                          (1, *dilation))
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           "but got " + " ".join(
                               f"{what}_{axis}: {v}"
                               for what, vals in zip(("output_padding", "stride", "dilation"),
                                                     values)
                               for axis, v in zip(axes, vals)))
    if input.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected "
            f"input{list(input.shape)} to have {weight.shape[0]} channels, but got "
            f"{input.shape[1]} channels instead")
    if weight.shape[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(weight.shape)}] "
                           "instead")
    ksize = weight.shape[2:]
    size = [(i - 1) * s - 2 * p + d * (k - 1) + op + 1
            for i, s, p, d, k, op in zip(input.shape[2:], stride, pad, dilation, ksize, opad)]
    if any(v <= 0 for v in size):
        raise RuntimeError(f"Given input size per channel: {list(input.shape[2:])}, calculated "
                           f"output size per channel: {size}. Output size is too small")
    if input._dtype in _CONV_REFUSED and input._data.size:
        refuse("conv_transpose3d" if nd == 3 else "conv_transpose2d", input._dtype)
    low = input._dtype if input._dtype in (D.float16, D.bfloat16) and bias is not None \
        and weight._dtype is input._dtype and bias._dtype is input._dtype else None
    if low is not None:  # torch adds the bias in float32, before the output's one rounding
        input, weight, bias = input.float(), weight.float(), bias.float()
    out = ConvInput.apply(input, weight, in_size=tuple(size), stride=stride,
                          pad=tuple((p, p) for p in pad), dilation=dilation, groups=groups)
    if bias is not None:  # (a bias of another dtype is added in the input's, as torch)
        out = out + bias.to(input._dtype).reshape((-1,) + (1,) * nd)
    if low is not None:
        out = out.to(low)
    return out.squeeze(0) if unbatched else out


@named_node("ConvolutionBackward0")
def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-d transposed convolution; weight ``(C_in, C_out/groups, k)``.

    Example:
        >>> F.conv_transpose1d(ember.randn(1, 4, 5), ember.randn(4, 2, 3), stride=2).shape
        torch.Size([1, 2, 11])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(conv_transpose1d, "conv_transpose1d", input, weight, bias, stride,
                              padding, output_padding, groups, dilation)
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 1, "conv_transpose1d")


@named_node("ConvolutionBackward0")
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-d transposed convolution (the input gradient of ``conv2d``).

    Example:
        >>> F.conv_transpose2d(ember.randn(1, 4, 3, 3), ember.randn(4, 2, 3, 3), stride=2).shape
        torch.Size([1, 2, 7, 7])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(conv_transpose2d, "conv_transpose2d", input, weight, bias, stride,
                              padding, output_padding, groups, dilation)
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 2, "conv_transpose2d")


@named_node("ConvolutionBackward0")
def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-d transposed convolution."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(conv_transpose3d, "conv_transpose3d", input, weight, bias, stride,
                              padding, output_padding, groups, dilation)
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 3, "conv_transpose3d")
