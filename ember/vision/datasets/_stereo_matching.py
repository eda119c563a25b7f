"""Stereo-matching datasets: left and right views and the disparity between them."""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from glob import glob
from pathlib import Path

import numpy as np

from ._flow_files import _read_pfm
from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ()

_read_pfm_file = functools.partial(_read_pfm, slice_channels=1)


def _open(file_path):
    from PIL import Image

    return Image.open(file_path)


class StereoMatchingDataset(ABC, VisionDataset):
    """Base of the stereo datasets: ``_images`` holds ``(left, right)`` image paths and
    ``_disparities`` the ``(left, right)`` disparity files (``None`` where a split has none).

    A sample is ``(img_left, img_right, disparity)``, or with ``valid_mask`` appended for
    sets with a built-in mask or when ``transforms`` makes one. Images are RGB PIL images,
    the disparity a NumPy array (1, H, W) and the mask a bool array (H, W). ``transforms``
    takes and returns ``(images, disparities, valid_masks)``, each a (left, right) pair.
    """

    _has_built_in_disparity_mask = False

    def __init__(self, root: str | os.PathLike, transforms: Callable | None = None) -> None:
        super().__init__(root=root)
        self.transforms = transforms
        self._images = []
        self._disparities = []

    def _read_img(self, file_path: str | Path):
        img = _open(file_path)
        if img.mode != "RGB":
            img = img.convert("RGB")
        return img

    def _scan_pairs(self, paths_left_pattern: str,
                    paths_right_pattern: str | None = None) -> list[tuple[str, str | None]]:
        left_paths = sorted(glob(paths_left_pattern))
        right_paths = (sorted(glob(paths_right_pattern)) if paths_right_pattern
                       else [None] * len(left_paths))
        if not left_paths:
            raise FileNotFoundError(f"Could not find any files matching the patterns: "
                                    f"{paths_left_pattern}")
        if not right_paths:
            raise FileNotFoundError(f"Could not find any files matching the patterns: "
                                    f"{paths_right_pattern}")
        if len(left_paths) != len(right_paths):
            raise ValueError(f"Found {len(left_paths)} left files but {len(right_paths)} right "
                             f"files using:\n left pattern: {paths_left_pattern}\n"
                             f"right pattern: {paths_right_pattern}\n")
        return list(zip(left_paths, right_paths))

    @abstractmethod
    def _read_disparity(self, file_path: str):
        """``(disparity map, valid mask or None)`` of one file, ``(None, None)`` for none."""

    def __getitem__(self, index: int) -> tuple:
        img_left = self._read_img(self._images[index][0])
        img_right = self._read_img(self._images[index][1])
        dsp_map_left, valid_mask_left = self._read_disparity(self._disparities[index][0])
        dsp_map_right, valid_mask_right = self._read_disparity(self._disparities[index][1])
        imgs = (img_left, img_right)
        dsp_maps = (dsp_map_left, dsp_map_right)
        valid_masks = (valid_mask_left, valid_mask_right)
        if self.transforms is not None:
            imgs, dsp_maps, valid_masks = self.transforms(imgs, dsp_maps, valid_masks)
        if self._has_built_in_disparity_mask or valid_masks[0] is not None:
            return imgs[0], imgs[1], dsp_maps[0], valid_masks[0]
        return imgs[0], imgs[1], dsp_maps[0]

    def __len__(self) -> int:
        return len(self._images)


