"""Process groups: ``init_process_group``, ``new_group``, ranks and sizes, as PyTorch names them.

The default group is MPI's world (a duplicate of ``COMM_WORLD``, so a program's own mpi4py
messages never meet ember's); ``new_group`` splits it. Ranks, sizes and the launch come from the
MPI launcher (``ember run -n 2 script.py`` or ``mpirun -np 2 python script.py``), so
``init_method``, ``MASTER_ADDR`` and ``MASTER_PORT`` need not be set and are not used; ``rank``,
``world_size`` and the torchrun variables ``RANK``/``WORLD_SIZE``, where given, are checked
against what MPI says.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from . import _mpi

default_pg_timeout = timedelta(minutes=30)


class Backend(str):
    """A backend's name, PyTorch's ``dist.Backend``: ``Backend("GLOO") == "gloo"``.

    ember runs every backend on MPI: ``"mpi"``, and ``"gloo"`` (the same collectives); ``"nccl"``
    asks for GPU-to-GPU collectives, which ember does not provide.

    Example:
        >>> dist.Backend("MPI")
        'mpi'
    """

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    XCCL = "xccl"
    UCC = "ucc"
    MPI = "mpi"
    FAKE = "fake"
    backend_list = [UNDEFINED, GLOO, NCCL, XCCL, UCC, MPI, FAKE]

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError("Backend constructor parameter must be string-ish")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        if value == Backend.UNDEFINED:
            value = name.lower()
        return value


class ProcessGroup:
    """A set of processes that run collectives together (made by ``init_process_group`` and
    ``new_group``); ``rank()`` and ``size()`` are this process's place in it.

    Example:
        >>> pg = dist.new_group([0, 1])
        >>> pg.rank(), pg.size()
        (0, 2)
    """

    def __init__(self, comm, ranks, backend: str, name: str, desc: str):
        self._comm = comm
        self._ranks = list(ranks)  # global ranks, in group-rank order
        self._backend = backend
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()
        self.group_name = name
        self.group_desc = desc

    def rank(self) -> int:
        """This process's rank in the group."""
        return self._rank

    def size(self) -> int:
        """The number of processes in the group."""
        return self._size

    def name(self) -> str:
        """The backend's name."""
        return self._backend

    def __repr__(self) -> str:
        return (f"<ember.distributed.ProcessGroup {self.group_name!r} ranks={self._ranks} "
                f"backend={self._backend!r}>")


class _World:
    default_pg: ProcessGroup | None = None
    groups: dict = {}  # ProcessGroup -> {global rank: group rank}
    timeout: timedelta = default_pg_timeout
    group_count = 0


_world = _World()

NON_GROUP_MEMBER = -100


