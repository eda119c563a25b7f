"""``torch._C``'s Python-visible pieces of the ``__torch_function__`` protocol.

ember has no C extension; this module holds the names programs reach through ``torch._C``:
the contexts that turn ``__torch_function__`` off, the opt-out a subclass sets, and the query.
"""

from ._torch_function import (
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
    _disabled_torch_function_impl,
)
from ._torch_function import is_torch_function_enabled as _is_torch_function_enabled

__all__ = ["DisableTorchFunction", "DisableTorchFunctionSubclass"]


def _is_torch_function_mode_enabled() -> bool:
    """Whether a ``TorchFunctionMode`` is active and not turned off.

    Example:
        >>> ember._C._is_torch_function_mode_enabled()
        False
    """
    from . import _torch_function as tf

    return bool(tf._modes) and not tf._all_off[0]


_ = (_disabled_torch_function_impl, _is_torch_function_enabled)  # re-exported names
