"""``torch.optim.lr_scheduler``: schedules that set ``group['lr']`` epoch by epoch.

Every scheduler here follows two formulas that PyTorch keeps apart on purpose:

* ``step()`` is *chainable*: the next lr is derived from the lr the group holds now (which another
  scheduler may have changed), e.g. ``lr * gamma`` at a StepLR boundary;
* ``step(epoch)`` (deprecated) jumps straight to ``epoch`` with the *closed form*, a function of
  the base lr alone (``_get_closed_form_lr``), e.g. ``base_lr * gamma ** (epoch // step_size)``.

Both are reproduced operation for operation, since the two round differently and programs
compare learning rates exactly. The base class lives in ``_lr_base``; the cyclic, restarting
and metric-driven schedulers in ``_lr_cyclic``; this module gathers the whole public set.
"""

from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._lr_base import (
    EPOCH_DEPRECATION_WARNING,
    LRScheduler,
    _LRScheduler,
    _param_groups_val_list,
    _update_param_group_val,
    _warn_get_lr_called_within_step,
)
from ._lr_cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, ReduceLROnPlateau
from .optimizer import Optimizer

__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "SequentialLR", "CosineAnnealingLR", "ChainedScheduler",
           "ReduceLROnPlateau", "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
           "PolynomialLR", "LRScheduler", "_LRScheduler", "EPOCH_DEPRECATION_WARNING"]


# --------------------------------------------------------------------------------------------
# Shared shapes of scheduler
# --------------------------------------------------------------------------------------------

class _PerGroupRule(LRScheduler):
    """A scheduler defined by two per-group rules.

    ``_chained(lr, base_lr)`` gives the next lr from the group's current one (``step()``) and
    ``_closed(base_lr)`` the lr at ``self.last_epoch`` from the base alone (``step(epoch)``).
    Subclasses set their attributes before ``super().__init__``, which takes the first step.
    """

    def get_lr(self) -> list:
        """The lr each group gets at this step (read it with ``get_last_lr()``).

        Example:
            >>> sched.get_last_lr()  # the supported way to read the current lr
            [0.1]
        """
        _warn_get_lr_called_within_step(self)
        rule = self._chained
        return [rule(group["lr"], base)
                for group, base in zip(self.optimizer.param_groups, self.base_lrs)]

    def _get_closed_form_lr(self) -> list:
        rule = self._closed
        return [rule(base) for base in self.base_lrs]

    def _chained(self, lr, base_lr):
        raise NotImplementedError

    def _closed(self, base_lr):
        raise NotImplementedError


