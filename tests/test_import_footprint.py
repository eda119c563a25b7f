"""``import ember`` loads NumPy and ember only; optional packages wait for first use."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("ml_dtypes", "matplotlib", "tqdm", "PIL", "torch", "tensorboard", "onnx", "mpi4py")


def _modules_after(code: str) -> set:
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def test_import_ember_loads_no_optional_package():
    loaded = _modules_after("import ember")
    assert not loaded & set(OPTIONAL), sorted(loaded & set(OPTIONAL))


def test_import_ember_cli_parser_loads_no_optional_package():
    # `ember --help` and argument errors must stay fast: the parser needs no training packages
    loaded = _modules_after("from ember.cli.commands import build_parser; build_parser()")
    assert not loaded & set(OPTIONAL), sorted(loaded & set(OPTIONAL))


def test_bfloat16_loads_ml_dtypes_on_first_use():
    code = ("import sys, ember\n"
            "assert 'ml_dtypes' not in sys.modules\n"
            "assert ember.bfloat16.itemsize == 2 and ember.bfloat16.is_floating_point\n"
            "assert 'ml_dtypes' not in sys.modules\n"
            "t = ember.tensor([1.5, 2.0], dtype=ember.bfloat16)\n"
            "assert 'ml_dtypes' in sys.modules and t.dtype is ember.bfloat16\n"
            "assert (t + 1).tolist() == [2.5, 3.0] and (t + 1).dtype is ember.bfloat16\n"
            "assert ember.finfo(ember.bfloat16).eps == 0.0078125")
    assert "ml_dtypes" in _modules_after(code)


def test_bfloat16_arrays_from_another_library_are_recognised():
    # ml_dtypes imported first by someone else (JAX, say): its arrays still map to ember.bfloat16
    code = ("import ml_dtypes, numpy as np, ember\n"
            "t = ember.tensor(np.ones(2, ml_dtypes.bfloat16))\n"
            "assert t.dtype is ember.bfloat16, t.dtype\n"
            "assert ember.ones(2).numpy().astype(ml_dtypes.bfloat16).dtype == "
            "ember.bfloat16.np_dtype")
    _modules_after(code)
