"""The Semantic Boundaries Dataset: VOC 2011 images with class boundaries and masks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

import numpy as np

from .matfile import load_mat
from .utils import download_and_extract_archive, download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["SBDataset"]


class SBDataset(VisionDataset):
    """SBD from ``root``: ``img/<id>.jpg``, ``cls/<id>.mat`` and the ``train.txt``,
    ``val.txt`` (or ``train_noval.txt``) id lists. A sample is ``(RGB PIL image, target)``:
    with ``mode="boundaries"`` a (20, H, W) array of the 20 classes' boundary maps, with
    ``mode="segmentation"`` a PIL image of class indices. torchvision reads the ``.mat`` files
    with SciPy; ember reads them itself (sparse boundaries included), so SciPy is not needed.

    Example:
        >>> sbd = SBDataset("data/sbd", image_set="val", mode="segmentation")
        >>> img, mask = sbd[0]
        >>> mask.mode
        'L'
    """

    url = ("https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/"
           "semantic_contours/benchmark.tgz")
    md5 = "82b4d87ceb2ed10f6038a1cba92111cb"
    filename = "benchmark.tgz"
    voc_train_url = "https://www.cs.cornell.edu/~bharathh/train_noval.txt"
    voc_split_filename = "train_noval.txt"
    voc_split_md5 = "79bff800c5f0b1ec6b21080a3c066722"

    def __init__(self, root: str | os.PathLike, image_set: str = "train",
                 mode: str = "boundaries", download: bool = False,
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        self.image_set = verify_str_arg(image_set, "image_set", ("train", "val", "train_noval"))
        self.mode = verify_str_arg(mode, "mode", ("segmentation", "boundaries"))
        self.num_classes = 20
        sbd_root = self.root
        image_dir = os.path.join(sbd_root, "img")
        mask_dir = os.path.join(sbd_root, "cls")
        if download:
            download_and_extract_archive(self.url, self.root, filename=self.filename,
                                         md5=self.md5)
            extracted_ds_root = os.path.join(self.root, "benchmark_RELEASE", "dataset")
            for f in ["cls", "img", "inst", "train.txt", "val.txt"]:
                shutil.move(os.path.join(extracted_ds_root, f), sbd_root)
            if self.image_set == "train_noval":
                download_url(self.voc_train_url, sbd_root, self.voc_split_filename,
                             self.voc_split_md5)
        if not os.path.isdir(sbd_root):
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        with open(os.path.join(sbd_root, image_set.rstrip("\n") + ".txt")) as fh:
            file_names = [x.strip() for x in fh.readlines()]
        self.images = [os.path.join(image_dir, x + ".jpg") for x in file_names]
        self.masks = [os.path.join(mask_dir, x + ".mat") for x in file_names]
        self._get_target = (self._get_segmentation_target if self.mode == "segmentation"
                            else self._get_boundaries_target)

    def _gtcls(self, filepath: str):
        mat = load_mat(filepath)
        if "GTcls" not in mat or mat["GTcls"].dtype.names is None:
            raise RuntimeError(f"SBD: {filepath} has no GTcls struct")
        return mat["GTcls"][0]

    def _get_segmentation_target(self, filepath: str):
        from PIL import Image

        return Image.fromarray(self._gtcls(filepath)["Segmentation"][0])

    def _get_boundaries_target(self, filepath: str) -> np.ndarray:
        boundaries = self._gtcls(filepath)["Boundaries"][0]
        if boundaries.shape[0] < self.num_classes:
            raise RuntimeError(f"SBD: {filepath} has boundaries for {boundaries.shape[0]} "
                               f"classes, expected {self.num_classes}")
        return np.concatenate([np.expand_dims(boundaries[i][0].toarray(), axis=0)
                               for i in range(self.num_classes)], axis=0)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        img = Image.open(self.images[index]).convert("RGB")
        target = self._get_target(self.masks[index])
        if self.transforms is not None:
            img, target = self.transforms(img, target)
        return img, target

    def __len__(self) -> int:
        return len(self.images)

    def extra_repr(self) -> str:
        return f"Image set: {self.image_set}\nMode: {self.mode}"
