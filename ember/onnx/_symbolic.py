"""Which constants of a captured graph depend on dynamic axes, and which on the data.

A capture records concrete numbers (a reshape to ``(2, 400)`` at batch 2). To export with
dynamic axes, the model is captured again with each dynamic axis one larger; numbers that move
with an axis become :class:`SymInt` (``c * batch``), and the exporter computes them at run time
from the input's shape. A capture on inputs with other values (same shapes) must record the
same graph: a constant that differs was computed from the data outside the recorded ops, and
exporting it would bake one example's values into the model.
"""

from __future__ import annotations

import math

import numpy as np

from ..fx.graph import Node
from .errors import SymbolicValueError


class SymInt:
    """``coeff * product(symbols)``: a size that follows dynamic axes. It has no ``__int__`` or
    ``__index__``, so code that needs a static number fails instead of using the traced one."""

    __slots__ = ("coeff", "symbols", "value")

    def __init__(self, coeff: int, symbols: tuple, value: int):
        self.coeff, self.symbols, self.value = coeff, tuple(sorted(symbols)), value

    def __eq__(self, other):
        return isinstance(other, SymInt) and (self.coeff, self.symbols) == (other.coeff,
                                                                              other.symbols)

    def __hash__(self):
        return hash((self.coeff, self.symbols))

    def __repr__(self):
        head = "" if self.coeff == 1 else f"{self.coeff}*"
        return head + "*".join(self.symbols)


class SymFill:
    """A constant tensor filled with one value whose shape follows dynamic axes (an RNN's zero
    initial state made with the batch size)."""

    __slots__ = ("shape", "value", "dtype")

    def __init__(self, shape, value, dtype):
        self.shape, self.value, self.dtype = shape, value, dtype


class _Mismatch(Exception):
    def __init__(self, what):
        super().__init__(what)
        self.what = what


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


class Merger:
    """Merges a leaf of the base graph with the same leaf of each variant graph.

    ``sizes`` maps each symbol to (base size, variant size); variant ``k`` changed symbol
    ``k`` only. With no symbols, any difference is a mismatch (the data-dependence check)."""

    def __init__(self, symbols: list, sizes: dict, index_maps: list):
        self.symbols = symbols
        self.sizes = sizes
        self.index_maps = index_maps  # per variant: node -> position, to match node references

    def merge(self, values: list, base_pos: dict):
        v0 = values[0]
        if isinstance(v0, Node):
            pos = base_pos[v0]
            for v, index in zip(values[1:], self.index_maps):
                if not isinstance(v, Node) or index.get(v) != pos:
                    raise _Mismatch("reads a different value")
            return v0
        if _is_int(v0):
            if not all(_is_int(v) for v in values):
                raise _Mismatch(f"{v0!r} changed type")
            if all(int(v) == int(v0) for v in values):
                return v0
            return self.symint([int(v) for v in values])
        if isinstance(v0, (bool, np.bool_, str, type(None))) or isinstance(v0, type):
            if any(v != v0 for v in values[1:]):
                raise _Mismatch(f"{v0!r} changed")
            return v0
        if isinstance(v0, (float, np.floating, complex)):
            for v in values[1:]:
                if not (v == v0 or (v != v and v0 != v0)):
                    raise _Mismatch(f"the number {v0!r} changed to {v!r}")
            return v0
        if isinstance(v0, slice):
            parts = [self.merge([getattr(v, a) for v in values], base_pos)
                     for a in ("start", "stop", "step")]
            return slice(*parts)
        if isinstance(v0, (tuple, list)):
            if any(type(v) is not type(v0) or len(v) != len(v0) for v in values[1:]):
                raise _Mismatch("an argument changed length")
            items = [self.merge([v[i] for v in values], base_pos) for i in range(len(v0))]
            if hasattr(v0, "_fields"):
                return type(v0)(*items)
            return type(v0)(items)
        if isinstance(v0, dict):
            if any(set(v) != set(v0) for v in values[1:]):
                raise _Mismatch("keyword arguments changed")
            return {k: self.merge([v[k] for v in values], base_pos) for k in v0}
        if isinstance(v0, np.ndarray):
            for v in values[1:]:
                if not isinstance(v, np.ndarray) or v.shape != v0.shape or \
                        not np.array_equal(v, v0, equal_nan=v0.dtype.kind in "fc"):
                    raise _Mismatch(f"an array argument of shape {list(v0.shape)} changed")
            return v0
        if isinstance(v0, np.dtype):
            if any(v != v0 for v in values[1:]):
                raise _Mismatch("a dtype changed")
            return v0
        # dtypes, devices, callables: compared by equality
        if any(not (v is v0 or v == v0) for v in values[1:]):
            raise _Mismatch(f"{v0!r} changed")
        return v0

    def symint(self, ints: list):
        if not self.symbols:
            raise _Mismatch(f"the number {ints[0]} changed to {ints[1]}")
        v0 = ints[0]
        moved = [s for s, v in zip(self.symbols, ints[1:]) if v != v0]
        denom = math.prod(self.sizes[s][0] for s in moved)
        if denom == 0 or v0 % denom or v0 == 0:
            raise _Mismatch(f"the size {v0} follows a dynamic axis but is not a multiple of it")
        coeff = v0 // denom
        for s, v in zip(self.symbols, ints[1:]):
            expect = coeff * math.prod(self.sizes[m][1] if m == s else self.sizes[m][0]
                                       for m in moved)
            if v != (expect if s in moved else v0):
                raise _Mismatch(f"the size {v0} follows a dynamic axis in a way other than "
                                "a multiple of it")
        return SymInt(coeff, tuple(moved), v0)


