"""``ember train``: what a run prints and writes, and that a new run never overwrites another."""

import os
import stat

import ember

from .run_ember import SMALL, assert_one_line_error, run_ember


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_short_run_prints_epochs_and_writes_checkpoints_and_plot(finished):
    proc, run = finished  # `ember train --model mlp --epochs 2 --patience 0`, stderr a pipe
    out = proc.stdout
    assert "mlp on digits" in out and "2 epochs" in out and "run folder: runs/ember\n" in out
    assert "summary: 2 epochs in" in out and "test acc" in out
    assert "next: ember eval runs/ember" in out
    # stderr is not a terminal: no bar redraws, one line per epoch
    assert proc.stderr == ""
    assert [line.split(":")[0] for line in out.splitlines()
            if line.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"]
    for name in ("best.pth", "last.pth", "history.png"):
        assert (run / name).is_file(), name
    assert (run / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = ember.load(run / "last.pth")
    assert state["epoch"] == 1 and len(state["history"]["val_acc"]) == 2
    assert state["config"]["out_dir"] == os.path.join("runs", "ember")
    assert not list(run.glob(".*"))  # no temporary files left behind


def test_best_is_a_link_to_last_not_a_copy(finished):
    proc, run = finished
    best, last = ember.load(run / "best.pth"), ember.load(run / "last.pth")
    accs = last["history"]["val_acc"]
    assert best["epoch"] == accs.index(max(accs))
    # the same file when the last epoch was the best, a separate one otherwise
    assert os.path.samefile(run / "best.pth", run / "last.pth") == (best["epoch"] == 1)
    assert ("the same file as last.pth" in proc.stdout) == (best["epoch"] == 1)


def test_checkpoints_get_the_usual_file_mode(finished):
    want = 0o666 & ~_umask()  # as torch.save (open(path, "wb")) gives
    for name in ("best.pth", "last.pth"):
        mode = stat.S_IMODE((finished[1] / name).stat().st_mode)
        assert mode == want, (name, oct(mode), oct(want))


def test_a_second_run_with_the_default_folder_moves_on(tmp_path):
    first = run_ember("train", *SMALL, "--epochs", "1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "1 epoch," in first.stdout and "summary: 1 epoch in" in first.stdout
    assert "1 epochs" not in first.stdout
    run = tmp_path / "runs" / "ember"
    before = (run / "last.pth").read_bytes()
    second = run_ember("train", *SMALL, "--epochs", "1", "--seed", "1", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "run folder: runs/ember-2 (runs/ember holds an earlier run" in second.stdout
    assert (run / "last.pth").read_bytes() == before
    assert ember.load(tmp_path / "runs" / "ember-2" / "last.pth")["config"]["seed"] == 1


def test_a_named_folder_that_holds_a_run_is_refused_without_force(run, tmp_path):
    files = {p.name: p.read_bytes() for p in run.iterdir()}
    again = run_ember("train", *SMALL, "--epochs", "1", "--out-dir", "run", cwd=tmp_path)
    assert_one_line_error(again, "--out-dir run already holds files", "--force",
                          "--resume run")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == files


def test_force_replaces_the_run_files_only(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "interrupted.pth").write_bytes(b"stale")
    (folder / "notes.txt").write_text("mine")
    proc = run_ember("train", *SMALL, "--epochs", "1", "--out-dir", "mine", "--force",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--force: replacing the run in mine" in proc.stdout
    assert not (folder / "interrupted.pth").exists()  # the old run leaves nothing stale
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "last.pth").is_file()


def test_bar_on_a_terminal_and_quiet_hides_it(tmp_path):
    import fcntl
    import pty
    import struct
    import subprocess
    import sys
    import termios
    import threading

    from .run_ember import TIMEOUT, environment

    def stderr_on_a_terminal(*flags):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 wide
        chunks = []
        reader = threading.Thread(target=lambda: _drain(master, chunks), daemon=True)
        reader.start()
        proc = subprocess.run([sys.executable, "-m", "ember", "train", "--model", "mlp",
                               "--epochs", "1", *flags], cwd=tmp_path, env=environment(),
                              stdout=subprocess.PIPE, stderr=slave, text=True, timeout=TIMEOUT)
        os.close(slave)
        reader.join(TIMEOUT)
        os.close(master)
        assert proc.returncode == 0
        return b"".join(chunks).decode(errors="replace"), proc.stdout

    bar, out = stderr_on_a_terminal("--out-dir", "a")
    assert "epoch 1/1" in bar and "batch" in bar and "epoch 1/1: train loss" in out
    quiet, out = stderr_on_a_terminal("--out-dir", "b", "--quiet")
    assert "batch" not in quiet and "epoch 1/1: train loss" in out


def _drain(fd, chunks):
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            return
        if not data:
            return
        chunks.append(data)


def test_out_dir_problems_are_found_before_the_first_epoch(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    proc = run_ember("train", *SMALL, "--epochs", "1", "--out-dir", "file.txt", cwd=tmp_path)
    assert_one_line_error(proc, "--out-dir file.txt is a file, not a folder")
    proc = run_ember("train", *SMALL, "--epochs", "1", "--out-dir", "file.txt/run",
                     cwd=tmp_path)
    assert_one_line_error(proc, "cannot be created: file.txt is a file")
    assert "epoch 1" not in proc.stdout


def test_unwritable_out_dir_is_found_before_the_first_epoch(tmp_path):
    import pytest

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions do not stop writes")
        proc = run_ember("train", *SMALL, "--epochs", "1", "--out-dir", "locked/run",
                         cwd=tmp_path)
    finally:
        locked.chmod(0o700)
    assert_one_line_error(proc, "not writable")
    assert "epoch 1" not in proc.stdout


def test_unavailable_device_is_an_error(tmp_path):
    import pytest

    if ember.cuda.is_available():
        pytest.skip("a CUDA device is available here")
    proc = run_ember("train", *SMALL, "--epochs", "1", "--device", "cuda", cwd=tmp_path)
    assert_one_line_error(proc, "--device is 'cuda', but no CUDA device is available")
    (tmp_path / "gpu.json").write_text('{"device": "cuda:0"}')
    proc = run_ember("train", *SMALL, "--config", "gpu.json", cwd=tmp_path)
    assert_one_line_error(proc, "config file gpu.json: key 'device' is 'cuda:0', but no CUDA")
    proc = run_ember("train", *SMALL, "--device", "gpu", cwd=tmp_path)
    assert_one_line_error(proc, "--device must be cpu, cuda or cuda:N, got 'gpu'")
    assert not (tmp_path / "runs").exists()
