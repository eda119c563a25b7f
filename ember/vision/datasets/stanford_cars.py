"""Stanford Cars: 16,185 images of 196 car models, read from the release's ``.mat`` files."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

from .folder import default_loader
from .matfile import load_mat
from .utils import verify_str_arg
from .vision import VisionDataset

__all__ = ["StanfordCars"]


class StanfordCars(VisionDataset):
    """Stanford Cars from ``root/stanford_cars``: ``devkit/cars_meta.mat`` (class names),
    ``devkit/cars_train_annos.mat`` and ``cars_train/`` for "train",
    ``cars_test_annos_withlabels.mat`` and ``cars_test/`` for "test".

    A sample is ``(image, int class)`` read with ``loader`` (Pillow, RGB); ``classes`` and
    ``class_to_idx`` come from the devkit. The original URL is gone, so ``download=True``
    raises ``ValueError``; unlike torchvision, no SciPy is needed.

    Example:
        >>> cars = StanfordCars("data", split="test")
        >>> cars.classes[0]
        'AM General Hummer SUV 2000'
    """

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "test"))
        self._base_folder = pathlib.Path(root) / "stanford_cars"
        devkit = self._base_folder / "devkit"
        if self._split == "train":
            self._annotations_mat_path = devkit / "cars_train_annos.mat"
            self._images_base_path = self._base_folder / "cars_train"
        else:
            self._annotations_mat_path = self._base_folder / "cars_test_annos_withlabels.mat"
            self._images_base_path = self._base_folder / "cars_test"
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found.")
        annotations = _struct_field_array(self._annotations_mat_path, "annotations",
                                          ("fname", "class"))
        # the release numbers classes from 1
        self._samples = [(str(self._images_base_path / a["fname"]), a["class"] - 1)
                         for a in annotations]
        self.classes = load_mat(devkit / "cars_meta.mat", squeeze_me=True)["class_names"].tolist()
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self.loader = loader

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        path, target = self._samples[idx]
        image = self.loader(path)
        fx, fy = self.transform, self.target_transform
        return (image if fx is None else fx(image)), (target if fy is None else fy(target))

    def _check_exists(self) -> bool:
        if not (self._base_folder / "devkit").is_dir():
            return False
        return self._annotations_mat_path.exists() and self._images_base_path.is_dir()

    def download(self):
        """Always raises: the dataset's original URL is gone."""
        raise ValueError("The original URL is broken so the StanfordCars dataset cannot be "
                         "downloaded anymore.")


def _struct_field_array(path, name: str, fields: tuple[str, ...]):
    value = load_mat(path, squeeze_me=True).get(name)
    names = getattr(getattr(value, "dtype", None), "names", None) or ()
    if not set(fields) <= set(names):
        raise RuntimeError(f"{path} holds no {name!r} struct array with fields "
                           f"{', '.join(fields)}")
    return value
