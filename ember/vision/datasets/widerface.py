"""WIDER FACE: face detection boxes with blur, expression, illumination, occlusion and pose."""

from __future__ import annotations

import os
from collections.abc import Callable
from os.path import abspath, expanduser
from typing import Any

import numpy as np

from ..._creation import from_numpy
from .utils import (
    download_and_extract_archive,
    download_file_from_google_drive,
    extract_archive,
    verify_str_arg,
)
from .vision import VisionDataset

__all__ = ["WIDERFace"]

# the ten integers of a box line, in file order
_BOX_FIELDS = 10


class WIDERFace(VisionDataset):
    """WIDER FACE from ``root/widerface/{wider_face_split,WIDER_train,WIDER_val,WIDER_test}``.

    A sample is ``(PIL image, target)``; for ``train``/``val`` the target is a dict of int64
    tensors, one row per face: ``bbox`` (N, 4) as x, y, width, height, then ``blur``,
    ``expression``, ``illumination``, ``occlusion``, ``pose``, ``invalid`` (N,). It is
    ``None`` for ``test``. The ``wider_face_{split}_bbx_gt.txt`` file repeats: an image path,
    a face count n, then max(n, 1) lines of ten integers; a malformed file raises
    ``RuntimeError`` naming the file and line.

    Example:
        >>> faces = WIDERFace("data", split="val")
        >>> img, target = faces[0]
        >>> target["bbox"].shape
        torch.Size([1, 4])
    """

    BASE_FOLDER = "widerface"
    FILE_LIST = [
        # (Google Drive file id, md5, file name)
        ("15hGDLhsx8bLgLcIRD5DhYt5iBxnjNF1M", "3fedf70df600953d25982bcd13d91ba2",
         "WIDER_train.zip"),
        ("1GUCogbp16PMGa39thoMMeWxp7Rp5oM8Q", "dfa7d7e790efa35df3788964cf0bbaea",
         "WIDER_val.zip"),
        ("1HIfDbVEWKmsYKJZm4lchTBDLW5N7dY5T", "e5d8f4248ed24c334bbd12f49c29dd40",
         "WIDER_test.zip"),
    ]
    ANNOTATIONS_FILE = (
        "http://shuoyang1213.me/WIDERFACE/support/bbx_annotation/wider_face_split.zip",
        "0e3767bcf0e326556d407bf5bff5d27c",
        "wider_face_split.zip",
    )

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root=os.path.join(root, self.BASE_FOLDER), transform=transform,
                         target_transform=target_transform)
        self.split = verify_str_arg(split, "split", ("train", "val", "test"))
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download and prepare it")
        self.img_info: list[dict[str, Any]] = []
        if self.split in ("train", "val"):
            self.parse_train_val_annotations_file()
        else:
            self.parse_test_annotations_file()

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        img = Image.open(self.img_info[index]["img_path"])  # a PIL image, as other datasets
        if self.transform is not None:
            img = self.transform(img)
        target = None if self.split == "test" else self.img_info[index]["annotations"]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.img_info)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"

    def _image_path(self, line: str) -> str:
        return abspath(expanduser(os.path.join(self.root, "WIDER_" + self.split, "images", line)))

    def parse_train_val_annotations_file(self) -> None:
        """Fill ``img_info`` from ``wider_face_{train,val}_bbx_gt.txt``."""
        filename = f"wider_face_{self.split}_bbx_gt.txt"
        filepath = os.path.join(self.root, "wider_face_split", filename)
        with open(filepath) as f:
            lines = [line.rstrip() for line in f]
        position = 0

        def bad(number: int, expected: str):
            got = repr(lines[number]) if number < len(lines) else "the end of the file"
            return RuntimeError(f"Error parsing annotation file {filepath}, line {number + 1}: "
                                f"expected {expected}, got {got}")

        while position < len(lines):
            name = lines[position]
            if not name and all(not rest for rest in lines[position:]):
                break  # trailing blank lines
            try:
                num_boxes = int(lines[position + 1])
            except (IndexError, ValueError):
                raise bad(position + 1, "the number of faces") from None
            if num_boxes < 0:
                raise bad(position + 1, "the number of faces")
            rows = []
            # an image without faces still has one (all-zero) box line, which is kept
            for number in range(position + 2, position + 2 + max(num_boxes, 1)):
                try:
                    values = [int(x) for x in lines[number].split(" ")]
                except (IndexError, ValueError):
                    values = []
                if len(values) != _BOX_FIELDS:
                    raise bad(number, f"{_BOX_FIELDS} space-separated integers (x y w h blur "
                                      "expression illumination invalid occlusion pose)")
                rows.append(values)
            labels = np.array(rows, dtype=np.int64)
            self.img_info.append({
                "img_path": self._image_path(name),
                "annotations": {
                    "bbox": from_numpy(labels[:, 0:4].copy()),  # x, y, width, height
                    "blur": from_numpy(labels[:, 4].copy()),
                    "expression": from_numpy(labels[:, 5].copy()),
                    "illumination": from_numpy(labels[:, 6].copy()),
                    "occlusion": from_numpy(labels[:, 7].copy()),
                    "pose": from_numpy(labels[:, 8].copy()),
                    "invalid": from_numpy(labels[:, 9].copy()),
                },
            })
            position += 2 + max(num_boxes, 1)

    def parse_test_annotations_file(self) -> None:
        """Fill ``img_info`` from ``wider_face_test_filelist.txt`` (image paths only)."""
        filepath = abspath(expanduser(
            os.path.join(self.root, "wider_face_split", "wider_face_test_filelist.txt")))
        with open(filepath) as f:
            for line in f:
                self.img_info.append({"img_path": self._image_path(line.rstrip())})

    def _check_integrity(self) -> bool:
        # the archives may be deleted once extracted: only the folders must be there
        all_files = self.FILE_LIST + [self.ANNOTATIONS_FILE]
        return all(os.path.exists(os.path.join(self.root, os.path.splitext(filename)[0]))
                   for _, _, filename in all_files)

    def download(self) -> None:
        """Fetch the three image zips (Google Drive) and the annotation zip, and extract them."""
        if self._check_integrity():
            return
        for file_id, md5, filename in self.FILE_LIST:
            download_file_from_google_drive(file_id, self.root, filename, md5)
            extract_archive(os.path.join(self.root, filename))
        download_and_extract_archive(url=self.ANNOTATIONS_FILE[0], download_root=self.root,
                                     md5=self.ANNOTATIONS_FILE[1])
