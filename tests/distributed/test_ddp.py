"""DistributedDataParallel under real MPI (``mpirun -np 2``): every check of workers/ddp.py
runs once in one job; each is one test here."""

from __future__ import annotations

import pytest

from ._launch import rank_results, require_mpi, shared_launch
from .workers.ddp import CHECKS

SIZE = 2


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    require_mpi()
    folder, proc = shared_launch(tmp_path_factory, "ddp", "ddp.py", SIZE)
    return proc, rank_results(folder, SIZE, proc)


@pytest.mark.parametrize("name", list(CHECKS))
def test_ddp(results, name):
    proc, ranks = results
    for rank, got in enumerate(ranks):
        outcome = got.get(name, "not run: an earlier check aborted the job")
        assert outcome == "ok", f"rank {rank}: {outcome}"


def test_job_exits_cleanly(results):
    proc, _ = results
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_placeholder_is_gone_without_a_process_group():
    import ember

    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 2))
