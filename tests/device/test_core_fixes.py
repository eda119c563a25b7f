"""Regressions found by ember.distributions on the CuPy stand-in: in-place random fills and
one_hot on device tensors."""

import numpy as np
import pytest

import ember


@pytest.fixture
def dev():
    return "cuda"  # conftest backs it with fake_cupy


@pytest.mark.parametrize("fill", ["normal_", "uniform_", "exponential_", "cauchy_", "zero_"])
def test_in_place_fills_stay_on_the_device(dev, fill):
    t = ember.empty(4, 3, device=dev)
    getattr(t, fill)()
    assert t.device.type == "cuda"
    assert np.isfinite(t.cpu().numpy()).all()


def test_nn_init_on_a_device_module(dev):
    layer = ember.nn.Linear(5, 4).to(dev)
    ember.nn.init.kaiming_uniform_(layer.weight)
    ember.nn.init.normal_(layer.bias)
    assert layer.weight.device.type == "cuda"


def test_one_hot_on_the_device(dev):
    idx = ember.tensor([0, 2, 1], device=dev)
    out = ember.nn.functional.one_hot(idx, 4)
    assert out.device.type == "cuda"
    np.testing.assert_array_equal(out.cpu().numpy(), np.eye(4, dtype=np.int64)[[0, 2, 1]])
