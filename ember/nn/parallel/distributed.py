"""``DistributedDataParallel``: multi-process data parallel training, PyTorch's ``DDP``.

It needs process groups and collectives (``ember.distributed``, over MPI), which ember does
not have yet: constructing one raises a NotImplementedError (a RuntimeError) that says so and
what to do instead. The class keeps PyTorch's signature so that the MPI work can fill it in
here without moving it.
"""

from __future__ import annotations

from ..modules.module import Module


class DistributedDataParallel(Module):
    """PyTorch's ``nn.parallel.DistributedDataParallel``; not available in ember yet.

    Example:
        >>> ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 2))
        Traceback (most recent call last):
        NotImplementedError: DistributedDataParallel needs distributed training ...
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=None, init_sync=True, process_group=None,
                 bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False,
                 bucket_cap_mb_list=None, batched_grad_copy=False, forward_sync_buffers=None):
        raise NotImplementedError(
            "DistributedDataParallel needs distributed training (ember.distributed: process "
            "groups and collectives over MPI), which ember does not provide yet. For "
            "single-process training use the module itself, or nn.DataParallel, which runs "
            "it as is.")
