"""CIFAR-10 and CIFAR-100 read from the pickled batches of the official Python release."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from .utils import check_integrity, download_and_extract_archive
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]

# the globals a pickled NumPy array needs (NumPy 1.x and 2.x module names; _frombuffer for
# pickle protocol 5), and _codecs.encode, which protocol 2 uses for bytes
_ARRAY_GLOBALS = {(core + sub, name) for core in ("numpy.core.", "numpy._core.")
                  for sub, name in (("multiarray", "_reconstruct"), ("numeric", "_frombuffer"))}
_ARRAY_GLOBALS |= {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds dicts, lists, strings and NumPy arrays and nothing else."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ARRAY_GLOBALS:
            raise _RefusedGlobal(f"it names the global {module}.{name}")
        return super().find_class(module, name)


class CIFAR10(VisionDataset):
    """The CIFAR-10 images (32x32 RGB, 10 classes) from ``root/cifar-10-batches-py``.

    ``train`` picks the five training batches (50000 images) or the test batch (10000).
    ``data`` is a ``uint8`` array of shape (N, 32, 32, 3), ``targets`` a list of class
    indices, ``classes`` the class names; a sample is ``(PIL image, class index)`` after the
    transforms. With ``download=True`` the archive is fetched and unpacked unless the batches
    are already there with the right checksums. A missing or damaged file raises
    ``RuntimeError`` naming it.

    Example:
        >>> train = CIFAR10("data", train=True, download=True)
        >>> img, label = train[0]
        >>> train.data.shape, train.classes[label]
        ((50000, 32, 32, 3), 'frog')
    """

    base_folder = "cifar-10-batches-py"
    filename = "cifar-10-python.tar.gz"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [["data_batch_1", "c99cafc152244af753f735de768cd75f"],
                  ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
                  ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
                  ["data_batch_4", "634d18415352ddfa80567beed471001a"],
                  ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"]]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    # the label list's name in each batch dict ("fine_labels" in CIFAR-100)
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
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               f"download it ({problem})")
        folder = os.path.join(self.root, self.base_folder)
        images, self.targets = [], []
        for name, _ in (self.train_list if train else self.test_list):
            pixels, labels = self._read_batch(folder, name)
            images.append(pixels)
            self.targets += labels
        # (N, 3, 32, 32) planes viewed channel-last, as PIL wants them; no copy is made
        self.data = np.concatenate(images).transpose(0, 2, 3, 1)
        self._load_meta()

    def _read_batch(self, folder: str, name: str) -> tuple[np.ndarray, list]:
        """The images, shaped (n, 3, 32, 32), and the labels of one pickled batch."""
        entry = self._unpickle(os.path.join(folder, name))
        key = self.label_key if self.label_key in entry else "fine_labels"
        try:
            pixels = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = [int(v) for v in entry[key]]
        except (KeyError, ValueError) as err:
            raise RuntimeError(f"CIFAR batch {name} in {folder} is corrupt: {err!r} (expected a "
                               f"dict with 'data' of shape (N, 3072) and "
                               f"'{self.label_key}')") from err
        if len(labels) != len(pixels):
            raise RuntimeError(f"CIFAR batch {name} holds {len(pixels)} images but "
                               f"{len(labels)} labels")
        return pixels, labels

    @staticmethod
    def _unpickle(path: str) -> dict:
        """Load one pickled file of the release (written by Python 2, hence latin-1 text).

        The release holds only dicts, lists, strings and NumPy arrays, so only the globals that
        rebuild an array are resolved: a file that names any other (``os.system`` in a crafted
        batch) is refused instead of run, as ember refuses such checkpoints."""
        with open(path, "rb") as fh:
            try:
                return _ArrayOnlyUnpickler(fh, encoding="latin1").load()
            except _RefusedGlobal as err:
                raise RuntimeError(f"Refusing to read CIFAR file {path}: {err} (the official "
                                   "batches hold only arrays, lists and strings; delete the "
                                   "file and download it again)") from None
            except Exception as err:  # any decoding failure means a damaged file
                raise RuntimeError(f"Cannot read CIFAR file {path}: {err!r} (the file is corrupt "
                                   "or truncated; delete it and download again)") from err

    def _load_meta(self) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        if not check_integrity(path, self.meta["md5"]):
            raise RuntimeError("Dataset metadata file not found or corrupted. You can use "
                               f"download=True to download it ({path})")
        self.classes = self._unpickle(path)[self.meta["key"]]
        self.class_to_idx = {name: k for k, name in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img, target = Image.fromarray(self.data[index]), self.targets[index]
        fx, fy = self.transform, self.target_transform
        return (img if fx is None else fx(img)), (target if fy is None else fy(target))

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity_problem(self) -> str | None:
        """Why the batch files are unusable (the first missing or mismatching one), or None."""
        folder = os.path.join(self.root, self.base_folder)
        for name, md5 in self.train_list + self.test_list:
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                return f"missing {path}"
            if not check_integrity(path, md5):
                return f"md5 of {path} is not {md5}"
        return None

    def _check_integrity(self) -> bool:
        return self._check_integrity_problem() is None

    def download(self) -> None:
        """Fetch and unpack the archive into ``root`` unless intact batches are already there.

        Example:
            >>> CIFAR10("data", download=True).download()  # a no-op the second time
        """
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename,
                                     md5=self.tgz_md5)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """The CIFAR-100 images (32x32 RGB, 100 fine classes) from ``root/cifar-100-python``.

    Same interface as ``CIFAR10``; ``targets`` are the fine labels and ``classes`` their names.

    Example:
        >>> test = CIFAR100("data", train=False, download=True)
        >>> len(test), len(test.classes)
        (10000, 100)
    """

    base_folder = "cifar-100-python"
    filename = "cifar-100-python.tar.gz"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names",
            "md5": "7973b15100ade9c7d40fb424638fde48"}
    label_key = "fine_labels"
