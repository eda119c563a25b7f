"""RAFT optical flow ("RAFT: Recurrent All-Pairs Field Transforms for Optical Flow", Teed and
Deng, 2020), mirroring ``torchvision.models.optical_flow.raft``: module names, state_dict keys,
seeded initialisation and outputs.

The network encodes both frames at 1/8 resolution, correlates every pixel of the first with
every pixel of the second (a 4-level pyramid of all-pairs dot products), and refines a flow
field with a convolutional GRU that looks up the correlation around its current estimate.

Example:
    >>> model = raft_small().eval()
    >>> frames = ember.rand(1, 3, 128, 128), ember.rand(1, 3, 128, 128)
    >>> flows = model(*frames, num_flow_updates=1)
    >>> len(flows), tuple(flows[-1].shape)
    (1, (1, 2, 128, 128))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from .... import arange, cat, linspace, meshgrid, nn, relu, sigmoid, softmax, stack, tanh, tensor
from .... import sum as _sum
from ...._tensor import Tensor
from ....nn import functional as F
from ...ops.layers import Conv2dNormActivation
from .. import _api
from .._utils import _no_pretrained

__all__ = ("RAFT", "raft_large", "raft_small", "Raft_Large_Weights", "Raft_Small_Weights")


def _normalized_grid_sample(image: Tensor, pixel_coords: Tensor) -> Tensor:
    # the coordinates are in pixels (x first); grid_sample wants [-1, 1] with the corner pixels'
    # centres at the ends (align_corners=True), so a size-1 axis keeps its raw value
    height, width = image.shape[-2:]
    x, y = pixel_coords[..., :1], pixel_coords[..., 1:]
    x = x * (2.0 / (width - 1)) - 1
    if height > 1:
        y = y * (2.0 / (height - 1)) - 1
    return F.grid_sample(image, cat([x, y], dim=-1), mode="bilinear", align_corners=True)


def _pixel_grid(batch: int, height: int, width: int) -> Tensor:
    # (batch, 2, height, width): channel 0 holds each pixel's x, channel 1 its y
    rows, cols = meshgrid(arange(height), arange(width), indexing="ij")
    grid = stack([cols, rows], dim=0).float()
    return grid[None].repeat(batch, 1, 1, 1)


def _upsample_flow(flow: Tensor, up_mask: Tensor | None = None, factor: int = 8) -> Tensor:
    # flow vectors grow with the image, hence the ``factor *``; with a mask each fine pixel is a
    # learned convex combination of the 3x3 coarse neighbourhood around its coarse pixel
    batch, channels, height, width = flow.shape
    if up_mask is None:
        return factor * F.interpolate(flow, size=(height * factor, width * factor),
                                      mode="bilinear", align_corners=True)
    weights = softmax(up_mask.view(batch, 1, 9, factor, factor, height, width), dim=2)
    patches = F.unfold(factor * flow, kernel_size=3, padding=1)
    patches = patches.view(batch, channels, 9, 1, 1, height, width)
    fine = _sum(weights * patches, dim=2)  # (b, c, f, f, h, w)
    fine = fine.permute(0, 1, 4, 2, 5, 3)  # (b, c, h, f, w, f)
    return fine.reshape(batch, channels, height * factor, width * factor)


class ResidualBlock(nn.Module):
    """Two 3x3 conv-norm-ReLU layers plus a shortcut (RAFT-large's encoder block).

    The shortcut is a strided 1x1 conv + norm when ``stride`` is not 1 (or ``always_project``).

    Example:
        >>> block = ResidualBlock(8, 16, norm_layer=nn.InstanceNorm2d, stride=2)
        >>> tuple(block(ember.rand(1, 8, 16, 16)).shape)
        (1, 16, 8, 8)
    """

    def __init__(self, in_channels: int, out_channels: int, *,
                 norm_layer: Callable[..., nn.Module], stride: int = 1,
                 always_project: bool = False) -> None:
        super().__init__()
        self.convnormrelu1 = Conv2dNormActivation(in_channels, out_channels, kernel_size=3,
                                                  stride=stride, norm_layer=norm_layer,
                                                  bias=True)
        self.convnormrelu2 = Conv2dNormActivation(out_channels, out_channels, kernel_size=3,
                                                  norm_layer=norm_layer, bias=True)
        if stride == 1 and not always_project:
            self.downsample: nn.Module = nn.Identity()
        else:
            self.downsample = Conv2dNormActivation(in_channels, out_channels, kernel_size=1,
                                                   stride=stride, norm_layer=norm_layer,
                                                   bias=True, activation_layer=None)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        branch = self.convnormrelu2(self.convnormrelu1(x))
        return self.relu(self.downsample(x) + branch)


class BottleneckBlock(nn.Module):
    """1x1 reduce (to a quarter), 3x3, 1x1 expand, plus a shortcut (RAFT-small's block).

    Example:
        >>> block = BottleneckBlock(8, 16, norm_layer=nn.InstanceNorm2d, stride=2)
        >>> tuple(block(ember.rand(1, 8, 16, 16)).shape)
        (1, 16, 8, 8)
    """

    def __init__(self, in_channels: int, out_channels: int, *,
                 norm_layer: Callable[..., nn.Module], stride: int = 1) -> None:
        super().__init__()
        narrow = out_channels // 4
        self.convnormrelu1 = Conv2dNormActivation(in_channels, narrow, kernel_size=1,
                                                  norm_layer=norm_layer, bias=True)
        self.convnormrelu2 = Conv2dNormActivation(narrow, narrow, kernel_size=3, stride=stride,
                                                  norm_layer=norm_layer, bias=True)
        self.convnormrelu3 = Conv2dNormActivation(narrow, out_channels, kernel_size=1,
                                                  norm_layer=norm_layer, bias=True)
        self.relu = nn.ReLU(inplace=True)
        if stride == 1:
            self.downsample: nn.Module = nn.Identity()
        else:
            self.downsample = Conv2dNormActivation(in_channels, out_channels, kernel_size=1,
                                                   stride=stride, norm_layer=norm_layer,
                                                   bias=True, activation_layer=None)

    def forward(self, x: Tensor) -> Tensor:
        branch = self.convnormrelu3(self.convnormrelu2(self.convnormrelu1(x)))
        return self.relu(self.downsample(x) + branch)


class FeatureEncoder(nn.Module):
    """A 7x7 stem, three stages of two blocks and a final 1x1 conv: 1/8 resolution features.

    ``layers`` gives the stem's, the three stages' and the output's channels; ``strides`` the
    stem's and the stages' strides (their product must be 8 for RAFT).

    Example:
        >>> encoder = FeatureEncoder(layers=(8, 8, 12, 16, 20), norm_layer=nn.InstanceNorm2d)
        >>> tuple(encoder(ember.rand(1, 3, 32, 32)).shape)
        (1, 20, 4, 4)
    """

    def __init__(self, *, block: Callable[..., nn.Module] = ResidualBlock,
                 layers: Sequence[int] = (64, 64, 96, 128, 256),
                 strides: Sequence[int] = (2, 1, 2, 2),
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d) -> None:
        super().__init__()
        if len(layers) != 5:
            raise ValueError(f"The expected number of layers is 5, instead got {len(layers)}")
        self.convnormrelu = Conv2dNormActivation(3, layers[0], kernel_size=7, stride=strides[0],
                                                 norm_layer=norm_layer, bias=True)
        stages = []
        for i in range(3):
            first = block(layers[i], layers[i + 1], norm_layer=norm_layer, stride=strides[i + 1])
            second = block(layers[i + 1], layers[i + 1], norm_layer=norm_layer, stride=1)
            stages.append(nn.Sequential(first, second))
        self.layer1, self.layer2, self.layer3 = stages
        self.conv = nn.Conv2d(layers[3], layers[4], kernel_size=1)
        # He-normal (fan_out) conv weights, biases left at the default draw; norms at (1, 0)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)):
                if module.weight is not None:
                    nn.init.constant_(module.weight, 1)
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.convnormrelu(x)
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.conv(x)


class MotionEncoder(nn.Module):
    """Encodes the looked-up correlation features and the current flow into motion features.

    The output has ``out_channels`` channels: ``out_channels - 2`` learned ones, then the flow.

    Example:
        >>> encoder = MotionEncoder(in_channels_corr=20, corr_layers=(16,), flow_layers=(8, 4),
        ...                         out_channels=12)
        >>> flow, corr = ember.rand(1, 2, 4, 4), ember.rand(1, 20, 4, 4)
        >>> tuple(encoder(flow, corr).shape)
        (1, 12, 4, 4)
    """

    def __init__(self, *, in_channels_corr: int, corr_layers: Sequence[int] = (256, 192),
                 flow_layers: Sequence[int] = (128, 64), out_channels: int = 128) -> None:
        super().__init__()
        if len(flow_layers) != 2:
            raise ValueError(f"The expected number of flow_layers is 2, instead got "
                             f"{len(flow_layers)}")
        if len(corr_layers) not in (1, 2):
            raise ValueError(f"The number of corr_layers should be 1 or 2, instead got "
                             f"{len(corr_layers)}")
        self.convcorr1 = Conv2dNormActivation(in_channels_corr, corr_layers[0], kernel_size=1,
                                              norm_layer=None, bias=True)
        if len(corr_layers) == 2:
            self.convcorr2: nn.Module = Conv2dNormActivation(corr_layers[0], corr_layers[1],
                                                             kernel_size=3, norm_layer=None,
                                                             bias=True)
        else:
            self.convcorr2 = nn.Identity()
        self.convflow1 = Conv2dNormActivation(2, flow_layers[0], kernel_size=7, norm_layer=None,
                                              bias=True)
        self.convflow2 = Conv2dNormActivation(flow_layers[0], flow_layers[1], kernel_size=3,
                                              norm_layer=None, bias=True)
        # two channels are left for the raw flow, appended after this conv
        self.conv = Conv2dNormActivation(corr_layers[-1] + flow_layers[-1], out_channels - 2,
                                         kernel_size=3, norm_layer=None, bias=True)
        self.out_channels = out_channels

    def forward(self, flow: Tensor, corr_features: Tensor) -> Tensor:
        corr = self.convcorr2(self.convcorr1(corr_features))
        flow_features = self.convflow2(self.convflow1(flow))
        motion = self.conv(cat([corr, flow_features], dim=1))
        return cat([motion, flow], dim=1)


class ConvGRU(nn.Module):
    """A GRU cell whose gates are convolutions over the hidden state and the input.

    Example:
        >>> gru = ConvGRU(input_size=6, hidden_size=4, kernel_size=3, padding=1)
        >>> h, x = ember.rand(1, 4, 5, 5), ember.rand(1, 6, 5, 5)
        >>> tuple(gru(h, x).shape)
        (1, 4, 5, 5)
    """

    def __init__(self, *, input_size: int, hidden_size: int, kernel_size: Any,
                 padding: Any) -> None:
        super().__init__()
        both = hidden_size + input_size
        self.convz = nn.Conv2d(both, hidden_size, kernel_size=kernel_size, padding=padding)
        self.convr = nn.Conv2d(both, hidden_size, kernel_size=kernel_size, padding=padding)
        self.convq = nn.Conv2d(both, hidden_size, kernel_size=kernel_size, padding=padding)

    def forward(self, h: Tensor, x: Tensor) -> Tensor:
        hx = cat([h, x], dim=1)
        update = sigmoid(self.convz(hx))
        reset = sigmoid(self.convr(hx))
        candidate = tanh(self.convq(cat([reset * h, x], dim=1)))
        return (1 - update) * h + update * candidate


class RecurrentBlock(nn.Module):
    """One or two :class:`ConvGRU` cells applied in turn (``convgru1``, ``convgru2``).

    RAFT-large uses a horizontal (1x5) then a vertical (5x1) cell; RAFT-small one 3x3 cell.

    Example:
        >>> block = RecurrentBlock(input_size=6, hidden_size=4)
        >>> h, x = ember.rand(1, 4, 5, 5), ember.rand(1, 6, 5, 5)
        >>> tuple(block(h, x).shape)
        (1, 4, 5, 5)
    """

    def __init__(self, *, input_size: int, hidden_size: int,
                 kernel_size: Sequence[Any] = ((1, 5), (5, 1)),
                 padding: Sequence[Any] = ((0, 2), (2, 0))) -> None:
        super().__init__()
        if len(kernel_size) != len(padding):
            raise ValueError(f"kernel_size should have the same length as padding, instead got "
                             f"len(kernel_size) = {len(kernel_size)} and len(padding) = "
                             f"{len(padding)}")
        if len(kernel_size) not in (1, 2):
            raise ValueError(f"kernel_size should either 1 or 2, instead got "
                             f"{len(kernel_size)}")
        self.convgru1 = ConvGRU(input_size=input_size, hidden_size=hidden_size,
                                kernel_size=kernel_size[0], padding=padding[0])
        if len(kernel_size) == 2:
            self.convgru2 = ConvGRU(input_size=input_size, hidden_size=hidden_size,
                                    kernel_size=kernel_size[1], padding=padding[1])
        self.hidden_size = hidden_size

    def forward(self, h: Tensor, x: Tensor) -> Tensor:
        h = self.convgru1(h, x)
        # a one-cell block has no ``convgru2`` at all (no key, nothing in its repr)
        second = self._modules.get("convgru2")
        return h if second is None else second(h, x)


class FlowHead(nn.Module):
    """Two 3x3 convs (ReLU between) mapping the hidden state to a flow update.

    Example:
        >>> head = FlowHead(in_channels=4, hidden_size=8)
        >>> tuple(head(ember.rand(1, 4, 5, 5)).shape)
        (1, 2, 5, 5)
    """

    def __init__(self, *, in_channels: int, hidden_size: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, hidden_size, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden_size, 2, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.relu(self.conv1(x)))


class UpdateBlock(nn.Module):
    """One refinement step: motion encoder, recurrent block, flow head.

    Returns the new hidden state and the flow update.

    Example:
        >>> block = UpdateBlock(
        ...     motion_encoder=MotionEncoder(in_channels_corr=20, corr_layers=(16,),
        ...                                  flow_layers=(8, 4), out_channels=12),
        ...     recurrent_block=RecurrentBlock(input_size=12 + 3, hidden_size=4),
        ...     flow_head=FlowHead(in_channels=4, hidden_size=8))
        >>> h, context = ember.rand(1, 4, 5, 5), ember.rand(1, 3, 5, 5)
        >>> corr, flow = ember.rand(1, 20, 5, 5), ember.rand(1, 2, 5, 5)
        >>> [tuple(t.shape) for t in block(h, context, corr, flow)]
        [(1, 4, 5, 5), (1, 2, 5, 5)]
    """

    def __init__(self, *, motion_encoder: nn.Module, recurrent_block: nn.Module,
                 flow_head: nn.Module) -> None:
        super().__init__()
        self.motion_encoder = motion_encoder
        self.recurrent_block = recurrent_block
        self.flow_head = flow_head
        self.hidden_state_size = recurrent_block.hidden_size

    def forward(self, hidden_state: Tensor, context: Tensor, corr_features: Tensor,
                flow: Tensor) -> tuple[Tensor, Tensor]:
        motion = self.motion_encoder(flow, corr_features)
        hidden_state = self.recurrent_block(hidden_state, cat([context, motion], dim=1))
        return hidden_state, self.flow_head(hidden_state)


class MaskPredictor(nn.Module):
    """Predicts the convex-upsampling weights (9 per fine pixel, 8x8 fine pixels per coarse one).

    The output is scaled by ``multiplier`` (0.25 in the paper) to damp the gradients.

    Example:
        >>> predictor = MaskPredictor(in_channels=4, hidden_size=8)
        >>> tuple(predictor(ember.rand(1, 4, 5, 5)).shape)
        (1, 576, 5, 5)
    """

    def __init__(self, *, in_channels: int, hidden_size: int, multiplier: float = 0.25) -> None:
        super().__init__()
        self.convrelu = Conv2dNormActivation(in_channels, hidden_size, kernel_size=3,
                                             norm_layer=None, bias=True)
        self.conv = nn.Conv2d(hidden_size, 8 * 8 * 9, 1, padding=0)
        self.multiplier = multiplier

    def forward(self, x: Tensor) -> Tensor:
        return self.multiplier * self.conv(self.convrelu(x))


class CorrBlock(nn.Module):
    """The all-pairs correlation pyramid and its lookup around a flow estimate.

    ``build_pyramid(fmap1, fmap2)`` stores ``num_levels`` average-pooled copies of the scaled
    dot products of every pair of pixels; ``index_pyramid(coords)`` samples a
    ``(2 * radius + 1)**2`` window around ``coords`` (pixels of the first frame's grid) on every
    level, giving ``out_channels = num_levels * (2 * radius + 1)**2`` channels.

    Example:
        >>> block = CorrBlock(num_levels=2, radius=1)
        >>> fmap = ember.rand(1, 4, 8, 8)
        >>> block.build_pyramid(fmap, fmap)
        >>> tuple(block.index_pyramid(_pixel_grid(1, 8, 8)).shape)
        (1, 18, 8, 8)
    """

    def __init__(self, *, num_levels: int = 4, radius: int = 4) -> None:
        super().__init__()
        self.num_levels = num_levels
        self.radius = radius
        self.corr_pyramid: list[Tensor] = [tensor(0)]  # filled by build_pyramid
        self.out_channels = num_levels * (2 * radius + 1) ** 2

    def build_pyramid(self, fmap1: Tensor, fmap2: Tensor) -> None:
        """Compute and store the correlation pyramid of two feature maps of the same shape."""
        if fmap1.shape != fmap2.shape:
            raise ValueError(f"Input feature maps should have the same shape, instead got "
                             f"{fmap1.shape} (fmap1.shape) != {fmap2.shape} (fmap2.shape)")
        # the coarsest level must still hold a pixel
        min_size = 2 ** self.num_levels
        if min(fmap1.shape[-2:]) < min_size:
            raise ValueError(f"Feature maps are too small to be down-sampled by the correlation "
                             f"pyramid. H and W of feature maps should be at least {min_size}; "
                             f"got: {fmap1.shape[-2:]}. Remember that input images to the "
                             f"model are downsampled by 8, so that means their dimensions "
                             f"should be at least 8 * {min_size} = {8 * min_size}.")
        batch, channels, height, width = fmap1.shape
        first = fmap1.view(batch, channels, height * width)
        second = fmap2.view(batch, channels, height * width)
        volume = first.transpose(1, 2) @ second / math.sqrt(channels)
        # one single-channel "image" of the second frame per pixel of the first
        level = volume.reshape(batch * height * width, 1, height, width)
        self.corr_pyramid = [level]
        for _ in range(self.num_levels - 1):
            level = F.avg_pool2d(level, kernel_size=2, stride=2)
            self.corr_pyramid.append(level)

    def index_pyramid(self, centroids_coords: Tensor) -> Tensor:
        """Sample the stored pyramid around ``centroids_coords`` (b, 2, h, w): (b, C, h, w)."""
        side = 2 * self.radius + 1
        steps = linspace(-self.radius, self.radius, side)
        # window offsets as (x, y) pairs; x runs along the window's first axis
        dx, dy = meshgrid(steps, steps, indexing="ij")
        offsets = stack([dx, dy], dim=-1).view(1, side, side, 2)
        batch, _, height, width = centroids_coords.shape
        centres = centroids_coords.permute(0, 2, 3, 1).reshape(batch * height * width, 1, 1, 2)
        sampled = []
        for level in self.corr_pyramid:
            window = _normalized_grid_sample(level, centres + offsets)
            sampled.append(window.view(batch, height, width, -1))
            centres = centres / 2  # the next level has half the resolution
        features = cat(sampled, dim=-1).permute(0, 3, 1, 2).contiguous()
        expected = self.out_channels
        if features.shape[1] != expected:
            raise ValueError(f"Output shape of index pyramid is incorrect. Should be "
                             f"{expected}, got {features.shape[1]}")
        return features


class RAFT(nn.Module):
    """RAFT from its parts (see :func:`raft_large` / :func:`raft_small` for the paper's).

    ``forward(image1, image2, num_flow_updates=12)`` returns the list of the
    ``num_flow_updates`` flow estimates, (N, 2, H, W) each, the last being the best. H and W
    must be divisible by 8 (and, with the 4-level pyramid of the builders, at least 128).
    Without a ``mask_predictor`` the flow is upsampled bilinearly.

    Example:
        >>> model = raft_small()
        >>> model.update_block.hidden_state_size, model.mask_predictor is None
        (96, True)
    """

    def __init__(self, *, feature_encoder: nn.Module, context_encoder: nn.Module,
                 corr_block: nn.Module, update_block: nn.Module,
                 mask_predictor: nn.Module | None = None) -> None:
        super().__init__()
        self.feature_encoder = feature_encoder
        self.context_encoder = context_encoder
        self.corr_block = corr_block
        self.update_block = update_block
        self.mask_predictor = mask_predictor
        if not hasattr(self.update_block, "hidden_state_size"):
            raise ValueError("The update_block parameter should expose a 'hidden_state_size' "
                             "attribute.")

    def forward(self, image1: Tensor, image2: Tensor, num_flow_updates: int = 12) -> list[Tensor]:
        batch, _, height, width = image1.shape
        if (height, width) != image2.shape[-2:]:
            raise ValueError(f"input images should have the same shape, instead got "
                             f"({height}, {width}) != {image2.shape[-2:]}")
        if height % 8 or width % 8:
            raise ValueError(f"input image H and W should be divisible by 8, instead got "
                             f"{height} (h) and {width} (w)")
        # both frames through the shared encoder in one batch
        features = self.feature_encoder(cat([image1, image2], dim=0))
        fmap1, fmap2 = features.chunk(2, dim=0)
        self.corr_block.build_pyramid(fmap1, fmap2)

        context_out = self.context_encoder(image1)
        hidden_size = self.update_block.hidden_state_size
        context_size = context_out.shape[1] - hidden_size
        if context_size <= 0:
            raise ValueError(f"The context encoder outputs {context_out.shape[1]} channels, but "
                             f"it should have at strictly more than hidden_state={hidden_size} "
                             "channels")
        hidden_state = tanh(context_out[:, :hidden_size])
        context = relu(context_out[:, hidden_size:])

        start = _pixel_grid(batch, height // 8, width // 8)
        coords = _pixel_grid(batch, height // 8, width // 8)
        predictions = []
        for _ in range(num_flow_updates):
            # the lookup position is not differentiated through, as in the paper
            coords = coords.detach()
            corr_features = self.corr_block.index_pyramid(coords)
            hidden_state, delta = self.update_block(hidden_state, context, corr_features,
                                                    coords - start)
            coords = coords + delta
            up_mask = None if self.mask_predictor is None else self.mask_predictor(hidden_state)
            predictions.append(_upsample_flow(coords - start, up_mask=up_mask))
        return predictions


_RECIPE_ORIGINAL = "https://github.com/princeton-vl/RAFT"
_RECIPE_TV = "https://github.com/pytorch/vision/tree/main/references/optical_flow"


def _flow_enum(name: str, default: str, num_params: int, ops: float, file_size: float,
               members: list[tuple[str, str, bool, dict[str, Any]]]) -> type[_api.WeightsEnum]:
    # names, addresses and metadata only: ember downloads nothing
    values = {}
    for member, file, original, metrics in members:
        meta = {"min_size": (128, 128), "num_params": num_params,
                "recipe": _RECIPE_ORIGINAL if original else _RECIPE_TV, "_metrics": metrics,
                "_ops": ops, "_file_size": file_size}
        values[member] = _api.Weights(_api._URL + file, _api._no_transforms, meta)
    values["DEFAULT"] = values[default]  # an equal value makes DEFAULT an alias
    enum = _api.WeightsEnum(name, list(values.items()))
    enum.__module__ = __name__
    enum.__doc__ = (f"The optical-flow checkpoints of torchvision's ``{name}`` (names, "
                    "addresses and metadata; ember downloads nothing).\n\n    Example:\n"
                    f"        >>> {name}.DEFAULT.meta['min_size']\n        (128, 128)\n")
    return enum


def _sintel_train(clean: float, final: float, kitti_epe: float, kitti_fl: float) -> dict:
    return {"Sintel-Train-Cleanpass": {"epe": clean}, "Sintel-Train-Finalpass": {"epe": final},
            "Kitti-Train": {"per_image_epe": kitti_epe, "fl_all": kitti_fl}}


def _sintel_test(clean: float, final: float) -> dict:
    return {"Sintel-Test-Cleanpass": {"epe": clean}, "Sintel-Test-Finalpass": {"epe": final}}


Raft_Large_Weights = _flow_enum("Raft_Large_Weights", "C_T_SKHT_V2", 5257536, 211.007, 20.129, [
    ("C_T_V1", "raft_large_C_T_V1-22a6c225.pth", True,
     _sintel_train(1.4411, 2.7894, 5.0172, 17.4506)),
    ("C_T_V2", "raft_large_C_T_V2-1bb1363a.pth", False,
     _sintel_train(1.3822, 2.7161, 4.5118, 16.0679)),
    ("C_T_SKHT_V1", "raft_large_C_T_SKHT_V1-0b8c9e55.pth", True, _sintel_test(1.94, 3.18)),
    ("C_T_SKHT_V2", "raft_large_C_T_SKHT_V2-ff5fadd5.pth", False, _sintel_test(1.819, 3.067)),
    ("C_T_SKHT_K_V1", "raft_large_C_T_SKHT_K_V1-4a6a5039.pth", True,
     {"Kitti-Test": {"fl_all": 5.1}}),
    ("C_T_SKHT_K_V2", "raft_large_C_T_SKHT_K_V2-b5c70766.pth", False,
     {"Kitti-Test": {"fl_all": 5.19}}),
])
Raft_Small_Weights = _flow_enum("Raft_Small_Weights", "C_T_V2", 990162, 47.655, 3.821, [
    ("C_T_V1", "raft_small_C_T_V1-ad48884c.pth", True,
     _sintel_train(2.1231, 3.279, 7.6557, 25.2801)),
    ("C_T_V2", "raft_small_C_T_V2-01064c6d.pth", False,
     _sintel_train(1.9901, 3.2831, 7.5978, 25.2369)),
])


def _raft(*, name: str, weights: Any, progress: bool,
          feature_encoder_layers: Sequence[int], feature_encoder_block: Callable[..., nn.Module],
          feature_encoder_norm_layer: Callable[..., nn.Module] | None,
          context_encoder_layers: Sequence[int], context_encoder_block: Callable[..., nn.Module],
          context_encoder_norm_layer: Callable[..., nn.Module] | None,
          corr_block_num_levels: int, corr_block_radius: int,
          motion_encoder_corr_layers: Sequence[int], motion_encoder_flow_layers: Sequence[int],
          motion_encoder_out_channels: int, recurrent_block_hidden_state_size: int,
          recurrent_block_kernel_size: Sequence[Any], recurrent_block_padding: Sequence[Any],
          flow_head_hidden_size: int, use_mask_predictor: bool, **kwargs: Any) -> RAFT:
    # the parts are built in this order so that the seeded draws match torchvision's
    feature_encoder = kwargs.pop("feature_encoder", None) or FeatureEncoder(
        block=feature_encoder_block, layers=feature_encoder_layers,
        norm_layer=feature_encoder_norm_layer)
    context_encoder = kwargs.pop("context_encoder", None) or FeatureEncoder(
        block=context_encoder_block, layers=context_encoder_layers,
        norm_layer=context_encoder_norm_layer)
    corr_block = kwargs.pop("corr_block", None) or CorrBlock(num_levels=corr_block_num_levels,
                                                             radius=corr_block_radius)
    update_block = kwargs.pop("update_block", None)
    if update_block is None:
        motion_encoder = MotionEncoder(in_channels_corr=corr_block.out_channels,
                                       corr_layers=motion_encoder_corr_layers,
                                       flow_layers=motion_encoder_flow_layers,
                                       out_channels=motion_encoder_out_channels)
        # the context features beside the hidden state feed the GRU with the motion features
        context_channels = context_encoder_layers[-1] - recurrent_block_hidden_state_size
        recurrent_block = RecurrentBlock(
            input_size=motion_encoder.out_channels + context_channels,
            hidden_size=recurrent_block_hidden_state_size,
            kernel_size=recurrent_block_kernel_size, padding=recurrent_block_padding)
        flow_head = FlowHead(in_channels=recurrent_block_hidden_state_size,
                             hidden_size=flow_head_hidden_size)
        update_block = UpdateBlock(motion_encoder=motion_encoder,
                                   recurrent_block=recurrent_block, flow_head=flow_head)
    mask_predictor = kwargs.pop("mask_predictor", None)
    if mask_predictor is None and use_mask_predictor:
        mask_predictor = MaskPredictor(in_channels=recurrent_block_hidden_state_size,
                                       hidden_size=256, multiplier=0.25)
    _no_pretrained(name, weights, kwargs)
    return RAFT(feature_encoder=feature_encoder, context_encoder=context_encoder,
                corr_block=corr_block, update_block=update_block,
                mask_predictor=mask_predictor, **kwargs)


def raft_large(*, weights: Raft_Large_Weights | None = None, progress: bool = True,
               **kwargs: Any) -> RAFT:
    """RAFT as in the paper (5.3M parameters): residual encoders, 4-level radius-4 correlation,
    a (1x5, 5x1) GRU pair and convex (learned-mask) upsampling.

    Args:
        weights (Raft_Large_Weights, optional): pretrained weights; ember cannot download them,
            so any value but None raises (load a saved state_dict instead).
        progress (bool): unused (no download).
        **kwargs: passed to :class:`RAFT`.

    Example:
        >>> model = raft_large()
        >>> sum(p.numel() for p in model.parameters())
        5257536
    """
    weights = Raft_Large_Weights.verify(weights)
    return _raft(name="raft_large", weights=weights, progress=progress,
                 feature_encoder_layers=(64, 64, 96, 128, 256),
                 feature_encoder_block=ResidualBlock,
                 feature_encoder_norm_layer=nn.InstanceNorm2d,
                 context_encoder_layers=(64, 64, 96, 128, 256),
                 context_encoder_block=ResidualBlock,
                 context_encoder_norm_layer=nn.BatchNorm2d,
                 corr_block_num_levels=4, corr_block_radius=4,
                 motion_encoder_corr_layers=(256, 192), motion_encoder_flow_layers=(128, 64),
                 motion_encoder_out_channels=128, recurrent_block_hidden_state_size=128,
                 recurrent_block_kernel_size=((1, 5), (5, 1)),
                 recurrent_block_padding=((0, 2), (2, 0)), flow_head_hidden_size=256,
                 use_mask_predictor=True, **kwargs)


def raft_small(*, weights: Raft_Small_Weights | None = None, progress: bool = True,
               **kwargs: Any) -> RAFT:
    """The small RAFT (1.0M parameters): bottleneck encoders, 4-level radius-3 correlation,
    one 3x3 GRU and bilinear upsampling.

    Args:
        weights (Raft_Small_Weights, optional): pretrained weights; ember cannot download them,
            so any value but None raises (load a saved state_dict instead).
        progress (bool): unused (no download).
        **kwargs: passed to :class:`RAFT`.

    Example:
        >>> model = raft_small()
        >>> sum(p.numel() for p in model.parameters())
        990162
    """
    weights = Raft_Small_Weights.verify(weights)
    return _raft(name="raft_small", weights=weights, progress=progress,
                 feature_encoder_layers=(32, 32, 64, 96, 128),
                 feature_encoder_block=BottleneckBlock,
                 feature_encoder_norm_layer=nn.InstanceNorm2d,
                 context_encoder_layers=(32, 32, 64, 96, 160),
                 context_encoder_block=BottleneckBlock, context_encoder_norm_layer=None,
                 corr_block_num_levels=4, corr_block_radius=3,
                 motion_encoder_corr_layers=(96,), motion_encoder_flow_layers=(64, 32),
                 motion_encoder_out_channels=82, recurrent_block_hidden_state_size=96,
                 recurrent_block_kernel_size=(3,), recurrent_block_padding=(1,),
                 flow_head_hidden_size=128, use_mask_predictor=False, **kwargs)
