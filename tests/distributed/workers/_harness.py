"""What the MPI worker scripts share: a registry of checks run in the same order on every
rank, NumPy comparisons, and the loop that records each check's outcome per rank.

A check whose value is wrong raises AssertionError, which is recorded, and the run goes on;
any other error is recorded, the rank's file written, and the job aborted (ember's hook calls
MPI_Abort), because a rank out of step would leave the others waiting in a collective.
"""

from __future__ import annotations

import json
import os
import traceback

import numpy as np


class Registry(dict):
    def __call__(self, name: str):
        def register(fn):
            self[name] = fn
            return fn
        return register


def close(actual, want, dtype: str = "float32", what: str = "", rtol=None, atol=0.0) -> None:
    if dtype == "bfloat16":
        np.testing.assert_allclose(actual, np.asarray(want, np.float32), rtol=rtol or 1e-2,
                                   err_msg=what)
    elif np.issubdtype(np.asarray(want).dtype, np.inexact):
        default = 1e-3 if dtype == "float16" else 1e-6
        np.testing.assert_allclose(actual, want, rtol=rtol or default, atol=atol, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, want, err_msg=what)


def raises(exc_type, fn, match: str = "") -> str:
    try:
        fn()
    except exc_type as err:
        assert match in str(err), f"{exc_type.__name__} {err!s} lacks {match!r}"
        return str(err)
    raise AssertionError(f"no {exc_type.__name__} raised")


def run_checks(checks: dict, ctx, out_dir: str) -> None:
    results = {}
    path = os.path.join(out_dir, f"rank{ctx.rank}.json")
    for name, fn in checks.items():
        try:
            fn(ctx)
            results[name] = "ok"
        except AssertionError as err:
            results[name] = f"AssertionError: {err}"
        except Exception:
            results[name] = traceback.format_exc()
            with open(path, "w") as f:
                json.dump(results, f)
            raise
    ctx.dist.barrier()
    with open(path, "w") as f:
        json.dump(results, f)
