"""``ember.ao.nn.qat``: float layers whose weights are fake-quantized on every forward
(``weight_fake_quant``), for quantization-aware training; ``prepare_qat`` puts them in place
and ``convert`` turns them into quantized layers.

The Conv+BN forms fake-quantize the weight with BatchNorm's running scale folded in (as the
int8 layer will hold it), then undo that scale on the convolution's output and run BatchNorm
itself, so training still sees batch statistics; ``convert`` folds the running statistics.
"""

from __future__ import annotations

from ....nn import functional as F
from ....nn.modules import batchnorm as _batchnorm
from ....nn.modules.activation import ReLU as _ReLU
from ....nn.modules.conv import Conv1d as _Conv1d
from ....nn.modules.conv import Conv2d as _Conv2d
from ....nn.modules.conv import Conv3d as _Conv3d
from ....nn.modules.linear import Linear as _Linear
from ....nn.modules.module import Module

__all__ = ["Linear", "Conv1d", "Conv2d", "Conv3d", "LinearReLU", "ConvReLU1d", "ConvReLU2d",
           "ConvReLU3d", "ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d",
           "ConvBnReLU3d", "LinearBn1d"]


def _new_parameters(weight, bias):
    """New Parameters over the same storage (``to_float`` hands out fresh ones)."""
    from ....nn.parameter import Parameter

    return (Parameter(weight.detach()), None if bias is None else Parameter(bias.detach()))


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

    def folded(self):
        """A float ``Linear`` holding this layer's weight and bias, BatchNorm's running
        statistics folded in where there is one (the layer itself is left as it is)."""
        from ....nn.utils.fusion import fuse_linear_bn_weights

        linear = _Linear(self.in_features, self.out_features, self.bias is not None)
        weight, bias = self.weight, self.bias
        bn = getattr(self, "bn", None)
        if bn is not None:
            weight, bias = fuse_linear_bn_weights(weight, bias, bn.running_mean,
                                                  bn.running_var, bn.eps, bn.weight, bn.bias)
        linear.weight, linear.bias = _new_parameters(weight, bias)
        return linear

    def to_float(self):
        """The float module this layer stands for: ``folded()``, inside a fused
        ``LinearReLU`` when a ReLU follows; new modules, so in training mode whatever this
        layer's (as PyTorch's; the convolutions follow the layer's mode)."""
        from .. import intrinsic as nni

        linear = self.folded()
        return nni.LinearReLU(linear, _ReLU()) if self._relu else linear


class LinearReLU(Linear):
    """QAT ``Linear`` followed by ReLU (from a fused ``LinearReLU``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.LinearReLU(2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> bool((m(ember.ones(1, 2)) >= 0).all())
        True
    """

    _relu = True


class _ConvNd:
    """The QAT convolution of any rank: mixed in before ``nn.Conv1d``/``2d``/``3d``, whose
    class (``_FLOAT``) it rebuilds in ``folded``."""

    _relu = False
    _FLOAT = _Conv2d

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
        return out

    def folded(self):
        """A float convolution holding this layer's weight and bias, BatchNorm's running
        statistics folded in where there is one (the layer itself is left as it is)."""
        from ....nn.utils.fusion import fuse_conv_bn_weights

        conv = self._FLOAT(self.in_channels, self.out_channels, self.kernel_size, self.stride,
                           self.padding, self.dilation, self.groups, self.bias is not None,
                           self.padding_mode)
        weight, bias = self.weight, self.bias
        bn = getattr(self, "bn", None)
        if bn is not None:
            weight, bias = fuse_conv_bn_weights(weight, bias, bn.running_mean, bn.running_var,
                                                bn.eps, bn.weight, bn.bias)
        conv.weight, conv.bias = _new_parameters(weight, bias)
        return conv

    def to_float(self):
        """The float module this layer stands for: ``folded()``, inside a fused
        ``ConvReLU1d``/``2d``/``3d`` when a ReLU follows, in this layer's training mode."""
        from .. import intrinsic as nni

        out = self.folded()
        if self._relu:
            out = getattr(nni, f"ConvReLU{len(self.kernel_size)}d")(out, _ReLU())
        return out.train(self.training)


