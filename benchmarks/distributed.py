"""ember.distributed on this machine: all_reduce bandwidth, and DDP's scaling from 1 to N processes.

1. ``all_reduce`` (float32, SUM) from 1 KB to 64 MB, reported as nccl-tests reports it:
   ``time`` is the median over iterations (after warm-up) of the slowest rank's time,
   ``algbw = bytes / time`` and ``busbw = algbw * 2(n-1)/n`` (the bytes each link carries in a
   ring all_reduce, comparable across process counts).
2. Train-step throughput (samples/s: forward, loss, backward, SGD step) of the ``ember train``
   MLP and CNN on 28x28 inputs (MNIST-sized, random data), on 1 process without DDP and on N
   processes with DDP, each process taking the same per-process batch (weak scaling), with the
   reduction overlapped with backward (DDP's buckets launched from the gradient hooks, the
   default) and without (every bucket held back until backward's last gradient: DDP's private
   ``_overlap`` switch), and without DDP at all (``none``: the N replicas side by side, no
   communication: what the cores alone allow, which shows how much of the loss is the machine's
   and how much the reduction's). Scaling efficiency = samples/s on N / (N * samples/s on 1).
   The table also gives each model's gradient size and the all_reduce time part 1 measured for
   that size, interpolated, so the expected efficiency without overlap is
   step / (step + all_reduce).

Every process runs with one BLAS/ember thread, so N processes use N cores. The script starts
itself under mpirun (the launch ``ember run`` uses); run it as a plain script::

    python benchmarks/distributed.py [--nproc 2] [--json out.json] [--quick]

``--quick`` (the smoke test's) runs the smallest sizes and a few steps only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

KB = 1024
MODELS = ("mlp", "cnn")


def sizes(quick: bool) -> list[int]:
    top = 16 * KB if quick else 64 * KB * KB
    out, n = [], KB
    while n <= top:
        out.append(n)
        n *= 2
    return out


def iterations(nbytes: int, quick: bool) -> tuple[int, int]:
    """(warm-up, timed) iterations: many for small messages, a few for 64 MB."""
    if quick:
        return 2, 5
    timed = int(min(200, max(10, 2e9 // max(nbytes, 1) // 64)))
    return max(3, timed // 10), timed


# -- worker side (under mpirun) -----------------------------------------------------------------
def slowest(dist, ember, seconds: list[float]) -> np.ndarray:
    """Per-iteration times, the slowest rank's (an all_reduce MAX)."""
    t = ember.from_numpy(np.array(seconds, np.float64))
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.numpy()


def bandwidth(dist, ember, quick: bool) -> list[dict]:
    n = dist.get_world_size()
    rows = []
    for nbytes in sizes(quick):
        t = ember.ones(nbytes // 4)
        warm, timed = iterations(nbytes, quick)
        for _ in range(warm):
            dist.all_reduce(t)
        times = []
        for _ in range(timed):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            times.append(time.perf_counter() - start)
        worst = slowest(dist, ember, times)
        sec, best = float(np.median(worst)), float(worst.min())
        algbw = nbytes / sec / 1e9
        rows.append({"bytes": nbytes, "iters": timed, "time_us": sec * 1e6,
                     "algbw_GBps": algbw, "busbw_GBps": algbw * 2 * (n - 1) / n,
                     "best_us": best * 1e6,
                     "busbw_best_GBps": nbytes / best / 1e9 * 2 * (n - 1) / n})
    return rows


def build(ember, name: str):
    from ember.cli.models import build_model

    ember.manual_seed(0)
    return build_model(name, 1, 28, 10)


def step_times(ember, model, step_model, batch: int, steps: int, warm: int,
               dist=None) -> list[float]:
    nn = ember.nn
    opt = ember.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(1 + (dist.get_rank() if dist else 0))
    x = ember.from_numpy(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = ember.from_numpy(rng.integers(0, 10, batch))
    times = []
    for i in range(warm + steps):
        if dist is not None:
            dist.barrier()
        start = time.perf_counter()
        opt.zero_grad()
        loss_fn(step_model(x), y).backward()
        opt.step()
        if i >= warm:
            times.append(time.perf_counter() - start)
    return times


def grad_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)


def worker(args) -> None:
    import ember

    if args.worker == "single":
        out = {}
        for name in MODELS:
            model = build(ember, name)
            times = step_times(ember, model, model, args.batch, args.steps, args.warmup)
            sec = statistics.median(times)
            out[name] = {"step_ms": sec * 1e3, "samples_per_s": args.batch / sec,
                         "grad_bytes": grad_bytes(model)}
        with open(args.out, "w") as f:
            json.dump(out, f)
        return

    import ember.distributed as dist
    from ember.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    n = dist.get_world_size()
    result = {"nproc": n, "bandwidth": bandwidth(dist, ember, args.quick), "train": {}}
    for name in MODELS:
        for mode in ("none", "on", "off"):
            model = build(ember, name)
            if mode == "none":  # the N replicas side by side without DDP: the cores' ceiling
                ddp, buckets = model, 0
            else:
                ddp = DistributedDataParallel(model)
                ddp._overlap = mode == "on"
                buckets = len(ddp._buckets)
            times = step_times(ember, model, ddp, args.batch, args.steps, args.warmup, dist)
            sec = float(np.median(slowest(dist, ember, times)))
            result["train"][f"{name}/{mode}"] = {
                "step_ms": sec * 1e3, "samples_per_s": n * args.batch / sec,
                "buckets": buckets}
    if dist.get_rank() == 0:
        with open(args.out, "w") as f:
            json.dump(result, f)
    dist.destroy_process_group()


# -- launcher side ------------------------------------------------------------------------------
def _env() -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "EMBER_NUM_THREADS"):
        env[var] = "1"  # one thread per process: N processes use N cores
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["OMPI_ALLOW_RUN_AS_ROOT"] = env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return env


