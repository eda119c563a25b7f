"""KITTI object detection: the left colour camera's images and their labelled objects."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import Any

from .utils import download_and_extract_archive
from .vision import VisionDataset

__all__ = ["Kitti"]


class Kitti(VisionDataset):
    """KITTI detection from ``root/Kitti/raw/{training,testing}/image_2`` (and, for training,
    ``label_2/<image name>.txt``).

    A sample is ``(image, target)``: a PIL image and, for ``train=True``, a list of dicts per
    labelled object (``type``, ``truncated``, ``occluded``, ``alpha``, ``bbox`` [4 floats],
    ``dimensions`` [3], ``location`` [3], ``rotation_y``); ``None`` for the test split.
    Images are listed in ``os.listdir`` order, as torchvision. A label line with too few
    fields or a non-number raises ``RuntimeError`` naming the file and line.

    Example:
        >>> kitti = Kitti("data", train=True)
        >>> image, objects = kitti[0]; objects[0]["type"]
        'Pedestrian'
    """

    data_url = "https://s3.eu-central-1.amazonaws.com/avg-kitti/"
    resources = ["data_object_image_2.zip", "data_object_label_2.zip"]
    image_dir_name = "image_2"
    labels_dir_name = "label_2"

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 transforms: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform,
                         transforms=transforms)
        self.images: list[str] = []
        self.targets: list[str] = []
        self.train = train
        self._location = "training" if self.train else "testing"
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You may use download=True to download it.")
        image_dir = os.path.join(self._raw_folder, self._location, self.image_dir_name)
        labels_dir = os.path.join(self._raw_folder, self._location, self.labels_dir_name)
        for name in os.listdir(image_dir):
            self.images.append(os.path.join(image_dir, name))
            if self.train:
                self.targets.append(os.path.join(labels_dir, f"{name.split('.')[0]}.txt"))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        image = Image.open(self.images[index])
        target = self._parse_target(index) if self.train else None
        if self.transforms:
            image, target = self.transforms(image, target)
        return image, target

    def _parse_target(self, index: int) -> list:
        path, target = self.targets[index], []
        with open(path) as f:
            for number, line in enumerate(csv.reader(f, delimiter=" "), 1):
                try:
                    target.append({
                        "type": line[0], "truncated": float(line[1]), "occluded": int(line[2]),
                        "alpha": float(line[3]), "bbox": [float(x) for x in line[4:8]],
                        "dimensions": [float(x) for x in line[8:11]],
                        "location": [float(x) for x in line[11:14]],
                        "rotation_y": float(line[14])})
                except (IndexError, ValueError) as err:
                    raise RuntimeError(f"Kitti label file {path}, line {number}: expected 15 "
                                       "space-separated fields (type, then 14 numbers), got "
                                       f"{line!r} ({err})") from err
        return target

    def __len__(self) -> int:
        return len(self.images)

    @property
    def _raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    def _check_exists(self) -> bool:
        folders = [self.image_dir_name] + ([self.labels_dir_name] if self.train else [])
        return all(os.path.isdir(os.path.join(self._raw_folder, self._location, name))
                   for name in folders)

    def download(self) -> None:
        """Fetch and extract the image and label zips, unless the folders are there."""
        if self._check_exists():
            return
        os.makedirs(self._raw_folder, exist_ok=True)
        for name in self.resources:
            download_and_extract_archive(url=f"{self.data_url}{name}",
                                         download_root=self._raw_folder, filename=name)
