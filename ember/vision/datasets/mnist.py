"""MNIST and its look-alikes (Fashion-MNIST, KMNIST, EMNIST), read from IDX files."""

from __future__ import annotations

import gzip
import math
import os
import string
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ..._creation import from_numpy
from .utils import DownloadError, download_and_extract_archive, extract_archive
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "read_idx_file"]

# IDX type code (third byte of the file) -> element type; multi-byte values are big-endian
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


# EMNIST's largest file holds 547 MB; an IDX header promising more than this is refused
_IDX_MAX_BYTES = 1 << 33


def _read_at_most(fh, limit: int) -> bytes:
    """Up to ``limit`` bytes of ``fh``, read in 16 MiB pieces (memory grows with the data
    actually there, not with what a header claims)."""
    pieces, have = [], 0
    while have < limit:
        piece = fh.read(min(1 << 24, limit - have))
        if not piece:
            break
        pieces.append(piece)
        have += len(piece)
    return b"".join(pieces)


def read_idx_file(path: str) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed when ``path`` ends in ``.gz``).

    The layout is two zero bytes, a type code, the number of dimensions, one big-endian
    32-bit size per dimension, then the values. The result is a writable array in native byte
    order; a file that is unreadable, not IDX, or not exactly as long as its header says
    raises ``RuntimeError`` naming it.

    Example:
        >>> read_idx_file("data/MNIST/raw/t10k-labels-idx1-ubyte").shape
        (10000,)
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _IDX_TYPES:
                raise RuntimeError(f"{path} is not an IDX file: its first bytes are {head!r}, "
                                   "expected 0x00 0x00 <type code> <ndim>")
            kind, ndim = np.dtype(_IDX_TYPES[head[2]]), head[3]
            sizes = fh.read(4 * ndim)
            if len(sizes) < 4 * ndim:
                raise RuntimeError(f"IDX file {path} is truncated inside its header")
            shape = tuple(int.from_bytes(sizes[k:k + 4], "big") for k in range(0, 4 * ndim, 4))
            want = math.prod(shape) * kind.itemsize
            if want > _IDX_MAX_BYTES:
                raise RuntimeError(f"IDX file {path} claims shape {shape} ({want} bytes), more "
                                   f"than the {_IDX_MAX_BYTES} bytes any IDX data set holds: "
                                   "the file is corrupt or crafted")
            # read no further than the header promises (a gzip bomb stops here)
            blob = _read_at_most(fh, want + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise RuntimeError(f"Cannot read IDX file {path}: {err} (the file is corrupt or "
                           "truncated; delete it and download again)") from err
    if len(blob) != want:
        raise RuntimeError(f"IDX file {path} is truncated or corrupt: its header promises "
                           f"shape {shape} ({want} bytes of data) but it holds "
                           f"{'more than ' if len(blob) > want else ''}{min(len(blob), want)}"
                           " bytes")
    start = 0
    # astype copies, which also makes the array writable (frombuffer's view is read-only)
    values = np.frombuffer(blob, dtype=kind, offset=start).astype(kind.newbyteorder("="))
    return values.reshape(shape)


class MNIST(VisionDataset):
    """The MNIST handwritten digits (28x28 grey images, 10 classes).

    The four IDX files are looked up in ``root/<ClassName>/raw``, each either extracted or
    still gzipped. ``data`` is a ``uint8`` tensor (N, 28, 28), ``targets`` an ``int64``
    tensor; a sample is ``(PIL image in mode "L", int label)`` after the transforms. With
    ``download=True`` missing files are fetched from ``mirrors`` in turn.

    Example:
        >>> train = MNIST("data", train=True, download=True)
        >>> img, label = train[0]
        >>> tuple(train.data.shape), img.size, train.classes[label]
        ((60000, 28, 28), (28, 28), '5 - five')
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

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
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: k for k, name in enumerate(self.classes)}

    def _file_prefix(self) -> str:
        """The split's part of the file names (``train-...`` or ``t10k-...``)."""
        return "train" if self.train else "t10k"

    def _raw_names(self) -> list[str]:
        """The extracted names of every file this dataset needs."""
        return [name[:-3] if name.endswith(".gz") else name for name, _ in self.resources]

    def _find(self, name: str) -> str | None:
        """The path of ``name`` in the raw folder, extracted or gzipped (extracted wins)."""
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    def _check_exists(self) -> bool:
        return all(self._find(name) is not None for name in self._raw_names())

    def _load_data(self):
        prefix = self._file_prefix()
        image_path = self._find(f"{prefix}-images-idx3-ubyte")
        label_path = self._find(f"{prefix}-labels-idx1-ubyte")
        images, labels = read_idx_file(image_path), read_idx_file(label_path)
        if images.ndim != 3 or labels.ndim != 1:
            raise RuntimeError(f"{image_path} should hold (N, H, W) images and {label_path} "
                               f"(N,) labels; they hold shapes {images.shape} and "
                               f"{labels.shape}")
        if len(images) != len(labels):
            raise RuntimeError(f"{image_path} holds {len(images)} images but {label_path} "
                               f"holds {len(labels)} labels")
        return (from_numpy(images.astype(np.uint8, copy=False)),
                from_numpy(labels.astype(np.int64)))

    def download(self) -> None:
        """Fetch and extract the files into ``raw_folder`` unless they are all there.

        Each file is tried from every mirror in order; ``RuntimeError`` lists what went
        wrong with each when none of them delivers it.

        Example:
            >>> MNIST("data", download=True).download()  # a no-op once the files are there
        """
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            self._fetch_from_mirrors(filename, md5)

    def _fetch_from_mirrors(self, filename: str, md5: str | None) -> None:
        failures = []
        for mirror in self.mirrors:
            try:
                download_and_extract_archive(f"{mirror}{filename}", download_root=self.raw_folder,
                                             filename=filename, md5=md5)
                return
            except DownloadError as err:
                print(f"Failed to download (trying next):\n{err}")
                failures.append(f"  {err}")
        raise RuntimeError(f"Error downloading {filename} from every mirror of "
                           f"{type(self).__name__}:\n" + "\n".join(failures))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        # NumPy indexing: no tensor object is made per sample
        img = Image.fromarray(self.data.numpy()[index])
        target = int(self.targets.numpy()[index])
        fx, fy = self.transform, self.target_transform
        return (img if fx is None else fx(img)), (target if fy is None else fy(target))

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"

    # the attribute names of old torchvision releases, kept as aliases
    @property
    def train_labels(self):
        warnings.warn("train_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def test_labels(self):
        warnings.warn("test_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def train_data(self):
        warnings.warn("train_data has been renamed data", stacklevel=2)
        return self.data

    @property
    def test_data(self):
        warnings.warn("test_data has been renamed data", stacklevel=2)
        return self.data


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey photos of clothing in 10 classes; same interface and
    file names as ``MNIST``, kept in ``root/FashionMNIST/raw``.

    Example:
        >>> test = FashionMNIST("data", train=False, download=True)
        >>> test.classes[int(test.targets[0])]
        'Ankle boot'
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28x28 grey images of ten cursive Japanese characters; same interface
    as ``MNIST``, kept in ``root/KMNIST/raw``.

    Example:
        >>> KMNIST("data", download=True).classes[:3]
        ['o', 'ki', 'su']
    """

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
                 ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
                 ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
                 ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134")]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


def _emnist_splits() -> tuple[set, list, dict]:
    """The lower-case letters EMNIST folds into their capitals, all 62 classes, and the class
    list of each split."""
    folded = set("cijklmopsuvwxyz")
    everything = list(string.digits + string.ascii_uppercase + string.ascii_lowercase)
    merged = [c for c in everything if c not in folded]
    per_split = {"byclass": everything, "bymerge": merged, "balanced": merged,
                 "letters": ["N/A"] + list(string.ascii_lowercase),
                 "digits": list(string.digits), "mnist": list(string.digits)}
    return folded, everything, per_split


class EMNIST(MNIST):
    """Extended MNIST: handwritten digits and letters in six ``split``s.

    ``split`` is one of ``splits`` ("byclass", "bymerge", "balanced", "letters", "digits",
    "mnist"); the other arguments are those of ``MNIST``. The files,
    ``emnist-<split>-<train|test>-...-ubyte``, live in ``root/EMNIST/raw``; the download is
    one zip archive holding every split.

    Example:
        >>> letters = EMNIST("data", split="letters", download=True)
        >>> len(letters.classes)
        27
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _merged, _all_classes, classes_split_dict = _emnist_splits()

    def __init__(self, root: str | os.PathLike, split: str, **kwargs: Any) -> None:
        if not isinstance(split, str):
            raise ValueError(f"Expected type str for argument split, but got type "
                             f"{type(split)}.")
        if split not in self.splits:
            choices = "{" + ", ".join(repr(s) for s in self.splits) + "}"
            raise ValueError(f"Unknown value '{split}' for argument split. Valid values are "
                             f"{choices}.")
        self.split = split
        self.classes = self.classes_split_dict[split]
        super().__init__(root, **kwargs)

    def _file_prefix(self) -> str:
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    def _raw_names(self) -> list[str]:
        prefix = self._file_prefix()
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def download(self) -> None:
        """Fetch the zip of all splits and extract its gzipped IDX files into ``raw_folder``.

        Example:
            >>> EMNIST("data", split="digits", download=True).download()  # no-op when present
        """
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        inner = os.path.join(self.raw_folder, "gzip")
        for name in sorted(os.listdir(inner)):
            if name.endswith(".gz"):
                extract_archive(os.path.join(inner, name), self.raw_folder)
