"""Caltech 101 (object images with outline annotations in ``.mat`` files) and Caltech 256."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

from .matfile import load_mat
from .utils import download_and_extract_archive, extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["Caltech101", "Caltech256"]


class Caltech101(VisionDataset):
    """Caltech 101 from ``root/caltech101`` (``101_ObjectCategories/<class>/image_NNNN.jpg``).

    ``target_type`` is "category" (the class index over the sorted folder names, without
    ``BACKGROUND_Google``), "annotation" (the object's outline, a float64 array (2, K) read
    from ``Annotations``), or a list of both (a tuple). The image is the PIL image as
    stored (some are greyscale). ``root`` becomes ``root/caltech101`` and is created.
    torchvision reads the ``.mat`` outlines with SciPy; ember needs none.

    Example:
        >>> caltech = Caltech101("data", download=True)
        >>> len(caltech), caltech.categories[0]
        (8677, 'Faces')
    """

    def __init__(self, root: str | os.PathLike, target_type: list[str] | str = "category",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(os.path.join(root, "caltech101"), transform=transform,
                         target_transform=target_transform)
        os.makedirs(self.root, exist_ok=True)
        if isinstance(target_type, str):
            target_type = [target_type]
        self.target_type = [verify_str_arg(t, "target_type", ("category", "annotation"))
                            for t in target_type]
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        self.categories = sorted(os.listdir(os.path.join(self.root, "101_ObjectCategories")))
        self.categories.remove("BACKGROUND_Google")  # not a real class
        # the annotation folders of four classes have other names
        name_map = {"Faces": "Faces_2", "Faces_easy": "Faces_3",
                    "Motorbikes": "Motorbikes_16", "airplanes": "Airplanes_Side_2"}
        self.annotation_categories = [name_map.get(c, c) for c in self.categories]
        self.index: list[int] = []
        self.y = []
        for i, c in enumerate(self.categories):
            n = len(os.listdir(os.path.join(self.root, "101_ObjectCategories", c)))
            self.index.extend(range(1, n + 1))
            self.y.extend(n * [i])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img = Image.open(os.path.join(self.root, "101_ObjectCategories",
                                      self.categories[self.y[index]],
                                      f"image_{self.index[index]:04d}.jpg"))
        target: Any = []
        for t in self.target_type:
            if t == "category":
                target.append(self.y[index])
            else:
                data = load_mat(os.path.join(self.root, "Annotations",
                                             self.annotation_categories[self.y[index]],
                                             f"annotation_{self.index[index]:04d}.mat"))
                target.append(data["obj_contour"])
        target = tuple(target) if len(target) > 1 else target[0]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _check_integrity(self) -> bool:
        return os.path.exists(os.path.join(self.root, "101_ObjectCategories"))

    def __len__(self) -> int:
        return len(self.index)

    def download(self) -> None:
        """Fetch the zip, unpack its two ``.tar.gz`` archives into ``root`` and tidy up.

        Example:
            >>> Caltech101("data", download=True).download()  # a no-op the second time
        """
        if self._check_integrity():
            return
        download_and_extract_archive(
            "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip",
            download_root=self.root, filename="caltech-101.zip",
            md5="3138e1922a9193bfa496528edbbc45d0")
        gzip_folder = os.path.join(self.root, "caltech-101")
        for gzip_file in os.listdir(gzip_folder):
            if gzip_file.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, gzip_file), self.root)
        shutil.rmtree(gzip_folder)
        os.remove(os.path.join(self.root, "caltech-101.zip"))

    def extra_repr(self) -> str:
        return f"Target type: {self.target_type}"


class Caltech256(VisionDataset):
    """Caltech 256 from ``root/caltech256/256_ObjectCategories/<NNN.name>/<NNN>_<MMMM>.jpg``.

    Classes are the sorted folder names (257 with the clutter class); a sample is
    ``(PIL image as stored, int class)``. ``root`` becomes ``root/caltech256`` and is created.

    Example:
        >>> caltech = Caltech256("data", download=True)
        >>> caltech.categories[0]
        '001.ak47'
    """

    def __init__(self, root: str, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(os.path.join(root, "caltech256"), transform=transform,
                         target_transform=target_transform)
        os.makedirs(self.root, exist_ok=True)
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        folder = os.path.join(self.root, "256_ObjectCategories")
        self.categories = sorted(os.listdir(folder))
        self.index: list[int] = []
        self.y = []
        for i, c in enumerate(self.categories):
            n = len([item for item in os.listdir(os.path.join(folder, c))
                     if item.endswith(".jpg")])
            self.index.extend(range(1, n + 1))
            self.y.extend(n * [i])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img = Image.open(os.path.join(self.root, "256_ObjectCategories",
                                      self.categories[self.y[index]],
                                      f"{self.y[index] + 1:03d}_{self.index[index]:04d}.jpg"))
        target = self.y[index]
        fx, fy = self.transform, self.target_transform
        return (img if fx is None else fx(img)), (target if fy is None else fy(target))

    def _check_integrity(self) -> bool:
        return os.path.exists(os.path.join(self.root, "256_ObjectCategories"))

    def __len__(self) -> int:
        return len(self.index)

    def download(self) -> None:
        """Fetch and unpack ``256_ObjectCategories.tar`` unless it is already unpacked.

        Example:
            >>> Caltech256("data", download=True).download()  # a no-op the second time
        """
        if self._check_integrity():
            return
        download_and_extract_archive(
            "https://data.caltech.edu/records/nyy15-4j048/files/256_ObjectCategories.tar",
            self.root, filename="256_ObjectCategories.tar",
            md5="67b4f42ca05d46448c6bb8ecd2220f6d")
