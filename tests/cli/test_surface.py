"""The command's surface: --help with defaults, --version, bare ``ember``, ``ember info``."""

import re

import ember

from .run_ember import ROOT, run_ember


def test_train_help_shows_every_option_with_a_default(tmp_path):
    proc = run_ember("train", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    text = re.sub(r"\s+", " ", proc.stdout)
    for option, default in [("--epochs N", "15"), ("--lr LR", "0.001"), ("--batch-size N", "64"),
                            ("--seed N", "0"), ("--data-dir DIR", "data"),
                            ("--num-workers N", "0"), ("--patience N", "5"),
                            ("--out-dir DIR", "runs/ember"), ("--model NAME", "cnn"),
                            ("--dataset NAME", "digits"), ("--optimizer NAME", "adam"),
                            ("--weight-decay WD", "0"), ("--device DEV", "cpu")]:
        assert re.search(re.escape(option) + r" [^-].*?\(default: " + re.escape(default), text), \
            option
    for flag in ("--config FILE", "--resume RUN", "--download", "--force", "--quiet",
                 "--debug"):
        assert flag in text, flag


def test_version_and_bare_ember(tmp_path):
    proc = run_ember("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"ember {ember.__version__}"
    proc = run_ember(cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    for command in ("train", "eval", "info"):
        assert re.search(rf"^\s+{command}\s+\S", proc.stdout, re.M), command


def test_info(tmp_path):
    proc = run_ember("info", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    assert f"ember {ember.__version__}" in text and "NumPy" in text and "devices: cpu" in text


def test_every_train_option_the_readme_names_exists(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(--[a-z-]+)", section)) - {"--extra-index-url", "--index-url"}
    assert {"--epochs", "--resume", "--out-dir", "--force"} <= named
    helptext = run_ember("train", "--help", cwd=tmp_path).stdout
    missing = sorted(f for f in named if f not in helptext)
    assert not missing, missing
