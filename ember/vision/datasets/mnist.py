"""MNIST-family datasets read from IDX files: MNIST, FashionMNIST, KMNIST, EMNIST."""

from __future__ import annotations

import gzip
import os
import string
from collections.abc import Callable
from typing import Any

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor
from .utils import DownloadError, download_and_extract_archive, extract_archive
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "read_idx_file"]

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx_file(path: str) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a native-endian array, checking its header.

    Example:
        >>> read_idx_file("data/MNIST/raw/t10k-labels-idx1-ubyte").shape
        (10000,)
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise RuntimeError(f"Cannot read IDX file {path}: {e} (the file is corrupt or "
                           "truncated; delete it and download again)") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise RuntimeError(f"{path} is not an IDX file: its first bytes are {raw[:4]!r}, "
                           "expected 0x00 0x00 <type code> <ndim>")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise RuntimeError(f"IDX file {path} is truncated inside its header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise RuntimeError(f"IDX file {path} is truncated or corrupt: its header promises shape "
                           f"{shape} ({expected} bytes of data) but it holds "
                           f"{len(raw) - header} bytes")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(VisionDataset):
    """The MNIST digits: ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.

    ``data`` is a uint8 tensor (N, 28, 28), ``targets`` an int64 tensor; samples are PIL images
    (mode ``L``) passed through ``transform``.

    Example:
        >>> train = MNIST("data", train=True, download=True, transform=transforms.ToTensor())
        >>> img, label = train[0]
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it "
                               f"(looked for {', '.join(self._raw_names())} in "
                               f"{self.raw_folder})")
        self.data, self.targets = self._load_data()

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {_class: i for i, _class in enumerate(self.classes)}

    def _file_prefix(self) -> str:
        return "train" if self.train else "t10k"

    def _raw_names(self) -> list[str]:
        return [os.path.splitext(name)[0] for name, _ in self.resources]

    def _find(self, name: str) -> str | None:
        """The raw file, extracted or still gzipped."""
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    def _check_exists(self) -> bool:
        return all(self._find(n) is not None for n in self._raw_names())

    def _load_data(self) -> tuple[Tensor, Tensor]:
        prefix = self._file_prefix()
        image_path = self._find(f"{prefix}-images-idx3-ubyte")
        label_path = self._find(f"{prefix}-labels-idx1-ubyte")
        images = read_idx_file(image_path)
        labels = read_idx_file(label_path)
        if images.ndim != 3 or labels.ndim != 1:
            raise RuntimeError(f"{image_path} should hold (N, H, W) images and {label_path} "
                               f"(N,) labels; they hold shapes {images.shape} and {labels.shape}")
        if len(images) != len(labels):
            raise RuntimeError(f"{image_path} holds {len(images)} images but {label_path} holds "
                               f"{len(labels)} labels")
        return (Tensor._make(images.astype(np.uint8, copy=False), D.uint8),
                Tensor._make(labels.astype(np.int64), D.int64))

    def download(self) -> None:
        """Fetch the raw files from the first mirror that answers (present files are kept)."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            if self._find(os.path.splitext(filename)[0]) is not None:
                continue
            errors = []
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                try:
                    download_and_extract_archive(url, download_root=self.raw_folder,
                                                 filename=filename, md5=md5)
                except DownloadError as error:
                    print(f"Failed to download (trying next):\n{error}")
                    errors.append(str(error))
                    continue
                break
            else:
                raise RuntimeError(f"Error downloading {filename} from every mirror of "
                                   f"{self.__class__.__name__}:\n  " + "\n  ".join(errors))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        data = self.data.numpy() if isinstance(self.data, Tensor) else np.asarray(self.data)
        img = Image.fromarray(data[index], mode="L")
        target = int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        split = "Train" if self.train is True else "Test"
        return f"Split: {split}"

    # torchvision's deprecated aliases
    @property
    def train_labels(self):
        return self.targets

    @property
    def test_labels(self):
        return self.targets

    @property
    def train_data(self):
        return self.data

    @property
    def test_data(self):
        return self.data


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST, laid out as MNIST under ``root/FashionMNIST/raw``.

    Example:
        >>> test = FashionMNIST("data", train=False, download=True)
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST (cursive Japanese), laid out as MNIST under ``root/KMNIST/raw``."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """Extended MNIST: ``split`` is one of byclass, bymerge, balanced, letters, digits, mnist.

    Reads ``root/EMNIST/raw/emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte[.gz]``
    (the files inside NIST's ``gzip.zip``).
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _merged = set("cijklmopsuvwxyz")
    _all_classes = list(string.digits + string.ascii_uppercase + string.ascii_lowercase)
    classes_split_dict = {
        "byclass": _all_classes,
        "bymerge": sorted(set(_all_classes) - _merged),
        "balanced": sorted(set(_all_classes) - _merged),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str | os.PathLike, split: str, **kwargs: Any) -> None:
        if split not in self.splits:
            raise ValueError(f"Unknown value '{split}' for argument split. Valid values are "
                             f"{{{', '.join(repr(s) for s in self.splits)}}}.")
        self.split = split
        self.classes = self.classes_split_dict[split]
        super().__init__(root, **kwargs)

    def _file_prefix(self) -> str:
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    def _raw_names(self) -> list[str]:
        prefix = self._file_prefix()
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def download(self) -> None:
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in os.listdir(gzip_folder):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.raw_folder)

    def extra_repr(self) -> str:
        return f"Split: {self.split}, {'Train' if self.train else 'Test'}"
