"""Batch normalization: ``BatchNorm1d``/``2d``/``3d`` and their shared bases ``_NormBase`` (affine
parameters, running statistics) and ``_BatchNorm``, at PyTorch's ``nn.modules.batchnorm``; the
lazy forms ``LazyBatchNorm1d``/``2d``/``3d`` and their base ``_LazyNormBase`` (shared with
``LazyInstanceNorm*``); ``SyncBatchNorm``, batch norm across processes."""

from __future__ import annotations

import sys

from ... import _creation
from ... import int64 as _int64
from ..._backend import MetaArray
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedBuffer, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyBatchNorm3d", "SyncBatchNorm"]


def _affine_parameters(module: Module, shape, affine: bool, bias: bool, kw: dict) -> None:
    """Register ``weight`` (and ``bias`` unless ``bias=False``) of ``shape``, or None for both
    without ``affine``; values come from ``_reset_affine``."""
    weight = Parameter(_creation.empty(shape, **kw)) if affine else None
    module.register_parameter("weight", weight)
    module.register_parameter("bias", Parameter(_creation.empty(shape, **kw))
                              if affine and bias else None)


def _reset_affine(module: Module) -> None:
    """The norm layers' initial affine parameters: weight 1, bias 0."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    """State shared by batch and instance norm over ``num_features`` channels: the optional
    affine ``weight``/``bias`` and, with ``track_running_stats``, the buffers ``running_mean``,
    ``running_var`` and ``num_batches_tracked``. Subclasses supply ``forward``."""

    # state_dict metadata version; checkpoints of version 1 predate num_batches_tracked
    _version = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        kw = {"device": device, "dtype": dtype}
        _affine_parameters(self, num_features, affine, bias, kw)
        stats = {"running_mean": None, "running_var": None, "num_batches_tracked": None}
        if track_running_stats:
            stats["running_mean"] = _creation.zeros(num_features, **kw)
            stats["running_var"] = _creation.ones(num_features, **kw)
            # the step counter is an integer whatever the layer's dtype
            stats["num_batches_tracked"] = _creation.tensor(0, dtype=_int64, device=device)
        for name, value in stats.items():
            self.register_buffer(name, value)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean back to 0, running variance to 1 and the batch counter to 0."""
        if not self.track_running_stats:
            return
        with no_grad():
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # A checkpoint older than version 2 has no batch counter: keep the module's own (or
        # start from 0) rather than reporting the key as missing.
        version = local_metadata.get("version")
        counter_key = prefix + "num_batches_tracked"
        if (self.track_running_stats and (version is None or version < 2)
                and counter_key not in state_dict):
            own = self.num_batches_tracked
            usable = own is not None and own.device.type != "meta"
            state_dict[counter_key] = own if usable else _creation.tensor(0, dtype=_int64)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def _factor(self) -> float:
        """The running-average weight for this forward; counts the batch while training.

        Runs on every training step, so the counter is bumped on its array directly (one
        attribute lookup, no op dispatch); momentum None means a cumulative average."""
        momentum = self.momentum
        if not (self.training and self.track_running_stats):
            return 0.0 if momentum is None else momentum
        counter = self.num_batches_tracked
        if counter is None:
            return 0.0 if momentum is None else momentum
        if type(counter._data) is not MetaArray:  # meta tensors hold no value to count
            counter._data += 1
        counter._vbox[0] += 1
        return momentum if momentum is not None else 1.0 / float(counter._data)


