"""``ember train --nproc N``: the same training run, data-parallel over N MPI processes.

The command checks everything a user can get wrong first (flags, config, the run folder, the
resumed checkpoint, mpi4py and mpirun), in this one process, so a mistake is one line; then it
starts itself again under ``mpirun -np N`` (the launch ``ember run`` uses), passing the run
folder it chose. Each process trains a replica wrapped in ``DistributedDataParallel`` on its
share of every batch; rank 0 alone validates, prints, and writes the checkpoints and the plot.

``--batch-size`` stays the number of samples per training step, split evenly over the
processes, and the processes' shares of an epoch come from the very shuffle a one-process run
draws (the same generator, split as ``DistributedSampler`` splits it): the batches of a
two-process run are those of a one-process run, so the weights match it to float32 rounding
(dropout aside: each process draws its own masks), and a run may be resumed with another
``--nproc``. ``ember run -n N -m ember train ...`` runs the same code. Ctrl-C makes mpirun end
every process at once, so an interrupted run continues from its last finished epoch.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from .errors import CLIError

ENV_RUN_DIR = "EMBER_TRAIN_RUN_DIR"    # the run folder the launching process chose
ENV_RUN_NOTE = "EMBER_TRAIN_RUN_NOTE"  # and what it said about it


@dataclass
class World:
    """This process's place in a data-parallel run."""

    rank: int
    size: int

    @property
    def main(self) -> bool:
        return self.rank == 0


def launched_size() -> int | None:
    """The number of processes when this one was started by an MPI launcher, else None."""
    from ember.distributed import _mpi

    env = _mpi.launcher_env()
    return int(env["WORLD_SIZE"]) if env else None


def wants_launch(args) -> bool:
    """Whether this process should start ``--nproc`` copies of itself under mpirun."""
    nproc = getattr(args, "nproc", None)
    if nproc is None:
        return False
    if nproc < 1:
        raise CLIError(f"--nproc must be at least 1, got {nproc}")
    return nproc > 1 and launched_size() is None


def check_batch_split(batch_size: int, nproc: int) -> None:
    if batch_size % nproc:
        raise CLIError(f"--batch-size {batch_size} does not split evenly over --nproc {nproc} "
                       f"processes (each takes an equal share of a step); choose a multiple "
                       f"of {nproc}")


def launch(args, nproc: int, out, note: str | None) -> int:
    """Start ``ember ARGS`` (this command again) on ``nproc`` processes; mpirun's status."""
    from ember.distributed import _mpi

    from .run_command import (
        DISTRIBUTED_EXTRA,
        build_command,
        find_mpirun,
        is_open_mpi,
        run_mpirun,
    )

    if not _mpi.mpi4py_installed():
        raise CLIError(f"ember train --nproc {nproc} needs mpi4py and MPI: {DISTRIBUTED_EXTRA}")
    mpirun = find_mpirun()
    open_mpi = is_open_mpi(mpirun)
    cmd = build_command(nproc, list(args.argv), module="ember", mpirun=mpirun,
                        open_mpi=open_mpi)
    env = {ENV_RUN_DIR: str(out), ENV_RUN_NOTE: note or ""}
    threads = str(max(1, (os.cpu_count() or 1) // nproc))  # as torchrun: no oversubscription
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "EMBER_NUM_THREADS"):
        if var not in os.environ:
            env[var] = threads
    try:
        return run_mpirun(cmd, open_mpi, env)
    except KeyboardInterrupt:  # mpirun ends every process at once: nothing is saved mid-epoch
        from pathlib import Path

        last = Path(out) / "last.pth"
        then = (f"`ember train --resume {out}` continues from the last finished epoch"
                if last.exists() else "no epoch had finished, so nothing was saved")
        print(f"\ninterrupted: Ctrl-C stopped the {nproc} processes; {then}",
              file=sys.stderr, flush=True)
        return 130


def join(args) -> World | None:
    """In a process started by mpirun (by ``--nproc`` or ``ember run``): join the process group
    and return this process's World; None in a plain single-process run."""
    size = launched_size()
    if size is None or size == 1:
        return None
    nproc = getattr(args, "nproc", None)
    if nproc is not None and nproc != size:
        raise CLIError(f"--nproc {nproc}, but MPI started {size} processes; give the same "
                       "number to both (or leave --nproc out under ember run / mpirun)")
    import ember.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("mpi")
    return World(dist.get_rank(), dist.get_world_size())


def fail(world: World, err: BaseException) -> None:
    """An error in a data-parallel run: say it once (rank 0, or the rank it happened on),
    then end every process (a rank that just exited would leave the others waiting)."""
    from ember.distributed import _mpi

    if isinstance(err, (CLIError, OSError)):
        if world.main or not isinstance(err, CLIError):
            where = "" if world.main else f" (rank {world.rank})"
            print(f"ember train: error{where}: {err}", file=sys.stderr, flush=True)
        _mpi.abort_world(2 if isinstance(err, CLIError) else 1)
        return
    _mpi.report_and_abort(type(err), err, err.__traceback__)


def shard_sampler(dataset, generator, world: World):
    """This process's share of each epoch's shuffle (see the module's docstring)."""
    from ember.utils.data import DistributedSampler, RandomSampler, Sampler

    class ShuffledShard(Sampler):
        """The one-process shuffle of ``dataset`` (drawn from ``generator``), split over the
        processes as ``DistributedSampler(shuffle=False)`` splits a list: process ``r`` of
        ``n`` takes positions ``r, r + n, ...``, so batch ``k`` of every process together is
        batch ``k`` of a one-process run with ``n`` times the batch size."""

        def __init__(self):
            self.order = RandomSampler(dataset, generator=generator)
            self.split = DistributedSampler(dataset, num_replicas=world.size, rank=world.rank,
                                            shuffle=False)

        def __iter__(self):
            order = list(self.order)
            return iter([order[i] for i in self.split])

        def __len__(self) -> int:
            return len(self.split)

    return ShuffledShard()


def reduce_sums(world: World, *values: float) -> list:
    """``values`` summed over the processes (float64)."""
    import numpy as np

    import ember
    import ember.distributed as dist

    t = ember.from_numpy(np.array(values, np.float64))
    dist.all_reduce(t)
    return t.tolist()


def share(world: World, value):
    """Rank 0's ``value`` (any picklable object), on every process."""
    import ember.distributed as dist

    box = [value if world.main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def seed_dropout(seed: int, epoch: int, world: World) -> None:
    """Give each process its own default-generator stream for the epoch (dropout masks), the
    same for a given seed, epoch and rank, so a resumed run draws what an unbroken one does."""
    import ember

    ember.manual_seed((seed * 1_000_003 + epoch * 4_099 + world.rank) % 2**63)
