"""Collectives on tensors, PyTorch's names and semantics, carried by MPI's collectives.

Each call runs MPI's collective on the tensor's own memory: the blocking one (``Allreduce``,
``Bcast`` ...), or with ``async_op=True`` the non-blocking one (``Iallreduce``, ``Ibcast`` ...)
behind the ``Work`` it returns. Every process of the group must make the same calls in the same
order, as with any MPI program (and any PyTorch one). Ranks (``src``, ``dst``) are global
ranks; ``group_src``/``group_dst`` name a rank within ``group`` instead.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _mpi
from ._buffers import Buffer, check_tensor, check_tensor_list
from .process_group import get_rank, not_member, resolve
from .reduce_op import ReduceOp, check_op
from .work import Work


# -- shared pieces ------------------------------------------------------------------------------
def _group_for(group, fname: str):
    """The ProcessGroup to run on, or None (with PyTorch's warning) outside it."""
    if not_member(group):
        warnings.warn(f"Running {fname} on global rank {get_rank()} which does not belong to "
                      "the given group.", stacklevel=3)
        return None
    return resolve(group)


def _group_rank(pg, rank, group_rank, what: str) -> int:
    """A root's rank within ``pg`` from a global ``rank`` or a ``group_rank``."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
        out = int(group_rank)
    else:
        if rank is None:
            raise ValueError("Must specify global_rank or group_rank")
        ranks = pg._ranks
        if int(rank) not in ranks:
            raise ValueError(f"Global rank {rank} is not part of group {pg}")
        out = ranks.index(int(rank))
    if not 0 <= out < pg.size():
        raise RuntimeError(f"invalid {what} rank: {out} (the group has ranks 0 to "
                           f"{pg.size() - 1})")
    return out


def _same_dtype(*tensors) -> None:
    last = None
    for t in tensors:
        dt = t.dtype
        if last is not None and last != dt:
            raise ValueError(f"Invalid usage of tensors with different dtypesFound {last} and  "
                             f"{dt}")
        last = dt


def _start(comm, name: str, async_op: bool, *args, **kwargs):
    """MPI's non-blocking collective ``I<name>`` (returns its request) for ``async_op``, else
    the blocking ``<name>``, which has the lower latency (returns None, already done)."""
    if async_op:
        return getattr(comm, "I" + name.lower())(*args, **kwargs)
    getattr(comm, name)(*args, **kwargs)
    return None


def _run(request, finish, async_op: bool, result=None):
    """The call's return: a Work for ``async_op``; else None once ``finish`` has run."""
    if not async_op:
        if finish is not None:
            finish()
        return None
    return Work([request], finish, result)


def _finisher(*buffers, after=None):
    def finish():
        if after is not None:
            after()
        for buf in buffers:
            buf.finish()
    return finish


_BOOL_OPS = {ReduceOp.SUM: "LOR", ReduceOp.MAX: "LOR", ReduceOp.BOR: "LOR",
             ReduceOp.PRODUCT: "LAND", ReduceOp.MIN: "LAND", ReduceOp.BAND: "LAND",
             ReduceOp.BXOR: "LXOR"}
_OPS = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD",
        ReduceOp.MIN: "MIN", ReduceOp.MAX: "MAX", ReduceOp.BAND: "BAND", ReduceOp.BOR: "BOR",
        ReduceOp.BXOR: "BXOR"}
_COMPLEX_OK = (ReduceOp.SUM, ReduceOp.AVG)


def _mpi_op(op, tensor, fname: str):
    """MPI's reduction for ``op`` on ``tensor``'s dtype (PyTorch's errors where it refuses)."""
    op = check_op(op, fname)
    dtype = tensor.dtype
    MPI = _mpi.mpi()
    if op == ReduceOp.PREMUL_SUM:
        raise ValueError(f"{fname}: ReduceOp.PREMUL_SUM is not supported by ember's MPI backend;"
                         " multiply by the factor and use ReduceOp.SUM")
    if dtype.is_complex and op not in _COMPLEX_OK:
        raise ValueError(f"{fname} does not support {op} on complex tensors")
    if dtype.name == "bool":
        if op == ReduceOp.AVG:
            raise RuntimeError("result type Float can't be cast to the desired output type Bool")
        return getattr(MPI, _BOOL_OPS[op])
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and (dtype.is_floating_point
                                                                 or dtype.is_complex):
        raise RuntimeError(f"{fname}: {op} needs an integer or bool tensor, got {dtype}")
    if op == ReduceOp.AVG and not (dtype.is_floating_point or dtype.is_complex):
        raise RuntimeError("result type Float can't be cast to the desired output type "
                           f"{dtype._legacy[:-len('Tensor')]}")
    return getattr(MPI, _OPS[op])


