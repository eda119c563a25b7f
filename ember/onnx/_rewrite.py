"""Graph rewrites run on the written ONNX nodes before the model is assembled: shorter
sequences for patterns that the op-by-op conversion writes literally.

Multi-head self-attention. ember's ``multi_head_attention_forward`` follows PyTorch's formula
on sequence-first ``(L, N, E)`` tensors: after the packed in-projection come three Slices, a
Reshape to ``(L, N*H, hd)`` and a Transpose to ``(N*H, L, hd)`` per part, K's Transpose, the
attention, a Transpose back, Reshape ``(L*N, E)``, the out-projection Gemm, Reshape
``(L, N, E)`` and, batch-first, a Transpose to ``(N, L, E)``. Without a mask the rewrite keeps
the heads on their own axis: one Reshape of the packed projection to ``(L, N, 3H, hd)``, one
Split, a Transpose per part to ``(N, H, L, hd)`` (K's to ``(N, H, hd, L)``; onnxruntime folds
all three into FusedMatMul's batch transposes), and one Transpose of the ``(N, H, L, hd)``
output to ``(N, L, H, hd)`` (or ``(L, N, H, hd)``) whose rows feed the out-projection in the
result's own order, so the last Transpose goes. The same products, summed in the same order.
A 2-layer batch-first encoder: 84 -> 67 nodes written, 54 -> 46 after onnxruntime's
optimizer (Transposes 6 -> 4, Reshapes 22 -> 16). Where only the way out matches (separate
Q/K/V projections, or the attention weights returned), a batch-first attention still gets the
shorter way out. (onnxruntime's own Attention fusion is out of reach from standard ops here:
it wants constant Q/K/V weights, which the compile backend passes as inputs, and a
LayerNormalization before every attention.)

GELU, tanh approximation. ember evaluates ``x * 0.5 * (1 + tanh(k * (x + x*x*x * 0.044715)))``
from primitive ops, ten nodes that onnxruntime's CPU optimizer leaves alone; from opset 20 they
become ONNX's ``Gelu(approximate="tanh")``, one kernel.
"""

from __future__ import annotations

import math

import numpy as np


class _Graph:
    """Producer / consumer maps and constant values over the builder's node list."""

    def __init__(self, b, keep: set):
        self.b = b
        self.keep = keep  # names that must stay produced (the graph outputs)
        self.producer = {}
        self.consumers: dict = {}
        for node in b.nodes:
            for o in node.output:
                self.producer[o] = node
            for i in node.input:
                self.consumers.setdefault(i, []).append(node)

    def node(self, name, op_type):
        n = self.producer.get(name)
        return n if n is not None and n.op_type == op_type and n.domain == "" else None

    def const(self, name):
        """The value of a Constant node's output, else None."""
        n = self.producer.get(name)
        if n is None or n.op_type != "Constant" or len(n.attribute) != 1 or \
                n.attribute[0].name != "value":
            return None
        return self.b.onnx.numpy_helper.to_array(n.attribute[0].t)

    def sole_user(self, name, op_type):
        """The one node that reads ``name``, when it has that type and ``name`` is no output."""
        users = self.consumers.get(name, [])
        if len(users) != 1 or name in self.keep or users[0].op_type != op_type:
            return None
        return users[0]

    def attr(self, node, name, default=None):
        for a in node.attribute:
            if a.name == name:
                return self.b.helper.get_attribute_value(a)
        return default


def _perm(g, node, want) -> bool:
    return node is not None and list(g.attr(node, "perm", [])) == list(want)


def _ints(value, n=None):
    """A constant as a list of Python ints (None unless integral, of length ``n``)."""
    if value is None or value.dtype.kind not in "iu":
        return None
    flat = [int(v) for v in value.reshape(-1)]
    return flat if n is None or len(flat) == n else None


