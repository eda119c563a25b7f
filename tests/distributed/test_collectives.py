"""ember.distributed's collectives under real MPI: ``mpirun -np 2`` and ``-np 3`` (an odd size)
each run every check of workers/collectives.py once; each check is one test here."""

from __future__ import annotations

import pytest

from ._launch import rank_results, require_mpi, shared_launch
from .workers.collectives import CHECKS

SIZES = (2, 3)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    require_mpi()
    out = {}
    for size in SIZES:
        backend = "gloo" if size == 2 else "mpi"
        folder, proc = shared_launch(tmp_path_factory, f"collectives-np{size}",
                                     "collectives.py", size, backend)
        out[size] = (proc, rank_results(folder, size, proc))
    return out


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(CHECKS))
def test_collective(results, name, size):
    proc, ranks = results[size]
    for rank, got in enumerate(ranks):
        outcome = got.get(name, "not run: an earlier check aborted the job")
        assert outcome == "ok", f"rank {rank} of {size}: {outcome}"


def test_jobs_exit_cleanly(results):
    for size, (proc, _) in results.items():
        assert proc.returncode == 0, (size, proc.stderr[-3000:])


def test_gloo_note_once_on_rank_zero(results):
    proc, _ = results[2]
    assert proc.stderr.count("runs backend 'gloo' on MPI") == 1, proc.stderr
