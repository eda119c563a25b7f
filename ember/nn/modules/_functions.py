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
    def forward(self, input, weight, bias, running_mean, running_var, eps, momentum,
                process_group, world_size):
        from ... import distributed as dist

        input = input.contiguous()
        if weight is not None:
            weight = weight.contiguous()

        size = int(input.numel() // input.size(1))
        if size == 1 and world_size < 2:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {size}")

        num_channels = input.shape[1]
        if input.numel() > 0:
            mean, invstd = batch_norm_stats(input, eps)
            count = _creation.full((1,), input.numel() // input.size(1), dtype=mean.dtype,
                                   device=mean.device)
            combined = cat([mean, invstd, count], dim=0)  # C, C, 1 -> 2C + 1
        else:
            # an empty part still joins the collective, with a zero count that is dropped below
            combined = _creation.zeros(2 * num_channels + 1, dtype=_acc_dtype(input.dtype),
                                       device=input.device)

        # all_gather, not all_reduce: the counts may differ between processes
        combined_list = [_creation.empty_like(combined) for _ in range(world_size)]
        dist.all_gather(combined_list, combined, process_group, async_op=False)
        combined = stack(combined_list, dim=0)  # world_size x (2C + 1)
        mean_all, invstd_all, count_all = split(combined, num_channels, dim=1)

        mask = count_all.squeeze(-1) >= 1  # drop the statistics of empty parts
        count_all = count_all[mask]
        mean_all = mean_all[mask]
        invstd_all = invstd_all[mask]

        counts = count_all.view(-1)
        if running_mean is not None and counts.dtype != running_mean.dtype:
            counts = counts.to(running_mean.dtype)
        mean, invstd = batch_norm_gather_stats_with_counts(
            input, mean_all, invstd_all, running_mean, running_var, momentum, eps, counts)

        self.save_for_backward(input, weight, mean, invstd, count_all.to(_int32))
        self.process_group = process_group

        if input.numel() > 0:
            return batch_norm_elemt(input, weight, bias, mean, invstd, eps)
        return _creation.empty_like(input)

    @staticmethod
    def backward(self, grad_output):
        from ... import distributed as dist

        grad_output = grad_output.contiguous()
        saved_input, weight, mean, invstd, count_tensor = self.saved_tensors
        grad_input = grad_weight = grad_bias = None
        process_group = self.process_group

        if saved_input.numel() > 0:
            sum_dy, sum_dy_xmu, grad_weight, grad_bias = batch_norm_backward_reduce(
                grad_output, saved_input, mean, invstd, weight, self.needs_input_grad[0],
                self.needs_input_grad[1], self.needs_input_grad[2])

            if self.needs_input_grad[0]:
                num_channels = sum_dy.shape[0]
                combined = cat([sum_dy, sum_dy_xmu], dim=0)
                dist.all_reduce(combined, dist.ReduceOp.SUM, process_group, async_op=False)
                sum_dy, sum_dy_xmu = split(combined, num_channels)
                grad_input = batch_norm_backward_elemt(grad_output, saved_input, mean, invstd,
                                                       weight, sum_dy, sum_dy_xmu, count_tensor)
            if weight is None or not self.needs_input_grad[1]:
                grad_weight = None
            if weight is None or not self.needs_input_grad[2]:
                grad_bias = None
        else:
            # an empty part: no gradient here, but the others wait for this all_reduce
            num_channels = saved_input.shape[1]
            if self.needs_input_grad[0]:
                combined = _creation.zeros(2 * num_channels, dtype=mean.dtype,
                                           device=saved_input.device)
                dist.all_reduce(combined, dist.ReduceOp.SUM, process_group, async_op=False)

        return grad_input, grad_weight, grad_bias, None, None, None, None, None, None
