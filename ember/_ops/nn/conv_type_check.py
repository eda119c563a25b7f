"""torch's refusal of a convolution whose input, weight (or transposed bias) dtypes differ.

PyTorch words the refusal by the kernel it picked on the CPU, so the message a user sees (and a
program prints from ``except RuntimeError``) depends on the dtypes and the shapes:

- a complex input goes through ``complex_convolution``, which compares the types first:
  ``Input type (CPUComplexFloatType) and weight type (torch.FloatTensor) should be the same``;
- an input oneDNN (MKLDNN) takes (float16 and bfloat16 always, float32 unless the problem is
  tiny, see ``ConvParams::use_mkldnn``) gets ``... should be the same or input should be a
  MKLDNN tensor and weight is a dense tensor``;
- any other input reaches a native kernel, which reads the weight in the input's dtype:
  ``expected scalar type Float but found Double`` (conv.py raises that one).
"""

from __future__ import annotations

from ... import _dtype as D
from ..._errors import with_hint
from ..._tensor import Tensor

# the dtypes with a legacy tensor class, which ``Tensor.toString()`` prints as torch.FloatTensor
_LEGACY = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
           "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte"}
_MKLDNN_SUFFIX = " or input should be a MKLDNN tensor and {what} is a dense tensor"


def type_string(t: Tensor) -> str:
    """``Tensor.toString()`` as torch's messages print it: ``torch.FloatTensor``,
    ``torch.cuda.DoubleTensor``, or ``CPUComplexFloatType`` for dtypes without a legacy class.

    Example:
        >>> type_string(ember.ones(1, dtype=ember.cfloat))
        'CPUComplexFloatType'
    """
    cuda = t.device.type == "cuda"
    legacy = _LEGACY.get(t.dtype.name)
    if legacy is not None:
        return f"torch.cuda.{legacy}Tensor" if cuda else f"torch.{legacy}Tensor"
    return f"{'CUDA' if cuda else 'CPU'}{D.SCALAR_TYPE[t.dtype.name]}Type"


def _ints(value, nd: int) -> list:
    """stride/dilation as a list (lenient: the op validates them later)."""
    if isinstance(value, str):
        return [1] * nd
    try:
        return [int(value)] * nd if not hasattr(value, "__len__") else [int(v) for v in value]
    except (TypeError, ValueError):
        return [1] * nd


def uses_mkldnn(input: Tensor, weight: Tensor, nd: int, stride, dilation, groups) -> bool:
    """Whether torch's CPU convolution picks oneDNN for these tensors (``use_mkldnn``): it runs
    1-d convolutions as 2-d ones (a kernel of height 1), and skips oneDNN for small float32
    problems where its native kernel is faster."""
    from ... import get_num_threads

    if input.device.type != "cpu":
        return False
    if input._dtype in (D.float16, D.bfloat16):  # (on CPUs with AVX-512 bf16/fp16 support)
        return True
    if input._dtype is not D.float32:
        return False
    shape = list(input.shape) if input.dim() == nd + 2 else [1, *input.shape]
    kernel = list(weight.shape)
    if nd == 1:
        shape.insert(2, 1)
        kernel.insert(2, 1)
    strided = any(s != 1 for s in _ints(stride, nd))
    dilated = any(d != 1 for d in _ints(dilation, nd))
    batch = shape[0]
    worth_it = (strided or dilated or batch >= 16 or kernel[-1] != 1 or kernel[-2] != 1
                or get_num_threads() > 1)
    not_tiny = (groups > 1 or (kernel[-1] > 3 and kernel[-2] > 3) or batch > 1
                or shape[0] * shape[1] * shape[2] * shape[3] > 20480)
    return worth_it and not_tiny


def refuse_mixed_types(input: Tensor, weight: Tensor, bias, nd: int, stride, dilation, groups,
                       transposed: bool) -> None:
    """Raise torch's "should be the same" refusal where torch's kernel choice words it so (see
    the module notes); return quietly where a native kernel's message applies instead.

    Example:
        >>> refuse_mixed_types(ember.ones(1, 2, 5, dtype=ember.cfloat), ember.ones(2, 1, 3),
        ...                    None, 1, 1, 1, 2, False)
        RuntimeError: Input type (CPUComplexFloatType) and weight type (torch.FloatTensor) ...
    """
    if input._dtype.is_complex or input.device.type != "cpu":
        suffix = ""
    elif uses_mkldnn(input, weight, nd, stride, dilation, groups):
        suffix = _MKLDNN_SUFFIX
    else:
        return
    # only a transposed convolution reaches here with a bias of another dtype
    for what, other in (("weight", weight), ("bias", bias if transposed else None)):
        if other is not None and other._dtype is not input._dtype:
            raise with_hint(
                RuntimeError(f"Input type ({type_string(input)}) and {what} type "
                             f"({type_string(other)}) should be the same"
                             + suffix.format(what=what)),
                f"input is {input.dtype}, {what} is {other.dtype}; cast one with .to(dtype), "
                f"e.g. input.to({what}.dtype)")
