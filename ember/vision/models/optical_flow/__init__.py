"""Optical flow models, mirroring ``torchvision.models.optical_flow``.

Example:
    >>> from ember.vision.models import optical_flow
    >>> optical_flow.raft_small().__class__.__name__
    'RAFT'
"""

from .raft import RAFT, Raft_Large_Weights, Raft_Small_Weights, raft_large, raft_small

__all__ = ["RAFT", "Raft_Large_Weights", "Raft_Small_Weights", "raft_large", "raft_small"]
