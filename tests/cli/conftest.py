"""A finished two-epoch run, trained once per test process and copied by tests that change it."""

import shutil

import pytest

from .run_ember import run_ember

BATCHES_PER_EPOCH = 20  # 1,258 training digits in batches of 64


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """``ember train --model mlp --epochs 2 --patience 0`` as a user types it (progress bar on,
    stderr not a terminal), in a fresh folder: the CompletedProcess and the run folder."""
    cwd = tmp_path_factory.mktemp("finished")
    proc = run_ember("train", "--model", "mlp", "--epochs", "2", "--patience", "0", cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, cwd / "runs" / "ember"


@pytest.fixture
def run(finished, tmp_path):
    """A copy of the finished 2-epoch MLP run on the digits: ``tmp_path / "run"``."""
    return shutil.copytree(finished[1], tmp_path / "run", copy_function=shutil.copy2)
