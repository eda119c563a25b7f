"""Optical-flow datasets: pairs of consecutive frames and the flow between them."""

from __future__ import annotations

import itertools
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from glob import glob
from pathlib import Path
from typing import Any

import numpy as np

from ._flow_files import _read_16bits_png_with_flow_and_valid_mask, _read_flo, _read_pfm
from .folder import default_loader
from .utils import verify_str_arg
from .vision import VisionDataset

__all__ = ("KittiFlow", "Sintel", "FlyingThings3D", "FlyingChairs", "HD1K")


class FlowDataset(ABC, VisionDataset):
    """Base of the flow datasets: ``_image_list`` holds ``[frame1, frame2]`` path pairs and
    ``_flow_list`` the flow file of each pair (empty for splits without ground truth).

    A sample is ``(img1, img2, flow)``, or ``(img1, img2, flow, valid_flow_mask)`` for sets
    with a built-in mask (KittiFlow, HD1K) or when ``transforms`` makes one; the flow is a
    float32 NumPy array (2, H, W) and the mask a bool array (H, W), both ``None`` without
    ground truth. ``transforms`` takes and returns ``(img1, img2, flow, valid_flow_mask)``.
    ``n * dataset`` repeats it (a ``ConcatDataset``).
    """

    _has_builtin_flow_mask = False

    def __init__(self, root: str | os.PathLike, transforms: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root=root)
        self.transforms = transforms
        self._flow_list: list[str] = []
        self._image_list: list[list[str]] = []
        self._loader = loader

    def _read_img(self, file_name: str) -> Any:
        return self._loader(file_name)

    @abstractmethod
    def _read_flow(self, file_name: str):
        """The flow, or ``(flow, valid_flow_mask)`` where ``_has_builtin_flow_mask``."""

    def __getitem__(self, index: int) -> tuple:
        img1 = self._read_img(self._image_list[index][0])
        img2 = self._read_img(self._image_list[index][1])
        if self._flow_list:  # empty for the test splits
            flow = self._read_flow(self._flow_list[index])
            if self._has_builtin_flow_mask:
                flow, valid_flow_mask = flow
            else:
                valid_flow_mask = None
        else:
            flow = valid_flow_mask = None
        if self.transforms is not None:
            img1, img2, flow, valid_flow_mask = self.transforms(img1, img2, flow,
                                                                valid_flow_mask)
        # a transform may make the mask, so its presence decides the tuple's length too
        if self._has_builtin_flow_mask or valid_flow_mask is not None:
            return img1, img2, flow, valid_flow_mask
        return img1, img2, flow

    def __len__(self) -> int:
        return len(self._image_list)

    def __rmul__(self, v: int):
        from ...utils.data import ConcatDataset

        return ConcatDataset([self] * v)


