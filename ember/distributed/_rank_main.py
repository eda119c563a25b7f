"""What each process started by ``ember run`` executes before the user's script.

``python -m ember.distributed._rank_main SCRIPT ARGS...`` (or ``-m MODULE ARGS...``) sets the
variables torchrun would set (from what mpirun says), runs the script as ``__main__`` with
``sys.argv`` as the script expects, and, when it fails on this rank, prints the traceback naming
the rank and aborts the whole job (MPI_Abort) so that the other ranks stop instead of waiting
in a collective for this one.
"""

from __future__ import annotations

import os
import runpy
import sys

from . import _mpi


def _bootstrap_frame(filename: str) -> bool:
    return filename == __file__ or "runpy" in filename


def main(argv: list[str]) -> int:
    if not argv or (argv[0] == "-m" and len(argv) < 2):
        print("usage: python -m ember.distributed._rank_main SCRIPT ARGS... | -m MODULE ARGS...",
              file=sys.stderr)
        return 2
    _mpi.fill_torchrun_env()
    try:
        if argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            script = argv[0]
            sys.argv = list(argv)
            sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
            runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code
        if code not in (None, 0):
            rank = _mpi.world_rank()
            status = code if isinstance(code, int) else 1
            if not isinstance(code, int):
                print(code, file=sys.stderr)
            print(f"ember run: rank {rank} exited with status {status}; aborting the job",
                  file=sys.stderr, flush=True)
            _mpi.abort_world(status)
            return status
        return 0
    except BaseException:
        exc_type, exc, tb = sys.exc_info()
        while tb is not None and _bootstrap_frame(tb.tb_frame.f_code.co_filename):
            tb = tb.tb_next  # the traceback starts in the user's script
        _mpi.report_and_abort(exc_type, exc, tb)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
