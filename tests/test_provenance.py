"""ember is written here: no file may carry over a passage of PyTorch's (or torchvision's) source.

Every ember file is compared with every source file of the installed torch (and, with
``EMBER_TORCHVISION_PATH``, of torchvision), whatever its path: a passage is a run of
consecutive code lines of ours, each inside some ``WINDOW`` consecutive lines that also occur,
in that order, in one of their files. Lines that must coincide are skipped (imports,
``__all__`` and argument lists, error messages that repeat PyTorch's on purpose, comments,
decorators and short lines). A passage of ``RUN_LIMIT`` lines or more is copied code. Files that
still hold one are listed in ``KNOWN`` with their longest, so that the list can only shrink: a new
copy anywhere, or a longer one in a listed file, fails.

Comparing across paths matters: code lifted from ``torch/optim/lr_scheduler.py`` into a file of
another name is as copied as code kept at the same path.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

EMBER = Path(__file__).resolve().parents[1] / "ember"
WINDOW = 6
RUN_LIMIT = 8

# file (relative to ember/) -> its longest passage today; rewrite them, then delete the entry
KNOWN = {
    "distributions/constraints.py": 28,  # the public name table (PyTorch's API), not code
    "nn/modules/container.py": 14,  # ModuleDict's one-line delegations to its dict (forced)
}


def _code_lines(text: str) -> list[str]:
    out = []
    for raw in text.splitlines():
        s = raw.strip()
        if (len(s) < 12 or s.startswith(("import ", "from ", "#", '"', "'", "raise ", 'f"', "f'",
                                         "@"))
                or s.endswith(",")):
            continue
        out.append(s)
    return out


def _digest(lines: list[str]) -> bytes:
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=8).digest()


def window_index(texts) -> set:
    """The digests of every ``WINDOW`` consecutive code lines of the given source texts."""
    index = set()
    for text in texts:
        lines = _code_lines(text)
        index.update(_digest(lines[i:i + WINDOW]) for i in range(len(lines) - WINDOW + 1))
    return index


def longest_passage(ours: str, index: set) -> int:
    """The longest run of our code lines covered by windows found in ``index``."""
    lines = _code_lines(ours.replace("ember", "torch"))
    covered = [False] * len(lines)
    for i in range(len(lines) - WINDOW + 1):
        if _digest(lines[i:i + WINDOW]) in index:
            covered[i:i + WINDOW] = [True] * WINDOW
    best = run = 0
    for c in covered:
        run = run + 1 if c else 0
        best = max(best, run)
    return best


def _their_sources():
    torch = pytest.importorskip("torch")
    roots = [Path(torch.__file__).parent]
    vision = os.environ.get("EMBER_TORCHVISION_PATH")
    if vision and (Path(vision) / "torchvision").is_dir():
        roots.append(Path(vision) / "torchvision")
    for root in roots:
        for path in root.rglob("*.py"):
            yield path.read_text(errors="replace")


def test_no_file_carries_over_pytorch_source():
    index = window_index(_their_sources())
    found = {}
    for path in sorted(EMBER.rglob("*.py")):
        run = longest_passage(path.read_text(), index)
        if run >= RUN_LIMIT:
            found[path.relative_to(EMBER).as_posix()] = run
    grown = {rel: run for rel, run in found.items() if run > KNOWN.get(rel, RUN_LIMIT - 1)}
    assert not grown, f"passages identical to PyTorch's source (rewrite them): {grown}"


def test_the_check_sees_a_copied_passage():
    text = "\n".join(f"value_{i} = compute_something(value_{i - 1}, {i})" for i in range(20))
    index = window_index([text])
    assert longest_passage(text, index) == 20
    assert longest_passage(text.replace("compute_something", "other_name"), index) == 0
    # a passage moved into another file, between lines of our own, is still found
    ours = "\n".join(["own_line_number_one = 1"] + text.splitlines()[3:13] + ["own_line_two = 2"])
    assert longest_passage(ours, index) == 10
