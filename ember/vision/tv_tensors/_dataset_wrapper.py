"""``wrap_dataset_for_transforms_v2``: datasets' samples as tv_tensors (boxes, masks, labels)."""

from __future__ import annotations

import collections.abc
import contextlib
from collections import defaultdict
from copy import copy

__all__ = ["wrap_dataset_for_transforms_v2"]


def wrap_dataset_for_transforms_v2(dataset, target_keys=None):
    """Wrap a ``vision.datasets`` dataset so its samples suit ``transforms.v2``.

    Detection targets become dicts holding ``"boxes"`` (:class:`~tv_tensors.BoundingBoxes`,
    XYXY) and ``"labels"`` (a tensor): ``CocoDetection`` (dict of lists; ``image_id``,
    ``boxes``, ``labels`` by default; ``masks`` needs pycocotools) and ``VOCDetection``
    (``boxes``, ``labels`` by default), ``Kitti`` (dict of lists; ``boxes``, ``labels`` by
    default). ``CelebA``'s ``bbox`` becomes XYXY boxes; segmentation
    masks (``VOCSegmentation``, ``OxfordIIITPet``'s ``segmentation``, ``Cityscapes``'
    ``semantic``) become :class:`~tv_tensors.Mask`, and ``Cityscapes``' ``instance`` target a
    dict of per-instance ``masks`` and their class ``labels``; classification datasets pass
    through. ``target_keys`` (``None``, ``"all"`` or a collection of key names) picks the
    keys of ``CocoDetection``, ``VOCDetection`` and ``Kitti`` targets. The wrapped dataset is
    an instance of the original's class, and the original's ``transform``,
    ``target_transform`` and ``transforms`` run after wrapping.

    Example:
        >>> voc = wrap_dataset_for_transforms_v2(VOCDetection("data", year="2007"))
        >>> image, target = voc[0]; sorted(target)
        ['boxes', 'labels']
    """
    if not (target_keys is None or target_keys == "all" or (
            isinstance(target_keys, collections.abc.Collection)
            and all(isinstance(key, str) for key in target_keys))):
        raise ValueError("`target_keys` can be None, 'all', or a collection of strings denoting "
                         f"the keys to be returned, but got {target_keys}")
    # a class made at run time that is both the wrapper and the dataset's own class, so
    # isinstance checks against the original class still hold
    cls = type(f"Wrapped{type(dataset).__name__}", (VisionDatasetTVTensorWrapper,
                                                    type(dataset)), {})
    return cls(dataset, target_keys)


class WrapperFactories(dict):
    """Dataset class -> factory ``(dataset, target_keys) -> wrapper(idx, sample)``."""

    def register(self, dataset_cls):
        def decorator(wrapper_factory):
            self[dataset_cls] = wrapper_factory
            return wrapper_factory
        return decorator


WRAPPER_FACTORIES = WrapperFactories()
_TARGET_KEY_DATASETS = ("CocoDetection", "VOCDetection", "Kitti", "WIDERFace")


class VisionDatasetTVTensorWrapper:
    """The wrapped dataset: samples of ``dataset`` passed through its class's wrapper."""

    def __init__(self, dataset, target_keys):
        from .. import datasets

        _register()
        dataset_cls = type(dataset)
        if not isinstance(dataset, datasets.VisionDataset):
            raise TypeError(
                "This wrapper is meant for subclasses of `ember.vision.datasets.VisionDataset`, "
                f"but got a '{dataset_cls.__name__}' instead.\n"
                "For an example of how to perform the wrapping for custom datasets, see\n\n"
                "https://pytorch.org/vision/main/auto_examples/plot_tv_tensors.html"
                "#do-i-have-to-wrap-the-output-of-the-datasets-myself")
        for cls in dataset_cls.mro():
            if cls in WRAPPER_FACTORIES:
                wrapper_factory = WRAPPER_FACTORIES[cls]
                if target_keys is not None and cls.__name__ not in _TARGET_KEY_DATASETS:
                    raise ValueError("`target_keys` is currently only supported for "
                                     "`CocoDetection`, `VOCDetection`, `Kitti`, and `WIDERFace`, "
                                     f"but got {cls.__name__}.")
                break
            if cls is datasets.VisionDataset:
                msg = (f"No wrapper exists for dataset class {dataset_cls.__name__}. Please wrap "
                       "the output yourself.")
                if dataset_cls in datasets.__dict__.values():
                    msg += (" If an automated wrapper for this dataset would be useful for you, "
                            "please open an issue at https://github.com/pytorch/vision/issues.")
                raise TypeError(msg)
        self._dataset = dataset
        self._target_keys = target_keys
        self._wrapper = wrapper_factory(dataset, target_keys)
        # the dataset's own transforms are switched off, to run after the wrapping
        self.transform, dataset.transform = dataset.transform, None
        self.target_transform, dataset.target_transform = dataset.target_transform, None
        self.transforms, dataset.transforms = dataset.transforms, None

    def __getattr__(self, item):
        with contextlib.suppress(AttributeError):
            return object.__getattribute__(self, item)
        return getattr(self._dataset, item)

    def __getitem__(self, idx):
        sample = self._wrapper(idx, self._dataset[idx])
        if self.transforms is not None:
            sample = self.transforms(*sample)
        return sample

    def __len__(self):
        return len(self._dataset)

    def __reduce__(self):
        # pickled (DataLoader workers): rebuild from the dataset with its transforms restored
        dataset = copy(self._dataset)
        dataset.transform = self.transform
        dataset.transforms = self.transforms
        dataset.target_transform = self.target_transform
        return wrap_dataset_for_transforms_v2, (dataset, self._target_keys)


