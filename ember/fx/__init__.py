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

Symbolic tracing, ``torch.fx``'s own API, lives here too: ``symbolic_trace(module)`` returns
a :class:`GraphModule` whose editable :class:`Graph` of :class:`Node` objects records the
program at the level of modules, functions and methods, with generated Python ``code``.
``ember.fx.Graph``/``Node`` are those traced-graph classes; the op-level graph of ``capture``
is ``ember.fx.graph.Graph`` (``Interpreter(captured_graph, module)`` still replays it).

    >>> gm = ember.fx.symbolic_trace(model)
    >>> print(gm.code)
"""

from ._symbolic_trace import Tracer, symbolic_trace, wrap
from .capture import CaptureError, GraphBreak, capture
from .graph_interpreter import Interpreter, Transformer
from .graph_module import GraphModule
from .node import Node, map_arg
from .proxy import Proxy
from .subgraph_rewriter import replace_pattern
from .symbolic_graph import Graph

__all__ = ["capture", "Graph", "Node", "GraphBreak", "CaptureError", "Interpreter",
           "symbolic_trace", "Tracer", "GraphModule", "Proxy", "Transformer", "map_arg",
           "wrap", "replace_pattern"]
