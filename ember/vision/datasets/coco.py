"""MS COCO detection and captions, read from the official JSON annotation files."""

from __future__ import annotations

import itertools
import json
import os
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .vision import VisionDataset

__all__ = ["CocoDetection", "CocoCaptions"]


class _CocoIndex:
    """The part of ``pycocotools.coco.COCO`` that the datasets and most scripts use.

    ``dataset`` is the parsed JSON; ``imgs``, ``anns`` and ``cats`` map ids to entries and
    ``imgToAnns``/``catToImgs`` group them, in file order, as pycocotools does.
    """

    def __init__(self, annotation_file: str | os.PathLike) -> None:
        with open(annotation_file) as f:
            self.dataset = json.load(f)
        if not isinstance(self.dataset, dict):
            raise TypeError(f"annotation file format {type(self.dataset)} not supported")
        self.anns, self.cats, self.imgs = {}, {}, {}
        self.imgToAnns, self.catToImgs = defaultdict(list), defaultdict(list)
        for ann in self.dataset.get("annotations", []):
            self.imgToAnns[ann["image_id"]].append(ann)
            self.anns[ann["id"]] = ann
        for img in self.dataset.get("images", []):
            self.imgs[img["id"]] = img
        for cat in self.dataset.get("categories", []):
            self.cats[cat["id"]] = cat
        if "annotations" in self.dataset and "categories" in self.dataset:
            for ann in self.dataset["annotations"]:
                self.catToImgs[ann["category_id"]].append(ann["image_id"])

    @staticmethod
    def _as_list(ids) -> list:
        return list(ids) if hasattr(ids, "__iter__") and hasattr(ids, "__len__") else [ids]

    def getAnnIds(self, imgIds=(), catIds=(), areaRng=(), iscrowd=None) -> list:
        img_ids, cat_ids = self._as_list(imgIds), self._as_list(catIds)
        if img_ids:
            anns = list(itertools.chain.from_iterable(
                self.imgToAnns[i] for i in img_ids if i in self.imgToAnns))
        else:
            anns = self.dataset.get("annotations", [])
        if cat_ids:
            anns = [a for a in anns if a["category_id"] in cat_ids]
        if areaRng:
            anns = [a for a in anns if areaRng[0] < a["area"] < areaRng[1]]
        if iscrowd is not None:
            return [a["id"] for a in anns if a["iscrowd"] == iscrowd]
        return [a["id"] for a in anns]

    def getCatIds(self, catNms=(), supNms=(), catIds=()) -> list:
        cats = self.dataset.get("categories", [])
        names, supers, ids = (self._as_list(v) for v in (catNms, supNms, catIds))
        cats = [c for c in cats if (not names or c["name"] in names)
                and (not supers or c["supercategory"] in supers)
                and (not ids or c["id"] in ids)]
        return [c["id"] for c in cats]

    def getImgIds(self, imgIds=(), catIds=()) -> list:
        img_ids, cat_ids = self._as_list(imgIds), self._as_list(catIds)
        if not img_ids and not cat_ids:
            return list(self.imgs.keys())
        ids = set(img_ids)
        for i, cat in enumerate(cat_ids):
            if i == 0 and not ids:
                ids = set(self.catToImgs[cat])
            else:
                ids &= set(self.catToImgs[cat])
        return list(ids)

    def loadAnns(self, ids=()) -> list:
        return [self.anns[i] for i in self._as_list(ids)]

    def loadCats(self, ids=()) -> list:
        return [self.cats[i] for i in self._as_list(ids)]

    def loadImgs(self, ids=()) -> list:
        return [self.imgs[i] for i in self._as_list(ids)]


def _coco_index(annotation_file: str | os.PathLike):
    """pycocotools' ``COCO`` where it is installed (as torchvision uses), else ember's own."""
    try:
        from pycocotools.coco import COCO
    except ImportError:
        return _CocoIndex(annotation_file)
    return COCO(annotation_file)


class CocoDetection(VisionDataset):
    """MS COCO detection: ``(RGB PIL image, list of annotation dicts)`` per image.

    ``root`` holds the images (``file_name`` of each entry of ``annFile``'s ``images``);
    ``annFile`` is an ``instances_*.json``. ``ids`` are the image ids in sorted order; the
    target is the image's annotations (``bbox`` as [x, y, w, h], ``category_id``,
    ``segmentation``, ...) in file order. ``coco`` is pycocotools' ``COCO`` when that is
    installed (torchvision requires it) and otherwise ember's reader of the same JSON with
    ``getAnnIds``, ``loadAnns``, ``loadImgs``, ``getCatIds``, ``loadCats``, ``getImgIds``.

    Example:
        >>> coco = CocoDetection("coco/val2017", "coco/annotations/instances_val2017.json")
        >>> img, anns = coco[0]
        >>> anns[0]["bbox"], anns[0]["category_id"]
        ([473.07, 395.93, 38.65, 28.67], 18)
    """

    def __init__(self, root: str | os.PathLike, annFile: str,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms, transform, target_transform)
        self.coco = _coco_index(annFile)
        self.ids = list(sorted(self.coco.imgs.keys()))

    def _load_image(self, id: int):
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        path = self.coco.loadImgs(id)[0]["file_name"]
        return Image.open(os.path.join(self.root, path)).convert("RGB")

    def _load_target(self, id: int) -> list[Any]:
        return self.coco.loadAnns(self.coco.getAnnIds(id))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not isinstance(index, int):
            raise ValueError(f"Index must be of type integer, got {type(index)} instead.")
        id = self.ids[index]
        image, target = self._load_image(id), self._load_target(id)
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    def __len__(self) -> int:
        return len(self.ids)


class CocoCaptions(CocoDetection):
    """MS COCO captions: ``(RGB PIL image, list of caption strings)`` per image.

    Same arguments as ``CocoDetection`` with a ``captions_*.json`` file.

    Example:
        >>> cap = CocoCaptions("coco/val2017", "coco/annotations/captions_val2017.json")
        >>> img, captions = cap[0]
        >>> captions[0]
        'A black Honda motorcycle parked in front of a garage.'
    """

    def _load_target(self, id: int) -> list[str]:
        return [ann["caption"] for ann in super()._load_target(id)]