class Sintel(FlowDataset):
    """MPI Sintel flow from ``root/Sintel``: ``training/{clean,final}/<scene>/*.png`` with
    ``training/flow/<scene>/*.flo``; the test frames are read from ``test/<pass>/<scene>``
    (torchvision's folder name). ``pass_name`` is ``"clean"``, ``"final"`` or ``"both"``.
    Consecutive frames of a scene make a pair; a sample is ``(img1, img2, flow)``.

    Example:
        >>> sintel = Sintel("data", split="train", pass_name="clean")
        >>> img1, img2, flow = sintel[0]
        >>> flow.shape
        (2, 436, 1024)
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", pass_name: str = "clean",
                 transforms: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root=root, transforms=transforms, loader=loader)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        verify_str_arg(pass_name, "pass_name", valid_values=("clean", "final", "both"))
        passes = ["clean", "final"] if pass_name == "both" else [pass_name]
        root = Path(root) / "Sintel"
        flow_root = root / "training" / "flow"
        for pass_name in passes:
            image_root = root / ("training" if split == "train" else split) / pass_name
            for scene in os.listdir(image_root):
                image_list = sorted(glob(str(image_root / scene / "*.png")))
                self._image_list += [[a, b] for a, b in zip(image_list, image_list[1:])]
                if split == "train":
                    self._flow_list += sorted(glob(str(flow_root / scene / "*.flo")))

    def _read_flow(self, file_name: str) -> np.ndarray:
        return _read_flo(file_name)


class KittiFlow(FlowDataset):
    """KITTI 2015 flow from ``root/KittiFlow/{training,testing}/image_2/*_1{0,1}.png`` and
    (training) ``flow_occ/*_10.png``, 16-bit PNGs whose channels are u, v (as
    ``value / 64 - 512``) and a valid flag. A sample is ``(img1, img2, flow, valid_flow_mask)``.

    Example:
        >>> kitti = KittiFlow("data")
        >>> img1, img2, flow, valid = kitti[0]
        >>> flow.dtype, valid.dtype
        (dtype('float32'), dtype('bool'))
    """

    _has_builtin_flow_mask = True

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transforms: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root=root, transforms=transforms, loader=loader)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "KittiFlow" / (split + "ing")
        images1 = sorted(glob(str(root / "image_2" / "*_10.png")))
        images2 = sorted(glob(str(root / "image_2" / "*_11.png")))
        if not images1 or not images2:
            raise FileNotFoundError("Could not find the Kitti flow images. Please make sure the "
                                    "directory structure is correct.")
        self._image_list += [[a, b] for a, b in zip(images1, images2)]
        if split == "train":
            self._flow_list = sorted(glob(str(root / "flow_occ" / "*_10.png")))

    def _read_flow(self, file_name: str) -> tuple[np.ndarray, np.ndarray]:
        return _read_16bits_png_with_flow_and_valid_mask(file_name)


class FlyingChairs(FlowDataset):
    """FlyingChairs from ``root/FlyingChairs``: ``data/<n>_img1.ppm``, ``<n>_img2.ppm``,
    ``<n>_flow.flo`` and ``FlyingChairs_train_val.txt`` (one 1 = train or 2 = val per flow,
    in sorted order). A sample is ``(img1, img2, flow)``. Images are read with PIL.

    Example:
        >>> chairs = FlyingChairs("data", split="val")
        >>> img1, img2, flow = chairs[0]
    """

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transforms: Callable | None = None) -> None:
        super().__init__(root=root, transforms=transforms)
        verify_str_arg(split, "split", valid_values=("train", "val"))
        root = Path(root) / "FlyingChairs"
        images = sorted(glob(str(root / "data" / "*.ppm")))
        flows = sorted(glob(str(root / "data" / "*.flo")))
        split_file_name = "FlyingChairs_train_val.txt"
        if not os.path.exists(root / split_file_name):
            raise FileNotFoundError("The FlyingChairs_train_val.txt file was not found - please "
                                    "download it from the dataset page (see docstring).")
        split_list = _read_split_ids(root / split_file_name)
        if len(split_list) < len(flows) or len(images) < 2 * len(flows):
            raise RuntimeError(f"FlyingChairs: {len(flows)} .flo files need as many lines in "
                               f"{split_file_name} (it has {len(split_list)}) and twice as "
                               f"many .ppm images (there are {len(images)})")
        wanted = 1 if split == "train" else 2
        for i, flow in enumerate(flows):
            if split_list[i] == wanted:
                self._flow_list += [flow]
                self._image_list += [[images[2 * i], images[2 * i + 1]]]

    def _read_flow(self, file_name: str) -> np.ndarray:
        return _read_flo(file_name)


def _read_split_ids(path: Path) -> list[int]:
    """The integers of a whitespace-separated split file, one per sample."""
    text = path.read_text().split()
    try:
        return [int(v) for v in text]
    except ValueError as err:
        raise RuntimeError(f"{path}: expected one integer split id (1 = train, 2 = val) per "
                           f"line ({err})") from None


class FlyingThings3D(FlowDataset):
    """FlyingThings3D from ``root/FlyingThings3D``: ``frames_{clean,final}pass/<SPLIT>/
    <letter>/<seq>/<camera>/*.png`` and ``optical_flow/<SPLIT>/<letter>/<seq>/
    {into_future,into_past}/<camera>/*.pfm``. Both flow directions are used; ``pass_name``
    and ``camera`` may be ``"both"``. A sample is ``(img1, img2, flow)``.

    Example:
        >>> things = FlyingThings3D("data", pass_name="final", camera="left")
        >>> img1, img2, flow = things[0]
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", pass_name: str = "clean",
                 camera: str = "left", transforms: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root=root, transforms=transforms, loader=loader)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        split = split.upper()
        verify_str_arg(pass_name, "pass_name", valid_values=("clean", "final", "both"))
        passes = {"clean": ["frames_cleanpass"], "final": ["frames_finalpass"],
                  "both": ["frames_cleanpass", "frames_finalpass"]}[pass_name]
        verify_str_arg(camera, "camera", valid_values=("left", "right", "both"))
        cameras = ["left", "right"] if camera == "both" else [camera]
        root = Path(root) / "FlyingThings3D"
        directions = ("into_future", "into_past")
        for pass_name, camera, direction in itertools.product(passes, cameras, directions):
            image_dirs = sorted(Path(d) / camera
                                for d in sorted(glob(str(root / pass_name / split / "*/*"))))
            flow_dirs = sorted(Path(d) / direction / camera
                               for d in sorted(glob(str(root / "optical_flow" / split / "*/*"))))
            if not image_dirs or not flow_dirs:
                raise FileNotFoundError("Could not find the FlyingThings3D flow images. Please "
                                        "make sure the directory structure is correct.")
            for image_dir, flow_dir in zip(image_dirs, flow_dirs):
                images = sorted(glob(str(image_dir / "*.png")))
                flows = sorted(glob(str(flow_dir / "*.pfm")))
                if len(flows) > len(images):
                    raise RuntimeError(f"FlyingThings3D: {flow_dir} has {len(flows)} flows but "
                                       f"{image_dir} only {len(images)} frames")
                for i in range(len(flows) - 1):
                    if direction == "into_future":
                        self._image_list += [[images[i], images[i + 1]]]
                        self._flow_list += [flows[i]]
                    else:  # into_past: from frame i + 1 back to frame i
                        self._image_list += [[images[i + 1], images[i]]]
                        self._flow_list += [flows[i + 1]]

    def _read_flow(self, file_name: str) -> np.ndarray:
        return _read_pfm(file_name)


