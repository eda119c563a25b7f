"""``ExportedProgram``: a captured model with its state and shape guards, as
``torch.export.ExportedProgram``.

The graph is ember's capture (:mod:`ember.fx`), replayed by the same machinery as
``ember.jit.trace``; what export adds is the signature (which graph input is which parameter or
buffer), the dynamic dimensions the user asked for, and the guards ``module()`` checks on every
call (``Guard failed: x.size()[1] == 4``).
"""

from __future__ import annotations

import linecache

from ..fx.graph import Node
from ..jit import TracedModule, _Replay
from .graph_signature import (
    ExportGraphSignature,
    InputKind,
    InputSpec,
    OutputKind,
    OutputSpec,
    TensorArgument,
)

__all__ = ["ExportedProgram"]

_ABBREV = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16",
           "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8",
           "bool": "b8", "complex64": "c64", "complex128": "c128"}


class Symbol(str):
    """A dynamic dimension's name as a ``range_constraints`` key (prints bare, as torch's
    sympy symbols do)."""

    def __repr__(self) -> str:
        return str(self)


class ValueRange:
    """The inclusive range a dynamic dimension may take (``VR[2, int_oo]``)."""

    def __init__(self, lower: int, upper):
        self.lower, self.upper = lower, upper

    def __repr__(self) -> str:
        return f"VR[{self.lower}, {self.upper}]"

    def __eq__(self, other) -> bool:
        return isinstance(other, ValueRange) and (self.lower, self.upper) == (other.lower,
                                                                             other.upper)

    def __hash__(self) -> int:
        return hash((self.lower, repr(self.upper)))


class _GuardedReplay(_Replay):
    """The replay with export's guards: static sizes must equal the example's, dynamic ones
    stay in their range and equal wherever they share a dimension."""

    def __init__(self, graph, info, symbols, dynamic, names, ranges, axes_of):
        super().__init__(graph, info, symbols, dynamic)
        self.names = names        # placeholder index -> user-facing name
        self.ranges = ranges      # symbol -> (min, max)
        self.axes_of = axes_of    # (placeholder index, axis) -> symbol

    def check(self, leaves):
        if len(leaves) != len(self.specs):
            raise TypeError(f"the exported program takes {len(self.specs)} tensor inputs, got "
                            f"{len(leaves)}")
        first = {}
        for i, ((shape, dtype), t) in enumerate(zip(self.specs, leaves)):
            got, name = t._data.shape, self.names[i]
            if got == shape and t._dtype is dtype and not self.axes_of:
                continue
            if len(got) != len(shape):
                raise AssertionError(f"Guard failed: {name}.dim() == {len(shape)}")
            if t._dtype is not dtype:
                raise AssertionError(f"Guard failed: {name}.dtype == {dtype}")
            for axis, (g, s) in enumerate(zip(got, shape)):
                sym = self.axes_of.get((i, axis))
                where = f"{name}.size()[{axis}]"
                if sym is None:
                    if g != s:
                        raise AssertionError(f"Guard failed: {where} == {s}")
                    continue
                lo, hi = self.ranges[sym]
                if g < lo:
                    raise AssertionError(f"Guard failed: {where} >= {lo}")
                if g > hi:
                    raise AssertionError(f"Guard failed: {where} <= {hi}")
                if sym in first and first[sym][1] != g:
                    raise AssertionError(f"Guard failed: {where} == {first[sym][0]}")
                first.setdefault(sym, (where, g))


class GraphModule(TracedModule):
    """The module :meth:`ExportedProgram.module` returns: it replays the exported graph on the
    program's parameters and buffers (the model's own tensors, not copies), checking the
    guards on each call.

    Example:
        >>> ep = ember.export.export(ember.nn.Linear(3, 2), (ember.randn(4, 3),))
        >>> ep.module()(ember.randn(4, 3)).shape
        torch.Size([4, 2])
    """

    def print_readable(self, print_output: bool = True) -> str:
        """The graph as Python-like text (printed unless ``print_output=False``)."""
        text = self.code
        if print_output:
            print(text)
        return text

    def extra_repr(self) -> str:
        return ""


