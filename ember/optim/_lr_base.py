"""``LRScheduler``, the base of every learning-rate scheduler, and the helpers they share.

A scheduler owns a step counter (``last_epoch``) and, at each ``step()``, writes the lr its
``get_lr()`` computes into every param group of its optimizer. Construction already takes the
first step (epoch 0), so a fresh scheduler has set the group lrs to their epoch-0 values.

Learning rates may be 0-d tensors: those are updated in place (``fill_``) and copied when the
scheduler keeps them, so a scheduler never aliases the tensor the optimizer reads.
"""

from __future__ import annotations

import functools
import warnings
import weakref
from typing import Any

from .._tensor import Tensor
from .optimizer import Optimizer

__all__ = ["LRScheduler", "_LRScheduler", "EPOCH_DEPRECATION_WARNING"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available. Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)

_ORDER_HELP = "See more details at https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"

_STEP_OVERRIDDEN = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
    "initialization. Please, make sure to call `optimizer.step()` before "
    f"`lr_scheduler.step()`. {_ORDER_HELP}"
)

_STEP_ORDER = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and "
    "later, you should call them in the opposite order: `optimizer.step()` before "
    "`lr_scheduler.step()`.  Failure to do this will result in PyTorch skipping the first value "
    f"of the learning rate schedule. {_ORDER_HELP}"
)

_MISSING_INITIAL_LR = (
    "param 'initial_lr' is not specified in param_groups[{}] when resuming scheduler with "
    "last_epoch >= 0.\nThis typically happens when:\n1. You're trying to resume training from a "
    "checkpoint but haven't properly loaded the optimizer state\n2. You're using last_epoch >= 0 "
    "for a fresh training run (not recommended)"
)


# --------------------------------------------------------------------------------------------
# Param-group helpers
# --------------------------------------------------------------------------------------------

def _own_copy(value):
    """``value`` itself, or a clone when it is a tensor (a kept lr must not follow the group's)."""
    return value.clone() if isinstance(value, Tensor) else value


def _format_param(name: str, optimizer: Optimizer, param) -> list:
    """One value per param group: a list or tuple is checked for length, anything else repeated.

    Example:
        >>> _format_param("max_lr", opt, 0.1)  # an optimizer with two groups
        [0.1, 0.1]
    """
    count = len(optimizer.param_groups)
    if not isinstance(param, (list, tuple)):
        return [param] * count
    if len(param) != count:
        raise ValueError(f"{name} must have the same length as optimizer.param_groups. {name} "
                         f"has {len(param)} values, param_groups has {count}.")
    return list(param)


def _param_groups_val_list(optimizer: Optimizer, key: str) -> list:
    """``group[key]`` of every group (tensors cloned); a missing key raises KeyError.

    Example:
        >>> _param_groups_val_list(opt, "lr")
        [0.1]
    """
    return [_own_copy(group[key]) for group in optimizer.param_groups]


def _update_param_group_val(group: dict, key: str, value) -> None:
    """Set ``group[key]``; a tensor already there is filled in place, so whoever holds it sees
    the new value. A missing key raises KeyError.

    Example:
        >>> _update_param_group_val(opt.param_groups[0], "lr", 0.01)
    """
    held = group[key]
    if not isinstance(held, Tensor):
        group[key] = value
        return
    if isinstance(value, Tensor):
        value = value.reshape(())  # fill_ takes a 0-d tensor; a one-element one is flattened
    held.fill_(value)


# --------------------------------------------------------------------------------------------
# Flags raised while a scheduler is stepping
# --------------------------------------------------------------------------------------------

def _warn_get_lr_called_within_step(scheduler: LRScheduler) -> None:
    """Warn when ``get_lr()`` runs outside ``step()``: its value is the next lr, not the current.

    Example:
        >>> _warn_get_lr_called_within_step(sched)  # inside get_lr(), first thing
    """
    if not scheduler._get_lr_called_within_step:
        warnings.warn("To get the last learning rate computed by the scheduler, please use "
                      "`get_last_lr()`.", UserWarning, stacklevel=2)


class _SchedulerFlag:
    """Set one boolean attribute of a scheduler for the duration of a ``with`` block."""

    attribute = ""

    def __init__(self, o: LRScheduler) -> None:
        self.o = o

    def __enter__(self):
        setattr(self.o, self.attribute, True)
        return self

    def __exit__(self, *exc) -> None:
        setattr(self.o, self.attribute, False)


class _enable_get_lr_call(_SchedulerFlag):
    """Marks ``get_lr()`` calls made by the scheduler's own ``step()`` (no warning then)."""

    attribute = "_get_lr_called_within_step"


class _initial_mode(_SchedulerFlag):
    """Marks the step a scheduler takes while it is constructed (``_is_initial``)."""

    attribute = "_is_initial"


