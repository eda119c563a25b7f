"""QMNIST: MNIST's digits reconstructed with their NIST provenance (writer, index, ...)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..._creation import from_numpy
from .mnist import MNIST, read_idx_file
from .utils import check_integrity, download_and_extract_archive, verify_str_arg

__all__ = ["QMNIST"]

_BASE = "https://raw.githubusercontent.com/facebookresearch/qmnist/master/"


class QMNIST(MNIST):
    """QMNIST from ``root/QMNIST/raw`` (extracted IDX files, as torchvision reads them).

    ``what`` is "train", "test" (60000 digits), "test10k" (the ones matching MNIST's test
    set), "test50k" (the others) or "nist" (all); by default "train" or "test" after
    ``train``. ``targets`` is an ``int64`` tensor (N, 8): class, NIST hsf, writer id, digit
    index, NIST class, global index, duplicate and unused columns. With ``compat=True``
    (the default) a sample's target is the class (an int); otherwise the row of 8 values.

    Example:
        >>> q = QMNIST("data", what="test10k", download=True)
        >>> tuple(q.targets.shape), q[0][1]
        ((10000, 8), 7)
    """

    subsets = {"train": "train", "test": "test", "test10k": "test", "test50k": "test",
               "nist": "nist"}
    resources: dict[str, list[tuple[str, str]]] = {  # type: ignore[assignment]
        "train": [(_BASE + "qmnist-train-images-idx3-ubyte.gz",
                   "ed72d4157d28c017586c42bc6afe6370"),
                  (_BASE + "qmnist-train-labels-idx2-int.gz",
                   "0058f8dd561b90ffdd0f734c6a30e5e4")],
        "test": [(_BASE + "qmnist-test-images-idx3-ubyte.gz",
                  "1394631089c404de565df7b7aeaf9412"),
                 (_BASE + "qmnist-test-labels-idx2-int.gz",
                  "5b5b05890a5e13444e108efe57b788aa")],
        "nist": [(_BASE + "xnist-images-idx3-ubyte.xz", "7f124b3b8ab81486c9d8c2749c17f834"),
                 (_BASE + "xnist-labels-idx2-int.xz", "5ed0e788978e45d4a8bd4b7caec3d79d")],
    }

    def __init__(self, root: str | os.PathLike, what: str | None = None, compat: bool = True,
                 train: bool = True, **kwargs: Any) -> None:
        if what is None:
            what = "train" if train else "test"
        self.what = verify_str_arg(what, "what", tuple(self.subsets.keys()))
        self.compat = compat
        self.data_file = what + ".pt"
        self.training_file = self.data_file
        self.test_file = self.data_file
        super().__init__(root, train, **kwargs)

    def _file_path(self, which: int) -> str:
        url, _ = self.resources[self.subsets[self.what]][which]
        return os.path.join(self.raw_folder, os.path.splitext(os.path.basename(url))[0])

    @property
    def images_file(self) -> str:
        return self._file_path(0)

    @property
    def labels_file(self) -> str:
        return self._file_path(1)

    def _raw_names(self) -> list[str]:
        return [os.path.basename(self.images_file), os.path.basename(self.labels_file)]

    def _check_exists(self) -> bool:
        return all(check_integrity(path) for path in (self.images_file, self.labels_file))

    def _load_data(self):
        data = read_idx_file(self.images_file)
        if data.dtype != np.uint8:
            raise TypeError(f"data should be of dtype torch.uint8 instead of {data.dtype}")
        if data.ndim != 3:
            raise ValueError(f"data should have 3 dimensions instead of {data.ndim}")
        targets = read_idx_file(self.labels_file).astype(np.int64)
        if targets.ndim != 2:
            raise ValueError(f"targets should have 2 dimensions instead of {targets.ndim}")
        if self.what == "test10k":
            data, targets = data[:10000].copy(), targets[:10000].copy()
        elif self.what == "test50k":
            data, targets = data[10000:].copy(), targets[10000:].copy()
        return from_numpy(data), from_numpy(targets)

    def download(self) -> None:
        """Fetch and extract the files of ``what``'s subset unless they are already there.

        Example:
            >>> QMNIST("data", what="test", download=True).download()  # a no-op now
        """
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for url, md5 in self.resources[self.subsets[self.what]]:
            download_and_extract_archive(url, self.raw_folder, md5=md5)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img = Image.fromarray(self.data.numpy()[index])
        target = self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.compat:
            target = int(target[0])
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return f"Split: {self.what}"
