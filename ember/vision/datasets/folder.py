"""Datasets read from a folder tree with one sub-folder per class (``root/<class>/<file>``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .vision import VisionDataset

__all__ = ["IMG_EXTENSIONS", "DatasetFolder", "ImageFolder", "default_loader", "pil_loader",
           "find_classes", "make_dataset", "has_file_allowed_extension"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    """Whether ``filename`` ends, ignoring its case, with ``extensions`` (one or several).

    The extensions are compared as given, so write them in lower case.

    Example:
        >>> has_file_allowed_extension("cat.JPG", (".jpg", ".png"))
        True
    """
    suffixes = extensions if isinstance(extensions, str) else tuple(extensions)
    return filename.lower().endswith(suffixes)


def is_image_file(filename: str) -> bool:
    """Whether ``filename`` has one of the image extensions in ``IMG_EXTENSIONS``.

    Example:
        >>> is_image_file("photo.png"), is_image_file("notes.txt")
        (True, False)
    """
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """The sub-folder names of ``directory`` in sorted order, and each name's class index.

    Raises ``FileNotFoundError`` when ``directory`` is missing or has no sub-folder.

    Example:
        >>> find_classes("data/train")  # data/train/cat/..., data/train/dog/...
        (['cat', 'dog'], {'cat': 0, 'dog': 1})
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Couldn't find the dataset folder {directory}")
    with os.scandir(directory) as entries:
        names = sorted(entry.name for entry in entries if entry.is_dir())
    if not names:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}: expected one "
                                "sub-folder per class, e.g. root/cat/1.png, root/dog/2.png")
    return names, {name: k for k, name in enumerate(names)}


def _files_under(folder: str) -> list[str]:
    """Every file below ``folder`` (symlinked folders followed), ordered by the full path of
    the folder holding it, then by file name."""
    found = []
    for where, _, files in sorted(os.walk(folder, followlinks=True)):
        found += [os.path.join(where, name) for name in sorted(files)]
    return found


def make_dataset(directory: str | os.PathLike, class_to_idx: dict[str, int] | None = None,
                 extensions: str | tuple[str, ...] | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """The ``(path, class_index)`` samples of a class-per-folder tree.

    Files are kept when they have one of ``extensions`` or pass ``is_valid_file`` (give
    exactly one of the two). ``class_to_idx`` defaults to ``find_classes(directory)``; a class
    without a single kept file raises ``FileNotFoundError`` unless ``allow_empty`` is True.

    Example:
        >>> make_dataset("data/train", extensions=(".png",))
        [('data/train/cat/1.png', 0), ('data/train/dog/7.png', 1)]
    """
    directory = os.path.expanduser(directory)
    if class_to_idx is None:
        class_to_idx = find_classes(directory)[1]
    elif not class_to_idx:  # an empty mapping could only ever give an empty dataset
        raise ValueError("'class_to_index' must have at least one entry to collect any samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the "
                         "same time")
    keep = is_valid_file
    if keep is None:
        def keep(path: str) -> bool:
            return has_file_allowed_extension(path, extensions)

    samples = []
    missing = set()
    for name in sorted(class_to_idx):
        label = class_to_idx[name]
        folder = os.path.join(directory, name)
        hits = [(path, label) for path in _files_under(folder) if keep(path)] \
            if os.path.isdir(folder) else []
        if not hits:
            missing.add(name)
        samples += hits
    if missing and not allow_empty:
        message = f"Found no valid file for the classes {', '.join(sorted(missing))}. "
        if extensions is not None:
            shown = extensions if isinstance(extensions, str) else ", ".join(extensions)
            message += f"Supported extensions are: {shown}"
        raise FileNotFoundError(message)
    return samples


def pil_loader(path: str):
    """Read the image at ``path`` with Pillow, converted to RGB and fully loaded.

    Example:
        >>> pil_loader("data/train/cat/1.png").mode
        'RGB'
    """
    from PIL import Image  # Pillow is optional for ember; only image loading needs it

    with open(path, "rb") as fh:
        # convert() reads the pixels now, while the file is still open
        return Image.open(fh).convert("RGB")


def default_loader(path: str):
    """The loader ``ImageFolder`` uses by default: ``pil_loader`` (ember reads images with
    Pillow whatever ``set_image_backend`` chose).

    Example:
        >>> default_loader("data/train/cat/1.png").size
        (32, 32)
    """
    return pil_loader(path)


class DatasetFolder(VisionDataset):
    """Samples from a class-per-folder tree, ``root/<class>/<...>/<file>``, read by ``loader``.

    Classes are the sorted sub-folder names of ``root`` and get indices 0, 1, ...; the files of
    a class are searched recursively and kept by ``extensions`` or ``is_valid_file``
    (exactly one of them). Subclasses may override ``find_classes`` and ``make_dataset`` to
    read other layouts. Attributes: ``classes``, ``class_to_idx``, ``samples`` (a list of
    ``(path, class_index)``), ``targets`` (the class indices) and ``extensions``.

    Example:
        >>> ds = DatasetFolder("data/train", loader=lambda p: open(p).read(),
        ...                    extensions=(".txt",))
        >>> text, label = ds[0]
    """

    def __init__(self, root: str | os.PathLike, loader: Callable[[str], Any],
                 extensions: tuple[str, ...] | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, class_to_idx=self.class_to_idx,
                                         extensions=extensions, is_valid_file=is_valid_file,
                                         allow_empty=allow_empty)
        self.targets = [label for _, label in self.samples]
        self.loader = loader
        self.extensions = extensions

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        """The ``(path, class_index)`` samples under ``directory``; see the module function
        ``make_dataset``, except that ``class_to_idx`` is required here.

        Example:
            >>> DatasetFolder.make_dataset("data/train", {"cat": 0}, extensions=".png")
            [('data/train/cat/1.png', 0)]
        """
        if class_to_idx is None:
            # a None here would silently fall back to find_classes, bypassing an override
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions=extensions,
                            is_valid_file=is_valid_file, allow_empty=allow_empty)

    def find_classes(self, directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
        """The class names under ``directory`` and their indices (the module ``find_classes``).

        Example:
            >>> ds.find_classes("data/train")
            (['cat', 'dog'], {'cat': 0, 'dog': 1})
        """
        return find_classes(directory)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, label = self.samples[index]
        sample = self.loader(path)
        fx, fy = self.transform, self.target_transform
        return (sample if fx is None else fx(sample)), (label if fy is None else fy(label))

    def __len__(self) -> int:
        return len(self.samples)


class ImageFolder(DatasetFolder):
    """Images in a class-per-folder tree (``root/dog/1.png``, ``root/cat/2.jpg``, ...).

    Files are kept by their extension (``IMG_EXTENSIONS``) unless ``is_valid_file`` decides,
    and read with ``loader`` (Pillow, RGB, by default). ``imgs`` is the same list as
    ``samples``.

    Example:
        >>> ds = ImageFolder("data/train", transform=transforms.ToTensor())
        >>> ds.classes, len(ds)
        (['cat', 'dog'], 120)
    """

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        extensions = IMG_EXTENSIONS if is_valid_file is None else None
        super().__init__(root, loader, extensions, transform=transform,
                         target_transform=target_transform, is_valid_file=is_valid_file,
                         allow_empty=allow_empty)
        self.imgs = self.samples
