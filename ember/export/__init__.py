"""Whole-graph export, as ``torch.export``: capture a model once, with the input sizes that may
vary named, and get an :class:`ExportedProgram` to inspect, run (``ep.module()``), save or
hand to ``ember.onnx.export``.

ember's capture (:mod:`ember.fx`) records the ops one eager run applies; export checks that
the graph does not depend on the example's values (Python control flow on tensor values raises
:class:`ember.fx.GraphBreak`, naming the line) and, for each dynamic dimension, captures again
with that size one larger to learn which sizes follow it. A dimension marked dynamic that the
model fixes is an error, as in torch; ``Dim.AUTO`` quietly keeps it static.

Differences from torch: the graph holds ember's ops (``ember.ops.linear``), not ATen's; the
dynamic dimensions print under their ``Dim`` names (``s0``, ``s1`` for ``Dim.AUTO``/``DYNAMIC``);
``save``/``load`` write and read ONNX (the ``onnx`` extra), not torch's ``.pt2`` archive.

Example:
    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
    >>> batch = ember.export.Dim("batch", max=1024)
    >>> ep = ember.export.export(model, (ember.randn(2, 4),), dynamic_shapes=({0: batch},))
    >>> ep.module()(ember.randn(7, 4)).shape
    torch.Size([7, 3])
"""

from __future__ import annotations

import numpy as np

from .. import nn
from .._tensor import Tensor
from ..fx.capture import _input_names, capture
from ..jit import _leaves
from .dynamic_shapes import Dim, _DimHint, dims, int_oo
from .exported_program import ExportedProgram, Symbol, ValueRange, _GuardedReplay, build_signature
from .graph_signature import ExportGraphSignature

__all__ = ["export", "save", "load", "Dim", "dims", "ExportedProgram", "ExportGraphSignature",
           "UserError"]


class UserError(RuntimeError):
    """A mistake in how export was called or what it was asked for (``torch._dynamo.exc.
    UserError``): arguments of the wrong kind, or a dynamic dimension the model fixes."""


_AFTER = ("\nThe error above occurred when calling ember.export.export.")


