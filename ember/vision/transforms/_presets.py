"""The inference transforms a pretrained checkpoint expects (``weights.transforms()``), as
``torchvision.transforms._presets`` provides them: ``ImageClassification``,
``ObjectDetection``, ``SemanticSegmentation``, ``VideoClassification`` and ``OpticalFlow``.

Each is a parameter-free ``nn.Module``; ``describe()`` says in words what it does, and the
repr lists its settings one per line.
"""

from __future__ import annotations

from typing import Any

from ... import float32, nn
from ..._tensor import Tensor
from . import functional as F
from .functional import InterpolationMode

__all__ = ["ObjectDetection", "ImageClassification", "VideoClassification",
           "SemanticSegmentation", "OpticalFlow"]

_IMAGE_INPUTS = ("Accepts ``PIL.Image``, batched ``(B, C, H, W)`` and single ``(C, H, W)`` image "
                 "``torch.Tensor`` objects.")


def _as_float(img: Any) -> Tensor:
    # a PIL image becomes a uint8 tensor first; then every input goes to float32 in [0, 1]
    # (integer images are rescaled, floating ones only change dtype)
    if not isinstance(img, Tensor):
        img = F.pil_to_tensor(img)
    return F.convert_image_dtype(img, float32)


def _sizes(value) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


def _settings_repr(module: nn.Module, names: tuple[str, ...]) -> str:
    body = "".join(f"\n    {name}={getattr(module, name)}" for name in names)
    return f"{type(module).__name__}({body}\n)"


def _normalize_words(mean, std) -> str:
    return (f"Finally the values are first rescaled to ``[0.0, 1.0]`` and then normalized using "
            f"``mean={mean}`` and ``std={std}``.")


