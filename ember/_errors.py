"""Errors that read like PyTorch's and still teach.

A program that catches an error and prints ``str(e)`` must print what it prints on PyTorch, so
an error's message is exactly torch's. ember's hint (what was wrong, what to change) travels as
a PEP 678 note: Python prints notes under the traceback a user sees, but ``str(e)`` leaves them
out.
"""

from __future__ import annotations

from typing import TypeVar

_E = TypeVar("_E", bound=BaseException)


def with_hint(exc: _E, hint: str) -> _E:
    """Attach ``hint`` to ``exc`` as a note and return ``exc``, ready to raise.

    On Python 3.10, which has no ``add_note``, the hint is appended to the message instead,
    so it is still seen.

    Example::

        >>> err = with_hint(RuntimeError("mat1 and mat2 ..."), "add nn.Flatten()")
        >>> str(err), err.__notes__
        ('mat1 and mat2 ...', ['add nn.Flatten()'])
    """
    if hasattr(exc, "add_note"):
        exc.add_note(hint)
    elif exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]} {hint}", *exc.args[1:])
    else:
        exc.args = (*exc.args, hint)
    return exc
