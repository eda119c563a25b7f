"""CLEVR as a classification set: the label is the number of objects in the scene."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from .folder import default_loader
from .utils import download_and_extract_archive, verify_str_arg
from .vision import _ImageFilesWithLabels

__all__ = ["CLEVRClassification"]


class CLEVRClassification(_ImageFilesWithLabels):
    """CLEVR from ``root/clevr/CLEVR_v1.0``: ``images/<split>/*`` (sorted) and, for
    ``train``/``val``, ``scenes/CLEVR_<split>_scenes.json``. A sample is ``(image, number of
    objects)``; the label is ``None`` for ``test``. A scene file without an image's entry
    raises ``RuntimeError`` naming both.

    Example:
        >>> clevr = CLEVRClassification("data", split="val")
        >>> img, count = clevr[0]
        >>> count
        5
    """

    _URL = "https://dl.fbaipublicfiles.com/clevr/CLEVR_v1.0.zip"
    _MD5 = "b11922020e72d0cd9154779b2d3d07d2"

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False,
                 loader: Callable[[str | os.PathLike], Any] = default_loader) -> None:
        self._split = verify_str_arg(split, "split", ("train", "val", "test"))
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.loader = loader
        self._base_folder = pathlib.Path(self.root) / "clevr"
        self._data_folder = self._base_folder / pathlib.Path(urlparse(self._URL).path).stem
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        self._image_files = sorted(self._data_folder.joinpath("images", self._split).glob("*"))
        self._labels: list[int | None]
        if self._split == "test":
            self._labels = [None] * len(self._image_files)
            return
        scenes_file = self._data_folder / "scenes" / f"CLEVR_{self._split}_scenes.json"
        with open(scenes_file) as file:
            content = json.load(file)
        num_objects = {scene["image_filename"]: len(scene["objects"])
                       for scene in content["scenes"]}
        missing = [f.name for f in self._image_files if f.name not in num_objects]
        if missing:
            raise RuntimeError(f"CLEVR: {scenes_file} has no scene for {missing[0]}")
        self._labels = [num_objects[image_file.name] for image_file in self._image_files]

    def _check_exists(self) -> bool:
        return self._data_folder.exists() and self._data_folder.is_dir()

    def _download(self) -> None:
        if self._check_exists():
            return
        download_and_extract_archive(self._URL, str(self._base_folder), md5=self._MD5)

    def extra_repr(self) -> str:
        return f"split={self._split}"
