"""The optional ``onnx`` package, loaded on first use, and dtype tables."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D


def require(name: str = "onnx"):
    """Import ``onnx`` (or ``onnxruntime``), or raise an ImportError naming ember's extra."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(
            f"ember.onnx needs the '{name}' package, which is not installed. Install it with "
            f"pip install \"ember[onnx]\" (or pip install {name}).") from err


def onnx_type(dtype) -> int:
    """The ``onnx.TensorProto`` data type of an ember dtype."""
    onnx = require()
    table = {D.float32: onnx.TensorProto.FLOAT, D.float64: onnx.TensorProto.DOUBLE,
             D.float16: onnx.TensorProto.FLOAT16, D.bfloat16: onnx.TensorProto.BFLOAT16,
             D.int64: onnx.TensorProto.INT64, D.int32: onnx.TensorProto.INT32,
             D.int16: onnx.TensorProto.INT16, D.int8: onnx.TensorProto.INT8,
             D.uint8: onnx.TensorProto.UINT8, D.bool: onnx.TensorProto.BOOL,
             D.complex64: onnx.TensorProto.COMPLEX64,
             D.complex128: onnx.TensorProto.COMPLEX128}
    try:
        return table[dtype]
    except KeyError:
        raise TypeError(f"ONNX has no type for {dtype}") from None


def numpy_dtype(onnx_elem_type: int) -> np.dtype:
    onnx = require()
    return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(onnx_elem_type))
