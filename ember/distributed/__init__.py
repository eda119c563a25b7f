"""``ember.distributed``: processes that train together, PyTorch's ``torch.distributed`` on MPI.

Start the processes with the MPI launcher, then join the default process group::

    ember run -n 2 train.py            # or: mpirun -np 2 python train.py

    import ember.distributed as dist
    dist.init_process_group("gloo")    # "mpi" is the same; "gloo" runs on MPI with a note
    t = ember.ones(3) * dist.get_rank()
    dist.all_reduce(t)                 # in place, on every process

The collectives (``all_reduce``, ``broadcast``, ``reduce``, ``all_gather``,
``all_gather_single``, ``reduce_scatter_single`` (and their names deprecated in PyTorch 2.13,
``all_gather_into_tensor`` and ``reduce_scatter_tensor``), ``gather``, ``scatter``,
``all_to_all``, ``all_to_all_single``, ``barrier``, ``monitored_barrier``),
point-to-point messages (``send``/``recv``/``isend``/``irecv``) and object collectives are
MPI's, through mpi4py (``pip install "ember[distributed]"``), which is imported on the first
``init_process_group``: importing this module loads neither mpi4py nor MPI. Under an MPI
launcher, importing it sets the variables torchrun would (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) where they are
missing, so scripts written for torchrun run unchanged. Data-parallel training:
``ember.nn.parallel.DistributedDataParallel`` with ``ember.utils.data.DistributedSampler``.

Example:
    >>> import ember.distributed as dist
    >>> dist.is_available()
    True
"""

from . import _mpi
from .all_to_all import all_to_all, all_to_all_single
from .collectives import (
    all_gather,
    all_gather_into_tensor,
    all_gather_single,
    all_reduce,
    barrier,
    broadcast,
    gather,
    reduce,
    reduce_scatter_single,
    reduce_scatter_tensor,
    scatter,
)
from .monitored_barrier import monitored_barrier
from .object_collectives import (
    all_gather_object,
    broadcast_object_list,
    gather_object,
    scatter_object_list,
)
from .point_to_point import P2POp, batch_isend_irecv, irecv, isend, recv, send
from .process_group import (
    Backend,
    GroupMember,
    ProcessGroup,
    default_pg_timeout,
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_node_local_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_backend_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    new_group,
)
from .reduce_op import ReduceOp
from .work import Work

_mpi.fill_torchrun_env()

__all__ = [
    "Backend", "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "Work", "all_gather",
    "all_gather_into_tensor", "all_gather_object", "all_gather_single", "all_reduce",
    "all_to_all", "all_to_all_single", "barrier",
    "batch_isend_irecv", "broadcast", "broadcast_object_list", "default_pg_timeout",
    "destroy_process_group", "gather", "gather_object", "get_backend", "get_global_rank",
    "get_group_rank", "get_node_local_rank", "get_process_group_ranks", "get_rank",
    "get_world_size", "group", "init_process_group", "irecv", "is_available",
    "is_backend_available", "is_gloo_available", "is_initialized", "is_mpi_available",
    "is_nccl_available", "is_torchelastic_launched", "isend", "monitored_barrier", "new_group",
    "recv", "reduce",
    "reduce_scatter_single", "reduce_scatter_tensor", "scatter", "scatter_object_list", "send",
]
