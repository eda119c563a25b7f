"""The benchmark runner's workloads build and take a training step on ember (timings live in
``benchmarks/``, never in tests), and feed distinct batches."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import ember

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
_spec = importlib.util.spec_from_file_location("ember_benchmarks_run", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.mark.parametrize("name", list(bench.WORKLOADS))
def test_workload_steps_on_ember(name):
    build, _ = bench.WORKLOADS[name]
    step, flops = build(ember)
    step()
    step()
    assert flops is None or flops > 0


def test_batches_cycle_through_distinct_data():
    data = bench._batches(ember, (3,), 4, samples=16)
    xs = [next(data)[0].numpy().copy() for _ in range(9)]
    assert not np.array_equal(xs[0], xs[1])
    np.testing.assert_array_equal(xs[0], xs[8])  # 8 batches, then the cycle starts again


def test_mlp_flop_count():
    _, flops = bench.mlp(ember, 64, "sgd")
    assert flops == 2 * 64 * (2 * 784 * 256 + 3 * 256 * 256 + 3 * 256 * 10)
    assert round(flops / 1e6) == 78  # the figure
