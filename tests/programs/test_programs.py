"""Tutorial-style PyTorch programs run twice, with torch and with ember as torch: same output.

Each ``tests/programs/<name>.py`` is a complete program written as a PyTorch user writes it
(``import torch``). It runs once under real PyTorch and once through ``_as_torch.py``, which
answers ``import torch`` with ember; the two printed outputs must be identical. Most programs
make their data and initial weights with NumPy (they predate ember drawing torch's random
stream); ``seeded_training`` relies on ``torch.manual_seed`` for everything. All print rounded
values.

PyTorch's output is recorded in ``expected/<name>.txt`` under a fingerprint of the program's
text and torch's version; a run with a current record compares ember with it instead of
starting torch again (half the work of this suite). A program without a current record is run
under torch as before, and ``test_recorded_outputs_are_current`` asks for the record:
``python tests/programs/test_programs.py --record`` runs torch on every program and writes them.

Programs that import torchvision need it on torch's side when they are recorded, and the test
oracle (torch 2.13's CPU wheel) has no torchvision beside it: torchvision's wheels load
compiled ops built for CUDA. Record them with torchvision 0.28.0 (torch 2.13's release)
installed apart, ``pip install --no-deps --target DIR torchvision==0.28.0`` (this project's
machines keep the wheel in ``/opt/pypi-more/files``), and ``_torchvision_shim/`` declaring its
compiled ops: ``EMBER_TORCHVISION_PATH=DIR python tests/programs/test_programs.py --record NAME``.
Without a current record such a program is skipped, and ``test_recorded_outputs_are_current``
names it.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNNER = HERE / "_as_torch.py"
EXPECTED = HERE / "expected"
PROGRAMS = sorted(p.stem for p in HERE.glob("*.py")
                  if not p.name.startswith(("_", "test_")))

# Programs that do not yet run the same on ember, each with the reason (an honest list).
XFAIL = {
}

# Programs that need an optional package in both libraries.
NEEDS = {
    "tensorboard_logging": "tensorboard",
}


def needs_torchvision(name: str) -> bool:
    """Whether the program imports torchvision (torch's side then needs it)."""
    return "torchvision" in (HERE / f"{name}.py").read_text()


def _torch_side_path() -> str:
    """PYTHONPATH for torch's runs: ROOT, after a torchvision installed apart if one is named
    (``EMBER_TORCHVISION_PATH``, with the shim that lets it import)."""
    extra = os.environ.get("EMBER_TORCHVISION_PATH")
    parts = [str(HERE / "_torchvision_shim"), extra] if extra else []
    return os.pathsep.join(parts + [str(ROOT)])


def _torchvision_importable() -> bool:
    run = subprocess.run([sys.executable, "-c", "import torchvision"], capture_output=True,
                         env=dict(os.environ, PYTHONPATH=_torch_side_path()), timeout=300)
    return run.returncode == 0


def _program_env(as_ember: bool) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) if as_ember else _torch_side_path(),
                PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                EMBER_NUM_THREADS="1")


def start_program(name, tmp_path, *, as_ember):
    """Start one run of ``name`` (in its own working directory) and return the process."""
    script = str(HERE / f"{name}.py")
    cmd = [sys.executable, str(RUNNER), script] if as_ember else [sys.executable, script]
    run_dir = tmp_path / ("ember" if as_ember else "torch")
    run_dir.mkdir()
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_program_env(as_ember), cwd=run_dir)


