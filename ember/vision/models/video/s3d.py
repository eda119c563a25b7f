"""S3D (Xie et al., "Rethinking Spatiotemporal Feature Learning: Speed-Accuracy Trade-offs in
Video Classification", 2018), built module for module like ``torchvision.models.video.s3d``.

S3D is Inception-v1 lifted to clips, with every k x k convolution of the inception branches
split into a spatial 1 x k x k convolution followed by a temporal k x 1 x 1 one
(:class:`TemporalSeparableConv`). The head is a fixed 2x7x7 average pool, dropout and a 1x1x1
convolution, averaged over what is left of time and space; the smallest clip it accepts is
about 13 frames of 224 x 224.
State_dict keys equal torchvision's (``features.0.0.0.weight``, ...,
``features.15.branch3.1.1.bias``, ``classifier.1.weight``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .... import cat, nn
from ...._tensor import Tensor
from ...ops.layers import Conv3dNormActivation
from .resnet import _check_weights, _video_enum

__all__ = ["S3D", "S3D_Weights", "s3d"]


class TemporalSeparableConv(nn.Sequential):
    """A k x k x k convolution factored into spatial (1 x k x k, carrying the spatial stride)
    and temporal (k x 1 x 1, carrying the temporal stride) conv-norm-ReLU blocks.

    Example:
        >>> conv = TemporalSeparableConv(3, 8, 3, 1, 1, nn.BatchNorm3d)
        >>> conv(ember.randn(1, 3, 4, 8, 8)).shape
        torch.Size([1, 8, 4, 8, 8])
    """

    def __init__(self, in_planes: int, out_planes: int, kernel_size: int, stride: int,
                 padding: int, norm_layer: Callable[..., nn.Module]) -> None:
        spatial = Conv3dNormActivation(
            in_planes, out_planes, kernel_size=(1, kernel_size, kernel_size),
            stride=(1, stride, stride), padding=(0, padding, padding), bias=False,
            norm_layer=norm_layer)
        temporal = Conv3dNormActivation(
            out_planes, out_planes, kernel_size=(kernel_size, 1, 1), stride=(stride, 1, 1),
            padding=(padding, 0, 0), bias=False, norm_layer=norm_layer)
        super().__init__(spatial, temporal)


class SepInceptionBlock3D(nn.Module):
    """An inception block with separable 3-D branches, concatenated along channels:
    1x1x1 (``b0_out``); 1x1x1 to ``b1_mid`` then separable 3x3x3 to ``b1_out``; the same with
    ``b2_mid`` / ``b2_out``; and a 3x3x3 max pool followed by 1x1x1 to ``b3_out``.

    Example:
        >>> block = SepInceptionBlock3D(8, 2, 3, 4, 2, 3, 1, nn.BatchNorm3d)
        >>> block(ember.randn(1, 8, 2, 4, 4)).shape
        torch.Size([1, 10, 2, 4, 4])
    """

    def __init__(self, in_planes: int, b0_out: int, b1_mid: int, b1_out: int, b2_mid: int,
                 b2_out: int, b3_out: int, norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__()

        def pointwise(cin: int, cout: int) -> nn.Module:
            return Conv3dNormActivation(cin, cout, kernel_size=1, stride=1, norm_layer=norm_layer)

        def separable(cin: int, cout: int) -> nn.Module:
            return TemporalSeparableConv(cin, cout, kernel_size=3, stride=1, padding=1,
                                         norm_layer=norm_layer)

        self.branch0 = pointwise(in_planes, b0_out)
        self.branch1 = nn.Sequential(pointwise(in_planes, b1_mid), separable(b1_mid, b1_out))
        self.branch2 = nn.Sequential(pointwise(in_planes, b2_mid), separable(b2_mid, b2_out))
        self.branch3 = nn.Sequential(nn.MaxPool3d(kernel_size=(3, 3, 3), stride=1, padding=1),
                                     pointwise(in_planes, b3_out))

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


# (in, 1x1, 3x3 reduce, 3x3, second 3x3 reduce, second 3x3, pool projection), per block
_INCEPTION = {
    "3b": (192, 64, 96, 128, 16, 32, 32),
    "3c": (256, 128, 128, 192, 32, 96, 64),
    "4b": (480, 192, 96, 208, 16, 48, 64),
    "4c": (512, 160, 112, 224, 24, 64, 64),
    "4d": (512, 128, 128, 256, 24, 64, 64),
    "4e": (512, 112, 144, 288, 32, 64, 64),
    "4f": (528, 256, 160, 320, 32, 128, 128),
    "5b": (832, 256, 160, 320, 32, 128, 128),
    "5c": (832, 384, 192, 384, 48, 128, 128),
}


class S3D(nn.Module):
    """S3D-G's backbone and classifier for clips ``(N, 3, T, H, W)`` (T >= 13, H, W >= 224).

    Args:
        num_classes (int): classifier outputs (400 for Kinetics-400).
        dropout (float): dropout probability before the classifier.
        norm_layer: the norm after each convolution; default ``BatchNorm3d`` with
            ``eps=0.001, momentum=0.001``.

    Example:
        >>> model = S3D(num_classes=4).eval()
        >>> model(ember.randn(1, 3, 13, 224, 224)).shape  # doctest: +SKIP
        torch.Size([1, 4])
    """

    def __init__(self, num_classes: int = 400, dropout: float = 0.2,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = partial(nn.BatchNorm3d, eps=0.001, momentum=0.001)

        def inception(block: str) -> nn.Module:
            return SepInceptionBlock3D(*_INCEPTION[block], norm_layer=norm_layer)

        self.features = nn.Sequential(
            TemporalSeparableConv(3, 64, 7, 2, 3, norm_layer),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            Conv3dNormActivation(64, 64, kernel_size=1, stride=1, norm_layer=norm_layer),
            TemporalSeparableConv(64, 192, 3, 1, 1, norm_layer),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            inception("3b"), inception("3c"),
            nn.MaxPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1)),
            inception("4b"), inception("4c"), inception("4d"), inception("4e"), inception("4f"),
            nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0)),
            inception("5b"), inception("5c"),
        )
        self.avgpool = nn.AvgPool3d(kernel_size=(2, 7, 7), stride=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Conv3d(1024, num_classes, kernel_size=1, stride=1, bias=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        scores = self.classifier(self.avgpool(self.features(x)))
        # the 1x1x1 classifier leaves a score per remaining position; average them
        return scores.mean(dim=(2, 3, 4))


S3D_Weights = _video_enum("S3D_Weights", __name__, [
    ("KINETICS400_V1", "s3d-d76dad2f.pth",
     {"min_size": (224, 224), "min_temporal_size": 14, "num_params": 8320048,
      "recipe": "https://github.com/pytorch/vision/tree/main/references/video_classification#s3d",
      "_metrics": {"Kinetics-400": {"acc@1": 68.368, "acc@5": 88.05}}})])


def s3d(*, weights: S3D_Weights | None = None, progress: bool = True, **kwargs: Any) -> S3D:
    """S3D for video classification.

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`S3D` (``num_classes``, ``dropout``, ``norm_layer``).

    Example:
        >>> model = s3d(num_classes=4)
        >>> model.classifier[1].out_channels
        4
    """
    _check_weights("s3d", S3D_Weights, weights, kwargs)
    return S3D(**kwargs)
