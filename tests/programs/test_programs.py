"""Tutorial-style PyTorch programs run twice, with torch and with ember as torch: same output.

Each ``tests/programs/<name>.py`` is a complete program written as a PyTorch user writes it
(``import torch``). It runs once under real PyTorch and once through ``_as_torch.py``, which
answers ``import torch`` with ember; the two printed outputs must be identical. Programs make
their data and initial weights without torch's random generator (NumPy arrays, fixed formulas),
so the two libraries start from the same numbers, and print rounded values.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNNER = HERE / "_as_torch.py"
PROGRAMS = sorted(p.stem for p in HERE.glob("*.py")
                  if not p.name.startswith(("_", "test_")))

# Programs that do not yet run the same on ember, each with the reason (an honest list).
XFAIL = {}

# Programs that need an optional package in both libraries.
NEEDS = {
    "tensorboard_logging": "tensorboard",
}


def run_program(name, tmp_path, *, as_ember):
    script = str(HERE / f"{name}.py")
    cmd = [sys.executable, str(RUNNER), script] if as_ember else [sys.executable, script]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", EMBER_NUM_THREADS="1")
    run_dir = tmp_path / ("ember" if as_ember else "torch")
    run_dir.mkdir()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                         cwd=run_dir)
    who = "ember" if as_ember else "torch"
    assert out.returncode == 0, f"{name} failed under {who}:\n{out.stderr[-4000:]}"
    return out.stdout


def test_there_are_enough_programs():
    assert len(PROGRAMS) >= 20, PROGRAMS


def test_runner_maps_torch_names_to_ember():
    sys.path.insert(0, str(HERE))
    try:
        from _as_torch import ember_name
    finally:
        sys.path.remove(str(HERE))
    assert ember_name("torch") == "ember"
    assert ember_name("torch.nn.functional") == "ember.nn.functional"
    assert ember_name("torchvision.transforms") == "ember.vision.transforms"
    assert ember_name("torchaudio") is None and ember_name("numpy") is None


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=XFAIL[n], strict=True)) if n in XFAIL else n
    for n in PROGRAMS
])
def test_program_prints_what_pytorch_prints(name, tmp_path):
    pytest.importorskip("torch")
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    expected = run_program(name, tmp_path, as_ember=False)
    got = run_program(name, tmp_path, as_ember=True)
    assert expected.strip(), f"{name} printed nothing under torch"
    assert got == expected