class ForkServer:
    """Runs programs under ember in forks of one process that imported ember once
    (``_fork_server.py``): the same runs as ``start_program(as_ember=True)`` without starting
    Python and importing ember for each."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_fork_server.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=_program_env(as_ember=True), cwd=HERE)

    def run(self, name, tmp_path, script=None) -> str:
        """``name``'s output (``script``: another program file than ``name``'s)."""
        run_dir = tmp_path / "ember"
        run_dir.mkdir(parents=True)
        out, err = tmp_path / "ember.stdout", tmp_path / "ember.stderr"
        script = script or HERE / f"{name}.py"
        request = {"script": str(script), "cwd": str(run_dir), "stdout": str(out),
                   "stderr": str(err), "timeout": 240}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, "the program fork server died"
        reply = json.loads(reply)
        stderr = err.read_text()
        if reply["timed_out"]:
            pytest.fail(f"{name} under ember did not finish in 240 s:\n{stderr[-2000:]}")
        assert reply["returncode"] == 0, f"{name} failed under ember:\n{stderr[-4000:]}"
        return out.read_text()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def fork_server():
    server = ForkServer()
    yield server
    server.close()


def finish(proc, name, who):
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"{name} under {who} did not finish in 240 s:\n{stderr[-2000:]}")
    assert proc.returncode == 0, f"{name} failed under {who}:\n{stderr[-4000:]}"
    return stdout


def _fingerprint(name: str, torch_version: str) -> str:
    digest = hashlib.sha256((HERE / f"{name}.py").read_bytes()).hexdigest()[:16]
    return f"# torch {torch_version.split('+')[0]} program {digest}"


def recorded_output(name: str, torch_version: str):
    """torch's recorded output of ``name``, or None when there is no record for this text of
    the program and this torch."""
    path = EXPECTED / f"{name}.txt"
    if not path.exists():
        return None
    head, _, body = path.read_text().partition("\n")
    return body if head == _fingerprint(name, torch_version) else None


def record(names, tmp_root: Path) -> None:
    """Run each program under torch and write its output to ``expected/`` (two at a time)."""
    import torch

    EXPECTED.mkdir(exist_ok=True)
    pending = list(names)
    while pending:
        batch, pending = pending[:2], pending[2:]
        runs = []
        for name in batch:
            work = tmp_root / name
            work.mkdir(parents=True, exist_ok=True)
            runs.append((name, start_program(name, work, as_ember=False)))
        for name, proc in runs:
            out = finish(proc, name, "torch")
            (EXPECTED / f"{name}.txt").write_text(
                _fingerprint(name, torch.__version__) + "\n" + out)
            print(f"recorded {name}")


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
def test_program_prints_what_pytorch_prints(name, tmp_path, fork_server):
    torch = pytest.importorskip("torch")
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    expected = recorded_output(name, torch.__version__)
    if expected is None and needs_torchvision(name) and not _torchvision_importable():
        pytest.skip(f"{name}'s record is stale and torch's side needs torchvision (see the "
                    "module docstring for recording it)")
    # without a current record torch runs too, side by side with ember
    torch_run = start_program(name, tmp_path, as_ember=False) if expected is None else None
    try:
        got = fork_server.run(name, tmp_path)
        if torch_run is not None:
            expected = finish(torch_run, name, "torch")
    finally:
        if torch_run is not None and torch_run.poll() is None:
            torch_run.kill()
            torch_run.communicate()
    assert expected.strip(), f"{name} printed nothing under torch"
    assert got == expected


def test_a_forked_run_is_a_fresh_program(tmp_path, fork_server):
    """What the fork server's runs rely on: each starts from ember's import-time state (a
    program that changes global state does not leak it into the next), with the exit status,
    the output streams and the working directory of a separate run."""
    program = tmp_path / "probe.py"
    program.write_text(
        "import os, sys, torch\n"
        "print(torch.get_default_dtype(), torch.initial_seed(), torch.rand(1).item())\n"
        "print(os.path.basename(os.getcwd()), sys.argv[0] == __file__, __name__)\n"
        "torch.set_default_dtype(torch.float64); torch.manual_seed(5); torch.rand(3)\n"
        "print('to stderr', file=sys.stderr)\n")
    first = fork_server.run("probe", tmp_path / "a", program)
    second = fork_server.run("probe", tmp_path / "b", program)
    alone = subprocess.run([sys.executable, str(RUNNER), str(program)], capture_output=True,
                           text=True, env=_program_env(as_ember=True), cwd=tmp_path / "a" / "ember",
                           timeout=240)
    assert first == second == alone.stdout
    assert "torch.float32 67280421310721" in first and "ember True __main__" in first
    assert (tmp_path / "a" / "ember.stderr").read_text() == "to stderr\n"
    program.write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(AssertionError, match="failed under ember"):
        fork_server.run("probe", tmp_path / "c", program)


def test_recorded_outputs_are_current():
    """Every program has torch's output recorded for its current text (else the suite runs
    torch for it each time): ``python tests/programs/test_programs.py --record``."""
    torch = pytest.importorskip("torch")
    stale = [n for n in PROGRAMS if n not in NEEDS and recorded_output(n, torch.__version__)
             is None]
    assert not stale, (f"no current record of torch's output for {stale}: run "
                       "python tests/programs/test_programs.py --record")


if __name__ == "__main__":
    import tempfile

    if "--record" not in sys.argv:
        sys.exit("usage: python tests/programs/test_programs.py --record [NAME ...]")
    chosen = [a for a in sys.argv[1:] if a != "--record"] or PROGRAMS
    with tempfile.TemporaryDirectory() as tmp:
        record(chosen, Path(tmp))
