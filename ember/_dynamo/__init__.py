"""``torch._dynamo``: the names programs reach for in PyTorch's compiler front end.

``config`` holds the settings (``cache_size_limit`` ...); ``reset``, ``disable``,
``is_compiling``, ``allow_in_graph`` and the rest are :mod:`ember.compiler`'s, as in PyTorch.
``mark_dynamic``/``mark_static``/``maybe_mark_dynamic`` record their hints on the tensor as
PyTorch does; ember's ``compile`` decides dynamism itself (a capture turns the batch axis into
a variable size when a second batch size arrives, other axes stay static), so the hints change
nothing.

Example:
    >>> import ember._dynamo
    >>> x = ember.ones(4, 3)
    >>> ember._dynamo.mark_dynamic(x, 0)
    >>> ember._dynamo.is_compiling()
    False
"""

from ..compiler import (
    allow_in_graph,
    assume_constant_result,
    disable,
    is_compiling,
    list_backends,
    reset,
    set_stance,
    substitute_in_graph,
)
from . import config
from ._explain import explain

__all__ = ["config", "reset", "disable", "is_compiling", "allow_in_graph",
           "assume_constant_result", "list_backends", "set_stance", "substitute_in_graph",
           "mark_dynamic", "mark_static", "maybe_mark_dynamic", "graph_break", "explain"]


def _mark(t, attr: str, index) -> None:
    dims = [index] if isinstance(index, int) else list(index)
    t.__dict__.setdefault(attr, set()).update(dims)


def mark_dynamic(t, index, *, hint_override=None, min=None, max=None, specialize_on=None):
    """Hint that axis ``index`` (an int or a list of them) of ``t`` varies between calls.
    Recorded on the tensor (``t._dynamo_dynamic_indices``); ember's compile needs no hint."""
    _mark(t, "_dynamo_dynamic_indices", index)


def maybe_mark_dynamic(t, index):
    """A weaker :func:`mark_dynamic`: PyTorch may still specialize the axis. Recorded on the
    tensor (``t._dynamo_weak_dynamic_indices``)."""
    _mark(t, "_dynamo_weak_dynamic_indices", index)


def mark_static(t, index=None):
    """Hint that axis ``index`` of ``t`` keeps its size. Recorded on the tensor
    (``t._dynamo_static_indices``); with ``index=None`` every axis."""
    _mark(t, "_dynamo_static_indices", range(t.dim()) if index is None else index)


def graph_break() -> None:
    """End the captured graph here. PyTorch then compiles the code before and after as two
    graphs, with the same results as one; ember's capture records straight through, so this
    does nothing."""
