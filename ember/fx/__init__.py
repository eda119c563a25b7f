"""Graph capture, ``torch.fx``-style: run a module once on example inputs and get its graph.

``capture(model, *example_inputs)`` returns a :class:`Graph` of the ember ops the run applied
(parameters and buffers as named ``get_attr`` nodes, inputs as ``placeholder`` nodes, the
returned structure in the ``output`` node). ONNX export, ``jit.trace`` and ``compile`` are
built on it. ``graph.print_tabular()``, ``str(graph)`` and ``graph.to_dot()`` show what the
model does.

Example:
    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
    >>> graph = ember.fx.capture(model, ember.randn(2, 4))
    >>> print(graph)
"""

from .capture import CaptureError, GraphBreak, capture
from .graph import Graph, Node
from .interpreter import Interpreter

__all__ = ["capture", "Graph", "Node", "GraphBreak", "CaptureError", "Interpreter"]
