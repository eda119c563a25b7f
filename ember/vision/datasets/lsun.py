"""LSUN scene categories, stored as one LMDB database per category and split."""

from __future__ import annotations

import io
import os
import pickle
import string
from collections.abc import Callable, Iterable
from typing import Any

from .utils import verify_str_arg
from .vision import VisionDataset

__all__ = ["LSUN", "LSUNClass"]

_CATEGORIES = ["bedroom", "bridge", "church_outdoor", "classroom", "conference_room",
               "dining_room", "kitchen", "living_room", "restaurant", "tower"]
_SPLITS = ["train", "val", "test"]


def _quoted(values: Iterable) -> str:
    return "'" + "', '".join(str(v) for v in values) + "'"


def _open_lmdb(root: str):
    try:
        import lmdb
    except ImportError as err:  # as torchvision: the LMDB reader is a separate package
        raise ModuleNotFoundError("LSUN is stored as LMDB databases, which need the lmdb "
                                  "package: pip install lmdb", name="lmdb") from err
    return lmdb.open(root, max_readers=1, readonly=True, lock=False, readahead=False,
                     meminit=False)


class LSUNClass(VisionDataset):
    """One LSUN database (``root`` is its ``<category>_<split>_lmdb`` folder): ``(RGB PIL
    image, None)`` per entry. Needs the ``lmdb`` package. The keys are cached, as
    torchvision does, in ``_cache_<letters of root>`` in the working directory.

    Example:
        >>> bedrooms = LSUNClass("data/lsun/bedroom_val_lmdb")
        >>> img, _ = bedrooms[0]
    """

    def __init__(self, root: str, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.env = _open_lmdb(root)
        super().__init__(root, transform=transform, target_transform=target_transform)
        with self.env.begin(write=False) as txn:
            self.length = txn.stat()["entries"]
        cache_file = "_cache_" + "".join(c for c in root if c in string.ascii_letters)
        if os.path.isfile(cache_file):
            with open(cache_file, "rb") as f:
                self.keys = pickle.load(f)
        else:
            with self.env.begin(write=False) as txn:
                self.keys = list(txn.cursor().iternext(keys=True, values=False))
            with open(cache_file, "wb") as f:
                pickle.dump(self.keys, f)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        with self.env.begin(write=False) as txn:
            imgbuf = txn.get(self.keys[index])
        img = Image.open(io.BytesIO(imgbuf)).convert("RGB")
        target = None
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return self.length


class LSUN(VisionDataset):
    """LSUN from ``root/<category>_<split>_lmdb`` folders: ``(image, category index)``.

    ``classes`` is ``"train"``, ``"val"`` (all ten categories of that split), ``"test"`` or
    a list such as ``["bedroom_train", "church_outdoor_train"]``; the target is the position
    in that list. Needs the ``lmdb`` package (``pip install lmdb``).

    Example:
        >>> lsun = LSUN("data/lsun", classes=["bedroom_val", "tower_val"])
        >>> img, label = lsun[0]
    """

    def __init__(self, root: str | os.PathLike, classes: str | list[str] = "train",
                 transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.classes = self._verify_classes(classes)
        self.dbs = [LSUNClass(root=os.path.join(root, f"{c}_lmdb"), transform=transform)
                    for c in self.classes]
        self.indices = []
        count = 0
        for db in self.dbs:
            count += len(db)
            self.indices.append(count)
        self.length = count

    def _verify_classes(self, classes: str | list[str]) -> list[str]:
        if isinstance(classes, str) and classes in _SPLITS:
            return [classes] if classes == "test" else [f"{c}_{classes}" for c in _CATEGORIES]
        if isinstance(classes, str):  # an unknown split name
            verify_str_arg(classes, "classes", _SPLITS)
        if not isinstance(classes, Iterable):
            raise ValueError(f"Expected type str or Iterable for argument classes, but got type "
                             f"{type(classes)}.")
        classes = list(classes)
        for c in classes:
            verify_str_arg(c, custom_msg="Expected type str for elements in argument classes, "
                                         f"but got type {type(c)}.")
            parts = c.split("_")
            category, split = "_".join(parts[:-1]), parts[-1]
            verify_str_arg(category, valid_values=_CATEGORIES,
                           custom_msg=f"Unknown value '{category}' for LSUN class. Valid values "
                                      f"are {{{_quoted(_CATEGORIES)}}}.")
            verify_str_arg(split, valid_values=_SPLITS,
                           custom_msg=f"Unknown value '{split}' for postfix. Valid values are "
                                      f"{{{_quoted(_SPLITS)}}}.")
        return classes

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        target, start = 0, 0
        for end in self.indices:  # the database holding index, and where it starts
            if index < end:
                break
            target += 1
            start = end
        if self.target_transform is not None:
            target = self.target_transform(target)
        img, _ = self.dbs[target][index - start]
        return img, target

    def __len__(self) -> int:
        return self.length

    def extra_repr(self) -> str:
        return f"Classes: {self.classes}"
