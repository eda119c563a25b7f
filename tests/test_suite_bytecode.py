"""The suite's own processes keep a bytecode cache (see tests/conftest.py): a test's
subprocesses import ember from cached bytecode instead of compiling it each time."""

import os
import subprocess
import sys


def test_subprocesses_may_write_bytecode():
    assert "PYTHONDONTWRITEBYTECODE" not in os.environ  # this worker's env, inherited by children
    child = subprocess.run([sys.executable, "-c", "import sys; print(sys.dont_write_bytecode)"],
                           capture_output=True, text=True, timeout=300)
    assert child.stdout.strip() == "False"
