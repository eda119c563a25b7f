"""FGVC Aircraft: 10,000 aircraft photos labelled by variant, family or manufacturer."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .folder import default_loader
from .utils import download_and_extract_archive, verify_str_arg
from .vision import _ImageFilesWithLabels

__all__ = ["FGVCAircraft"]


class FGVCAircraft(_ImageFilesWithLabels):
    """FGVC Aircraft from ``root/fgvc-aircraft-2013b/data``: ``images/<id>.jpg``, the class
    list (``variants.txt``, ``families.txt`` or ``manufacturers.txt`` for
    ``annotation_level``) and ``images_<level>_<split>.txt`` (``<id> <class name>`` per line).
    A sample is ``(image, class index)``; ``classes`` and ``class_to_idx`` are as
    torchvision's. A label line naming an unknown class raises ``RuntimeError``.

    Example:
        >>> planes = FGVCAircraft("data", split="test", annotation_level="family")
        >>> img, label = planes[0]
        >>> planes.classes[label]
        'Boeing 707'
    """

    _URL = ("https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/"
            "fgvc-aircraft-2013b.tar.gz")

    def __init__(self, root: str | os.PathLike, split: str = "trainval",
                 annotation_level: str = "variant", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "val", "trainval", "test"))
        self._annotation_level = verify_str_arg(
            annotation_level, "annotation_level", ("variant", "family", "manufacturer"))
        self._data_path = os.path.join(self.root, "fgvc-aircraft-2013b")
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        data = os.path.join(self._data_path, "data")
        names = {"variant": "variants.txt", "family": "families.txt",
                 "manufacturer": "manufacturers.txt"}[self._annotation_level]
        with open(os.path.join(data, names)) as f:
            self.classes = [line.strip() for line in f]
        self.class_to_idx = dict(zip(self.classes, range(len(self.classes))))
        labels_file = os.path.join(data, f"images_{self._annotation_level}_{self._split}.txt")
        self._image_files: list[str] = []
        self._labels: list[int] = []
        with open(labels_file) as f:
            for number, line in enumerate(f, 1):
                image_name, _, label_name = line.strip().partition(" ")
                if label_name not in self.class_to_idx:
                    raise RuntimeError(f"FGVCAircraft label file {labels_file}, line {number}: "
                                       f"expected '<image id> <class name>' with a class of "
                                       f"{names}, got {line.rstrip()!r}")
                self._image_files.append(os.path.join(data, "images", f"{image_name}.jpg"))
                self._labels.append(self.class_to_idx[label_name])
        self.loader = loader

    def _download(self) -> None:
        if self._check_exists():
            return
        download_and_extract_archive(self._URL, self.root)

    def _check_exists(self) -> bool:
        return os.path.exists(self._data_path) and os.path.isdir(self._data_path)