def _run(cmd: list[str], timeout: float) -> None:
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"benchmarks/distributed.py: {' '.join(cmd[:4])}... failed "
                         f"(exit {proc.returncode})")


def interpolate_us(rows: list[dict], nbytes: int) -> float:
    """all_reduce time for ``nbytes`` from the measured sizes (log-log; beyond: linear)."""
    xs = np.array([r["bytes"] for r in rows], float)
    ts = np.array([r["time_us"] for r in rows], float)
    if nbytes >= xs[-1]:
        return float(ts[-1] * nbytes / xs[-1])
    return float(np.exp(np.interp(np.log(nbytes), np.log(xs), np.log(ts))))


def _human(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" or nbytes >= 10 else \
                f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.0f} GB"


def report(result: dict) -> str:
    n = result["nproc"]
    lines = [f"all_reduce, float32 SUM, {n} processes (median of the slowest rank's time)",
             f"{'size':>8} {'iters':>6} {'time_us':>10} {'algbw_GB/s':>11} {'busbw_GB/s':>11} "
             f"{'best_us':>10} {'best_busbw':>10}"]
    for r in result["bandwidth"]:
        lines.append(f"{_human(r['bytes']):>8} {r['iters']:>6} {r['time_us']:>10.1f} "
                     f"{r['algbw_GBps']:>11.3f} {r['busbw_GBps']:>11.3f} "
                     f"{r['best_us']:>10.1f} {r['busbw_best_GBps']:>10.3f}")
    lines += ["", f"train step, per-process batch {result['batch']}, 1 vs {n} processes "
                  "(1 thread each); efficiency = samples/s(N) / (N * samples/s(1))",
              f"{'model':>5} {'grad':>8} {'overlap':>7} {'step_ms':>8} {'samples/s':>10} "
              f"{'efficiency':>10} {'allreduce_ms':>12} {'expected':>8}"]
    for name in MODELS:
        one = result["single"][name]
        comm_ms = interpolate_us(result["bandwidth"], one["grad_bytes"]) / 1e3
        expected = one["step_ms"] / (one["step_ms"] + comm_ms)
        lines.append(f"{name:>5} {_human(one['grad_bytes']):>8} {'1 proc':>7} "
                     f"{one['step_ms']:>8.2f} {one['samples_per_s']:>10.0f} {'':>10} "
                     f"{'':>12} {'':>8}")
        for mode in ("none", "on", "off"):
            row = result["train"][f"{name}/{mode}"]
            eff = row["samples_per_s"] / (n * one["samples_per_s"])
            row["efficiency"] = eff
            lines.append(f"{name:>5} {'':>8} {mode:>7} {row['step_ms']:>8.2f} "
                         f"{row['samples_per_s']:>10.0f} {eff:>10.1%} {comm_ms:>12.2f} "
                         f"{expected:>8.1%}")
        result["single"][name]["allreduce_ms_est"] = comm_ms
        result["single"][name]["expected_efficiency_no_overlap"] = expected
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nproc", type=int, default=2, help="processes for the N-process runs")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    p.add_argument("--quick", action="store_true", help="smallest sizes, a few steps (smoke)")
    p.add_argument("--batch", type=int, default=None, help="per-process batch (default 64)")
    p.add_argument("--worker", choices=("single", "mpi"), help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--warmup", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.batch = args.batch or (8 if args.quick else 64)
    args.steps = args.steps or (3 if args.quick else 30)
    args.warmup = args.warmup or (1 if args.quick else 5)
    if args.worker:
        worker(args)
        return 0
    if args.nproc < 2:
        p.error("--nproc must be at least 2 (the 1-process run is always made)")

    from ember.cli.run_command import build_command, find_mpirun, is_open_mpi

    mpirun = find_mpirun()
    here = os.path.abspath(__file__)
    common = ["--batch", str(args.batch), "--steps", str(args.steps), "--warmup",
              str(args.warmup)] + (["--quick"] if args.quick else [])
    with tempfile.TemporaryDirectory() as tmp:
        single, multi = os.path.join(tmp, "single.json"), os.path.join(tmp, "mpi.json")
        _run([sys.executable, here, "--worker", "single", "--out", single, *common],
             timeout=1800)
        cmd = build_command(args.nproc, [here, "--worker", "mpi", "--out", multi, *common],
                            mpirun=mpirun, open_mpi=is_open_mpi(mpirun))
        _run(cmd, timeout=3600)
        with open(multi) as f:
            result = json.load(f)
        with open(single) as f:
            result["single"] = json.load(f)
    result["batch"] = args.batch
    result["cores"] = os.cpu_count()
    print(report(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
