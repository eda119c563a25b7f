"""Event names: the aten op torch's profiler shows for an ember ``Op`` class.

ember's op classes do not map one to one onto aten ops (``Linear`` is ``aten::linear``, which
in torch runs ``aten::addmm`` underneath; ember's ``Sum`` and ``SumDim`` are both
``aten::sum``), so the common ones are listed here by class name and every other op is named
``ember::<ClassName>``: a profile never shows an aten name for a call torch would name
differently.
"""

from __future__ import annotations

# ops whose aten name is the class name in lower case
_SAME = (
    "Abs Acos Acosh Angle Asin Asinh Atan Atan2 Atanh Ceil Copysign Cos Cosh Cumprod Cumsum "
    "Deg2rad Digamma Elu Erf Erfc Erfinv Exp Exp2 Expm1 Floor Fmax Fmin Fmod Frac Gelu "
    "Hardswish Hypot I0 Lerp Lgamma Log Log10 Log1p Log2 Logit Maximum Minimum Mish Mul Neg "
    "Polygamma Prod Rad2deg Reciprocal Relu Remainder Round Rsqrt Sigmoid Sign Silu Sin Sinh "
    "Softplus Sqrt Tan Tanh Trunc Xlogy Add Sub Div Pow Clone Expand Permute View Reshape "
    "Transpose Unsqueeze Cat Stack Split Flip Roll Repeat Gather Take Where Var Std Trace "
    "Diagonal Unfold Bmm Matmul Einsum Embedding Softmax Mean Sum Conj"
).split()

_OTHER = {
    "Linear": "aten::linear",
    "MseLoss": "aten::mse_loss",
    "HuberLoss": "aten::huber_loss",
    "SmoothL1Loss": "aten::smooth_l1_loss",
    "SoftMarginLoss": "aten::soft_margin_loss",
    "BinaryCrossEntropyWithLogits": "aten::binary_cross_entropy_with_logits",
    "AddMatmul": "aten::addmm",
    "Conv": "aten::convolution",
    "ClampMin": "aten::clamp_min",
    "ClampMax": "aten::clamp_max",
    "Clamp": "aten::clamp",
    "ClampScalar": "aten::clamp",
    "SumDim": "aten::sum",
    "MeanDim": "aten::mean",
    "PowScalar": "aten::pow",
    "DivMode": "aten::div",
    "FloorDivide": "aten::floor_divide",
    "LogAddExp": "aten::logaddexp",
    "LogSoftmax": "aten::log_softmax",
    "LogSumExp": "aten::logsumexp",
    "LogCumSumExp": "aten::logcumsumexp",
    "NanToNum": "aten::nan_to_num",
    "NllLoss": "aten::nll_loss",
    "SoftmaxCrossEntropy": "aten::cross_entropy_loss",
    "BinaryCrossEntropy": "aten::binary_cross_entropy",
    "Attention": "aten::scaled_dot_product_attention",
    "TransposeT": "aten::t",
    "Squeeze": "aten::squeeze",
    "SqueezeDim": "aten::squeeze",
    "SqueezeDims": "aten::squeeze",
    "Alias": "aten::alias",
    "Cast": "aten::to",
    "ToDevice": "aten::to",
    "Copy": "aten::copy_",
    "Zero": "aten::zero_",
    "AsStrided": "aten::as_strided",
    "MaskedFill": "aten::masked_fill",
    "MaskedSelect": "aten::masked_select",
    "IndexSelect": "aten::index_select",
    "AdvancedIndex": "aten::index",
    "_TiedIndex": "aten::index",  # reflection/replication padding's first gather
    "IndexPut": "aten::index_put_",
    "ConstantPad": "aten::constant_pad_nd",
    "DiagEmbed": "aten::diag_embed",
    "VectorNorm": "aten::linalg_vector_norm",
    "Inv": "aten::linalg_inv",
    "Det": "aten::linalg_det",
    "SlogDet": "aten::linalg_slogdet",
    "Solve": "aten::linalg_solve",
    "Cholesky": "aten::linalg_cholesky",
    "LinalgMatrixExp": "aten::linalg_matrix_exp",
    "LinalgSolveTriangular": "aten::linalg_solve_triangular",
    "ViewAsReal": "aten::view_as_real",
    "ViewAsComplex": "aten::view_as_complex",
    "ScatterReduce": "aten::scatter_reduce",
    "CtcLoss": "aten::ctc_loss",
}

OP_NAMES = {name: f"aten::{name.lower()}" for name in _SAME}
OP_NAMES.update(_OTHER)

_cache: dict = {}


def op_name(cls) -> str:
    """The profiler's name for an op class: torch's aten name where listed, else
    ``ember::<ClassName>``.

    Example:
        >>> from ember._ops.nn.linear_softmax import Linear
        >>> op_name(Linear)
        'aten::linear'
    """
    name = _cache.get(cls)
    if name is None:
        name = _cache[cls] = OP_NAMES.get(cls.__name__) or f"ember::{cls.__name__}"
    return name
