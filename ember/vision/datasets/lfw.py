"""Labeled Faces in the Wild: face identities (LFWPeople) and same/different pairs (LFWPairs)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .folder import default_loader
from .utils import check_integrity, download_and_extract_archive, download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["LFWPairs", "LFWPeople"]

# LFW has 13,233 images; a list file claiming far more is corrupt (and would take hours)
_MAX_ENTRIES = 10**6


class _LFW(VisionDataset):
    base_folder = "lfw-py"
    download_url_prefix = "http://vis-www.cs.umass.edu/lfw/"
    file_dict = {
        "original": ("lfw", "lfw.tgz", "a17d05bd522c52d84eca14327a23d494"),
        "funneled": ("lfw_funneled", "lfw-funneled.tgz", "1b42dfed7d15c9b2dd63d5e5840c86ad"),
        "deepfunneled": ("lfw-deepfunneled", "lfw-deepfunneled.tgz",
                         "68331da3eb755a505a502b5aacb3c201"),
    }
    checksums = {
        "pairs.txt": "9f1ba174e4e1c508ff7cdf10ac338a7d",
        "pairsDevTest.txt": "5132f7440eb68cf58910c8a45a2ac10b",
        "pairsDevTrain.txt": "4f27cbf15b2da4a85c1907eb4181ad21",
        "people.txt": "450f0863dd89e85e73936a6d71a3474b",
        "peopleDevTest.txt": "e4bf5be0a43b5dcd9dc5ccfcb8fb19c5",
        "peopleDevTrain.txt": "54eaac34beb6d042ed3a7d883e247a21",
        "lfw-names.txt": "a6d0a479bd074669f656265a6e693f6d",
    }
    annot_file = {"10fold": "", "train": "DevTrain", "test": "DevTest"}
    names = "lfw-names.txt"

    def __init__(self, root: str | os.PathLike, split: str, image_set: str, view: str,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(os.path.join(root, self.base_folder), transform=transform,
                         target_transform=target_transform)
        self.image_set = verify_str_arg(image_set.lower(), "image_set", self.file_dict.keys())
        images_dir, self.filename, self.md5 = self.file_dict[self.image_set]
        self.view = verify_str_arg(view.lower(), "view", ["people", "pairs"])
        self.split = verify_str_arg(split.lower(), "split", ["10fold", "train", "test"])
        self.labels_file = f"{self.view}{self.annot_file[self.split]}.txt"
        self.data: list[Any] = []
        if download:  # the message is torchvision's, run-together sentences included
            raise ValueError(
                "LFW dataset is no longer available for automatic download."
                "Please download the dataset manually and place it in the specified directory."
                "A commonly used mirror is available at: "
                "https://www.kaggle.com/datasets/jessicali9530/lfw-dataset")
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        self.images_dir = os.path.join(self.root, images_dir)
        self._loader = loader

    def _check_integrity(self) -> bool:
        if not (check_integrity(os.path.join(self.root, self.filename), self.md5)
                and check_integrity(os.path.join(self.root, self.labels_file),
                                    self.checksums[self.labels_file])):
            return False
        if self.view == "people":
            return check_integrity(os.path.join(self.root, self.names), self.checksums[self.names])
        return True

    def download(self) -> None:
        """Fetch the image archive and list files (the original server is gone)."""
        if self._check_integrity():
            return
        download_and_extract_archive(f"{self.download_url_prefix}{self.filename}", self.root,
                                     filename=self.filename, md5=self.md5)
        download_url(f"{self.download_url_prefix}{self.labels_file}", self.root)
        if self.view == "people":
            download_url(f"{self.download_url_prefix}{self.names}", self.root)

    def _get_path(self, identity: str, no: int | str) -> str:
        return os.path.join(self.images_dir, identity, f"{identity}_{int(no):04d}.jpg")

    def _count(self, text: str, what: str, limit: int = _MAX_ENTRIES) -> int:
        value = int(text)
        if not 0 <= value <= limit:
            raise RuntimeError(f"{os.path.join(self.root, self.labels_file)} claims {value} "
                               f"{what}; the file is corrupt")
        return value

    def extra_repr(self) -> str:
        return f"Alignment: {self.image_set}\nSplit: {self.split}"

    def __len__(self) -> int:
        return len(self.data)


class LFWPeople(_LFW):
    """LFW faces by identity, from ``root/lfw-py``: the image folder of ``image_set``
    ("original", "funneled" or "deepfunneled"), ``people[DevTrain|DevTest].txt`` for
    ``split`` ("10fold", "train", "test") and ``lfw-names.txt``; md5s are checked.

    A sample is ``(image, identity index)``; ``class_to_idx`` maps names to indices. The
    original server is gone: ``download=True`` raises ``ValueError``.

    Example:
        >>> people = LFWPeople("data", split="test")
        >>> image, identity = people[0]
    """

    def __init__(self, root: str | os.PathLike, split: str = "10fold",
                 image_set: str = "funneled", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, split, image_set, "people", transform, target_transform, download,
                         loader=loader)
        self.class_to_idx = self._get_classes()
        self.data, self.targets = self._get_people()

    def _get_people(self) -> tuple[list[str], list[int]]:
        data, targets = [], []
        with open(os.path.join(self.root, self.labels_file)) as f:
            lines = f.readlines()
        n_folds, s = (self._count(lines[0], "folds", len(lines)), 1) if (
            self.split == "10fold") else (1, 0)
        for _ in range(n_folds):
            n_lines = self._count(lines[s], "people", len(lines))
            people = [line.strip().split("\t") for line in lines[s + 1:s + n_lines + 1]]
            s += n_lines + 1
            for identity, num_imgs in people:
                for num in range(1, self._count(num_imgs, "images") + 1):
                    data.append(self._get_path(identity, num))
                    targets.append(self.class_to_idx[identity])
                if len(data) > _MAX_ENTRIES:
                    raise RuntimeError(f"{os.path.join(self.root, self.labels_file)} lists "
                                       f"more than {_MAX_ENTRIES} images; the file is corrupt")
        return data, targets

    def _get_classes(self) -> dict[str, int]:
        with open(os.path.join(self.root, self.names)) as f:
            names = [line.strip().split()[0] for line in f.readlines()]
        return {name: i for i, name in enumerate(names)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, target = self._loader(self.data[index]), self.targets[index]
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def extra_repr(self) -> str:
        return super().extra_repr() + f"\nClasses (identities): {len(self.class_to_idx)}"


class LFWPairs(_LFW):
    """LFW face pairs, from ``root/lfw-py``: the image folder of ``image_set`` and
    ``pairs[DevTrain|DevTest].txt`` for ``split`` ("10fold", "train", "test"); md5s are
    checked.

    A sample is ``(image1, image2, same)`` with ``same`` 1 for one identity, 0 for two;
    ``pair_names`` holds each pair's identities. ``download=True`` raises ``ValueError``.

    Example:
        >>> pairs = LFWPairs("data", split="test")
        >>> left, right, same = pairs[0]
    """

    def __init__(self, root: str | os.PathLike, split: str = "10fold",
                 image_set: str = "funneled", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, split, image_set, "pairs", transform, target_transform, download,
                         loader=loader)
        self.pair_names, self.data, self.targets = self._get_pairs(self.images_dir)

    def _get_pairs(self, images_dir: str
                   ) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[int]]:
        pair_names, data, targets = [], [], []
        with open(os.path.join(self.root, self.labels_file)) as f:
            lines = f.readlines()
        if self.split == "10fold":
            n_folds, n_pairs = lines[0].split("\t")
            n_folds, n_pairs = (self._count(n_folds, "folds", len(lines)),
                                self._count(n_pairs, "pairs per fold", len(lines)))
        else:
            n_folds, n_pairs = 1, self._count(lines[0], "pairs", len(lines))
        s = 1
        for _ in range(n_folds):
            matched = [line.strip().split("\t") for line in lines[s:s + n_pairs]]
            unmatched = [line.strip().split("\t") for line in lines[s + n_pairs:s + 2 * n_pairs]]
            s += 2 * n_pairs
            for pair in matched:
                pair_names.append((pair[0], pair[0]))
                data.append((self._get_path(pair[0], pair[1]), self._get_path(pair[0], pair[2])))
                targets.append(1)
            for pair in unmatched:
                pair_names.append((pair[0], pair[2]))
                data.append((self._get_path(pair[0], pair[1]), self._get_path(pair[2], pair[3])))
                targets.append(0)
        return pair_names, data, targets

    def __getitem__(self, index: int) -> tuple[Any, Any, int]:
        first, second = self.data[index]
        first, second = self._loader(first), self._loader(second)
        target = self.targets[index]
        if self.transform is not None:
            first, second = self.transform(first), self.transform(second)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return first, second, target
