"""Schedulers that are not a plain decay of the lr: driven by a metric (``ReduceLROnPlateau``),
cyclical (``CyclicLR``, ``OneCycleLR``, which can cycle the momentum too) and restarting
(``CosineAnnealingWarmRestarts``). ``ember.optim.lr_scheduler`` re-exports them.

All of them compute each lr from stored anchors (base/max lrs, momentums) rather than from the
group's current lr, so they do not compose with other schedulers the way the chainable ones do.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

from ._lr_base import (
    EPOCH_DEPRECATION_WARNING,
    LRScheduler,
    _enable_get_lr_call,
    _format_param,
    _param_groups_val_list,
    _update_param_group_val,
    _warn_get_lr_called_within_step,
)
from .optimizer import Optimizer

__all__ = ["ReduceLROnPlateau", "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR"]


def _require_optimizer(optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _momentum_key(optimizer: Optimizer) -> bool:
    """Whether the optimizer's momentum is ``betas[0]`` (Adam family) rather than
    ``momentum`` (SGD, RMSprop); one of them is needed to cycle the momentum."""
    defaults = optimizer.defaults
    if "momentum" not in defaults and "betas" not in defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option "
                         "enabled")
    return "betas" in defaults


def _put_momentum(group: dict, value, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _seed_momentums(optimizer: Optimizer, use_beta1: bool, highs: list, lows: list) -> None:
    """On a fresh start each group begins at its top momentum and records both ends."""
    for group, high, low in zip(optimizer.param_groups, highs, lows):
        _put_momentum(group, high, use_beta1)
        group["max_momentum"] = high
        group["base_momentum"] = low


# --------------------------------------------------------------------------------------------
# Driven by a metric
# --------------------------------------------------------------------------------------------

class ReduceLROnPlateau(LRScheduler):
    """Cut the lr by ``factor`` once a metric has stopped improving for ``patience`` epochs.

    Each ``step(metric)`` compares the metric with the best seen so far. An improvement must
    beat the best by ``threshold`` (relative: a fraction of the best; absolute: an amount).
    After more than ``patience`` epochs without one, every group's lr is multiplied by
    ``factor`` (never below its ``min_lr``; changes smaller than ``eps`` are skipped), and
    ``cooldown`` epochs follow in which bad epochs are not counted.

    Args:
        optimizer: the optimizer to schedule.
        mode: ``'min'`` (lower is better, e.g. a loss) or ``'max'`` (e.g. an accuracy).
        factor: the multiplier of a cut, below 1 (default 0.1).
        patience: epochs without improvement tolerated before a cut (default 10).
        threshold: the margin an improvement must have (default 1e-4).
        threshold_mode: ``'rel'`` or ``'abs'``, how ``threshold`` is applied.
        cooldown: epochs to wait after a cut before counting again (default 0).
        min_lr: the lowest lr, one number or one per param group (default 0).
        eps: the smallest cut that is applied (default 1e-8).

    Example:
        >>> sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2)
        >>> for epoch in range(10):
        ...     val_loss = validate(...)
        ...     sched.step(val_loss)
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: list[float] | float = 0, eps: float = 1e-8) -> None:
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        self.factor = factor
        _require_optimizer(optimizer)
        self.optimizer = optimizer
        count = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != count:
                raise ValueError(f"expected {count} min_lrs, got {len(min_lr)}")
            # per-group floors cannot be extended to groups added later
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * count
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _param_groups_val_list(optimizer, "lr")
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self) -> None:
        """Forget the best metric and the counters."""
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics, epoch=None) -> None:
        """Record this epoch's metric and cut the lr if it has been stuck for too long.

        Args:
            metrics: the monitored value (anything ``float()`` accepts, e.g. a 0-d tensor).
            epoch: deprecated; the epoch number to record.

        Example:
            >>> sched.step(val_loss)
        """
        value = float(metrics)
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch

        improved = self._is_better(value, self.best)
        if improved:
            self.best = value
        self.num_bad_epochs = 0 if improved else self.num_bad_epochs + 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # epochs in cooldown never count as bad
        if self.num_bad_epochs > self.patience:
            self._reduce_lr(self.last_epoch)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _param_groups_val_list(self.optimizer, "lr")

    def _reduce_lr(self, epoch) -> None:
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the `optimizer` ({len(groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                    "usually due to a new param group being added to the optimizer. Please "
                    "modify the `min_lrs` field to match the length of the `optimizer` param "
                    "groups.")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs):
            current = float(group["lr"])
            lowered = max(current * self.factor, floor)
            if current - lowered > self.eps:
                _update_param_group_val(group, "lr", lowered)

    @property
    def in_cooldown(self) -> bool:
        """Whether the scheduler is waiting out its cooldown after a cut.

        Example:
            >>> sched.in_cooldown
            False
        """
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        margin = self.threshold
        if self.threshold_mode == "rel":
            if self.mode == "min":
                return a < best * (1.0 - margin)
            return a > best * (margin + 1.0)
        if self.mode == "min":
            return a < best - margin
        return a > best + margin

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        """Validate and store the comparison settings (also re-run on ``load_state_dict``)."""
        if mode not in ("min", "max"):
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        # the starting "best": anything beats it
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()`` (the comparison settings are checked again).

        Example:
            >>> sched.load_state_dict(checkpoint["sched"])
        """
        self.__dict__.update(state_dict)
        self._init_is_better(mode=self.mode, threshold=self.threshold,
                             threshold_mode=self.threshold_mode)


# --------------------------------------------------------------------------------------------
# Cyclical schedules
# --------------------------------------------------------------------------------------------

class CyclicLR(LRScheduler):
    """Cycle each group's lr between ``base_lr`` and ``max_lr`` (cyclical learning rates,
    Smith 2017), one step per batch.

    A cycle rises for ``step_size_up`` steps and falls for ``step_size_down``. The amplitude
    is scaled by ``mode``: ``'triangular'`` keeps it, ``'triangular2'`` halves it every cycle,
    ``'exp_range'`` multiplies it by ``gamma ** iteration``; or by a custom ``scale_fn`` of the
    cycle number or of the iteration (``scale_mode``). With ``cycle_momentum`` the momentum
    (or Adam's beta1) moves the opposite way, between ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer: the optimizer to schedule.
        base_lr: the lower lr, one number or one per group (it is also the starting lr).
        max_lr: the upper lr, one number or one per group.
        step_size_up: steps of the rising half (default 2000).
        step_size_down: steps of the falling half (default: ``step_size_up``).
        mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'`` (ignored with scale_fn).
        gamma: the base of ``'exp_range'``'s decay (default 1.0).
        scale_fn: a function of one number giving the amplitude's scale in [0, 1].
        scale_mode: ``'cycle'`` or ``'iterations'``, what ``scale_fn`` is given.
        cycle_momentum: whether to cycle the momentum as well (default True).
        base_momentum: the lower momentum, one number or one per group (default 0.8).
        max_momentum: the upper momentum, one number or one per group (default 0.9).
        last_epoch: the index of the last batch when resuming (-1 starts fresh).

    Example:
        >>> sched = CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4)
        >>> for batch in loader:
        ...     train_batch(batch)
        ...     opt.step()
        ...     sched.step()
    """

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float],
                 max_lr: float | list[float], step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float = 0.8,
                 max_momentum: float = 0.9, last_epoch: int = -1) -> None:
        _require_optimizer(optimizer)
        self.optimizer = optimizer
        lows = _format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for group, low in zip(optimizer.param_groups, lows):
                _update_param_group_val(group, "lr", low)
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)

        rising = float(step_size_up)
        falling = rising if step_size_down is None else float(step_size_down)
        self.total_size = rising + falling
        self.step_ratio = rising / self.total_size  # the share of a cycle spent rising

        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom, self.scale_mode = scale_fn, scale_mode
        self._init_scale_fn()

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(optimizer)
            self.base_momentums = _format_param("base_momentum", optimizer, base_momentum)
            self.max_momentums = _format_param("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                _seed_momentums(optimizer, self.use_beta1, self.max_momentums,
                                self.base_momentums)
        super().__init__(optimizer, last_epoch)
        # The construction step used the groups' ``initial_lr`` (which a resumed optimizer
        # may hold); from now on the cycle is anchored at ``base_lr``.
        self.base_lrs = lows

    # The built-in scales, of the cycle number (triangular ones) or of the iteration.
    @staticmethod
    def _exp_range_scale_fn(gamma: float, x: float) -> float:
        return gamma ** x

    @staticmethod
    def _triangular2_scale_fn(x: float) -> float:
        return 1 / (2.0 ** (x - 1))  # the amplitude halves every cycle

    @staticmethod
    def _triangular_scale_fn(x: float) -> float:
        return 1.0

    def _init_scale_fn(self) -> None:
        """Pick the built-in scale of ``mode``, unless a custom function was given (a function
        attribute does not survive ``state_dict``, so this runs again on load)."""
        if self._scale_fn_custom is not None:
            return
        if self.mode == "exp_range":
            self._scale_fn_ref = partial(CyclicLR._exp_range_scale_fn, self.gamma)
            self.scale_mode = "iterations"
            return
        halving = self.mode == "triangular2"
        self._scale_fn_ref = (CyclicLR._triangular2_scale_fn if halving
                              else CyclicLR._triangular_scale_fn)
        self.scale_mode = "cycle"

    def scale_fn(self, x) -> float:
        """The amplitude's scale at ``x`` (a cycle number or an iteration, see ``scale_mode``).

        Example:
            >>> CyclicLR(opt, 0.01, 0.1, mode="triangular2").scale_fn(3)
            0.25
        """
        custom = self._scale_fn_custom
        return self._scale_fn_ref(x) if custom is None else custom(x)

    def get_lr(self) -> list:
        """The lr of each group at batch ``last_epoch``; with ``cycle_momentum`` it also sets
        the groups' momentum (called by ``step()``).

        Example:
            >>> sched.get_last_lr()
            [0.01]
        """
        _warn_get_lr_called_within_step(self)
        position = self.last_epoch / self.total_size
        cycle = math.floor(1 + position)
        into = 1.0 + position - cycle  # how far into the current cycle, in [0, 1)
        ratio = self.step_ratio
        # 0 -> 1 on the way up, 1 -> 0 on the way down
        height = into / ratio if into <= ratio else (into - 1) / (ratio - 1)
        where = cycle if self.scale_mode == "cycle" else self.last_epoch

        lrs = [low + (high - low) * height * self.scale_fn(where)
               for low, high in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            # the momentum mirrors the lr: lowest when the lr peaks
            momentums = [high - (high - low) * height * self.scale_fn(where)
                         for low, high in zip(self.base_momentums, self.max_momentums)]
            for group, momentum in zip(self.optimizer.param_groups, momentums):
                _put_momentum(group, momentum, self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state. The built-in scale function is rebuilt on load; a custom one
        is saved as ``None`` if it is a plain function, or as a copy of its ``__dict__`` if it
        is a callable object.

        Example:
            >>> CyclicLR(opt, 0.01, 0.1).state_dict()["_scale_fn_custom"] is None
            True
        """
        state = super().state_dict()
        state.pop("_scale_fn_ref", None)
        custom = state.pop("_scale_fn_custom")
        keep = custom is not None and not isinstance(custom, types.FunctionType)
        state["_scale_fn_custom"] = custom.__dict__.copy() if keep else None
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``; a callable-object ``scale_fn`` gets its saved
        attributes back (the scheduler keeps its own ``scale_fn`` object).

        Example:
            >>> sched.load_state_dict(checkpoint["sched"])
        """
        custom_state = state_dict.pop("_scale_fn_custom")
        super().load_state_dict(state_dict)
        if custom_state is not None:
            self._scale_fn_custom.__dict__.update(custom_state)
        self._init_scale_fn()


def _positive_int(name: str, value) -> None:
    if value <= 0 or not isinstance(value, int):
        raise ValueError(f"Expected positive integer {name}, but got {value}")


def _phase(end_step, start_lr: str, end_lr: str, start_momentum: str, end_momentum: str) -> dict:
    """One leg of the one-cycle schedule; the lr/momentum fields name param-group keys."""
    return {"end_step": end_step, "start_lr": start_lr, "end_lr": end_lr,
            "start_momentum": start_momentum, "end_momentum": end_momentum}


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2017): warm the lr up from ``max_lr / div_factor`` to
    ``max_lr``, then anneal it far below the start, over a fixed number of batches.

    With ``three_phase`` the lr first comes back down to its start symmetrically and only then
    anneals to the minimum. The momentum (or Adam's beta1) moves the opposite way between
    ``max_momentum`` and ``base_momentum``. Step it after every batch; stepping past
    ``total_steps`` raises.

    Args:
        optimizer: the optimizer to schedule.
        max_lr: the peak lr, one number or one per group.
        total_steps: the length of the cycle, or give ``epochs`` and ``steps_per_epoch``.
        epochs: epochs to train (with ``steps_per_epoch``).
        steps_per_epoch: batches per epoch (with ``epochs``).
        pct_start: the share of the cycle spent warming up (default 0.3).
        anneal_strategy: ``'cos'`` (default) or ``'linear'``.
        cycle_momentum: whether to cycle the momentum as well (default True).
        base_momentum: the momentum at the lr's peak (default 0.85).
        max_momentum: the momentum at the start and the end (default 0.95).
        div_factor: ``initial_lr = max_lr / div_factor`` (default 25).
        final_div_factor: ``min_lr = initial_lr / final_div_factor`` (default 1e4).
        three_phase: use the three-phase shape (default False).
        last_epoch: the index of the last batch when resuming (-1 starts fresh).

    Example:
        >>> sched = OneCycleLR(opt, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
        >>> for epoch in range(10):
        ...     for batch in loader:
        ...         train_batch(batch)
        ...         opt.step()
        ...         sched.step()
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        _require_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            _positive_int("total_steps", total_steps)
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            _positive_int("epochs", epochs)
            _positive_int("steps_per_epoch", steps_per_epoch)
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")

        last_step = self.total_steps - 1
        peak = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                _phase(peak, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                       "base_momentum", "max_momentum"),
                _phase(last_step, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                _phase(peak, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(last_step, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_func_type = anneal_strategy

        peaks = _format_param("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            # the anchors live in the param groups, so that a resumed run finds them there
            for group, top in zip(optimizer.param_groups, peaks):
                start = top / div_factor
                group["initial_lr"] = start
                group["max_lr"] = top
                group["min_lr"] = start / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(optimizer)
            highs = _format_param("max_momentum", optimizer, max_momentum)
            lows = _format_param("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                _seed_momentums(optimizer, self.use_beta1, highs, lows)
        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, *args, **kwargs):
        if not hasattr(self, "_anneal_func_type"):
            # a scheduler pickled by an older version kept the function itself
            return self.anneal_func(*args, **kwargs)
        kind = self._anneal_func_type
        if kind == "cos":
            return self._annealing_cos(*args, **kwargs)
        if kind == "linear":
            return self._annealing_linear(*args, **kwargs)
        raise ValueError(f"Unknown _anneal_func_type: {kind}")

    @staticmethod
    def _annealing_cos(start, end, pct):
        # half a cosine: 1 at pct 0, 0 at pct 1
        weight = math.cos(math.pi * pct) + 1
        return end + (start - end) / 2.0 * weight

    @staticmethod
    def _annealing_linear(start, end, pct):
        return (end - start) * pct + start

    def get_lr(self) -> list:
        """The lr of each group at batch ``last_epoch``; with ``cycle_momentum`` it also sets
        the groups' momentum (called by ``step()``).

        Example:
            >>> sched.get_last_lr()
            [0.004]
        """
        _warn_get_lr_called_within_step(self)
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total "
                             f"steps is {self.total_steps}")
        phase, pct = self._locate(step)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal_func(group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                momentum = self._anneal_func(group[phase["start_momentum"]],
                                             group[phase["end_momentum"]], pct)
                _put_momentum(group, momentum, self.use_beta1)
        return lrs

    def _locate(self, step) -> tuple[dict, float]:
        """The phase ``step`` falls in and how far through it (the last phase takes any
        step beyond its end)."""
        phases = self._schedule_phases
        begin = 0.0
        for phase in phases[:-1]:
            end = phase["end_step"]
            if step <= end:
                return phase, (step - begin) / (end - begin)
            begin = end
        final = phases[-1]
        return final, (step - begin) / (final["end_step"] - begin)


# --------------------------------------------------------------------------------------------
# Restarting schedule
# --------------------------------------------------------------------------------------------

class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2016).

    Within a period the lr follows half a cosine from the initial lr down to ``eta_min``;
    then it jumps back up. The first period lasts ``T_0`` epochs and each next one ``T_mult``
    times longer. ``step(epoch)`` accepts fractional epochs, so it can be stepped per batch.

    .. math:: \eta_t = \eta_{min} + \tfrac12(\eta_{max} - \eta_{min})
              (1 + \cos(\pi T_{cur} / T_i))

    Args:
        optimizer: the optimizer to schedule.
        T_0: epochs of the first period (a positive int).
        T_mult: the growth factor of the period (an int >= 1, default 1).
        eta_min: the lowest lr (default 0).
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2)
        >>> for epoch in range(20):
        ...     for i, batch in enumerate(loader):
        ...         train_batch(batch)
        ...         opt.step()
        ...         sched.step(epoch + i / len(loader))
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        _positive_int("T_0", T_0)
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type "
                             f"{type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0  # the length of the current period
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch  # epochs since the last restart
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        """The lr of each group at ``T_cur`` epochs into the current period.

        Example:
            >>> sched.get_last_lr()
            [0.1]
        """
        _warn_get_lr_called_within_step(self)
        floor = self.eta_min
        weight = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [floor + (base - floor) * weight / 2 for base in self.base_lrs]

    def step(self, epoch=None) -> None:
        """Advance one epoch, or go to ``epoch`` (which may be fractional).

        Unlike other schedulers, an explicit epoch is supported here (no warning), and this
        step does not count ``_step_count``.

        Example:
            >>> sched.step()          # one epoch on
            >>> sched.step(12.5)      # half way through epoch 12
        """
        if epoch is None and self.last_epoch >= 0:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # a restart, into a period T_mult times longer
                # (a remainder: after resuming, T_cur can be more than one period in)
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch is None:  # a first step (construction) starts at epoch 0
                epoch = 0
            elif epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            self._seek(epoch)
        self.last_epoch = math.floor(epoch)

        with _enable_get_lr_call(self):
            lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            _update_param_group_val(group, "lr", lr)
        self._last_lr = _param_groups_val_list(self.optimizer, "lr")

    def _seek(self, epoch) -> None:
        """Set the period (``T_i``) and the position in it (``T_cur``) of ``epoch``."""
        first, growth = self.T_0, self.T_mult
        if epoch < first:
            self.T_i = first
            self.T_cur = epoch
        elif growth == 1:
            self.T_cur = epoch % first
        else:
            # periods first * growth**k end at first * (growth**(k+1) - 1) / (growth - 1):
            # count the completed ones
            done = int(math.log((epoch / first * (growth - 1) + 1), growth))
            self.T_cur = epoch - first * (growth ** done - 1) / (growth - 1)
            self.T_i = first * growth ** done
