"""torch.func's workloads (issue 13) as ratios in one run: each workload's ember and PyTorch
steps timed in alternation, so machine load hits both alike.

    python benchmarks/func_ratios.py                     # median per round
    python benchmarks/func_ratios.py --stat min          # resists load from other processes
    EMBER_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        python benchmarks/func_ratios.py --threads 1 --cpu-time --stat min
                                                         # one thread each, CPU seconds

The workloads, built by the same code for both libraries: ``jacrev mlp`` (the Jacobian of a
small MLP's 16 outputs with respect to its 16 inputs), ``jacrev 32->32`` (two tanh
layers), ``per-sample grads mlp b64`` (``vmap(grad(loss))`` of a 2-layer MLP over a batch of
64, cross entropy), ``hessian`` (of a scalar function of
16 inputs, ``jacfwd(jacrev(f))``), ``vmap per-sample grads`` (``vmap(grad(loss))`` over a
batch of 32 with ``functional_call``), ``beta rsample backward`` (``Beta(a, b).rsample()
.sum().backward()`` for 64 pairs) and ``lnn acceleration`` (the Lagrangian network of
tests/programs/sci_hamiltonian_lagrangian.py: ``hessian`` and nested ``jacrev`` under
``vmap`` over 16 states, then backward). The ``loop`` column is ember with its batched vmap
and Jacobians switched off (``ember.func._batching.ENABLED``): every element, or Jacobian
row, one call, as before issue 13.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys

import numpy as np

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
_spec = importlib.util.spec_from_file_location("ember_benchmarks_run", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _mlp(lib, n_in: int, hidden: int, n_out: int, act: str = "Tanh"):
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Linear(n_in, hidden), getattr(nn, act)(), nn.Linear(hidden, hidden),
                         getattr(nn, act)(), nn.Linear(hidden, n_out))


def _array(lib, *shape, low=None):
    rng = np.random.default_rng(len(shape) + sum(shape))
    a = rng.standard_normal(shape).astype(np.float32)
    if low is not None:
        a = (low + np.abs(a)).astype(np.float32)
    return lib.from_numpy(a)


def jacrev_mlp(lib):
    model = _mlp(lib, 16, 32, 16)
    x = _array(lib, 16)
    jacrev = lib.func.jacrev
    return lambda: jacrev(model)(x)


def hessian_scalar(lib):
    w = _array(lib, 16, 16)
    x = _array(lib, 16)

    def f(v):
        return (lib.tanh(w @ v) ** 2).sum() + (v.sin() * v).sum()

    hessian = lib.func.hessian
    return lambda: hessian(f)(x)


def vmap_per_sample_grads(lib):
    model = _mlp(lib, 8, 32, 4, act="ReLU")
    params = {k: v.detach() for k, v in model.named_parameters()}
    xs, ys = _array(lib, 32, 8), _array(lib, 32, 4)
    F, func = lib.nn.functional, lib.func

    def loss(p, x, y):
        out = func.functional_call(model, p, (x.unsqueeze(0),))
        return F.mse_loss(out, y.unsqueeze(0))

    per_sample = func.vmap(func.grad(loss), in_dims=(None, 0, 0))
    return lambda: per_sample(params, xs, ys)


def per_sample_grads_mlp64(lib):
    """The per-sample-gradients tutorial: a 2-layer MLP, batch 64, cross entropy."""
    nn, F, func = lib.nn, lib.nn.functional, lib.func
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
    params = {k: v.detach() for k, v in model.named_parameters()}
    xs = _array(lib, 64, 32)
    ys = lib.from_numpy(np.random.default_rng(1).integers(0, 10, 64))

    def loss(p, x, y):
        out = func.functional_call(model, p, (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    per_sample = func.vmap(func.grad(loss), in_dims=(None, 0, 0))
    return lambda: per_sample(params, xs, ys)


def jacrev_32(lib):
    """``jacrev`` of a 32 -> 32 function (two tanh layers)."""
    w1, w2 = _array(lib, 32, 32), _array(lib, 32, 33)[:, :32]
    x = _array(lib, 32)

    def f(v):
        return lib.tanh(w2 @ lib.tanh(w1 @ v))

    jacrev = lib.func.jacrev
    return lambda: jacrev(f)(x)


def beta_rsample_backward(lib):
    a = _array(lib, 64, low=0.5).requires_grad_()
    b = _array(lib, 64, low=0.5).requires_grad_()
    Beta = lib.distributions.Beta

    def step():
        lib.manual_seed(0)
        Beta(a, b).rsample().sum().backward()
        a.grad = b.grad = None

    return step


def lnn_acceleration(lib):
    nn, func = lib.nn, lib.func
    lib.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 32), nn.Softplus(), nn.Linear(32, 32), nn.Softplus(),
                        nn.Linear(32, 1))
    params = {k: v.detach().requires_grad_() for k, v in net.named_parameters()}

    def lagrangian(p, q, qd):
        return func.functional_call(net, p, (lib.cat([q, qd], -1),)).squeeze(-1)

    def acceleration(p, q, qd):
        hess = func.hessian(lagrangian, argnums=2)(p, q, qd)
        dl_dq = func.jacrev(lagrangian, argnums=1)(p, q, qd)
        mixed = func.jacrev(func.jacrev(lagrangian, argnums=2), argnums=1)(p, q, qd)
        return lib.linalg.pinv(hess) @ (dl_dq - mixed @ qd)

    batched = func.vmap(acceleration, in_dims=(None, 0, 0))
    q, qd = _array(lib, 16, 1), _array(lib, 16, 1)

    def step():
        batched(params, q, qd).pow(2).mean().backward()
        for v in params.values():
            v.grad = None

    return step


# name: (builder, calls per sample)
WORKLOADS = {
    "jacrev mlp 16->16": (jacrev_mlp, 40),
    "hessian 16": (hessian_scalar, 10),
    "vmap per-sample grads b32": (vmap_per_sample_grads, 10),
    "per-sample grads mlp b64": (per_sample_grads_mlp64, 10),
    "jacrev 32->32": (jacrev_32, 20),
    "beta rsample backward 64": (beta_rsample_backward, 40),
    "lnn acceleration vmap 16": (lnn_acceleration, 3),
}


def main() -> int:
    args = bench.ratio_arguments(__doc__.splitlines()[0])

    import torch

    import ember

    bench.ratio_banner(args, torch, ember)
    from ember.func import _batching

    def looped(step):  # ember before issue 13: vmap and jacrev element by element
        def run():
            _batching.ENABLED = False
            try:
                step()
            finally:
                _batching.ENABLED = True
        return run

    head = (f"{'workload':<30}{'ember':>9}{'loop':>9}{'torch':>9}{'ember/torch':>13}"
            f"{'loop/torch':>12}")
    print(head)
    print("-" * len(head))
    for name, (build, n) in WORKLOADS.items():
        if args.only not in name:
            continue
        steps = {"ember": build(ember), "torch": build(torch)}
        steps["loop"] = looped(build(ember))
        times: dict = {k: [] for k in steps}
        for _ in range(args.repeats):
            for k, step in steps.items():
                times[k].append(bench.measure(step, n, args.stat))
        agg = min if args.stat == "min" else statistics.median
        t = {k: agg(v) * 1e3 for k, v in times.items()}
        print(f"{name:<30}{t['ember']:>9.2f}{t['loop']:>9.2f}{t['torch']:>9.2f}"
              f"{t['ember'] / t['torch']:>13.2f}{t['loop'] / t['torch']:>12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