class _WorldMeta(type):
    @property
    def WORLD(cls) -> ProcessGroup | None:  # noqa: N802 (PyTorch's name)
        return _world.default_pg


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD`` is the default group (None before ``init_process_group``);
    ``new_group`` returns ``GroupMember.NON_GROUP_MEMBER`` to processes outside the group.

    Example:
        >>> dist.GroupMember.WORLD is dist.group.WORLD
        True
    """

    NON_GROUP_MEMBER = NON_GROUP_MEMBER


class group(metaclass=_WorldMeta):  # noqa: N801 (PyTorch's name)
    """``group.WORLD``: the default process group, PyTorch's ``dist.group.WORLD``.

    Example:
        >>> dist.all_reduce(t, group=dist.group.WORLD)
    """


# -- state queries ------------------------------------------------------------------------------
def is_available() -> bool:
    """Whether distributed training can run here: True when mpi4py is installed (it brings
    MPI); False, without raising, when it is not (``pip install "ember[distributed]"``).

    Example:
        >>> ember.distributed.is_available()
        True
    """
    return _mpi.mpi4py_installed()


def is_mpi_available() -> bool:
    """Whether the MPI backend can run (mpi4py is installed).

    Example:
        >>> dist.is_mpi_available()
        True
    """
    return _mpi.mpi4py_installed()


def is_gloo_available() -> bool:
    """Whether ``backend="gloo"`` can run: ember runs it on MPI, so as ``is_mpi_available``.

    Example:
        >>> dist.is_gloo_available()
        True
    """
    return _mpi.mpi4py_installed()


def is_nccl_available() -> bool:
    """False: ember has no NCCL backend (GPU tensors go through host memory over MPI).

    Example:
        >>> dist.is_nccl_available()
        False
    """
    return False


def is_backend_available(backend: str) -> bool:
    """Whether ``init_process_group(backend)`` can run here.

    Example:
        >>> dist.is_backend_available("gloo")
        True
    """
    return Backend(backend) in (Backend.MPI, Backend.GLOO) and _mpi.mpi4py_installed()


def is_torchelastic_launched() -> bool:
    """Whether torchrun (torchelastic) started this process (``TORCHELASTIC_RUN_ID`` is set).

    Example:
        >>> dist.is_torchelastic_launched()
        False
    """
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def is_initialized() -> bool:
    """Whether ``init_process_group`` has run (and ``destroy_process_group`` has not).

    Example:
        >>> dist.is_initialized()
        False
    """
    return _world.default_pg is not None


def _default_group() -> ProcessGroup:
    if _world.default_pg is None:
        raise ValueError("Default process group has not been initialized, please make sure "
                         "to call init_process_group.")
    return _world.default_pg


def resolve(group) -> ProcessGroup:
    """The ProcessGroup an argument names (None and ``group.WORLD``: the default)."""
    if group is None or group is _world.default_pg:
        return _default_group()
    if isinstance(group, ProcessGroup) and group in _world.groups:
        return group
    if isinstance(group, ProcessGroup):
        raise ValueError(f"Group {group} is not registered, please create group with "
                         "torch.distributed.new_group API")
    raise ValueError(f"Expecting a ProcessGroup, but got a {type(group)}.")


def not_member(group) -> bool:
    return group is not None and not isinstance(group, ProcessGroup) \
        and group == NON_GROUP_MEMBER


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (the default group when None); -1 outside it.

    Example:
        >>> dist.get_rank()
        0
    """
    if not_member(group):
        return -1
    return resolve(group).rank()


def get_world_size(group=None) -> int:
    """The number of processes in ``group`` (the default group when None); -1 outside it.

    Example:
        >>> dist.get_world_size()
        2
    """
    if not_member(group):
        return -1
    return resolve(group).size()


def get_backend(group=None) -> str:
    """The backend's name as given to ``init_process_group`` (``"mpi"`` or ``"gloo"``).

    Example:
        >>> dist.get_backend()
        'gloo'
    """
    if not_member(group):
        raise ValueError("Invalid process group specified")
    return resolve(group).name()


def get_process_group_ranks(group) -> list[int]:
    """The global ranks in ``group``, in group-rank order.

    Example:
        >>> dist.get_process_group_ranks(dist.new_group([1, 0]))
        [0, 1]
    """
    return list(resolve(group)._ranks)


def get_group_rank(group, global_rank: int) -> int:
    """A global rank's rank in ``group`` (ValueError when it is not in the group).

    Example:
        >>> dist.get_group_rank(dist.new_group([1]), 1)
        0
    """
    pg = resolve(group)
    if pg is _world.default_pg:
        return global_rank
    ranks = _world.groups[pg]
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return ranks[global_rank]


