"""``DistributedDataParallel``: data-parallel training over processes, PyTorch's ``DDP``.

Each process holds a replica of the module and trains on its share of every batch. At
construction the replicas take rank 0's parameters and buffers. During backward, each
parameter's post-accumulate-grad hook marks it ready; parameters are grouped into buckets
(reverse registration order, as gradients arrive, ``bucket_cap_mb`` each, the first one 1 MB
as in PyTorch) and once every gradient of a bucket is in, the bucket is flattened, divided by
the world size and handed to a non-blocking ``all_reduce``, while backward goes on with the
layers below (the buckets that fill with backward's last gradient use the blocking one, which
MPI completes faster). Buckets are launched in order, so every process makes the same MPI
calls in the same order. The last gradient's hook waits for all of them and writes the
averaged gradients back into ``.grad``: when ``backward()`` returns, every process holds the
same gradients and ``optimizer.step()`` keeps the replicas identical.
"""

from __future__ import annotations

import warnings
import weakref
from contextlib import contextmanager

import numpy as np

from ..modules.module import Module

_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES


def _tensors_in(obj, out: list) -> list:
    """Every tensor in ``obj`` (nested tuples, lists, dicts, dataclass-like objects)."""
    from ..._tensor import Tensor

    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            _tensors_in(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _tensors_in(x, out)
    return out


def _reachable_leaves(outputs) -> set:
    """ids of the leaf tensors whose gradients ``outputs`` depend on (walks the graph)."""
    from ...autograd.graph import AccumulateGrad

    seen, found = set(), set()
    stack = [t.grad_fn for t in _tensors_in(outputs, []) if t.grad_fn is not None]
    for t in _tensors_in(outputs, []):
        if t.grad_fn is None and t.requires_grad:
            found.add(id(t))
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            found.add(id(node.variable))
            continue
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
    return found


class _Bucket:
    """Parameters whose gradients travel together in one flat all_reduce."""

    def __init__(self, indices: list, params: list):
        self.indices = indices
        self.sizes = [int(np.prod(params[i].shape, dtype=np.int64)) for i in indices]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int).tolist()
        self.dtype = params[indices[0]].dtype
        self.pending = len(indices)
        self.buffer = None  # the flat tensor in flight
        self.work = None


def _assign_buckets(params: list, bucket_bytes: int) -> list:
    """PyTorch's bucketing: parameters in reverse order (as their gradients arrive), one open
    bucket per dtype and device, closed at 1 MB for the first and ``bucket_bytes`` after."""
    buckets, open_ = [], {}
    for i in reversed(range(len(params))):
        p = params[i]
        key = (p.dtype, str(p.device))
        entry = open_.setdefault(key, [[], 0])
        entry[0].append(i)
        entry[1] += p.numel() * p.element_size()
        cap = _FIRST_BUCKET_BYTES if not buckets else bucket_bytes
        if entry[1] >= min(cap, bucket_bytes):
            buckets.append(entry[0])
            del open_[key]
    buckets.extend(entry[0] for entry in open_.values())
    return [_Bucket(idx, params) for idx in buckets]


def _unused_message(rank: int, indices) -> str:
    return (
        "Expected to have finished reduction in the prior iteration before starting a new one. "
        "This error indicates that your module has parameters that were not used in producing "
        "loss. You can enable unused parameter detection by passing the keyword argument "
        "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by "
        "\nmaking sure all `forward` function outputs participate in calculating loss. \nIf you "
        "already have done the above, then the distributed data parallel module wasn't able to "
        "locate the output tensors in the return value of your module's `forward` function. "
        "Please include the loss function and the structure of the return value of `forward` "
        "of your module when reporting this issue (e.g. list, dict, iterable).\nParameter "
        f"indices which did not receive grad for rank {rank}: {' '.join(map(str, indices))}\n"
        " In addition, you can set the environment variable TORCH_DISTRIBUTED_DEBUG to either "
        "INFO or DETAIL to print out information about which particular parameters did not "
        "receive gradient on this rank as part of this error")