class _BatchNorm(_NormBase):
    _dims = (2, 3)

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"expected {want} input (got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        # a channel count unlike num_features is refused by F.batch_norm with PyTorch's error
        # (a RuntimeError naming the running stats or weight), or passes where it has none
        factor = self._factor()
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over ``(N, C)`` or ``(N, C, L)``.

    Example:
        >>> ember.nn.BatchNorm1d(3)(ember.randn(8, 3)).shape
        torch.Size([8, 3])
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over ``(N, C, H, W)``; eval mode uses the running statistics.

    Example:
        >>> ember.nn.BatchNorm2d(3)(ember.randn(4, 3, 5, 5)).shape
        torch.Size([4, 3, 5, 5])
    """

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm over ``(N, C, D, H, W)``."""

    _dims = (5,)


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """Lazy batch/instance norm: ``num_features`` from the first input's dim 1, then the eager
    class's parameters and running statistics."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True) -> None:
        kw = {"device": device, "dtype": dtype}
        # Build the eager base with nothing to allocate, then put placeholders in the slots
        # that the first input (or a loaded state dict) will size.
        super().__init__(0, eps, momentum, False, False, **kw)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(**kw)
            if bias:
                self.bias = UninitializedParameter(**kw)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(**kw)
            self.running_var = UninitializedBuffer(**kw)
            self.num_batches_tracked = _creation.tensor(0, dtype=_int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        """Infer ``num_features`` from ``input.shape[1]`` and initialize the parameters."""
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            if self.affine:
                self.weight.materialize((self.num_features,))
                if self.bias is not None:
                    self.bias.materialize((self.num_features,))
            if self.track_running_stats:
                self.running_mean.materialize((self.num_features,))
                self.running_var.materialize((self.num_features,))
            self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm1d`` whose ``num_features`` is inferred from the first input's dim 1.

    Example:
        >>> m = ember.nn.LazyBatchNorm1d(); _ = m(ember.randn(4, 3)); m
        BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    cls_to_become = BatchNorm1d
    _dims = (2, 3)


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm2d`` whose ``num_features`` is inferred from the first input's dim 1.

    Example:
        >>> ember.nn.LazyBatchNorm2d()(ember.randn(2, 3, 4, 4)).shape
        torch.Size([2, 3, 4, 4])
    """

    cls_to_become = BatchNorm2d
    _dims = (4,)


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm3d`` whose ``num_features`` is inferred from the first input's dim 1.

    Example:
        >>> ember.nn.LazyBatchNorm3d()(ember.randn(2, 3, 2, 2, 2)).shape
        torch.Size([2, 3, 2, 2, 2])
    """

    cls_to_become = BatchNorm3d
    _dims = (5,)


class SyncBatchNorm(_BatchNorm):
    """Batch norm over an ``(N, C, *)`` input whose training statistics cover the batches of
    all processes in ``process_group`` (default: the whole world): each process passes its part
    of the global batch, and all of them normalize with the mean and variance of the whole.

    In eval mode, without an initialized ``ember.distributed`` process group, or in a group of
    one process it computes exactly what ``BatchNorm`` does. With more processes it follows
    PyTorch's algorithm (``batch_norm_stats`` on every process, an all_gather of ``(mean,
    invstd, count)``, ``batch_norm_gather_stats_with_counts``, ``batch_norm_elemt``; backward
    all-reduces ``sum_dy`` and ``sum_dy_xmu``). Unlike PyTorch, which refuses CPU tensors here
    ("SyncBatchNorm expected input tensor to be on GPU"), ember synchronizes CPU tensors: its
    collectives run over MPI. Wrap the model in ``DistributedDataParallel`` to reduce the
    ``weight``/``bias`` gradients, which stay per-process as in PyTorch.

    Args:
        num_features: ``C``, the number of channels (dim 1).
        eps: added to the variance for numerical stability. Default: 1e-5
        momentum: the running statistics' update factor; None for a cumulative average.
            Default: 0.1
        affine: learnable ``weight`` and ``bias``. Default: True
        track_running_stats: keep ``running_mean``/``running_var`` for eval mode.
            Default: True
        process_group: the processes whose statistics are combined; None for the world.

    Shape:
        - Input: ``(N, C, *)``
        - Output: ``(N, C, *)`` (same shape as input)

    Example:
        >>> m = ember.nn.SyncBatchNorm(3)
        >>> m(ember.randn(4, 3, 2, 2)).shape
        torch.Size([4, 3, 2, 2])
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _check_non_zero_input_channels(self, input: Tensor) -> None:
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        factor = self._factor()
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        running_mean = self.running_mean if track else None
        running_var = self.running_var if track else None

        # no synchronization in eval mode; a process group exists only once ember.distributed
        # was imported (and mpi4py with it), so looking it up here imports nothing
        dist = sys.modules.get("ember.distributed")
        need_sync = bn_training and self.training and dist is not None and dist.is_initialized()
        if need_sync:
            process_group = self.process_group or dist.group.WORLD
            world_size = dist.get_world_size(process_group)
            need_sync = world_size > 1
        if not need_sync:
            return F.batch_norm(input, running_mean, running_var, self.weight, self.bias,
                                bn_training, factor, self.eps)
        from ._functions import SyncBatchNorm as sync_batch_norm

        return sync_batch_norm.apply(input, self.weight, self.bias, running_mean, running_var,
                                     self.eps, factor, process_group, world_size)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Return ``module`` with every ``BatchNorm*d`` inside it (itself included) replaced by
        a ``SyncBatchNorm`` that shares its parameters and running statistics.

        Example:
            >>> net = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.BatchNorm1d(4))
            >>> type(ember.nn.SyncBatchNorm.convert_sync_batchnorm(net)[1]).__name__
            'SyncBatchNorm'
        """
        converted = module
        if isinstance(module, _BatchNorm):
            converted = SyncBatchNorm(module.num_features, module.eps, module.momentum,
                                      module.affine, module.track_running_stats, process_group,
                                      bias=module.bias is not None)
            # share, not copy: the optimizer's references and loaded weights stay valid
            with no_grad():
                if module.affine:
                    converted.weight = module.weight
                    converted.bias = module.bias
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(converted, name, getattr(module, name))
            converted.training = module.training
            if hasattr(module, "qconfig"):
                converted.qconfig = module.qconfig
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted
