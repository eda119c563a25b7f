"""ember is written here: no file may carry over a passage of PyTorch's (or torchvision's) source.

Each ember file is compared with the file at the same relative path in the installed torch (and,
with ``EMBER_TORCHVISION_PATH``, torchvision for ``ember/vision``): the longest run of identical
code lines, skipping what must coincide (imports, ``__all__`` and argument lists, error messages
that repeat PyTorch's on purpose, comments and short lines). A run of ``RUN_LIMIT`` lines or more
is a copied passage. Files that still hold one are listed in ``KNOWN`` with their current run, so
that the list can only shrink: a new copy anywhere, or a longer one in a listed file, fails.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

EMBER = Path(__file__).resolve().parents[1] / "ember"
RUN_LIMIT = 12

# file (relative to ember/) -> its longest run today; rewrite them, then delete the entry
# (ember/distributions, copied from PyTorch's source before, was rewritten clean-room; the
# files below still hold shorter passages)
KNOWN = {
    "amp/grad_scaler.py": 13,
    "distributions/constraints.py": 28,  # the public name table (PyTorch's API), not code
    "nn/modules/adaptive.py": 18,
    "nn/modules/utils.py": 13,
    "nn/utils/weight_norm.py": 13,
    "optim/lbfgs.py": 13,
    "optim/lr_scheduler.py": 12,
    "optim/swa_utils.py": 15,
    "profiler/profiler.py": 13,
    "testing/_comparison.py": 13,
    "vision/models/densenet.py": 13,
    "vision/models/efficientnet.py": 13,
    "vision/models/regnet.py": 19,
    "vision/models/resnet.py": 15,
    "vision/models/vgg.py": 15,
}


def _code_lines(text: str) -> list[str]:
    out = []
    for raw in text.splitlines():
        s = raw.strip()
        if (len(s) < 12 or s.startswith(("import ", "from ", "#", '"', "'", "raise ", 'f"', "f'"))
                or s.endswith(",")):
            continue
        out.append(s)
    return out


def longest_shared_run(ours: str, theirs: str) -> int:
    """The longest run of consecutive code lines the two texts share (see the module note)."""
    a, b = _code_lines(ours.replace("ember", "torch")), _code_lines(theirs)
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return max((blk.size for blk in sm.get_matching_blocks()), default=0)


def _pairs():
    torch = pytest.importorskip("torch")
    roots = [("", Path(torch.__file__).parent)]
    vision = os.environ.get("EMBER_TORCHVISION_PATH")
    if vision and (Path(vision) / "torchvision").is_dir():
        roots.append(("vision/", Path(vision) / "torchvision"))
    for path in sorted(EMBER.rglob("*.py")):
        rel = path.relative_to(EMBER).as_posix()
        for prefix, root in roots:
            if rel.startswith(prefix):
                theirs = root / rel[len(prefix):]
                if theirs.is_file():
                    yield rel, path, theirs


def test_no_file_carries_over_pytorch_source():
    found = {}
    for rel, ours, theirs in _pairs():
        run = longest_shared_run(ours.read_text(), theirs.read_text(errors="replace"))
        if run >= RUN_LIMIT:
            found[rel] = run
    grown = {rel: run for rel, run in found.items() if run > KNOWN.get(rel, RUN_LIMIT - 1)}
    assert not grown, f"passages identical to PyTorch's source (rewrite them): {grown}"


def test_the_check_sees_a_copied_passage():
    text = "\n".join(f"value_{i} = compute_something(value_{i - 1}, {i})" for i in range(20))
    assert longest_shared_run(text, text) == 20
    assert longest_shared_run(text, text.replace("compute_something", "other_name")) == 0
