"""ONNX export and import (``torch.onnx``'s surface, plus ``load``, which PyTorch lacks).

``export(model, args, f, input_names=, output_names=, dynamic_axes=, opset_version=)`` captures
the model with ember's graph recorder (``ember.fx``) and writes an ONNX file with the ``onnx``
package; ``load(path)`` reads one back into an ``nn.Module`` whose parameters are named after
the file's initializers. Both need the optional extra: ``pip install "ember[onnx]"`` (which
also brings ``onnxruntime``, used by ``ONNXProgram.__call__``).

Example:
    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 2), ember.nn.ReLU())
    >>> ember.onnx.export(model, (ember.randn(1, 4),), "model.onnx",
    ...                   input_names=["x"], dynamic_axes={"x": {0: "batch"}})
"""

from . import errors
from ._export import (
    ONNXProgram,
    OperatorExportTypes,
    TrainingMode,
    export,
    is_in_onnx_export,
)
from ._import import ONNXModule, load
from .errors import OnnxExporterError

__all__ = ["export", "load", "ONNXModule", "ONNXProgram", "TrainingMode", "OperatorExportTypes",
           "is_in_onnx_export", "errors", "OnnxExporterError"]
