"""Run code snippets each in a fresh interpreter state, paying for one interpreter start.

Warnings that PyTorch (and ember, to match it) gives once per process can only be compared in
a process that has not warned yet. Starting Python with torch for each case costs seconds; here
one subprocess imports the library once and forks a child per snippet, so each snippet runs in
a copy of a process that has imported the library and done nothing else.
"""
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_DRIVER = r"""
import io, json, os, sys, traceback
import importlib
importlib.import_module(sys.argv[1])
snippets = json.loads(sys.stdin.read())
results = {}
for name, code in snippets.items():
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        out = io.StringIO()
        sys.stdout = out
        try:
            exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
            result = {"stdout": out.getvalue()}
        except BaseException:
            result = {"error": traceback.format_exc()}
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(json.dumps(result))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        results[name] = json.loads(pipe.read() or '{"error": "the child died"}')
    os.waitpid(pid, 0)
sys.__stdout__.write(json.dumps(results))
"""


def run_each_fresh(library: str, snippets: dict) -> dict:
    """``{name: stdout}`` of each snippet, run in its own fork of one process that imported
    ``library`` ("torch" or "ember"); a snippet that raises fails with its traceback."""
    results = _run(library, json.dumps(snippets, sort_keys=True))
    for name, result in results.items():
        assert "error" not in result, f"{name} under {library}:\n{result['error']}"
    return {name: result["stdout"] for name, result in results.items()}


@functools.cache
def _run(library: str, snippets_json: str) -> dict:
    # one thread each: a fork must not inherit a busy OpenMP or ember thread pool
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", EMBER_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", _DRIVER, library], input=snippets_json,
                         capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)