class Conv1d(_ConvNd, _Conv1d):
    """``nn.Conv1d`` with a fake-quantized weight.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.Conv1d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m(ember.ones(1, 1, 5)).shape
        torch.Size([1, 2, 3])
    """

    _FLOAT = _Conv1d


class Conv2d(_ConvNd, _Conv2d):
    """``nn.Conv2d`` with a fake-quantized weight.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.Conv2d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m(ember.ones(1, 1, 5, 5)).shape
        torch.Size([1, 2, 3, 3])
    """


class Conv3d(_ConvNd, _Conv3d):
    """``nn.Conv3d`` with a fake-quantized weight.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.Conv3d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m(ember.ones(1, 1, 4, 4, 4)).shape
        torch.Size([1, 2, 2, 2, 2])
    """

    _FLOAT = _Conv3d


class ConvReLU1d(Conv1d):
    """QAT ``Conv1d`` followed by ReLU (from a fused ``ConvReLU1d``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvReLU1d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> bool((m(ember.ones(1, 1, 5)) >= 0).all())
        True
    """

    _relu = True


class ConvReLU2d(Conv2d):
    """QAT ``Conv2d`` followed by ReLU (from a fused ``ConvReLU2d``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvReLU2d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> bool((m(ember.ones(1, 1, 5, 5)) >= 0).all())
        True
    """

    _relu = True


class ConvReLU3d(Conv3d):
    """QAT ``Conv3d`` followed by ReLU (from a fused ``ConvReLU3d``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvReLU3d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> bool((m(ember.ones(1, 1, 4, 4, 4)) >= 0).all())
        True
    """

    _relu = True


class _FoldsBn:
    """The Conv/Linear+BN training forward: the weight scaled by ``gamma / running_std`` is
    what gets fake-quantized (the converted layer quantizes exactly that folded weight);
    dividing the layer's output by the same per-channel factor gives back the unfolded
    response, on which BatchNorm runs as usual (batch statistics while training, running ones
    once frozen)."""

    freeze_bn = False

    def _add_bn(self, bn_cls, num_features, eps, momentum, freeze_bn):
        from ....nn import init

        # registered before weight_fake_quant, as PyTorch orders the children
        fake_quant = self._modules.pop("weight_fake_quant")
        self.bn = bn_cls(num_features, eps=eps, momentum=momentum)
        # a fresh fused layer starts BatchNorm's scale at random in [0, 1), as PyTorch's
        init.uniform_(self.bn.weight)
        self.weight_fake_quant = fake_quant
        if freeze_bn:
            self.freeze_bn_stats()

    def _adopt_bn(self, bn):
        """Take over ``bn``'s parameters and statistics (``from_float``)."""
        own = self.bn
        own.weight, own.bias = bn.weight, bn.bias
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            setattr(own, name, getattr(bn, name))
        return self

    def forward(self, input):
        bn = self.bn
        factor = bn.weight / (bn.running_var + bn.eps).sqrt()
        shape = [1] * self.weight.dim()
        shape[0] = -1
        folded = self.weight_fake_quant(self.weight * factor.reshape(shape))
        # the bias is added after unscaling, so it is not divided by the factor
        if isinstance(self, _Linear):
            out = F.linear(input, folded)
        else:
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


_BATCH_NORMS = {1: "BatchNorm1d", 2: "BatchNorm2d", 3: "BatchNorm3d"}


class _ConvBnNd(_FoldsBn):
    """Conv+BN of any rank: the BatchNorm's rank follows the kernel's."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=None, padding_mode="zeros", eps=1e-05,
                 momentum=0.1, freeze_bn=False, qconfig=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bool(bias), padding_mode, qconfig=qconfig)
        bn_cls = getattr(_batchnorm, _BATCH_NORMS[len(self.kernel_size)])
        self._add_bn(bn_cls, out_channels, eps, momentum, freeze_bn)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT form of a fused ``ConvBn``/``ConvBnReLU`` (``mod[0]`` conv, ``mod[1]`` BN)."""
        conv, bn = mod[0], mod[1]
        out = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                  conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                  conv.padding_mode, bn.eps, bn.momentum, False, qconfig=mod.qconfig)
        out.weight, out.bias = conv.weight, conv.bias
        return out._adopt_bn(bn)