class ExportedProgram:
    """A model captured by :func:`ember.export.export`: its graph, its state and the shapes it
    accepts.

    Attributes:
        graph: the captured :class:`ember.fx.graph.Graph`.
        graph_signature: which graph input is a parameter, a buffer or the user's.
        state_dict: the parameters and persistent buffers (the model's own tensors).
        range_constraints: each dynamic dimension's allowed sizes.
        example_inputs: ``(args, kwargs)`` it was exported with.

    Example:
        >>> ep = ember.export.export(ember.nn.Linear(3, 2), (ember.randn(4, 3),))
        >>> print(ep)
        >>> ep.module()(ember.randn(4, 3))
    """

    def __init__(self, root, graph, replay, signature, input_nodes, range_constraints,
                 example_inputs, constants):
        self._root = root
        self._input_nodes = input_nodes  # the graph node behind each input spec (or None)
        self.graph = graph
        self._replay = replay
        self.graph_signature = signature
        self.range_constraints = range_constraints
        self.example_inputs = example_inputs
        self.constants = constants

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Unable to call ExportedProgram directly. You should use "
                           "`exported_program.module()` instead.")

    def module(self) -> GraphModule:
        """A module that runs the program (the guards checked on each call)."""
        args, kwargs = self.example_inputs
        return GraphModule(self._root, self.graph, self._replay, (args, kwargs))

    @property
    def graph_module(self) -> GraphModule:
        """The program as a module (``module()``)."""
        return self.module()

    @property
    def state_dict(self) -> dict:
        """Parameter and persistent-buffer paths -> the model's tensors."""
        out = {}
        for spec in self.graph_signature.input_specs:
            if spec.kind is InputKind.PARAMETER or (spec.kind is InputKind.BUFFER
                                                    and spec.persistent):
                out[spec.target] = self._state(spec.target)
        return out

    def _state(self, target: str):
        owner, _, leaf = target.rpartition(".")
        module = self._root.get_submodule(owner) if owner else self._root
        value = module._parameters.get(leaf)
        return value if value is not None else module._buffers[leaf]

    def named_parameters(self):
        """``(path, parameter)`` pairs, in the signature's order."""
        for path in self.graph_signature.parameters:
            yield path, self._state(path)

    def parameters(self):
        """The parameters, in the signature's order."""
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self):
        """``(path, buffer)`` pairs (non-persistent ones included), in the signature's order."""
        for path in self.graph_signature.buffers:
            yield path, self._state(path)

    def buffers(self):
        """The buffers, in the signature's order."""
        for _, b in self.named_buffers():
            yield b

    def _dynamic_axes(self) -> dict:
        """``{input name: {axis: dimension name}}`` (ONNX's ``dynamic_axes``)."""
        holders = self.graph.placeholders
        axes: dict = {}
        for (i, axis), sym in self._replay.axes_of.items():
            axes.setdefault(holders[i].name, {})[axis] = sym
        return axes

    def run_decompositions(self, decomp_table=None, decompose_custom_triton_ops=False):
        """A program with the graph in core ops. ember's captured ops are its own core set
        already, so the result holds the same graph (a new program, as torch returns)."""
        return ExportedProgram(self._root, self.graph, self._replay, self.graph_signature,
                               self._input_nodes, dict(self.range_constraints), self.example_inputs,
                               dict(self.constants))

    def __str__(self) -> str:
        heads = [spec.arg.name + (_shape_text(n.meta.get("shape"), n.meta.get("dtype"),
                                              self._replay.info.get(n))
                                  if n is not None else
                                  _shape_text(self._state(spec.target).shape,
                                              self._state(spec.target).dtype, None))
                 for spec, n in zip(self.graph_signature.input_specs, self._input_nodes)]
        body = _readable(self.graph, self._replay.info, self.graph_signature,
                         self._input_nodes, heads)
        body = "\n".join("    " + line if line else line for line in body.splitlines())
        ranges = ", ".join(f"{k!r}: {v!r}" for k, v in self.range_constraints.items())
        return (f"ExportedProgram:\n{body}\nGraph signature: "
                + "\n".join("    " + line if line else line
                            for line in str(self.graph_signature).splitlines())
                + f"\n\nRange constraints: {{{ranges}}}\n")

    __repr__ = __str__