def _not_supported(description):
    raise RuntimeError(f"{description} is currently not supported by this wrapper. If this would "
                       "be helpful for you, please open an issue at "
                       "https://github.com/pytorch/vision/issues.")


def _identity_factory(dataset, target_keys):
    def wrapper(idx, sample):
        return sample
    return wrapper


def _to_mask(pil_image):
    from . import Mask

    return Mask(pil_image)


def _parse_target_keys(target_keys, *, available, default):
    if target_keys is None:
        target_keys = default
    if target_keys == "all":
        return available
    target_keys = set(target_keys)
    extra = target_keys - available
    if extra:
        raise ValueError(f"Target keys {sorted(extra)} are not available")
    return target_keys


def _dict_of_lists(list_of_dicts):
    out = defaultdict(list)
    for item in list_of_dicts:
        for key, value in item.items():
            out[key].append(value)
    return dict(out)


def _wrap_by_type(target, *, target_types, type_wrappers):
    if not isinstance(target, (tuple, list)):
        target = [target]
    wrapped = tuple(type_wrappers.get(kind, lambda item: item)(item)
                    for kind, item in zip(target_types, target))
    return wrapped[0] if len(wrapped) == 1 else wrapped


def _xywh_to_xyxy_boxes(boxes, canvas_size):
    from ..transforms.v2 import functional as F
    from . import BoundingBoxes, BoundingBoxFormat

    return F.convert_bounding_box_format(
        BoundingBoxes(boxes, format=BoundingBoxFormat.XYWH, canvas_size=canvas_size),
        new_format=BoundingBoxFormat.XYXY)


def _segmentation_factory(dataset, target_keys):
    def wrapper(idx, sample):
        image, mask = sample
        return image, _to_mask(mask)
    return wrapper


def _caltech101_factory(dataset, target_keys):
    if "annotation" in dataset.target_type:
        _not_supported("Caltech101 dataset with `target_type=['annotation', ...]`")
    return _identity_factory(dataset, target_keys)


def _coco_detection_factory(dataset, target_keys):
    import ember

    from ..transforms.v2 import functional as F
    from . import Mask

    target_keys = _parse_target_keys(
        target_keys, available={"segmentation", "area", "iscrowd", "image_id", "bbox",
                                "category_id", "boxes", "masks", "labels"},
        default={"image_id", "boxes", "labels"})

    def segmentation_to_mask(segmentation, *, canvas_size):
        try:
            from pycocotools import mask
        except ImportError as err:
            raise RuntimeError("CocoDetection masks need pycocotools to rasterize the "
                               "segmentations: pip install pycocotools") from err
        if isinstance(segmentation, dict):
            if not isinstance(segmentation["counts"], str):  # a str is an encoded RLE already
                segmentation = mask.frPyObjects(segmentation, *canvas_size)
        elif isinstance(segmentation, list):
            segmentation = mask.merge(mask.frPyObjects(segmentation, *canvas_size))
        else:
            raise ValueError("COCO segmentation expected to be a dict or a list, got "
                             f"{type(segmentation)}")
        return ember.from_numpy(mask.decode(segmentation))

    def wrapper(idx, sample):
        image_id = dataset.ids[idx]
        image, target = sample
        if not target:
            return image, dict(image_id=image_id)
        canvas_size = tuple(F.get_size(image))
        batched = _dict_of_lists(target)
        target = {}
        if "image_id" in target_keys:
            target["image_id"] = image_id
        if "boxes" in target_keys:
            target["boxes"] = _xywh_to_xyxy_boxes(batched["bbox"], canvas_size)
        if "masks" in target_keys:
            target["masks"] = Mask(ember.stack([
                segmentation_to_mask(s, canvas_size=canvas_size)
                for s in batched["segmentation"]]))
        if "labels" in target_keys:
            target["labels"] = ember.tensor(batched["category_id"])
        for key in target_keys - {"image_id", "boxes", "masks", "labels"}:
            target[key] = batched[key]
        return image, target
    return wrapper


VOC_DETECTION_CATEGORIES = [
    "__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep",
    "sofa", "train", "tvmonitor"]
VOC_DETECTION_CATEGORY_TO_IDX = {name: i for i, name in enumerate(VOC_DETECTION_CATEGORIES)}


