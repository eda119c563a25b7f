"""The German Traffic Sign Recognition Benchmark (43 classes of PPM images)."""

from __future__ import annotations

import csv
import os
import pathlib
from collections.abc import Callable
from typing import Any

from .folder import make_dataset
from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["GTSRB"]


class GTSRB(VisionDataset):
    """GTSRB from ``root/gtsrb/GTSRB``: ``Training/<class:05d>/*.ppm`` and, for the test
    split, ``Final_Test/Images`` with labels in ``root/gtsrb/GT-final_test.csv``.

    ``split`` is "train" or "test". A sample is ``(RGB PIL image, int class)``.

    Example:
        >>> signs = GTSRB("data", split="test", download=True)
        >>> len(signs)
        12630
    """

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "test"))
        self._base_folder = pathlib.Path(root) / "gtsrb"
        self._target_folder = self._base_folder / "GTSRB" / (
            "Training" if self._split == "train" else "Final_Test/Images")
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        if self._split == "train":
            samples = make_dataset(str(self._target_folder), extensions=(".ppm",))
        else:
            with open(self._base_folder / "GT-final_test.csv") as csv_file:
                rows = csv.DictReader(csv_file, delimiter=";", skipinitialspace=True)
                samples = [(str(self._target_folder / row["Filename"]), int(row["ClassId"]))
                           for row in rows]
        self._samples = samples

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        path, target = self._samples[index]
        sample = Image.open(path).convert("RGB")
        fx, fy = self.transform, self.target_transform
        return (sample if fx is None else fx(sample)), (target if fy is None else fy(target))

    def _check_exists(self) -> bool:
        return self._target_folder.is_dir()

    def download(self) -> None:
        """Fetch and unpack the split's archives (images, and labels for the test split).

        Example:
            >>> GTSRB("data", download=True).download()  # a no-op the second time
        """
        if self._check_exists():
            return
        base_url = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"
        if self._split == "train":
            download_and_extract_archive(f"{base_url}GTSRB-Training_fixed.zip",
                                         download_root=str(self._base_folder),
                                         md5="513f3c79a4c5141765e10e952eaa2478")
        else:
            download_and_extract_archive(f"{base_url}GTSRB_Final_Test_Images.zip",
                                         download_root=str(self._base_folder),
                                         md5="c7e4e6327067d32654124b0fe9e82185")
            download_and_extract_archive(f"{base_url}GTSRB_Final_Test_GT.zip",
                                         download_root=str(self._base_folder),
                                         md5="fe31e9c9270bbcd7b84b7f21a9d9d9e5")