class DistributedDataParallel(Module):
    """Data-parallel training over the processes of ``ember.distributed``, PyTorch's DDP.

    Args:
        module: the model (the same architecture on every process).
        device_ids: None for a CPU module (as in PyTorch); a one-element list for a module on
            one GPU.
        broadcast_buffers: whether buffers (BatchNorm's running statistics) are copied from
            rank 0 at construction and before each forward (deprecated in PyTorch 2.13 in
            favour of ``forward_sync_buffers``; both work).
        process_group: the group to average over (default: every process).
        bucket_cap_mb: the size of a gradient bucket (default 25).
        find_unused_parameters: walk the graph after each forward to find parameters the
            output does not depend on, so that they do not hold up the reduction.
        init_sync: copy rank 0's parameters and buffers at construction (default True).

    The wrapped module is ``.module`` (state dict keys get PyTorch's ``module.`` prefix);
    ``no_sync()`` skips the reduction so gradients accumulate locally.

    Example:
        >>> dist.init_process_group("gloo")          # under `ember run -n 2 script.py`
        >>> model = nn.parallel.DistributedDataParallel(nn.Linear(4, 2))
        >>> model(x).sum().backward()               # .grad averaged over the processes
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=None, init_sync=True, process_group=None,
                 bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False,
                 bucket_cap_mb_list=None, batched_grad_copy=False, forward_sync_buffers=None):
        super().__init__()
        from ... import distributed as dist
        from ...distributed.process_group import resolve

        for name, value in (("delay_all_reduce_named_params", delay_all_reduce_named_params),
                            ("param_to_hook_all_reduce", param_to_hook_all_reduce),
                            ("mixed_precision", mixed_precision), ("device_mesh", device_mesh),
                            ("bucket_cap_mb_list", bucket_cap_mb_list)):
            if value is not None:
                raise NotImplementedError(f"DistributedDataParallel: {name} is not supported "
                                          "by ember; leave it unset")
        self.process_group = resolve(process_group)
        ignore = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        self.parameters_to_ignore = ignore
        named = [(n, p) for n, p in module.named_parameters() if n not in ignore]
        self._module_parameters = [p for _, p in named]
        if not any(p.requires_grad for p in self._module_parameters):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        device_types = {p.device.type for p in self._module_parameters}
        if len(device_types) != 1:
            raise ValueError("DistributedDataParallel's input module must be on the same type "
                             "of devices, but input module parameters locate in "
                             f"{device_types}.")
        self.device_type = next(iter(device_types))
        if device_ids is None or len(device_ids) == 0 or self.device_type == "cpu":
            if device_ids or output_device:
                devices = {p.device for p in self._module_parameters}
                raise ValueError(
                    "DistributedDataParallel device_ids and output_device arguments only work "
                    "with single-device/multiple-device GPU modules or CPU modules, but got "
                    f"device_ids {device_ids}, output_device {output_device}, and module "
                    f"parameters {devices}.")
            self.device_ids = None
            self.output_device = None
        else:
            self.device_ids = list(device_ids)
            self.output_device = device_ids[0] if output_device is None else output_device
        self.dim = dim
        self.module = module
        self.device = self._module_parameters[0].device
        if broadcast_buffers is not None:
            if forward_sync_buffers is not None:
                warnings.warn(
                    "Both `broadcast_buffers` and `forward_sync_buffers` were specified. "
                    "`broadcast_buffers` is deprecated and its value is ignored when "
                    "`forward_sync_buffers` is provided.", FutureWarning, stacklevel=2)
            else:
                warnings.warn(
                    "`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead. "
                    "IMPORTANT: unlike `broadcast_buffers=False`, `forward_sync_buffers=False` "
                    "still syncs buffers at init. If you rely on buffers NOT being synced at "
                    "init (e.g. rank-local buffers), keep using `broadcast_buffers=False` until "
                    "`init_sync_buffers` is available.", FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers = bool(forward_sync_buffers)
            init_sync_buffers = True
        else:
            self.forward_sync_buffers = broadcast_buffers is None or bool(broadcast_buffers)
            init_sync_buffers = self.forward_sync_buffers
        self.broadcast_buffers = self.forward_sync_buffers
        if check_reduction:
            warnings.warn("The `check_reduction` argument in `DistributedDataParallel` module "
                          "is deprecated. Please avoid using it.", FutureWarning, stacklevel=2)
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        cap_mb = 25 if bucket_cap_mb is None else bucket_cap_mb
        self.bucket_bytes_cap = int(cap_mb * 1024 * 1024)
        self._dist = dist
        self._rank = dist.get_rank(self.process_group)
        self._world_size = dist.get_world_size(self.process_group)

        self._named_buffers = [(n, b) for n, b in module.named_buffers() if n not in ignore]
        if init_sync:
            self._verify_same_model()
            self._broadcast_coalesced([p.data for p in self._module_parameters])
            if init_sync_buffers:
                self._broadcast_coalesced([b for _, b in self._named_buffers],
                                          preserve_version=False)

        # gradients to reduce: the parameters that require grad, in registration order
        self._params = [p for p in self._module_parameters if p.requires_grad]
        self._index = {id(p): i for i, p in enumerate(self._params)}
        self._buckets = _assign_buckets(self._params, self.bucket_bytes_cap)
        self._bucket_of = {}
        for b, bucket in enumerate(self._buckets):
            for i in bucket.indices:
                self._bucket_of[i] = b
        # Private switch (benchmarks/distributed.py): False holds every bucket back until
        # backward's last gradient, then reduces them with blocking all_reduces, so no
        # reduction overlaps the rest of backward.
        self._overlap = True
        self._n_ready = 0
        self._armed = False        # a synced forward ran; its backward will reduce
        self._started = False      # some gradient of the armed iteration has arrived
        self._ready = [False] * len(self._params)
        self._next_bucket = 0
        self._launched = 0         # buckets launched in the current backward (for tests)
        self._used_map_work = None
        self._used_since_sync = set()
        self._unused_now = set()
        me = weakref.ref(self)
        self._hook_handles = [p.register_post_accumulate_grad_hook(_grad_hook(me, i))
                              for i, p in enumerate(self._params)]

    # -- construction helpers ---------------------------------------------------------------
    def _verify_same_model(self) -> None:
        shapes = [(tuple(p.shape), str(p.dtype)) for p in self._module_parameters]
        everyone = [None] * self._world_size
        self._dist.all_gather_object(everyone, shapes, group=self.process_group)
        for rank, theirs in enumerate(everyone):
            if len(theirs) != len(shapes):
                raise RuntimeError(
                    f"DDP expects same model across all ranks, but Rank {self._rank} has "
                    f"{len(shapes)} params, while rank {rank} has inconsistent {len(theirs)} "
                    "params.")
        first = everyone[0]
        for rank, theirs in enumerate(everyone[1:], start=1):  # every rank finds the same
            where = "this process" if rank == self._rank else f"process {rank}"
            for i, (their, ref) in enumerate(zip(theirs, first)):
                if tuple(their[0]) != tuple(ref[0]):
                    raise RuntimeError(
                        f"[{rank}]: params[{i}] in {where} with sizes {list(their[0])} appears "
                        "not to match sizes of the same param in process 0.")
                if their[1] != ref[1]:
                    raise RuntimeError(
                        f"[{rank}]: params[{i}] in {where} with dtype {their[1]} appears not "
                        f"to match dtype of the same param in process 0 ({ref[1]}).")

    def _broadcast_coalesced(self, tensors, preserve_version: bool = False) -> None:
        """Copy rank 0's values of ``tensors`` into them everywhere: one broadcast per dtype."""
        from ..._tensor import Tensor

        by_dtype = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        src = self._dist.get_global_rank(self.process_group, 0)
        for dtype, group in by_dtype.items():
            flat = np.concatenate([_host(t).reshape(-1) for t in group])
            carrier = Tensor._make(flat, dtype)
            self._dist.broadcast(carrier, src=src, group=self.process_group)
            offset = 0
            for t in group:
                n = t.numel()
                _write(t, flat[offset:offset + n], bump=not preserve_version)
                offset += n

    # -- forward ----------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        from ...autograd.grad_mode import is_grad_enabled

        if self._started and self._armed:
            missing = [i for i, ready in enumerate(self._ready) if not ready]
            raise RuntimeError(_unused_message(self._rank, missing))
        if self.forward_sync_buffers and self.require_forward_param_sync and self._named_buffers:
            self._named_buffers = [(n, b) for n, b in self.module.named_buffers()
                                   if n not in self.parameters_to_ignore]
            self._broadcast_coalesced([b for _, b in self._named_buffers], preserve_version=True)
        output = self.module(*inputs, **kwargs)
        grad_enabled = is_grad_enabled()
        if self.find_unused_parameters and grad_enabled:
            reached = _reachable_leaves(output)
            self._used_since_sync.update(i for i, p in enumerate(self._params)
                                         if id(p) in reached)
        if grad_enabled and self.require_backward_grad_sync:
            self._arm()
        self.require_forward_param_sync = grad_enabled and self.require_backward_grad_sync
        return output

    def _arm(self) -> None:
        self._armed = True
        self._started = False
        self._unused_now = set()
        self._ready = [False] * len(self._params)
        self._n_ready = 0
        self._next_bucket = 0
        self._launched = 0
        for bucket in self._buckets:
            bucket.pending = len(bucket.indices)
            bucket.buffer = bucket.work = None
        if self.find_unused_parameters:
            from ..._tensor import Tensor

            used = np.zeros(len(self._params), np.int32)
            used[list(self._used_since_sync)] = 1
            self._used_map = Tensor._make(used, None)
            self._used_map_work = self._dist.all_reduce(
                self._used_map, op=self._dist.ReduceOp.MAX, group=self.process_group,
                async_op=True)
            self._unused_now = {i for i in range(len(self._params))
                                if i not in self._used_since_sync}
            for i in sorted(self._unused_now):
                self._mark_ready(i)

    # -- backward: hooks, buckets, reduction --------------------------------------------------
    def _on_grad(self, i: int) -> None:
        if not self._armed:
            return  # a forward under no_sync(), or no forward since the last reduction
        if self._ready[i]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. This error is caused by one of "
                f"the following reasons: 1) Use of a module parameter outside the `forward` "
                f"function. 2) Reused parameters in multiple reentrant backward passes. "
                f"Parameter at index {i} has been marked as ready twice.")
        self._started = True
        self._mark_ready(i)

    def _mark_ready(self, i: int) -> None:
        self._ready[i] = True
        self._n_ready += 1
        bucket = self._buckets[self._bucket_of[i]]
        bucket.pending -= 1
        if not self._overlap and self._n_ready < len(self._params):
            return
        while self._next_bucket < len(self._buckets) \
                and self._buckets[self._next_bucket].pending == 0:
            # buckets launched once backward is over are waited at once: MPI's blocking form
            self._launch(self._buckets[self._next_bucket],
                         self._overlap and self._n_ready < len(self._params))
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets):
            self._finalize()
        else:
            for b in self._buckets[:self._next_bucket]:
                if b.work is not None:
                    b.work.is_completed()  # lets MPI progress the requests in flight

    def _launch(self, bucket: _Bucket, async_op: bool) -> None:
        from ..._tensor import Tensor

        np_dtype = bucket.dtype.np_dtype
        flat = np.zeros(bucket.offsets[-1], np_dtype)
        for i, start, stop in zip(bucket.indices, bucket.offsets, bucket.offsets[1:]):
            grad = self._params[i].grad
            if grad is not None and i not in self._unused_now:  # unused here: zeros
                flat[start:stop] = _host(grad).reshape(-1)
        flat /= np_dtype.type(self._world_size)
        bucket.buffer = Tensor._make(flat, bucket.dtype)
        # during backward: non-blocking, progressed by later hooks; after it, MPI's blocking
        # Allreduce, 2-4x faster than Iallreduce+Wait for 1-6 MB with Open MPI 5
        bucket.work = self._dist.all_reduce(bucket.buffer, group=self.process_group,
                                            async_op=async_op)
        self._launched += 1

    def _finalize(self) -> None:
        from ..._tensor import Tensor

        self._armed = False
        self._started = False
        globally_used = None
        if self._used_map_work is not None:
            self._used_map_work.wait()
            self._used_map_work = None
            globally_used = self._used_map._data
        for bucket in self._buckets:
            if bucket.work is not None:
                bucket.work.wait()
            flat = bucket.buffer._data
            for i, start, stop in zip(bucket.indices, bucket.offsets, bucket.offsets[1:]):
                if globally_used is not None and not globally_used[i]:
                    continue  # no process used it: its gradient stays as it was
                p = self._params[i]
                values = flat[start:stop].reshape(tuple(p.shape))
                if p.grad is None:
                    p.grad = Tensor._make(values.copy(), p.dtype).to(p.device)
                else:
                    _write(p.grad, values, bump=True)
            bucket.buffer = bucket.work = None
        self._used_since_sync = set()

    @contextmanager
    def no_sync(self):
        """Skip the gradient reduction inside the block: gradients accumulate locally and
        are averaged by the first backward after it (whose forward runs outside the block).

        Example:
            >>> with ddp.no_sync():
            ...     ddp(x1).sum().backward()     # local accumulation only
            >>> ddp(x2).sum().backward()         # averages the sum of both
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def train(self, mode: bool = True):
        super().train(mode)
        return self


def _grad_hook(ddp_ref, i: int):
    def hook(param):
        ddp = ddp_ref()
        if ddp is not None:
            ddp._on_grad(i)
    return hook


def _host(t) -> np.ndarray:
    from ..._backend import to_numpy

    data = t._data
    return data if type(data) is np.ndarray else to_numpy(data)


def _write(t, values: np.ndarray, bump: bool) -> None:
    from ..._backend import to_device_array

    values = values.reshape(t._data.shape)
    if type(t._data) is np.ndarray:
        np.copyto(t._data, values)
    else:
        t._data[...] = to_device_array(values, t.device)
    if bump:
        t._vbox[0] += 1
