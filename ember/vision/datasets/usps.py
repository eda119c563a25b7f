"""USPS handwritten digits (16x16 grey), read from the bzip2'd LIBSVM text release."""

from __future__ import annotations

import bz2
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .utils import download_url
from .vision import VisionDataset

__all__ = ["USPS"]


class USPS(VisionDataset):
    """The USPS digits from ``root/usps.bz2`` (``train=True``) or ``root/usps.t.bz2``.

    Each line of the release is ``label index:value ...`` with labels 1-10 and 256 values in
    [-1, 1]; ``targets`` are the labels minus one (a list of ints) and ``data`` the pixels
    scaled to a ``uint8`` array (N, 16, 16). A sample is ``(PIL image in mode "L", int)``.

    Example:
        >>> usps = USPS("data", train=False, download=True)
        >>> len(usps), usps.data.shape
        (2007, (2007, 16, 16))
    """

    split_list = {
        "train": ["https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.bz2",
                  "usps.bz2", "ec16c51db3855ca6c91edd34d0e9b197"],
        "test": ["https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.t.bz2",
                 "usps.t.bz2", "8ea070ee2aca1ac39742fdd1ef5ed118"],
    }

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        url, filename, checksum = self.split_list["train" if train else "test"]
        full_path = os.path.join(self.root, filename)
        if download and not os.path.exists(full_path):
            download_url(url, self.root, filename, md5=checksum)
        with bz2.open(full_path) as fp:
            rows = [line.decode().split() for line in fp.readlines()]
        values = [[item.split(":")[-1] for item in row[1:]] for row in rows]
        imgs = np.asarray(values, dtype=np.float32).reshape((-1, 16, 16))
        self.data = ((imgs + 1) / 2 * 255).astype(dtype=np.uint8)
        self.targets = [int(row[0]) - 1 for row in rows]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img, target = Image.fromarray(self.data[index]), int(self.targets[index])
        fx, fy = self.transform, self.target_transform
        return (img if fx is None else fx(img)), (target if fy is None else fy(target))

    def __len__(self) -> int:
        return len(self.data)
