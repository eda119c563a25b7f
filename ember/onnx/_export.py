"""``ember.onnx.export``: capture the model, find what follows dynamic axes, write ONNX."""

from __future__ import annotations

import enum
import inspect
import os
import threading

import numpy as np

from .._backend import asarray_like, to_numpy
from .._tensor import Tensor
from ..fx import capture
from ..fx.graph import map_nodes
from ._builder import Builder, Value
from ._convert_tensor import CONVERTERS, OpCall
from ._proto import onnx_type, require
from ._symbolic import SymFill, SymInt, symbolize
from .errors import OnnxExporterError, SymbolicValueError, UnsupportedOperatorError

DEFAULT_OPSET = 20
MIN_OPSET, MAX_OPSET = 13, 21

_state = threading.local()


class TrainingMode(enum.IntEnum):
    """The mode a model is exported in (``torch.onnx.TrainingMode``): ``EVAL`` (the default)
    switches dropout off and batch norm to its running statistics for the export;
    ``PRESERVE`` keeps the model's mode; ``TRAINING`` exports the training behaviour.

    Example:
        >>> ember.onnx.TrainingMode.EVAL
        <TrainingMode.EVAL: 0>
    """

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """How ops are written (``torch.onnx.OperatorExportTypes``); ember writes standard ONNX
    operators only (``ONNX``).

    Example:
        >>> int(ember.onnx.OperatorExportTypes.ONNX)
        0
    """

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


def is_in_onnx_export() -> bool:
    """Whether an ``ember.onnx.export`` call is running (in this thread).

    Example:
        >>> ember.onnx.is_in_onnx_export()
        False
    """
    return getattr(_state, "exporting", False)


def _import_convert_modules():
    from . import _convert_nn  # noqa: F401  (registers the nn converters)


