"""The Describable Textures Dataset: 47 texture classes in ten train/val/test partitions."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

from .folder import default_loader
from .utils import download_and_extract_archive, verify_str_arg
from .vision import _ImageFilesWithLabels

__all__ = ["DTD"]


class DTD(_ImageFilesWithLabels):
    """DTD from ``root/dtd/dtd`` (``images/<class>/<file>``, ``labels/<split><partition>.txt``).

    ``split`` is "train", "val" or "test" and ``partition`` 1-10 (which images each split
    holds). ``classes`` are the sorted classes of the chosen list; a sample is
    ``(image, int class)`` read with ``loader`` (Pillow, RGB, by default).

    Example:
        >>> dtd = DTD("data", split="val", partition=3, download=True)
        >>> len(dtd), dtd.classes[0]
        (1880, 'banded')
    """

    _URL = "https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz"
    _MD5 = "fff73e5086ae6bdbea199a49dfb8a4c1"

    def __init__(self, root: str | os.PathLike, split: str = "train", partition: int = 1,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False,
                 loader: Callable[[str | pathlib.Path], Any] = default_loader) -> None:
        self._split = verify_str_arg(split, "split", ("train", "val", "test"))
        # torchvision's check, kept as it is: it lets an out-of-range int through
        if not isinstance(partition, int) and not (1 <= partition <= 10):
            raise ValueError("Parameter 'partition' should be an integer with "
                             f"`1 <= partition <= 10`, but got {partition} instead")
        self._partition = partition
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._base_folder = pathlib.Path(self.root) / type(self).__name__.lower()
        self._data_folder = self._base_folder / "dtd"
        self._meta_folder = self._data_folder / "labels"
        self._images_folder = self._data_folder / "images"
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self._image_files, classes = [], []
        with open(self._meta_folder / f"{self._split}{self._partition}.txt") as file:
            for line in file:
                cls, name = line.strip().split("/")
                self._image_files.append(self._images_folder.joinpath(cls, name))
                classes.append(cls)
        self.classes = sorted(set(classes))
        self.class_to_idx = dict(zip(self.classes, range(len(self.classes))))
        self._labels = [self.class_to_idx[cls] for cls in classes]
        self.loader = loader

    def extra_repr(self) -> str:
        return f"split={self._split}, partition={self._partition}"

    def _check_exists(self) -> bool:
        return self._data_folder.is_dir()

    def _download(self) -> None:
        if self._check_exists():
            return
        download_and_extract_archive(self._URL, download_root=str(self._base_folder),
                                     md5=self._MD5)
