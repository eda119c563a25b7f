"""Food-101: 101 food categories, 750 training and 250 test images each."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .folder import default_loader
from .utils import download_and_extract_archive, verify_str_arg
from .vision import _ImageFilesWithLabels

__all__ = ["Food101"]


class Food101(_ImageFilesWithLabels):
    """Food-101 from ``root/food-101`` (``images/<class>/<id>.jpg``, ``meta/<split>.json``).

    ``split`` is "train" or "test"; ``classes`` are the sorted class names of the split's
    JSON file. A sample is ``(image, int class)`` read with ``loader`` (Pillow, RGB).

    Example:
        >>> food = Food101("data", split="test", download=True)
        >>> len(food), food.classes[0]
        (25250, 'apple_pie')
    """

    _URL = "http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz"
    _MD5 = "85eeb15f3717b99a5da872d97d918f87"

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[str | Path], Any] = default_loader
                 ) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "test"))
        self._base_folder = Path(self.root) / "food-101"
        self._meta_folder = self._base_folder / "meta"
        self._images_folder = self._base_folder / "images"
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        with open(self._meta_folder / f"{split}.json") as f:
            metadata = json.loads(f.read())
        self.classes = sorted(metadata.keys())
        self.class_to_idx = dict(zip(self.classes, range(len(self.classes))))
        self._labels, self._image_files = [], []
        for class_label, paths in metadata.items():
            self._labels += [self.class_to_idx[class_label]] * len(paths)
            self._image_files += [self._images_folder.joinpath(*f"{path}.jpg".split("/"))
                                  for path in paths]
        self.loader = loader

    def extra_repr(self) -> str:
        return f"split={self._split}"

    def _check_exists(self) -> bool:
        return self._meta_folder.is_dir() and self._images_folder.is_dir()

    def _download(self) -> None:
        if self._check_exists():
            return
        download_and_extract_archive(self._URL, download_root=self.root, md5=self._MD5)
