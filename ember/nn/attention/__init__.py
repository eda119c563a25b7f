"""``ember.nn.attention``: PyTorch's attention-kernel selection API (``torch.nn.attention``).

ember computes ``F.scaled_dot_product_attention`` with one implementation on every device,
so choosing a kernel changes no result: ``sdpa_kernel`` checks its argument as PyTorch does
and sets the kernel flags of ``ember.backends.cuda`` (``flash_sdp_enabled()`` and friends)
for the block, and the flash-attention registry keeps PyTorch's bookkeeping with no
implementations registered.

Example:
    >>> from ember.nn.attention import SDPBackend, sdpa_kernel
    >>> with sdpa_kernel(SDPBackend.MATH):
    ...     out = F.scaled_dot_product_attention(q, k, v)
"""

from __future__ import annotations

import contextlib
import enum
import logging

# importable here as in torch (which leaves them out of __all__)
from ...backends.cuda import (  # noqa: F401
    SDPAParams,
    can_use_efficient_attention,
    can_use_flash_attention,
)

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS",
           "register_flash_attention_impl", "activate_flash_attention_impl",
           "list_flash_attention_impls", "current_flash_attention_impl",
           "restore_flash_attention_impl"]

# PyTorch warns why a fused kernel was not chosen when this is True; ember has none to choose.
WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.Enum):
    """The scaled-dot-product-attention kernels PyTorch can choose from, with its values
    (``int(SDPBackend.MATH) == 0``). ember runs the same computation for all of them.

    Example:
        >>> SDPBackend.FLASH_ATTENTION
        <SDPBackend.FLASH_ATTENTION: 1>
    """

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    # PyTorch's members are pybind11 enum values: int() works, == with an int does not.
    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value


# backends with a switch in ember.backends.cuda, by the switch's name
_FLAGS = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
          "mem_efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """Allow only ``backends`` (an ``SDPBackend`` or a list of them) for scaled dot product
    attention inside the block, as PyTorch's flags see it (``ember.backends.cuda``'s
    ``*_sdp_enabled()``); the previous flags come back on exit. ember has one attention
    implementation, so results do not change; ``set_priority`` is accepted and has no effect.

    Example:
        >>> with sdpa_kernel([SDPBackend.MATH, SDPBackend.EFFICIENT_ATTENTION]):
        ...     out = F.scaled_dot_product_attention(q, k, v)
    """
    from ...backends import cuda

    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend "
                             f"instances, got {type(backends).__name__}")
    if isinstance(backends, SDPBackend):
        backends = [backends]
    chosen = set(backends)
    previous = {name: getattr(cuda, f"{name}_sdp_enabled")() for name in _FLAGS}
    try:
        for name, backend in _FLAGS.items():
            getattr(cuda, f"enable_{name}_sdp")(backend in chosen)
        yield {}
    finally:
        for name, enabled in previous.items():
            getattr(cuda, f"enable_{name}_sdp")(enabled)


# -- the flash-attention implementation registry (PyTorch's bookkeeping; ember registers none)

_logger = logging.getLogger(__name__)
_FLASH_ATTENTION_IMPLS: dict = {}
_FLASH_ATTENTION_ACTIVE: tuple | None = None


def register_flash_attention_impl(impl: str, *, register_fn) -> None:
    """Record ``register_fn``, the callable that activates flash-attention implementation
    ``impl`` (for backend providers; users call ``activate_flash_attention_impl``).

    Example:
        >>> register_flash_attention_impl("MyImpl", register_fn=lambda: None)
    """
    _FLASH_ATTENTION_IMPLS[impl] = register_fn


def activate_flash_attention_impl(impl: str) -> None:
    """Call the registered ``register_fn`` of ``impl`` (after restoring the default), keeping
    the handle it returns; an unknown ``impl`` raises ValueError.

    Example:
        >>> activate_flash_attention_impl("MyImpl")
    """
    global _FLASH_ATTENTION_ACTIVE
    restore_flash_attention_impl(_raise_warn=False)
    register_fn = _FLASH_ATTENTION_IMPLS.get(impl)
    if register_fn is None:
        raise ValueError(f"Unknown flash attention impl '{impl}'. Available implementations: "
                         f"{list_flash_attention_impls()}")
    handle = register_fn()
    if handle is not None:
        _FLASH_ATTENTION_ACTIVE = (impl, handle)


def list_flash_attention_impls() -> list:
    """The names of the registered flash-attention implementations, sorted (none in ember
    until one is registered).

    Example:
        >>> list_flash_attention_impls()
        []
    """
    return sorted(_FLASH_ATTENTION_IMPLS)


def current_flash_attention_impl() -> str | None:
    """The name of the activated flash-attention implementation, or None for the default.

    Example:
        >>> current_flash_attention_impl() is None
        True
    """
    return _FLASH_ATTENTION_ACTIVE[0] if _FLASH_ATTENTION_ACTIVE is not None else None


def restore_flash_attention_impl(_raise_warn: bool = True) -> None:
    """Go back to the default implementation, removing the active one's handle (a warning
    is logged when none was active).

    Example:
        >>> restore_flash_attention_impl()
    """
    global _FLASH_ATTENTION_ACTIVE
    handle = _FLASH_ATTENTION_ACTIVE[1] if _FLASH_ATTENTION_ACTIVE is not None else None
    if handle is not None:
        handle.remove()
    elif _raise_warn:
        _logger.warning("Trying to restore default FA2 impl when no custom impl was activated")
    _FLASH_ATTENTION_ACTIVE = None