def export(mod, args, kwargs=None, *, dynamic_shapes=None, strict=False,
           preserve_module_call_signature=(), prefer_deferred_runtime_asserts_over_guards=False):
    """Capture ``mod(*args, **kwargs)`` as an :class:`ExportedProgram`.

    Args:
        mod: the ``nn.Module`` to export (its train/eval mode is the one recorded).
        args: a tuple of example positional inputs.
        kwargs: example keyword inputs (a dict).
        dynamic_shapes: which input sizes may vary: a dict keyed by ``forward``'s argument
            names, or a tuple/list in the inputs' order, giving per tensor ``{axis: Dim}`` (or a
            list with one entry per axis; ``None`` keeps an axis static). ``Dim.AUTO`` makes an
            axis dynamic where the model allows it, ``Dim.DYNAMIC`` insists on it,
            ``Dim.STATIC`` keeps it.
        strict: accepted for torch's signature (ember always traces the Python it runs).

    Raises:
        UserError: ``args`` not a tuple, ``dynamic_shapes`` naming unknown arguments, or a
            dynamic dimension that the model's ops fix to the example's size.
        ember.fx.GraphBreak: Python control flow on a tensor's value (``if x.sum() > 0``).

    Example:
        >>> ep = ember.export.export(ember.nn.Linear(3, 2), (ember.randn(4, 3),))
        >>> print(ep.graph_signature)
    """
    from ..onnx._export import _grow, _map_tensors, _shuffle
    from ..onnx._symbolic import symbolize
    from ..onnx.errors import SymbolicValueError

    if not isinstance(mod, nn.Module):
        raise ValueError(f"Expected `mod` to be an instance of `torch.nn.Module`, got "
                         f"{type(mod)}.")
    if not isinstance(args, tuple):
        raise UserError(f"Expecting `args` to be a tuple of example positional inputs, got "
                        f"{type(args)}" + _AFTER)
    kwargs = dict(kwargs or {})
    base = capture(mod, *args, _mode="export", **kwargs)
    holders = base.placeholders
    leaves = _leaves(args, kwargs)  # each input tensor once, in placeholder order
    index_of = {id(t): i for i, (_, t) in enumerate(leaves)}
    wanted = _axis_specs(mod, args, kwargs, dynamic_shapes)

    # one symbol per named Dim (shared wherever it is used) or per AUTO/DYNAMIC axis
    symbols: dict = {}   # symbol -> [(placeholder index, axis)]
    kinds, ranges = {}, {}
    auto = 0
    for tid, axes in wanted.items():
        i = index_of[tid]
        shape = holders[i].meta["shape"]
        for axis, spec in axes.items():
            if not -len(shape) <= axis < len(shape):
                raise UserError(f"dynamic_shapes gives axis {axis} of input "
                                f"'{holders[i].name}', which has shape {list(shape)}" + _AFTER)
            axis %= len(shape)
            if spec is None or spec is Dim.STATIC:
                continue
            if isinstance(spec, Dim):
                sym, kind, lo, hi = spec.__name__, "named", spec.min, spec.max
            elif isinstance(spec, _DimHint):
                sym, kind, lo, hi = f"s{auto}", spec.kind, 2, int_oo
                auto += 1
            else:
                raise UserError(f"dynamic_shapes: axis {axis} of input '{holders[i].name}' is "
                                f"given {spec!r}; use an ember.export.Dim, Dim.AUTO, "
                                "Dim.DYNAMIC, Dim.STATIC or None" + _AFTER)
            size = shape[axis]
            if kind == "named" and not lo <= size <= hi:
                raise UserError(f"{size} not in range [{lo}, {hi}]" + _AFTER)
            symbols.setdefault(sym, []).append((i, axis))
            kinds[sym], ranges[sym] = kind, (lo, hi)

    sizes, variants, kept = {}, [], []
    for sym, places in symbols.items():
        s0 = {holders[i].meta["shape"][a] for i, a in places}
        if len(s0) != 1:
            raise UserError(f"the dynamic dimension '{sym}' has different sizes in the example "
                            f"inputs ({sorted(s0)}); one dimension must mean one size" + _AFTER)
        s0 = s0.pop()
        variant = None
        if s0 >= 2:  # sizes 0 and 1 are specialised, as torch does
            grow: dict = {}
            for i, a in places:
                grow.setdefault(i, []).append(a)
            grown = {id(leaves[i][1]): _grow(leaves[i][1], a) for i, a in grow.items()}
            v_args, v_kwargs = _map_tensors((args, kwargs), lambda t, g=grown: g.get(id(t), t))
            try:
                variant = capture(mod, *v_args, _mode="export", **v_kwargs)
                symbolize(base, [variant], [sym], {sym: (s0, s0 + 1)}, "with the dimension")
            except Exception:
                variant = None
        if variant is None:
            if kinds[sym] != "AUTO":
                raise UserError(
                    f"Constraints violated ({sym})!\n  - You marked {sym} as dynamic but your "
                    f"code specialized it to be a constant ({s0}). If you're using "
                    "Dim.DYNAMIC, replace it with either Dim.STATIC or Dim.AUTO." + _AFTER)
            continue
        sizes[sym] = (s0, s0 + 1)
        variants.append(variant)
        kept.append(sym)
    info = symbolize(base, variants, kept, sizes, "with the dynamic dimensions")
    # the same capture on shuffled values must record the same graph: anything else was
    # computed from the example's values and would be baked in
    rng = np.random.default_rng(0)
    shuffled = {id(t): _shuffle(t, rng) for _, t in leaves}
    s_args, s_kwargs = _map_tensors((args, kwargs), lambda t: shuffled.get(id(t), t))
    try:
        other = capture(mod, *s_args, _mode="export", **s_kwargs)
    except Exception:
        other = None  # the model refuses other values (a mask that must be valid, say)
    if other is not None:
        try:
            symbolize(base, [other], [], {}, "with the input's values")
        except SymbolicValueError as err:
            raise UserError(str(err) + _AFTER) from None

    axes_of = {place: sym for sym in kept for place in symbols[sym]}
    replay = _GuardedReplay(base, info, {s: symbols[s][0] for s in kept}, set(axes_of),
                            [n.name for n in holders], {s: ranges[s] for s in kept}, axes_of)
    signature, input_nodes, constants = build_signature(mod, base)
    range_constraints = {Symbol(s): ValueRange(*ranges[s]) for s in kept}
    return ExportedProgram(mod, base, replay, signature, input_nodes, range_constraints,
                           (args, kwargs), constants)