def _averager(op, buf: Buffer, size: int):
    if op != ReduceOp.AVG:
        return None

    def divide():
        buf.array /= buf.array.dtype.type(size)
    return divide


# -- collectives --------------------------------------------------------------------------------
def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Wait until every process of ``group`` has reached this call.

    Example:
        >>> dist.barrier()
    """
    pg = _group_for(group, "barrier")
    if pg is None:
        return None
    return _run(_start(pg._comm, "Barrier", async_op), None, async_op)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` over the group, in place on every process: ``SUM`` (default),
    ``AVG``, ``PRODUCT``, ``MIN``, ``MAX`` (``ReduceOp``).

    Example:
        >>> t = ember.tensor([1.0, 2.0]) * (dist.get_rank() + 1)
        >>> dist.all_reduce(t); t            # on 2 processes
        tensor([3., 6.])
    """
    check_tensor(tensor, "tensor")
    pg = _group_for(group, "all_reduce")
    if pg is None:
        return None
    mpi_op = _mpi_op(op, tensor, "all_reduce")
    buf = Buffer(tensor, arithmetic=True)
    req = _start(pg._comm, "Allreduce", async_op, _mpi.mpi().IN_PLACE, buf.array, op=mpi_op)
    return _run(req, _finisher(buf, after=_averager(op, buf, pg.size())), async_op, [tensor])


def broadcast(tensor, src=None, group=None, async_op: bool = False, group_src=None):
    """Copy ``tensor`` from process ``src`` into ``tensor`` on every other process.

    Example:
        >>> t = ember.arange(3.) if dist.get_rank() == 0 else ember.zeros(3)
        >>> dist.broadcast(t, src=0); t
        tensor([0., 1., 2.])
    """
    check_tensor(tensor, "tensor")
    pg = _group_for(group, "broadcast")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, "root")
    sender = root == pg.rank()
    buf = Buffer(tensor, write=not sender, read=sender)
    req = _start(pg._comm, "Bcast", async_op, buf.array, root=root)
    return _run(req, _finisher(buf), async_op, [tensor])


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst=None):
    """Reduce ``tensor`` over the group into ``tensor`` on process ``dst`` only (the others'
    tensors are left as they were).

    Example:
        >>> t = ember.ones(2)
        >>> dist.reduce(t, dst=0); t         # on rank 0 of 2
        tensor([2., 2.])
    """
    check_tensor(tensor, "tensor")
    pg = _group_for(group, "reduce")
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, "root")
    mpi_op = _mpi_op(op, tensor, "reduce")
    MPI = _mpi.mpi()
    if root == pg.rank():
        buf = Buffer(tensor, arithmetic=True)
        req = _start(pg._comm, "Reduce", async_op, MPI.IN_PLACE, buf.array, op=mpi_op,
                     root=root)
        finish = _finisher(buf, after=_averager(op, buf, pg.size()))
    else:
        buf = Buffer(tensor, arithmetic=True, write=False)
        req = _start(pg._comm, "Reduce", async_op, buf.array, None, op=mpi_op, root=root)
        finish = None
    return _run(req, finish, async_op, [tensor])


def _gathered(tensor, size: int) -> np.ndarray:
    """A contiguous host array for ``size`` copies of ``tensor``'s shape (bits for bf16)."""
    dt = np.uint16 if tensor.dtype.name == "bfloat16" else tensor._data.dtype
    return np.empty((size,) + tuple(tensor.shape), dt)