class HD1K(FlowDataset):
    """HD1K flow from ``root/hd1k``: ``hd1k_input/image_2/<seq:06d>_<frame>.png`` with
    ``hd1k_flow_gt/flow_occ/`` 16-bit flow PNGs (as KittiFlow) for the 36 training sequences,
    and ``hd1k_challenge/image_2/*1{0,1}.png`` for the test split. A sample is
    ``(img1, img2, flow, valid_flow_mask)``.

    Example:
        >>> hd1k = HD1K("data")
        >>> img1, img2, flow, valid = hd1k[0]
    """

    _has_builtin_flow_mask = True

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transforms: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root=root, transforms=transforms, loader=loader)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "hd1k"
        if split == "train":
            # 36 sequences: a pair never spans two of them
            for seq_idx in range(36):
                pattern = f"{seq_idx:06d}_*.png"
                flows = sorted(glob(str(root / "hd1k_flow_gt" / "flow_occ" / pattern)))
                images = sorted(glob(str(root / "hd1k_input" / "image_2" / pattern)))
                if len(images) < len(flows):
                    raise RuntimeError(f"HD1K sequence {seq_idx:06d} has {len(flows)} flows but "
                                       f"only {len(images)} frames")
                for i in range(len(flows) - 1):
                    self._flow_list += [flows[i]]
                    self._image_list += [[images[i], images[i + 1]]]
        else:
            images1 = sorted(glob(str(root / "hd1k_challenge" / "image_2" / "*10.png")))
            images2 = sorted(glob(str(root / "hd1k_challenge" / "image_2" / "*11.png")))
            self._image_list += [[a, b] for a, b in zip(images1, images2)]
        if not self._image_list:
            raise FileNotFoundError("Could not find the HD1K images. Please make sure the "
                                    "directory structure is correct.")

    def _read_flow(self, file_name: str) -> tuple[np.ndarray, np.ndarray]:
        return _read_16bits_png_with_flow_and_valid_mask(file_name)
