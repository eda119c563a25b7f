"""Collectives on picklable Python objects (``all_gather_object``, ``broadcast_object_list``,
``gather_object``, ``scatter_object_list``): pickled as PyTorch does, carried by MPI.

As in PyTorch, unpickling runs code from the other processes: use these only between
processes you trust.
"""

from __future__ import annotations

from .collectives import _group_for, _group_rank


def _check_list(obj_list, name: str, size: int | None = None) -> None:
    if not isinstance(obj_list, list):
        raise TypeError(f"{name} must be a list, got {type(obj_list).__name__}")
    if size is not None and len(obj_list) != size:
        raise ValueError(f"{name} has {len(obj_list)} entries, but the group has {size} "
                         "processes (one entry each)")


def all_gather_object(object_list, obj, group=None) -> None:
    """Gather ``obj`` from every process into ``object_list`` (one slot per process, in rank
    order) on every process.

    Example:
        >>> out = [None] * dist.get_world_size()
        >>> dist.all_gather_object(out, {"rank": dist.get_rank()}); out
        [{'rank': 0}, {'rank': 1}]
    """
    pg = _group_for(group, "all_gather_object")
    if pg is None:
        return None
    _check_list(object_list, "object_list", pg.size())
    object_list[:] = pg._comm.allgather(obj)
    return None


def broadcast_object_list(object_list, src=None, group=None, device=None,
                          group_src=None) -> None:
    """Replace ``object_list``'s entries on every process by those of process ``src``
    (the lists have the same length everywhere).

    Example:
        >>> objs = [{"lr": 0.1}, "run-1"] if dist.get_rank() == 0 else [None, None]
        >>> dist.broadcast_object_list(objs, src=0); objs
        [{'lr': 0.1}, 'run-1']
    """
    pg = _group_for(group, "broadcast_object_list")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, "root")
    _check_list(object_list, "object_list")
    values = pg._comm.bcast(list(object_list) if pg.rank() == root else None, root=root)
    if len(values) != len(object_list):
        raise ValueError(f"broadcast_object_list: object_list has {len(object_list)} entries "
                         f"here but {len(values)} on the source rank; give every process a "
                         "list of the same length")
    object_list[:] = values
    return None


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None) -> None:
    """Gather ``obj`` from every process into ``object_gather_list`` on process ``dst``
    (0 by default; the others pass None).

    Example:
        >>> out = [None] * 2 if dist.get_rank() == 0 else None
        >>> dist.gather_object(dist.get_rank() * 10, out, dst=0)
    """
    pg = _group_for(group, "gather_object")
    if pg is None:
        return None
    if dst is None and group_dst is None:
        dst = 0
    root = _group_rank(pg, dst, group_dst, "root")
    if pg.rank() == root:
        if object_gather_list is None:
            raise AssertionError("Must provide object_gather_list on dst rank")
        _check_list(object_gather_list, "object_gather_list", pg.size())
    values = pg._comm.gather(obj, root=root)
    if pg.rank() == root:
        object_gather_list[:] = values
    return None


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None) -> None:
    """Send ``scatter_object_input_list[i]`` from process ``src`` (0 by default) into
    ``scatter_object_output_list[0]`` on process ``i``.

    Example:
        >>> out = [None]
        >>> dist.scatter_object_list(out, ["a", "b"] if dist.get_rank() == 0 else None)
        >>> out                       # on rank 1
        ['b']
    """
    pg = _group_for(group, "scatter_object_list")
    if pg is None:
        return None
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    if src is None and group_src is None:
        src = 0
    root = _group_rank(pg, src, group_src, "root")
    if pg.rank() == root:
        _check_list(scatter_object_input_list, "scatter_object_input_list", pg.size())
    values = pg._comm.scatter(list(scatter_object_input_list) if pg.rank() == root else None,
                              root=root)
    scatter_object_output_list[0] = values
    return None
