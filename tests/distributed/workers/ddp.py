"""DistributedDataParallel under the real MPI launcher.

``mpirun -np N python ddp.py OUT_DIR``: N processes, each on its shard of every batch, must
end with the parameters and losses of one process training on the whole batch (computed here
too, in each process, without DDP). See _harness for how outcomes are recorded.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Registry, close, raises, run_checks  # noqa: E402

CHECKS = check = Registry()
BATCH = 12  # divisible by 2 and 3
STEPS = 3


def batch(step: int):
    rng = np.random.default_rng(step)
    x = rng.standard_normal((BATCH, 5)).astype(np.float32)
    y = rng.integers(0, 3, BATCH)
    return x, y


def shard(arr, rank: int, size: int):
    n = len(arr) // size
    return arr[rank * n:(rank + 1) * n]


def mlp(ember, seed: int):
    nn = ember.nn
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 3))


def params(model) -> list:
    return [p.detach().numpy().copy() for p in model.parameters()]


def same_params(a, b, what: str) -> None:
    for i, (x, y) in enumerate(zip(a, b)):
        close(x, y, what=f"{what}: parameter {i}", rtol=1e-5, atol=1e-6)


def _train_and_compare(ctx, bucket_cap_mb, expect_buckets):
    ember, dist = ctx.ember, ctx.dist
    F = ember.nn.functional
    ref = mlp(ember, 100)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    ddp = ember.nn.parallel.DistributedDataParallel(mlp(ember, 100 + ctx.rank),
                                                   bucket_cap_mb=bucket_cap_mb)
    same_params(params(ddp.module), params(ref), "after construction (rank 0's broadcast)")
    assert len(ddp._buckets) == expect_buckets, len(ddp._buckets)
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    for step in range(STEPS):
        x, y = batch(step)
        ref_opt.zero_grad()
        ref_loss = F.cross_entropy(ref(ember.from_numpy(x)), ember.from_numpy(y))
        ref_loss.backward()
        ref_opt.step()
        opt.zero_grad()
        xs, ys = shard(x, ctx.rank, ctx.size), shard(y, ctx.rank, ctx.size)
        loss = F.cross_entropy(ddp(ember.from_numpy(xs)), ember.from_numpy(ys))
        loss.backward()
        opt.step()
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss, op=dist.ReduceOp.AVG)
        close(mean_loss.numpy(), ref_loss.detach().numpy(), what=f"loss at step {step}",
              rtol=1e-6, atol=1e-7)
    same_params(params(ddp.module), params(ref), f"after {STEPS} steps")


@check("matches_one_process_one_bucket")
def _(ctx):
    _train_and_compare(ctx, None, 1)


@check("matches_one_process_bucket_per_parameter")
def _(ctx):
    _train_and_compare(ctx, 1e-6, 6)  # every parameter its own bucket: 6 all_reduces in order


@check("no_sync_accumulation")
def _(ctx):
    ember = ctx.ember
    F = ember.nn.functional
    ref = mlp(ember, 7)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.05)
    ddp = ember.nn.parallel.DistributedDataParallel(mlp(ember, 7))
    opt = ember.optim.SGD(ddp.parameters(), lr=0.05)
    for step in range(2):
        micro = [batch(10 * step + k) for k in range(2)]
        ref_opt.zero_grad()
        for x, y in micro:
            F.cross_entropy(ref(ember.from_numpy(x)), ember.from_numpy(y)).backward()
        ref_opt.step()
        opt.zero_grad()
        (x0, y0), (x1, y1) = [(shard(x, ctx.rank, ctx.size), shard(y, ctx.rank, ctx.size))
                              for x, y in micro]
        launched = ddp._launched
        with ddp.no_sync():
            F.cross_entropy(ddp(ember.from_numpy(x0)), ember.from_numpy(y0)).backward()
        assert ddp._launched == launched and not ddp._armed, "no_sync() reduced"
        F.cross_entropy(ddp(ember.from_numpy(x1)), ember.from_numpy(y1)).backward()
        assert ddp._launched == 1
        opt.step()
    same_params(params(ddp.module), params(ref), "no_sync accumulation")


class Branches:
    """A module with a parameter no process uses and one only rank 0 uses."""

    @staticmethod
    def build(ember):
        nn = ember.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.used = nn.Linear(5, 3)
                self.never = nn.Linear(5, 3)
                self.rank0 = nn.Linear(5, 3)

            def forward(self, x, with_rank0: bool):
                out = self.used(x)
                return out + self.rank0(x) if with_rank0 else out
        ember.manual_seed(3)
        return Net()


@check("find_unused_parameters")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    net = Branches.build(ember)
    ddp = ember.nn.parallel.DistributedDataParallel(net, find_unused_parameters=True)
    plain = Branches.build(ember)
    for step in range(2):
        x, _ = batch(step)
        xs = ember.from_numpy(shard(x, ctx.rank, ctx.size))
        ddp.zero_grad()
        ddp(xs, ctx.rank == 0).pow(2).mean().backward()
        plain.zero_grad()
        plain(xs, ctx.rank == 0).pow(2).mean().backward()
        plain_used = plain.used.weight.grad.clone()
        dist.all_reduce(plain_used, op=dist.ReduceOp.AVG)
        close(net.used.weight.grad.numpy(), plain_used.numpy(), what="used", rtol=1e-5)
        assert net.never.weight.grad is None and net.never.bias.grad is None
        want = (plain.rank0.weight.grad.clone() if ctx.rank == 0
                else ember.zeros_like(plain.rank0.weight))
        dist.all_reduce(want, op=dist.ReduceOp.AVG)
        assert net.rank0.weight.grad is not None, "a parameter used on rank 0 only has no grad"
        close(net.rank0.weight.grad.numpy(), want.numpy(), what="rank0 branch", rtol=1e-5)
        for p in plain.parameters():  # plain follows ddp's parameters (no optimizer here)
            p.grad = None


@check("unused_parameters_without_the_flag_raise_torchs_error")
def _(ctx):
    ember = ctx.ember
    net = Branches.build(ember)
    ddp = ember.nn.parallel.DistributedDataParallel(net)
    x = ember.ones(2, 5)
    ddp(x, False).sum().backward()  # never.* and rank0.* get no gradient
    msg = raises(RuntimeError, lambda: ddp(x, False),
                 "Expected to have finished reduction in the prior iteration")
    assert f"Parameter indices which did not receive grad for rank {ctx.rank}: 2 3 4 5" in msg, msg
    assert "find_unused_parameters=True" in msg


def _bn_model(ember):
    nn = ember.nn
    ember.manual_seed(11)
    return nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _buffers_seen(ctx, **kwargs):
    """The BatchNorm running mean each rank's module sees as each forward starts."""
    ember, dist = ctx.ember, ctx.dist
    model = _bn_model(ember)
    seen = []
    model[1].register_forward_pre_hook(
        lambda mod, args: seen.append(mod.running_mean.numpy().copy()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ddp = ember.nn.parallel.DistributedDataParallel(model, **kwargs)
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(3):
        x, _ = batch(step)
        x = shard(x, ctx.rank, ctx.size) + ctx.rank  # different statistics on every rank
        opt.zero_grad()
        ddp(ember.from_numpy(x)).sum().backward()
        opt.step()
    everyone = [None] * ctx.size
    dist.all_gather_object(everyone, seen)
    return everyone, caught


@check("batchnorm_buffers_broadcast")
def _(ctx):
    everyone, caught = _buffers_seen(ctx)
    assert not caught, [str(w.message) for w in caught]
    for step in range(3):
        for rank in range(ctx.size):
            close(everyone[rank][step], everyone[0][step], what=f"step {step}, rank {rank}")
    assert np.abs(everyone[0][2]).sum() > 0  # the statistics did move


@check("batchnorm_buffers_local_with_broadcast_buffers_false")
def _(ctx):
    everyone, caught = _buffers_seen(ctx, broadcast_buffers=False)
    assert any(w.category is FutureWarning and "`broadcast_buffers` is deprecated"
               in str(w.message) for w in caught)
    if ctx.size > 1:
        assert not np.allclose(everyone[0][2], everyone[1][2]), "buffers were synchronized"


@check("overlap_buckets_launch_during_backward")
def _(ctx):
    ember = ctx.ember
    ddp = ember.nn.parallel.DistributedDataParallel(mlp(ember, 1), bucket_cap_mb=1e-6)
    first = ddp.module[0].weight  # its gradient is the last to arrive
    launched_before_last = []
    first.register_hook(lambda g: launched_before_last.append(ddp._launched))
    ddp(ember.ones(4, 5)).sum().backward()
    # layers 3 and 2 (and maybe layer 1's bias) are on their way before backward ends
    assert len(launched_before_last) == 1 and launched_before_last[0] in (4, 5), \
        launched_before_last
    assert ddp._launched == 6 and all(b.work is None for b in ddp._buckets)


@check("overlap_off_launches_after_the_last_gradient_same_result")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    grads = {}
    real_all_reduce, modes = dist.all_reduce, []

    def recording_all_reduce(*args, **kwargs):
        modes.append(kwargs.get("async_op", False))
        return real_all_reduce(*args, **kwargs)

    for overlap in (True, False):
        ddp = ember.nn.parallel.DistributedDataParallel(mlp(ember, 1), bucket_cap_mb=1e-6)
        ddp._overlap = overlap  # the benchmark's switch
        first = ddp.module[0].weight
        launched_before_last = []
        first.register_hook(lambda g, d=ddp, seen=launched_before_last:
                            seen.append(d._launched))
        x, _ = batch(7)
        modes.clear()
        dist.all_reduce = recording_all_reduce
        try:
            ddp(ember.from_numpy(shard(x, ctx.rank, ctx.size))).pow(2).sum().backward()
        finally:
            dist.all_reduce = real_all_reduce
        assert ddp._launched == 6, ddp._launched
        # during backward non-blocking; the bucket of the last gradient (and, without
        # overlap, every bucket) with the blocking all_reduce
        assert modes == ([True] * 5 + [False] if overlap else [False] * 6), modes
        if not overlap:
            assert launched_before_last == [0], launched_before_last
        grads[overlap] = [p.grad.numpy().copy() for p in ddp.parameters()]
    for a, b in zip(grads[True], grads[False]):
        np.testing.assert_array_equal(a, b)


@check("gradients_identical_across_ranks_when_backward_returns")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    ddp = ember.nn.parallel.DistributedDataParallel(mlp(ember, 2), bucket_cap_mb=1e-6)
    x, _ = batch(5)
    ddp(ember.from_numpy(shard(x, ctx.rank, ctx.size))).pow(2).sum().backward()
    grads = [p.grad.numpy().copy() for p in ddp.parameters()]
    everyone = [None] * ctx.size
    dist.all_gather_object(everyone, grads)
    for rank in range(ctx.size):
        for g, h in zip(everyone[rank], grads):
            np.testing.assert_array_equal(g, h)


@check("module_and_state_dict")
def _(ctx):
    ember = ctx.ember
    inner = mlp(ember, 4)
    ddp = ember.nn.parallel.DistributedDataParallel(inner)
    assert ddp.module is inner
    keys = list(ddp.state_dict())
    assert keys == [f"module.{k}" for k in inner.state_dict()], keys
    plain = mlp(ember, 5)
    plain.load_state_dict({k[len("module."):]: v for k, v in ddp.state_dict().items()})
    same_params(params(plain), params(inner), "state_dict round trip")
    assert repr(ddp).startswith("DistributedDataParallel(\n  (module): Sequential(")


@check("construction_errors")
def _(ctx):
    ember = ctx.ember
    nn = ember.nn
    DDP = nn.parallel.DistributedDataParallel
    frozen = nn.Linear(2, 2).requires_grad_(False)
    raises(RuntimeError, lambda: DDP(frozen), "doesn't have any parameter that requires a gradient")
    raises(ValueError, lambda: DDP(nn.Linear(2, 2), device_ids=[0]),
           "device_ids and output_device arguments only work")
    raises(ValueError, lambda: DDP(nn.Linear(2, 2), device_ids=[0, 1]),
           "device_ids can only be None or contain a single element.")
    odd = nn.Linear(4, 3 if ctx.rank == 0 else 2)  # a different model on rank 1
    msg = raises(RuntimeError, lambda: DDP(odd), "appears not to match sizes of the same param "
                 "in process 0")
    assert msg.startswith("[1]: params[0]"), msg
    extra = nn.Sequential(*[nn.Linear(2, 2) for _ in range(1 + (ctx.rank == 1))])
    raises(RuntimeError, lambda: DDP(extra), "DDP expects same model across all ranks")


@check("distributed_sampler_defaults_to_the_group")
def _(ctx):
    from ember.utils.data.distributed import DistributedSampler

    s = DistributedSampler(range(10), seed=3)
    assert (s.num_replicas, s.rank) == (ctx.size, ctx.rank)
    explicit = DistributedSampler(range(10), num_replicas=ctx.size, rank=ctx.rank, seed=3)
    assert list(s) == list(explicit)
    everyone = [None] * ctx.size
    ctx.dist.all_gather_object(everyone, list(s))
    assert sorted(i for part in everyone for i in part)[:10] == sorted(
        set(i for part in everyone for i in part))[:10]


class Context:
    def __init__(self):
        import ember
        import ember.distributed as dist
        import ember.nn.parallel  # noqa: F401

        self.ember, self.dist = ember, dist
        dist.init_process_group("gloo")
        self.rank, self.size = dist.get_rank(), dist.get_world_size()


def main(out_dir: str) -> None:
    ctx = Context()
    run_checks(CHECKS, ctx, out_dir)
    ctx.dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
