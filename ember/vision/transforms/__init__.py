"""Image transforms mirroring ``torchvision.transforms`` (PIL images and tensor images)."""

from . import functional
from .functional import InterpolationMode
from .transforms import *  # noqa: F403
from .transforms import __all__ as _all

__all__ = ["functional", "InterpolationMode", *_all]
