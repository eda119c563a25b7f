"""``torch.nn.utils.weight_norm``: the older, hook-based weight normalization (Salimans &
Kingma, 2016). A parameter ``w`` is split into a magnitude ``<name>_g`` and a direction
``<name>_v`` and rebuilt as ``g * v / ||v||`` before every forward. PyTorch deprecates it in
favour of ``nn.utils.parametrizations.weight_norm``, which reuses ``_weight_norm`` from here."""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

from ..._ops._core import set_node_name, wrap_dim
from ..._ops.nn.aten_forms import norm_except_dim
from ..._ops.reduction.norms import vector_norm
from ..._tensor import Tensor
from ..modules.module import Module
from ..parameter import Parameter, UninitializedParameter

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]

_DEPRECATION = ("`torch.nn.utils.weight_norm` is deprecated in favor of "
                "`torch.nn.utils.parametrizations.weight_norm`.")


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """``v`` rescaled to magnitude ``g``: ``v * (g / ||v||)`` with the 2-norm taken over every
    dim but ``dim``, or over the whole tensor when ``dim`` is -1 (``torch._weight_norm``).

    Example:
        >>> from ember.nn.utils.weight_norm import _weight_norm
        >>> v = ember.tensor([[3.0, 4.0], [0.0, 2.0]])
        >>> _weight_norm(v, ember.tensor([[10.0], [1.0]]), 0)
        tensor([[6., 8.],
                [0., 1.]])
    """
    if dim == -1:  # torch's spelling of "no dim": one magnitude for the whole tensor
        magnitude = vector_norm(v)
    else:
        keep = wrap_dim(dim, v.ndim)
        others = tuple(d for d in range(v.ndim) if d != keep)
        # a 1-D v has nothing to reduce: each entry is its own slice, so its magnitude is |v|
        # (an empty dim tuple would make vector_norm reduce everything)
        magnitude = vector_norm(v, 2, others, keepdim=True) if others else v.abs()
    out = v * (g / magnitude)
    # torch computes a norm over all dims but the first or the last in one fused kernel, and
    # a weight-normed layer's weight prints its node
    if dim in (0, v.ndim - 1):
        set_node_name(out, "WeightNormInterfaceBackward0")
    return out


class WeightNorm:
    """The forward pre-hook behind :func:`weight_norm`: it recomputes ``module.<name>`` from
    ``<name>_g`` and ``<name>_v`` before each call. ``dim=None`` is stored as -1 (the norm over
    the whole tensor).

    Example:
        >>> from ember.nn.utils.weight_norm import WeightNorm
        >>> hook = WeightNorm.apply(ember.nn.Linear(3, 2), "weight", None)
        >>> (hook.name, hook.dim)
        ('weight', -1)
    """

    name: str
    dim: int

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Any:
        """The weight ``g * v / ||v||`` from the module's current ``_g`` and ``_v``."""
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int) -> WeightNorm:
        """Split ``module.<name>`` into ``<name>_g``/``<name>_v`` and install the hook."""
        # stacklevel 2: the warning names whoever asked for the deprecated reparametrization
        warnings.warn(_DEPRECATION, FutureWarning, stacklevel=2)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}")
        hook = WeightNorm(name, dim)
        original = getattr(module, name)
        if isinstance(original, UninitializedParameter):
            raise ValueError(
                "The module passed to `WeightNorm` can't have uninitialized parameters. Make "
                "sure to run the dummy forward before applying weight normalization")
        # the original parameter leaves the module; g and v are fresh leaves made from its
        # values, so an optimizer built afterwards trains them instead
        del module._parameters[name]
        module.register_parameter(name + "_g",
                                  Parameter(norm_except_dim(original, 2, hook.dim).data))
        module.register_parameter(name + "_v", Parameter(original.data))
        setattr(module, name, hook.compute_weight(module))
        module.register_forward_pre_hook(hook)
        return hook

    def remove(self, module: Module) -> None:
        """Fold ``g`` and ``v`` back into one plain parameter ``module.<name>``."""
        merged = self.compute_weight(module)
        delattr(module, self.name)
        for suffix in ("_g", "_v"):
            del module._parameters[self.name + suffix]
        setattr(module, self.name, Parameter(merged.data))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


T_module = TypeVar("T_module", bound=Module)


def weight_norm(module: T_module, name: str = "weight", dim: int = 0) -> T_module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` with a forward pre-hook.

    ``<name>_g`` holds the magnitude (one value per slice along ``dim``; a single value when
    ``dim`` is None) and ``<name>_v`` the direction; both are parameters and the weight is
    rebuilt from them before every forward. Deprecated (``FutureWarning``): prefer
    ``nn.utils.parametrizations.weight_norm``. Returns ``module``.

    Example:
        >>> m = ember.nn.utils.weight_norm(ember.nn.Linear(20, 40), name="weight")
        >>> m.weight_g.shape, m.weight_v.shape
        (torch.Size([40, 1]), torch.Size([40, 20]))
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo :func:`weight_norm`: ``module.<name>`` becomes one parameter again, holding the
    current ``g * v / ||v||``. Raises ValueError when ``name`` carries no weight norm.

    Example:
        >>> m = ember.nn.utils.weight_norm(ember.nn.Linear(20, 40))
        >>> m = ember.nn.utils.remove_weight_norm(m)
        >>> sorted(n for n, _ in m.named_parameters())
        ['bias', 'weight']
    """
    hooks = module._forward_pre_hooks
    found = next((key for key, hook in hooks.items()
                  if isinstance(hook, WeightNorm) and hook.name == name), None)
    if found is None:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    hooks[found].remove(module)
    del hooks[found]
    return module