class _LambdaRule(LRScheduler):
    """Common part of LambdaLR and MultiplicativeLR: one user function per param group.

    A plain function cannot be pickled into a checkpoint, so ``state_dict`` stores ``None`` for
    it; a callable object keeps its ``__dict__`` (its own state) instead.
    """

    def _store_lambdas(self, optimizer: Optimizer, lr_lambda) -> None:
        count = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != count:
                raise ValueError(f"Expected {count} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * count

    def state_dict(self) -> dict[str, Any]:
        """Scheduler state without the optimizer; each lambda saved as ``None`` (a function)
        or a copy of its ``__dict__`` (a callable object).

        Example:
            >>> LambdaLR(opt, lambda e: 0.9 ** e).state_dict()['lr_lambdas']
            [None]
        """
        state = {key: value for key, value in self.__dict__.items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``; callable objects get their saved attributes back.

        Example:
            >>> sched.load_state_dict(saved)
        """
        saved = state_dict.pop("lr_lambdas")
        try:
            self.__dict__.update(state_dict)
        finally:
            # the caller's dict is left as it was given (the key goes back, at the end)
            state_dict["lr_lambdas"] = saved
        for fn, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                fn.__dict__.update(attributes)


# --------------------------------------------------------------------------------------------
# User-function schedules
# --------------------------------------------------------------------------------------------

class LambdaLR(_LambdaRule):
    """Set each group's lr to its initial lr times ``lr_lambda(epoch)``.

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: a function of the epoch (an int) giving a factor, or one per param group.
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = LambdaLR(opt, lr_lambda=lambda epoch: 0.95 ** epoch)
        >>> for epoch in range(100): train(...); opt.step(); sched.step()
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable | list[Callable],
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self._store_lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        """``base_lr * lr_lambda(last_epoch)`` for each group.

        Example:
            >>> sched.get_last_lr()
            [0.1]
        """
        _warn_get_lr_called_within_step(self)
        epoch = self.last_epoch
        return [base * fn(epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaRule):
    """Multiply each group's lr by ``lr_lambda(epoch)`` at every step after the first.

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: a function of the epoch giving the factor, or one per param group.
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = MultiplicativeLR(opt, lr_lambda=lambda epoch: 0.95)
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable | list[Callable],
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self._store_lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        """The current lr times ``lr_lambda(last_epoch)`` (unchanged on the construction step).

        Example:
            >>> sched.get_last_lr()
            [0.1]
        """
        _warn_get_lr_called_within_step(self)
        groups = self.optimizer.param_groups
        if self._is_initial:  # constructing (or resuming) leaves the lr as it is
            return [group["lr"] for group in groups]
        epoch = self.last_epoch
        return [group["lr"] * fn(epoch) for fn, group in zip(self.lr_lambdas, groups)]


# --------------------------------------------------------------------------------------------
# Decays by a constant factor
# --------------------------------------------------------------------------------------------

class StepLR(_PerGroupRule):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs.

    Args:
        optimizer: the optimizer to schedule.
        step_size: epochs between two decays.
        gamma: the decay factor (default 0.1).
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = StepLR(opt, step_size=30, gamma=0.1)  # lr 0.05, 0.005, 0.0005, ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _chained(self, lr, base_lr):
        epoch = self.last_epoch
        at_boundary = epoch != 0 and epoch % self.step_size == 0
        return lr * self.gamma if at_boundary else lr

    def _closed(self, base_lr):
        return base_lr * self.gamma ** (self.last_epoch // self.step_size)


class MultiStepLR(_PerGroupRule):
    """Multiply the lr by ``gamma`` at each milestone epoch (a repeated milestone decays again).

    Args:
        optimizer: the optimizer to schedule.
        milestones: epoch indices (any iterable of ints); kept as a ``Counter``.
        gamma: the decay factor (default 0.1).
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _chained(self, lr, base_lr):
        hits = self.milestones.get(self.last_epoch, 0)
        return lr * self.gamma ** hits if hits else lr

    def _closed(self, base_lr):
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return base_lr * self.gamma ** passed


class ExponentialLR(_PerGroupRule):
    """Multiply the lr by ``gamma`` every epoch.

    Args:
        optimizer: the optimizer to schedule.
        gamma: the per-epoch factor.
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = ExponentialLR(opt, gamma=0.9)
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _chained(self, lr, base_lr):
        return lr if self._is_initial else lr * self.gamma

    def _closed(self, base_lr):
        return base_lr * self.gamma ** self.last_epoch


# --------------------------------------------------------------------------------------------
# Warm-up shapes over ``total_iters`` epochs
# --------------------------------------------------------------------------------------------

class ConstantLR(_PerGroupRule):
    """Scale the lr by ``factor`` until epoch ``total_iters``, then restore it.

    Args:
        optimizer: the optimizer to schedule.
        factor: the scale during the first ``total_iters`` epochs, in [0, 1] (default 1/3).
        total_iters: epochs the scale lasts (default 5).
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = ConstantLR(opt, factor=0.5, total_iters=4)  # 0.025 x4, then 0.05
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if factor > 1.0 or factor < 0:  # (a NaN passes, as in PyTorch)
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _chained(self, lr, base_lr):
        epoch = self.last_epoch
        if epoch == 0:
            return lr * self.factor
        if epoch == self.total_iters:
            # undo the scale by the reciprocal, as PyTorch does (``lr / factor`` can differ
            # in the last bit)
            return lr * (1.0 / self.factor)
        return lr

    def _closed(self, base_lr):
        finished = self.last_epoch >= self.total_iters
        return base_lr * (self.factor + finished * (1 - self.factor))


class LinearLR(_PerGroupRule):
    """Move the lr's scale linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs, then hold it.

    Args:
        optimizer: the optimizer to schedule.
        start_factor: the scale at epoch 0, in (0, 1] (default 1/3).
        end_factor: the scale from epoch ``total_iters`` on, in [0, 1] (default 1.0).
        total_iters: epochs of the ramp (default 5).
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = LinearLR(opt, start_factor=0.5, total_iters=4)  # 0.025, 0.03125, ... 0.05
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             "less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _chained(self, lr, base_lr):
        epoch = self.last_epoch
        if epoch == 0:
            return lr * self.start_factor
        if self._is_initial or epoch > self.total_iters:
            return lr
        # ratio of the scale at ``epoch`` to the scale at ``epoch - 1``
        slope = self.end_factor - self.start_factor
        previous = self.total_iters * self.start_factor + (epoch - 1) * slope
        return lr * (1.0 + slope / previous)

    def _closed(self, base_lr):
        slope = self.end_factor - self.start_factor
        done = min(self.total_iters, self.last_epoch)
        return base_lr * (self.start_factor + slope * done / self.total_iters)


# --------------------------------------------------------------------------------------------
# Decays to a floor over a horizon
# --------------------------------------------------------------------------------------------

class PolynomialLR(_PerGroupRule):
    """Decay the lr to zero over ``total_iters`` epochs as ``(1 - t / total_iters) ** power``.

    Args:
        optimizer: the optimizer to schedule.
        total_iters: epochs of the decay (default 5).
        power: the polynomial's power (default 1.0, a straight line).
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = PolynomialLR(opt, total_iters=4, power=1.0)  # 0.05, 0.0375, ... 0.0
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def _chained(self, lr, base_lr):
        epoch = self.last_epoch
        if self._is_initial or epoch > self.total_iters:
            return lr
        horizon = self.total_iters
        ratio = (1.0 - epoch / horizon) / (1.0 - (epoch - 1) / horizon)
        return lr * ratio ** self.power

    def _closed(self, base_lr):
        remaining = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return base_lr * remaining ** self.power


class CosineAnnealingLR(_PerGroupRule):
    r"""Anneal the lr from its initial value to ``eta_min`` along half a cosine over ``T_max``
    epochs (SGDR without restarts); past ``T_max`` the cosine carries on, back up.

    .. math:: \eta_t = \eta_{min} + \tfrac12(\eta_{max} - \eta_{min})(1 + \cos(\pi t / T_{max}))

    ``step()`` applies this recursively to the current lr, so it composes with other schedulers.

    Args:
        optimizer: the optimizer to schedule.
        T_max: epochs of a half period.
        eta_min: the lowest lr (default 0).
        last_epoch: the index of the last epoch when resuming (-1 starts fresh).

    Example:
        >>> sched = CosineAnnealingLR(opt, T_max=100, eta_min=1e-5)
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def _chained(self, lr, base_lr):
        if self._is_initial:
            return lr
        epoch, period, floor = self.last_epoch, self.T_max, self.eta_min
        if self._step_count == 1 and epoch > 0:
            return self._closed(base_lr)
        if (epoch - 1 - period) % (2 * period) == 0:
            # the trough: the quotient below would divide by zero, so climb by the half-step
            return lr + (base_lr - floor) * (1 - math.cos(math.pi / period)) / 2
        this_step = 1 + math.cos(math.pi * epoch / period)
        last_step = 1 + math.cos(math.pi * (epoch - 1) / period)
        return this_step / last_step * (lr - floor) + floor

    def _closed(self, base_lr):
        wave = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return self.eta_min + (base_lr - self.eta_min) * wave / 2


# --------------------------------------------------------------------------------------------
# Schedulers made of schedulers
# --------------------------------------------------------------------------------------------

def _validate_members(owner: str, optimizer, schedulers) -> None:
    """The checks SequentialLR and ChainedScheduler share, in PyTorch's order and words."""
    for index, member in enumerate(schedulers):
        if not hasattr(member, "optimizer"):
            raise TypeError(f"{owner} at index {index} should have `optimizer` as its attribute.")
        if isinstance(member, ReduceLROnPlateau):
            raise ValueError(f"{owner} does not support `ReduceLROnPlateau` scheduler as it "
                             "requires additional kwargs to be specified when calling `step`, "
                             f"but got one at index {index} in the given schedulers sequence.")
        if member.optimizer is not optimizer:
            raise ValueError(f"{owner} expects all schedulers to belong to the same optimizer, "
                             f"but got scheduler {type(member).__name__} at index {index} has "
                             f"{member.optimizer}, which is different from "
                             f"{type(optimizer).__name__}.")


class _HoldsSchedulers:
    """state_dict for a scheduler of schedulers: its own attributes plus each member's state
    (never the members or the optimizer themselves)."""

    def state_dict(self) -> dict[str, Any]:
        """Own attributes, with ``_schedulers`` as the list of the members' state dicts.

        Example:
            >>> list(sched.state_dict())[-1]
            '_schedulers'
        """
        state = {key: value for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [member.state_dict() for member in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``, member by member.

        Example:
            >>> sched.load_state_dict(saved)
        """
        members = state_dict.pop("_schedulers")
        try:
            self.__dict__.update(state_dict)
        finally:
            state_dict["_schedulers"] = members  # give the caller's dict its key back
        for member, member_state in zip(self._schedulers, members):
            member.load_state_dict(member_state)


class SequentialLR(_HoldsSchedulers, LRScheduler):
    """Run schedulers one after another, switching at the ``milestones`` epochs.

    At each milestone the next scheduler starts from its epoch 0 (its closed form when it has
    one), so e.g. a warm-up hands over to a decay.

    Args:
        optimizer: the optimizer every scheduler belongs to.
        schedulers: the schedulers, in order (not ReduceLROnPlateau).
        milestones: ``len(schedulers) - 1`` epochs at which to switch.
        last_epoch: the index of the last epoch (default -1).

    Example:
        >>> warmup = LinearLR(opt, start_factor=0.1, total_iters=5)
        >>> decay = ExponentialLR(opt, gamma=0.9)
        >>> sched = SequentialLR(opt, [warmup, decay], milestones=[5])
    """

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler],
                 milestones: list[int], last_epoch: int = -1) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got no scheduler.")
        _validate_members("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to be "
                             "one more than the number of milestone points, but got number of "
                             f"schedulers {len(schedulers)} and the number of milestones to be "
                             f"equal to {len(milestones)}")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Building the members already stepped each of them once; start again from the initial
        # lrs with every member one epoch back, and let only the first one take its first step.
        for group in optimizer.param_groups:
            _update_param_group_val(group, "lr", group["initial_lr"])
        self.recursive_undo()
        schedulers[0]._initial_step()
        self._last_lr = schedulers[0].get_last_lr()

    def recursive_undo(self, sched=None) -> None:
        """Move every scheduler inside ``sched`` (default: this one's members, nested ones
        too) one epoch back, undoing the step each took when it was built.

        Example:
            >>> sched.recursive_undo()
        """
        target = self if sched is None else sched
        if hasattr(target, "_schedulers"):
            for member in target._schedulers:
                self.recursive_undo(member)
        elif hasattr(target, "last_epoch"):
            target.last_epoch -= 1

    def step(self) -> None:
        """Advance one epoch with the scheduler whose turn it is.

        Example:
            >>> opt.step(); sched.step()
        """
        self.last_epoch += 1
        turn = bisect_right(self._milestones, self.last_epoch)
        current = self._schedulers[turn]
        if turn > 0 and self._milestones[turn - 1] == self.last_epoch:
            current._update_lr(0)  # a fresh start for the member (no epoch-argument warning)
        else:
            current.step()
        self._last_lr = current.get_last_lr()


class ChainedScheduler(_HoldsSchedulers, LRScheduler):
    """Step several schedulers together at every epoch; their effects on the lr multiply.

    Args:
        schedulers: the chainable schedulers (not ReduceLROnPlateau), stepped in order.
        optimizer: their optimizer (default: the first scheduler's).

    Example:
        >>> sched = ChainedScheduler([ConstantLR(opt, factor=0.1, total_iters=2),
        ...                           ExponentialLR(opt, gamma=0.9)])
    """

    def __init__(self, schedulers: Sequence[LRScheduler],
                 optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler expects at least one scheduler to be chained, "
                             "but got no scheduler.")
        if optimizer is None:
            optimizer = schedulers[0].optimizer
        _validate_members("ChainedScheduler", optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _param_groups_val_list(schedulers[-1].optimizer, "lr")

    def step(self) -> None:
        """Step every member once, in order.

        Example:
            >>> opt.step(); sched.step()
        """
        for member in self._schedulers:
            member.step()
        self._last_lr = _param_groups_val_list(self._schedulers[-1].optimizer, "lr")
