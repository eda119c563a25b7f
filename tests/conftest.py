"""Shared test fixtures: the torch oracle (skipped when absent) and a seeded RNG."""

import numpy as np
import pytest


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