def _write_into(out, values: np.ndarray) -> None:
    """Copy host ``values`` into tensor ``out`` (any layout or device) and bump its version."""
    from .._backend import to_device_array

    if out.dtype.name == "bfloat16":
        values = values.view(out._data.dtype)
    values = values.reshape(out._data.shape)
    if type(out._data) is np.ndarray:
        np.copyto(out._data, values)
    else:
        out._data[...] = to_device_array(values, out.device)
    out._vbox[0] += 1


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """Gather ``tensor`` from every process into ``tensor_list`` (one tensor per process, in
    rank order) on every process.

    Example:
        >>> out = [ember.zeros(2) for _ in range(dist.get_world_size())]
        >>> dist.all_gather(out, ember.ones(2) * dist.get_rank()); out
        [tensor([0., 0.]), tensor([1., 1.])]
    """
    check_tensor_list(tensor_list, "tensor_list")
    check_tensor(tensor, "tensor")
    _same_dtype(*tensor_list, tensor)
    pg = _group_for(group, "all_gather")
    if pg is None:
        return None
    if len(tensor_list) != pg.size():
        raise RuntimeError(f"all_gather: tensor_list has {len(tensor_list)} tensors, but the "
                           f"group has {pg.size()} processes (one output tensor each)")
    for i, out in enumerate(tensor_list):
        if out.shape != tensor.shape:
            raise RuntimeError(f"all_gather: invalid tensor size at index {i} (expected "
                               f"{tuple(tensor.shape)}, got {tuple(out.shape)})")
    src = Buffer(tensor, write=False)
    dest = _gathered(tensor, pg.size())
    req = _start(pg._comm, "Allgather", async_op, src.array, dest)

    def finish():
        for i, out in enumerate(tensor_list):
            _write_into(out, dest[i])
    return _run(req, finish, async_op, tensor_list)


def _check_stacked(big, small, size: int, fname: str, big_name: str) -> None:
    concat = (small.shape[0] * size,) + tuple(small.shape[1:]) if small.dim() else (size,)
    stacked = (size,) + tuple(small.shape)
    if tuple(big.shape) not in (concat, stacked):
        raise RuntimeError(f"{fname}: {big_name} has shape {tuple(big.shape)}; with "
                           f"{size} processes it must be {concat} (concatenated along dim 0) "
                           f"or {stacked} (stacked)")


