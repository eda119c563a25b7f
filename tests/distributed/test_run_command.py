"""``ember run -n N script.py ARGS``: the mpirun command it builds, its one-line errors, a
torchrun-style script started unchanged on two processes, and a failing rank that stops the
job (under ``ember run`` and under plain ``mpirun``) instead of leaving rank 0 waiting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ember.cli import run_command
from ember.cli.commands import main

from ._launch import TIMEOUT, WORKERS, environment, launch, require_mpi


def _ember(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ember", *map(str, args)], cwd=cwd,
                          env=environment(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=TIMEOUT)


# -- the command it builds ----------------------------------------------------------------------
def test_build_command():
    cmd = run_command.build_command(2, ["train.py", "--epochs", "3"], mpirun="mpirun",
                                    open_mpi=True, cores=2)
    assert cmd == ["mpirun", "-np", "2", "--bind-to", "none", sys.executable, "-m",
                   "ember.distributed._rank_main", "train.py", "--epochs", "3"]
    cmd = run_command.build_command(4, ["ember", "train"], module="ember", mpirun="mpirun",
                                    open_mpi=True, cores=2)
    assert cmd[:6] == ["mpirun", "-np", "4", "--oversubscribe", "--bind-to", "none"]
    assert cmd[-4:] == ["-m", "ember", "ember", "train"]
    cmd = run_command.build_command(8, ["t.py"], hostfile="hosts", mpirun="mpiexec",
                                    open_mpi=False, cores=2)
    assert cmd[:5] == ["mpiexec", "-np", "8", "--hostfile", "hosts"]
    assert "--oversubscribe" not in cmd and "--bind-to" not in cmd  # not Open MPI's flags


def test_dry_run_prints_the_command(tmp_path, capsys):
    require_mpi()
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    assert main(["run", "-n", "2", "--dry-run", str(script), "a", "--flag"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith(f"-m ember.distributed._rank_main {script} a --flag"), out
    assert " -np 2 " in out


@pytest.mark.parametrize("args, message", [
    (["-n", "0", "s.py"], "-n must be at least 1, got 0"),
    (["missing.py"], "missing.py: no such script"),
    ([], "give the script to run"),
    (["--hostfile", "nohosts", "s.py"], "--hostfile nohosts: no such file"),
    (["--mpirun", "/no/such/mpirun", "s.py"], "--mpirun /no/such/mpirun: no such program"),
])
def test_one_line_errors(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.py").write_text("print(1)\n")
    monkeypatch.setattr("ember.distributed._mpi.mpi4py_installed", lambda: True)
    assert main(["run", *args]) == 2
    err = capsys.readouterr().err
    assert err == f"ember run: error: {message}\n" or message in err, err
    assert err.count("\n") == 1


def test_without_mpi4py_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.py").write_text("print(1)\n")
    monkeypatch.setattr("ember.distributed._mpi.mpi4py_installed", lambda: False)
    assert main(["run", "s.py"]) == 2
    assert 'pip install "ember[distributed]"' in capsys.readouterr().err


# -- real runs ----------------------------------------------------------------------------------
def test_torchrun_script_runs_unchanged(tmp_path):
    require_mpi()
    proc = _ember("run", "-n", "2", WORKERS / "torchrun_style.py", "--lr", "0.1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = sorted(line for line in proc.stdout.splitlines() if line.startswith("rank="))
    assert lines == [
        f"rank={r} world=2 local={r} master=127.0.0.1:29500 name=__main__ "
        f"argv=['--lr', '0.1'] sum=[1.0, 1.0]" for r in range(2)], proc.stdout


@pytest.mark.parametrize("launcher", ["ember run", "mpirun"])
def test_a_failing_rank_stops_the_job(tmp_path, launcher):
    require_mpi()
    if launcher == "ember run":
        proc = _ember("run", "-n", "2", WORKERS / "fails_on_rank_one.py", "raise", cwd=tmp_path)
    else:  # plain mpirun: init_process_group's excepthook aborts the job
        proc = launch("fails_on_rank_one.py", 2, "raise", cwd=tmp_path)
    assert proc.returncode != 0
    assert "rank 0 was not stopped" not in proc.stdout
    assert "[rank 1]: ValueError: rank one gives up" in proc.stderr, proc.stderr[-3000:]
    assert "rank 1 failed with ValueError; aborting the job" in proc.stderr
    first = proc.stderr.split("[rank 1]: Traceback (most recent call last):\n", 1)[1]
    assert "fails_on_rank_one.py" in first.splitlines()[0], first  # the user's frame first


def test_a_rank_exiting_with_an_error_status_stops_the_job(tmp_path):
    require_mpi()
    proc = _ember("run", "-n", "2", WORKERS / "fails_on_rank_one.py", "exit", cwd=tmp_path)
    assert proc.returncode == 3, (proc.returncode, proc.stderr[-3000:])
    assert "rank 1 exited with status 3; aborting the job" in proc.stderr
