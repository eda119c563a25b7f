"""Autograd Functions behind nn layers, at PyTorch's ``torch.nn.modules._functions``:
``SyncBatchNorm``, batch norm whose statistics cover the batch of every process in a group.

Forward: each process reduces its own part with ``batch_norm_stats``, the processes all-gather
``(mean, invstd, count)``, ``batch_norm_gather_stats_with_counts`` combines them (and updates
the running statistics), ``batch_norm_elemt`` normalizes. Backward: ``batch_norm_backward_reduce``
gives each process's sums, one all_reduce adds them up, ``batch_norm_backward_elemt`` gives the
input gradient. ``weight``/``bias`` gradients stay local: DistributedDataParallel reduces them
with the other parameters. ember's collectives run over MPI on CPU tensors.
"""

from __future__ import annotations

from ... import _creation
from ... import distributed as dist
from ... import int32 as _int32
from ..._ops.nn.aten_forms import (
    _acc_dtype,
    batch_norm_backward_elemt,
    batch_norm_backward_reduce,
    batch_norm_elemt,
    batch_norm_gather_stats_with_counts,
    batch_norm_stats,
)
from ..._ops.shape.joining import cat, split, stack
from ...autograd.function import Function

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(Function):
    """The synchronized batch norm of ``nn.SyncBatchNorm`` in training with a process group of
    more than one process. ``apply(input, weight, bias, running_mean, running_var, eps,
    momentum, process_group, world_size)``; every process of the group must call it (the
    collectives wait for all of them), ``nn.SyncBatchNorm.forward`` does.
    """

    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, eps, momentum,
                process_group, world_size):
        channels = input.shape[1]
        local_count = input.numel() // channels if channels else 0
        if local_count == 1 and world_size < 2:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {local_count}")
        input = input.contiguous()
        stat_dtype = _acc_dtype(input.dtype)
        # One row per process, [mean (C) | invstd (C) | count (1)], so one all_gather moves
        # everything. A process with an empty part sends zeros and a zero count.
        if input.numel():
            mean, invstd = batch_norm_stats(input, eps)
            count = _creation.full((1,), local_count, dtype=mean.dtype, device=input.device)
            row = cat([mean, invstd, count], 0)
        else:
            row = _creation.zeros(2 * channels + 1, dtype=stat_dtype, device=input.device)
        rows = [_creation.empty_like(row) for _ in range(world_size)]
        dist.all_gather(rows, row, group=process_group)
        table = stack(rows, 0)
        # processes that saw nothing carry no statistics (their invstd is 0): leave them out
        table = table[table[:, 2 * channels] >= 1]
        means, invstds, counts = split(table, channels, 1)
        counts = counts.reshape(-1)
        if running_mean is not None and counts.dtype != running_mean.dtype:
            counts = counts.to(running_mean.dtype)
        mean, invstd = batch_norm_gather_stats_with_counts(
            input, means, invstds, running_mean, running_var, momentum, eps, counts)
        ctx.save_for_backward(input, weight, mean, invstd, counts.to(_int32))
        ctx.process_group = process_group
        if not input.numel():
            return _creation.empty_like(input)
        return batch_norm_elemt(input, weight, bias, mean, invstd, eps)

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, mean, invstd, counts = ctx.saved_tensors
        want_input, want_weight, want_bias = ctx.needs_input_grad[:3]
        channels = input.shape[1]
        grad_input = grad_weight = grad_bias = None
        if input.numel():
            grad_output = grad_output.contiguous()
            sum_dy, sum_dy_xmu, grad_weight, grad_bias = batch_norm_backward_reduce(
                grad_output, input, mean, invstd, weight, want_input, want_weight, want_bias)
        if want_input:
            # every process joins the all_reduce, an empty one with zeros; only the two
            # per-channel sums cross processes (the parameter gradients stay local)
            if input.numel():
                sums = cat([sum_dy, sum_dy_xmu], 0)
            else:
                sums = _creation.zeros(2 * channels, dtype=_acc_dtype(input.dtype),
                                       device=input.device)
            dist.all_reduce(sums, dist.ReduceOp.SUM, group=ctx.process_group)
            if input.numel():
                sum_dy, sum_dy_xmu = split(sums, channels, 0)
                grad_input = batch_norm_backward_elemt(grad_output, input, mean, invstd, weight,
                                                       sum_dy, sum_dy_xmu, counts)
        if weight is None or not want_weight:
            grad_weight = None
        if weight is None or not want_bias:
            grad_bias = None
        return grad_input, grad_weight, grad_bias, None, None, None, None, None, None