def _match_mha(g, softmax):
    """One whole self-attention around ``softmax`` (packed in-projection, 3 Slices, per-head
    Reshape + Transpose, the attention, the way out), or None."""
    if g.attr(softmax, "axis", -1) not in (-1, 2):
        return None
    # no mask: a mask's bias would need its own (N, H, L, S) form, and a computed one has no
    # known rank here
    scaled = softmax.input[0]
    mul = g.node(scaled, "Mul")
    if mul is None or g.sole_user(scaled, "Softmax") is None:
        return None
    scale = g.const(mul.input[1])
    scores = g.node(mul.input[0], "MatMul")
    if scale is None or scale.size != 1 or scores is None or \
            g.sole_user(scores.output[0], "Mul") is None:
        return None
    k_t = g.node(scores.input[1], "Transpose")
    if not _perm(g, k_t, [0, 2, 1]) or g.sole_user(k_t.output[0], "MatMul") is None:
        return None
    out = g.sole_user(softmax.output[0], "MatMul")
    if out is None or out.input[0] != softmax.output[0]:
        return None
    heads = []
    for name in (scores.input[0], k_t.input[0], out.input[1]):
        t = g.node(name, "Transpose")
        r = g.node(t.input[0], "Reshape") if _perm(g, t, [1, 0, 2]) else None
        sl = g.node(r.input[0], "Slice") if r is not None else None
        if sl is None or len(sl.input) < 4 or any(
                len(g.consumers.get(x, [])) != 1 or x in g.keep
                for x in (name, r.output[0], sl.output[0])):
            return None
        heads.append((t, r, sl, _ints(g.const(r.input[1]), 3)))
    shape = heads[0][3]
    if shape is None or any(x[3] != shape for x in heads) or min(shape) <= 0:
        return None
    n_l, nh, hd = shape
    packed = heads[0][2].input[0]
    if any(x[2].input[0] != packed for x in heads) or packed in g.keep or \
            len(g.consumers.get(packed, [])) != 3:
        return None
    width = None
    for i, (_, _, sl, _) in enumerate(heads):
        starts, ends = _ints(g.const(sl.input[1]), 1), _ints(g.const(sl.input[2]), 1)
        axes = _ints(g.const(sl.input[3]), 1)
        steps = _ints(g.const(sl.input[4]), 1) if len(sl.input) > 4 and sl.input[4] else [1]
        if None in (starts, ends, axes, steps) or axes[0] not in (2, -1) or steps != [1]:
            return None
        width = width or ends[0] - starts[0]
        # the value part may end "at the end" (a huge end); its Reshape fixes its width
        if starts[0] != i * width or not (ends[0] == (i + 1) * width or
                                          (i == 2 and ends[0] > 3 * width)):
            return None
    e = width
    way_out = _match_mha_out(g, g.sole_user(out.output[0], "Transpose"), hd, n_l)
    if way_out is None or e != way_out["e"] or e % hd or nh * hd != way_out["n"] * e:
        return None
    way_out.update(packed=packed, scale=mul.input[1],
                   nodes=way_out["nodes"] + [softmax, mul, scores, k_t, out] +
                   [x for hh in heads for x in hh[:3]])
    return way_out


def _emit_mha(b, m):
    """The attention on ``(N, H, L, hd)`` operands: Reshape of the packed projection to
    ``(L, N, 3H, hd)``, Split, per-part Transposes that onnxruntime folds into FusedMatMul's
    batch transposes, and one Transpose out."""
    n, n_l, h, hd = m["n"], m["l"], m["h"], m["hd"]
    b.scope = m["scope"]
    q, k, v = b.add("Split", [b.add("Reshape", [m["packed"], b.i64([n_l, n, 3 * h, hd])]),
                              b.i64([h, h, h])], outputs=3, axis=2)
    scores = b.add("MatMul", [b.add("Transpose", [q], perm=[1, 2, 0, 3]),
                              b.add("Transpose", [k], perm=[1, 2, 3, 0])])
    scores = b.add("Mul", [scores, m["scale"]])
    out = b.add("MatMul", [b.add("Softmax", [scores], axis=-1),
                           b.add("Transpose", [v], perm=[1, 2, 0, 3])])
    _emit_out(b, m, b.add("Transpose", [out], perm=[0, 2, 1, 3] if m["batch_first"]
                          else [2, 0, 1, 3]))


