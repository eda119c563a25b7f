"""``torch.optim.swa_utils``: weight averaging of a model along its training trajectory.

* ``AveragedModel`` keeps a copy of a model whose parameters (optionally buffers too) are an
  average of the model's over time: the equal-weight mean of Stochastic Weight Averaging by
  default, an exponential moving average with ``get_ema_multi_avg_fn``/``get_ema_avg_fn``.
* ``SWALR`` anneals each group's lr to a constant SWA lr, ``update_bn`` recomputes BatchNorm
  statistics for the averaged weights with one pass over the data.

The averaging rules come in two calling conventions, as in PyTorch: ``*_avg_fn`` take one
tensor pair and return the new average, ``*_multi_avg_fn`` take lists and update them in place.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

from .._creation import tensor
from .._dtype import int64
from .._tensor import Tensor
from ..autograd import grad_mode
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from ._lr_base import LRScheduler, _format_param, _warn_get_lr_called_within_step
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]

# Device types whose multi-tensor kernels PyTorch uses for the default SWA rule; elsewhere (the
# CPU) it averages tensor by tensor, which rounds differently from the lerp form.
_MULTI_TENSOR_DEVICES = ("cuda", "xpu")


def _floating_or_complex(t: Tensor) -> bool:
    return t.is_floating_point() or t.is_complex()


def _require_unit_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")


# --------------------------------------------------------------------------------------------
# Averaging rules
# --------------------------------------------------------------------------------------------

def get_ema_multi_avg_fn(decay: float = 0.999):
    """An in-place exponential-moving-average rule over lists of tensors, for
    ``AveragedModel(multi_avg_fn=...)``: ``ema <- decay * ema + (1 - decay) * current``.

    Args:
        decay: the weight of the running average, in [0, 1].

    Example:
        >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
        >>> ema.update_parameters(model)
    """
    _require_unit_decay(decay)
    step = 1 - decay

    @grad_mode.no_grad()
    def ema_update(ema_param_list, current_param_list, _) -> None:
        # lerp exists for floating types only; integer tensors take the explicit blend
        if _floating_or_complex(ema_param_list[0]):
            for kept, fresh in zip(ema_param_list, current_param_list):
                kept.lerp_(fresh, step)
            return
        for kept, fresh in zip(ema_param_list, current_param_list):
            kept.copy_(kept * decay + fresh * step)

    return ema_update


def get_swa_multi_avg_fn():
    """An in-place running-mean rule over lists of tensors (SWA's equal weights), for
    ``AveragedModel(multi_avg_fn=...)``: ``avg <- avg + (current - avg) / (n + 1)``.

    Example:
        >>> swa = AveragedModel(model, multi_avg_fn=get_swa_multi_avg_fn())
    """

    @grad_mode.no_grad()
    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        if _floating_or_complex(averaged_param_list[0]):
            weight = 1 / (num_averaged + 1)
            for kept, fresh in zip(averaged_param_list, current_param_list):
                kept.lerp_(fresh, weight)
            return
        gaps = [fresh.sub(kept) for kept, fresh in zip(averaged_param_list, current_param_list)]
        if isinstance(num_averaged, Tensor):
            count = num_averaged + 1
            for kept, gap in zip(averaged_param_list, gaps):
                kept.addcdiv_(gap, count)
        else:
            share = 1.0 / (num_averaged + 1)
            for kept, gap in zip(averaged_param_list, gaps):
                kept.add_(gap, alpha=share)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """A one-tensor exponential-moving-average rule for ``AveragedModel(avg_fn=...)``; it
    returns ``decay * ema + (1 - decay) * current``.

    Args:
        decay: the weight of the running average, in [0, 1].

    Example:
        >>> get_ema_avg_fn(0.5)(ember.tensor([0.0]), ember.tensor([2.0]), 1)
        tensor([1.])
    """
    _require_unit_decay(decay)

    @grad_mode.no_grad()
    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """A one-tensor running-mean rule for ``AveragedModel(avg_fn=...)``; it returns
    ``avg + (current - avg) / (num_averaged + 1)``.

    Example:
        >>> get_swa_avg_fn()(ember.tensor([1.0]), ember.tensor([4.0]), 2)
        tensor([2.])
    """

    @grad_mode.no_grad()
    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


# --------------------------------------------------------------------------------------------
# The averaged model
# --------------------------------------------------------------------------------------------

def _by_device_and_dtype(kept: list, fresh: list) -> dict:
    """Pairs grouped by (device, dtype) in order of first appearance: a multi-tensor rule sees
    lists of one kind only (it looks at the first tensor to pick its formula)."""
    groups: dict = {}
    for a, b in zip(kept, fresh):
        lists = groups.setdefault((a.device, a.dtype), ([], []))
        lists[0].append(a)
        lists[1].append(b)
    return groups


class AveragedModel(Module):
    """A copy of ``model`` whose weights are averaged over the models given to
    ``update_parameters``: SWA's equal-weight mean by default, or the rule of ``avg_fn`` (one
    tensor at a time) or ``multi_avg_fn`` (lists, in place), e.g. an EMA.

    Calling it runs the copy. The state dict holds ``n_averaged`` (an int64 count) and the
    copy's tensors under ``module.``.

    Args:
        model: the model to average (deep-copied).
        device: where to keep the copy (default: where ``model`` is).
        avg_fn: ``(averaged, current, num_averaged) -> new averaged`` for one tensor.
        multi_avg_fn: ``(averaged_list, current_list, num_averaged)``, updating in place.
        use_buffers: average the buffers as well (else they are copied from ``model``).

    Example:
        >>> swa_model = AveragedModel(model)
        >>> for epoch in range(10): train(model); swa_model.update_parameters(model)
        >>> update_bn(loader, swa_model)
    """

    n_averaged: Tensor

    def __init__(self, model: Module, device=None,
                 avg_fn: Callable | None = None, multi_avg_fn: Callable | None = None,
                 use_buffers: bool = False) -> None:
        super().__init__()
        assert avg_fn is None or multi_avg_fn is None, \
            "Only one of avg_fn and multi_avg_fn should be provided"
        copy = deepcopy(model)
        self.module = copy if device is None else copy.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """Run the averaged copy.

        Example:
            >>> swa_model(x).shape
        """
        return self.module(*args, **kwargs)

    def _tracked(self, model: Module):
        """The tensors this average follows, and the matching ones of ``model``."""
        if self.use_buffers:
            return (itertools.chain(self.module.parameters(), self.module.buffers()),
                    itertools.chain(model.parameters(), model.buffers()))
        return self.parameters(), model.parameters()

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the average (the first call copies them).

        Example:
            >>> opt.step(); swa_model.update_parameters(model)
        """
        mine, theirs = self._tracked(model)
        kept, fresh = [], []
        for a, b in zip(mine, theirs):
            kept.append(a.detach())
            fresh.append(b.detach().to(a.device))
        if bool(self.n_averaged == 0):
            for a, b in zip(kept, fresh):
                a.copy_(b)
        else:
            self._average(kept, fresh)
        if not self.use_buffers:
            # buffers are not averaged: they follow the source model
            for own, source in zip(self.module.buffers(), model.buffers()):
                own.detach().copy_(source.detach().to(own.device))
        self.n_averaged += 1

    def _average(self, kept: list, fresh: list) -> None:
        count = self.n_averaged
        if self.avg_fn is not None and self.multi_avg_fn is None:
            rule = self.avg_fn
            for a, b in zip(kept, fresh):
                a.copy_(rule(a, b, count.to(a.device)))
            return
        for (device, _), (a_list, b_list) in _by_device_and_dtype(kept, fresh).items():
            local_count = count.to(device)
            if self.multi_avg_fn:
                self.multi_avg_fn(a_list, b_list, local_count)
            elif device is not None and device.type in _MULTI_TENSOR_DEVICES:
                get_swa_multi_avg_fn()(a_list, b_list, local_count)
            else:
                rule = get_swa_avg_fn()
                for a, b in zip(a_list, b_list):
                    a.copy_(rule(a, b, local_count))


