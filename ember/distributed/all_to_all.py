"""``all_to_all`` and ``all_to_all_single``: every process sends a piece to every process.

Carried by MPI's ``Alltoallv`` (``Ialltoallv`` with ``async_op=True``) on the tensors' bytes, so
every dtype moves as it is (bfloat16 and complex included) and the pieces may differ in size.
Before the exchange the processes share what each sends to and expects from each other (one
small ``Allgather``), so sizes that do not match between two processes raise the same clear
RuntimeError on every process instead of truncating or hanging.
"""

from __future__ import annotations

import numpy as np

from ._buffers import Buffer, check_tensor, check_tensor_list
from .collectives import _group_for, _run, _same_dtype, _start, _write_into


def _byte_view(array: np.ndarray) -> np.ndarray:
    """A flat uint8 view of a contiguous host array (any dtype, bfloat16 included)."""
    return array.reshape(-1).view(np.uint8)


def _check_plan(pg, send_counts, recv_counts, fname: str, send_what: str,
                recv_what: str) -> None:
    """Share every process's element counts and raise, on every process alike, where what
    process ``i`` sends to ``j`` differs from what ``j`` expects from ``i``."""
    size = pg.size()
    mine = np.array(list(send_counts) + list(recv_counts), np.int64)
    everyone = np.empty((size, 2 * size), np.int64)
    pg._comm.Allgather(mine, everyone)
    for src in range(size):
        for dst in range(size):
            sent, expected = everyone[src, dst], everyone[dst, size + src]
            if sent != expected:
                raise RuntimeError(
                    f"{fname}: rank {src} of the group sends {sent} elements to rank {dst} "
                    f"({send_what}), but rank {dst} expects {expected} from rank {src} "
                    f"({recv_what}); every process must agree on the sizes it exchanges")


def _counts_and_displacements(element_counts, itemsize: int):
    counts = [int(c) * itemsize for c in element_counts]
    displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
    return counts, displs


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op: bool = False):
    """Send ``input_tensor_list[j]`` to process ``j`` and receive process ``j``'s piece for
    this process into ``output_tensor_list[j]``; pieces may differ in size between pairs.

    Example:
        >>> rank, n = dist.get_rank(), dist.get_world_size()
        >>> inputs = list((ember.arange(n) + rank * n).chunk(n))
        >>> outputs = list(ember.empty(n, dtype=ember.int64).chunk(n))
        >>> dist.all_to_all(outputs, inputs); outputs           # rank 0 of 2
        [tensor([0]), tensor([2])]
    """
    check_tensor_list(output_tensor_list, "output_tensor_list")
    check_tensor_list(input_tensor_list, "input_tensor_list")
    _same_dtype(*output_tensor_list, *input_tensor_list)
    pg = _group_for(group, "all_to_all")
    if pg is None:
        return None
    size = pg.size()
    for name, tensors in (("output", output_tensor_list), ("input", input_tensor_list)):
        if len(tensors) != size:
            raise RuntimeError(f"all_to_all: {name} tensor list size {len(tensors)} does not "
                               f"match world size {size} (one tensor per process)")
    _check_plan(pg, [t.numel() for t in input_tensor_list],
                [t.numel() for t in output_tensor_list], "all_to_all",
                "input_tensor_list", "output_tensor_list")
    itemsize = input_tensor_list[0].element_size()
    sends = [Buffer(t, write=False).array for t in input_tensor_list]
    send = np.concatenate([_byte_view(a) for a in sends]) if sends else np.empty(0, np.uint8)
    send_counts, send_displs = _counts_and_displacements(
        [t.numel() for t in input_tensor_list], itemsize)
    recv_counts, recv_displs = _counts_and_displacements(
        [t.numel() for t in output_tensor_list], itemsize)
    recv = np.empty(sum(recv_counts), np.uint8)
    req = _start(pg._comm, "Alltoallv", async_op, [send, (send_counts, send_displs)],
                 [recv, (recv_counts, recv_displs)])

    def finish():
        for out, start, count in zip(output_tensor_list, recv_displs, recv_counts):
            dt = np.uint16 if out.dtype.name == "bfloat16" else out._data.dtype
            _write_into(out, recv[start:start + count].view(dt))
    return _run(req, finish, async_op, output_tensor_list)


def _split_sizes(splits, tensor, size: int, name: str) -> list:
    """PyTorch's checks of ``*_split_sizes`` (an equal split of dim 0 when None or empty)."""
    rows = tensor.shape[0] if tensor.dim() else 1  # a 0-d tensor: one row, as in gloo
    if splits is None or len(splits) == 0:
        if rows % size != 0:
            raise RuntimeError(f"Tensor's dim 0 does not divide equally across group size "
                               f"({name} has {rows} rows for {size} processes; pass "
                               f"{name}_split_sizes)")
        return [rows // size] * size
    splits = [int(s) for s in splits]
    if len(splits) != size:
        raise RuntimeError(f"Number of tensor splits not equal to group size ({name}_split_sizes"
                           f" has {len(splits)} entries, the group {size} processes)")
    if any(s < 0 for s in splits):
        raise RuntimeError(f"all_to_all_single: {name}_split_sizes must not be negative, got "
                           f"{splits}")
    if sum(splits) != rows:
        raise RuntimeError(f"Split sizes doesn't match total dim 0 size ({name}_split_sizes "
                           f"sum to {sum(splits)}, {name} has {rows} rows)")
    return splits


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op: bool = False):
    """Split ``input`` along dim 0 (equally, or by ``input_split_sizes``), send piece ``j``
    to process ``j``, and concatenate the pieces received from every process, in rank order,
    into ``output`` (split by ``output_split_sizes``).

    Example:
        >>> rank, n = dist.get_rank(), dist.get_world_size()
        >>> out = ember.empty(n, dtype=ember.int64)
        >>> dist.all_to_all_single(out, ember.arange(n) + rank * n); out   # rank 1 of 2
        tensor([1, 3])
    """
    check_tensor(output, "output")
    check_tensor(input, "input")
    _same_dtype(output, input)
    pg = _group_for(group, "all_to_all_single")
    if pg is None:
        return None
    size = pg.size()
    in_rows = _split_sizes(input_split_sizes, input, size, "input")
    out_rows = _split_sizes(output_split_sizes, output, size, "output")
    in_row = int(np.prod(input.shape[1:], dtype=np.int64))  # elements per row of dim 0
    out_row = int(np.prod(output.shape[1:], dtype=np.int64))
    _check_plan(pg, [r * in_row for r in in_rows], [r * out_row for r in out_rows],
                "all_to_all_single", "input_split_sizes", "output_split_sizes")
    itemsize = input.element_size()
    src = Buffer(input, write=False)
    dest = Buffer(output, read=False)
    send_counts, send_displs = _counts_and_displacements([r * in_row for r in in_rows],
                                                         itemsize)
    recv_counts, recv_displs = _counts_and_displacements([r * out_row for r in out_rows],
                                                         itemsize)
    req = _start(pg._comm, "Alltoallv", async_op,
                 [_byte_view(src.array), (send_counts, send_displs)],
                 [_byte_view(dest.array), (recv_counts, recv_displs)])
    return _run(req, dest.finish, async_op, [output])