def _match_mha_out(g, back, hd=None, n_l=None):
    """The way out of a multi-head attention from ``back``, the Transpose of its
    ``(N*H, L, hd)`` output to ``(L, N*H, hd)``: Reshape ``(L*N, E)``, Gemm, Reshape
    ``(L, N, E)`` and, batch-first, a Transpose to ``(N, L, E)``; None if it is not that.
    Alone (``hd`` None) it is taken for a batch-first attention only, with ``hd`` read from
    the value's head Reshape."""
    if not _perm(g, back, [1, 0, 2]):
        return None
    out = g.node(back.input[0], "MatMul")
    if out is None or len(g.consumers.get(out.output[0], [])) != 1 or out.output[0] in g.keep:
        return None
    if hd is None:
        if g.node(out.input[0], "Softmax") is None:
            return None
        v_t = g.node(out.input[1], "Transpose")
        v_r = g.node(v_t.input[0], "Reshape") if _perm(g, v_t, [1, 0, 2]) else None
        v_shape = _ints(g.const(v_r.input[1]), 3) if v_r is not None else None
        if v_shape is None or min(v_shape) <= 0:
            return None
        hd = v_shape[2]
    flat = g.sole_user(back.output[0], "Reshape")
    gemm = g.sole_user(flat.output[0], "Gemm") if flat is not None else None
    if gemm is None or gemm.input[0] != flat.output[0] or g.attr(gemm, "transA", 0):
        return None
    unflat = g.sole_user(gemm.output[0], "Reshape")
    dims = _ints(g.const(unflat.input[1]), 3) if unflat is not None else None
    if dims is None or min(dims) <= 0 or (n_l is not None and dims[0] != n_l):
        return None
    last = g.sole_user(unflat.output[0], "Transpose")
    if not _perm(g, last, [1, 0, 2]):
        if n_l is None:
            return None
        last = None
    n_l, n, e = dims
    if e % hd or _ints(g.const(flat.input[1])) != [n_l * n, e]:
        return None
    return dict(n=n, l=n_l, e=e, h=e // hd, hd=hd, out=out.output[0], gemm=gemm,
                batch_first=last is not None, result=(last or unflat).output[0],
                scope=back.output[0].rpartition("/")[0],
                nodes=[back, flat, gemm, unflat] + ([last] if last is not None else []))


def _emit_out(b, m, heads_last):
    """The out-projection on the ``(N*L, E)`` (or ``(L*N, E)``) rows of ``heads_last``, and
    one Reshape to the result (under its old name)."""
    n, n_l, e = m["n"], m["l"], m["e"]
    gemm = m["gemm"]
    rows = b.add("Reshape", [heads_last, b.i64([n * n_l, e])])
    proj = b.add("Gemm", [rows] + list(gemm.input[1:]),
                 **{a.name: b.helper.get_attribute_value(a) for a in gemm.attribute})
    dims = [n, n_l, e] if m["batch_first"] else [n_l, n, e]
    b.nodes.append(b.helper.make_node("Reshape", [proj, b.i64(dims)], [m["result"]],
                                      name=b.fresh(f"/{m['scope'].replace('.', '/')}/Reshape")))
    b.scope = ""


def _emit_mha_out(b, m):
    """Batch-first: ``(N*H, L, hd)`` -> ``(N, L, H, hd)`` with one Transpose (after a free
    Reshape to ``(N, H, L, hd)``), then the out-projection."""
    b.scope = m["scope"]
    heads = b.add("Reshape", [m["out"], b.i64([m["n"], m["h"], m["l"], m["hd"]])])
    _emit_out(b, m, b.add("Transpose", [heads], perm=[0, 2, 1, 3]))


_GELU_K = math.sqrt(2.0 / math.pi)


def _scalar(g, name, value) -> bool:
    c = g.const(name)
    # float32 only: onnxruntime's CPU Gelu has no float64 kernel to count on
    return c is not None and c.size == 1 and c.dtype == np.float32 and \
        math.isclose(float(c.reshape(())), value, rel_tol=1e-6)


def _other(node, name):
    """The input of a binary node that is not ``name`` (None unless exactly one is)."""
    a, c = node.input[0], node.input[1]
    return c if a == name and c != name else (a if c == name and a != name else None)