class ConvBn1d(_ConvBnNd, Conv1d):
    """QAT ``Conv1d`` followed by its BatchNorm1d (from a fused ``ConvBn1d``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvBn1d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m(ember.ones(4, 1, 5)).shape
        torch.Size([4, 2, 3])
    """


class ConvBn2d(_ConvBnNd, Conv2d):
    """QAT ``Conv2d`` followed by its BatchNorm2d (from a fused ``ConvBn2d``).

    Example:
        >>> issubclass(ember.ao.nn.qat.ConvBn2d, ember.ao.nn.qat.Conv2d)
        True
    """


class ConvBn3d(_ConvBnNd, Conv3d):
    """QAT ``Conv3d`` followed by its BatchNorm3d (from a fused ``ConvBn3d``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvBn3d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m.bn
        BatchNorm3d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """


class ConvBnReLU1d(_ConvBnNd, ConvReLU1d):
    """QAT ``Conv1d``, BatchNorm1d and ReLU (from a fused ``ConvBnReLU1d``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvBnReLU1d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> bool((m(ember.randn(4, 1, 5)) >= 0).all())
        True
    """


class ConvBnReLU2d(_ConvBnNd, ConvReLU2d):
    """QAT ``Conv2d``, BatchNorm2d and ReLU (from a fused ``ConvBnReLU2d``).

    Example:
        >>> issubclass(ember.ao.nn.qat.ConvBnReLU2d, ember.ao.nn.qat.ConvReLU2d)
        True
    """


class ConvBnReLU3d(_ConvBnNd, ConvReLU3d):
    """QAT ``Conv3d``, BatchNorm3d and ReLU (from a fused ``ConvBnReLU3d``).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvBnReLU3d(1, 2, 1, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> bool((m(ember.randn(2, 1, 2, 2, 2)) >= 0).all())
        True
    """


class LinearBn1d(_FoldsBn, Linear):
    """QAT ``Linear`` followed by its BatchNorm1d (from a fused ``LinearBn1d``); ``convert``
    folds the running statistics into a quantized ``Linear``.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.LinearBn1d(3, 2, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m(ember.randn(4, 3)).shape
        torch.Size([4, 2])
    """

    def __init__(self, in_features, out_features, bias=True, eps=1e-05, momentum=0.1,
                 freeze_bn=False, qconfig=None):
        super().__init__(in_features, out_features, bias, qconfig=qconfig)
        self._add_bn(_batchnorm.BatchNorm1d, out_features, eps, momentum, freeze_bn)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT form of a fused ``LinearBn1d`` (``mod[0]`` Linear, ``mod[1]`` BN)."""
        linear, bn = mod[0], mod[1]
        out = cls(linear.in_features, linear.out_features, linear.bias is not None, bn.eps,
                  bn.momentum, False, qconfig=mod.qconfig)
        out.weight, out.bias = linear.weight, linear.bias
        return out._adopt_bn(bn)

def freeze_bn_stats(mod):
    """For ``module.apply``: freeze BatchNorm statistics of a QAT Conv+BN module (a
    ``LinearBn1d`` has the method, but PyTorch's helper does not call it).

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvBn2d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m.apply(ember.ao.nn.qat.freeze_bn_stats).freeze_bn
        True
    """
    if isinstance(mod, _ConvBnNd):  # as PyTorch's helper, it leaves LinearBn1d alone
        mod.freeze_bn_stats()


def update_bn_stats(mod):
    """For ``module.apply``: resume updating BatchNorm statistics of a QAT Conv+BN module.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.ao.nn.qat.ConvBn2d(1, 2, 3, qconfig=Q.get_default_qat_qconfig("x86"))
        >>> m.apply(ember.ao.nn.qat.update_bn_stats).freeze_bn
        False
    """
    if isinstance(mod, _ConvBnNd):  # as PyTorch's helper, it leaves LinearBn1d alone
        mod.update_bn_stats()
