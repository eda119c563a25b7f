"""EuroSAT: 64x64 Sentinel-2 RGB tiles in 10 land-use classes, one folder per class."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .folder import ImageFolder, default_loader
from .utils import download_and_extract_archive

__all__ = ["EuroSAT"]


class EuroSAT(ImageFolder):
    """The EuroSAT RGB tiles from ``root/eurosat/2750/<class>/*.jpg`` (an ``ImageFolder``).

    ``classes`` are the folder names ("AnnualCrop", "Forest", ...); a sample is
    ``(image, int class)`` read with ``loader`` (Pillow, RGB, by default). ``root`` stays
    the folder given (not the ``2750`` folder the images are in).

    Example:
        >>> sat = EuroSAT("data", download=True)
        >>> len(sat), sat.classes[0]
        (27000, 'AnnualCrop')
    """

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str], Any] = default_loader) -> None:
        self.root = os.path.expanduser(root)
        self._base_folder = os.path.join(self.root, "eurosat")
        self._data_folder = os.path.join(self._base_folder, "2750")
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        super().__init__(self._data_folder, transform=transform,
                         target_transform=target_transform, loader=loader)
        self.root = os.path.expanduser(root)

    def __len__(self) -> int:
        return len(self.samples)

    def _check_exists(self) -> bool:
        return os.path.exists(self._data_folder)

    def download(self) -> None:
        """Fetch and unpack ``EuroSAT.zip`` into ``root/eurosat`` unless it is there.

        Example:
            >>> EuroSAT("data", download=True).download()  # a no-op the second time
        """
        if self._check_exists():
            return
        os.makedirs(self._base_folder, exist_ok=True)
        download_and_extract_archive(
            "https://huggingface.co/datasets/torchgeo/eurosat/resolve/"
            "c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip",
            download_root=self._base_folder, md5="c8fa014336c82ac7804f0398fcb19387")
