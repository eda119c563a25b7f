"""Running the real ``ember`` command in a subprocess, as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # seconds; each command takes a few (1-2 epochs of an MLP on 1,797 8x8 digits)
SMALL = ("--model", "mlp", "--quiet")  # the tiny settings most runs use


def environment(**extra) -> dict:
    env = dict(os.environ)
    env.pop("EMBER_DEBUG", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["COLUMNS"] = "100"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "EMBER_NUM_THREADS"):
        env[var] = "1"  # tests run side by side: threads would only wait for each other
    env.update(extra)
    return env


def run_ember(*args, cwd, env: dict | None = None, stdout=subprocess.PIPE):
    """``python -m ember ARGS`` in ``cwd``: a CompletedProcess with text stdout/stderr."""
    return subprocess.run([sys.executable, "-m", "ember", *map(str, args)], cwd=cwd,
                          env=env or environment(), stdout=stdout, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True, timeout=TIMEOUT)


def ember_patched(setup: str, *args, cwd):
    """``ember ARGS`` through its real ``main`` in a fresh interpreter after ``setup`` code
    (which injects a Ctrl-C or an unreachable mirror at an exact point)."""
    code = f"{setup}\nimport sys\nfrom ember.__main__ import main\nsys.exit(main({list(map(str, args))!r}))"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environment(),
                          capture_output=True, stdin=subprocess.DEVNULL, text=True,
                          timeout=TIMEOUT)


def assert_one_line_error(proc, *needles: str) -> str:
    """A user mistake: exit status 2, one line on stderr, no traceback."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in err and "\n" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def interrupt_at_step(n: int) -> str:
    """Setup code: Ctrl-C (KeyboardInterrupt) inside training step ``n`` (1-based)."""
    return ("import ember.optim\n"
            "_step, _count = ember.optim.Adam.step, [0]\n"
            "def step(self, *a, **k):\n"
            "    _count[0] += 1\n"
            f"    if _count[0] == {n}:\n"
            "        raise KeyboardInterrupt\n"
            "    return _step(self, *a, **k)\n"
            "ember.optim.Adam.step = step\n")