def _flatten_tensors(value, out):
    if isinstance(value, Tensor):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _flatten_tensors(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _flatten_tensors(v, out)
    return out


def _map_tensors(value, fn):
    if isinstance(value, Tensor):
        return fn(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_map_tensors(v, fn) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_map_tensors(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: _map_tensors(v, fn) for k, v in value.items()}
    return value


def _grow(t: Tensor, axes) -> Tensor:
    """``t`` one element longer along each of ``axes`` (the first slice repeated)."""
    data = t._data
    for axis in axes:
        n = data.shape[axis]
        data = np.take(data, list(range(n)) + [0], axis=axis)
    return Tensor._make(np.ascontiguousarray(data), t._dtype)


def _shuffle(t: Tensor, rng) -> Tensor:
    """``t``'s values in another order (same shape, dtype and range)."""
    data = to_numpy(t._data)  # shuffled on the host, then put back on the tensor's device
    flat = data.reshape(-1).copy()
    rng.shuffle(flat)
    if flat.size > 1 and np.array_equal(flat, data.reshape(-1)):
        flat = np.roll(flat, 1)
    return Tensor._make(asarray_like(flat.reshape(data.shape), t._data), t._dtype)


def _normalize_dynamic_axes(dynamic_axes, input_names, output_names) -> dict:
    """{name: {axis: symbol}}, with torch's generated names for list forms."""
    if not dynamic_axes:
        return {}
    known = set(input_names) | set(output_names)
    out = {}
    for key, axes in dynamic_axes.items():
        if key not in known:
            raise ValueError(
                f"dynamic_axes names '{key}', which is neither an input nor an output name "
                f"(inputs: {list(input_names)}, outputs: {list(output_names)}); pass "
                "input_names=/output_names= to name them")
        if isinstance(axes, dict):
            out[key] = {int(a): str(n) for a, n in axes.items()}
        else:
            out[key] = {int(a): f"{key}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    return out


def _dynamic_shapes_to_axes(dynamic_shapes, names) -> dict:
    if dynamic_shapes is None:
        return {}
    items = dynamic_shapes.items() if isinstance(dynamic_shapes, dict) else \
        zip(names, dynamic_shapes)
    out = {}
    for key, spec in items:
        if not spec:
            continue
        if not isinstance(spec, dict):
            raise TypeError("dynamic_shapes: give a dict {axis: name} per input "
                            f"(got {type(spec).__name__} for '{key}')")
        out[key] = {int(a): getattr(n, "__name__", None) or str(n) for a, n in spec.items()}
    return out


def _set_modes(model, training):
    saved = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    if training == TrainingMode.EVAL and saved:
        model.train(False)
    elif training == TrainingMode.TRAINING and saved:
        model.train(True)
    return saved


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None,
           output_names=None, opset_version=None, dynamo=True, external_data=True,
           dynamic_shapes=None, custom_translation_table=None, report=False, optimize=True,
           verify=False, profile=False, dump_exported_program=False, artifacts_dir=".",
           export_params=True, keep_initializers_as_inputs=False,
           dynamic_axes=None, training=TrainingMode.EVAL,
           operator_export_type=OperatorExportTypes.ONNX,
           do_constant_folding=True, custom_opsets=None, export_modules_as_functions=False,
           autograd_inlining=True):
    """Export ``model`` to ONNX (``torch.onnx.export``'s signature and defaults).

    The model runs once on ``args`` (in eval mode unless ``training`` says otherwise) with
    ember's graph recorder on; each recorded op becomes ONNX operators, parameters and buffers
    become initializers named as in ``state_dict``. The file is written with the ``onnx``
    package (``pip install "ember[onnx]"``).

    Args:
        model: an ``nn.Module`` (or a function of tensors).
        args: example inputs, a tuple (a single tensor is allowed); a trailing dict is taken
            as keyword inputs, as PyTorch does.
        f: a path or a binary file object; None writes nothing (use the returned program).
        input_names, output_names: names of the graph's inputs and outputs, in order.
        opset_version: the ONNX opset (13 to 21; default 20, PyTorch's).
        dynamic_axes: ``{name: {axis: axis_name}}`` or ``{name: [axis, ...]}``; those axes may
            have other sizes at run time (typically the batch). Sizes inside the model that
            follow them (a reshape to ``(batch, -1)``) are computed at run time.
        dynamic_shapes: ``{input_name: {axis: name}}``, another spelling of the same.
        export_params: write the weights (False: they become graph inputs).
        keep_initializers_as_inputs: list the weights among the inputs too.
        training: ``TrainingMode.EVAL`` (default), ``PRESERVE`` or ``TRAINING``.
        dynamo, external_data, optimize, do_constant_folding, ...: accepted for
            compatibility; ember has one exporter and writes weights inside the file
            (external data only for models over 2 GB).

    Attention whose query row has every key masked out runs in the file as in eager ember and
    eager PyTorch 2.13: zeros from ``scaled_dot_product_attention`` and from
    ``MultiheadAttention(need_weights=False)``, NaN with ``need_weights=True``. (PyTorch's
    TorchScript exporter, ``dynamo=False``, writes NaN there for ``need_weights=False``, unlike
    its eager.) An attention mask that is a graph input (or computed from one) is followed at
    run time, not baked in from the example.

    Returns:
        an :class:`ONNXProgram` (``.model_proto``, ``.save(path)``, and ``program(*inputs)``
        runs it in onnxruntime); None with ``dynamo=False``, as PyTorch's TorchScript-based
        exporter returns.

    Raises:
        UnsupportedOperatorError: an op has no ONNX counterpart (the message names it and the
            module it came from).
        SymbolicValueError: something in the model depends on a dynamic axis (or on the
            input's values) in a way the graph cannot express.
        GraphBreak: Python control flow on a tensor's value (``if x.sum() > 0``).

    Example:
        >>> model = ember.nn.Sequential(ember.nn.Linear(4, 2), ember.nn.Softmax(dim=1))
        >>> ember.onnx.export(model, (ember.randn(3, 4),), "model.onnx",
        ...                   input_names=["x"], output_names=["probs"],
        ...                   dynamic_axes={"x": {0: "batch"}, "probs": {0: "batch"}})
    """
    onnx = require()
    _import_convert_modules()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset_version={opset_version} is not supported: ember exports opsets "
                         f"{MIN_OPSET} to {MAX_OPSET} (default {DEFAULT_OPSET})")
    if operator_export_type is not None and \
            OperatorExportTypes(int(operator_export_type)) != OperatorExportTypes.ONNX:
        raise NotImplementedError("ember writes standard ONNX operators only "
                                  "(operator_export_type=OperatorExportTypes.ONNX)")
    if custom_translation_table or custom_opsets or export_modules_as_functions:
        raise NotImplementedError("custom_translation_table, custom_opsets and "
                                  "export_modules_as_functions are not supported by ember")
    from ..export import ExportedProgram

    if isinstance(model, ExportedProgram):  # torch.onnx.export(ep, ...): its model and inputs
        if not args and not kwargs:
            args, kwargs = model.example_inputs
        if dynamic_axes is None and dynamic_shapes is None:
            dynamic_axes = model._dynamic_axes() or None
        model = model._root
    if isinstance(args, Tensor):
        args = (args,)
    args = tuple(args)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        kwargs.update(args[-1])
        args = args[:-1]
    training = TrainingMode(int(training))
    saved_modes = _set_modes(model, training)
    _state.exporting = True
    try:
        proto, graph = _export(onnx, model, args, kwargs, opset, input_names, output_names,
                               dynamic_axes, dynamic_shapes, export_params,
                               keep_initializers_as_inputs)
    finally:
        _state.exporting = False
        for m, mode in saved_modes:
            m.training = mode
    if verbose:
        print(graph)
        print(onnx.helper.printable_graph(proto.graph))
    program = ONNXProgram(proto, graph)
    if f is not None:
        program.save(f, external_data=None if external_data else False)
    return program if dynamo else None


def _export(onnx, model, args, kwargs, opset, input_names, output_names, dynamic_axes,
            dynamic_shapes, export_params, keep_initializers_as_inputs):
    base = capture(model, *args, _mode="export", **kwargs)
    holders = base.placeholders
    in_names = [n.name for n in holders]
    if input_names is not None:
        input_names = list(input_names)
        if len(input_names) > len(in_names):
            raise ValueError(f"input_names has {len(input_names)} names but the model takes "
                             f"{len(in_names)} tensor inputs ({', '.join(in_names)})")
        in_names[:len(input_names)] = input_names
    out_nodes = _flatten_nodes(base.output_node.args[0])
    out_names = [f"output_{i}" if len(out_nodes) > 1 else "output"
                 for i in range(len(out_nodes))]
    if output_names is not None:
        output_names = list(output_names)
        out_names[:len(output_names)] = output_names[:len(out_names)]
    axes = _normalize_dynamic_axes(dynamic_axes, in_names, out_names)
    for key, spec in _dynamic_shapes_to_axes(dynamic_shapes, [n.name for n in holders]).items():
        key = in_names[[n.name for n in holders].index(key)] if key in \
            [n.name for n in holders] else key
        axes.setdefault(key, {}).update(spec)

    leaves = _flatten_tensors((args, kwargs), [])
    # each distinct symbol: the (input, axis) pairs it names
    symbols: dict = {}
    for i, name in enumerate(in_names):
        for axis, sym in axes.get(name, {}).items():
            rank = len(holders[i].meta["shape"])
            if not -rank <= axis < rank:
                raise ValueError(f"dynamic_axes: axis {axis} of input '{name}' is out of range "
                                 f"for its shape {list(holders[i].meta['shape'])}")
            symbols.setdefault(sym, []).append((i, axis % rank))
    sym_list = list(symbols)
    sizes = {}
    variants = []
    unique = list(dict.fromkeys(id(t) for t in leaves))
    by_id = {id(t): t for t in leaves}
    for sym in sym_list:
        grow = {}
        for i, axis in symbols[sym]:
            grow.setdefault(unique[i], []).append(axis)
        s0 = {holders[i].meta["shape"][axis] for i, axis in symbols[sym]}
        if len(s0) != 1:
            raise ValueError(f"dynamic axis '{sym}' has different sizes in the example inputs "
                             f"({sorted(s0)}); one name must mean one size")
        s0 = s0.pop()
        sizes[sym] = (s0, s0 + 1)
        grown = {k: _grow(by_id[k], v) for k, v in grow.items()}
        v_args, v_kwargs = _map_tensors((args, kwargs), lambda t, g=grown: g.get(id(t), t))
        try:
            variants.append(capture(model, *v_args, _mode="export", **v_kwargs))
        except Exception as err:
            raise SymbolicValueError(
                f"the model fails when the dynamic axis '{sym}' is {s0 + 1} instead of {s0} "
                f"({type(err).__name__}: {err}); check that the axis can really vary") from err
    info = symbolize(base, variants, sym_list, sizes, "with the dynamic axes")
    # the same capture on shuffled values must record the same graph
    rng = np.random.default_rng(0)
    shuffled = {id(t): _shuffle(t, rng) for t in leaves}
    s_args, s_kwargs = _map_tensors((args, kwargs), lambda t: shuffled.get(id(t), t))
    try:
        other = capture(model, *s_args, _mode="export", **s_kwargs)
    except Exception:
        other = None  # the model refuses other values (a mask that must be valid, say)
    if other is not None:
        symbolize(base, [other], [], {}, "with the input's values")

    b = Builder(opset)
    env: dict = {}
    graph_inputs = []
    for i, node in enumerate(holders):
        name = in_names[i]
        b.taken.add(name)
        dims = []
        for axis, n in enumerate(node.meta["shape"]):
            sym = axes.get(name, {}).get(axis)
            if sym is not None:
                b.dim_sources.setdefault(sym, (name, axis))
                dims.append(sym)
            else:
                dims.append(int(n))
        graph_inputs.append(onnx.helper.make_tensor_value_info(
            name, onnx_type(node.meta["dtype"]), dims))
        env[node] = Value(name, info[node][2], node.meta["dtype"])
    weights_as_inputs = []
    for node in base.nodes:
        if node.op == "placeholder" or node.op == "output":
            continue
        b.scope = node.meta.get("module_path", "")
        if node.op == "get_attr":
            env[node] = _attribute(b, base, node, info[node][3], export_params,
                                   weights_as_inputs)
            continue
        env[node] = _convert(b, node, info[node], env)
    out_values = [env[n] for n in out_nodes]
    outputs = _name_outputs(onnx, b, out_values, out_names, axes, graph_inputs)
    from ._rewrite import optimize

    optimize(b, [o.name for o in outputs])  # shorter attention and tanh-GELU sequences
    inputs = graph_inputs + weights_as_inputs
    if keep_initializers_as_inputs:
        for name, t in b.initializers.items():
            inputs.append(onnx.helper.make_tensor_value_info(name, t.data_type, list(t.dims)))
    graph = onnx.helper.make_graph(b.nodes, "main_graph", inputs, outputs,
                                   initializer=list(b.initializers.values()))
    opsets = [onnx.helper.make_opsetid("", opset)]
    from .. import __version__

    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="ember",
                                   producer_version=__version__)
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    return proto, base


