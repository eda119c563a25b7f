"""``ember train --nproc 2``: the digits trained data-parallel under the real mpirun.

One session job (shared by pytest-xdist workers): a 1-epoch run started with ``ember run -n 2
-m ember train``, resumed for a second epoch with ``ember train --nproc 2 --resume``, against an
unbroken 2-epoch run in one process with the same settings. The batches of the two-process run
are those of the one-process run (see ember/cli/parallel.py) and the MLP has no dropout, so the
weights must agree to float32 rounding. User mistakes are caught before mpirun starts.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.distributed._launch import once_per_session, require_mpi

from .run_ember import assert_one_line_error, run_ember

SETTINGS = ("--model", "mlp", "--batch-size", "34", "--patience", "0", "--quiet")
RUN_FILES = ["best.pth", "history.png", "last.pth"]


def _job(folder):
    first = run_ember("run", "-n", "2", "-m", "ember", "train", *SETTINGS, "--epochs", "1",
                      "--out-dir", "two", cwd=folder)
    after_first = sorted(p.name for p in (folder / "two").iterdir()) \
        if (folder / "two").is_dir() else []
    resumed = run_ember("train", "--nproc", "2", "--resume", "two", "--epochs", "2",
                        "--quiet", cwd=folder)
    single = run_ember("train", *SETTINGS, "--epochs", "2", "--out-dir", "one", cwd=folder)
    record = {name: {"returncode": p.returncode, "stdout": p.stdout, "stderr": p.stderr}
              for name, p in (("first", first), ("resumed", resumed), ("single", single))}
    record["after_first"] = after_first
    (folder / "jobs.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    require_mpi()
    folder = once_per_session(tmp_path_factory, "train_nproc", _job)
    record = json.loads((folder / "jobs.json").read_text())
    for name in ("first", "resumed", "single"):
        assert record[name]["returncode"] == 0, (name, record[name]["stderr"][-3000:])
    return folder, record


def _checkpoint(path):
    import ember

    return ember.load(path, map_location="cpu")


def test_rank_zero_alone_writes_one_set_of_files(jobs):
    folder, record = jobs
    assert record["after_first"] == RUN_FILES
    assert sorted(p.name for p in (folder / "two").iterdir()) == RUN_FILES
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["one", "two"]
    out = record["first"]["stdout"]
    assert out.count("epoch 1/1:") == 1 and out.count("summary:") == 1, out
    assert "2 processes" in out.splitlines()[0], out


def test_one_epoch_learns(jobs):
    folder, _ = jobs
    history = _checkpoint(folder / "two" / "best.pth")["history"]
    assert len(history["val_acc"]) == 2
    assert history["train_loss"][1] < history["train_loss"][0] < 2.3  # below chance's ln 10
    assert history["val_acc"][0] > 0.5


def test_resumed_run_continues(jobs):
    _, record = jobs
    out = record["resumed"]["stdout"]
    assert "resuming two from epoch 2 of 2" in out, out
    assert "epoch 2/2:" in out and "epoch 1/" not in out, out


def test_two_processes_match_one_on_the_whole_batch(jobs):
    folder, _ = jobs
    two = _checkpoint(folder / "two" / "last.pth")
    one = _checkpoint(folder / "one" / "last.pth")
    assert list(two["model_state"]) == list(one["model_state"])  # no DDP "module." prefix
    for name, want in one["model_state"].items():
        got = two["model_state"][name].numpy()
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(two["history"]["train_loss"], one["history"]["train_loss"],
                               rtol=1e-5)
    assert two["history"]["val_acc"] == one["history"]["val_acc"]


def test_mistakes_are_one_line_before_mpirun(tmp_path):
    proc = run_ember("train", "--nproc", "2", "--batch-size", "33", cwd=tmp_path)
    assert_one_line_error(proc, "--batch-size 33 does not split evenly over --nproc 2")
    proc = run_ember("train", "--nproc", "0", cwd=tmp_path)
    assert_one_line_error(proc, "--nproc must be at least 1")
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_stops_every_process_and_says_how_to_resume(tmp_path):
    """Ctrl-C (SIGINT to the command's process group, as a terminal sends it) once the first
    epoch is saved: mpirun ends the processes, and the command says how to continue."""
    import os
    import signal
    import subprocess
    import sys

    from .run_ember import TIMEOUT, environment

    require_mpi()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ember", "train", "--nproc", "2", *SETTINGS, "--epochs", "50",
         "--out-dir", "run"], cwd=tmp_path, env=environment(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in proc.stdout:  # the run folder holds last.pth once epoch 1 is printed
            if line.startswith("epoch 1/50"):
                os.killpg(proc.pid, signal.SIGINT)
                break
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err[-3000:]
    assert "interrupted: Ctrl-C stopped the 2 processes; `ember train --resume run` " \
           "continues from the last finished epoch" in err, err
    assert (tmp_path / "run" / "last.pth").is_file()
