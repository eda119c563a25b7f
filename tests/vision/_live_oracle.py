"""Running one of the detection oracle scripts (``_*_oracle.py``) against the real torchvision
beside the test oracle, for the live checks: skipped unless ``EMBER_TORCHVISION_PATH`` names
it. The script runs in a subprocess with the torchvision shim first on its path."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import ember

HERE = pathlib.Path(__file__).parent


def run_oracle(script: str, case: str) -> dict:
    """The arrays ``script`` records for ``case`` (``state/...`` entries are the state dict)."""
    path = os.environ.get("EMBER_TORCHVISION_PATH")
    if not path:
        pytest.skip("torchvision is not installed beside the oracle (EMBER_TORCHVISION_PATH)")
    pytest.importorskip("torch")
    shim = HERE.parent / "programs" / "_torchvision_shim"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shim), path]))
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / f"{case}.npz"
        subprocess.run([sys.executable, str(HERE / script), case, str(out)], env=env,
                       check=True, timeout=1200)
        return dict(np.load(out))


def recorded_state(rec: dict) -> dict:
    """The state dict a recording holds, as ember tensors."""
    return {k[len("state/"):]: ember.from_numpy(v) for k, v in rec.items()
            if k.startswith("state/")}
