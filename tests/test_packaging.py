"""Packaging metadata: the license file and its SPDX form, typed-package marker, extras, CI lint."""

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def test_license_is_an_spdx_expression_with_its_file():
    assert PROJECT["license"] == "MIT"  # the table form warns in current setuptools
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) ember contributors" in text
    assert PROJECT["license-files"] == ["LICENSE"]
    setuptools = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    assert setuptools == ["setuptools>=77"]  # the first that reads license expressions
    # a License classifier next to an SPDX expression is an error for setuptools
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


def test_classifiers_match_the_metadata():
    classifiers = PROJECT["classifiers"]
    assert "Typing :: Typed" in classifiers
    low = PROJECT["requires-python"].removeprefix(">=")
    assert f"Programming Language :: Python :: {low}" in classifiers


def test_package_data_files_exist():
    for package, patterns in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}/{pattern} matches nothing"
    assert (ROOT / "ember" / "py.typed").is_file()


def test_test_extra_reuses_the_train_extra():
    extras = PROJECT["optional-dependencies"]
    assert any(re.fullmatch(r"ember\[[^]]*\btrain\b[^]]*\]", r) for r in extras["test"])
    repeated = set(extras["train"]) & set(extras["test"])
    assert not repeated, f"[test] repeats [train]'s {sorted(repeated)}"


def test_ci_lints_with_ruff_from_the_test_extra():
    assert "ruff" in PROJECT["optional-dependencies"]["test"]
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "ruff check ." in lines


def _two_commands() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]


def test_readme_sets_up_a_venv_and_names_the_python_before_the_commands():
    section = _two_commands()
    first_pip = section.index("pip install")
    assert -1 < section.find("python3 -m venv .venv") < first_pip
    low = PROJECT["requires-python"].removeprefix(">=")
    assert -1 < section.find(f"Python {low} or newer") < first_pip


def test_readme_gives_the_cpu_wheel_index_next_to_the_test_command():
    section = _two_commands()
    test_command = section.index('pip install -e ".[test,oracle]" && python -m pytest')
    oracle = PROJECT["optional-dependencies"]["oracle"][0]  # torch==2.13.0
    cpu = section.index(f"pip install {oracle} --index-url https://download.pytorch.org/whl/cpu")
    assert cpu > test_command and "--extra-index-url https://download.pytorch.org/whl/cpu" in \
        section
    assert "MB" in section[test_command:] and "TESTTIME" not in section
