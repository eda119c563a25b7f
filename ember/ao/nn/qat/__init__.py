"""``ember.ao.nn.qat``: float layers whose weights are fake-quantized on every forward
(``weight_fake_quant``), for quantization-aware training; ``prepare_qat`` puts them in place
and ``convert`` turns them into quantized layers.

The Conv+BN forms fake-quantize the weight with BatchNorm's running scale folded in (as the
int8 layer will hold it), then undo that scale on the convolution's output and run BatchNorm
itself, so training still sees batch statistics; ``convert`` folds the running statistics.
"""

from __future__ import annotations

from ....nn import functional as F
from ....nn.modules.conv import Conv2d as _Conv2d
from ....nn.modules.linear import Linear as _Linear
from ....nn.modules.module import Module

__all__ = ["Linear", "Conv2d", "LinearReLU", "ConvReLU2d", "ConvBn2d", "ConvBnReLU2d"]


class Linear(_Linear):
    """``nn.Linear`` with a fake-quantized weight (``qconfig.weight()``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.Linear(2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m(ember.ones(1, 2)).shape
        torch.Size([1, 3])
    """

    _relu = False

    def __init__(self, in_features, out_features, bias=True, qconfig=None, device=None,
                 dtype=None):
        super().__init__(in_features, out_features, bias)
        if qconfig is None:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, input):
        out = F.linear(input, self.weight_fake_quant(self.weight), self.bias)
        return F.relu(out) if self._relu else out

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT form of a float (or fused ``LinearReLU``) module with a ``qconfig``."""
        linear = mod[0] if isinstance(mod, Module) and hasattr(mod, "__getitem__") else mod
        out = cls(linear.in_features, linear.out_features, linear.bias is not None,
                  qconfig=mod.qconfig)
        out.weight = linear.weight
        out.bias = linear.bias
        return out


class LinearReLU(Linear):
    """QAT ``Linear`` followed by ReLU (from a fused ``LinearReLU``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.LinearReLU(2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> bool((m(ember.ones(1, 2)) >= 0).all())
        True
    """

    _relu = True


class Conv2d(_Conv2d):
    """``nn.Conv2d`` with a fake-quantized weight.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.Conv2d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m(ember.ones(1, 1, 5, 5)).shape
        torch.Size([1, 2, 3, 3])
    """

    _relu = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", qconfig=None,
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)
        if qconfig is None:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, input):
        out = self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias)
        bn = getattr(self, "bn", None)
        if bn is not None:
            out = bn(out)
        return F.relu(out) if self._relu else out

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT form of a float (or fused) convolution with a ``qconfig``."""
        fused = hasattr(mod, "__getitem__")
        conv = mod[0] if fused else mod
        out = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                  conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                  conv.padding_mode, qconfig=mod.qconfig)
        out.weight = conv.weight
        out.bias = conv.bias
        if fused and len(mod) > 1 and type(mod[1]).__name__.startswith("BatchNorm"):
            out.bn = mod[1]
        return out

    def folded(self):
        """A float ``Conv2d`` with the BatchNorm (if any) folded in, for ``convert``."""
        from ....nn.utils.fusion import fuse_conv_bn_eval

        conv = _Conv2d(self.in_channels, self.out_channels, self.kernel_size, self.stride,
                       self.padding, self.dilation, self.groups, self.bias is not None,
                       self.padding_mode)
        conv.weight, conv.bias = self.weight, self.bias
        bn = getattr(self, "bn", None)
        return conv if bn is None else fuse_conv_bn_eval(conv.eval(), bn.eval())


class ConvReLU2d(Conv2d):
    """QAT ``Conv2d`` followed by ReLU (from a fused ``ConvReLU2d``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvReLU2d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> bool((m(ember.ones(1, 1, 5, 5)) >= 0).all())
        True
    """

    _relu = True


class _FoldsBn:
    """The Conv+BN training forward: the weight scaled by ``gamma / running_std`` is what gets
    fake-quantized (the converted layer quantizes exactly that folded weight); dividing the
    convolution's output by the same per-channel factor gives back the unfolded response, on
    which BatchNorm runs as usual (batch statistics while training, running ones once frozen)."""

    freeze_bn = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=None, padding_mode="zeros", eps=1e-05,
                 momentum=0.1, freeze_bn=False, qconfig=None):
        from ....nn.modules.batchnorm import BatchNorm2d

        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bool(bias), padding_mode, qconfig=qconfig)
        # registered before weight_fake_quant, as PyTorch orders the children
        fake_quant = self._modules.pop("weight_fake_quant")
        self.bn = BatchNorm2d(out_channels, eps=eps, momentum=momentum)
        self.weight_fake_quant = fake_quant
        if freeze_bn:
            self.freeze_bn_stats()

    def forward(self, input):
        bn = self.bn
        factor = bn.weight / (bn.running_var + bn.eps).sqrt()
        shape = [1] * self.weight.dim()
        shape[0] = -1
        folded = self.weight_fake_quant(self.weight * factor.reshape(shape))
        # the bias is added after unscaling, so it is not divided by the factor
        out = self._conv_forward(input, folded, None)
        out_shape = [1] * out.dim()
        out_shape[1] = -1
        out = out / factor.reshape(out_shape)
        if self.bias is not None:
            out = out + self.bias.reshape(out_shape)
        out = bn(out)
        return F.relu(out) if self._relu else out

    def train(self, mode: bool = True):
        """Set training mode; BatchNorm stays in eval mode while its statistics are frozen."""
        Module.train(self, mode)
        if self.freeze_bn:
            self.bn.train(False)
        return self

    def freeze_bn_stats(self):
        """Stop updating BatchNorm's running statistics (and use them in the forward)."""
        self.freeze_bn = True
        self.bn.training = False
        return self

    def update_bn_stats(self):
        """Update BatchNorm's running statistics again while training."""
        self.freeze_bn = False
        self.bn.training = True
        return self


class ConvBn2d(_FoldsBn, Conv2d):
    """QAT ``Conv2d`` followed by its BatchNorm (from a fused ``ConvBn2d``).

    Example:
        >>> ember.ao.nn.qat.ConvBn2d.__mro__[2].__name__
        'Conv2d'
    """


class ConvBnReLU2d(_FoldsBn, ConvReLU2d):
    """QAT ``Conv2d``, BatchNorm and ReLU (from a fused ``ConvBnReLU2d``).

    Example:
        >>> ember.ao.nn.qat.ConvBnReLU2d.__mro__[2].__name__
        'ConvReLU2d'
    """


def freeze_bn_stats(mod):
    """For ``module.apply``: freeze BatchNorm statistics of a QAT Conv+BN module.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvBn2d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m.apply(ember.ao.nn.qat.freeze_bn_stats).freeze_bn
        True
    """
    if isinstance(mod, _FoldsBn):
        mod.freeze_bn_stats()


def update_bn_stats(mod):
    """For ``module.apply``: resume updating BatchNorm statistics of a QAT Conv+BN module.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvBn2d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m.apply(ember.ao.nn.qat.update_bn_stats).freeze_bn
        False
    """
    if isinstance(mod, _FoldsBn):
        mod.update_bn_stats()
