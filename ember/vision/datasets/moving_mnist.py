"""Moving MNIST: 10,000 sequences of 20 frames with two digits bouncing in 64x64 pixels."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ..._creation import from_numpy
from .utils import download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["MovingMNIST"]


class MovingMNIST(VisionDataset):
    """Moving MNIST from ``root/MovingMNIST/mnist_test_seq.npy`` (uint8, frames x sequences x
    64 x 64). A sample is one sequence as a uint8 tensor (T, 1, H, W): all 20 frames, the
    first ``split_ratio`` (``split="train"``) or the rest (``"test"``).

    Example:
        >>> frames = MovingMNIST("data", split="train", split_ratio=10)[0]
        >>> frames.shape
        torch.Size([10, 1, 64, 64])
    """

    _URL = "http://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy"

    def __init__(self, root: str | os.PathLike, split: str | None = None, split_ratio: int = 10,
                 download: bool = False, transform: Callable | None = None) -> None:
        super().__init__(root, transform=transform)
        self._base_folder = os.path.join(self.root, self.__class__.__name__)
        self._filename = self._URL.split("/")[-1]
        if split is not None:
            verify_str_arg(split, "split", ("train", "test"))
        self.split = split
        if not isinstance(split_ratio, int):
            raise TypeError(f"`split_ratio` should be an integer, but got {type(split_ratio)}")
        if not 1 <= split_ratio <= 19:
            raise ValueError(f"`split_ratio` should be `1 <= split_ratio <= 19`, but got "
                             f"{split_ratio} instead.")
        self.split_ratio = split_ratio
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it.")
        path = os.path.join(self._base_folder, self._filename)
        data = np.load(path)  # no pickles: allow_pickle stays False
        if data.ndim != 4:
            raise RuntimeError(f"MovingMNIST: {path} holds an array of shape {data.shape}; "
                               "expected (frames, sequences, height, width)")
        if self.split == "train":
            data = data[:self.split_ratio]
        elif self.split == "test":
            data = data[self.split_ratio:]
        self.data = from_numpy(np.ascontiguousarray(data.transpose(1, 0, 2, 3)[:, :, None]))

    def __getitem__(self, idx: int):
        data = self.data[idx]
        if self.transform is not None:
            data = self.transform(data)
        return data

    def __len__(self) -> int:
        return len(self.data)

    def _check_exists(self) -> bool:
        return os.path.exists(os.path.join(self._base_folder, self._filename))

    def download(self) -> None:
        """Fetch ``mnist_test_seq.npy`` unless it is there."""
        if self._check_exists():
            return
        download_url(url=self._URL, root=self._base_folder, filename=self._filename,
                     md5="be083ec986bfe91a449d63653c411eb2")