def _flatten_nodes(structure):
    from ..fx.graph import Node

    out = []

    def walk(v):
        if isinstance(v, Node):
            out.append(v)
        elif isinstance(v, (tuple, list)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif v is not None:
            raise OnnxExporterError(f"the model returned {type(v).__name__} ({v!r}); ONNX "
                                    "graphs return tensors only")

    walk(structure)
    return out


def _attribute(b, graph, node, attribute, export_params, weights_as_inputs):
    onnx = b.onnx
    tensor = graph.attributes[node.target]
    if isinstance(attribute, SymFill):
        value = np.asarray([attribute.value], dtype=attribute.dtype.np_dtype)
        out = b.add("ConstantOfShape", [b.shape_tensor(attribute.shape)],
                    value=onnx.numpy_helper.from_array(value))
        return Value(out, attribute.shape, attribute.dtype)
    name = node.target
    if not export_params and not node.meta.get("constant"):
        b.taken.add(name)
        weights_as_inputs.append(onnx.helper.make_tensor_value_info(
            name, onnx_type(tensor.dtype), list(tensor.shape)))
        return Value(name, tuple(tensor.shape), tensor.dtype)
    data = tensor._data
    if type(data) is not np.ndarray:
        from .._backend import to_numpy

        data = to_numpy(data)
    if node.meta.get("constant"):  # made inside forward: a Constant, not a weight
        return Value(b.constant(data), tuple(data.shape), tensor.dtype)
    b.initializer(name, data)
    return Value(name, tuple(data.shape), tensor.dtype)


def _describe(node) -> str:
    path = node.meta.get("module_path")
    where = f" in module '{path}' ({node.meta.get('module_type')})" if path else \
        (f" in the model ({node.meta.get('module_type')})" if node.meta.get("module_type")
         else "")
    source = node.meta.get("source")
    return f"'{node.target_name}'{where}" + (f", called at {source}" if source else "")


def _convert(b, node, info, env):
    args, kwargs, shape, _ = info
    fn = CONVERTERS.get(node.target_name)
    if fn is None:
        raise UnsupportedOperatorError(
            f"ember op {_describe(node)} has no ONNX counterpart in ember's exporter. Replace it "
            "in the model (or open an issue naming the op).")

    def value(n):
        return env[n]

    args, kwargs = _bind(node.target, map_nodes(args, value), map_nodes(kwargs, value))
    dtype = node.meta.get("dtype")
    try:
        out = fn(OpCall(b, node, args, kwargs, shape, dtype))
    except UnsupportedOperatorError as err:
        raise UnsupportedOperatorError(f"cannot export {_describe(node)}: {err}") from None
    except TypeError as err:
        if "SymInt" not in str(err) and not _has_symint((args, kwargs)):
            raise
        raise SymbolicValueError(
            f"cannot export {_describe(node)} with these dynamic axes: one of its arguments "
            f"follows a dynamic axis ({err}). Keep that axis static.") from None
    if isinstance(out, tuple):
        shapes = shape if isinstance(shape, tuple) and shape and isinstance(shape[0], tuple) \
            else (None,) * len(out)
        dtypes = dtype if isinstance(dtype, tuple) else (dtype,) * len(out)
        return tuple(o if isinstance(o, Value) else Value(o, s, d)
                     for o, s, d in zip(out, shapes, dtypes))
    if isinstance(out, Value):
        return out
    result = Value(out, shape, dtype)
    if node.target_name == "tensor_data" and isinstance(args[0], Value) and \
            node.args[0].op == "get_attr":
        result.origin = args[0]
    return result


_SIGNATURES: dict = {}


def _bind(target, args, kwargs):
    """Arguments by position and by name (defaults filled in) from the op's forward signature,
    so a converter reads them the same way however the op was called."""
    fn = target.forward if isinstance(target, type) else getattr(target, "__wrapped__", target)
    sig = _SIGNATURES.get(fn)
    if sig is None:
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = False
        _SIGNATURES[fn] = sig
    if not sig or any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values()):
        return args, kwargs
    skip = 1 if isinstance(target, type) else 0  # forward's ctx
    try:
        bound = sig.bind(*([None] * skip), *args, **kwargs)
    except TypeError:
        return args, kwargs
    bound.apply_defaults()
    named = dict(list(bound.arguments.items())[skip:])
    extra = named.pop(next((p.name for p in sig.parameters.values()
                            if p.kind == p.VAR_KEYWORD), None), {}) or {}
    named.update(extra)
    return tuple(named.values()), named


