"""``FakeData``: random images, the same for a given index and ``random_offset``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """Random PIL images (from normal noise) with random integer targets.

    Each sample is drawn from its own generator seeded with ``index + random_offset``, so
    ``ds[i]`` is the same every time and the global RNG is untouched.

    Example:
        >>> ds = FakeData(size=10, image_size=(3, 32, 32), num_classes=4)
        >>> img, label = ds[0]
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, ...] = (3, 224, 224),
                 num_classes: int = 10, transform: Callable | None = None,
                 target_transform: Callable | None = None, random_offset: int = 0) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from ... import _random
        from ..transforms import functional as F

        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        g = _random.Generator().manual_seed(index + self.random_offset)
        img = _random.randn(*self.image_size, generator=g)
        target = int(_random.randint(0, self.num_classes, (1,), generator=g).item())
        img = F.to_pil_image(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return self.size
