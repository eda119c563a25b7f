"""``ember train --resume``: a resumed run continues in its own folder, with its own settings,
and a Ctrl-C leaves a checkpoint that the suggested command really continues."""

import signal
import subprocess
import sys
import time

import ember

from .conftest import BATCHES_PER_EPOCH
from .run_ember import (
    ROOT,
    SMALL,
    TIMEOUT,
    assert_one_line_error,
    ember_patched,
    environment,
    interrupt_at_step,
    run_ember,
)


def test_resume_continues_in_the_run_it_resumes_with_its_settings(run, tmp_path):
    # an unrelated run in the default folder must not be touched (it was overwritten once)
    other = run_ember("train", *SMALL, "--epochs", "1", "--seed", "1", cwd=tmp_path)
    assert other.returncode == 0, other.stderr[-3000:]
    unrelated = {p.name: p.read_bytes() for p in (tmp_path / "runs" / "ember").iterdir()}
    # no --model: the run's own (mlp) is the default, not the CLI's (cnn); no --patience: 0
    proc = run_ember("train", "--resume", "run", "--epochs", "3", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming run from epoch 3 of 3" in proc.stdout
    assert "mlp on digits" in proc.stdout and "run folder: run" in proc.stdout
    state = ember.load(run / "last.pth")
    assert state["epoch"] == 2 and len(state["history"]["val_acc"]) == 3
    assert state["config"]["model"] == "mlp" and state["config"]["patience"] == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "runs" / "ember").iterdir()} == unrelated
    assert not (tmp_path / "runs" / "ember-2").exists()


def test_resume_matches_an_uninterrupted_run(run, tmp_path):
    full = run_ember("train", *SMALL, "--epochs", "3", "--patience", "0", "--out-dir", "full",
                     cwd=tmp_path)
    assert full.returncode == 0, full.stderr[-3000:]
    part = run_ember("train", "--resume", "run", "--epochs", "3", "--quiet", cwd=tmp_path)
    assert part.returncode == 0, part.stderr[-3000:]
    a, b = ember.load(tmp_path / "full" / "last.pth"), ember.load(run / "last.pth")
    assert a["history"]["train_loss"] == b["history"]["train_loss"]
    for k, v in a["model_state"].items():
        assert ember.equal(v, b["model_state"][k]), k


def test_resume_refuses_a_changed_model_only_when_one_is_passed(run, tmp_path):
    changed = run_ember("train", "--resume", "run", "--epochs", "4", "--model", "cnn",
                        cwd=tmp_path)
    assert_one_line_error(changed, "--model is 'cnn'", "trained with model 'mlp'")
    data = run_ember("train", "--resume", "run", "--epochs", "4", "--dataset", "mnist",
                     cwd=tmp_path)
    assert_one_line_error(data, "--dataset is 'mnist'", "trained with dataset 'digits'")
    # the same model may be passed; --lr and --weight-decay reach the optimizer
    same = run_ember("train", "--resume", "run", "--epochs", "3", "--model", "mlp", "--lr",
                     "0.01", "--weight-decay", "0.001", "--quiet", cwd=tmp_path)
    assert same.returncode == 0, same.stderr[-3000:]
    state = ember.load(run / "last.pth")
    groups = state["optimizer_state"]["param_groups"]
    assert {g["lr"] for g in groups} == {0.01} and {g["weight_decay"] for g in groups} == {0.001}
    assert state["config"]["lr"] == 0.01 and state["config"]["weight_decay"] == 0.001


def test_resuming_a_finished_run_says_how_to_go_on(run, tmp_path):
    proc = run_ember("train", "--resume", "run", cwd=tmp_path)  # its own epochs: 2, done
    assert_one_line_error(proc, "run already finished 2 epochs of 2", "--epochs")


