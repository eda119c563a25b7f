"""``LazyModuleMixin``: modules whose parameter shapes come from their first input, at PyTorch's
``nn.modules.lazy``.

A lazy module holds ``UninitializedParameter``/``UninitializedBuffer`` placeholders. A forward
pre-hook calls ``initialize_parameters(*input)`` on the first call, which materializes them and
runs the eager class's ``reset_parameters`` (so the random draws match the eager class built with
the inferred sizes); the module then turns into its ``cls_to_become`` and the hooks go away.
Loading a state dict materializes the placeholders to the checkpoint's shapes.
"""

from __future__ import annotations

import itertools

from ...autograd import grad_mode
from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin for modules that infer their parameters' shapes from the first forward's input.

    Subclasses implement ``initialize_parameters(*input)`` and set ``cls_to_become``.

    Example:
        >>> m = ember.nn.LazyLinear(4)
        >>> m.has_uninitialized_params()
        True
        >>> _ = m(ember.ones(2, 3)); type(m).__name__, m.weight.shape
        ('Linear', torch.Size([4, 3]))
    """

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # Placeholders go into the state dict as they are (detaching would turn them into
        # plain empty tensors and lose the "not yet sized" mark that loading relies on).
        # Like PyTorch's lazy modules, no ``_extra_state`` entry is written.
        skip = self._non_persistent_buffers_set
        for name, value in itertools.chain(
                self._parameters.items(),
                ((k, b) for k, b in self._buffers.items() if k not in skip)):
            if value is None:
                continue
            keep = keep_vars or is_lazy(value)
            destination[prefix + name] = value if keep else value.detach()

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs):
        """Materialize each placeholder the state dict has a real tensor for, to its shape."""
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None:
                input_param = state_dict[key]
                if is_lazy(param) and not is_lazy(input_param):
                    with grad_mode.no_grad():
                        param.materialize(input_param.shape)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # A placeholder loaded from a placeholder stays one (PyTorch copies the empty data);
        # ember's shape checks would reject it, so those keys skip the copy.
        both_lazy = [prefix + name for name, t in itertools.chain(self._parameters.items(),
                                                                   self._buffers.items())
                     if is_lazy(t) and is_lazy(state_dict.get(prefix + name))]
        if both_lazy:
            state_dict = {k: v for k, v in state_dict.items() if k not in both_lazy}
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        for key in both_lazy:
            if key in missing_keys:
                missing_keys.remove(key)

    def initialize_parameters(self, *args, **kwargs):
        """Materialize and initialize the parameters from the first input (subclasses)."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether any parameter or buffer of this module is still a placeholder."""
        for param in itertools.chain(self._parameters.values(), self._buffers.values()):
            if is_lazy(param):
                return True
        return False

    def _infer_parameters(self, module, args, kwargs=None):
        kwargs = kwargs if kwargs else {}
        module.initialize_parameters(*args, **kwargs)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self):
        raise RuntimeError(
            "Modules with uninitialized parameters can't be used with `DataParallel`. "
            "Run a dummy forward pass to correctly initialize the modules")
