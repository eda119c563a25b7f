"""Point-to-point messages between two processes: ``send``/``recv`` and their non-blocking
forms ``isend``/``irecv`` (MPI's ``Isend``/``Irecv`` on the tensor's memory)."""

from __future__ import annotations

from . import _mpi
from ._buffers import Buffer, check_tensor
from .collectives import _group_for, _group_rank
from .process_group import get_global_rank
from .work import Work


def _check_tag(tag) -> int:
    tag = int(tag)
    if tag < 0 or tag > 2 ** 15 - 1:  # MPI guarantees tags up to 32767
        raise ValueError(f"tag must be in [0, 32767] (MPI's guaranteed tag range), got {tag}")
    return tag


def _not_self(pg, rank: int, what: str) -> None:
    if pg.rank() == rank:
        raise ValueError(f"Invalid {what} rank: {what} rank should not be the same as the rank "
                         "of the current process.")


def isend(tensor, dst=None, group=None, tag: int = 0, group_dst=None):
    """Start sending ``tensor`` to process ``dst``; returns a ``Work`` (don't change the
    tensor before its ``wait()``).

    Example:
        >>> work = dist.isend(ember.ones(2), dst=1)
        >>> work.wait()
        True
    """
    check_tensor(tensor, "tensor")
    pg = _group_for(group, "isend")
    if pg is None:
        return None
    peer = _group_rank(pg, dst, group_dst, "destination")
    buf = Buffer(tensor, write=False)
    req = pg._comm.Isend(buf.array, dest=peer, tag=_check_tag(tag))
    return Work([req], None, [tensor])


def irecv(tensor, src=None, group=None, tag: int = 0, group_src=None):
    """Start receiving into ``tensor`` from process ``src`` (any process when None); returns
    a ``Work`` whose ``wait()`` leaves the message in ``tensor``.

    Example:
        >>> t = ember.zeros(2); work = dist.irecv(t, src=0); work.wait(); t
        tensor([1., 1.])
    """
    check_tensor(tensor, "tensor")
    pg = _group_for(group, "irecv")
    if pg is None:
        return None
    MPI = _mpi.mpi()
    if src is None and group_src is None:
        peer = MPI.ANY_SOURCE
    else:
        peer = _group_rank(pg, src, group_src, "source")
    buf = Buffer(tensor, read=False)
    status = MPI.Status()
    req = pg._comm.Irecv(buf.array, source=peer, tag=_check_tag(tag))
    return Work([req], buf.finish, [tensor], source=(status,))


def send(tensor, dst=None, group=None, tag: int = 0, group_dst=None) -> None:
    """Send ``tensor`` to process ``dst`` and wait until it has left this process.

    Example:
        >>> if dist.get_rank() == 0:
        ...     dist.send(ember.ones(2), dst=1)
    """
    check_tensor(tensor, "tensor")
    pg = _group_for(group, "send")
    if pg is None:
        return None
    peer = _group_rank(pg, dst, group_dst, "destination")
    _not_self(pg, peer, "destination")
    isend(tensor, group=pg, tag=tag, group_dst=peer).wait()
    return None


def recv(tensor, src=None, group=None, tag: int = 0, group_src=None) -> int:
    """Receive into ``tensor`` from process ``src`` (any process when None); returns the
    sender's global rank (-1 outside ``group``).

    Example:
        >>> if dist.get_rank() == 1:
        ...     t = ember.zeros(2); dist.recv(t, src=0)
        0
    """
    check_tensor(tensor, "tensor")
    pg = _group_for(group, "recv")
    if pg is None:
        return -1
    if src is not None or group_src is not None:
        peer = _group_rank(pg, src, group_src, "source")
        _not_self(pg, peer, "source")
        work = irecv(tensor, group=pg, tag=tag, group_src=peer)
    else:
        work = irecv(tensor, group=pg, tag=tag)
    work.wait()
    return get_global_rank(pg, work.source_rank())


class P2POp:
    """One send or receive for ``batch_isend_irecv``: ``P2POp(dist.isend, tensor, peer)``.

    Example:
        >>> ops = [dist.P2POp(dist.isend, a, 1), dist.P2POp(dist.irecv, b, 1)]
    """

    def __init__(self, op, tensor, peer=None, group=None, tag: int = 0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type "
                             "``torch.distributed.isend`` or ``torch.distributed.irecv``.")
        check_tensor(tensor, "tensor")
        self.op, self.tensor, self.peer, self.group = op, tensor, peer, group
        self.tag, self.group_peer = tag, group_peer


def batch_isend_irecv(p2p_op_list) -> list:
    """Start every send and receive of ``p2p_op_list`` (``P2POp``s); returns their ``Work``s.

    Example:
        >>> works = dist.batch_isend_irecv([dist.P2POp(dist.isend, a, peer),
        ...                                 dist.P2POp(dist.irecv, b, peer)])
        >>> for w in works: w.wait()
    """
    if not isinstance(p2p_op_list, list) or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    works = []
    for p in p2p_op_list:
        if p.op is isend:
            works.append(isend(p.tensor, p.peer, p.group, p.tag, p.group_peer))
        else:
            works.append(irecv(p.tensor, p.peer, p.group, p.tag, p.group_peer))
    return works
