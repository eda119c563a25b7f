"""``torch.cuda.green_contexts``: CUDA green contexts (a GPU split into groups of SMs). ember
does not make them: ``SUPPORTED`` is False and ``GreenContext.create`` raises.

Example:
    >>> ember.cuda.green_contexts.SUPPORTED
    False
"""

from __future__ import annotations

__all__ = ["GreenContext", "SUPPORTED"]

SUPPORTED = False


class GreenContext:
    """A CUDA green context (not supported in ember: ``create`` raises RuntimeError).

    Example:
        >>> ember.cuda.GreenContext.create(num_sms=8)  # doctest: +SKIP  (raises)
    """

    @staticmethod
    def create(*, num_sms: int, device_id: int = 0) -> GreenContext:
        """A green context of ``num_sms`` SMs on ``device_id`` (not supported: raises)."""
        raise RuntimeError("ember does not support CUDA green contexts")

    def set_context(self) -> None:
        """Make this green context current (not supported: raises)."""
        raise RuntimeError("ember does not support CUDA green contexts")

    def pop_context(self) -> None:
        """Go back to the previous context (not supported: raises)."""
        raise RuntimeError("ember does not support CUDA green contexts")