class CarlaStereo(StereoMatchingDataset):
    """CARLA simulator stereo (as linked by CREStereo) from ``root/carla-highres/trainingF/
    <scene>/{im0,im1}.png`` with ``disp0GT.pfm``/``disp1GT.pfm``: ``(left, right, disparity)``.

    Example:
        >>> left, right, disparity = CarlaStereo("data")[0]
    """

    def __init__(self, root: str | os.PathLike, transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        root = Path(root) / "carla-highres" / "trainingF"
        self._images = self._scan_pairs(str(root / "*" / "im0.png"), str(root / "*" / "im1.png"))
        self._disparities = self._scan_pairs(str(root / "*" / "disp0GT.pfm"),
                                             str(root / "*" / "disp1GT.pfm"))

    def _read_disparity(self, file_path: str):
        return np.abs(_read_pfm_file(file_path)), None  # disparities are positive


def _kitti_disparity(file_path: str | None):
    """KITTI's 16-bit disparity PNG as float64 (1, H, W) pixels (value / 256)."""
    if file_path is None:  # the test split has no disparity maps
        return None, None
    return (np.asarray(_open(file_path)) / 256.0)[None, :, :], None


class Kitti2012Stereo(StereoMatchingDataset):
    """KITTI 2012 stereo from ``root/Kitti2012/{training,testing}/colored_{0,1}/*_10.png``
    with (training) ``disp_noc/*.png``: ``(left, right, disparity, valid_mask)``, the mask
    ``None`` unless ``transforms`` makes one; disparity and mask are ``None`` for ``test``.

    Example:
        >>> left, right, disparity, _ = Kitti2012Stereo("data")[0]
    """

    _has_built_in_disparity_mask = True

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "Kitti2012" / (split + "ing")
        self._images = self._scan_pairs(str(root / "colored_0" / "*_10.png"),
                                        str(root / "colored_1" / "*_10.png"))
        if split == "train":
            self._disparities = self._scan_pairs(str(root / "disp_noc" / "*.png"), None)
        else:
            self._disparities = [(None, None) for _ in self._images]

    def _read_disparity(self, file_path: str):
        return _kitti_disparity(file_path)


class Kitti2015Stereo(StereoMatchingDataset):
    """KITTI 2015 stereo from ``root/Kitti2015/{training,testing}/image_{2,3}/*.png`` with
    (training) ``disp_occ_{0,1}/*.png``: ``(left, right, disparity, valid_mask)`` as
    ``Kitti2012Stereo``.

    Example:
        >>> left, right, disparity, _ = Kitti2015Stereo("data")[0]
    """

    _has_built_in_disparity_mask = True

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "Kitti2015" / (split + "ing")
        self._images = self._scan_pairs(str(root / "image_2" / "*.png"),
                                        str(root / "image_3" / "*.png"))
        if split == "train":
            self._disparities = self._scan_pairs(str(root / "disp_occ_0" / "*.png"),
                                                 str(root / "disp_occ_1" / "*.png"))
        else:
            self._disparities = [(None, None) for _ in self._images]

    def _read_disparity(self, file_path: str):
        return _kitti_disparity(file_path)


class Middlebury2014Stereo(StereoMatchingDataset):
    """Middlebury 2014 from ``root/Middlebury2014/{train,additional}/<scene>-{perfect,
    imperfect}/`` (``im0.png``, ``im1.png``, ``disp0.pfm``, ``disp1.pfm``) or ``test/<scene>``
    (images only, ``calibration=None``). A sample is ``(left, right, disparity, valid_mask)``:
    infinite disparities become 0 and the mask marks those above 0. With
    ``use_ambient_views`` the right image is drawn (Python's ``random``, as torchvision)
    among ``im1.png``, ``im1E.png`` and ``im1L.png``.

    Example:
        >>> left, right, disparity, valid = Middlebury2014Stereo("data", split="train")[0]
    """

    splits = {
        "train": ["Adirondack", "Jadeplant", "Motorcycle", "Piano", "Pipes", "Playroom",
                  "Playtable", "Recycle", "Shelves", "Vintage"],
        "additional": ["Backpack", "Bicycle1", "Cable", "Classroom1", "Couch", "Flowers", "Mask",
                       "Shopvac", "Sticks", "Storage", "Sword1", "Sword2", "Umbrella"],
        "test": ["Plants", "Classroom2E", "Classroom2", "Australia", "DjembeL", "CrusadeP",
                 "Crusade", "Hoops", "Bicycle2", "Staircase", "Newkuba", "AustraliaP", "Djembe",
                 "Livingroom", "Computer"],
    }

    _has_built_in_disparity_mask = True

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 calibration: str | None = "perfect", use_ambient_views: bool = False,
                 transforms: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transforms)
        verify_str_arg(split, "split", valid_values=("train", "test", "additional"))
        self.split = split
        if calibration:
            verify_str_arg(calibration, "calibration",
                           valid_values=("perfect", "imperfect", "both", None))
            if split == "test":
                raise ValueError("Split 'test' has only no calibration settings, please set "
                                 "`calibration=None`.")
        elif split != "test":
            raise ValueError(f"Split '{split}' has calibration settings, however None was "
                             f"provided as an argument.\nSetting calibration to 'perfect' for "
                             f"split '{split}'. Available calibration settings are: 'perfect', "
                             "'imperfect', 'both'.")
        if download:
            self._download_dataset(root)
        root = Path(root) / "Middlebury2014"
        if not os.path.exists(root / split):
            raise FileNotFoundError(f"The {split} directory was not found in the provided root "
                                    "directory")
        split_scenes = self.splits[split]
        # scene folders carry a -perfect / -imperfect suffix, hence startswith
        if not any(scene.startswith(s) for scene in os.listdir(root / split)
                   for s in split_scenes):
            raise FileNotFoundError(f"Provided root folder does not contain any scenes from the "
                                    f"{split} split.")
        suffixes = {None: [""], "perfect": ["-perfect"], "imperfect": ["-imperfect"],
                    "both": ["-perfect", "-imperfect"]}[calibration]
        for suffix in suffixes:
            scenes = root / split / ("*" + suffix)
            self._images += self._scan_pairs(str(scenes / "im0.png"), str(scenes / "im1.png"))
            if split == "test":
                self._disparities = [(None, None) for _ in self._images]
            else:
                self._disparities += self._scan_pairs(str(scenes / "disp0.pfm"),
                                                      str(scenes / "disp1.pfm"))
        self.use_ambient_views = use_ambient_views

    def _read_img(self, file_path: str | Path):
        file_path = Path(file_path)
        if file_path.name == "im1.png" and self.use_ambient_views:
            # uniformly among the existing exposure / lighting variants and the original
            views = [p for p in (file_path.parent / "im1E.png", file_path.parent / "im1L.png")
                     if os.path.exists(p)]
            file_path = random.choice(views + [file_path])
        return super()._read_img(file_path)

    def _read_disparity(self, file_path: str):
        if file_path is None:  # the test split has no disparity maps
            return None, None
        disparity_map = np.abs(_read_pfm_file(file_path))
        disparity_map[disparity_map == np.inf] = 0  # unknown disparities
        return disparity_map, (disparity_map > 0).squeeze(0)

    def _download_dataset(self, root: str | os.PathLike) -> None:
        base_url = "https://vision.middlebury.edu/stereo/data/scenes2014/zip"
        root = Path(root) / "Middlebury2014"
        if self.split != "test":
            split_root = root / self.split
            for split_scene in self.splits[self.split]:
                for calibration in ("perfect", "imperfect"):
                    scene_name = f"{split_scene}-{calibration}"
                    if not (split_root / scene_name).exists():
                        download_and_extract_archive(url=f"{base_url}/{scene_name}.zip",
                                                     filename=f"{scene_name}.zip",
                                                     download_root=str(split_root),
                                                     remove_finished=True)
            return
        os.makedirs(root / "test")
        if any(s not in os.listdir(root / "test") for s in self.splits["test"]):
            # the test scenes come from MiddEval3's archive (testF), moved into test/
            test_set_url = "https://vision.middlebury.edu/stereo/submit3/zip/MiddEval3-data-F.zip"
            download_and_extract_archive(url=test_set_url, download_root=str(root),
                                         remove_finished=True)
            for scene_dir, scene_names, _ in os.walk(str(root / "MiddEval3/testF")):
                for scene in scene_names:
                    os.makedirs(root / "test", exist_ok=True)
                    shutil.move(str(Path(scene_dir) / scene), str(root / "test"))
            shutil.rmtree(str(root / "MiddEval3"))


