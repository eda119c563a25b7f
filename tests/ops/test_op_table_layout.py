"""The op tables mirror ``ember/_ops``: ``tests/ops/<family>/table_<module>.py`` holds the entries
of the ops that live in ``ember/_ops/<family>/<module>.py``, no table or test is a grab bag, and
``op_table`` gathers every table wherever it sits under ``tests/ops``."""

import importlib
import re
from pathlib import Path

from . import op_table

HERE = Path(__file__).resolve().parent
OPS_DIR = HERE.parents[1] / "ember" / "_ops"
BAD_NAME = re.compile(r"(^|_)(misc|more|extra|other)($|_)")


def test_family_folders_are_families_of_ember_ops():
    folders = [p.name for p in HERE.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert folders, "no family folders found"
    stray = sorted(f for f in folders if not (OPS_DIR / f / "__init__.py").exists())
    assert not stray, f"tests/ops/<family>/ must mirror a folder of ember/_ops: {stray}"


def test_family_tables_name_a_module_of_their_family():
    tables = sorted(HERE.glob("*/table_*.py"))
    assert tables, "no family tables found"
    stray = [str(p.relative_to(HERE)) for p in tables
             if not (OPS_DIR / p.parent.name / f"{p.stem[len('table_'):]}.py").exists()]
    assert not stray, ("move these entries to the table of the ember/_ops module their ops "
                       f"live in (table_<module>.py): {stray}")


def test_every_table_file_is_gathered():
    gathered = {s.name for s in op_table.OPS}
    for name in op_table.table_modules():
        missing = {s.name for s in importlib.import_module(name).OPS} - gathered
        assert not missing, (name, missing)
    files = {p.relative_to(HERE).with_suffix("").parts for p in HERE.rglob("table_*.py")}
    modules = {tuple(m.split(".")[2:]) for m in op_table.table_modules()}
    assert files == modules


def test_names_say_what_they_hold():
    bad = [str(p.relative_to(HERE)) for p in HERE.rglob("*.py")
           if any(BAD_NAME.search(part) for part in p.relative_to(HERE).with_suffix("").parts)]
    assert not bad, f"rename by content (no misc/more/extra/other): {bad}"
