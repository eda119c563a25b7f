"""benchmarks/distributed.py runs to the end (``--quick``: the smallest sizes, a few steps) and
prints its tables; no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys

from ._launch import ROOT, environment, require_mpi

TIMEOUT = 600  # one mpirun job and one single-process run on a shared machine


def test_quick_run_prints_the_tables_and_writes_json(tmp_path):
    require_mpi()
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "distributed.py"),
                           "--quick", "--json", str(out)], cwd=tmp_path, env=environment(),
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout
    for column in ("size", "time_us", "algbw_GB/s", "busbw_GB/s", "samples/s", "efficiency",
                   "overlap", "allreduce_ms", "expected", "best_us", "best_busbw"):
        assert column in text, (column, text)
    assert "1.0 KB" in text and "16 KB" in text, text
    result = json.loads(out.read_text())
    assert result["nproc"] == 2
    assert [r["bytes"] for r in result["bandwidth"]] == [1024 * 2 ** k for k in range(5)]
    for r in result["bandwidth"]:  # nccl-tests' definition of bus bandwidth for all_reduce
        assert abs(r["busbw_GBps"] - r["algbw_GBps"] * 2 * (2 - 1) / 2) < 1e-12
    assert set(result["train"]) == {f"{m}/{mode}" for m in ("mlp", "cnn")
                                    for mode in ("none", "on", "off")}
    assert set(result["single"]) == {"mlp", "cnn"}
    assert all(row["samples_per_s"] > 0 for row in result["train"].values())
