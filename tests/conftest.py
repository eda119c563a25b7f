"""Shared test fixtures: the torch oracle (skipped when absent) and a seeded RNG."""

import os
import sys

import numpy as np
import pytest

# Hundreds of tests start Python afresh (the programs, the CLI, DataLoader and MPI workers),
# and each imports ember. Where the environment forbids writing bytecode
# (PYTHONDONTWRITEBYTECODE), every one of those processes compiled ember's ~140 modules again:
# about 1 s of CPU each, half of a typical program's run. The suite's own processes and the
# ones it starts keep a bytecode cache instead (xdist's workers start after this module loads).
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    sys.dont_write_bytecode = False


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
