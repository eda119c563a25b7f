"""Input/output handling of the R-CNN family: normalise, resize and pad images into a batch,
and map predicted boxes back to the input sizes (torchvision.models.detection.transform)."""

from __future__ import annotations

import math

import ember

from .... import nn
from ....nn import functional as F
from .image_list import ImageList
from .roi_heads import paste_masks_in_image

__all__ = ["GeneralizedRCNNTransform", "resize_boxes", "resize_keypoints"]


def resize_keypoints(keypoints, original_size, new_size):
    """Scale keypoints ``[..., (x, y, visibility)]`` from an image of ``original_size``
    (h, w) to one of ``new_size``; the visibility is kept.

    Example:
        >>> resize_keypoints(ember.tensor([[[1., 2, 1]]]), (10, 10), (20, 40))
        tensor([[[4., 4., 1.]]])
    """
    ratio_h, ratio_w = (ember.tensor(float(new), dtype=ember.float32, device=keypoints.device)
                        / ember.tensor(float(old), dtype=ember.float32,
                                       device=keypoints.device)
                        for new, old in zip(new_size, original_size))
    scaled = keypoints.clone()
    scaled[..., 0] *= ratio_w
    scaled[..., 1] *= ratio_h
    return scaled


def resize_boxes(boxes, original_size, new_size):
    """Scale ``(x1, y1, x2, y2)`` boxes from an image of ``original_size`` (h, w) to one of
    ``new_size``.

    Example:
        >>> resize_boxes(ember.tensor([[1., 2, 3, 4]]), (10, 10), (20, 40))
        tensor([[ 4.,  4., 12.,  8.]])
    """
    # the ratios are float32 divisions of the sizes, as in torchvision
    ratio_h, ratio_w = (ember.tensor(float(new), dtype=ember.float32, device=boxes.device)
                        / ember.tensor(float(old), dtype=ember.float32, device=boxes.device)
                        for new, old in zip(new_size, original_size))
    x1, y1, x2, y2 = boxes.unbind(1)
    return ember.stack((x1 * ratio_w, y1 * ratio_h, x2 * ratio_w, y2 * ratio_h), dim=1)


def _resize_image(image, min_side: float, max_side: float, fixed_size, masks=None):
    # returns the resized image, and the masks (if any) resized alike with nearest
    # neighbours and stored as uint8
    if fixed_size is not None:
        # torchvision reads fixed_size as (width, height)
        how = {"size": [fixed_size[1], fixed_size[0]]}
    else:
        h, w = image.shape[-2:]
        # torchvision 0.28 computes the scale in double precision (probed: floor(side *
        # scale) gives its output sizes exactly, a float32 scale does not)
        how = {"scale_factor": min(min_side / min(h, w), max_side / max(h, w)),
               "recompute_scale_factor": True}
    image = F.interpolate(image[None], mode="bilinear", align_corners=False, **how)[0]
    if masks is not None:
        masks = F.interpolate(masks[:, None].float(), **how)[:, 0].byte()
    return image, masks


