"""Multi-view stereo correspondence (PhotoTour / Brown) patches: 64x64 grayscale patches with
their 3D point ids and matching pairs."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..._creation import from_numpy
from .utils import download_url
from .vision import VisionDataset

__all__ = ["PhotoTour"]

_PATCH = 64  # pixels per side of a patch in the .bmp mosaics


class PhotoTour(VisionDataset):
    """The Brown patch sets (``name``: notredame, yosemite, liberty, or their ``_harris``
    versions) from ``root/<name>/``: ``*.bmp`` mosaics of 64x64 patches (rows first, files in
    sorted order), ``info.txt`` (the 3D point id of each patch) and
    ``m50_100000_100000_0.txt`` (match pairs). The first load caches them as
    ``root/<name>.pt`` (``ember.save``; PyTorch's format, so torchvision's cache loads too).

    With ``train=True`` a sample is one patch (a uint8 tensor (64, 64)); otherwise
    ``(patch1, patch2, 1 if they show the same point else 0)``.

    Example:
        >>> patches = PhotoTour("data", name="notredame", train=False)
        >>> p1, p2, same = patches[0]
        >>> p1.shape
        torch.Size([64, 64])
    """

    urls = {
        "notredame_harris": ["http://matthewalunbrown.com/patchdata/notredame_harris.zip",
                             "notredame_harris.zip", "69f8c90f78e171349abdf0307afefe4d"],
        "yosemite_harris": ["http://matthewalunbrown.com/patchdata/yosemite_harris.zip",
                            "yosemite_harris.zip", "a73253d1c6fbd3ba2613c45065c00d46"],
        "liberty_harris": ["http://matthewalunbrown.com/patchdata/liberty_harris.zip",
                           "liberty_harris.zip", "c731fcfb3abb4091110d0ae8c7ba182c"],
        "notredame": ["http://icvl.ee.ic.ac.uk/vbalnt/notredame.zip", "notredame.zip",
                      "509eda8535847b8c0a90bbb210c83484"],
        "yosemite": ["http://icvl.ee.ic.ac.uk/vbalnt/yosemite.zip", "yosemite.zip",
                     "533b2e8eb7ede31be40abc317b2fd4f0"],
        "liberty": ["http://icvl.ee.ic.ac.uk/vbalnt/liberty.zip", "liberty.zip",
                    "fdd9152f138ea5ef2091746689176414"],
    }
    means = {"notredame": 0.4854, "yosemite": 0.4844, "liberty": 0.4437,
             "notredame_harris": 0.4854, "yosemite_harris": 0.4844, "liberty_harris": 0.4437}
    stds = {"notredame": 0.1864, "yosemite": 0.1818, "liberty": 0.2019,
            "notredame_harris": 0.1864, "yosemite_harris": 0.1818, "liberty_harris": 0.2019}
    lens = {"notredame": 468159, "yosemite": 633587, "liberty": 450092,
            "liberty_harris": 379587, "yosemite_harris": 450912, "notredame_harris": 325295}
    image_ext = "bmp"
    info_file = "info.txt"
    matches_files = "m50_100000_100000_0.txt"

    def __init__(self, root: str | os.PathLike, name: str, train: bool = True,
                 transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform)
        if name not in self.means:
            raise ValueError(f"Unknown PhotoTour name {name!r}: expected one of "
                             f"{', '.join(sorted(self.means))}")
        self.name = name
        self.data_dir = os.path.join(self.root, name)
        self.data_down = os.path.join(self.root, f"{name}.zip")
        self.data_file = os.path.join(self.root, f"{name}.pt")
        self.train = train
        self.mean = self.means[name]
        self.std = self.stds[name]
        if download:
            self.download()
        if not self._check_datafile_exists():
            self.cache()
        from ...serialization import load

        self.data, self.labels, self.matches = load(self.data_file, weights_only=True)

    def __getitem__(self, index: int) -> Any:
        if self.train:
            data = self.data[index]
            if self.transform is not None:
                data = self.transform(data)
            return data
        m = self.matches[index]
        data1, data2 = self.data[m[0]], self.data[m[1]]
        if self.transform is not None:
            data1 = self.transform(data1)
            data2 = self.transform(data2)
        return data1, data2, m[2]

    def __len__(self) -> int:
        return len(self.data if self.train else self.matches)

    def _check_datafile_exists(self) -> bool:
        return os.path.exists(self.data_file)

    def _check_downloaded(self) -> bool:
        return os.path.exists(self.data_dir)

    def download(self) -> None:
        """Fetch and unzip the patch set, unless it or its cache is there."""
        if self._check_datafile_exists() or self._check_downloaded():
            return
        url, filename, md5 = self.urls[self.name]
        fpath = os.path.join(self.root, filename)
        download_url(url, self.root, filename, md5)
        import zipfile

        with zipfile.ZipFile(fpath, "r") as z:
            z.extractall(self.data_dir)
        os.unlink(fpath)

    def cache(self) -> None:
        """Read the patches, point ids and matches and save them as ``root/<name>.pt``."""
        from ...serialization import save

        dataset = (read_image_file(self.data_dir, self.image_ext, self.lens[self.name]),
                   read_info_file(self.data_dir, self.info_file),
                   read_matches_files(self.data_dir, self.matches_files))
        with open(self.data_file, "wb") as f:
            save(dataset, f)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


def read_image_file(data_dir: str, image_ext: str, n: int):
    """The first ``n`` 64x64 patches of the ``*.<image_ext>`` mosaics (sorted; each read
    row by row) as a uint8 tensor (N, 64, 64)."""
    from PIL import Image

    files = sorted(os.path.join(data_dir, f) for f in os.listdir(data_dir)
                   if f.endswith(image_ext))
    patches = []
    for fpath in files:
        with Image.open(fpath) as img:
            if img.mode != "L":
                raise RuntimeError(f"PhotoTour: {fpath} is a {img.mode} image; the patch "
                                   "mosaics are 8-bit grayscale")
            pixels = np.asarray(img)
        for y in range(0, pixels.shape[0], _PATCH):
            for x in range(0, pixels.shape[1], _PATCH):
                # as PIL's crop: a patch running past the mosaic's edge is padded with zeros
                patch = np.zeros((_PATCH, _PATCH), np.uint8)
                tile = pixels[y:y + _PATCH, x:x + _PATCH]
                patch[:tile.shape[0], :tile.shape[1]] = tile
                patches.append(patch)
    patches = patches[:n]
    return from_numpy(np.array(patches, dtype=np.uint8).reshape(-1, _PATCH, _PATCH))


def _int_rows(path: str, columns: int) -> list[tuple[list[int], list[str]]]:
    """The first ``columns`` whitespace-separated integers of each line, and its fields."""
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            try:
                rows.append(([int(v) for v in fields[:columns]], fields))
                if len(fields) < columns:
                    raise IndexError
            except (IndexError, ValueError):
                raise RuntimeError(f"PhotoTour file {path}, line {number}: expected {columns} "
                                   f"integers, got {line.rstrip()!r}") from None
    return rows


def read_info_file(data_dir: str, info_file: str):
    """The 3D point id (first column of ``info.txt``) of each patch, as an int64 tensor."""
    rows = _int_rows(os.path.join(data_dir, info_file), 1)
    return from_numpy(np.array([ints[0] for ints, _ in rows], dtype=np.int64))


def read_matches_files(data_dir: str, matches_file: str):
    """(patch 1, patch 2, 1 if both show the same 3D point) per line of the matches file, as
    an int64 tensor (N, 3)."""
    rows = _int_rows(os.path.join(data_dir, matches_file), 5)
    # the same 3D point: torchvision compares the two point-id fields as text
    matches = [[ints[0], ints[3], int(fields[1] == fields[4])] for ints, fields in rows]
    return from_numpy(np.array(matches, dtype=np.int64).reshape(-1, 3))
