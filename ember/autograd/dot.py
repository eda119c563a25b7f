"""The autograd graph behind a tensor, as Graphviz text (what torchviz's ``make_dot`` draws)."""

from __future__ import annotations

__all__ = ["graph_to_dot"]


def _q(text) -> str:
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + text + '"'


def _shape(t) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ")"


def graph_to_dot(output, params=None, show_saved: bool = False) -> str:
    """The backward graph that ``output.backward()`` walks, in Graphviz's DOT language.

    Boxes are autograd nodes (``AddmmBackward0`` ...) in the order backward visits them; blue
    boxes are the leaves gradients accumulate into, labelled with their names from ``params``
    (a dict such as ``dict(model.named_parameters())``) and shapes; the green box is
    ``output``. Render the text with ``dot -Tsvg`` or any Graphviz viewer; producing it needs
    no Graphviz.

    Args:
        output: a tensor (or a tuple of tensors) with a ``grad_fn``.
        params: optional ``{name: tensor}`` for leaf labels.
        show_saved: also list the shapes of the tensors each node saved for backward.

    Example:
        >>> model = ember.nn.Linear(3, 1)
        >>> loss = model(ember.randn(4, 3)).pow(2).mean()
        >>> dot = ember.autograd.graph_to_dot(loss, dict(model.named_parameters()))
        >>> dot.splitlines()[0]
        'digraph autograd {'
    """
    from .graph import AccumulateGrad

    outputs = output if isinstance(output, (tuple, list)) else (output,)
    names = {id(v): k for k, v in (params or {}).items()}
    lines = ["digraph autograd {", "  rankdir=TB;",
             '  node [shape=box, style=filled, fillcolor="#ffffff", fontname="Helvetica", '
             "fontsize=10];"]
    seen: dict = {}
    edges: list = []

    def node_id(fn) -> str:
        if id(fn) not in seen:
            seen[id(fn)] = f"n{len(seen)}"
            if isinstance(fn, AccumulateGrad):
                var = fn.variable
                label = f"{names.get(id(var), '')}\n{_shape(var)}".strip("\n")
                lines.append(f"  {seen[id(fn)]} [label={_q(label)}, fillcolor=\"#add8e6\"];")
            else:
                label = fn.name()
                if show_saved:
                    shapes = [_shape(t) for t, _v in fn._saved or () if hasattr(t, "shape")]
                    if fn._saved_output is not None:  # ops that save their own result
                        shapes.append(_shape(fn._saved_output[0]))
                    if shapes:
                        label += "\nsaved: " + ", ".join(shapes)
                lines.append(f"  {seen[id(fn)]} [label={_q(label)}];")
            stack.append(fn)
        return seen[id(fn)]

    stack: list = []
    for i, out in enumerate(outputs):
        fn = getattr(out, "grad_fn", None)
        oid = f"out{i}"
        lines.append(f"  {oid} [label={_q(_shape(out))}, fillcolor=\"#caff70\"];")
        if fn is None:
            continue
        edges.append((node_id(fn), oid))
    while stack:
        fn = stack.pop()
        me = seen[id(fn)]
        for nxt, _nr in getattr(fn, "next_functions", ()) or ():
            if nxt is not None:
                edges.append((node_id(nxt), me))
    lines += [f"  {a} -> {b};" for a, b in dict.fromkeys(edges)]
    lines.append("}")
    return "\n".join(lines)