def _note_optimizer_steps(optimizer: Optimizer) -> None:
    """Replace ``optimizer.step`` (on the instance) by a function that also records, in
    ``optimizer._opt_called``, that the optimizer has stepped; a scheduler stepped before that
    warns. The optimizer is held weakly, so the wrapper does not keep it alive, and a second
    scheduler on the same optimizer finds the wrapper in place and leaves it."""
    bound = optimizer.step
    if hasattr(bound, "_wrapped_by_lr_sched"):
        return
    # the function behind the bound method (the class's step, hooks included), called on the
    # scheduled optimizer
    plain = bound.__func__
    owner = weakref.ref(optimizer)

    @functools.wraps(plain)
    def step(*args, **kwargs):
        opt = owner()
        opt._opt_called = True
        return plain(opt, *args, **kwargs)

    step._wrapped_by_lr_sched = True
    optimizer.step = step


# --------------------------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------------------------

class LRScheduler:
    """Base class of the schedulers that adjust each param group's ``lr`` epoch by epoch.

    A subclass implements ``get_lr()``: the lrs for epoch ``self.last_epoch``, usually derived
    from the groups' current lrs (chainable) or from ``self.base_lrs``. It may also define
    ``_get_closed_form_lr()``, which the deprecated ``step(epoch)`` uses instead.

    Args:
        optimizer: the wrapped optimizer.
        last_epoch: the index of the last epoch. ``-1`` starts fresh and records each group's
            lr as ``initial_lr``; a larger value resumes, and then every group must already
            hold ``initial_lr`` (as after loading the optimizer's state dict).

    Example:
        >>> class Halve(LRScheduler):
        ...     def get_lr(self):
        ...         return [base * 0.5 ** self.last_epoch for base in self.base_lrs]
        >>> sched = Halve(opt)
        >>> opt.step(); sched.step(); sched.get_last_lr()
        [0.05]
    """

    # True while ``step()`` calls ``get_lr()``, and during the step taken at construction
    _get_lr_called_within_step: bool = False
    _is_initial: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group in groups:
                if "initial_lr" not in group:
                    group["initial_lr"] = _own_copy(group["lr"])
        else:
            for index, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(_MISSING_INITIAL_LR.format(index))
        self.base_lrs = [_own_copy(group["initial_lr"]) for group in groups]
        self.last_epoch = last_epoch
        _note_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        """Take the step that puts the groups at the first epoch of the schedule."""
        self._step_count = 0
        with _initial_mode(self):
            self.step()

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's attributes, all but the optimizer (save that one separately).

        Example:
            >>> torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, path)
        """
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore attributes saved by ``state_dict()``.

        Example:
            >>> sched.load_state_dict(checkpoint["sched"])
        """
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list:
        """The lr of each param group as set by the latest step.

        Example:
            >>> sched.get_last_lr()
            [0.1]
        """
        return self._last_lr

    def get_lr(self) -> list:
        """The lrs of epoch ``last_epoch``; each scheduler defines it (called by ``step()``).

        Example:
            >>> sched.get_last_lr()  # the value step() stored; get_lr() is for step() itself
            [0.1]
        """
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch and write the new lrs into the optimizer's groups.

        Call it after ``optimizer.step()``. Passing ``epoch`` (deprecated) jumps to that epoch
        and uses the closed form where the scheduler has one.

        Example:
            >>> for epoch in range(3):
            ...     opt.step()
            ...     sched.step()
        """
        if self._step_count == 1:
            self._check_optimizer_stepped()
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _check_optimizer_stepped(self) -> None:
        """Warn, on the first step after construction, unless the optimizer stepped before."""
        if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
            message = _STEP_OVERRIDDEN  # the wrapper that notices optimizer steps is gone
        elif getattr(self.optimizer, "_opt_called", False):
            return
        else:
            message = _STEP_ORDER
        warnings.warn(message, UserWarning, stacklevel=3)

    def _update_lr(self, epoch: int | None = None) -> None:
        """Move to ``epoch`` (default: the next one) and apply the lrs, without warnings."""
        jump = epoch is not None
        with _enable_get_lr_call(self):
            # an explicit epoch takes the closed form, where the scheduler has one
            self.last_epoch = epoch if jump else self.last_epoch + 1
            compute = getattr(self, "_get_closed_form_lr", self.get_lr) if jump else self.get_lr
            lrs = compute()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            _update_param_group_val(group, "lr", lr)
        self._last_lr = _param_groups_val_list(self.optimizer, "lr")


class _LRScheduler(LRScheduler):
    """The older name of ``LRScheduler``, kept so that code subclassing it still works.

    Example:
        >>> class Constant(_LRScheduler):
        ...     def get_lr(self):
        ...         return list(self.base_lrs)
    """
