"""``swap_in_optimizer_params_and_state``: run an optimizer, for the length of a ``with`` block,
on other parameters and another ``state_dict``-shaped state, then put its own back.

ember's Adam and AdamW may keep a group's running averages in shared flat arrays
(``_multi_tensor``): a step then replaces a state entry with a view into those arrays instead
of writing into the tensor it found. So that the updated values still reach the caller's state
tensors (PyTorch's contract: in-place updates propagate), a tensor entry that the step replaced
with another tensor of the same shape and dtype is copied back into the caller's tensor when
the block ends; other replacements (a new key, another shape) stay local, as in PyTorch.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

from .._tensor import Tensor

__all__ = ["swap_in_optimizer_params_and_state"]

_NAME = "swap_in_optimizer_params_and_state"


def _check_state(state: Any) -> dict:
    if not isinstance(state, dict):
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['state'] to be a dict mapping "
                           "packed parameter ids to per-param state dicts, got "
                           f"{type(state).__name__}.")
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style state keyed by "
                           "packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_NAME} requires per-parameter optimizer state entries to be "
                           "dictionaries.")
    return state


def _check_groups(optimizer, groups: Any) -> list:
    if not isinstance(groups, list):
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['param_groups'] to be a list "
                           f"of param-group dicts, got {type(groups).__name__}.")
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups "
                           "than the live optimizer.")
    return groups


def _group_ids(index: int, live: dict, group: Any) -> list:
    """The packed parameter ids of a swap-in ``group``, checked against its ``live`` group."""
    if not isinstance(group, dict):
        raise RuntimeError(f"{_NAME} requires each optimizer param group to be a dictionary.")
    ids = group.get("params")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style "
                           "param_groups[*]['params'] entries keyed by packed parameter ids.")
    if len(ids) != len(live["params"]):
        raise RuntimeError(f"swapin_optim_state param group {index} has a different number of "
                           "params than the live optimizer param group.")
    only_swapin = [k for k in group if k not in live]
    only_live = [k for k in live if k not in group]
    if only_swapin or only_live:
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style param group keys to "
                           "exactly match the live optimizer group keys for group "
                           f"{index}. Keys only in swap-in: {only_swapin}. Keys only in live: "
                           f"{only_live}.")
    return ids


def _prepare(optimizer, parameters: dict, optim_state: Any):
    """Check the arguments; return the packed state and, per group, (ids, params, group)."""
    if not optimizer.state:
        raise RuntimeError(f"{_NAME} requires initialized optimizer state.")
    if not isinstance(optim_state, dict):
        raise RuntimeError(f"{_NAME} requires a DCP-style optimizer state_dict.")
    state = _check_state(optim_state.get("state"))
    groups = _check_groups(optimizer, optim_state.get("param_groups"))
    flat = list(parameters.values())  # in the order of the optimizer's parameters
    plan, seen, at = [], set(), 0
    for index, (live, group) in enumerate(zip(optimizer.param_groups, groups)):
        ids = _group_ids(index, live, group)
        seen.update(ids)
        if at + len(ids) > len(flat):
            raise RuntimeError(f"{_NAME} requires the explicit parameter state to match "
                               "optimizer.param_groups ordering.")
        plan.append((ids, flat[at:at + len(ids)], group))
        at += len(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['state'] to be keyed only by "
                           f"packed parameter ids from param_groups[*]['params']; got extra "
                           f"keys {extra!r}.")
    return state, plan


def _write_back(given: dict, used: dict) -> None:
    """Copy state tensors the step replaced (ember's flat buffers) into the caller's tensors."""
    for key, old in given.items():
        new = used.get(key)
        if (isinstance(old, Tensor) and isinstance(new, Tensor) and new is not old
                and tuple(new.shape) == tuple(old.shape) and new._dtype is old._dtype):
            old._data[...] = new._data
            old._vbox[0] += 1


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters: dict,
                                       swapin_optim_state: dict):
    """Temporarily run ``optimizer`` on ``swapin_parameters`` with the state and group
    hyperparameters of ``swapin_optim_state``; its own parameters, state and groups return when
    the block ends.

    Unlike ``load_state_dict``, which leaves the parameters alone, ``step()`` inside the block
    updates the swapped-in parameters, and updates of the state tensors reach the tensors of
    ``swapin_optim_state``.

    Args:
        optimizer: the optimizer; its state must already exist (it has taken a step).
        swapin_parameters: a dict of tensors in the order of the optimizer's parameters
            (most often ``model.named_parameters()`` order).
        swapin_optim_state: a dict shaped like ``optimizer.state_dict()``: ``"state"`` keyed by
            packed parameter ids, ``"param_groups"`` with the same keys as the live groups.

    Example:
        >>> with ember.optim.swap_in_optimizer_params_and_state(opt, params, osd):
        ...     opt.step()
    """
    state, plan = _prepare(optimizer, swapin_parameters, swapin_optim_state)
    own_state = optimizer.state
    # shallow copies: the group dicts themselves stay (callers may hold them), and so does
    # the identity of each original ``params`` list
    snapshots = [dict(g) for g in optimizer.param_groups]
    used: list = []
    try:
        swapped: defaultdict = defaultdict(dict)
        for live, (ids, params, group) in zip(optimizer.param_groups, plan):
            live["params"] = params
            live.update((k, v) for k, v in group.items() if k != "params")
            for p, pid in zip(params, ids):
                # a copy of each per-parameter dict: new keys stay local, tensors are shared
                swapped[p] = dict(state.get(pid, {}))
                used.append((state.get(pid, {}), swapped[p]))
        optimizer.state = swapped
        yield
    finally:
        for given, per_param in used:
            _write_back(given, per_param)
        for live, snapshot in zip(optimizer.param_groups, snapshots):
            live.clear()
            live.update(snapshot)
        optimizer.state = own_state
