"""Pascal VOC 2007-2012: segmentation masks (PNG) and detection annotations (XML)."""

from __future__ import annotations

import collections
import os
from collections.abc import Callable
from typing import Any

try:  # defusedxml, where installed, also refuses entity expansion bombs in old expat builds
    from defusedxml.ElementTree import parse as _parse_xml
except ImportError:
    from xml.etree.ElementTree import parse as _parse_xml

from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["VOCSegmentation", "VOCDetection"]

DATASET_YEAR_DICT = {
    "2012": {"url": "https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
             "filename": "VOCtrainval_11-May-2012.tar",
             "md5": "6cd6e144f989b92b3379bac3b3de84fd",
             "base_dir": os.path.join("VOCdevkit", "VOC2012")},
    "2011": {"url": "https://thor.robots.ox.ac.uk/pascal/VOC/voc2011/VOCtrainval_25-May-2011.tar",
             "filename": "VOCtrainval_25-May-2011.tar",
             "md5": "6c3384ef61512963050cb5d687e5bf1e",
             "base_dir": os.path.join("TrainVal", "VOCdevkit", "VOC2011")},
    "2010": {"url": "https://thor.robots.ox.ac.uk/pascal/VOC/voc2010/VOCtrainval_03-May-2010.tar",
             "filename": "VOCtrainval_03-May-2010.tar",
             "md5": "da459979d0c395079b5c75ee67908abb",
             "base_dir": os.path.join("VOCdevkit", "VOC2010")},
    "2009": {"url": "https://thor.robots.ox.ac.uk/pascal/VOC/voc2009/VOCtrainval_11-May-2009.tar",
             "filename": "VOCtrainval_11-May-2009.tar",
             "md5": "a3e00b113cfcfebf17e343f59da3caa1",
             "base_dir": os.path.join("VOCdevkit", "VOC2009")},
    # torchvision names the 2008 archive after 2012's, so the same name is kept here
    "2008": {"url": "https://thor.robots.ox.ac.uk/pascal/VOC/voc2008/VOCtrainval_14-Jul-2008.tar",
             "filename": "VOCtrainval_11-May-2012.tar",
             "md5": "2629fa636546599198acfcfbfcf1904a",
             "base_dir": os.path.join("VOCdevkit", "VOC2008")},
    "2007": {"url": "https://thor.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtrainval_06-Nov-2007.tar",
             "filename": "VOCtrainval_06-Nov-2007.tar",
             "md5": "c52e279531787c972589f7e41ab4ae64",
             "base_dir": os.path.join("VOCdevkit", "VOC2007")},
    "2007-test": {"url": "https://thor.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtest_06-Nov-2007.tar",
                  "filename": "VOCtest_06-Nov-2007.tar",
                  "md5": "b6e924de25625d8de591ea690078ad9f",
                  "base_dir": os.path.join("VOCdevkit", "VOC2007")},
}


class _VOCBase(VisionDataset):
    _SPLITS_DIR: str
    _TARGET_DIR: str
    _TARGET_FILE_EXT: str

    def __init__(self, root: str | os.PathLike, year: str = "2012", image_set: str = "train",
                 download: bool = False, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms, transform, target_transform)
        self.year = verify_str_arg(year, "year",
                                   valid_values=[str(yr) for yr in range(2007, 2013)])
        valid_image_sets = ["train", "trainval", "val"] + (["test"] if year == "2007" else [])
        self.image_set = verify_str_arg(image_set, "image_set", valid_image_sets)
        info = DATASET_YEAR_DICT["2007-test" if year == "2007" and image_set == "test" else year]
        self.url, self.filename, self.md5 = info["url"], info["filename"], info["md5"]
        voc_root = os.path.join(self.root, info["base_dir"])
        if download:
            download_and_extract_archive(self.url, self.root, filename=self.filename,
                                         md5=self.md5)
        if not os.path.isdir(voc_root):
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        split_file = os.path.join(voc_root, "ImageSets", self._SPLITS_DIR, image_set + ".txt")
        with open(split_file) as f:
            file_names = [x.strip() for x in f.readlines()]
        image_dir = os.path.join(voc_root, "JPEGImages")
        self.images = [os.path.join(image_dir, x + ".jpg") for x in file_names]
        target_dir = os.path.join(voc_root, self._TARGET_DIR)
        self.targets = [os.path.join(target_dir, x + self._TARGET_FILE_EXT) for x in file_names]

    def __len__(self) -> int:
        return len(self.images)