class GeneralizedRCNNTransform(nn.Module):
    """Prepare images (and targets) for an R-CNN model and undo the resize on its outputs.

    Each image is normalised with ``image_mean``/``image_std`` and resized (bilinear) so that
    its short side becomes ``min_size`` unless that would make the long side exceed
    ``max_size``; target boxes are scaled along. The images are then zero-padded to one size,
    a multiple of ``size_divisible``, as an :class:`ImageList`. In training ``min_size`` is
    drawn uniformly from the ``min_size`` tuple (one ``uniform_`` draw per image from the
    global generator); in eval its last entry is used.

    Args:
        min_size (int or Tuple[int]): short-side target(s).
        max_size (int): the long side's limit.
        image_mean (List[float]), image_std (List[float]): per-channel normalisation.
        size_divisible (int): pad height and width to multiples of this. Default: 32.
        fixed_size (Tuple[int, int], optional): resize every image to this ``(width, height)``
            instead.

    Example:
        >>> t = GeneralizedRCNNTransform(64, 80, [0.5] * 3, [0.25] * 3).eval()
        >>> batch, _ = t([ember.rand(3, 20, 30)])
        >>> batch.image_sizes, tuple(batch.tensors.shape)
        ([(53, 80)], (1, 3, 64, 96))
    """

    def __init__(self, min_size, max_size: int, image_mean, image_std, size_divisible: int = 32,
                 fixed_size=None, **kwargs) -> None:
        super().__init__()
        # one short side becomes a one-element tuple (training draws from the tuple)
        self.min_size = min_size if isinstance(min_size, (list, tuple)) else (min_size,)
        self.max_size, self.fixed_size = max_size, fixed_size
        self.image_mean, self.image_std = image_mean, image_std
        self.size_divisible = size_divisible
        self._skip_resize = kwargs.pop("_skip_resize", False)

    def forward(self, images, targets=None):
        images = list(images)
        if targets is not None:
            # the caller's dicts stay untouched: boxes are replaced in copies
            targets = [dict(t) for t in targets]
        for i, image in enumerate(images):
            if image.dim() != 3:
                raise ValueError("images is expected to be a list of 3d tensors of shape "
                                 f"[C, H, W], got {image.shape}")
            target = targets[i] if targets is not None else None
            image, target = self.resize(self.normalize(image), target)
            images[i] = image
            if targets is not None:
                targets[i] = target
        sizes = [(int(img.shape[-2]), int(img.shape[-1])) for img in images]
        return ImageList(self.batch_images(images, self.size_divisible), sizes), targets

    def normalize(self, image):
        """``(image - mean) / std`` per channel; ``image`` must be floating point."""
        if not image.is_floating_point():
            raise TypeError("Expected input images to be of floating type (in range [0, 1]), "
                            f"but found type {image.dtype} instead")
        mean = ember.as_tensor(self.image_mean, dtype=image.dtype, device=image.device)
        std = ember.as_tensor(self.image_std, dtype=image.dtype, device=image.device)
        return (image - mean[:, None, None]) / std[:, None, None]

    def torch_choice(self, k):
        """One element of ``k``, drawn uniformly with the global generator."""
        return k[int(ember.empty(1).uniform_(0.0, float(len(k))).item())]

    def resize(self, image, target=None):
        """Resize one image (and its target's boxes) as described in the class docstring."""
        h, w = image.shape[-2:]
        if self.training:
            if self._skip_resize:
                return image, target
            side = self.torch_choice(self.min_size)
        else:
            side = self.min_size[-1]
        masks = None if target is None else target.get("masks")
        image, masks = _resize_image(image, float(side), float(self.max_size), self.fixed_size,
                                     masks)
        if target is not None:
            target["boxes"] = resize_boxes(target["boxes"], (h, w), image.shape[-2:])
            if masks is not None:
                target["masks"] = masks
            if "keypoints" in target:
                target["keypoints"] = resize_keypoints(target["keypoints"], (h, w),
                                                       image.shape[-2:])
        return image, target

    def max_by_axis(self, the_list):
        """The elementwise maximum of a list of equal-length int lists."""
        return [max(column) for column in zip(*the_list)]

    def batch_images(self, images, size_divisible: int = 32):
        """Zero-pad ``images`` into one ``Tensor[N, C, H, W]``, ``H`` and ``W`` rounded up to
        multiples of ``size_divisible``."""
        shape = self.max_by_axis([list(img.shape) for img in images])
        stride = float(size_divisible)
        shape[1] = int(math.ceil(float(shape[1]) / stride) * stride)
        shape[2] = int(math.ceil(float(shape[2]) / stride) * stride)
        batch = images[0].new_full([len(images)] + shape, 0)
        for img, slot in zip(images, batch):
            slot[:img.shape[0], :img.shape[1], :img.shape[2]].copy_(img)
        return batch

    def postprocess(self, result, image_shapes, original_image_sizes):
        """In eval, scale each detection's boxes (and keypoints) from the resized to the
        original image size and paste its mask probabilities into an original-size image
        (in training ``result`` is returned as it is)."""
        if self.training:
            return result
        for pred, resized, original in zip(result, image_shapes, original_image_sizes):
            pred["boxes"] = resize_boxes(pred["boxes"], resized, original)
            if "masks" in pred:
                pred["masks"] = paste_masks_in_image(pred["masks"], pred["boxes"], original)
            if "keypoints" in pred:
                pred["keypoints"] = resize_keypoints(pred["keypoints"], resized, original)
        return result

    def __repr__(self) -> str:
        pad = "\n    "
        return (f"{self.__class__.__name__}("
                f"{pad}Normalize(mean={self.image_mean}, std={self.image_std})"
                f"{pad}Resize(min_size={self.min_size}, max_size={self.max_size}, "
                "mode='bilinear')\n)")