def get_global_rank(group, group_rank: int) -> int:
    """The global rank of ``group``'s rank ``group_rank`` (ValueError when out of range).

    Example:
        >>> dist.get_global_rank(dist.new_group([1]), 0)
        1
    """
    pg = resolve(group)
    if pg is _world.default_pg:
        return group_rank
    for rank, grp_rank in _world.groups[pg].items():
        if grp_rank == group_rank:
            return rank
    raise ValueError(f"Group rank {group_rank} is not part of group {pg}")


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its machine: ``LOCAL_RANK`` (set by torchrun, by ``ember run``
    and by ``init_process_group`` under mpirun), else ``fallback_rank``.

    Example:
        >>> dist.get_node_local_rank(fallback_rank=0)
        0
    """
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank "
                       "to allow `get_node_local_rank` to work, assuming you are not running "
                       "in a multi-device context and want the code to run locally instead.")


# -- init and destroy ---------------------------------------------------------------------------
_gloo_noted = False

_NCCL_MESSAGE = (
    "backend 'nccl' runs collectives on GPU memory, which needs a CUDA-aware MPI; ember does "
    "not use one, so there is no 'nccl' backend. Use init_process_group('mpi') (or 'gloo'): "
    "the collectives are the same, and CUDA tensors are copied through host memory.")


def _backend_name(backend) -> str:
    if backend is None:
        return Backend.MPI
    if not isinstance(backend, str):
        raise ValueError("Backend constructor parameter must be string-ish")
    names = set()
    for part in backend.split(","):  # "cpu:gloo,cuda:nccl"
        names.add(Backend(part.split(":")[-1].strip()))
    if Backend.NCCL in names:
        raise RuntimeError(_NCCL_MESSAGE)
    unknown = names - {Backend.MPI, Backend.GLOO}
    if unknown or len(names) != 1:
        raise ValueError(f"Invalid backend: {backend!r}. ember.distributed runs on MPI: use "
                         "backend='mpi' or 'gloo' (which runs on MPI too)")
    return names.pop()


def _check_timeout(timeout) -> timedelta:
    if timeout is None:
        return default_pg_timeout
    if not isinstance(timeout, timedelta):
        raise TypeError("Expected timeout argument to be of type datetime.timedelta, got "
                        f"{timeout}")
    return timeout


def _check_init_method(init_method) -> None:
    if init_method is None:
        return
    if not isinstance(init_method, str):
        raise TypeError(f"init_method must be a string URL, got {type(init_method).__name__}")
    scheme = init_method.split("://", 1)[0] if "://" in init_method else ""
    if scheme not in ("env", "tcp", "file"):
        raise RuntimeError(f"No rendezvous handler for {scheme}://")


def _launch_hint(size: int) -> str:
    n = max(size, 2)
    return (f"start every process with the MPI launcher: `ember run -n {n} script.py` "
            f"(or `mpirun -np {n} python script.py`), not torchrun or separate python commands")


def _check_against_mpi(mpi_rank: int, mpi_size: int, rank: int, world_size: int) -> None:
    if world_size is not None and world_size != -1 and world_size != mpi_size:
        raise ValueError(f"init_process_group: world_size={world_size}, but MPI started "
                         f"{mpi_size} process{'es' if mpi_size != 1 else ''}; "
                         + _launch_hint(world_size))
    if rank is not None and rank != -1 and rank != mpi_rank:
        raise ValueError(f"init_process_group: rank={rank}, but MPI gave this process rank "
                         f"{mpi_rank} of {mpi_size}; ranks come from the MPI launcher: "
                         "drop rank= (or pass dist's own get_rank())")
    env_size, env_rank = os.environ.get("WORLD_SIZE"), os.environ.get("RANK")
    launched = _mpi.launcher_env()
    if env_size is not None and env_size.strip().isdigit() and int(env_size) != mpi_size:
        raise ValueError(f"WORLD_SIZE={env_size} in the environment (torchrun sets it), but "
                         f"MPI started {mpi_size} process{'es' if mpi_size != 1 else ''}; "
                         + _launch_hint(int(env_size)))
    if (env_rank is not None and env_rank.strip().isdigit() and int(env_rank) != mpi_rank
            and launched.get("RANK") != env_rank):
        raise ValueError(f"RANK={env_rank} in the environment, but MPI gave this process rank "
                         f"{mpi_rank}; " + _launch_hint(mpi_size))


def init_process_group(backend=None, init_method=None, timeout=None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join the default process group: every process started by the MPI launcher.

    Args:
        backend: ``"mpi"`` (the default) or ``"gloo"`` (runs on MPI, with a one-time note);
            ``"nccl"`` raises (ember has no GPU-to-GPU collectives).
        init_method: ``"env://"``, ``"tcp://..."`` or ``"file://..."``: accepted and not
            needed, MPI's launcher connects the processes.
        timeout: kept for PyTorch's signature (a ``timedelta``); MPI has no per-call timeout,
            and a rank that fails aborts the job instead.
        world_size, rank: checked against MPI's (ValueError when they differ).

    Launch with ``ember run -n 2 script.py`` or ``mpirun -np 2 python script.py``. The
    variables torchrun sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``,
    ``MASTER_ADDR``, ``MASTER_PORT``) are set where missing, so torchrun scripts run
    unchanged. From here on an uncaught exception on one rank aborts all of them.

    Example:
        >>> dist.init_process_group("gloo")
        >>> dist.get_rank(), dist.get_world_size()
        (0, 2)
    """
    global _gloo_noted
    if _world.default_pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None and init_method is not None:
        raise AssertionError("Cannot specify both init_method and store.")
    name = _backend_name(backend)
    _check_init_method(init_method)
    timeout = _check_timeout(timeout)
    MPI = _mpi.mpi()
    world = MPI.COMM_WORLD
    mpi_rank, mpi_size = world.Get_rank(), world.Get_size()
    _check_against_mpi(mpi_rank, mpi_size, rank, world_size)
    _mpi.install_abort_hook()
    comm = world.Dup()
    local = world.Split_type(MPI.COMM_TYPE_SHARED, key=mpi_rank)
    _mpi.fill_torchrun_env({"RANK": str(mpi_rank), "WORLD_SIZE": str(mpi_size),
                            "LOCAL_RANK": str(local.Get_rank()),
                            "LOCAL_WORLD_SIZE": str(local.Get_size())})
    local.Free()
    pg = ProcessGroup(comm, range(mpi_size), name, group_name or "0", "default_pg")
    _world.default_pg = pg
    _world.groups = {pg: {r: r for r in range(mpi_size)}}
    _world.timeout = timeout
    _world.group_count = 1
    if name == Backend.GLOO and not _gloo_noted:
        _gloo_noted = True
        if mpi_rank == 0:
            print("note: ember.distributed runs backend 'gloo' on MPI (mpi4py): the same "
                  "collectives and results, carried by MPI", file=sys.stderr, flush=True)


