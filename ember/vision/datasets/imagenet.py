"""ImageNet 2012 (ILSVRC2012) classification, from the archives users download themselves."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from .folder import ImageFolder
from .matfile import load_mat
from .utils import check_integrity, extract_archive, verify_str_arg

__all__ = ["ImageNet", "load_meta_file", "parse_devkit_archive", "parse_train_archive",
           "parse_val_archive"]

ARCHIVE_META = {
    "train": ("ILSVRC2012_img_train.tar", "1d675b47d978889d74fa0da5fadfb00e"),
    "val": ("ILSVRC2012_img_val.tar", "29b22e2961454d5413ddabcf34fc5622"),
    "devkit": ("ILSVRC2012_devkit_t12.tar.gz", "fa75699e90414af021442c21a62c3abf"),
}

META_FILE = "meta.bin"


class ImageNet(ImageFolder):
    """ImageNet 2012 from ``root/<split>/<wnid>/*.JPEG``, prepared from the official archives.

    ImageNet cannot be downloaded automatically: place ``ILSVRC2012_devkit_t12.tar.gz`` and
    ``ILSVRC2012_img_train.tar`` or ``ILSVRC2012_img_val.tar`` in ``root``. On first use the
    devkit is parsed into ``root/meta.bin`` (a checkpoint ``torch.load`` reads too) and the
    split's archive is unpacked into ``root/<split>``. ``wnids``/``wnid_to_idx`` index the
    WordNet folders; ``classes`` holds each class's names (a tuple) and ``class_to_idx`` maps
    every name to its index. Other keyword arguments go to :class:`ImageFolder`.

    Example:
        >>> val = ImageNet("data/imagenet", split="val")
        >>> val.classes[0]
        ('tench', 'Tinca tinca')
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", **kwargs: Any) -> None:
        root = self.root = os.path.expanduser(root)
        self.split = verify_str_arg(split, "split", ("train", "val"))
        self.parse_archives()
        wnid_to_classes = load_meta_file(self.root)[0]
        super().__init__(self.split_folder, **kwargs)
        self.root = root
        self.wnids = self.classes
        self.wnid_to_idx = self.class_to_idx
        self.classes = [wnid_to_classes[wnid] for wnid in self.wnids]
        self.class_to_idx = {name: idx for idx, names in enumerate(self.classes)
                             for name in names}

    def parse_archives(self) -> None:
        """Parse the devkit into ``meta.bin`` and unpack the split's archive, where needed."""
        if not check_integrity(os.path.join(self.root, META_FILE)):
            parse_devkit_archive(self.root)
        if not os.path.isdir(self.split_folder):
            if self.split == "train":
                parse_train_archive(self.root)
            else:
                parse_val_archive(self.root)

    @property
    def split_folder(self) -> str:
        """The folder the split's images are unpacked into (``root/<split>``)."""
        return os.path.join(self.root, self.split)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"


def load_meta_file(root: str | os.PathLike, file: str | None = None
                   ) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """``(wnid_to_classes, val_wnids)`` from the meta file ``parse_devkit_archive`` wrote.

    Example:
        >>> wnid_to_classes, val_wnids = load_meta_file("data/imagenet")
    """
    from ... import serialization

    path = os.path.join(root, META_FILE if file is None else file)
    if not check_integrity(path):
        raise RuntimeError(f"The meta file {path} is not present in the root directory or is "
                           "corrupted. This file is automatically created by the ImageNet "
                           "dataset.")
    return serialization.load(path, weights_only=True)


def _verify_archive(root: str | os.PathLike, file: str, md5: str) -> None:
    if not check_integrity(os.path.join(root, file), md5):
        raise RuntimeError(f"The archive {file} is not present in the root directory or is "
                           f"corrupted. You need to download it externally and place it in "
                           f"{root}.")


def _plain_name(wnid: Any, where: str) -> str:
    # wnids become folder names: refuse anything that could point outside the split folder
    if not isinstance(wnid, str) or not wnid or wnid in (".", "..") or "/" in wnid or (
            os.sep in wnid) or "\0" in wnid:
        raise RuntimeError(f"{where}: {wnid!r} is not a WordNet id usable as a folder name")
    return wnid


def _parse_meta_mat(devkit_root: str) -> tuple[dict[int, str], dict[str, tuple[str, ...]]]:
    path = os.path.join(devkit_root, "data", "meta.mat")
    synsets = load_mat(path, squeeze_me=True).get("synsets")
    names = getattr(getattr(synsets, "dtype", None), "names", None) or ()
    if not {"ILSVRC2012_ID", "WNID", "words", "num_children"} <= set(names):
        raise RuntimeError(f"{path} holds no 'synsets' struct array with fields "
                           "ILSVRC2012_ID, WNID, words and num_children")
    idx_to_wnid, wnid_to_classes = {}, {}
    for synset in synsets.reshape(-1):
        if synset["num_children"] != 0:  # an inner node of the WordNet tree, not a class
            continue
        wnid = _plain_name(synset["WNID"], path)
        idx_to_wnid[synset["ILSVRC2012_ID"]] = wnid
        wnid_to_classes[wnid] = tuple(str(synset["words"]).split(", "))
    return idx_to_wnid, wnid_to_classes


def parse_devkit_archive(root: str | os.PathLike, file: str | None = None) -> None:
    """Read the devkit archive's class names and validation labels into ``root/meta.bin``.

    Example:
        >>> parse_devkit_archive("data/imagenet")  # reads ILSVRC2012_devkit_t12.tar.gz
    """
    from ... import serialization

    name, md5 = ARCHIVE_META["devkit"]
    file = name if file is None else file
    _verify_archive(root, file, md5)
    tmp_dir = tempfile.mkdtemp()
    try:
        extract_archive(os.path.join(root, file), tmp_dir)
        devkit_root = os.path.join(tmp_dir, "ILSVRC2012_devkit_t12")
        idx_to_wnid, wnid_to_classes = _parse_meta_mat(devkit_root)
        truth = os.path.join(devkit_root, "data", "ILSVRC2012_validation_ground_truth.txt")
        with open(truth) as f:
            val_idcs = [int(line) for line in f]
        val_wnids = [idx_to_wnid[idx] for idx in val_idcs]
        serialization.save((wnid_to_classes, val_wnids), os.path.join(root, META_FILE))
    finally:
        shutil.rmtree(tmp_dir)


def parse_train_archive(root: str | os.PathLike, file: str | None = None,
                        folder: str = "train") -> None:
    """Unpack the training archive (one tar per class) into ``root/<folder>/<wnid>/``.

    Example:
        >>> parse_train_archive("data/imagenet")  # reads ILSVRC2012_img_train.tar
    """
    name, md5 = ARCHIVE_META["train"]
    file = name if file is None else file
    _verify_archive(root, file, md5)
    train_root = os.path.join(root, folder)
    extract_archive(os.path.join(root, file), train_root)
    for archive in [os.path.join(train_root, entry) for entry in os.listdir(train_root)]:
        extract_archive(archive, os.path.splitext(archive)[0], remove_finished=True)


def parse_val_archive(root: str | os.PathLike, file: str | None = None,
                      wnids: list[str] | None = None, folder: str = "val") -> None:
    """Unpack the validation archive and sort its images into ``root/<folder>/<wnid>/``
    (``wnids``, one per image in name order, default to the meta file's).

    Example:
        >>> parse_val_archive("data/imagenet")  # reads ILSVRC2012_img_val.tar
    """
    name, md5 = ARCHIVE_META["val"]
    file = name if file is None else file
    if wnids is None:
        wnids = load_meta_file(root)[1]
    for wnid in set(wnids):
        _plain_name(wnid, "parse_val_archive")
    _verify_archive(root, file, md5)
    val_root = os.path.join(root, folder)
    extract_archive(os.path.join(root, file), val_root)
    images = sorted(os.path.join(val_root, image) for image in os.listdir(val_root))
    for wnid in set(wnids):
        os.mkdir(os.path.join(val_root, wnid))
    for wnid, image in zip(wnids, images):
        shutil.move(image, os.path.join(val_root, wnid, os.path.basename(image)))

