"""A complex -> real cast warns as PyTorch does: a UserWarning, once per process for every
route that casts (``to``, ``float()``, ``type``, ``copy_``, item assignment), each time under
``set_warn_always(True)``, attributed to the user's line, and never NumPy's ComplexWarning.

The warning is once per process, so each case runs in a fresh interpreter, under torch and
under ember, and the recorded warnings are compared."""
import json

import pytest

from tests._fresh_interpreter import run_each_fresh

SCRIPT = """
import json, warnings
import {lib} as torch
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


def _warnings(lib: str) -> dict:
    """Each case's recorded warnings under ``lib``, each case in a fresh process state."""
    outputs = run_each_fresh(lib, {case: SCRIPT.format(lib=lib, body=body)
                                   for case, body in CASES.items()})
    return {case: json.loads(out) for case, out in outputs.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_complex_to_real_warning_matches_torch(case):
    pytest.importorskip("torch")
    assert _warnings("ember")[case] == _warnings("torch")[case]
