"""Every differentiable op, gathered from the per-family tables (``table_*.py``).

Each family file defines ``OPS: list[OpSpec]``. Add an op by adding a spec to its family's table;
the generic tests in ``test_op_table.py`` then sweep it.
"""

import importlib
import pkgutil
from pathlib import Path

from .spec import OpSpec

OPS: list[OpSpec] = []
for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
    if info.name.startswith("table_"):
        OPS.extend(importlib.import_module(f"tests.ops.{info.name}").OPS)

names = [s.name for s in OPS]
assert len(names) == len(set(names)), "duplicate op names in the op table"
