"""The package itself: loads lazily, never imports torch, documents its public names, and the
deterministic docstring examples print what they say."""

import doctest
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ember
import ember.distributions as ed

PACKAGE = Path(ed.__file__).parent


def test_import_ember_does_not_load_distributions():
    code = ("import sys, ember\n"
            "assert 'ember.distributions' not in sys.modules\n"
            "d = ember.distributions.Normal(0.0, 1.0)\n"
            "assert 'ember.distributions' in sys.modules\n"
            "optional = ('torch', 'matplotlib', 'tqdm', 'PIL', 'tensorboard', 'onnx', "
            "'mpi4py', 'mpmath', 'scipy')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in optional))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_torch_in_the_source():
    for path in PACKAGE.glob("*.py"):
        for line in path.read_text().splitlines():
            assert not line.lstrip().startswith(("import torch", "from torch")), (path, line)


def test_every_module_imports_and_every_public_name_has_a_docstring():
    missing = []
    for info in pkgutil.iter_modules([str(PACKAGE)]):
        mod = importlib.import_module(f"ember.distributions.{info.name}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if not callable(obj):
                continue
            doc = vars(obj).get("__doc__") if inspect.isclass(obj) else obj.__doc__
            if not (doc and doc.strip()):
                missing.append(f"{info.name}.{name}")
    assert not missing


DETERMINISTIC_EXAMPLES = [
    ed, ed.Distribution, ed.ExponentialFamily, ed.NegativeBinomial, ed.Independent,
    ed.OneHotCategoricalStraightThrough, ed.TransformedDistribution,
    *[getattr(ed.transforms, n) for n in ed.transforms.__all__
      if inspect.isclass(getattr(ed.transforms, n))],
]


@pytest.mark.parametrize("obj", DETERMINISTIC_EXAMPLES,
                         ids=[getattr(o, "__name__", str(o)) for o in DETERMINISTIC_EXAMPLES])
def test_docstring_examples_print_what_they_say(obj):
    globs = {"ember": ember, **{n: getattr(ed, n) for n in ed.__all__}}
    finder = doctest.DocTestFinder(recurse=False)
    tests = [t for t in finder.find(obj, globs=globs) if t.examples]
    assert tests, "no example"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    lines = []
    for t in tests:
        runner.run(t, out=lines.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(lines)
