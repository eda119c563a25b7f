"""STL-10 (96x96 RGB images, 10 classes plus 100000 unlabeled) from the binary release."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .utils import check_integrity, download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["STL10"]


class STL10(VisionDataset):
    """The STL-10 images from ``root/stl10_binary`` (``train_X.bin``, ``train_y.bin`` ...).

    ``split`` is "train" (5000 labelled images), "test" (8000), "unlabeled" (100000, label
    -1) or "train+unlabeled". ``folds`` (0-9) keeps one of the ten predefined 1000-image
    training folds of ``fold_indices.txt``. ``data`` is a ``uint8`` array (N, 3, 96, 96),
    ``labels`` the 0-based classes, ``classes`` the names in ``class_names.txt``; a sample is
    ``(PIL RGB image, int label)`` after the transforms.

    Example:
        >>> train = STL10("data", split="train", download=True)
        >>> train.data.shape, train.classes[int(train.labels[0])]
        ((5000, 3, 96, 96), 'monkey')
    """

    base_folder = "stl10_binary"
    url = "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"
    filename = "stl10_binary.tar.gz"
    tgz_md5 = "91f7769df0f17e558f3565bffb0c7dfb"
    class_names_file = "class_names.txt"
    folds_list_file = "fold_indices.txt"
    train_list = [["train_X.bin", "918c2871b30a85fa023e0c44e0bee87f"],
                  ["train_y.bin", "5a34089d4802c674881badbb80307741"],
                  ["unlabeled_X.bin", "5242ba1fed5e4be9e1e742405eb56ca4"]]
    test_list = [["test_X.bin", "7f263ba9f9e0b06b93213547f721ac82"],
                 ["test_y.bin", "36f9794fa4beb8a2c72628de14fa638e"]]
    splits = ("train", "train+unlabeled", "unlabeled", "test")

    def __init__(self, root: str | os.PathLike, split: str = "train", folds: int | None = None,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", self.splits)
        self.folds = self._verify_folds(folds)
        if download:
            self.download()
        elif not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        train_x, train_y, unlabeled_x = (name for name, _ in self.train_list)
        if self.split in ("train", "train+unlabeled"):
            self.data, self.labels = self._load_file(train_x, train_y)
            self._load_folds(folds)
            if self.split == "train+unlabeled":
                unlabeled, _ = self._load_file(unlabeled_x)
                self.data = np.concatenate((self.data, unlabeled))
                self.labels = np.concatenate((self.labels, np.full(len(unlabeled), -1)))
        elif self.split == "unlabeled":
            self.data, _ = self._load_file(unlabeled_x)
            self.labels = np.full(len(self.data), -1)
        else:
            self.data, self.labels = self._load_file(*(name for name, _ in self.test_list))
        class_file = os.path.join(self.root, self.base_folder, self.class_names_file)
        if os.path.isfile(class_file):
            with open(class_file) as f:
                self.classes = f.read().splitlines()

    @staticmethod
    def _verify_folds(folds: int | None) -> int | None:
        if folds is None:
            return folds
        if isinstance(folds, int):
            if folds in range(10):
                return folds
            raise ValueError("Value for argument folds should be in the range [0, 10), but got "
                             f"{folds}.")
        raise ValueError("Expected type None or int for argument folds, but got type "
                         f"{type(folds)}.")

    def _load_file(self, data_file: str, labels_file: str | None = None):
        """The images (N, 3, 96, 96) of ``data_file`` and the 0-based labels of
        ``labels_file`` (None without one). The release stores each plane column-major."""
        folder = os.path.join(self.root, self.base_folder)
        labels = None
        if labels_file:
            labels = np.fromfile(os.path.join(folder, labels_file), dtype=np.uint8) - 1
        path = os.path.join(folder, data_file)
        everything = np.fromfile(path, dtype=np.uint8)
        if everything.size % (3 * 96 * 96):
            raise RuntimeError(f"{path} holds {everything.size} bytes, not a whole number of "
                               "3x96x96 images (the file is truncated; download it again)")
        images = everything.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2)
        if labels is not None and len(labels) != len(images):
            raise RuntimeError(f"{path} holds {len(images)} images but "
                               f"{os.path.join(folder, labels_file)} {len(labels)} labels")
        return images, labels

    def _load_folds(self, folds: int | None) -> None:
        if folds is None:
            return
        with open(os.path.join(self.root, self.base_folder, self.folds_list_file)) as f:
            line = f.read().splitlines()[folds]
        index = np.array(line.split(), dtype=np.int64)
        self.data = self.data[index]
        if self.labels is not None:
            self.labels = self.labels[index]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img = Image.fromarray(np.transpose(self.data[index], (1, 2, 0)))
        target = None if self.labels is None else int(self.labels[index])
        fx, fy = self.transform, self.target_transform
        return (img if fx is None else fx(img)), (target if fy is None else fy(target))

    def __len__(self) -> int:
        return self.data.shape[0]

    def _check_integrity(self) -> bool:
        folder = os.path.join(self.root, self.base_folder)
        return all(check_integrity(os.path.join(folder, name), md5)
                   for name, md5 in self.train_list + self.test_list)

    def download(self) -> None:
        """Fetch and unpack the archive into ``root`` unless intact files are already there.

        Example:
            >>> STL10("data", download=True).download()  # a no-op the second time
        """
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename,
                                     md5=self.tgz_md5)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