def _has_symint(value) -> bool:
    if isinstance(value, SymInt):
        return True
    if isinstance(value, (tuple, list)):
        return any(_has_symint(v) for v in value)
    if isinstance(value, dict):
        return any(_has_symint(v) for v in value.values())
    if isinstance(value, slice):
        return any(_has_symint(v) for v in (value.start, value.stop, value.step))
    return False


def _name_outputs(onnx, b, values, names, axes, graph_inputs):
    """Give the output values their names (renaming the producing node's output, or an
    Identity where the value is an input, an initializer or returned twice)."""
    input_names = {i.name for i in graph_inputs}
    produced = {}
    for node in b.nodes:
        for k, o in enumerate(node.output):
            produced[o] = (node, k)
    seen = set()
    outputs = []
    for value, name in zip(values, names):
        src = value.name
        if src in produced and src not in seen and src not in input_names and \
                src not in b.initializers and name not in b.taken:
            node, k = produced[src]
            node.output[k] = name
            for other in b.nodes:
                for j, inp in enumerate(other.input):
                    if inp == src:
                        other.input[j] = name
            seen.add(src)
        else:
            b.nodes.append(onnx.helper.make_node("Identity", [src], [name],
                                                 name=b.fresh(f"/Identity_{name}")))
        b.taken.add(name)
        dims = []
        shape = value.shape if value.shape is not None else ()
        for axis, d in enumerate(shape):
            named = axes.get(name, {}).get(axis)
            if named is not None:
                dims.append(named)
            elif isinstance(d, SymInt):
                dims.append(d.symbols[0] if d.coeff == 1 and len(d.symbols) == 1
                            else f"{name}_dynamic_axes_{axis + 1}")
            else:
                dims.append(int(d))
        outputs.append(onnx.helper.make_tensor_value_info(
            name, onnx_type(value.dtype), dims if value.shape is not None else None))
    return outputs


