"""Feature Pyramid Network (Lin et al., 2017) over a backbone's feature maps."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from ... import nn
from ...nn import functional as F
from .layers import Conv2dNormActivation

__all__ = ["FeaturePyramidNetwork", "ExtraFPNBlock", "LastLevelMaxPool", "LastLevelP6P7"]


class ExtraFPNBlock(nn.Module):
    """Base class of the blocks that add levels on top of an FPN's outputs.

    ``forward(results, x, names)`` gets the FPN's outputs, the original features and their
    names, and returns the extended ``(results, names)``.

    Example:
        >>> isinstance(LastLevelMaxPool(), ExtraFPNBlock)
        True
    """

    def forward(self, results, x, names):
        raise NotImplementedError


class LastLevelMaxPool(ExtraFPNBlock):
    """Add a ``'pool'`` level: the last output subsampled by 2 (a 1x1 max pool, stride 2).

    Example:
        >>> import ember
        >>> res, names = LastLevelMaxPool()([ember.zeros(1, 2, 8, 8)], [], ["0"])
        >>> names, res[-1].shape
        (['0', 'pool'], torch.Size([1, 2, 4, 4]))
    """

    def forward(self, results, x, names):
        pooled = F.max_pool2d(results[-1], 1, 2, 0)
        return results + [pooled], names + ["pool"]


class LastLevelP6P7(ExtraFPNBlock):
    """Add RetinaNet's ``'p6'`` and ``'p7'`` levels: two stride-2 3x3 convolutions, from P5
    when ``in_channels == out_channels``, else from C5.

    Example:
        >>> block = LastLevelP6P7(4, 4)
        >>> [n for n, _ in block.named_children()]
        ['p6', 'p7']
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.p6 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=2, padding=1)
        self.p7 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=2, padding=1)
        for conv in (self.p6, self.p7):  # re-drawn with a=1 and zero biases, in this order
            nn.init.kaiming_uniform_(conv.weight, a=1)
            nn.init.zeros_(conv.bias)
        self.use_P5 = in_channels == out_channels  # start from P5 (else C5)

    def forward(self, results, x, names):
        source = results[-1] if self.use_P5 else x[-1]
        p6 = self.p6(source)
        p7 = self.p7(F.relu(p6))
        return results + [p6, p7], names + ["p6", "p7"]


class FeaturePyramidNetwork(nn.Module):
    """Feature Pyramid Network: a top-down path with lateral 1x1 convolutions gives every
    level ``out_channels`` channels and the coarse levels' semantics.

    Args:
        in_channels_list (List[int]): channels of each input level, finest first.
        out_channels (int): channels of every output level.
        extra_blocks (ExtraFPNBlock, optional): adds levels (e.g. :class:`LastLevelMaxPool`).
        norm_layer (callable, optional): a norm layer in each block. Default: None.

    Forward takes an ordered dict of feature maps (finest first) and returns one with the
    same keys (plus the extra block's).

    Example:
        >>> import ember
        >>> fpn = FeaturePyramidNetwork([4, 8], 6)
        >>> out = fpn({"a": ember.randn(1, 4, 8, 8), "b": ember.randn(1, 8, 4, 4)})
        >>> [(k, tuple(v.shape)) for k, v in out.items()]
        [('a', (1, 6, 8, 8)), ('b', (1, 6, 4, 4))]
    """

    _version = 2

    def __init__(self, in_channels_list: list[int], out_channels: int,
                 extra_blocks: ExtraFPNBlock | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None):
        super().__init__()
        lateral = {"kernel_size": 1, "padding": 0, "norm_layer": norm_layer,
                   "activation_layer": None}
        smoothing = {"kernel_size": 3, "norm_layer": norm_layer, "activation_layer": None}
        self.inner_blocks = nn.ModuleList()  # 1x1 lateral projections, one per level
        self.layer_blocks = nn.ModuleList()  # 3x3 smoothing after the top-down sum
        for channels in in_channels_list:
            if channels == 0:
                raise ValueError("in_channels=0 is currently not supported")
            self.inner_blocks.append(Conv2dNormActivation(channels, out_channels, **lateral))
            self.layer_blocks.append(Conv2dNormActivation(out_channels, out_channels,
                                                          **smoothing))
        # every convolution re-drawn (kaiming, a=1) with zero biases, in module order: the
        # draws torchvision makes, so a seeded FPN starts from torchvision's weights
        for conv in (m for m in self.modules() if isinstance(m, nn.Conv2d)):
            nn.init.kaiming_uniform_(conv.weight, a=1)
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)
        if extra_blocks is not None and not isinstance(extra_blocks, ExtraFPNBlock):
            raise TypeError(
                f"extra_blocks should be of type ExtraFPNBlock not {type(extra_blocks)}")
        self.extra_blocks = extra_blocks

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        if (local_metadata.get("version") or 0) < 2:
            # checkpoints before version 2 held bare convs: "inner_blocks.0.weight" is now
            # "inner_blocks.0.0.weight"
            for block in ("inner_blocks", "layer_blocks"):
                for i in range(len(getattr(self, block))):
                    for kind in ("weight", "bias"):
                        old = f"{prefix}{block}.{i}.{kind}"
                        if old in state_dict:
                            state_dict[f"{prefix}{block}.{i}.0.{kind}"] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def get_result_from_inner_blocks(self, x, idx: int):
        """``self.inner_blocks[idx](x)`` (an index, as TorchScript once needed)."""
        return self.inner_blocks[idx](x)

    def get_result_from_layer_blocks(self, x, idx: int):
        """``self.layer_blocks[idx](x)``."""
        return self.layer_blocks[idx](x)

    def forward(self, x):
        names, features = list(x.keys()), list(x.values())
        # top-down: from the coarsest level, each finer lateral adds the upsampled sum so far
        merged = self.get_result_from_inner_blocks(features[-1], -1)
        outputs = [self.get_result_from_layer_blocks(merged, -1)]
        for level in reversed(range(len(features) - 1)):
            lateral = self.get_result_from_inner_blocks(features[level], level)
            merged = lateral + F.interpolate(merged, size=lateral.shape[-2:], mode="nearest")
            outputs.append(self.get_result_from_layer_blocks(merged, level))
        outputs.reverse()  # finest first, as the input
        if self.extra_blocks is not None:
            outputs, names = self.extra_blocks(outputs, features, names)
        return OrderedDict(zip(names, outputs))