def _axis_specs(mod, args, kwargs, dynamic_shapes) -> dict:
    """``{id(tensor): {axis: spec}}`` from ``dynamic_shapes`` (matched against the inputs'
    structure)."""
    if dynamic_shapes is None:
        return {}
    names = _input_names(mod, len(args), kwargs)
    combined = dict(zip(names, args))
    combined.update(kwargs)
    if isinstance(dynamic_shapes, dict):
        unknown = [k for k in dynamic_shapes if k not in combined]
        if unknown:
            raise UserError(
                "When `dynamic_shapes` is specified as a dict, its top-level keys must be the "
                f"arg names {list(combined)} of `inputs`, but here they are "
                f"{list(dynamic_shapes)}. Alternatively, you could also ignore arg names "
                "entirely and specify `dynamic_shapes` as a list/tuple matching `inputs`."
                + _AFTER)
        pairs = [(combined[k], v) for k, v in dynamic_shapes.items()]
    elif isinstance(dynamic_shapes, (tuple, list)):
        values = list(combined.values())
        if len(dynamic_shapes) != len(values):
            raise UserError(f"dynamic_shapes has {len(dynamic_shapes)} entries but the inputs "
                            f"are {len(values)} ({', '.join(combined)}); give one per input"
                            + _AFTER)
        pairs = list(zip(values, dynamic_shapes))
    else:
        raise UserError(f"dynamic_shapes must be a dict, tuple or list, got "
                        f"{type(dynamic_shapes).__name__}" + _AFTER)
    out: dict = {}

    def walk(value, spec):
        if spec is None:
            return
        if isinstance(value, Tensor):
            if isinstance(spec, dict):
                items = spec.items()
            elif isinstance(spec, (tuple, list)):
                items = enumerate(spec)
            else:
                raise UserError(f"dynamic_shapes: a tensor's entry must be a dict {{axis: Dim}} "
                                f"or a list per axis, got {spec!r}" + _AFTER)
            for axis, d in items:
                out.setdefault(id(value), {})[int(axis)] = d
        elif isinstance(value, (tuple, list)) and isinstance(spec, (tuple, list)):
            for v, s in zip(value, spec):
                walk(v, s)
        elif isinstance(value, dict) and isinstance(spec, dict):
            for k, v in value.items():
                walk(v, spec.get(k))
        else:
            raise UserError(f"dynamic_shapes: the entry {spec!r} does not match the input's "
                            f"structure ({type(value).__name__})" + _AFTER)

    for value, spec in pairs:
        walk(value, spec)
    return out


def save(ep: ExportedProgram, f, *, extra_files=None, opset_version=None,
         pickle_protocol: int = 2) -> None:
    """Write ``ep`` as an ONNX file (the ``onnx`` extra) that :func:`load` reads back, its
    dynamic dimensions kept. (torch writes a ``.pt2`` archive of ATen graphs, which ember has
    no ops for; the file here runs in onnxruntime too.)

    Example:
        >>> ember.export.save(ep, "model.onnx")
    """
    from ..onnx import export as onnx_export

    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"The 'ep' parameter must be an instance of 'ExportedProgram', got "
                        f"'{type(ep).__name__}' instead.")
    args, kwargs = ep.example_inputs
    onnx_export(ep._root, tuple(args) + ((kwargs,) if kwargs else ()), f,
                input_names=[n.name for n in ep.graph.placeholders],
                dynamic_axes=ep._dynamic_axes() or None, opset_version=opset_version,
                training=1 if ep._root.training else 0)


def load(f, *, extra_files=None, expected_opset_version=None) -> ExportedProgram:
    """Read a file :func:`save` wrote (or any ONNX model ember can run) as an
    :class:`ExportedProgram`, its named dynamic dimensions dynamic again.

    Example:
        >>> ep = ember.export.load("model.onnx")
        >>> ep.module()(x)
    """
    from .. import _dtype as D
    from ..onnx import load as onnx_load

    module = onnx_load(f)
    args, specs = [], []
    onnx = __import__("onnx")
    for name in module.input_names:
        vi = module._value_info[name]
        tt = vi.type.tensor_type
        np_dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type))
        dtype = D.from_numpy_dtype(np_dtype)
        shape, axes = [], {}
        for axis, d in enumerate(tt.shape.dim):
            if d.dim_param:
                shape.append(2)
                axes[axis] = Dim(d.dim_param)
            else:
                shape.append(d.dim_value)
        data = np.random.default_rng(0).standard_normal(shape) if dtype.is_floating_point \
            else np.zeros(shape)
        args.append(Tensor._make(np.asarray(data, dtype=np_dtype), dtype))
        specs.append(axes or None)
    return export(module, tuple(args), dynamic_shapes=tuple(specs) if any(specs) else None)
