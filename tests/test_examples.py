"""Every example runs (as a user would run it, in a subprocess) and does what it says."""

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


# wide margins: on an idle machine each example takes a few seconds, but the suite runs many
# processes side by side and no test may fail because the machine is busy
TIMEOUT = 280  # under pytest-timeout's 300 s, so a hang still reports this command


def run(script, *args, env=None, timeout=TIMEOUT):
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    out = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True,
                         text=True, timeout=timeout, env=full_env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file (gzipped) as MNIST ships them: magic, dims, big-endian uint8 data."""
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I",
                                                                   *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_mnist_like(root: Path, folder: str, n_train=256, n_test=64) -> Path:
    """Learnable 28x28 images: each class is a bright block at its own place, plus noise."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28))
        for i, c in enumerate(labels):
            r, col = divmod(int(c), 5)
            images[i, 4 + r * 12:12 + r * 12, 2 + col * 5:6 + col * 5] = 250
        write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return root


def test_tensor_basics():
    out = run("tensor_basics.py")
    assert "add: tensor([5., 7., 9.])" in out
    assert "matmul: 32.0" in out
    assert "tensor([[4., 5.],\n        [6., 7.]])" in out
    assert "grad tensor([2., 4., 6.])" in out
    assert "from_numpy: tensor([1, 2, 3]), dtype: torch.int64" in out
    assert "unsqueeze(0): torch.Size([1, 3, 4]), then squeeze(0): torch.Size([3, 4])" in out
    assert "gather(t, dim=0, index=[[0, 1, 2], [2, 1, 0]]):\ntensor([[1, 5, 9]," in out


def test_regression_learns_the_line():
    out = run("regression.py", env={"EMBER_EXAMPLE_EPOCHS": "30"})
    preds = [float(line.split("prediction=")[1].split()[0]) for line in out.splitlines()
             if "prediction=" in line]
    assert len(preds) == 3
    assert np.allclose(preds, [3.0, 5.0, 7.0], atol=0.3), preds
    logged = [(int(line.split("[")[1].split("/")[0]), float(line.split(": ")[1]))
              for line in out.splitlines() if line.startswith("Epoch [")]
    assert [e for e, _ in logged] == [1, 10, 20, 30]
    losses = [loss for _, loss in logged]
    # it falls (SGD on shuffled batches may wobble by a last digit once the line is found)
    assert losses[0] > 10 * max(losses[1:]) and losses[-1] < 0.02, losses
    assert "checkpoint: 30 epochs done" in out  # the same count as the last "Epoch [30/30]"


def test_custom_function():
    out = run("custom_function.py")
    assert "tensor([0., 1., 1.])" in out and "gradcheck: True" in out


def test_fashion_mnist_quickstart(tmp_path):
    make_mnist_like(tmp_path, "FashionMNIST")
    out = run("fashion_mnist_quickstart.py", "--root", str(tmp_path), "--epochs", "2")
    assert "Shape of X [N, C, H, W]: torch.Size([64, 1, 28, 28])" in out
    assert "Done!" in out


def test_mnist_cnn(tmp_path):
    make_mnist_like(tmp_path, "MNIST")
    out = run("mnist_cnn.py", "--root", str(tmp_path), "--epochs", "2", "--batch-size", "32")
    acc = [int(line.split("(")[1].split("%")[0]) for line in out.splitlines()
           if line.startswith("Test set")]
    assert acc and acc[-1] >= 80, out


def test_char_lstm_loss_falls():
    # a small model for few steps: seconds, and the loss still falls well below log(vocab)
    out = run("char_lstm.py", "--steps", "40", "--hidden", "32", "--seq", "24", "--sample", "40",
              "--lr", "0.01")
    first, last = (float(v) for v in out.strip().splitlines()[-1].split()[1::2])
    assert last < first - 0.8, out
    assert "sample:" in out


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_has_a_test(script):
    tested = Path(__file__).read_text()
    assert f'"{script}"' in tested, f"examples/{script} has no test"


def test_export_onnx(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    train = subprocess.run(
        [sys.executable, "-m", "ember", "train", "--dataset", "digits", "--model", "cnn",
         "--epochs", "1", "--out-dir", str(tmp_path / "run"), "--quiet"],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert train.returncode == 0, train.stderr[-3000:]
    out = run("export_onnx.py", str(tmp_path / "run" / "best.pth"), "--out",
              str(tmp_path / "cnn.onnx"), "--batch-size", "64")
    assert (tmp_path / "cnn.onnx").exists()
    diff = float(out.split("max |logits difference|: ")[1].split()[0])
    assert diff < 1e-4, out
    agree = out.split("predictions agree on ")[1].split()[0]
    assert agree.split("/")[0] == agree.split("/")[1], out
    ember_acc, ort_acc = (line.split()[-1] for line in out.splitlines()[-1].split(","))
    assert ember_acc == ort_acc, out
