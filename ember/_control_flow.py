"""``torch.cond`` and ``torch.while_loop``: control flow written as functions.

PyTorch introduced them so that ``torch.compile``/``torch.export`` can capture both branches
of a data-dependent choice. ember runs them eagerly: ``cond`` calls the branch the predicate
picks, ``while_loop`` loops in Python; gradients flow through whatever ran.
"""

from __future__ import annotations

from ._tensor import Tensor

__all__ = ["cond", "while_loop"]


def _truth(pred, what: str) -> bool:
    if isinstance(pred, Tensor):
        if pred.numel() != 1:
            raise RuntimeError(f"Expected {what} to be bool or single-element tensor, but got "
                               f"{pred}.")
        return bool(pred.item())
    if isinstance(pred, (bool, int)):
        return bool(pred)
    raise RuntimeError(f"Expected {what} to be bool or single-element tensor, but got "
                       f"{type(pred).__name__}.")


def cond(pred, true_fn, false_fn, operands=(), *args):
    """``true_fn(*operands)`` if ``pred`` holds, else ``false_fn(*operands)``.

    ``pred`` is a bool or a one-element tensor.

    Example:
        >>> x = ember.arange(3.0)
        >>> ember.cond(x.sum() > 2, lambda t: t + 1, lambda t: t - 1, (x,))
        tensor([1., 2., 3.])
    """
    if args:
        raise TypeError("cond() takes operands as one tuple or list: cond(pred, true_fn, "
                        "false_fn, (x, y))")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    if not isinstance(operands, (tuple, list)):
        raise RuntimeError(f"Expect operands to be a tuple or list, but got "
                           f"{type(operands).__name__}.")
    return (true_fn if _truth(pred, "pred") else false_fn)(*operands)


def while_loop(cond_fn, body_fn, carried_inputs):
    """Run ``carried = body_fn(*carried)`` while ``cond_fn(*carried)`` holds; return the final
    carried values as a tuple.

    Example:
        >>> ember.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2),
        ...                  (ember.tensor(0), ember.ones(2)))
        (tensor(3), tensor([8., 8.]))
    """
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list, got "
                           f"{type(carried_inputs).__name__}")
    carried = tuple(carried_inputs)
    while _truth(cond_fn(*carried), "cond_fn's output"):
        out = body_fn(*carried)
        out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        if len(out) != len(carried):
            raise RuntimeError(f"body_fn should return as many values as carried_inputs "
                               f"({len(carried)}), got {len(out)}")
        carried = out
    return carried
