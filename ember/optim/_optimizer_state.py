"""State-dict and pickling machinery of the ``Optimizer`` base class.

``_OptimizerStateMixin`` (which ``Optimizer`` inherits) holds ``state_dict()`` /
``load_state_dict()`` in PyTorch's layout, ``__getstate__`` / ``__setstate__``, and the upgrade
of old checkpoints' numeric state into 0-d tensors. ``_new_scalar`` makes those tensors.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor


def _get_scalar_dtype() -> D.dtype:
    """dtype of ``state['step']``: float64 when that is the default dtype, else float32."""
    return D.float64 if D.get_default_dtype() is D.float64 else D.float32


def _new_scalar(value: float) -> Tensor:
    dt = _get_scalar_dtype()
    return Tensor._make(np.array(value, dtype=dt.np_dtype), dt)


# The per-optimizer hook dicts: made by ``Optimizer.__init__``, restored by ``__setstate__``.
_HOOK_DICTS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
               "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
               "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks")


class _OptimizerStateMixin:
    """``state_dict`` / ``load_state_dict`` and pickling for ``Optimizer``."""

    # -- pickling ---------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    _group_defaults: dict = {}  # group keys newer than some checkpoints, with their defaults
    _tensor_state_keys: tuple = ()  # per-param state that old checkpoints kept as numbers

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in _HOOK_DICTS:
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.__dict__.setdefault("_step_depth", 0)
        self.__dict__.setdefault("_buffers", {})
        self.defaults.setdefault("differentiable", False)
        for group in self.param_groups:
            for key, value in self._group_defaults.items():
                group.setdefault(key, value)
        if self._tensor_state_keys:
            self._tensor_steps(*self._tensor_state_keys)

    # -- state dict -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as ``{'state': {index: {...}}, 'param_groups': [...]}``.

        Parameters are replaced by their index in order of appearance across groups.

        Example:
            >>> sd = opt.state_dict(); sd['param_groups'][0]['params']
            [0, 1]
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        mapping: dict[int, int] = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        packed_state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        sd = {"state": packed_state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, sd)
            if result is not None:
                sd = result
        return sd

    @staticmethod
    def _process_value_according_to_param_policy(param: Tensor, value: Tensor, param_id,
                                                 param_groups, key=None) -> Tensor:
        # 'step' keeps its own dtype (float32 counter, never cast to a half param's dtype).
        if key == "step":
            return value
        if param.is_floating_point():
            return value.to(dtype=param.dtype, device=param.device)
        return value.to(device=param.device)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state produced by ``state_dict()`` (ember's or PyTorch's layout).

        Tensors in the state are cast to their parameter's dtype and device (except ``step``).
        Create LR schedulers *before* loading, since creating one overwrites ``lr``.
        """
        state_dict = state_dict.copy()
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(groups, saved_groups):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        saved_param_groups = state_dict["param_groups"]

        def cast(param, value, param_id=None, key=None):
            if isinstance(value, Tensor):
                return _OptimizerStateMixin._process_value_according_to_param_policy(
                    param, value, param_id, saved_param_groups, key)
            if isinstance(value, dict):
                return {k: cast(param, v, param_id, k) for k, v in value.items()}
            if isinstance(value, (str, bytes)):
                return value
            if isinstance(value, Iterable):
                return type(value)(cast(param, v, param_id) for v in value)
            return value

        state: defaultdict[Tensor, dict] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v, k)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    def _tensor_steps(self, *keys: str) -> None:
        """Turn legacy float/int entries (old checkpoints) under ``keys`` into 0-d tensors."""
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if not st:
                    continue
                for key in keys:
                    if key in st and not isinstance(st[key], Tensor):
                        st[key] = _new_scalar(float(st[key]))
