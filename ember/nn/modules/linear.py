"""``Identity``, ``Linear``, ``Bilinear``, ``LazyLinear``."""

from __future__ import annotations

import math

from ... import _creation
from ..._tensor import Tensor
from ...autograd import grad_mode
from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


class Identity(Module):
    """Returns its input unchanged; takes (and ignores) any constructor arguments.

    Example:
        >>> ember.nn.Identity()(ember.ones(2)).shape
        torch.Size([2])
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """Affine map of the last dimension: ``y = x W^T + b``.

    ``weight`` has shape ``(out_features, in_features)``; it and ``bias`` start uniform in
    ``(-1/sqrt(in_features), 1/sqrt(in_features))`` (``kaiming_uniform_`` with ``a=sqrt(5)``
    for the weight), as in PyTorch.

    Args:
        in_features: size of each input's last dimension.
        out_features: size of each output's last dimension.
        bias: learn an additive ``bias``. Default: True

    Shape:
        - Input: ``(*, in_features)``
        - Output: ``(*, out_features)``

    Example:
        >>> fc = ember.nn.Linear(20, 30)
        >>> fc(ember.randn(128, 20)).shape
        torch.Size([128, 30])
    """

    __constants__ = ["in_features", "out_features"]

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        kw = {"device": device, "dtype": dtype}
        self.weight = Parameter(_creation.empty((out_features, in_features), **kw))
        self.register_parameter("bias",
                                Parameter(_creation.empty(out_features, **kw)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # a=sqrt(5) makes the weight's kaiming bound 1/sqrt(fan_in); the bias shares it
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is None:
            return
        fan_in = self.weight.shape[1]
        limit = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(self.bias, -limit, limit)

    def forward(self, input: Tensor) -> Tensor:
        try:
            return F.linear(input, self.weight, self.bias)
        except RuntimeError as err:
            # Checked only once the product failed, so the common call pays nothing for it.
            # The message stays torch's ("mat1 and mat2 shapes cannot be multiplied ..."), so
            # programs that compare it see the same text; a PEP 678 note, shown under the
            # traceback, says which layer and what to change.
            width = input.shape[-1] if input.ndim else None
            if (width is not None and width != self.in_features and hasattr(err, "add_note")
                    and str(err).startswith("mat1 and mat2 shapes cannot be multiplied")):
                err.add_note(
                    f"{self._get_name()}(in_features={self.in_features}, out_features="
                    f"{self.out_features}) got an input of shape {list(input.shape)}: its last "
                    f"dimension ({width}) must equal in_features ({self.in_features}). If the "
                    "input still has spatial dimensions (e.g. after a conv layer), add "
                    f"nn.Flatten() before this layer; otherwise set in_features={width}.")
            raise

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class NonDynamicallyQuantizableLinear(Linear):
    """``Linear`` under the name PyTorch gives attention's output projection (same repr).

    Example:
        >>> NonDynamicallyQuantizableLinear(4, 2)(ember.randn(3, 4)).shape
        torch.Size([3, 2])
    """


class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` comes from the last dimension of its first input;
    it then becomes a plain ``Linear``.

    Example:
        >>> fc = ember.nn.LazyLinear(4)
        >>> _ = fc(ember.randn(2, 7)); fc
        Linear(in_features=7, out_features=4, bias=True)
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        kw = {"device": device, "dtype": dtype}
        # an empty eager Linear first (nothing to initialize), then the placeholders
        super().__init__(0, 0, False)
        self.out_features = out_features
        self.weight = UninitializedParameter(**kw)
        if bias:
            self.bias = UninitializedParameter(**kw)

    def reset_parameters(self) -> None:
        # nothing to draw until the shapes are known
        if self.in_features != 0 and not self.has_uninitialized_params():
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        """Size the placeholders from ``input.shape[-1]`` and initialize them as ``Linear``."""
        width = input.shape[-1]
        if not self.has_uninitialized_params():
            # weights came from a state dict: only learn in_features, and check it
            if self.in_features == 0:
                if width != self.weight.shape[-1]:
                    raise AssertionError(
                        f"The in_features inferred from input: {width} is not equal to "
                        f"in_features from self.weight: {self.weight.shape[-1]}")
                self.in_features = width
            return
        with grad_mode.no_grad():
            self.in_features = width
            self.weight.materialize((self.out_features, width))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()


class Bilinear(Module):
    """``y = x1^T A x2 + b`` with weight (out, in1, in2); init U(-1/sqrt(in1), 1/sqrt(in1)).

    Example:
        >>> ember.nn.Bilinear(20, 30, 40)(ember.randn(128, 20), ember.randn(128, 30)).shape
        torch.Size([128, 40])
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(_creation.empty((out_features, in1_features, in2_features),
                                                device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(_creation.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight.size(1) <= 0:  # the bound divides by it
            raise ValueError("in1_features must be > 0, but got "
                             f"(in1_features={self.weight.size(1)})")
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
