"""Transforms v2, as ``torchvision.transforms.v2``: one call transforms an image together with
its ``tv_tensors`` (bounding boxes, masks) with a single random draw.

Example:
    >>> from ember.vision.transforms import v2
    >>> tf = v2.Compose([v2.ToImage(), v2.RandomHorizontalFlip(p=0.5),
    ...                  v2.ToDtype(ember.float32, scale=True)])
    >>> img, target = tf(pil_img, {"boxes": boxes, "labels": labels})
"""

from .._functional_base import InterpolationMode
from . import functional
from ._augment import (
    RGB,
    CutMix,
    GaussianBlur,
    Grayscale,
    MixUp,
    RandomChannelPermutation,
    RandomErasing,
    RandomGrayscale,
)
from ._auto_augment import (
    AugMix,
    AutoAugment,
    AutoAugmentPolicy,
    RandAugment,
    TrivialAugmentWide,
)
from ._detection import (
    RandomIoUCrop,
    RandomPhotometricDistort,
    RandomResize,
    RandomShortestSize,
    ScaleJitter,
)
from ._keypoints import ClampKeyPoints, SanitizeKeyPoints
from ._misc import (
    JPEG,
    ConvertImageDtype,
    ElasticTransform,
    FiveCrop,
    GaussianNoise,
    LinearTransformation,
    RandomOrder,
    TenCrop,
    ToTensor,
)
from ._pil_conversion import PILToTensor, ToPILImage
from ._random_color import (
    RandomAdjustSharpness,
    RandomAutocontrast,
    RandomEqualize,
    RandomInvert,
    RandomPosterize,
    RandomSolarize,
)
from ._temporal import UniformTemporalSubsample
from ._transform import (
    Transform,
    check_type,
    get_bounding_boxes,
    get_keypoints,
    has_all,
    has_any,
    query_chw,
    query_size,
)
from ._transforms import (
    CenterCrop,
    ClampBoundingBoxes,
    ColorJitter,
    Compose,
    ConvertBoundingBoxFormat,
    Identity,
    Lambda,
    Normalize,
    Pad,
    RandomAffine,
    RandomApply,
    RandomChoice,
    RandomCrop,
    RandomHorizontalFlip,
    RandomPerspective,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    RandomZoomOut,
    Resize,
    SanitizeBoundingBoxes,
    SetClampingMode,
    ToDtype,
    ToImage,
    ToPureTensor,
)

__all__ = ["functional", "InterpolationMode", "Transform", "CenterCrop", "ClampBoundingBoxes",
           "ColorJitter", "Compose", "Identity", "Lambda", "Normalize", "Pad", "RandomAffine",
           "RandomApply",
           "RandomChoice", "RandomCrop", "RandomHorizontalFlip", "RandomPerspective",
           "RandomResizedCrop",
           "RandomRotation", "RandomVerticalFlip", "Resize", "SanitizeBoundingBoxes", "ToDtype",
           "ToImage", "ToPureTensor", "CutMix", "GaussianBlur", "Grayscale", "MixUp",
           "RandomErasing", "RandomGrayscale", "AutoAugment", "AutoAugmentPolicy",
           "RandAugment", "TrivialAugmentWide", "AugMix", "ConvertBoundingBoxFormat",
           "RandomZoomOut", "RandomPhotometricDistort", "RandomIoUCrop", "ScaleJitter",
           "RandomShortestSize", "RandomResize", "ClampKeyPoints", "SanitizeKeyPoints",
           "RandomInvert", "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness",
           "RandomAutocontrast", "RandomEqualize", "PILToTensor", "ToPILImage"]
__all__ += ["ElasticTransform", "GaussianNoise", "RandomOrder", "FiveCrop", "TenCrop",
            "LinearTransformation", "JPEG",
            "ToTensor", "ConvertImageDtype", "UniformTemporalSubsample"]
__all__ += ["RGB", "RandomChannelPermutation", "SetClampingMode", "query_chw", "query_size",
            "check_type", "has_all", "has_any", "get_bounding_boxes", "get_keypoints"]
