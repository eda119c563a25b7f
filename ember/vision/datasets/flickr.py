"""Flickr8k and Flickr30k: images with five crowd-sourced captions each."""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from .folder import default_loader
from .vision import VisionDataset

__all__ = ["Flickr8k", "Flickr30k"]


class Flickr8kParser(HTMLParser):
    """Reads the captions out of the Flickr8k annotation web page.

    Inside the page's ``<table>``, an ``<a>`` names an image (its URL's second-to-last part
    is the Flickr id, matched to ``root/<id>_*.jpg``) and each following ``<li>`` is one of
    its captions; ``annotations`` maps the image path to its caption list.

    Example:
        >>> parser = Flickr8kParser("flickr8k/images")
        >>> parser.feed(open("flickr8k/captions.html").read())
        >>> len(parser.annotations)
        8091
    """

    def __init__(self, root: str | os.PathLike) -> None:
        super().__init__()
        self.root = root
        self.annotations: dict[str, list[str]] = {}
        self.in_table = False
        self.current_tag: str | None = None
        self.current_img: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.current_tag = tag
        if tag == "table":
            self.in_table = True

    def handle_endtag(self, tag: str) -> None:
        self.current_tag = None
        if tag == "table":
            self.in_table = False

    def handle_data(self, data: str) -> None:
        if not self.in_table:
            return
        if data == "Image Not Found":
            self.current_img = None
        elif self.current_tag == "a":
            parts = data.split("/")
            if len(parts) < 2:
                raise RuntimeError(f"Flickr8k annotation file: the link text {data!r} is not an "
                                   "image URL of the form .../<flickr id>/")
            pattern = os.path.join(self.root, parts[-2] + "_*.jpg")
            matches = glob.glob(pattern)
            if not matches:
                raise FileNotFoundError(f"Flickr8k: no image matches {pattern} (named by "
                                        f"{data!r} in the annotation file); check root")
            self.current_img = matches[0]
            self.annotations[self.current_img] = []
        elif self.current_tag == "li" and self.current_img:
            self.annotations[self.current_img].append(data.strip())


class _CaptionedImages(VisionDataset):
    """``(image, list of captions)`` per id of ``ids``; subclasses fill ``annotations``."""

    def _image_path(self, img_id: str) -> str:
        return img_id

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img_id = self.ids[index]
        img = self.loader(self._image_path(img_id))
        if self.transform is not None:
            img = self.transform(img)
        target = self.annotations[img_id]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.ids)


class Flickr8k(_CaptionedImages):
    """Flickr8k: ``(image, list of captions)`` per image, in sorted path order.

    ``root`` holds the ``<flickr id>_<secret>.jpg`` images; ``ann_file`` is the dataset's
    HTML caption page (see ``Flickr8kParser``). ``loader`` reads an image path (PIL RGB by
    default).

    Example:
        >>> flickr = Flickr8k("flickr8k/images", "flickr8k/captions.html")
        >>> img, captions = flickr[0]
        >>> captions[0]
        'A child in a pink dress is climbing up a set of stairs in an entry way .'
    """

    def __init__(self, root: str | os.PathLike, ann_file: str,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.ann_file = os.path.expanduser(ann_file)
        parser = Flickr8kParser(self.root)
        with open(self.ann_file) as fh:
            parser.feed(fh.read())
        self.annotations = parser.annotations
        self.ids = list(sorted(self.annotations.keys()))
        self.loader = loader


class Flickr30k(_CaptionedImages):
    """Flickr30k: ``(image, list of captions)`` per image, in sorted file-name order.

    ``ann_file`` is the tab-separated token file: ``<image file>#<n>\\t<caption>`` per line;
    images are read from ``root/<image file>``. A line that is not two tab-separated fields
    raises ``ValueError`` (as torchvision's unpacking does) naming the file and line.

    Example:
        >>> flickr = Flickr30k("flickr30k-images", "results_20130124.token")
        >>> img, captions = flickr[0]
        >>> len(captions)
        5
    """

    def __init__(self, root: str, ann_file: str, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.ann_file = os.path.expanduser(ann_file)
        self.annotations = defaultdict(list)
        with open(self.ann_file) as fh:
            for number, line in enumerate(fh, 1):
                fields = line.strip().split("\t")
                if len(fields) != 2:
                    raise ValueError(f"Flickr30k annotation file {self.ann_file}, line "
                                       f"{number}: expected '<image>#<n><TAB><caption>', got "
                                       f"{line.rstrip()!r}")
                img_id, caption = fields
                self.annotations[img_id[:-2]].append(caption)  # drop the "#<n>" suffix
        self.ids = list(sorted(self.annotations.keys()))
        self.loader = loader

    def _image_path(self, img_id: str) -> str:
        return os.path.join(self.root, img_id)
