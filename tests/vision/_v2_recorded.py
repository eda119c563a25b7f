"""What the transforms.v2 fixture tests share: loading a recorder module from ``fixtures/``
and comparing one case's leaves with torchvision's recorded answers."""

import importlib.util
from pathlib import Path

import numpy as np

TOL = 1e-5  # float32 resampling and colour maths may differ in the last bits


def load_recorder(name: str):
    """The recorder ``fixtures/<name>.py`` as a module (its ``CASES``, ``run_case``, ``load``)."""
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).parent / "fixtures" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def case_name(key: str) -> str:
    return key.split("/")[0].split("#")[0].split("@")[0]


def check_case(recorder, expected: dict, lib, name, seeded, build, off_by_one=lambda key: False):
    """Run case ``name`` on ``lib`` and compare every leaf with the recorded answer: strings
    (reprs, messages) exactly, floats to ``TOL``, integers exactly (or within 1 where
    ``off_by_one(key)``, a known rounding gap)."""
    got = recorder.run_case(lib, name, seeded, build)
    want = {k: v for k, v in expected.items() if case_name(k) == name}
    assert want, f"no recorded answers for {name}"
    assert sorted(got) == sorted(want)
    for key, w in want.items():
        g = got[key]
        if isinstance(w, str):
            assert str(g).replace("ember.", "torch.") == w, key
            continue
        assert g.shape == w.shape, key
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL, err_msg=key)
            continue
        assert g.dtype == w.dtype, key
        if off_by_one(key):
            assert np.abs(g.astype(np.int64) - w).max() <= 1, key
        else:
            np.testing.assert_array_equal(g, w, err_msg=key)