def _match_gelu_tanh(g, tanh):
    """ember's tanh-GELU around ``tanh``: ((x*x)*x)*c3, x + that, *k, tanh, 1 + that, x*0.5,
    the product; returns (x, the nodes, the result name) or None."""
    scaled = g.node(tanh.input[0], "Mul")
    if scaled is None or not _scalar(g, scaled.input[1], _GELU_K) or \
            g.sole_user(scaled.output[0], "Tanh") is None:
        return None
    inner = g.node(scaled.input[0], "Add")
    if inner is None or g.sole_user(inner.output[0], "Mul") is None:
        return None
    for x, cubed_name in ((inner.input[0], inner.input[1]), (inner.input[1], inner.input[0])):
        c3 = g.node(cubed_name, "Mul")
        if c3 is None or not _scalar(g, c3.input[1], 0.044715) or \
                g.sole_user(cubed_name, "Add") is None:
            continue
        cube = g.node(c3.input[0], "Mul")
        sq = g.node(cube.input[0], "Mul") if cube is not None and cube.input[1] == x else None
        if sq is None or list(sq.input) != [x, x] or \
                g.sole_user(cube.output[0], "Mul") is None or \
                g.sole_user(sq.output[0], "Mul") is None:
            continue
        one = g.sole_user(tanh.output[0], "Add")
        if one is None or not _scalar(g, _other(one, tanh.output[0]) or "", 1.0):
            return None
        prod = g.sole_user(one.output[0], "Mul")
        if prod is None:
            return None
        half = g.node(_other(prod, one.output[0]) or "", "Mul")
        if half is None or half.input[0] != x or not _scalar(g, half.input[1], 0.5) or \
                g.sole_user(half.output[0], "Mul") is not prod:
            return None
        return x, [sq, cube, c3, inner, scaled, tanh, one, half, prod], prod.output[0]
    return None


def _emit_gelu_tanh(b, x, result):
    """ONNX's Gelu (opset 20) with ``approximate="tanh"``: one kernel in onnxruntime."""
    scope = result.rpartition("/")[0]
    b.nodes.append(b.helper.make_node("Gelu", [x], [result], approximate="tanh",
                                      name=b.fresh(f"/{scope.replace('.', '/')}/Gelu")))


def optimize(b, outputs) -> None:
    """Rewrite the builder's nodes in place (see the module docstring), then drop the nodes
    nothing reads any more and put the list back in topological order."""
    keep = set(outputs)
    replaced = []
    g = _Graph(b, keep)
    for node in list(b.nodes):
        if node.op_type == "Softmax" and node.domain == "":
            m = _match_mha(g, node)
            if m is not None:
                replaced.extend(m["nodes"])
                _emit_mha(b, m)
    done = {id(x) for x in replaced}
    for node in list(b.nodes):
        if node.op_type == "Transpose" and node.domain == "" and id(node) not in done:
            m = _match_mha_out(g, node)
            if m is not None:
                replaced.extend(m["nodes"])
                _emit_mha_out(b, m)
    g = _Graph(b, keep)
    for node in list(b.nodes) if b.opset >= 20 else ():
        if node.op_type == "Tanh" and node.domain == "":
            got = _match_gelu_tanh(g, node)
            if got is not None:
                replaced.extend(got[1])
                _emit_gelu_tanh(b, got[0], got[2])
    if not replaced:
        return
    gone = {id(x) for x in replaced}
    # the replaced node that produced a result gave its name to the new one
    produced = {}
    for node in b.nodes:
        if id(node) not in gone:
            for o in node.output:
                produced[o] = node
    nodes = [x for x in b.nodes if id(x) not in gone]
    # drop what no remaining node reads (the input Transpose, orphaned shape constants)
    while True:
        used = set(keep)
        for node in nodes:
            used.update(node.input)
        dead = [x for x in nodes if not any(o in used for o in x.output)
                and (x.op_type in ("Constant", "Transpose", "MatMul", "Add")
                     or id(x) in gone)]
        if not dead:
            break
        dead_ids = {id(x) for x in dead}
        nodes = [x for x in nodes if id(x) not in dead_ids]
    b.nodes[:] = _toposort(nodes)
    b.const_cache.clear()


def _toposort(nodes):
    """Stable topological order (a node after the producers of its inputs)."""
    producer = {o: i for i, x in enumerate(nodes) for o in x.output}
    order, state = [], [0] * len(nodes)
    for start in range(len(nodes)):
        if state[start]:
            continue
        stack = [(start, iter(nodes[start].input))]
        state[start] = 1
        while stack:
            i, it = stack[-1]
            for name in it:
                j = producer.get(name)
                if j is not None and not state[j]:
                    state[j] = 1
                    stack.append((j, iter(nodes[j].input)))
                    break
            else:
                stack.pop()
                order.append(nodes[i])
    return order
