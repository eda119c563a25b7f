"""benchmarks/gpu_check.py, the one-command GPU check: it skips cleanly without a GPU, and its
harness (op-table sweep, comparisons, summary) gives right answers on the CPU, where ember and
torch agree, so that a failure it reports on a GPU is ember's and not the harness's."""

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ember

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"


def _load():
    spec = importlib.util.spec_from_file_location("ember_gpu_check", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _records(folder):
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


@pytest.mark.skipif(ember.cuda.is_available(), reason="this machine has a GPU")
def test_skips_cleanly_without_a_gpu(tmp_path):
    out = subprocess.run([sys.executable, str(_PATH), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "skipped on device 'cuda'" in out.stdout
    assert not (tmp_path / "results.jsonl").exists()


def test_op_table_sweep_passes_on_the_cpu(torch, tmp_path):
    mod = _load()
    rec = mod.Recorder(str(tmp_path), "ops")
    mod.section_ops(rec, "cpu", time.time() + 240, 0, 1, only="atan2")
    recs = _records(tmp_path)
    names = {r["name"] for r in recs}
    assert {"atan2-0-fwd-float32", "atan2-0-fwd-float64", "atan2-0-grad"} <= names
    assert all(r["status"] == "pass" for r in recs), recs
    text = mod.summarize(str(tmp_path))
    assert "| ops |" in text and (tmp_path / "summary.md").exists()


def test_mismatches_and_errors_are_reported_with_their_cause(torch, tmp_path):
    mod = _load()
    with pytest.raises(mod.Mismatch, match="dtype"):
        mod.compare(ember.zeros(2), torch.zeros(2, dtype=torch.float64), 0, 0)
    with pytest.raises(mod.Mismatch, match="shape"):
        mod.compare(ember.zeros(2), torch.zeros(3), 0, 0)
    with pytest.raises(mod.Mismatch, match="max"):
        mod.compare(ember.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]), 1e-3, 0)
    assert mod.compare(ember.tensor([1.0]), torch.tensor([1.0 + 1e-7]), 1e-5, 0) < 1e-5
    rec = mod.Recorder(str(tmp_path), "nn")
    for name in ("a", "b"):
        try:
            ember.zeros(2) + ember.zeros(3)
        except RuntimeError as err:
            rec.add(name, "error", **mod.describe(err))
    recs = _records(tmp_path)
    assert recs[0]["where"].startswith("ember/") and recs[0]["chain"]
    text = mod.summarize(str(tmp_path))
    assert "**2x** `RuntimeError" in text  # grouped by cause, numbers left out
