"""A complex -> real cast warns as PyTorch does: a UserWarning, once per process for every
route that casts (``to``, ``float()``, ``type``, ``copy_``, item assignment), each time under
``set_warn_always(True)``, attributed to the user's line, and never NumPy's ComplexWarning.

The warning is once per process, so each case runs in a fresh interpreter, under torch and
under ember, and the recorded warnings are compared."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, warnings, sys
if sys.argv[1] == "ember":
    import ember as torch
else:
    import torch
z = torch.polar(torch.ones(2), torch.tensor([0.0, 1.0]))
with warnings.catch_warnings(record=True) as got:
    warnings.simplefilter("always")
    {body}
print(json.dumps([[w.category.__name__, str(w.message).split(" (Triggered")[0],
                   w.filename == "<string>"] for w in got]))
"""

CASES = {
    "float": "r = z.float(); assert r.tolist() == [1.0, float(z.real[1])]",
    "to_twice": "z.to(torch.float32); z.double(); z.int()",
    "type": "z.type(torch.float64)",
    "copy_": "d = torch.zeros(2); d.copy_(z); assert d[0].item() == 1.0",
    "copy_autograd": "d = torch.zeros(2, requires_grad=True).clone(); d.copy_(z)",
    "setitem": "d = torch.zeros(2); d[0] = z[1]",
    "warn_always": "torch.set_warn_always(True); z.float(); torch.zeros(2).copy_(z)",
    "complex_kept": "z.to(torch.complex128); torch.zeros(2, dtype=torch.complex64).copy_(z)",
    "real_view": "z.real.float(); z.abs()",
}


def _run(lib: str, body: str) -> list:
    code = SCRIPT.format(body=body)
    run = subprocess.run([sys.executable, "-c", code, lib], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize("case", sorted(CASES))
def test_complex_to_real_warning_matches_torch(case):
    pytest.importorskip("torch")
    expected = _run("torch", CASES[case])
    assert _run("ember", CASES[case]) == expected