# --------------------------------------------------------------------------------------------
# BatchNorm statistics for averaged weights
# --------------------------------------------------------------------------------------------

@grad_mode.no_grad()
def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recompute every BatchNorm's running statistics with one pass over ``loader``.

    Averaged weights never produced the running means and variances stored with them, so after
    SWA the statistics are reset and re-estimated as a plain average over the batches
    (``momentum=None``). A batch that is a list or tuple contributes its first element.

    Args:
        loader: an iterable of input batches (e.g. a DataLoader).
        model: the model whose BatchNorm layers are updated; its train/eval mode is restored.
        device: where to move each batch first (default: leave it).

    Example:
        >>> update_bn(train_loader, swa_model)
    """
    saved_momentum = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            saved_momentum[module] = module.momentum
    if not saved_momentum:
        return
    was_training = model.training
    model.train()
    for module in saved_momentum:
        module.momentum = None  # a cumulative average over the whole pass
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for module, momentum in saved_momentum.items():
        module.momentum = momentum
    model.train(was_training)


# --------------------------------------------------------------------------------------------
# The SWA learning rate
# --------------------------------------------------------------------------------------------

class SWALR(LRScheduler):
    """Anneal each group's lr to ``swa_lr`` over ``anneal_epochs`` epochs, then hold it.

    The anneal is a cosine (default) or a straight line; each step moves a fraction ``alpha``
    of the way from the lr the annealing started from to ``swa_lr``. The target is stored in
    each param group as ``group['swa_lr']``.

    Args:
        optimizer: the optimizer to schedule.
        swa_lr: the target lr, or one per param group.
        anneal_epochs: epochs of the anneal (0 jumps straight to ``swa_lr``; default 10).
        anneal_strategy: ``'cos'`` or ``'linear'``.
        last_epoch: the index of the last epoch (default -1).

    Example:
        >>> swa_sched = SWALR(opt, swa_lr=0.05, anneal_epochs=5)
        >>> for epoch in range(swa_start, epochs): train(...); swa_sched.step()
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float, anneal_epochs=10,
                 anneal_strategy: str = "cos", last_epoch=-1) -> None:
        targets = _format_param("swa_lr", optimizer, swa_lr)
        for group, target in zip(optimizer.param_groups, targets):
            group["swa_lr"] = target
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _progress(self, step) -> float:
        """How far along the anneal ``step`` is, as the anneal function's value."""
        fraction = step / max(1, self.anneal_epochs)
        return self.anneal_func(max(0, min(1, fraction)))

    def get_lr(self) -> list:
        """The lr of each group at this step of the anneal.

        Example:
            >>> swa_sched.get_last_lr()
            [0.05]
        """
        _warn_get_lr_called_within_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        # The current lr is ``previous`` of the way along; rebuild the starting lr from it and
        # move ``current`` of the way instead (chainable: no stored starting lr).
        previous = self._progress(step - 1)
        current = self._progress(step)
        lrs = []
        for group in self.optimizer.param_groups:
            target = group["swa_lr"]
            start = self._get_initial_lr(group["lr"], target, previous)
            lrs.append(target * current + start * (1 - current))
        return lrs

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = (self._cosine_anneal if anneal_strategy == "cos"
                            else self._linear_anneal)

    # The anneal shapes map the fraction of the anneal done (in [0, 1]) to the fraction of the
    # way from the starting lr to ``swa_lr``.
    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        # the lr the anneal started from, recovered from one that is ``alpha`` of the way
        # (at ``alpha == 1`` nothing of it is left: the target itself)
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def state_dict(self) -> dict[str, Any]:
        """Scheduler state without the optimizer and the anneal function (the strategy's name
        is saved and the function rebuilt on load).

        Example:
            >>> swa_sched.state_dict()['_anneal_strategy']
            'cos'
        """
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``.

        Example:
            >>> swa_sched.load_state_dict(saved)
        """
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
