"""SBU Captioned Photo: Flickr photos with one caption each."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .folder import default_loader
from .utils import DownloadError, check_integrity, download_and_extract_archive, download_url
from .vision import VisionDataset

__all__ = ["SBU"]


class SBU(VisionDataset):
    """SBU Captioned Photo: ``(image, caption)`` for each listed photo present on disk.

    ``root`` holds ``SBUCaptionedPhotoDataset.tar.gz`` (checked by md5) and its extracted
    ``dataset/`` folder: ``SBU_captioned_photo_dataset_urls.txt`` and
    ``SBU_captioned_photo_dataset_captions.txt`` (line n of one belongs to line n of the
    other) and the photos, named as the last part of their URLs. Photos missing on disk are
    skipped. ``download=True`` (the default, as torchvision) fetches the archive and then each
    photo from Flickr, skipping those that are gone.

    Example:
        >>> sbu = SBU("data/sbu", download=False)
        >>> img, caption = sbu[0]
        >>> caption
        'Man sits in a rusted car buried in the sand on Waitarere beach'
    """

    url = "https://www.cs.rice.edu/~vo9/sbucaptions/SBUCaptionedPhotoDataset.tar.gz"
    filename = "SBUCaptionedPhotoDataset.tar.gz"
    md5_checksum = "9aec147b3488753cf758b4d493422285"

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = True,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.loader = loader
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        self.photos: list[str] = []
        self.captions: list[str] = []
        folder = os.path.join(self.root, "dataset")
        urls = os.path.join(folder, "SBU_captioned_photo_dataset_urls.txt")
        captions = os.path.join(folder, "SBU_captioned_photo_dataset_captions.txt")
        with open(urls) as url_lines, open(captions) as caption_lines:
            for url, caption in zip(url_lines, caption_lines):
                photo = os.path.basename(url.rstrip())
                if os.path.exists(os.path.join(folder, photo)):
                    self.photos.append(photo)
                    self.captions.append(caption.rstrip())

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img = self.loader(os.path.join(self.root, "dataset", self.photos[index]))
        if self.transform is not None:
            img = self.transform(img)
        target = self.captions[index]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        """The number of photos in the dataset."""
        return len(self.photos)

    def _check_integrity(self) -> bool:
        return check_integrity(os.path.join(self.root, self.filename), self.md5_checksum)

    def download(self) -> None:
        """Fetch and extract the archive, then each photo it lists (skipping unreachable
        ones: Flickr users may have removed them)."""
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, self.root, self.filename,
                                     self.md5_checksum)
        folder = os.path.join(self.root, "dataset")
        with open(os.path.join(folder, "SBU_captioned_photo_dataset_urls.txt")) as fh:
            for line in fh:
                try:
                    download_url(line.rstrip(), folder)
                except (OSError, DownloadError):  # a photo its owner removed
                    pass