class CREStereo(StereoMatchingDataset):
    """CREStereo's synthetic set from ``root/CREStereo/{shapenet,reflective,tree,hole}/
    *_{left,right}.jpg`` with ``*_{left,right}.disp.png`` (disparity * 32):
    ``(left, right, disparity, valid_mask)``, the mask ``None`` unless a transform makes one.

    Example:
        >>> left, right, disparity, _ = CREStereo("data")[0]
    """

    _has_built_in_disparity_mask = True

    def __init__(self, root: str | os.PathLike, transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        root = Path(root) / "CREStereo"
        for s in ("shapenet", "reflective", "tree", "hole"):
            self._images += self._scan_pairs(str(root / s / "*_left.jpg"),
                                             str(root / s / "*_right.jpg"))
            self._disparities += self._scan_pairs(str(root / s / "*_left.disp.png"),
                                                  str(root / s / "*_right.disp.png"))

    def _read_disparity(self, file_path: str):
        disparity_map = np.asarray(_open(file_path), dtype=np.float32)
        return disparity_map[None, :, :] / 32.0, None


class FallingThingsStereo(StereoMatchingDataset):
    """NVIDIA Falling Things from ``root/FallingThings/single/<dir>/<scene>/`` and/or
    ``mixed/<scene>/``: ``*.{left,right}.jpg`` with 16-bit ``*.{left,right}.depth.png`` and
    ``_camera_settings.json``. The disparity is ``6 * fx * 100 / depth`` (the dataset's
    readme); a sample is ``(left, right, disparity)``.

    Example:
        >>> left, right, disparity = FallingThingsStereo("data", variant="mixed")[0]
    """

    def __init__(self, root: str | os.PathLike, variant: str = "single",
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        root = Path(root) / "FallingThings"
        verify_str_arg(variant, "variant", valid_values=("single", "mixed", "both"))
        variants = {"single": ["single"], "mixed": ["mixed"],
                    "both": ["single", "mixed"]}[variant]
        prefix = {"single": Path("*") / "*", "mixed": Path("*")}
        for s in variants:
            folder = root / s / prefix[s]
            self._images += self._scan_pairs(str(folder / "*.left.jpg"),
                                             str(folder / "*.right.jpg"))
            self._disparities += self._scan_pairs(str(folder / "*.left.depth.png"),
                                                  str(folder / "*.right.depth.png"))

    def _read_disparity(self, file_path: str):
        depth = np.asarray(_open(file_path))
        settings = Path(file_path).parent / "_camera_settings.json"
        with open(settings) as f:
            intrinsics = json.load(f)
        try:
            focal = intrinsics["camera_settings"][0]["intrinsic_settings"]["fx"]
        except (KeyError, IndexError, TypeError) as err:
            raise RuntimeError(f"{settings}: expected camera_settings[0].intrinsic_settings.fx "
                               f"({err!r} is missing)") from None
        baseline, pixel_constant = 6, 100  # depth = baseline * focal / (disparity / 100)
        disparity_map = (baseline * focal * pixel_constant) / depth.astype(np.float32)
        return disparity_map[None, :, :], None


class SceneFlowStereo(StereoMatchingDataset):
    """Scene Flow stereo (``variant`` FlyingThings3D, Driving or Monkaa) from
    ``root/SceneFlow/<variant>/frames_{clean,final}pass/.../{left,right}/*.png`` with
    ``disparity/.../{left,right}/*.pfm``: ``(left, right, disparity)``.

    Example:
        >>> left, right, disparity = SceneFlowStereo("data", variant="Monkaa")[0]
    """

    def __init__(self, root: str | os.PathLike, variant: str = "FlyingThings3D",
                 pass_name: str = "clean", transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        root = Path(root) / "SceneFlow"
        verify_str_arg(variant, "variant", valid_values=("FlyingThings3D", "Driving", "Monkaa"))
        verify_str_arg(pass_name, "pass_name", valid_values=("clean", "final", "both"))
        passes = {"clean": ["frames_cleanpass"], "final": ["frames_finalpass"],
                  "both": ["frames_cleanpass", "frames_finalpass"]}[pass_name]
        root = root / variant
        prefix = {"Monkaa": Path("*"), "FlyingThings3D": Path("*") / "*" / "*",
                  "Driving": Path("*") / "*" / "*"}[variant]
        for p in passes:
            self._images += self._scan_pairs(str(root / p / prefix / "left" / "*.png"),
                                             str(root / p / prefix / "right" / "*.png"))
            self._disparities += self._scan_pairs(
                str(root / "disparity" / prefix / "left" / "*.pfm"),
                str(root / "disparity" / prefix / "right" / "*.pfm"))

    def _read_disparity(self, file_path: str):
        return np.abs(_read_pfm_file(file_path)), None


class SintelStereo(StereoMatchingDataset):
    """MPI Sintel stereo from ``root/Sintel/training/{final,clean}_{left,right}/<scene>/
    *.png`` with ``disparities/``, ``occlusions/`` and ``outofframe/`` PNGs: ``(left, right,
    disparity, valid_mask)``, the disparity decoded as ``4 r + g / 2**6 + b / 2**14`` and the
    mask true where neither occluded nor out of frame.

    Example:
        >>> left, right, disparity, valid = SintelStereo("data")[0]
    """

    _has_built_in_disparity_mask = True

    def __init__(self, root: str | os.PathLike, pass_name: str = "final",
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        verify_str_arg(pass_name, "pass_name", valid_values=("final", "clean", "both"))
        root = Path(root) / "Sintel" / "training"
        pass_names = {"final": ["final"], "clean": ["clean"],
                      "both": ["final", "clean"]}[pass_name]
        for p in pass_names:
            self._images += self._scan_pairs(str(root / f"{p}_left" / "*" / "*.png"),
                                             str(root / f"{p}_right" / "*" / "*.png"))
            self._disparities += self._scan_pairs(str(root / "disparities" / "*" / "*.png"),
                                                  None)

    def _get_occlussion_mask_paths(self, file_path: str) -> tuple[str, str]:
        # .../training/disparities/<scene>/<name> -> .../training/{occlusions,outofframe}/...
        fpath = Path(file_path)
        sampledir = fpath.parent.parent.parent
        occlusion_path = str(sampledir / "occlusions" / fpath.parent.name / fpath.name)
        outofframe_path = str(sampledir / "outofframe" / fpath.parent.name / fpath.name)
        if not os.path.exists(occlusion_path):
            raise FileNotFoundError(f"Occlusion mask {occlusion_path} does not exist")
        if not os.path.exists(outofframe_path):
            raise FileNotFoundError(f"Out of frame mask {outofframe_path} does not exist")
        return occlusion_path, outofframe_path

    def _read_disparity(self, file_path: str):
        if file_path is None:
            return None, None
        disparity_map = np.asarray(_open(file_path), dtype=np.float32)
        if disparity_map.ndim != 3 or disparity_map.shape[-1] != 3:
            raise ValueError(f"Sintel disparity {file_path} must be an RGB image, got shape "
                             f"{disparity_map.shape}")
        r, g, b = np.split(disparity_map, 3, axis=-1)
        disparity_map = np.transpose(r * 4 + g / (2**6) + b / (2**14), (2, 0, 1))
        occluded_path, out_of_frame_path = self._get_occlussion_mask_paths(file_path)
        valid_mask = np.asarray(_open(occluded_path)) == 0
        off_mask = np.asarray(_open(out_of_frame_path)) == 0
        return disparity_map, np.logical_and(off_mask, valid_mask)


class InStereo2k(StereoMatchingDataset):
    """InStereo2k from ``root/InStereo2k/{train,test}/<scene>/{left,right}.png`` with
    ``{left,right}_disp.png`` (disparity * 1024): ``(left, right, disparity)``.

    Example:
        >>> left, right, disparity = InStereo2k("data", split="test")[0]
    """

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        root = Path(root) / "InStereo2k" / split
        verify_str_arg(split, "split", valid_values=("train", "test"))
        self._images = self._scan_pairs(str(root / "*" / "left.png"),
                                        str(root / "*" / "right.png"))
        self._disparities = self._scan_pairs(str(root / "*" / "left_disp.png"),
                                             str(root / "*" / "right_disp.png"))

    def _read_disparity(self, file_path: str):
        disparity_map = np.asarray(_open(file_path), dtype=np.float32)
        return disparity_map[None, :, :] / 1024.0, None


class ETH3DStereo(StereoMatchingDataset):
    """ETH3D low-res two-view from ``root/ETH3D/two_view_training/<scene>/{im0,im1}.png``
    with ``two_view_training_gt/<scene>/disp0GT.pfm`` and ``mask0nocc.png`` (the test
    images are read from ``two_view_test``, torchvision's folder name):
    ``(left, right, disparity, valid_mask)``, both ``None`` for ``test``.

    Example:
        >>> left, right, disparity, valid = ETH3DStereo("data")[0]
    """

    _has_built_in_disparity_mask = True

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "ETH3D"
        img_dir = "two_view_training" if split == "train" else "two_view_test"
        self._images = self._scan_pairs(str(root / img_dir / "*" / "im0.png"),
                                        str(root / img_dir / "*" / "im1.png"))
        if split == "test":
            self._disparities = [(None, None) for _ in self._images]
        else:
            self._disparities = self._scan_pairs(
                str(root / "two_view_training_gt" / "*" / "disp0GT.pfm"), None)

    def _read_disparity(self, file_path: str):
        if file_path is None:  # the test split has no disparity maps
            return None, None
        disparity_map = np.abs(_read_pfm_file(file_path))
        mask = np.asarray(_open(Path(file_path).parent / "mask0nocc.png")).astype(bool)
        return disparity_map, mask
