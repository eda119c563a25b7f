"""``ember.amp``: automatic mixed precision, as ``torch.amp``.

``autocast`` runs a region's matmul/linear/conv in a lower-precision dtype (bfloat16 on the
CPU) and its losses and reductions PyTorch lists in float32; ``GradScaler`` scales the loss and
skips optimizer steps whose gradients hold an inf or a NaN.

Example:
    >>> model = ember.nn.Linear(4, 2)
    >>> with ember.autocast("cpu", dtype=ember.bfloat16):
    ...     model(ember.ones(3, 4)).dtype
    torch.bfloat16
"""

from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available", "GradScaler"]