class ONNXProgram:
    """The result of :func:`export`: the ONNX model and ways to save and run it
    (``torch.onnx.ONNXProgram``'s surface).

    Attributes:
        model_proto: the ``onnx.ModelProto``.
        graph: ember's captured graph the model was built from.

    Example:
        >>> program = ember.onnx.export(ember.nn.Linear(3, 2), (ember.randn(1, 3),))
        >>> program(ember.randn(1, 3))[0].shape
        torch.Size([1, 2])
    """

    def __init__(self, model_proto, graph=None):
        self.model_proto = model_proto
        self.graph = graph
        self._session = None

    def save(self, destination, *, include_initializers: bool = True,
             keep_initializers_as_inputs: bool = False, external_data=None) -> None:
        """Write the model to a path or a binary file object. Models over 2 GB (protobuf's
        limit) go with their weights in a ``<file>.data`` file next to them."""
        onnx = require()
        proto = self.model_proto
        if not include_initializers:
            proto = type(proto)()
            proto.CopyFrom(self.model_proto)
            del proto.graph.initializer[:]
        if keep_initializers_as_inputs:
            known = {i.name for i in proto.graph.input}
            for t in proto.graph.initializer:
                if t.name not in known:
                    proto.graph.input.append(onnx.helper.make_tensor_value_info(
                        t.name, t.data_type, list(t.dims)))
        if hasattr(destination, "write"):
            destination.write(proto.SerializeToString())
            return
        path = os.fspath(destination)
        big = proto.ByteSize() > 2**31 - 2**20
        if external_data or (external_data is None and big):
            onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=os.path.basename(path) + ".data")
        else:
            onnx.save_model(proto, path)

    def __call__(self, *args, **kwargs):
        """Run the model in onnxruntime on ember tensors; returns a list of ember tensors."""
        ort = require("onnxruntime")
        if self._session is None:
            self._session = ort.InferenceSession(self.model_proto.SerializeToString(),
                                                 providers=["CPUExecutionProvider"])
        tensors = _flatten_tensors((args, kwargs), [])
        feeds = {i.name: t.detach().numpy() for i, t in zip(self._session.get_inputs(), tensors)}
        from .._creation import from_numpy

        return [from_numpy(np.asarray(o)) for o in self._session.run(None, feeds)]

    def __repr__(self) -> str:
        g = self.model_proto.graph
        return (f"ONNXProgram(inputs={[i.name for i in g.input]}, "
                f"outputs={[o.name for o in g.output]}, nodes={len(g.node)})")
