"""``ember.onnx.load``: an ONNX file as an ``nn.Module`` that runs it with ember ops.

An ONNX file is data: loading parses the protobuf, checks every operator against the list
ember implements, reads weights (external data only from files inside the model's folder) and
builds a module; nothing in the file is executed as code.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from .._tensor import Tensor
from ..nn import Module, Parameter
from ._proto import require
from .errors import OnnxExporterError, UnsupportedOperatorError

_DOMAINS = ("", "ai.onnx")
_MIN_OPSET = 7


class ONNXModule(Module):
    """A module running an ONNX graph with ember ops (returned by :func:`load`).

    Initializers that hold weights are ``nn.Parameter``s, named after the initializers
    (``layer1.0.conv1.weight`` becomes submodule ``layer1.0.conv1``'s ``weight``, so
    ``state_dict()`` keys equal the initializer names); other initializers are buffers. The
    module is differentiable: fine-tune it with ``ember.optim`` like any other.

    Attributes:
        input_names, output_names: the graph's inputs (in ``forward``'s order) and outputs.
        initializer_names: ``{state_dict key: initializer name}`` where they differ (names with
            characters a module path cannot hold).
        opset: the file's ONNX opset.

    Example:
        >>> model = ember.onnx.load("model.onnx")
        >>> out = model(ember.randn(1, 3, 32, 32))
    """

    def __init__(self, nodes, input_names, output_names, tensors, trainable, opset, value_info):
        super().__init__()
        self._nodes = nodes
        self.input_names = list(input_names)
        self.output_names = list(output_names)
        self.opset = opset
        self._value_info = value_info
        self.initializer_names = {}
        self._where = {}  # initializer name -> (module, attribute)
        for name, arr in tensors.items():
            t = Tensor._make(np.array(arr), None)
            value = Parameter(t) if name in trainable else t
            self._place(name, value)

    def _place(self, name: str, value) -> None:
        parts = name.split(".")
        owner, ok = self, all(parts) and len(parts) > 1
        if ok:
            for part in parts[:-1]:
                child = owner._modules.get(part)
                if child is None:
                    if part in owner.__dict__ or hasattr(type(owner), part) or \
                            part in owner._parameters or part in owner._buffers:
                        ok = False
                        break
                    child = Module()
                    owner.add_module(part, child)
                owner = child
            leaf = parts[-1]
            if ok and (leaf in owner._modules or leaf in owner._parameters or
                       leaf in owner._buffers or hasattr(type(owner), leaf) or
                       leaf in owner.__dict__):
                ok = False
        if not ok:
            owner, leaf = self, name
            if "." in leaf or not leaf or hasattr(type(self), leaf) or leaf in self.__dict__ \
                    or leaf in self._modules or leaf in self._parameters or leaf in \
                    self._buffers:
                leaf = "_" + "".join(c if c.isalnum() or c == "_" else "_" for c in name)
                while leaf in self._parameters or leaf in self._buffers:
                    leaf += "_"
            key = leaf
            if key != name:
                self.initializer_names[key] = name
        if isinstance(value, Parameter):
            owner.register_parameter(leaf, value)
        else:
            owner.register_buffer(leaf, value)
        self._where[name] = (owner, leaf)

    def _initializer(self, name: str) -> Tensor:
        owner, leaf = self._where[name]
        t = owner._parameters.get(leaf)
        return t if t is not None else owner._buffers[leaf]

    def forward(self, *args, **kwargs):
        from ._import_ops import OPS

        if len(args) > len(self.input_names):
            raise TypeError(f"the model takes {len(self.input_names)} inputs "
                            f"({', '.join(self.input_names)}), got {len(args)}")
        env = dict(zip(self.input_names, args))
        for k, v in kwargs.items():
            if k not in self.input_names:
                raise TypeError(f"unknown input '{k}'; the model's inputs are "
                                f"{', '.join(self.input_names)}")
            env[k] = v
        missing = [n for n in self.input_names if n not in env]
        if missing:
            raise TypeError(f"missing inputs: {', '.join(missing)}")
        for name, value in list(env.items()):
            if not isinstance(value, Tensor):
                from .._creation import tensor

                env[name] = tensor(value)
        for name in self._where:
            env[name] = self._initializer(name)
        for op_type, inputs, outputs, attrs in self._nodes:
            handler = OPS[op_type]
            args_ = [env[i] if i else None for i in inputs]
            while args_ and args_[-1] is None:
                args_.pop()
            if op_type == "Split":
                result = handler(attrs, args_, len(outputs)) if "num_outputs" not in attrs \
                    and len(args_) < 2 and "split" not in attrs else handler(attrs, args_)
            else:
                result = handler(attrs, args_)
            for name, value in zip(outputs, result):
                if name:
                    env[name] = value
        outs = tuple(env[n] for n in self.output_names)
        return outs[0] if len(outs) == 1 else outs

    def extra_repr(self) -> str:
        return (f"inputs={self.input_names}, outputs={self.output_names}, "
                f"nodes={len(self._nodes)}, opset={self.opset}")


def _read(f):
    """(bytes, folder for external data or None)."""
    if isinstance(f, (bytes, bytearray, memoryview)):
        return bytes(f), None
    if hasattr(f, "read"):
        name = getattr(f, "name", None)
        folder = os.path.dirname(os.path.realpath(name)) if isinstance(name, str) and \
            os.path.exists(name) else None
        return f.read(), folder
    path = os.fspath(f)
    with open(path, "rb") as fh:
        return fh.read(), os.path.dirname(os.path.realpath(path))


def _external(tensor, folder, onnx):
    """A copy of ``tensor`` holding its external data, read only from a regular file inside
    ``folder``."""
    info = {e.key: e.value for e in tensor.external_data}
    location = info.get("location", "")
    if folder is None:
        raise OnnxExporterError(
            f"initializer '{tensor.name}' keeps its data in an external file ('{location}'); "
            "load the model from its path so the file can be found next to it")
    if not location or os.path.isabs(location) or location.startswith(("/", "\\")) or \
            os.path.splitdrive(location)[0]:
        raise OnnxExporterError(f"initializer '{tensor.name}': external data location "
                                f"'{location}' must be a relative path inside the model's "
                                "folder; refusing to read it")
    root = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(root, location))
    if os.path.commonpath([root, path]) != root:
        raise OnnxExporterError(f"initializer '{tensor.name}': external data location "
                                f"'{location}' leads outside the model's folder ({root}); "
                                "refusing to read it")
    if not os.path.isfile(path):
        raise OnnxExporterError(f"initializer '{tensor.name}': external data file '{location}' "
                                f"is missing (looked in {root})")
    size = os.path.getsize(path)
    try:
        offset = int(info.get("offset", 0) or 0)
        length = int(info["length"]) if info.get("length") else size - offset
    except ValueError:
        raise OnnxExporterError(f"initializer '{tensor.name}': external data offset "
                                f"{info.get('offset')!r:.40} or length {info.get('length')!r:.40} "
                                "is not an integer") from None
    if offset < 0 or length < 0 or offset + length > size:
        raise OnnxExporterError(f"initializer '{tensor.name}': external data range "
                                f"[{offset}, {offset + length}) lies outside '{location}' "
                                f"({size} bytes)")
    with open(path, "rb") as fh:
        fh.seek(offset)
        raw = fh.read(length)
    copy = onnx.TensorProto()
    copy.CopyFrom(tensor)
    del copy.external_data[:]
    copy.data_location = onnx.TensorProto.DEFAULT
    copy.raw_data = raw
    return copy


def _to_array(tensor, folder, onnx, what: str = "initializer"):
    """A TensorProto's data as an array, checked: dims that are non-negative and fit a NumPy
    array, data (in the file or in an external file inside ``folder``) that matches them. A
    mismatch is an OnnxExporterError naming the tensor, never NumPy's or onnx's own error."""
    dims = list(tensor.dims)
    extent = 1
    for d in dims:
        extent *= max(d, 1)
    if any(d < 0 for d in dims) or len(dims) > 64 or extent > (1 << 60):
        raise OnnxExporterError(f"{what} '{tensor.name}' has dims {dims[:8]}"
                                f"{'...' if len(dims) > 8 else ''}: dimensions must be "
                                "non-negative, at most 64 of them, and fit in memory")
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        tensor = _external(tensor, folder, onnx)
    try:
        return onnx.numpy_helper.to_array(tensor)
    except Exception as err:  # ValueError, TypeError, KeyError... from onnx and NumPy
        raise OnnxExporterError(
            f"{what} '{tensor.name}': its data does not match its dims {dims[:8]} and element "
            f"type {tensor.data_type} ({type(err).__name__}: {str(err)[:200]})") from None


def _attributes(node, onnx, folder) -> dict:
    out = {}
    for a in node.attribute:
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise UnsupportedOperatorError(
                f"operator {node.op_type} ('{node.name}') holds a subgraph (control flow); "
                "ember.onnx.load supports straight-line graphs only")
        if a.type in (onnx.AttributeProto.SPARSE_TENSOR, onnx.AttributeProto.SPARSE_TENSORS,
                      onnx.AttributeProto.TENSORS):
            raise UnsupportedOperatorError(
                f"operator {node.op_type} ('{node.name}') has a {a.name} attribute of a kind "
                "ember.onnx.load does not read (sparse tensors or tensor lists)")
        if a.type == onnx.AttributeProto.TENSOR:
            # Read now, checked as initializers are (external data only from the model's
            # folder), not when the graph runs.
            out[a.name] = _to_array(a.t, folder, onnx, f"operator {node.op_type} tensor")
            continue
        value = onnx.helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode("utf-8", "replace") for v in value]
        out[a.name] = value
    return out


def load(f) -> ONNXModule:
    """Load an ONNX model as an :class:`ONNXModule` (``nn.Module``) that runs it with ember ops.

    The weights become ``nn.Parameter``s named after the file's initializers, so the model can
    be fine-tuned with ``ember.optim``. Operators ember does not implement are listed all at
    once in an :class:`~ember.onnx.errors.UnsupportedOperatorError`. Loading never executes
    code from the file, and external weight files are read only from inside the model's
    folder.

    Args:
        f: a path, a binary file object, or the model's bytes.

    Example:
        >>> model = ember.onnx.load("resnet18.onnx")
        >>> optimizer = ember.optim.SGD(model.parameters(), lr=0.01)
    """
    onnx = require()
    data, folder = _read(f)
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as err:  # protobuf's DecodeError and friends
        raise OnnxExporterError(f"not an ONNX model: {err}") from None
    graph = proto.graph
    opset = next((o.version for o in proto.opset_import if o.domain in _DOMAINS), None)
    if opset is not None and opset < _MIN_OPSET:
        raise OnnxExporterError(f"the model uses opset {opset}; ember.onnx.load reads opset "
                                f"{_MIN_OPSET} and later")
    from ._import_ops import OPS

    unknown = Counter(f"{n.domain + '::' if n.domain not in _DOMAINS else ''}{n.op_type}"
                      for n in graph.node
                      if n.domain not in _DOMAINS or n.op_type not in OPS)
    if unknown:
        listed = ", ".join(f"{k} (x{v})" if v > 1 else k for k, v in sorted(unknown.items()))
        raise UnsupportedOperatorError(
            f"ember.onnx.load does not implement {len(unknown)} operator type(s) this model "
            f"uses: {listed}")
    nodes = [(n.op_type, list(n.input), list(n.output), _attributes(n, onnx, folder))
             for n in graph.node]
    tensors = {}
    for t in graph.initializer:
        tensors[t.name] = _to_array(t, folder, onnx)
    for t in graph.sparse_initializer:
        raise UnsupportedOperatorError(f"sparse initializer '{t.values.name}' is not supported")
    init_names = set(tensors)
    input_names = [i.name for i in graph.input if i.name not in init_names]
    output_names = [o.name for o in graph.output]
    # weights: floating-point initializers, except batch norm's running statistics and the
    # constants PyTorch's exporter folded ("onnx::Mul_12")
    stats = {name for op_type, inputs, _, _ in nodes if op_type == "BatchNormalization"
             for name in inputs[3:5]}
    trainable = {name for name, arr in tensors.items()
                 if arr.dtype.kind in "fc" and name not in stats
                 and not name.startswith("onnx::")}
    value_info = {v.name: v for v in list(graph.input) + list(graph.output)}
    return ONNXModule(nodes, input_names, output_names, tensors, trainable, opset, value_info)