def test_resume_into_another_named_folder_branches(run, tmp_path):
    proc = run_ember("train", "--resume", "run/last.pth", "--epochs", "3", "--out-dir",
                     "branch", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ember.load(tmp_path / "branch" / "last.pth")["epoch"] == 2
    assert ember.load(run / "last.pth")["epoch"] == 1


def test_ctrl_c_in_the_first_epoch_then_the_suggested_resume_works(tmp_path):
    proc = ember_patched(interrupt_at_step(5), "train", *SMALL, "--epochs", "2", "--out-dir",
                         "run", cwd=tmp_path)
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "interrupted in epoch 1/2" in proc.stderr
    assert "`ember train --resume run` continues with epoch 1" in proc.stderr
    run = tmp_path / "run"
    assert not (run / "last.pth").exists()
    state = ember.load(run / "interrupted.pth")
    assert state["epoch"] == -1 and state["history"]["val_acc"] == []  # nothing finished
    again = run_ember("train", "--resume", "run", "--quiet", cwd=tmp_path)  # as suggested
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming run from epoch 1 of 2" in again.stdout
    state = ember.load(run / "last.pth")
    assert state["epoch"] == 1 and len(state["history"]["val_acc"]) == 2
    assert not (run / "interrupted.pth").exists()  # superseded once its epoch finished


def test_resume_from_interrupted_pth_reruns_the_unfinished_epoch(tmp_path):
    step = BATCHES_PER_EPOCH + 5  # inside epoch 2
    proc = ember_patched(interrupt_at_step(step), "train", *SMALL, "--epochs", "3",
                         "--patience", "0", "--out-dir", "run", cwd=tmp_path)
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert "interrupted in epoch 2/3" in proc.stderr
    run = tmp_path / "run"
    state = ember.load(run / "interrupted.pth")
    assert state["epoch"] == 0 and len(state["history"]["val_acc"]) == 1
    assert (run / "history.png").is_file()  # the plot of the finished epoch is written
    again = run_ember("train", "--resume", "run/interrupted.pth", "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming run from epoch 2 of 3" in again.stdout
    assert [line.split(":")[0] for line in again.stdout.splitlines()
            if line.startswith("epoch ")] == ["epoch 2/3", "epoch 3/3"]
    final = ember.load(run / "last.pth")
    assert final["epoch"] == 2 and len(final["history"]["val_acc"]) == 3


def test_a_real_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ember", "train", *SMALL, "--epochs", "500", "--patience", "0",
         "--out-dir", str(run)],
        cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # as in a terminal: a test run started in the background inherits SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (run / "last.pth").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (run / "last.pth").exists(), "training never finished an epoch"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "interrupted in epoch" in err
    state = ember.load(run / "interrupted.pth")
    assert state["epoch"] >= 0 and len(state["history"]["val_acc"]) == state["epoch"] + 1
    assert (run / "history.png").is_file()
    n = state["epoch"] + 1
    again = run_ember("train", "--resume", str(run), "--epochs", str(n + 1), "--quiet",
                      cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming {run} from epoch {n + 1} of {n + 1}" in again.stdout
    assert len(ember.load(run / "last.pth")["history"]["val_acc"]) == n + 1


def test_ctrl_c_during_start_up_exits_quietly(tmp_path):
    setup = ("import ember.cli.trainer as t\n"
             "def build(cfg):\n"
             "    raise KeyboardInterrupt\n"
             "t.build_datasets = build\n")
    proc = ember_patched(setup, "train", *SMALL, "--epochs", "1", cwd=tmp_path)
    assert proc.returncode == 130 and proc.stderr == "", proc.stderr[-3000:]
    assert not (tmp_path / "runs").exists()


def test_an_interrupted_checkpoint_of_the_old_format_reruns_its_epoch(run, tmp_path):
    # earlier versions saved the unfinished epoch's index as "epoch": 2 epochs done, "epoch" 2
    state = ember.load(run / "last.pth")
    state["epoch"] = len(state["history"]["val_acc"])
    ember.save(state, run / "old_interrupted.pth")
    proc = run_ember("train", "--resume", "run/old_interrupted.pth", "--epochs", "3", "--quiet",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming run from epoch 3 of 3" in proc.stdout
    assert len(ember.load(run / "last.pth")["history"]["val_acc"]) == 3


def test_a_checkpoint_without_training_state_is_not_resumed(run, tmp_path):
    state = ember.load(run / "best.pth")
    del state["optimizer_state"]
    ember.save(state, run / "weights_and_config.pth")
    proc = run_ember("train", "--resume", "run/weights_and_config.pth", "--epochs", "3",
                     cwd=tmp_path)
    assert_one_line_error(proc, "cannot be resumed: it lacks optimizer_state", "ember eval")
