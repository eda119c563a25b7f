"""The Street View House Numbers (SVHN) digits, read from the release's ``.mat`` files."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .matfile import load_mat
from .utils import check_integrity, download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["SVHN"]


class SVHN(VisionDataset):
    """The SVHN cropped digits (32x32 RGB, 10 classes) from ``root/<split>_32x32.mat``.

    ``split`` is "train", "test" or "extra". The release labels the digit 0 as 10; here it is
    0, so ``labels`` (an ``int64`` array) lies in [0, 9]. ``data`` is a ``uint8`` array of
    shape (N, 3, 32, 32); a sample is ``(PIL RGB image, int label)`` after the transforms.
    torchvision reads the file with SciPy; ember's own ``.mat`` reader needs no SciPy. With
    ``download=True`` the file is fetched unless it is there with the right md5.

    Example:
        >>> test = SVHN("data", split="test", download=True)
        >>> img, label = test[0]
        >>> test.data.shape, img.size
        ((26032, 3, 32, 32), (32, 32))
    """

    split_list = {
        "train": ["http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
                  "train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"],
        "test": ["http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
                 "test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"],
        "extra": ["http://ufldl.stanford.edu/housenumbers/extra_32x32.mat",
                  "extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7"],
    }

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", tuple(self.split_list.keys()))
        self.url, self.filename, self.file_md5 = self.split_list[split]
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        path = os.path.join(self.root, self.filename)
        mat = load_mat(path)
        if "X" not in mat or "y" not in mat or mat["X"].ndim != 4:
            raise RuntimeError(f"{path} should hold 'X' (32, 32, 3, N) and 'y' (N, 1); it "
                               f"holds {sorted(k for k in mat if not k.startswith('__'))}")
        self.labels = mat["y"].astype(np.int64).squeeze()
        np.place(self.labels, self.labels == 10, 0)  # the release's 10 is the digit 0
        self.data = np.transpose(mat["X"], (3, 2, 0, 1))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img = Image.fromarray(np.transpose(self.data[index], (1, 2, 0)))
        target = int(self.labels[index])
        fx, fy = self.transform, self.target_transform
        return (img if fx is None else fx(img)), (target if fy is None else fy(target))

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        return check_integrity(os.path.join(self.root, self.filename),
                               self.split_list[self.split][2])

    def download(self) -> None:
        """Fetch the split's ``.mat`` file into ``root`` unless it is there with the right md5.

        Example:
            >>> SVHN("data", split="test", download=True).download()  # a no-op now
        """
        download_url(self.url, self.root, self.filename, self.split_list[self.split][2])

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
