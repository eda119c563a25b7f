"""Run a PyTorch program with ember standing in for torch; the program's text is unchanged.

    python tests/programs/_as_torch.py PROGRAM.py [ARGS...]

An import hook answers ``import torch`` (and every ``torch.<sub>`` module) with ``ember``
(``ember.<sub>``), and ``torchvision`` with ``ember.vision``. Nothing else is patched: a
submodule ember lacks fails with ember's own ModuleNotFoundError, as a user would see it.
"""

import importlib
import importlib.abc
import importlib.util
import runpy
import sys

ALIASES = (("torchvision", "ember.vision"), ("torch", "ember"))


def ember_name(name):
    """The ember module that stands in for ``name``, or None when ``name`` is not torch's."""
    for torch_root, ember_root in ALIASES:
        if name == torch_root or name.startswith(torch_root + "."):
            return ember_root + name[len(torch_root):]
    return None


class EmberAsTorch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``torch[.x]``/``torchvision[.x]`` and loads the matching ember module."""

    def find_spec(self, name, path=None, target=None):
        target_name = ember_name(name)
        if target_name is None:
            return None
        importlib.import_module(target_name)  # raises ember's own error for a missing module
        return importlib.util.spec_from_loader(name, self, is_package=True)

    def create_module(self, spec):
        return sys.modules[ember_name(spec.name)]

    def exec_module(self, module):
        pass


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: python _as_torch.py PROGRAM.py [ARGS...]")
    sys.meta_path.insert(0, EmberAsTorch())
    program = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()
