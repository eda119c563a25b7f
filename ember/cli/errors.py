"""User mistakes in the ``ember`` command: one line on stderr, no traceback.

A ``CLIError`` is something the user can fix (a missing file, a bad flag, a missing package);
``ember`` prints its message and exits with status 2. ``EMBER_DEBUG=1`` or ``--debug`` shows
the traceback instead. Anything else is a bug in ember and keeps its traceback.
"""

from __future__ import annotations

import importlib.util
import sys

TRAIN_EXTRA = 'pip install "ember[train]"'
TRAIN_MODULES = ("tqdm", "matplotlib", "PIL")  # what the train extra installs


class CLIError(Exception):
    """A mistake the user can fix; its message says what was wrong and how to fix it.

    Example:
        >>> raise CLIError("--epochs must be positive, got 0")
    """


def require_train_extra(command: str, modules=("tqdm", "matplotlib")) -> None:
    """Fail before any work when a package of the ``train`` extra is missing.

    Example:
        >>> require_train_extra("ember train")
    """
    missing = []
    for name in modules:
        try:  # find, not import: matplotlib's import alone takes longer than a failed command
            found = sys.modules.get(name) is not None or importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise CLIError(f"{command} needs the train extra ({', '.join(missing)} "
                       f"{'is' if len(missing) == 1 else 'are'} missing): {TRAIN_EXTRA}")


def plural(n: int, word: str) -> str:
    """``1 epoch``, ``2 epochs``.

    Example:
        >>> plural(1, "epoch")
        '1 epoch'
    """
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
