"""The README stays true: its Python tour runs, and its test command is what CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_tour_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert "tensor([2., 4., 6.])" in capsys.readouterr().out
    assert scope["loss"].item() < 0.1  # the line y = 2x + 1 was learned
    assert (tmp_path / "model_weights.pth").exists()


def test_ci_runs_the_readme_test_command():
    command = 'pip install -e ".[test,oracle]" && python -m pytest'
    assert command in README
    assert command in (ROOT / ".ci" / "run").read_text()
