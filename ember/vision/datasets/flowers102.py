"""Oxford 102 Flowers: JPEG images with labels and splits in ``.mat`` files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .folder import default_loader
from .matfile import load_mat
from .utils import check_integrity, download_and_extract_archive, download_url, verify_str_arg
from .vision import _ImageFilesWithLabels

__all__ = ["Flowers102"]


class Flowers102(_ImageFilesWithLabels):
    """The Oxford 102 Flowers images from ``root/flowers-102``.

    ``split`` is "train", "val" or "test" (the ids in ``setid.mat``); labels come from
    ``imagelabels.mat``, shifted to 0-101. The images are ``jpg/image_<id:05d>.jpg``, read
    with ``loader`` (Pillow, RGB, by default). A sample is ``(image, int label)``; ``classes``
    holds the 102 names. torchvision reads the ``.mat`` files with SciPy; ember needs none.

    Example:
        >>> flowers = Flowers102("data", split="val", download=True)
        >>> len(flowers), flowers.classes[flowers[0][1]]
        (1020, 'pink primrose')
    """

    _download_url_prefix = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
    _file_dict = {"image": ("102flowers.tgz", "52808999861908f626f3c1f4e79d11fa"),
                  "label": ("imagelabels.mat", "e0620be6f572b9609742df49c70aed4d"),
                  "setid": ("setid.mat", "a5357ecc9cb78c4bef273ce3793fc85c")}
    _splits_map = {"train": "trnid", "val": "valid", "test": "tstid"}

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[str | Path], Any] = default_loader
                 ) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "val", "test"))
        self._base_folder = Path(self.root) / "flowers-102"
        self._images_folder = self._base_folder / "jpg"
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        set_ids = load_mat(self._base_folder / self._file_dict["setid"][0])
        image_ids = set_ids[self._splits_map[self._split]].ravel().tolist()
        labels = load_mat(self._base_folder / self._file_dict["label"][0])["labels"].ravel()
        image_id_to_label = dict(enumerate((labels - 1).tolist(), 1))
        self._labels = [image_id_to_label[image_id] for image_id in image_ids]
        self._image_files = [self._images_folder / f"image_{image_id:05d}.jpg"
                             for image_id in image_ids]
        self.loader = loader

    def extra_repr(self) -> str:
        return f"split={self._split}"

    def _check_integrity(self) -> bool:
        if not self._images_folder.is_dir():
            return False
        return all(check_integrity(str(self._base_folder / name), md5)
                   for name, md5 in (self._file_dict["label"], self._file_dict["setid"]))

    def download(self) -> None:
        """Fetch the image archive and the two ``.mat`` files unless they are all there.

        Example:
            >>> Flowers102("data", download=True).download()  # a no-op the second time
        """
        if self._check_integrity():
            return
        download_and_extract_archive(f"{self._download_url_prefix}{self._file_dict['image'][0]}",
                                     str(self._base_folder), md5=self._file_dict["image"][1])
        for key in ("label", "setid"):
            filename, md5 = self._file_dict[key]
            download_url(self._download_url_prefix + filename, str(self._base_folder), md5=md5)

    classes = ["pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea",
               "english marigold", "tiger lily", "moon orchid", "bird of paradise", "monkshood",
               "globe thistle", "snapdragon", "colt's foot", "king protea", "spear thistle",
               "yellow iris", "globe-flower", "purple coneflower", "peruvian lily",
               "balloon flower", "giant white arum lily", "fire lily", "pincushion flower",
               "fritillary", "red ginger", "grape hyacinth", "corn poppy",
               "prince of wales feathers", "stemless gentian", "artichoke", "sweet william",
               "carnation", "garden phlox", "love in the mist", "mexican aster",
               "alpine sea holly", "ruby-lipped cattleya", "cape flower", "great masterwort",
               "siam tulip", "lenten rose", "barbeton daisy", "daffodil", "sword lily",
               "poinsettia", "bolero deep blue", "wallflower", "marigold", "buttercup",
               "oxeye daisy", "common dandelion", "petunia", "wild pansy", "primula", "sunflower",
               "pelargonium", "bishop of llandaff", "gaura", "geranium", "orange dahlia",
               "pink-yellow dahlia?", "cautleya spicata", "japanese anemone", "black-eyed susan",
               "silverbush", "californian poppy", "osteospermum", "spring crocus", "bearded iris",
               "windflower", "tree poppy", "gazania", "azalea", "water lily", "rose",
               "thorn apple", "morning glory", "passion flower", "lotus", "toad lily",
               "anthurium", "frangipani", "clematis", "hibiscus", "columbine", "desert-rose",
               "tree mallow", "magnolia", "cyclamen", "watercress", "canna lily", "hippeastrum",
               "bee balm", "ball moss", "foxglove", "bougainvillea", "camellia", "mallow",
               "mexican petunia", "bromelia", "blanket flower", "trumpet creeper",
               "blackberry lily"]