def all_gather_single(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Gather ``input_tensor`` from every process into ``output_tensor``: concatenated along
    dim 0 (shape ``(world_size * n, ...)``) or stacked (``(world_size, n, ...)``).

    Example:
        >>> out = ember.zeros(2 * dist.get_world_size())
        >>> dist.all_gather_single(out, ember.ones(2) * dist.get_rank()); out
        tensor([0., 0., 1., 1.])
    """
    check_tensor(output_tensor, "output_tensor")
    check_tensor(input_tensor, "input_tensor")
    _same_dtype(output_tensor, input_tensor)
    pg = _group_for(group, "all_gather_single")
    if pg is None:
        return None
    _check_stacked(output_tensor, input_tensor, pg.size(), "all_gather_single", "output_tensor")
    src = Buffer(input_tensor, write=False)
    dest = Buffer(output_tensor, read=False)
    req = _start(pg._comm, "Allgather", async_op, src.array, dest.array)
    return _run(req, _finisher(dest), async_op, [output_tensor])


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """``all_gather_single`` under its older name, deprecated in PyTorch 2.13 (a FutureWarning).

    Example:
        >>> dist.all_gather_into_tensor(out, t)    # FutureWarning: use all_gather_single
    """
    warnings.warn("`torch.distributed.all_gather_into_tensor` is deprecated. Please use "
                  "`torch.distributed.all_gather_single` instead.", FutureWarning, stacklevel=2)
    return all_gather_single(output_tensor, input_tensor, group, async_op)


def reduce_scatter_single(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input`` over the group and give process ``i`` the ``i``-th block of the
    result in ``output`` (``input`` is ``output``'s shape times the group size, concatenated
    along dim 0 or stacked).

    Example:
        >>> out = ember.zeros(2)
        >>> dist.reduce_scatter_single(out, ember.arange(4.)); out   # rank 1 of 2
        tensor([4., 6.])
    """
    check_tensor(output, "output")
    check_tensor(input, "input")
    _same_dtype(output, input)
    pg = _group_for(group, "reduce_scatter_single")
    if pg is None:
        return None
    _check_stacked(input, output, pg.size(), "reduce_scatter_single", "input")
    mpi_op = _mpi_op(op, output, "reduce_scatter_single")
    src = Buffer(input, arithmetic=True, write=False)
    dest = Buffer(output, arithmetic=True, read=False)
    req = _start(pg._comm, "Reduce_scatter_block", async_op, src.array, dest.array, op=mpi_op)
    return _run(req, _finisher(dest, after=_averager(op, dest, pg.size())), async_op, [output])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """``reduce_scatter_single`` under its older name, deprecated in PyTorch 2.13 (a
    FutureWarning).

    Example:
        >>> dist.reduce_scatter_tensor(out, t)     # FutureWarning: use reduce_scatter_single
    """
    warnings.warn("`torch.distributed.reduce_scatter_tensor` is deprecated. Please use "
                  "`torch.distributed.reduce_scatter_single` instead.", FutureWarning,
                  stacklevel=2)
    return reduce_scatter_single(output, input, op, group, async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op: bool = False,
           group_dst=None):
    """Gather ``tensor`` from every process into ``gather_list`` on process ``dst`` (0 by
    default); the other processes pass no list.

    Example:
        >>> out = [ember.zeros(2) for _ in range(2)] if dist.get_rank() == 0 else None
        >>> dist.gather(ember.ones(2) * dist.get_rank(), out, dst=0)
    """
    check_tensor(tensor, "tensor")
    if gather_list:
        check_tensor_list(gather_list, "gather_list")
    else:
        gather_list = []
    _same_dtype(tensor, *gather_list)
    pg = _group_for(group, "gather")
    if pg is None:
        return None
    if dst is None and group_dst is None:
        dst = 0
    root = _group_rank(pg, dst, group_dst, "root")
    me = pg.rank()
    if root == me and not gather_list:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    if root != me and gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                         "ranks.")
    src = Buffer(tensor, write=False)
    if root != me:
        req = _start(pg._comm, "Gather", async_op, src.array, None, root=root)
        return _run(req, None, async_op)
    if len(gather_list) != pg.size():
        raise RuntimeError(f"gather: gather_list has {len(gather_list)} tensors, but the group "
                           f"has {pg.size()} processes (one tensor each)")
    for i, out in enumerate(gather_list):
        if out.shape != tensor.shape:
            raise RuntimeError(f"gather: invalid tensor size at index {i} (expected "
                               f"{tuple(tensor.shape)}, got {tuple(out.shape)})")
    dest = _gathered(tensor, pg.size())

    def finish():
        for i, out in enumerate(gather_list):
            _write_into(out, dest[i])
    req = _start(pg._comm, "Gather", async_op, src.array, dest, root=root)
    return _run(req, finish, async_op, gather_list)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op: bool = False,
            group_src=None):
    """Send ``scatter_list[i]`` from process ``src`` (0 by default) into ``tensor`` on
    process ``i``; the other processes pass no list.

    Example:
        >>> parts = [ember.full((2,), float(i)) for i in range(2)] if rank == 0 else None
        >>> t = ember.zeros(2); dist.scatter(t, parts, src=0); t    # rank 1
        tensor([1., 1.])
    """
    check_tensor(tensor, "tensor")
    if scatter_list:
        check_tensor_list(scatter_list, "scatter_list")
    else:
        scatter_list = []
    _same_dtype(tensor, *scatter_list)
    pg = _group_for(group, "scatter")
    if pg is None:
        return None
    if src is None and group_src is None:
        src = 0
    root = _group_rank(pg, src, group_src, "root")
    me = pg.rank()
    if root == me and not scatter_list:
        raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
    if root != me and scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    dest = Buffer(tensor, read=False)
    if root != me:
        req = _start(pg._comm, "Scatter", async_op, None, dest.array, root=root)
        return _run(req, _finisher(dest), async_op, [tensor])
    if len(scatter_list) != pg.size():
        raise RuntimeError(f"scatter: scatter_list has {len(scatter_list)} tensors, but the "
                           f"group has {pg.size()} processes (one tensor each)")
    parts = _gathered(tensor, pg.size())
    for i, part in enumerate(scatter_list):
        if part.shape != tensor.shape:
            raise RuntimeError(f"scatter: invalid tensor size at index {i} (expected "
                               f"{tuple(tensor.shape)}, got {tuple(part.shape)})")
        parts[i] = Buffer(part, write=False).array.reshape(parts[i].shape)
    req = _start(pg._comm, "Scatter", async_op, parts, dest.array, root=root)
    return _run(req, _finisher(dest), async_op, [tensor])

