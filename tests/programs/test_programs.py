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
XFAIL = {
}

# Programs that need an optional package in both libraries.
NEEDS = {
    "tensorboard_logging": "tensorboard",
}


def start_program(name, tmp_path, *, as_ember):
    """Start one run of ``name`` (in its own working directory) and return the process."""
    script = str(HERE / f"{name}.py")
    cmd = [sys.executable, str(RUNNER), script] if as_ember else [sys.executable, script]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", EMBER_NUM_THREADS="1")
    run_dir = tmp_path / ("ember" if as_ember else "torch")
    run_dir.mkdir()
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=run_dir)


def finish(proc, name, who):
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"{name} under {who} did not finish in 240 s:\n{stderr[-2000:]}")
    assert proc.returncode == 0, f"{name} failed under {who}:\n{stderr[-4000:]}"
    return stdout


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
    # the two runs are independent: run them side by side
    torch_run = start_program(name, tmp_path, as_ember=False)
    ember_run = start_program(name, tmp_path, as_ember=True)
    try:
        expected = finish(torch_run, name, "torch")
        got = finish(ember_run, name, "ember")
    finally:
        for proc in (torch_run, ember_run):
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert expected.strip(), f"{name} printed nothing under torch"
    assert got == expected
