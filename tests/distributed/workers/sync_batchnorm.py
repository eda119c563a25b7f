"""SyncBatchNorm under the real MPI launcher.

``mpirun -np 2 python sync_batchnorm.py OUT_DIR``: each process holds part of every batch; the
outputs, input gradients, summed weight/bias gradients and running statistics must equal one
BatchNorm over the whole batch (computed here too, in each process, without synchronization).
See _harness for how outcomes are recorded.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Registry, close, run_checks  # noqa: E402

CHECKS = check = Registry()
C = 3


def data(step: int, n: int, shape=(4,), dtype=np.float32):
    rng = np.random.default_rng(100 + step)
    x = rng.standard_normal((n, C, *shape)) * (1 + np.arange(C)).reshape(1, C, *[1] * len(shape))
    g = rng.standard_normal((n, C, *shape))
    return (x + 0.5).astype(dtype), g.astype(dtype)


def bounds(ctx, sizes):
    """This rank's rows of a batch split in parts of ``sizes``."""
    start = sum(sizes[:ctx.rank])
    return start, start + sizes[ctx.rank]


def pair(ember, dtype, momentum=0.1):
    """A SyncBatchNorm and a BatchNorm1d with the same (non-trivial) weight and bias."""
    nn = ember.nn
    sync = nn.SyncBatchNorm(C, momentum=momentum, dtype=dtype)
    ref = nn.BatchNorm1d(C, momentum=momentum, dtype=dtype)
    with ember.no_grad():
        for m in (sync, ref):
            m.weight.copy_(ember.tensor([0.5, 1.5, -2.0]))
            m.bias.copy_(ember.tensor([0.1, -0.3, 0.7]))
    return sync, ref


def compare(ctx, sizes, dtype_name="float32", steps=2, momentum=0.1):
    ember, dist = ctx.ember, ctx.dist
    dtype = getattr(ember, dtype_name)
    rtol = 1e-5 if dtype_name == "float32" else 1e-11
    sync, ref = pair(ember, dtype, momentum)
    lo, hi = bounds(ctx, sizes)
    for step in range(steps):
        x, g = data(step, sum(sizes), dtype=np.dtype(dtype_name))
        xr = ember.tensor(x, requires_grad=True)
        out_ref = ref(xr)
        (out_ref * ember.tensor(g)).sum().backward()
        xs = ember.tensor(x[lo:hi], requires_grad=True)
        out = sync(xs)
        assert out.grad_fn is not None and "SyncBatchNorm" in type(out.grad_fn).__name__, \
            type(out.grad_fn).__name__
        (out * ember.tensor(g[lo:hi])).sum().backward()
        what = f"sizes {sizes}, {dtype_name}, step {step}"
        assert out.dtype == dtype and out.shape == xs.shape, (out.dtype, out.shape)
        close(out.detach().numpy(), out_ref.detach().numpy()[lo:hi], what=f"output, {what}",
              rtol=rtol, atol=rtol)
        # an empty part gets no gradient (None, as in PyTorch)
        grad = xs.grad.numpy() if xs.grad is not None else np.zeros(xs.shape, x.dtype)
        close(grad, xr.grad.numpy()[lo:hi], what=f"input grad, {what}", rtol=rtol, atol=rtol)
        for name in ("weight", "bias"):
            # the per-process gradients sum to the whole batch's (DDP reduces them)
            local = getattr(sync, name).grad
            total = (local.clone() if local is not None
                     else ember.zeros(C, dtype=dtype))
            dist.all_reduce(total)
            close(total.numpy(), getattr(ref, name).grad.numpy(),
                  what=f"{name} grad, {what}", rtol=rtol, atol=rtol)
        for name in ("running_mean", "running_var"):
            close(getattr(sync, name).numpy(), getattr(ref, name).numpy(),
                  what=f"{name}, {what}", rtol=rtol, atol=rtol)
        assert int(sync.num_batches_tracked) == step + 1
        for m in (sync, ref):
            m.zero_grad()


@check("equal_halves_match_one_batchnorm")
def _(ctx):
    compare(ctx, [4] * ctx.size)


@check("float64")
def _(ctx):
    compare(ctx, [4] * ctx.size, "float64")


@check("uneven_parts")
def _(ctx):
    compare(ctx, [3 + 2 * r for r in range(ctx.size)])


@check("an_empty_part")
def _(ctx):
    compare(ctx, [6] + [0] * (ctx.size - 1))


@check("cumulative_average_momentum_none")
def _(ctx):
    compare(ctx, [4] * ctx.size, momentum=None, steps=3)


@check("eval_mode_uses_running_stats_without_sync")
def _(ctx):
    ember = ctx.ember
    sync, ref = pair(ember, ember.float32)
    with ember.no_grad():
        for m in (sync, ref):
            m.running_mean.copy_(ember.tensor([0.2, -0.1, 0.3]))
            m.running_var.copy_(ember.tensor([1.5, 0.5, 2.0]))
    sync.eval()
    ref.eval()
    x, _ = data(0, 2 + ctx.rank)  # a different size on each process: nothing is exchanged
    close(sync(ember.tensor(x)).detach().numpy(), ref(ember.tensor(x)).detach().numpy(),
          rtol=1e-6, atol=1e-6)


@check("converted_conv_net_in_ddp_trains_like_one_process")
def _(ctx):
    ember = ctx.ember
    nn, F = ember.nn, ember.nn.functional

    def net():
        ember.manual_seed(11)
        return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                             nn.Flatten(), nn.Linear(3 * 4 * 4, 2))

    ref = net()
    model = nn.SyncBatchNorm.convert_sync_batchnorm(net())
    assert type(model[1]).__name__ == "SyncBatchNorm"
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.1)
    n = 4 * ctx.size
    for step in range(2):
        rng = np.random.default_rng(step)
        x = rng.standard_normal((n, 2, 4, 4)).astype(np.float32)
        y = rng.integers(0, 2, n)
        ref_opt.zero_grad()
        F.cross_entropy(ref(ember.from_numpy(x)), ember.from_numpy(y)).backward()
        ref_opt.step()
        opt.zero_grad()
        lo, hi = 4 * ctx.rank, 4 * (ctx.rank + 1)
        F.cross_entropy(ddp(ember.from_numpy(x[lo:hi])), ember.from_numpy(y[lo:hi])).backward()
        opt.step()
    for (name, a), b in zip(model.state_dict().items(), ref.state_dict().values()):
        close(a.numpy(), b.numpy(), what=f"{name} after 2 steps", rtol=1e-5, atol=1e-6)


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
