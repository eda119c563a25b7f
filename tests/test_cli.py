"""The ``ember`` command: train (short runs), resume equivalence, eval, info, bad configs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ember
from ember.cli.commands import main

ROOT = Path(__file__).resolve().parents[1]


def test_train_short_run_writes_checkpoints_and_plot(tmp_path, capsys):
    out_dir = tmp_path / "run"
    code = main(["train", "--epochs", "2", "--out-dir", str(out_dir), "--quiet", "--model",
                 "mlp"])
    assert code == 0
    text = capsys.readouterr().out
    assert "summary: 2 epochs" in text and "test acc" in text
    for name in ("best.pth", "last.pth", "history.png"):
        assert (out_dir / name).exists()
    state = ember.load(out_dir / "last.pth")
    assert state["epoch"] == 1 and len(state["history"]["val_acc"]) == 2
    assert (out_dir / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_matches_an_uninterrupted_run(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    base = ["train", "--model", "mlp", "--quiet", "--patience", "0"]
    assert main(base + ["--epochs", "3", "--out-dir", str(full)]) == 0
    assert main(base + ["--epochs", "2", "--out-dir", str(part)]) == 0
    assert main(base + ["--epochs", "3", "--out-dir", str(part), "--resume", str(part)]) == 0
    a = ember.load(full / "last.pth")
    b = ember.load(part / "last.pth")
    assert a["history"]["train_loss"] == b["history"]["train_loss"]
    for k, v in a["model_state"].items():
        assert ember.equal(v, b["model_state"][k]), k


def test_eval_prints_confusion_matrix(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--model", "mlp", "--quiet", "--out-dir",
                 str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path), "--plot", str(tmp_path / "cm.png")]) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "<- predicted" in text
    assert (tmp_path / "cm.png").exists()


def test_info(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert f"ember {ember.__version__}" in text and "NumPy" in text and "devices: cpu" in text


@pytest.mark.parametrize("config,message", [
    ({"epochz": 3}, "unknown key 'epochz'"),
    ({"lr": "fast"}, "key 'lr' expects float"),
    ({"model": "transformer"}, "must be one of"),
    ({"epochs": 0}, "must be positive"),
])
def test_bad_config_names_the_key(tmp_path, capsys, config, message):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(config))
    assert main(["train", "--config", str(path), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_resume_from_missing_checkpoint_fails_before_training(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "nope"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "ember", "info"], capture_output=True, text=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert out.returncode == 0 and "ember" in out.stdout


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    import signal
    import time

    out_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ember", "train", "--model", "mlp", "--epochs", "500",
         "--patience", "0", "--quiet", "--out-dir", str(out_dir)],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not (out_dir / "last.pth").exists() and time.time() < deadline:
            time.sleep(0.1)
        assert (out_dir / "last.pth").exists(), "training never finished an epoch"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted: weights saved" in err
    state = ember.load(out_dir / "interrupted.pth")
    assert state["epoch"] >= 0 and "model_state" in state