def _describe(node: Node) -> str:
    path = node.meta.get("module_path")
    where = f" in module '{path}' ({node.meta.get('module_type')})" if path else ""
    source = node.meta.get("source")
    return f"op '{node.target_name}'{where}" + (f" at {source}" if source else "")


def symbolize(base, variants: list, symbols: list, sizes: dict, purpose: str) -> dict:
    """Compare ``base`` with ``variants`` (graphs of the same function); returns, per node of
    ``base``, ``(args, kwargs, shape, attribute)`` with numbers that follow dynamic axes as
    :class:`SymInt`. Raises SymbolicValueError where the graphs differ otherwise."""
    for g in variants:
        if len(g.nodes) != len(base.nodes) or any(
                a.op != b.op or a.target_name != b.target_name
                for a, b in zip(base.nodes, g.nodes)):
            first = next((a for a, b in zip(base.nodes, g.nodes)
                          if a.op != b.op or a.target_name != b.target_name), base.nodes[-1])
            raise SymbolicValueError(
                f"the captured graph changes {purpose}, first at {_describe(first)}: the "
                "model's structure depends on it (Python control flow on sizes or values)")
    base_pos = {n: i for i, n in enumerate(base.nodes)}
    merger = Merger(symbols, sizes, [{n: i for i, n in enumerate(g.nodes)} for g in variants])
    out = {}
    for i, node in enumerate(base.nodes):
        others = [g.nodes[i] for g in variants]
        try:
            args = merger.merge([node.args] + [o.args for o in others], base_pos)
            kwargs = merger.merge([node.kwargs] + [o.kwargs for o in others], base_pos)
        except _Mismatch as err:
            raise SymbolicValueError(
                f"{_describe(node)} gets an argument that changes {purpose}: {err.what}. "
                + _advice(purpose)) from None
        try:
            shape = merger.merge([node.meta.get("shape")] + [o.meta.get("shape") for o in others],
                                 base_pos)
        except _Mismatch:
            shape = None
        attribute = None
        if node.op == "get_attr":
            attribute = _merge_attribute(base, variants, node, others, merger, purpose)
        out[node] = (args, kwargs, shape, attribute)
    return out


def _advice(purpose: str) -> str:
    if "values" in purpose:
        return ("It was computed from the data outside the recorded ops, so exporting it would "
                "bake one example's values into the model.")
    return "ONNX export cannot compute it at run time; keep that axis static."


def _merge_attribute(base, variants, node, others, merger, purpose):
    t0 = base.attributes[node.target]
    arrays = [t0._data] + [g.attributes[o.target]._data for g, o in zip(variants, others)]
    a0 = arrays[0]
    if all(a.shape == a0.shape and np.array_equal(a, a0, equal_nan=a0.dtype.kind in "fc")
           for a in arrays[1:]):
        return t0
    flat = a0.reshape(-1)
    uniform = flat.size > 0 and all(a.size and np.all(a == a.reshape(-1)[0]) for a in arrays) \
        and all(a.reshape(-1)[0] == flat[0] for a in arrays)
    if uniform and node.meta.get("constant"):
        try:
            shape = merger.merge([tuple(a.shape) for a in arrays], {})
        except _Mismatch:
            shape = None
        if shape is not None:
            return SymFill(shape, flat[0].item(), t0.dtype)
    raise SymbolicValueError(
        f"the constant tensor '{node.target}' (used by "
        f"{', '.join(_describe(u) for u in node.users) or 'nothing'}) changes {purpose}. "
        + _advice(purpose))
