"""Every user mistake gives one short line on stderr and a non-zero exit, never a traceback;
``EMBER_DEBUG=1`` or ``--debug`` shows the traceback."""

import subprocess
import sys

import pytest

import ember

from .run_ember import (
    SMALL,
    TIMEOUT,
    assert_one_line_error,
    ember_patched,
    environment,
    run_ember,
)


@pytest.fixture
def bad_checkpoints(tmp_path, run):
    good = (run / "last.pth").read_bytes()
    (tmp_path / "empty.pth").write_bytes(b"")
    (tmp_path / "truncated.pth").write_bytes(good[: len(good) // 2])
    (tmp_path / "text.pth").write_text("not a checkpoint")
    model = ember.nn.Sequential(ember.nn.Linear(1, 32), ember.nn.ReLU(), ember.nn.Linear(32, 1))
    ember.save(model.state_dict(), tmp_path / "model_weights.pth")  # the README's tour
    return tmp_path


@pytest.mark.parametrize("command", ["train --resume", "eval"])
@pytest.mark.parametrize("name,message", [
    ("empty.pth", "cannot read checkpoint empty.pth: the file is empty"),
    ("truncated.pth", "cannot read checkpoint truncated.pth"),
    ("text.pth", "cannot read checkpoint text.pth"),
    ("model_weights.pth", "holds only model weights (a state_dict)"),
])
def test_unusable_checkpoint(bad_checkpoints, command, name, message):
    proc = run_ember(*command.split(), name, cwd=bad_checkpoints)
    assert_one_line_error(proc, message)


def test_missing_data_names_the_download_flag(tmp_path):
    proc = run_ember("train", *SMALL, "--dataset", "mnist", "--data-dir", "nodata", cwd=tmp_path)
    err = assert_one_line_error(proc, "MNIST is not in --data-dir nodata", "add --download")
    assert "download=True" not in err


def test_failed_download_is_one_line(tmp_path):
    setup = ("import ember.vision.datasets as d\n"
             "d.MNIST.mirrors = ['http://127.0.0.1:9/']  # nothing listens: refused at once\n")
    proc = ember_patched(setup, "train", *SMALL, "--dataset", "mnist", "--download",
                         "--data-dir", "data", cwd=tmp_path)
    assert_one_line_error(proc, "downloading MNIST failed: Could not download")


def test_config_that_is_a_folder(tmp_path):
    (tmp_path / "cfg").mkdir()
    proc = run_ember("train", *SMALL, "--config", "cfg", cwd=tmp_path)
    assert_one_line_error(proc, "--config cfg is a folder")


@pytest.mark.parametrize("config,message", [
    ({"epochz": 3}, "config file cfg.json: unknown key 'epochz'"),
    ({"lr": "fast"}, "config file cfg.json: key 'lr' expects float"),
    ({"model": "transformer"}, "key 'model' must be one of mlp, cnn, resnet18"),
    ({"epochs": 0}, "config file cfg.json: key 'epochs' must be positive, got 0"),
])
def test_bad_config_file_names_the_key(tmp_path, config, message):
    import json

    (tmp_path / "cfg.json").write_text(json.dumps(config))
    proc = run_ember("train", "--config", "cfg.json", "--quiet", cwd=tmp_path)
    assert_one_line_error(proc, message)


@pytest.mark.parametrize("flags,message", [
    (["--epochs", "0"], "--epochs must be positive, got 0"),
    (["--batch-size", "-1"], "--batch-size must be positive, got -1"),
    (["--patience", "-2"], "--patience must not be negative, got -2"),
    (["--epochs", "two"], "argument --epochs: invalid int value: 'two'"),
    (["--model", "vit"], "argument --model: invalid choice: 'vit'"),
])
def test_bad_flag_names_the_flag(tmp_path, flags, message):
    proc = run_ember("train", "--quiet", *flags, cwd=tmp_path)
    err = assert_one_line_error(proc, message)
    assert "config key" not in err


def test_resume_from_a_missing_path(tmp_path):
    proc = run_ember("train", "--resume", "nope", cwd=tmp_path)
    assert_one_line_error(proc, "--resume nope: no such file or folder")
    (tmp_path / "empty_run").mkdir()
    proc = run_ember("train", "--resume", "empty_run", cwd=tmp_path)
    assert_one_line_error(proc, "holds no last.pth or interrupted.pth")


BLOCK = """
import sys


class NotInstalled:  # this install lacks {names}: finding or importing them fails
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in {names!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)


sys.meta_path.insert(0, NotInstalled)
"""


@pytest.mark.parametrize("names", [("matplotlib",), ("tqdm", "matplotlib")])
def test_missing_train_extra_is_named_before_any_work(tmp_path, names):
    for args in (["train", *SMALL, "--epochs", "1"], ["eval", "runs/ember"]):
        proc = ember_patched(BLOCK.format(names=names), *args, cwd=tmp_path)
        err = assert_one_line_error(proc, 'pip install "ember[train]"', "matplotlib")
        if args[0] == "train" and "tqdm" in names:
            assert "tqdm, matplotlib are missing" in err
    assert not (tmp_path / "runs").exists()


def test_debug_shows_the_traceback(tmp_path):
    proc = run_ember("train", "--resume", "nope", cwd=tmp_path,
                     env=environment(EMBER_DEBUG="1"))
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "CLIError" in proc.stderr
    proc = run_ember("train", "--resume", "nope", "--debug", cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    proc = run_ember("--debug", "train", "--resume", "nope", cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_eval_into_a_closed_pipe_exits_quietly(run, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "ember", "eval", "run"], cwd=tmp_path,
                            env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    proc.stdout.close()  # as `| head` does once it has its lines: every write now fails
    _, err = proc.communicate(timeout=TIMEOUT)
    assert err == b"", err[-3000:]
    assert proc.returncode == 141