def destroy_process_group(group=None) -> None:
    """Leave ``group``; with no argument (or ``group.WORLD``), every group, after which
    ``init_process_group`` may run again.

    Example:
        >>> dist.destroy_process_group()
        >>> dist.is_initialized()
        False
    """
    if not_member(group):
        return
    pg = _world.default_pg if group is None else group
    if pg is None:
        raise AssertionError("Process group cannot be None")
    if pg not in _world.groups:
        raise ValueError("Invalid process group specified")
    if pg is _world.default_pg:
        for each in list(_world.groups):
            _free(each)
        _world.groups = {}
        _world.default_pg = None
        return
    _free(pg)
    del _world.groups[pg]


def _free(pg: ProcessGroup) -> None:
    MPI = _mpi.mpi()
    if pg._comm != MPI.COMM_NULL and not MPI.Is_finalized():
        pg._comm.Free()


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization: bool = False, group_desc=None, device_id=None,
              sort_ranks: bool = True):
    """A process group of the given global ``ranks`` (all of them when None).

    Every process calls it with the same ranks (with ``use_local_synchronization=True``,
    only the members). Members get the group; the others get
    ``GroupMember.NON_GROUP_MEMBER``, on which collectives do nothing.

    Example:
        >>> evens = dist.new_group([0, 2])
        >>> dist.all_reduce(t, group=evens)   # ranks 0 and 2 only
    """
    world = _default_group()
    _check_timeout(timeout)
    name = world.name() if backend is None else _backend_name(backend)
    size, me = world.size(), world.rank()
    if ranks is None:
        ranks = list(range(size))
    else:
        ranks = [int(r) for r in ranks]
        if sort_ranks:
            ranks = sorted(ranks)
        if len(set(ranks)) != len(ranks):
            raise ValueError(f"ranks list must not contain duplicate entries, got {ranks}")
        if len(ranks) > size:
            raise ValueError("the new group's world size should be less or equal to the world "
                             "size set by init_process_group")
        for r in ranks:
            if r < 0 or r >= size:
                raise ValueError(f"Rank {r} is out of range. Valid ranks are 0 to {size - 1} "
                                 f"(world_size={size})")
    MPI = _mpi.mpi()
    member = me in ranks
    if use_local_synchronization:
        if not member:
            return None
        comm = world._comm.Create_group(world._comm.group.Incl(ranks))
    else:
        comm = world._comm.Split(0 if member else MPI.UNDEFINED,
                                 ranks.index(me) if member else 0)
    _world.group_count += 1
    if not member:
        return NON_GROUP_MEMBER
    pg = ProcessGroup(comm, ranks, name, str(_world.group_count - 1),
                      group_desc or "undefined")
    _world.groups[pg] = {r: i for i, r in enumerate(ranks)}
    return pg
