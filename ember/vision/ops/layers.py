"""Building blocks shared by torchvision's models (torchvision.ops.misc).

Submodule names and registration order follow torchvision's, so ``state_dict`` keys and
printed reprs are the same and a torchvision checkpoint loads by name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import ember

from ... import nn

__all__ = ["FrozenBatchNorm2d", "Conv2dNormActivation", "Conv3dNormActivation",
           "SqueezeExcitation", "MLP", "Permute"]


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm2d whose statistics and affine parameters are fixed buffers.

    Detection backbones use it when batches are too small to estimate statistics.

    Args:
        num_features (int): the number of channels ``C`` of a ``(N, C, H, W)`` input.
        eps (float): added to the variance for stability. Default: 1e-5.

    Example:
        >>> bn = FrozenBatchNorm2d(3)
        >>> bn(ember.ones(1, 3, 2, 2)).shape
        torch.Size([1, 3, 2, 2])
    """

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", ember.ones(num_features))
        self.register_buffer("bias", ember.zeros(num_features))
        self.register_buffer("running_mean", ember.zeros(num_features))
        self.register_buffer("running_var", ember.ones(num_features))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # a BatchNorm2d checkpoint carries a step counter that a frozen layer has no use for
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def forward(self, x):
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        return x * scale + (b - rm * scale)

    def __repr__(self):
        return f"{self.__class__.__name__}({self.weight.shape[0]}, eps={self.eps})"


def _ntuple(v, n):
    return tuple(v) if isinstance(v, Sequence) else (v,) * n


class ConvNormActivation(nn.Sequential):
    """A convolution, then a norm layer, then an activation, as one ``Sequential``.

    The base of :class:`Conv2dNormActivation` and :class:`Conv3dNormActivation`; submodules
    are numbered ``0`` (conv), ``1`` (norm), ``2`` (activation).

    Built directly (not through a subclass) it warns, as torchvision's does.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     block = ConvNormActivation(3, 8, conv_layer=nn.Conv2d)
        >>> block(ember.randn(1, 3, 5, 5)).shape
        torch.Size([1, 8, 5, 5])
        >>> caught[0].category.__name__
        'UserWarning'
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1,
                 padding=None, groups: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 dilation=1, inplace: bool | None = True, bias: bool | None = None,
                 conv_layer: Callable[..., nn.Module] = nn.Conv2d) -> None:
        if padding is None:  # "same"-style padding for stride 1, per spatial dim if need be
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                dims = len(kernel_size if isinstance(kernel_size, Sequence) else dilation)
                k, d = _ntuple(kernel_size, dims), _ntuple(dilation, dims)
                padding = tuple((k[i] - 1) // 2 * d[i] for i in range(dims))
        if bias is None:  # a norm layer's shift makes the conv's bias redundant
            bias = norm_layer is None
        blocks = [conv_layer(in_channels, out_channels, kernel_size, stride, padding,
                             dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            blocks.append(norm_layer(out_channels))
        if activation_layer is not None:
            blocks.append(activation_layer() if inplace is None
                          else activation_layer(inplace=inplace))
        super().__init__(*blocks)
        self.out_channels = out_channels
        if type(self) is ConvNormActivation:
            warnings.warn("Don't use ConvNormActivation directly, please use "
                          "Conv2dNormActivation and Conv3dNormActivation instead.", stacklevel=2)


class Conv2dNormActivation(ConvNormActivation):
    """Conv2d, then a norm layer (BatchNorm2d), then an activation (ReLU).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int or tuple): Default: 3.
        stride (int or tuple): Default: 1.
        padding (int, tuple or str, optional): None pads ``(kernel_size - 1) // 2 * dilation``.
        groups (int): Default: 1.
        norm_layer (callable, optional): built as ``norm_layer(out_channels)``; None for none.
        activation_layer (callable, optional): built as ``activation_layer(inplace=...)``.
        dilation (int or tuple): Default: 1.
        inplace (bool, optional): passed to the activation; None passes nothing.
        bias (bool, optional): None gives a bias only when there is no norm layer.

    Example:
        >>> block = Conv2dNormActivation(3, 16, stride=2)
        >>> block(ember.randn(1, 3, 8, 8)).shape
        torch.Size([1, 16, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1,
                 padding=None, groups: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 dilation=1, inplace: bool | None = True, bias: bool | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups,
                         norm_layer, activation_layer, dilation, inplace, bias, nn.Conv2d)


class Conv3dNormActivation(ConvNormActivation):
    """Conv3d, then a norm layer (BatchNorm3d), then an activation (ReLU).

    Arguments as :class:`Conv2dNormActivation`, for ``(N, C, D, H, W)`` inputs.

    Example:
        >>> block = Conv3dNormActivation(2, 4)
        >>> block(ember.randn(1, 2, 3, 4, 4)).shape
        torch.Size([1, 4, 3, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1,
                 padding=None, groups: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm3d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 dilation=1, inplace: bool | None = True, bias: bool | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups,
                         norm_layer, activation_layer, dilation, inplace, bias, nn.Conv3d)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-Excitation (Hu et al., 2018): rescale channels by weights computed from
    their global average.

    Args:
        input_channels (int): channels of the input.
        squeeze_channels (int): channels of the bottleneck.
        activation (callable): after ``fc1``. Default: ReLU.
        scale_activation (callable): after ``fc2``. Default: Sigmoid.

    Example:
        >>> se = SqueezeExcitation(8, 2)
        >>> se(ember.randn(1, 8, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[..., nn.Module] = nn.ReLU,
                 scale_activation: Callable[..., nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input):
        scale = self.fc1(self.avgpool(input))
        return self.scale_activation(self.fc2(self.activation(scale)))

    def forward(self, input):
        return self._scale(input) * input


class MLP(nn.Sequential):
    """Multi-layer perceptron: Linear (+ norm) + activation + Dropout for each hidden width,
    then a last Linear and Dropout.

    Args:
        in_channels (int): input features.
        hidden_channels (List[int]): widths of the layers; the last is the output width.
        norm_layer (callable, optional): after each hidden Linear. Default: None.
        activation_layer (callable, optional): after each hidden (norm) layer. Default: ReLU.
        inplace (bool, optional): passed to the activation and Dropout; None passes nothing.
        bias (bool): Linear biases. Default: True.
        dropout (float): Dropout probability. Default: 0.0.

    Example:
        >>> mlp = MLP(4, [8, 3])
        >>> mlp(ember.randn(2, 4)).shape
        torch.Size([2, 3])
    """

    def __init__(self, in_channels: int, hidden_channels: list[int],
                 norm_layer: Callable[..., nn.Module] | None = None,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 inplace: bool | None = None, bias: bool = True, dropout: float = 0.0):
        params = {} if inplace is None else {"inplace": inplace}
        layers = []
        in_dim = in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(nn.Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))
            layers.append(nn.Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(nn.Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout, **params))
        super().__init__(*layers)


class Permute(nn.Module):
    """Permute the input's dimensions (``torch.permute`` as a module).

    Args:
        dims (List[int]): the new order of the dimensions.

    Example:
        >>> Permute([0, 2, 3, 1])(ember.zeros(1, 3, 4, 5)).shape
        torch.Size([1, 4, 5, 3])
    """

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return ember.permute(x, self.dims)