class ObjectDetection(nn.Module):
    """Detection preset: the image as float32 in ``[0, 1]``, nothing else (the detector
    resizes and normalizes inside).

    Example:
        >>> ObjectDetection()(ember.full((3, 2, 2), 255, dtype=ember.uint8)).max()
        tensor(1.)
    """

    def forward(self, img: Any) -> Tensor:
        return _as_float(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def describe(self) -> str:
        return _IMAGE_INPUTS + " The images are rescaled to ``[0.0, 1.0]``."


class ImageClassification(nn.Module):
    """Classification preset: resize the shorter side to ``resize_size``, center-crop
    ``crop_size``, rescale to ``[0, 1]`` float32 and normalize with ``mean``/``std``.

    Example:
        >>> t = ImageClassification(crop_size=224)
        >>> t(ember.zeros(3, 300, 280, dtype=ember.uint8)).shape
        torch.Size([3, 224, 224])
    """

    def __init__(self, *, crop_size: int, resize_size: int = 256,
                 mean: tuple[float, ...] = (0.485, 0.456, 0.406),
                 std: tuple[float, ...] = (0.229, 0.224, 0.225),
                 interpolation: InterpolationMode = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> None:
        super().__init__()
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean, self.std = list(mean), list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img: Any) -> Tensor:
        img = F.resize(img, self.resize_size, interpolation=self.interpolation,
                       antialias=self.antialias)
        img = F.center_crop(img, self.crop_size)
        return F.normalize(_as_float(img), mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        return _settings_repr(self, ("crop_size", "resize_size", "mean", "std",
                                     "interpolation"))

    def describe(self) -> str:
        return (f"{_IMAGE_INPUTS} The images are resized to ``resize_size={self.resize_size}`` "
                f"using ``interpolation={self.interpolation}``, followed by a central crop of "
                f"``crop_size={self.crop_size}``. " + _normalize_words(self.mean, self.std))


class VideoClassification(nn.Module):
    """Video preset for ``(T, C, H, W)`` clips (or batches ``(B, T, C, H, W)``): every frame
    resized and center-cropped, rescaled and normalized, then the result laid out as
    ``(..., C, T, H, W)``.

    Example:
        >>> t = VideoClassification(crop_size=(112, 112), resize_size=(128, 171))
        >>> t(ember.zeros(4, 3, 130, 180, dtype=ember.uint8)).shape
        torch.Size([3, 4, 112, 112])
    """

    def __init__(self, *, crop_size: tuple[int, int], resize_size,
                 mean: tuple[float, ...] = (0.43216, 0.394666, 0.37645),
                 std: tuple[float, ...] = (0.22803, 0.22145, 0.216989),
                 interpolation: InterpolationMode = InterpolationMode.BILINEAR) -> None:
        super().__init__()
        self.crop_size = _sizes(crop_size)
        self.resize_size = _sizes(resize_size)
        self.mean, self.std = list(mean), list(std)
        self.interpolation = interpolation

    def forward(self, vid: Tensor) -> Tensor:
        single = vid.ndim < 5
        if single:  # one clip: a batch of one, taken off again at the end
            vid = vid.unsqueeze(0)
        b, t, c, h, w = vid.shape
        frames = vid.reshape(-1, c, h, w)
        # antialias off: the checkpoints were evaluated on frames resized without it
        frames = F.resize(frames, self.resize_size, interpolation=self.interpolation,
                          antialias=False)
        frames = F.center_crop(frames, self.crop_size)
        frames = F.normalize(F.convert_image_dtype(frames, float32), mean=self.mean,
                             std=self.std)
        out = frames.reshape(b, t, c, *frames.shape[-2:]).permute(0, 2, 1, 3, 4)
        return out.squeeze(0) if single else out

    def __repr__(self) -> str:
        return _settings_repr(self, ("crop_size", "resize_size", "mean", "std",
                                     "interpolation"))

    def describe(self) -> str:
        return ("Accepts batched ``(B, T, C, H, W)`` and single ``(T, C, H, W)`` video frame "
                f"``torch.Tensor`` objects. The frames are resized to ``resize_size="
                f"{self.resize_size}`` using ``interpolation={self.interpolation}``, followed by "
                f"a central crop of ``crop_size={self.crop_size}``. "
                + _normalize_words(self.mean, self.std)
                + " Finally the output dimensions are permuted to ``(..., C, T, H, W)`` tensors.")


class SemanticSegmentation(nn.Module):
    """Segmentation preset: resize the shorter side to ``resize_size`` (``None``: keep the
    size), rescale to ``[0, 1]`` float32 and normalize; no crop.

    Example:
        >>> t = SemanticSegmentation(resize_size=52)
        >>> t(ember.zeros(3, 100, 80, dtype=ember.uint8)).shape
        torch.Size([3, 65, 52])
    """

    def __init__(self, *, resize_size: int | None,
                 mean: tuple[float, ...] = (0.485, 0.456, 0.406),
                 std: tuple[float, ...] = (0.229, 0.224, 0.225),
                 interpolation: InterpolationMode = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> None:
        super().__init__()
        self.resize_size = [resize_size] if resize_size is not None else None
        self.mean, self.std = list(mean), list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img: Any) -> Tensor:
        if isinstance(self.resize_size, list):
            img = F.resize(img, self.resize_size, interpolation=self.interpolation,
                           antialias=self.antialias)
        return F.normalize(_as_float(img), mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        return _settings_repr(self, ("resize_size", "mean", "std", "interpolation"))

    def describe(self) -> str:
        return (f"{_IMAGE_INPUTS} The images are resized to ``resize_size={self.resize_size}`` "
                f"using ``interpolation={self.interpolation}``. "
                + _normalize_words(self.mean, self.std))


class OpticalFlow(nn.Module):
    """Optical-flow preset: both frames to float32, mapped from ``[0, 1]`` to ``[-1, 1]`` and
    made contiguous; returns the pair.

    Example:
        >>> a, b = OpticalFlow()(ember.zeros(3, 4, 4, dtype=ember.uint8),
        ...                      ember.zeros(3, 4, 4, dtype=ember.uint8))
        >>> a.min()
        tensor(-1.)
    """

    def forward(self, img1: Any, img2: Any) -> tuple[Tensor, Tensor]:
        def prepare(img):
            img = F.normalize(_as_float(img), mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
            return img.contiguous()

        return prepare(img1), prepare(img2)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def describe(self) -> str:
        return _IMAGE_INPUTS + " The images are rescaled to ``[-1.0, 1.0]``."
