"""Random images and labels, reproducible per index, for smoke tests and benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import _random
from ..transforms.functional import to_pil_image
from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` random PIL images of shape ``image_size`` (C, H, W) with random class labels.

    Sample ``i`` is drawn from the global generator seeded with ``i + random_offset`` (a
    standard-normal image, then an ``int64`` label below ``num_classes``), and the generator's
    previous state is put back afterwards, so reading a sample never disturbs other random
    draws and returns the same pixels as torchvision. The label is handed to
    ``target_transform`` as a 0-d tensor and returned as a Python number.

    Example:
        >>> fake = FakeData(size=4, image_size=(3, 8, 8), num_classes=2)
        >>> img, label = fake[0]
        >>> img.size, len(fake)
        ((8, 8), 4)
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, ...] = (3, 224, 224),
                 num_classes: int = 10, transform: Callable | None = None,
                 target_transform: Callable | None = None, random_offset: int = 0) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def _draw(self, index: int):
        """The image tensor and label tensor of sample ``index``; global RNG left as found."""
        saved = _random.get_rng_state()
        try:
            _random.manual_seed(index + self.random_offset)
            pixels = _random.randn(*self.image_size)
            label = _random.randint(0, self.num_classes, size=(1,))[0]
        finally:
            _random.set_rng_state(saved)
        return pixels, label

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if index >= len(self):
            raise IndexError("FakeData index out of range")
        pixels, label = self._draw(index)
        img = to_pil_image(pixels)
        fx, fy = self.transform, self.target_transform
        img, label = (img if fx is None else fx(img)), (label if fy is None else fy(label))
        # a tensor label (the usual case) comes back as a plain number, as in torchvision
        return img, (label.item() if hasattr(label, "item") else label)

    def __len__(self) -> int:
        return self.size
