"""ember.compile's goals (issue 14) as ratios in one run: each workload's ember eager, ember
compiled and PyTorch eager steps timed in alternation, so machine load hits all alike.

    python benchmarks/compile_ratios.py                  # median per round
    python benchmarks/compile_ratios.py --stat min       # resists load from other processes
    EMBER_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/compile_ratios.py \
        --threads 1 --cpu-time                           # one thread each, CPU seconds
    EMBER_BENCH_TORCH_COMPILE=1 python benchmarks/compile_ratios.py   # adds torch.compile

The workloads are run.py's: ``mlp b1`` (a training step: the whole step function compiled,
with SGD and with Adam, and, for comparison, the model alone compiled, the loss and the
optimizer eager), ``gpt b8 t64 train step`` (the nanoGPT-like step with AdamW, compiled
whole), ``transformer b8 inference`` (backend "inductor", i.e. ember's replay),
``transformer b8 inference onnxruntime`` (the same model, backend "onnxruntime") and ``cnn b64
inference`` (backend "onnxruntime").
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
_spec = importlib.util.spec_from_file_location("ember_benchmarks_run", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# name: (eager builder, compiled builder, calls per sample, goals as (vs ember eager, vs torch))
GOALS = {
    "mlp b1 train step": (lambda L: bench.mlp(L, 1, "sgd"),
                          lambda L: bench.mlp_step_compiled(L, 1), 300, (0.6, 1.0)),
    "mlp b1 adam train step": (lambda L: bench.mlp(L, 1, "adam"),
                               lambda L: bench.mlp_step_compiled(L, 1, "adam"), 300,
                               (None, None)),
    "gpt b8 t64 train step": (bench.gpt, lambda L: bench.gpt(L, compiled=True), 10,
                              (None, None)),
    "mlp b1 train step, model compiled": (lambda L: bench.mlp(L, 1, "sgd"),
                                          lambda L: bench.mlp_compiled(L, 1), 300, (None, None)),
    "transformer b8 inference": (bench.transformer_inference,
                                 lambda L: bench.transformer_inference(L, "inductor"), 30,
                                 (0.6, 1.0)),
    "transformer b8 inference onnxruntime": (
        bench.transformer_inference, lambda L: bench.transformer_inference(L, "onnxruntime"), 30,
        (0.6, 1.0)),
    "cnn b64 inference onnxruntime": (bench.cnn_inference,
                                      lambda L: bench.cnn_inference(L, "onnxruntime"), 12,
                                      (None, 1.0)),
}


def _build_steps(eager, compiled, with_torch_compile: bool) -> dict:
    """One round's step functions: ember eager, ember compiled, torch eager (and
    torch.compile)."""
    import torch

    import ember

    os.environ.pop("EMBER_BENCH_TORCH_COMPILE", None)  # torch eager for the torch column
    steps = {"ember": eager(ember)[0], "compiled": compiled(ember)[0], "torch": eager(torch)[0]}
    if with_torch_compile:
        os.environ["EMBER_BENCH_TORCH_COMPILE"] = "1"
        steps["torch.compile"] = compiled(torch)[0]
    return steps


def main() -> int:
    args = bench.ratio_arguments(__doc__.splitlines()[0])

    import torch

    import ember

    bench.ratio_banner(args, torch, ember)
    with_torch_compile = os.environ.get("EMBER_BENCH_TORCH_COMPILE") == "1"
    head = (f"{'workload':<38}{'ember':>9}{'compiled':>10}{'torch':>9}"
            f"{'/ember':>8}{'/torch':>8}  goal")
    if with_torch_compile:
        head += f"{'torch.compile':>15}"
    print(head)
    print("-" * len(head))
    for name, (eager, compiled, n, (goal_e, goal_t)) in GOALS.items():
        if args.only not in name:
            continue
        times: dict = {}
        for round_ in range(args.repeats):
            if round_ % bench.rebuild_every(n) == 0:  # fresh, seeded models now and then
                steps = _build_steps(eager, compiled, with_torch_compile)
            for k, step in steps.items():
                times.setdefault(k, []).append(bench.measure(step, n, args.stat))
        agg = min if args.stat == "min" else statistics.median
        t = {k: agg(v) * 1e3 for k, v in times.items()}
        r_e, r_t = t["compiled"] / t["ember"], t["compiled"] / t["torch"]
        goal = f"<= {goal_e} / {goal_t}" if goal_e else \
            f"- / <= {goal_t}" if goal_t else "-"
        line = (f"{name:<38}{t['ember']:>9.2f}{t['compiled']:>10.2f}{t['torch']:>9.2f}"
                f"{r_e:>8.2f}{r_t:>8.2f}  {goal}")
        if with_torch_compile:
            line += f"{t['torch.compile']:>15.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