def _shape_text(shape, dtype, info) -> str:
    """``: "f32[s0, 3]"``: a value's dtype and shape (sizes that follow a dynamic dimension by
    its name, from the symbolic ``info`` of its node when there is one)."""
    if info is not None and info[2] is not None:
        shape = info[2]
    if shape is None or dtype is None:
        return ""
    abbrev = _ABBREV.get(dtype.name, dtype.name)
    return f': "{abbrev}[{", ".join(str(s) for s in shape)}]"'


def _readable(graph, info, signature, input_nodes, heads) -> str:
    """The program as torch prints it: a ``forward`` whose arguments are the state then the
    user's inputs, one line per op with its result's dtype and shape, and the source line each
    group of ops came from."""
    def fmt(v):
        if isinstance(v, Node):
            return names.get(v, v.name)
        if isinstance(v, tuple):
            inner = ", ".join(fmt(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k!r}: {fmt(x)}" for k, x in v.items()) + "}"
        return repr(v)

    names = {n: spec.arg.name for spec, n in zip(signature.input_specs, input_nodes)
             if n is not None}
    params = ", ".join(heads)
    lines = ["class GraphModule(torch.nn.Module):", f"    def forward(self, {params}):"]
    last_source = None
    for n in graph.nodes:
        if n.op != "call_function":
            continue
        source = n.meta.get("source")
        if source and source != last_source:
            if last_source is not None:
                lines.append("")
            fname, _, line = source.rpartition(":")
            code = linecache.getline(fname, int(line)).strip() if line.isdigit() else ""
            lines.append(f"        # File: {source}, code: {code}")
            last_source = source
        args, kwargs = info[n][:2] if info is not None else (n.args, n.kwargs)
        parts = [fmt(a) for a in args] + [f"{k}={fmt(v)}" for k, v in kwargs.items()]
        shape = _shape_text(n.meta.get("shape"), n.meta.get("dtype"), info.get(n))
        lines.append(f"        {n.name}{shape} = ember.ops.{n.target_name}"
                     f"({', '.join(parts)})")
    outs = [s.arg.name for s in signature.output_specs]
    lines.append(f"        return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    return "\n".join(lines) + "\n"


def build_signature(root, graph) -> tuple:
    """The signature of ``graph`` captured from ``root`` (every parameter, then every buffer,
    then the constants the capture made, then the user's inputs, as torch lists them), the
    graph node behind each input, and the constants."""
    by_target = {n.target: n for n in graph.nodes if n.op == "get_attr"}
    specs, nodes, constants = [], [], {}
    for path, _ in root.named_parameters():
        specs.append(InputSpec(InputKind.PARAMETER,
                               TensorArgument("p_" + path.replace(".", "_")), path))
        nodes.append(by_target.pop(path, None))
    for prefix, module in root.named_modules():
        for name, b in module._buffers.items():
            if b is None:
                continue
            path = f"{prefix}.{name}" if prefix else name
            specs.append(InputSpec(InputKind.BUFFER, TensorArgument("b_" + path.replace(".", "_")),
                                   path, name not in module._non_persistent_buffers_set))
            nodes.append(by_target.pop(path, None))
    for node in by_target.values():  # tensors the forward made (constants of the graph)
        name = f"c_{node.name}"
        constants[name] = graph.attributes.get(node.target)
        specs.append(InputSpec(InputKind.CONSTANT_TENSOR, TensorArgument(name), name))
        nodes.append(node)
    for node in graph.placeholders:
        specs.append(InputSpec(InputKind.USER_INPUT, TensorArgument(node.name), None))
        nodes.append(node)
    outputs = []
    out = graph.output_node.args[0]
    leaves = out if isinstance(out, (tuple, list)) else [out]
    for value in leaves:
        name = value.name if isinstance(value, Node) else repr(value)
        outputs.append(OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(name), None))
    return ExportGraphSignature(specs, outputs), nodes, constants