class VOCSegmentation(_VOCBase):
    """Pascal VOC segmentation: ``(RGB image, class-index mask)`` pairs as PIL images.

    The files live in ``root/VOCdevkit/VOC<year>`` (``JPEGImages``, ``SegmentationClass``,
    ``ImageSets/Segmentation/<image_set>.txt``). ``year`` is "2007" to "2012"; ``image_set``
    "train", "trainval" or "val" (and "test" for 2007). The mask is the palette PNG as
    stored (mode "P": class indices, 255 on object borders). ``transforms`` receives both.

    Example:
        >>> voc = VOCSegmentation("data", year="2012", image_set="val", download=True)
        >>> img, mask = voc[0]
        >>> img.mode, mask.mode
        ('RGB', 'P')
    """

    _SPLITS_DIR = "Segmentation"
    _TARGET_DIR = "SegmentationClass"
    _TARGET_FILE_EXT = ".png"

    @property
    def masks(self) -> list[str]:
        return self.targets

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img = Image.open(self.images[index]).convert("RGB")
        target = Image.open(self.masks[index])
        if self.transforms is not None:
            img, target = self.transforms(img, target)
        return img, target


class VOCDetection(_VOCBase):
    """Pascal VOC detection: ``(RGB image, annotation dict)`` pairs.

    Same layout and arguments as ``VOCSegmentation``, with ``Annotations/<id>.xml`` and
    ``ImageSets/Main``. The target is the XML tree as nested dicts (``parse_voc_xml``):
    ``{"annotation": {"size": {...}, "object": [{"name": "dog", "bndbox": {"xmin": "48",
    ...}}, ...]}}``, every value a string, ``object`` always a list.

    Example:
        >>> voc = VOCDetection("data", year="2007", image_set="test", download=True)
        >>> img, target = voc[0]
        >>> target["annotation"]["object"][0]["name"]
        'dog'
    """

    _SPLITS_DIR = "Main"
    _TARGET_DIR = "Annotations"
    _TARGET_FILE_EXT = ".xml"

    @property
    def annotations(self) -> list[str]:
        return self.targets

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # Pillow is optional for ember; only reading samples needs it

        img = Image.open(self.images[index]).convert("RGB")
        target = self.parse_voc_xml(_parse_xml(self.annotations[index]).getroot())
        if self.transforms is not None:
            img, target = self.transforms(img, target)
        return img, target

    @staticmethod
    def parse_voc_xml(node) -> dict[str, Any]:
        """An XML element as nested dicts: a repeated child becomes a list, a leaf its stripped
        text; under ``annotation``, ``object`` is always a list.

        Example:
            >>> import xml.etree.ElementTree as ET
            >>> VOCDetection.parse_voc_xml(ET.fromstring("<size><width>5</width></size>"))
            {'size': {'width': '5'}}
        """
        voc_dict: dict[str, Any] = {}
        children = list(node)
        if children:
            merged: dict[str, Any] = collections.defaultdict(list)
            for child in map(VOCDetection.parse_voc_xml, children):
                for key, value in child.items():
                    merged[key].append(value)
            if node.tag == "annotation":
                merged["object"] = [merged["object"]]
            voc_dict = {node.tag: {key: v[0] if len(v) == 1 else v
                                   for key, v in merged.items()}}
        if node.text:
            text = node.text.strip()
            if not children:
                voc_dict[node.tag] = text
        return voc_dict
