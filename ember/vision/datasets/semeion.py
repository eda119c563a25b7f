"""The SEMEION handwritten digits (16x16 binary images) from the UCI text release."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .utils import check_integrity, download_url
from .vision import VisionDataset

__all__ = ["SEMEION"]


class SEMEION(VisionDataset):
    """The 1593 SEMEION digits from ``root/semeion.data``.

    Each line holds 256 pixel values (0 or 1) and a one-hot label of 10 values. ``data`` is a
    ``uint8`` array (N, 16, 16) of 0 and 255, ``labels`` the class indices. A sample is
    ``(PIL image in mode "L", int)``. Unlike most datasets ``download`` defaults to True, as
    in torchvision.

    Example:
        >>> digits = SEMEION("data")
        >>> digits.data.shape
        (1593, 16, 16)
    """

    url = "http://archive.ics.uci.edu/ml/machine-learning-databases/semeion/semeion.data"
    filename = "semeion.data"
    md5_checksum = "cb545d371d2ce14ec121470795a77432"

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = True) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        data = np.loadtxt(os.path.join(self.root, self.filename))
        self.data = (data[:, :256] * 255).astype("uint8").reshape(-1, 16, 16)
        self.labels = np.nonzero(data[:, 256:])[1]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img, target = Image.fromarray(self.data[index]), int(self.labels[index])
        fx, fy = self.transform, self.target_transform
        return (img if fx is None else fx(img)), (target if fy is None else fy(target))

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        return check_integrity(os.path.join(self.root, self.filename), self.md5_checksum)

    def download(self) -> None:
        """Fetch ``semeion.data`` into ``root`` unless it is there with the right md5.

        Example:
            >>> SEMEION("data").download()  # a no-op once the file is there
        """
        if self._check_integrity():
            return
        download_url(self.url, self.root, self.filename, self.md5_checksum)
