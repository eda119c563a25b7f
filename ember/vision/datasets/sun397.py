"""SUN397: scene recognition over 397 categories."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .folder import default_loader
from .utils import download_and_extract_archive
from .vision import _ImageFilesWithLabels

__all__ = ["SUN397"]


class SUN397(_ImageFilesWithLabels):
    """SUN397 from ``root/SUN397``: ``ClassName.txt`` (``/a/abbey`` per line) and the
    ``sun_*.jpg`` images under ``<letter>/<class path>/``. A sample is ``(image, class
    index)``; images are listed in ``Path.rglob`` order, as torchvision. An image outside
    every listed class folder raises ``RuntimeError``.

    Example:
        >>> sun = SUN397("data")
        >>> img, label = sun[0]
        >>> sun.classes[label]
        'abbey'
    """

    _DATASET_URL = "http://vision.princeton.edu/projects/2010/SUN/SUN397.tar.gz"
    _DATASET_MD5 = "8ca2778205c41d23104230ba66911c7a"

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str | os.PathLike], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._data_dir = Path(self.root) / "SUN397"
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        with open(self._data_dir / "ClassName.txt") as f:
            self.classes = [c[3:].strip() for c in f]  # "/a/abbey" -> "abbey"
        self.class_to_idx = dict(zip(self.classes, range(len(self.classes))))
        self._image_files = list(self._data_dir.rglob("sun_*.jpg"))
        self._labels = []
        for path in self._image_files:
            name = "/".join(path.relative_to(self._data_dir).parts[1:-1])
            if name not in self.class_to_idx:
                raise RuntimeError(f"SUN397: {path} lies in {name!r}, which ClassName.txt does "
                                   "not list")
            self._labels.append(self.class_to_idx[name])
        self.loader = loader

    def _check_exists(self) -> bool:
        return self._data_dir.is_dir()

    def _download(self) -> None:
        if self._check_exists():
            return
        download_and_extract_archive(self._DATASET_URL, download_root=self.root,
                                     md5=self._DATASET_MD5)
