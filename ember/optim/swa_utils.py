"""Stochastic Weight Averaging and exponential moving averages, mirroring
``torch.optim.swa_utils``: ``AveragedModel``, ``SWALR``, ``update_bn`` and the averaging
functions.

Example:
    >>> swa_model = ember.optim.swa_utils.AveragedModel(model)
    >>> swa_sched = ember.optim.swa_utils.SWALR(opt, swa_lr=0.05)
    >>> for epoch in range(10):
    ...     train_one_epoch(model, opt)
    ...     swa_model.update_parameters(model); swa_sched.step()
    >>> ember.optim.swa_utils.update_bn(loader, swa_model)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

from .._tensor import Tensor
from ..autograd import grad_mode
from ..nn.modules.module import Module
from ._lr_base import LRScheduler, _format_param, _warn_get_lr_called_within_step
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _is_float_or_complex(t: Tensor) -> bool:
    return t.dtype.is_floating_point or t.dtype.is_complex


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999):
    """An in-place update for lists of tensors: ``ema = decay * ema + (1 - decay) * current``
    (``ema.lerp_(current, 1 - decay)`` for floating tensors).

    Example:
        >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
    """
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _) -> None:
        with grad_mode.no_grad():
            if _is_float_or_complex(ema_param_list[0]):
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.lerp_(p_model, 1 - decay)
            else:
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """An in-place running mean for lists of tensors: ``avg += (current - avg) / (n + 1)``.

    Example:
        >>> swa = AveragedModel(model, multi_avg_fn=get_swa_multi_avg_fn())
    """

    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        with grad_mode.no_grad():
            if _is_float_or_complex(averaged_param_list[0]):
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    p_avg.lerp_(p_model, 1 / (num_averaged + 1))
            else:
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    diff = p_model - p_avg
                    if isinstance(num_averaged, Tensor):
                        p_avg.addcdiv_(diff, num_averaged + 1)
                    else:
                        p_avg.add_(diff, alpha=1.0 / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """``(ema, current, n) -> decay * ema + (1 - decay) * current`` for one tensor.

    Example:
        >>> ema = AveragedModel(model, avg_fn=get_ema_avg_fn(0.99))
    """
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged):
        with grad_mode.no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """``(avg, current, n) -> avg + (current - avg) / (n + 1)`` for one tensor.

    Example:
        >>> swa = AveragedModel(model, avg_fn=get_swa_avg_fn())
    """

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged):
        with grad_mode.no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are a running average of ``model``'s (SWA by
    default, or EMA with ``multi_avg_fn=get_ema_multi_avg_fn(decay)``).

    Call ``update_parameters(model)`` after optimizer steps; the first call copies the weights.
    ``n_averaged`` (an int64 buffer, saved in the state_dict) counts the calls. Buffers are
    copied from ``model`` unless ``use_buffers=True``, which averages them too.

    Args:
        model: the model to average.
        device: where to keep the averaged copy.
        avg_fn: ``(averaged, current, n_averaged) -> new averaged`` for one tensor.
        multi_avg_fn: in-place update of lists of tensors (give only one of the two).
        use_buffers: average buffers as well as parameters.

    Example:
        >>> swa_model = AveragedModel(model)
        >>> swa_model.update_parameters(model)
    """

    n_averaged: Tensor

    def __init__(self, model: Module, device=None,
                 avg_fn: Callable[[Tensor, Tensor, Any], Tensor] | None = None,
                 multi_avg_fn: Callable[[list, list, Any], None] | None = None,
                 use_buffers: bool = False) -> None:
        from .. import long, tensor

        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=long, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """Run the averaged copy of the model."""
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers with ``use_buffers``) into the
        average; the first call copies them."""
        self_param = (itertools.chain(self.module.parameters(), self.module.buffers())
                      if self.use_buffers else self.parameters())
        model_param = (itertools.chain(model.parameters(), model.buffers())
                       if self.use_buffers else model.parameters())
        self_param_detached: list = []
        model_param_detached: list = []
        copy_param = bool(self.n_averaged == 0)
        with grad_mode.no_grad():
            for p_averaged, p_model in zip(self_param, model_param):
                p_model_ = p_model.detach().to(p_averaged.device)
                self_param_detached.append(p_averaged.detach())
                model_param_detached.append(p_model_)
                if copy_param:
                    p_averaged.detach().copy_(p_model_)
            if self.n_averaged > 0:
                if self.multi_avg_fn is not None or self.avg_fn is None:
                    groups: dict = {}
                    for p_avg, p_model in zip(self_param_detached, model_param_detached):
                        key = (p_avg.device, p_avg.dtype)
                        groups.setdefault(key, ([], []))
                        groups[key][0].append(p_avg)
                        groups[key][1].append(p_model)
                    for (device, _), (self_params, model_params) in groups.items():
                        n_averaged = self.n_averaged.to(device)
                        if self.multi_avg_fn:
                            self.multi_avg_fn(self_params, model_params, n_averaged)
                        else:  # PyTorch's CPU path: the single-tensor SWA rule
                            avg_fn = get_swa_avg_fn()
                            for p_avg, p_model in zip(self_params, model_params):
                                p_avg.copy_(avg_fn(p_avg, p_model, n_averaged))
                else:
                    for p_avg, p_model in zip(self_param_detached, model_param_detached):
                        n_averaged = self.n_averaged.to(p_avg.device)
                        p_avg.detach().copy_(self.avg_fn(p_avg.detach(), p_model, n_averaged))
            if not self.use_buffers:
                # Keep the buffers in sync with the model's (BatchNorm statistics, ...).
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa.detach().copy_(b_model.detach().to(b_swa.device))
            self.n_averaged += 1


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recompute the BatchNorm running statistics of ``model`` with one pass over ``loader``
    (a cumulative average: momentum ``None`` during the pass). Batches may be tensors or
    ``(input, ...)`` lists/tuples; the first element is the input.

    Example:
        >>> ember.optim.swa_utils.update_bn(train_loader, swa_model)
    """
    from ..nn.modules.batchnorm import _BatchNorm

    with grad_mode.no_grad():
        momenta = {}
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.reset_running_stats()
                momenta[module] = module.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for module in momenta:
            module.momentum = None
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
        for bn_module in momenta:
            bn_module.momentum = momenta[bn_module]
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each param group's learning rate to ``swa_lr`` over ``anneal_epochs`` epochs
    (cosine or linear), then hold it.

    Args:
        optimizer: the wrapped optimizer.
        swa_lr: the target learning rate, one value or one per param group.
        anneal_epochs: epochs of annealing (0: jump to ``swa_lr``).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        last_epoch: the index of the last epoch.

    Example:
        >>> swa_sched = SWALR(opt, swa_lr=0.05, anneal_epochs=5, anneal_strategy="linear")
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        """The next learning rate of each param group."""
        _warn_get_lr_called_within_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state, without the optimizer and the anneal function."""
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by ``state_dict()``."""
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
