"""CIFAR-10 and CIFAR-100 from the python-pickle batches (``cifar-10-batches-py``)."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from .utils import check_integrity, download_and_extract_archive
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]


class CIFAR10(VisionDataset):
    """CIFAR-10: ``root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``.

    ``data`` is a uint8 NumPy array (N, 32, 32, 3), ``targets`` a list of ints; samples are
    PIL RGB images passed through ``transform``.

    Example:
        >>> train = CIFAR10("data", train=True, download=True, transform=transforms.ToTensor())
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    label_key = "labels"

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        problem = self._check_integrity_problem()
        if problem is not None:
            raise RuntimeError(f"Dataset not found or corrupted. You can use download=True to "
                               f"download it ({problem})")
        files = self.train_list if self.train else self.test_list
        data, self.targets = [], []
        for file_name, _ in files:
            entry = self._unpickle(os.path.join(self.root, self.base_folder, file_name))
            try:
                batch = np.asarray(entry["data"], np.uint8)
                labels = entry[self.label_key] if self.label_key in entry else entry[
                    "fine_labels"]
                batch = batch.reshape(-1, 3, 32, 32)
            except (KeyError, ValueError) as e:
                raise RuntimeError(f"CIFAR batch {file_name} in {self.root}/{self.base_folder} "
                                   f"is corrupt: {e!r} (expected a dict with 'data' of shape "
                                   f"(N, 3072) and '{self.label_key}')") from e
            if len(labels) != len(batch):
                raise RuntimeError(f"CIFAR batch {file_name} holds {len(batch)} images but "
                                   f"{len(labels)} labels")
            data.append(batch)
            self.targets.extend(int(t) for t in labels)
        self.data = np.vstack(data).transpose((0, 2, 3, 1))  # to HWC
        self._load_meta()

    @staticmethod
    def _unpickle(path: str) -> dict:
        try:
            with open(path, "rb") as f:
                return pickle.load(f, encoding="latin1")
        except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError,
                IndexError) as e:
            raise RuntimeError(f"Cannot read CIFAR file {path}: {e!r} (the file is corrupt or "
                               "truncated; delete it and download again)") from e

    def _load_meta(self) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        if not check_integrity(path, self.meta["md5"]):
            raise RuntimeError("Dataset metadata file not found or corrupted. You can use "
                               f"download=True to download it ({path})")
        data = self._unpickle(path)
        self.classes = data[self.meta["key"]]
        self.class_to_idx = {_class: i for i, _class in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        img, target = Image.fromarray(self.data[index]), self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity_problem(self) -> str | None:
        for filename, md5 in self.train_list + self.test_list:
            fpath = os.path.join(self.root, self.base_folder, filename)
            if not os.path.isfile(fpath):
                return f"missing {fpath}"
            if not check_integrity(fpath, md5):
                return f"md5 of {fpath} is not {md5}"
        return None

    def _check_integrity(self) -> bool:
        return self._check_integrity_problem() is None

    def download(self) -> None:
        """Fetch and extract the archive unless every batch file is already present and intact."""
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename,
                                     md5=self.tgz_md5)

    def extra_repr(self) -> str:
        split = "Train" if self.train is True else "Test"
        return f"Split: {split}"


class CIFAR100(CIFAR10):
    """CIFAR-100 (fine labels): ``root/cifar-100-python/{train, test, meta}``.

    Example:
        >>> test = CIFAR100("data", train=False, download=True)
    """

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names",
            "md5": "7973b15100ade9c7d40fb424638fde48"}
    label_key = "fine_labels"
