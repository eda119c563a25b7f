"""Every differentiable op, gathered from the op tables (``table_*.py``).

The tables mirror ``ember/_ops``: ``tests/ops/<family>/table_<module>.py`` holds the entries of
``ember/_ops/<family>/<module>.py``, and ``tests/ops/table_<module>.py`` those of a module at the
bottom or top of ``_ops`` (``inplace_methods``, ``conversion``). Each table defines
``OPS: list[OpSpec]``. Add an op by adding a spec to its module's table (a new table file is
found wherever it sits under ``tests/ops``); the generic tests in ``test_op_table.py`` then
sweep it.
"""

import importlib
from pathlib import Path

from .spec import OpSpec

HERE = Path(__file__).parent


def table_modules() -> list[str]:
    """Dotted names of every ``table_*.py`` under ``tests/ops``, sorted by path.

    >>> "tests.ops.pointwise.table_unary" in table_modules()
    True
    """
    paths = sorted(HERE.rglob("table_*.py"), key=lambda p: p.relative_to(HERE).parts)
    return [".".join((__package__, *p.relative_to(HERE).with_suffix("").parts)) for p in paths]


OPS: list[OpSpec] = []
for _name in table_modules():
    OPS.extend(importlib.import_module(_name).OPS)

names = [s.name for s in OPS]
assert len(names) == len(set(names)), "duplicate op names in the op table"
