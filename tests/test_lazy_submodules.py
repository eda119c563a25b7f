"""ember's lazily imported submodules: every public module or package under ember/ is reachable
as an attribute (and imports cleanly), and any other name is an AttributeError, so hasattr()
answers False and never raises ModuleNotFoundError."""

import os
import subprocess
import sys
import types

import pytest

import ember

PACKAGE_DIR = os.path.dirname(ember.__file__)


def _public_submodules():
    names = []
    for entry in sorted(os.listdir(PACKAGE_DIR)):
        path = os.path.join(PACKAGE_DIR, entry)
        stem, ext = os.path.splitext(entry)
        if os.path.isdir(path) and os.path.exists(os.path.join(path, "__init__.py")):
            names.append(entry)
        elif ext == ".py":
            names.append(stem)
    return [n for n in names if n.isidentifier() and not n.startswith("_")]


@pytest.mark.parametrize("name", _public_submodules())
def test_every_public_submodule_is_an_attribute(name):
    mod = getattr(ember, name)
    assert isinstance(mod, types.ModuleType) and mod.__name__ == f"ember.{name}"


# The names ember/__init__.py used to list without the modules existing, and other torch
# submodules: an attribute only where the module now exists.
TORCH_NAMES = ["distributions", "testing", "fft", "backends", "onnx", "jit", "amp", "hub",
               "sparse", "accelerator", "autograd", "nn", "optim", "utils", "linalg",
               "special", "cuda", "serialization", "distributed", "profiler", "quantization",
               "func", "export", "compiler", "mps", "xpu", "masked", "nested", "signal"]


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_hasattr_is_true_exactly_when_the_module_exists(name):
    assert hasattr(ember, name) is (name in _public_submodules())


@pytest.mark.parametrize("name", ["no_such_thing", "fft2", "_private_module", "__wrapped__",
                                  "a.b", "cli.commands", "", "1abc"])
def test_other_names_are_attribute_errors(name):
    assert hasattr(ember, name) is False
    with pytest.raises(AttributeError, match="has no attribute"):
        getattr(ember, name)


def test_a_fresh_process_finds_the_modules_on_disk():
    # No list to keep in step: the lookup reads ember/ the first time a name misses.
    code = (
        "import ember\n"
        "assert hasattr(ember, 'backends') and hasattr(ember, 'accelerator')\n"
        "assert not hasattr(ember, 'no_such_module')\n"
        "assert 'backends' in ember._submodules\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_import_ember_loads_no_lazy_submodule():
    code = ("import sys, ember\n"
            "lazy = [m for m in ('ember.nn', 'ember.optim', 'ember.backends', "
            "'ember.accelerator', 'ember.vision', 'ember.fft', "
            "'ember.func') if m in sys.modules]\n"
            "print(lazy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_vmap_is_func_vmap_loaded_on_first_use():
    # torch.vmap is torch.func.vmap; ember.func loads when either is first asked for
    code = ("import sys, ember\n"
            "assert 'ember.func' not in sys.modules\n"
            "v = ember.vmap\n"
            "assert 'ember.func' in sys.modules and v is ember.func.vmap\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
