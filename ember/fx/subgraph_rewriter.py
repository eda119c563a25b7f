"""``replace_pattern``: find every occurrence of a small traced pattern in a GraphModule and
replace it with another traced function (``torch.fx.replace_pattern``)."""

from __future__ import annotations

from typing import NamedTuple

from .node import Node, map_arg

__all__ = ["replace_pattern", "Match"]


class Match(NamedTuple):
    """One occurrence: ``anchor`` is the pattern's returned node, ``nodes_map`` maps each
    pattern node (anchor first, then its inputs depth-first) to the graph node it matched."""

    anchor: Node
    nodes_map: dict


def _graph_of(fn):
    from ._symbolic_trace import symbolic_trace
    from .graph_module import GraphModule

    return fn.graph if isinstance(fn, GraphModule) else symbolic_trace(fn).graph


def _match_value(p, g, mapping: dict) -> bool:
    if isinstance(p, Node):
        return isinstance(g, Node) and _match_node(p, g, mapping)
    if isinstance(p, (tuple, list)):
        return type(p) is type(g) and len(p) == len(g) and \
            all(_match_value(a, b, mapping) for a, b in zip(p, g))
    if isinstance(p, dict):
        return isinstance(g, dict) and p.keys() == g.keys() and \
            all(_match_value(p[k], g[k], mapping) for k in p)
    return not isinstance(g, Node) and type(p) is type(g) and p == g


def _match_node(p: Node, g: Node, mapping: dict) -> bool:
    if p in mapping:
        return mapping[p] is g
    if p.op == "placeholder":  # a pattern input matches any value, consistently
        if g in mapping.values():
            return False
        mapping[p] = g
        return True
    if p.op != g.op or p.target != g.target:
        return False
    mapping[p] = g
    return _match_value(p.args, g.args, mapping) and _match_value(p.kwargs, g.kwargs, mapping)


def replace_pattern(gm, pattern, replacement) -> list:
    """Replace each non-overlapping match of ``pattern`` in ``gm`` by ``replacement``.

    Both are traced (functions or GraphModules) with the same inputs. A pattern input matches
    any value; the other nodes must have the same op, target and constant arguments. A match
    whose inner values are also used outside it is skipped, so the rewrite never changes what
    other code sees. ``gm`` is recompiled.

    Returns:
        The list of :class:`Match` objects, one per replaced occurrence.

    Example:
        >>> def pattern(x):
        ...     return ember.relu(x) * 2
        >>> def replacement(x):
        ...     return ember.sigmoid(x) + x
        >>> gm = ember.fx.symbolic_trace(lambda a: ember.relu(a) * 2 + 1)
        >>> len(ember.fx.replace_pattern(gm, pattern, replacement))
        1
    """
    p_graph = _graph_of(pattern)
    r_graph = _graph_of(replacement)
    p_inputs = [n for n in p_graph.nodes if n.op == "placeholder"]
    p_output = next(n for n in p_graph.nodes if n.op == "output")
    anchor = p_output.args[0]
    if not isinstance(anchor, Node):
        raise NotImplementedError("replace_pattern supports patterns that return one value")

    graph = gm.graph
    matches: list = []
    taken: set = set()
    for node in list(graph.nodes):
        if node in taken:
            continue
        mapping: dict = {}
        if not _match_node(anchor, node, mapping):
            continue
        inner = [g for p, g in mapping.items() if p.op != "placeholder"]
        if any(g in taken for g in inner):
            continue
        inner_set = set(inner)
        if any(user not in inner_set for g in inner if g is not node for user in g.users):
            continue  # an inner value escapes the match
        taken.update(inner)
        matches.append(Match(anchor, mapping))

    for match in matches:
        mapping = match.nodes_map
        g_anchor = mapping[anchor]
        val_map = {r: mapping[p] for r, p in zip(
            (n for n in r_graph.nodes if n.op == "placeholder"), p_inputs)}
        users = [n for n in graph.nodes if n in g_anchor.users]
        insert_before = users[0] if users else g_anchor.next
        result = None
        with graph.inserting_before(insert_before):
            for r in r_graph.nodes:
                if r.op == "placeholder":
                    continue
                if r.op == "output":
                    result = map_arg(r.args[0], val_map.__getitem__)
                    break
                val_map[r] = graph.node_copy(r, val_map.__getitem__)
        g_anchor.replace_all_uses_with(result)
        inner = {g for p, g in mapping.items() if p.op != "placeholder"}
        for g in reversed([n for n in graph.nodes if n in inner]):  # users before inputs
            graph.erase_node(g)
    gm.recompile()
    return matches
