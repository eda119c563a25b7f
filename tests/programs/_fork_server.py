"""Run programs under ember as ``_as_torch.py`` does, each in a fork of one process that has
imported ember and nothing else (the suite's program tests use it to skip starting Python and
importing ember ~300 times; a fork of a process that only imported ember is in the state a
fresh ``python _as_torch.py PROGRAM.py`` reaches when the program's ``import torch`` returns).

Protocol, one JSON object per line: on stdin ``{"script", "cwd", "stdout", "stderr",
"timeout"}``; on stdout ``{"returncode", "timed_out"}`` once the program's process has ended,
its output written to the two files named.
"""

import atexit
import json
import os
import runpy
import signal
import sys
import time
import traceback

import ember  # noqa: F401  (the point of this process: the import is done once, here)
from _as_torch import EmberAsTorch


def run_program(script: str) -> int:
    """Run ``script`` as ``__main__`` with ember answering ``import torch``; its exit status."""
    sys.meta_path.insert(0, EmberAsTorch())
    sys.argv = [script]
    try:
        runpy.run_path(script, run_name="__main__")
        status = 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            status = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    try:
        atexit._run_exitfuncs()  # what interpreter exit does before os._exit skips it
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return status


def serve_one(request: dict) -> dict:
    pid = os.fork()
    if pid == 0:  # the program's process
        status = 1
        try:
            os.chdir(request["cwd"])
            for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                                    (1, request["stdout"], os.O_WRONLY | os.O_CREAT),
                                    (2, request["stderr"], os.O_WRONLY | os.O_CREAT)):
                os.dup2(os.open(path, flags, 0o644), fd)
            status = run_program(request["script"])
        finally:
            os._exit(status)
    deadline = time.monotonic() + request["timeout"]
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"returncode": os.waitstatus_to_exitcode(wait_status), "timed_out": False}
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"returncode": -signal.SIGKILL, "timed_out": True}
        time.sleep(0.005)


def main() -> None:
    for line in sys.stdin:
        sys.stdout.write(json.dumps(serve_one(json.loads(line))) + "\n")
        sys.stdout.flush()  # empty buffers before the next fork: the child inherits them


if __name__ == "__main__":
    main()
