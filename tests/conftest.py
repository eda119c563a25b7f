"""Shared test fixtures: the torch oracle (skipped when absent) and a seeded RNG."""

import numpy as np
import pytest


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _no_dispatch_layer(request):
    """Each test starts without the ``__torch_function__`` layer, which stays installed for a
    process's life once a Tensor subclass is defined (test modules define some at import);
    tests of the layer install it themselves."""
    from ember import _torch_function

    if _torch_function.installed() and request.node.path.name != "test_torch_function.py":
        _torch_function.uninstall()
    yield
