"""The layout of ``ember/_ops``: families in folders, imports pointing one way, no circles.

The import graph is read with ``ast`` (no import runs): every ``import``/``from ... import`` in
a module, at module level or inside a function (a late import is still a dependency), that
names a module of ``ember._ops``. Each module belongs to a family, and a module may import only
from its own family or a lower one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

OPS = Path(__file__).resolve().parents[2] / "ember" / "_ops"

# Bottom to top. Files directly in ember/_ops are their own family; folders are families.
FAMILY_ORDER = [
    {"_core"}, {"inplace"}, {"_dispatch"}, {"_legacy_overloads"},   # shared machinery
    {"pointwise"}, {"indexing"}, {"shape"}, {"reduction"}, {"spectral"}, {"linalg"},
    {"nn"},
    {"conversion", "inplace_methods"},       # the Tensor API's conversions and in-place methods
]
LEVEL = {fam: i for i, fams in enumerate(FAMILY_ORDER) for fam in fams}

# Circles that could not be broken yet: each entry is a sorted tuple of module names. The test
# fails when one of them disappears (remove it here) or a new one appears.
KNOWN_CIRCLES: set[tuple[str, ...]] = set()

BAD_NAME = re.compile(r"(^|_)(misc|more|extra|other)($|_)")


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted(OPS.rglob("*.py")):
        parts = path.relative_to(OPS).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path  # "" is the ember._ops package itself
    return mods


def _resolve(node: ast.ImportFrom | ast.Import, mod: str, is_pkg: bool) -> list[str]:
    """The ember._ops modules (relative names) that one import statement depends on."""
    if isinstance(node, ast.Import):
        return [a.name[len("ember._ops."):] for a in node.names
                if a.name.startswith("ember._ops.")]
    if node.level == 0:
        if not (node.module or "").startswith("ember._ops"):
            return []
        base = node.module[len("ember._ops"):].lstrip(".")
    else:
        pkg = ["ember", "_ops", *([p for p in mod.split(".") if p])]
        if not is_pkg:
            pkg = pkg[:-1]
        pkg = pkg[:len(pkg) - (node.level - 1)]
        full = ".".join(pkg + ([node.module] if node.module else []))
        if not full.startswith("ember._ops"):
            return []
        base = full[len("ember._ops"):].lstrip(".")
    # ``from pkg import name`` depends on pkg.name when that is a module, else on pkg
    return [f"{base}.{a.name}".lstrip(".") for a in node.names] + [base]


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets = _resolve(node, mod, is_pkg)
                # ``from .x import y`` where .x.y is not a module: keep only the modules
                found = [t for t in targets if t in mods and t != mod]
                if isinstance(node, ast.ImportFrom) and len(found) > 1:
                    # the package itself only counts when no named submodule matched
                    found = [t for t in found if t != targets[-1]] or found
                graph[mod].update(found)
    return graph


def family(mod: str) -> str:
    return mod.split(".")[0]


def circles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.add(tuple(sorted(comp)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_family():
    unknown = sorted({family(m) for m in _modules() if m} - set(LEVEL))
    assert not unknown, f"add these to FAMILY_ORDER in {__file__}: {unknown}"


def test_imports_point_down_the_family_order():
    graph = import_graph()
    upward = sorted(f"{m} -> {t}" for m, targets in graph.items() if m
                    for t in targets if t and LEVEL[family(t)] > LEVEL[family(m)])
    assert not upward, "modules importing a higher family:\n" + "\n".join(upward)


def test_no_import_circles():
    found = circles(import_graph())
    assert found - KNOWN_CIRCLES == set(), f"new import circles: {sorted(found - KNOWN_CIRCLES)}"
    assert KNOWN_CIRCLES - found == set(), (
        f"circles gone, remove them from KNOWN_CIRCLES: {sorted(KNOWN_CIRCLES - found)}")


def test_the_package_init_imports_no_op_module():
    """``ember._ops`` and each family's ``__init__`` only describe; they import nothing from
    ``_ops``, so importing one module never drags in (or circles through) its family."""
    graph = import_graph()
    for mod in _modules():
        if mod == "" or _modules()[mod].name == "__init__.py":
            assert not graph[mod], f"{mod or 'ember._ops'} imports {sorted(graph[mod])}"


def test_module_names_say_what_they_hold():
    bad = [m for m in _modules() if any(BAD_NAME.search(p) for p in m.split("."))]
    assert not bad, f"rename by content (no misc/more/extra/other): {bad}"


@pytest.mark.parametrize("folder", sorted(p.name for p in OPS.iterdir()
                                          if p.is_dir() and (p / "__init__.py").exists()))
def test_each_family_folder_opens_with_a_paragraph(folder):
    doc = ast.get_docstring(ast.parse((OPS / folder / "__init__.py").read_text()))
    assert doc and len(doc.split()) >= 15, f"_ops/{folder}/__init__.py needs its paragraph"


def test_the_checker_sees_late_imports_and_circles():
    """The graph reader counts a function-level import, and ``circles`` finds a 2-cycle."""
    tree = ast.parse("def f():\n    from ..shape.views import expand\n")
    (node,) = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert "shape.views" in _resolve(node, "pointwise.compare", is_pkg=False)
    assert circles({"a": {"b"}, "b": {"a"}, "c": set()}) == {("a", "b")}


def test_op_modules_all_exist():
    from ember import _ops

    mods = _modules()
    missing = [m for m in _ops.OP_MODULES if m not in mods]
    assert not missing, missing