def _voc_detection_factory(dataset, target_keys):
    import ember

    from . import BoundingBoxes, BoundingBoxFormat

    target_keys = _parse_target_keys(target_keys, available={"annotation", "boxes", "labels"},
                                     default={"boxes", "labels"})

    def wrapper(idx, sample):
        image, target = sample
        batched = _dict_of_lists(target["annotation"]["object"])
        if "annotation" not in target_keys:
            target = {}
        if "boxes" in target_keys:
            target["boxes"] = BoundingBoxes(
                [[int(box[part]) for part in ("xmin", "ymin", "xmax", "ymax")]
                 for box in batched["bndbox"]],
                format=BoundingBoxFormat.XYXY, canvas_size=(image.height, image.width))
        if "labels" in target_keys:
            target["labels"] = ember.tensor([VOC_DETECTION_CATEGORY_TO_IDX[name]
                                             for name in batched["name"]])
        return image, target
    return wrapper


def _celeba_factory(dataset, target_keys):
    if any(kind in dataset.target_type for kind in ["attr", "landmarks"]):
        _not_supported("`CelebA` dataset with `target_type=['attr', 'landmarks', ...]`")

    def wrapper(idx, sample):
        image, target = sample
        target = _wrap_by_type(target, target_types=dataset.target_type, type_wrappers={
            "bbox": lambda item: _xywh_to_xyxy_boxes(item, (image.height, image.width))})
        return image, target
    return wrapper


KITTI_CATEGORIES = ["Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram",
                    "Misc", "DontCare"]
KITTI_CATEGORY_TO_IDX = {name: i for i, name in enumerate(KITTI_CATEGORIES)}


def _kitti_factory(dataset, target_keys):
    import ember

    from . import BoundingBoxes, BoundingBoxFormat

    target_keys = _parse_target_keys(
        target_keys, available={"type", "truncated", "occluded", "alpha", "bbox", "dimensions",
                                "location", "rotation_y", "boxes", "labels"},
        default={"boxes", "labels"})

    def wrapper(idx, sample):
        image, target = sample
        if target is None:
            return image, target
        batched = _dict_of_lists(target)
        target = {}
        if "boxes" in target_keys:
            target["boxes"] = BoundingBoxes(batched["bbox"], format=BoundingBoxFormat.XYXY,
                                            canvas_size=(image.height, image.width))
        if "labels" in target_keys:
            target["labels"] = ember.tensor([KITTI_CATEGORY_TO_IDX[name]
                                             for name in batched["type"]])
        for key in target_keys - {"boxes", "labels"}:
            target[key] = batched[key]
        return image, target
    return wrapper


def _oxford_iiit_pet_factory(dataset, target_keys):
    def wrapper(idx, sample):
        image, target = sample
        if target is not None:
            target = _wrap_by_type(target, target_types=dataset._target_types,
                                   type_wrappers={"segmentation": _to_mask})
        return image, target
    return wrapper


def _cityscapes_factory(dataset, target_keys):
    import ember

    from . import Mask

    if any(kind in dataset.target_type for kind in ["polygon", "color"]):
        _not_supported("`Cityscapes` dataset with `target_type=['polygon', 'color', ...]`")

    def instances(mask):
        # ids >= 1000 are instances (class id * 1000 + instance number); below, whole classes
        data = _to_mask(mask)
        masks, labels = [], []
        for value in data.unique():
            masks.append(data == value)
            labels.append(value // 1000 if value >= 1000 else value)
        return dict(masks=Mask(ember.stack(masks)), labels=ember.stack(labels))

    def wrapper(idx, sample):
        image, target = sample
        target = _wrap_by_type(target, target_types=dataset.target_type, type_wrappers={
            "instance": instances, "semantic": _to_mask})
        return image, target
    return wrapper


def _widerface_factory(dataset, target_keys):
    target_keys = _parse_target_keys(
        target_keys, available={"bbox", "blur", "expression", "illumination", "occlusion",
                                "pose", "invalid"}, default="all")

    def wrapper(idx, sample):
        image, target = sample
        if target is None:  # the test split
            return image, target
        target = {key: target[key] for key in target_keys}
        if "bbox" in target_keys:
            target["bbox"] = _xywh_to_xyxy_boxes(target["bbox"], (image.height, image.width))
        return image, target
    return wrapper


def _register() -> None:
    """Fill ``WRAPPER_FACTORIES`` (on first use: datasets import lazily)."""
    if WRAPPER_FACTORIES:
        return
    from .. import datasets

    factories = {name: _identity_factory for name in (
        "Caltech256", "CIFAR10", "CIFAR100", "ImageNet", "MNIST", "FashionMNIST", "GTSRB",
        "DatasetFolder", "ImageFolder", "Imagenette", "CocoCaptions")}
    factories.update(VOCSegmentation=_segmentation_factory, Caltech101=_caltech101_factory,
                     CocoDetection=_coco_detection_factory,
                     VOCDetection=_voc_detection_factory, CelebA=_celeba_factory,
                     OxfordIIITPet=_oxford_iiit_pet_factory, Kitti=_kitti_factory,
                     Cityscapes=_cityscapes_factory, WIDERFace=_widerface_factory)
    for name, factory in factories.items():
        cls = getattr(datasets, name, None)
        if cls is not None:
            WRAPPER_FACTORIES.register(cls)(factory)
