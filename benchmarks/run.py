"""ember vs PyTorch, side by side: per-step medians and ratios for the workloads of issue 7.

Each workload is built by the same code for both libraries (their APIs are the same), and the
two are timed alternately in one process so machine noise hits both alike.

    python benchmarks/run.py                 # all workloads
    python benchmarks/run.py --only mlp      # workloads whose name contains "mlp"
    python benchmarks/run.py --json out.json
    python benchmarks/run.py --stat min      # min per round: resists load from other processes
    python benchmarks/run.py --memory        # also peak RSS of each workload run alone

ember's knobs: ``EMBER_NO_MALLOPT=1`` leaves glibc's allocator untuned (the tuning is
process-wide, so it reaches PyTorch in the same process too); ``EMBER_NUM_THREADS=1`` turns off
ember's elementwise thread pool.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import types

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def gemm_rate(n: int = 1024, repeats: int = 5) -> float:
    """NumPy float32 GEMM GFLOP/s on this machine (the arithmetic ceiling)."""
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    a @ b
    best = min(_time(lambda: a @ b) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# -- workloads: each returns (step function, FLOPs per step or None) ----------------------------

def _batches(lib, shape: tuple, batch: int, samples: int = 1024):
    """An endless cycle over a fixed pool of random batches (``samples`` examples in all, at
    least 8 batches), the same for both libraries. Training on one batch over and over drives
    the loss to zero and the gradients into float32's denormal range, where every multiply
    is many times slower: the benchmark would time denormal arithmetic, not the framework."""
    rng = np.random.default_rng(0)
    count = max(8, samples // batch)
    pool = [(lib.from_numpy(rng.standard_normal((batch, *shape)).astype(np.float32)),
             lib.from_numpy(rng.integers(0, 10, batch).astype(np.int64)))
            for _ in range(count)]
    return itertools.cycle(pool)


def _mlp_parts(lib, batch: int, opt: str = "sgd"):
    """The MLP workloads' seeded model, batches, optimizer and loss."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    data = _batches(lib, (784,), batch)
    optim = (lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if opt == "sgd"
             else lib.optim.Adam(model.parameters(), lr=1e-3))
    return model, data, optim, nn.CrossEntropyLoss()


def mlp(lib, batch: int, opt: str):
    model, data, optim, loss_fn = _mlp_parts(lib, batch, opt)

    def step():
        x, y = next(data)
        optim.zero_grad()
        loss_fn(model(x), y).backward()
        optim.step()

    # forward and two backward GEMMs per layer, less the first layer's input gradient (the
    # data needs none): 78 MFLOP at batch 64, as the issue counts
    flops = 3 * 2 * batch * (784 * 256 + 256 * 256 + 256 * 10) - 2 * batch * 784 * 256
    return step, flops


def cnn(lib, batch: int):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    data = _batches(lib, (1, 28, 28), batch)
    optim = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        x, y = next(data)
        optim.zero_grad()
        loss_fn(model(x), y).backward()
        optim.step()

    conv = 2 * batch * (26 * 26 * 32 * 9 + 24 * 24 * 64 * 32 * 9)
    fc = 2 * batch * (9216 * 128 + 128 * 10)
    return step, 3 * (conv + fc) - 2 * batch * 26 * 26 * 32 * 9  # no input grad for conv1


def op_add(lib, grad: bool):
    a = lib.ones(1, requires_grad=grad)
    b = lib.ones(1)
    return (lambda: a + b), None


def op_three(lib):
    a = lib.ones(1, requires_grad=True)

    def step():
        (a * a + a).sum().backward()

    return step, None


def op_linear(lib):
    lib.manual_seed(0)
    layer = lib.nn.Linear(10, 10)
    x = lib.ones(1, 10)
    return (lambda: layer(x)), None


def lstm(lib, kind: str = "LSTM"):
    lib.manual_seed(0)
    model = getattr(lib.nn, kind)(32, 64, batch_first=True)
    head = lib.nn.Linear(64, 10)
    params = list(model.parameters()) + list(head.parameters())
    optim = lib.optim.Adam(params, lr=1e-3)
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((16, 20, 32)).astype(np.float32))
    y = lib.from_numpy(rng.integers(0, 10, 16).astype(np.int64))

    def step():
        optim.zero_grad()
        out, _ = model(x)
        lib.nn.functional.cross_entropy(head(out[:, -1]), y).backward()
        optim.step()

    return step, None


def transformer(lib):
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0,
                                           batch_first=True)
    model = lib.nn.TransformerEncoder(layer, 2)
    optim = lib.optim.Adam(model.parameters(), lr=1e-3)
    x = lib.from_numpy(np.random.default_rng(0).standard_normal((8, 32, 64)).astype(np.float32))

    def step():
        optim.zero_grad()
        model(x).pow(2).mean().backward()
        optim.step()

    return step, None


def gpt(lib, batch: int = 8, block: int = 64, vocab: int = 256, width: int = 128,
        heads: int = 4, layers: int = 2, compiled: bool = False):
    """A nanoGPT-like step: token + position embedding, pre-norm blocks of causal
    ``scaled_dot_product_attention`` and a GELU MLP, weight tying, AdamW. ``compiled``: the
    step function (forward, loss, backward, AdamW) compiled whole on ember (on PyTorch with
    ``EMBER_BENCH_TORCH_COMPILE=1``)."""
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(width, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).contiguous().view(b, t, c))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(block, width)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.ln_f, self.head = nn.LayerNorm(width), nn.Linear(width, vocab, bias=False)
            self.head.weight = self.tok.weight  # weight tying

        def forward(self, idx):
            x = self.tok(idx) + self.pos(lib.arange(idx.shape[1]))
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln_f(x))

    lib.manual_seed(0)
    model = GPT()
    optim = lib.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    rng = np.random.default_rng(0)
    data = [lib.from_numpy(rng.integers(0, vocab, (batch, block + 1)).astype(np.int64))
            for _ in range(8)]
    pool = itertools.cycle(data)

    def train_step(x, y):
        loss = F.cross_entropy(model(x).view(-1, vocab), y.reshape(-1))
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()

    if compiled and (lib.__name__ == "ember" or
                     os.environ.get("EMBER_BENCH_TORCH_COMPILE") == "1"):
        train_step = lib.compile(train_step)

    def step():
        chunk = next(pool)
        train_step(chunk[:, :-1], chunk[:, 1:])

    return step, None


def _compiled(lib, model, backend: str):
    """``ember.compile(model, backend=...)`` on ember. PyTorch runs eager, or
    ``torch.compile`` (inductor) with ``EMBER_BENCH_TORCH_COMPILE=1`` (minutes of compiling on
    a small CPU machine)."""
    if lib.__name__ == "ember":
        return lib.compile(model, backend=backend)
    if os.environ.get("EMBER_BENCH_TORCH_COMPILE") == "1":
        return lib.compile(model)
    return model


def mlp_compiled(lib, batch: int):
    """The ``mlp b1 sgd`` step with the model compiled (the loss and the optimizer stay eager,
    as in PyTorch's usual ``model = torch.compile(model)``)."""
    model, data, optim, loss_fn = _mlp_parts(lib, batch)
    compiled = _compiled(lib, model, "inductor")

    def step():
        x, y = next(data)
        optim.zero_grad()
        loss_fn(compiled(x), y).backward()
        optim.step()

    return step, None


def mlp_step_compiled(lib, batch: int, opt: str = "sgd"):
    """The ``mlp b1 sgd`` (or ``adam``) step as one compiled training-step function (forward,
    loss, backward and the optimizer's step, as ``@torch.compile def train_step``). PyTorch
    runs the same function eagerly, or compiled with ``EMBER_BENCH_TORCH_COMPILE=1``."""
    model, data, optim, loss_fn = _mlp_parts(lib, batch, opt)

    def train_step(x, y):
        optim.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optim.step()
        return loss

    if lib.__name__ == "ember" or os.environ.get("EMBER_BENCH_TORCH_COMPILE") == "1":
        train_step = lib.compile(train_step)

    def step():
        train_step(*next(data))

    return step, None


def transformer_inference(lib, backend=None):
    """The transformer workload's encoder (2 layers, width 64, batch 8, 32 tokens) in eval
    mode under no_grad; ``backend`` compiles it on ember."""
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0,
                                           batch_first=True)
    model = lib.nn.TransformerEncoder(layer, 2).eval()
    run = _compiled(lib, model, backend) if backend else model
    x = lib.from_numpy(np.random.default_rng(0).standard_normal((8, 32, 64)).astype(np.float32))

    def step():
        with lib.no_grad():
            run(x)

    return step, None


def cnn_inference(lib, backend=None):
    """The cnn workload's network in eval mode under no_grad at batch 64; ``backend`` compiles
    it on ember."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(),
                          nn.Linear(128, 10)).eval()
    run = _compiled(lib, model, backend) if backend else model
    data = _batches(lib, (1, 28, 28), 64)

    def step():
        x, _ = next(data)
        with lib.no_grad():
            run(x)

    conv = 2 * 64 * (26 * 26 * 32 * 9 + 24 * 24 * 64 * 32 * 9)
    return step, conv + 2 * 64 * (9216 * 128 + 128 * 10)


WORKLOADS = {
    "op: a + b (no grad)": (lambda L: op_add(L, False), 20000),
    "op: a + b (grad)": (lambda L: op_add(L, True), 20000),
    "op: 3-op fwd+bwd": (op_three, 3000),
    "op: Linear(10,10) fwd": (op_linear, 10000),
    "mlp b1 sgd": (lambda L: mlp(L, 1, "sgd"), 300),
    "mlp b64 sgd": (lambda L: mlp(L, 64, "sgd"), 200),
    "mlp b64 adam": (lambda L: mlp(L, 64, "adam"), 200),
    "mlp b512 sgd": (lambda L: mlp(L, 512, "sgd"), 60),
    "cnn b1": (lambda L: cnn(L, 1), 100),
    "cnn b64": (lambda L: cnn(L, 64), 12),
    "lstm b16 t20": (lstm, 30),
    "gru b16 t20": (lambda L: lstm(L, "GRU"), 30),
    "transformer b8 t32": (transformer, 30),
    "gpt b8 t64": (gpt, 20),
    # ember.compile (issue 14): ember compiled vs PyTorch eager; the eager rows above and
    # below give ember's own eager time for the same step
    "mlp b1 compiled": (lambda L: mlp_compiled(L, 1), 300),
    "mlp b1 step compiled": (lambda L: mlp_step_compiled(L, 1), 300),
    "mlp b1 adam step compiled": (lambda L: mlp_step_compiled(L, 1, "adam"), 300),
    "gpt b8 t64 step compiled": (lambda L: gpt(L, compiled=True), 20),
    "transformer b8 inference": (transformer_inference, 30),
    "transformer b8 inference compiled": (lambda L: transformer_inference(L, "inductor"), 30),
    "cnn b64 inference": (cnn_inference, 12),
    "cnn b64 inference onnxruntime": (lambda L: cnn_inference(L, "onnxruntime"), 12),
}


def ratio_arguments(description: str):
    """The command line the ratio scripts share (compile_ratios.py, func_ratios.py), parsed;
    ``--cpu-time`` makes ``measure`` read this process's CPU time."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=5, help="alternating rounds")
    parser.add_argument("--stat", choices=("median", "min"), default="median")
    parser.add_argument("--only", default="", help="workloads whose name contains this")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch's threads (default: all cores; set ember's with "
                             "EMBER_NUM_THREADS and OPENBLAS_NUM_THREADS)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time CPU seconds of this process instead of wall time (steadier "
                             "on a loaded machine; fair only with one thread each)")
    args = parser.parse_args()
    if args.cpu_time:
        global time
        time = types.SimpleNamespace(perf_counter=time.process_time)
    return args


def ratio_banner(args, torch, ember) -> None:
    """Set torch's threads and print the conditions of the run."""
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    print(f"load average {os.getloadavg()[0]:.1f}; statistic: {args.stat}; "
          f"{'CPU' if args.cpu_time else 'wall'} time in ms; threads: torch "
          f"{torch.get_num_threads()}, ember {ember.get_num_threads()}\n")


def rebuild_every(n: int) -> int:
    """Rounds between fresh builds of a workload timed ``n`` calls a round. A model trained
    for too many steps drifts into another regime: the MLP at batch 1 memorises its 1024
    examples after about 1000 steps, its gradients turn to zeros and its momentum decays into
    float32 denormals, where every multiply is many times slower. So a model takes at most
    about 600 steps; workloads of few calls a round are not rebuilt at all, since the first
    steps after a build (the other library's arrays just freed, the allocator cold) run slower
    than the warm-up covers: a PyTorch GPT step measured 52 ms right after a build, 20 warm."""
    return max(1, 600 // (n + max(2, n // 20)))


def measure(step, n: int, stat: str = "median") -> float:
    """Median (or minimum) seconds per call over ``n`` calls, timed in batches to beat timer
    noise."""
    for _ in range(max(2, n // 20)):
        step()
    per = max(1, n // 20)
    samples = []
    for _ in range(max(3, n // per)):
        t = time.perf_counter()
        for _ in range(per):
            step()
        samples.append((time.perf_counter() - t) / per)
    return min(samples) if stat == "min" else statistics.median(samples)


_STATUS = ("def _kb(key):\n"
           "    for line in open('/proc/self/status'):\n"
           "        if line.startswith(key):\n"
           "            return int(line.split()[1]) / 1024\n"
           "    import resource\n"
           "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n")


def _kb(key: str) -> float:
    """MB of a /proc/self/status field (VmRSS, VmHWM) of this process."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def import_cost(module: str) -> tuple[float, float]:
    """(seconds, resident MB) of ``import module`` in a fresh interpreter. The memory is the
    child's own VmRSS: ru_maxrss would count the parent's peak, inherited across fork/exec.

    Timed as a user meets it after the first import, with bytecode cached: pip compiles an
    installed package's bytecode, but an editable install (ours) writes it on first import,
    which ``PYTHONDONTWRITEBYTECODE`` (set on some machines) prevents; compiling ember's
    sources on every import would add about 0.1 s. So the children run without that
    variable, after one untimed import."""
    code = (_STATUS + "import time; t = time.perf_counter(); import " + module +
            "; dt = time.perf_counter() - t; print(dt, _kb('VmRSS:'))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cwd = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runs = []
    for i in range(4):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=cwd, env=env)
        if i:  # the first run writes the bytecode
            runs.append(tuple(float(v) for v in out.stdout.split()))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def _child_memory(lib_name: str, name: str) -> None:
    """Run one workload alone in this process; print MB after import and peak (VmHWM)."""
    lib = __import__(lib_name)
    base = _kb("VmRSS:")
    build, n = WORKLOADS[name]
    step, _ = build(lib)
    for _ in range(max(3, n // 4)):
        step()
    print(base, _kb("VmHWM:"))


def workload_memory(name: str) -> dict:
    """Peak resident MB of a workload run alone, per library, and the part the workload itself
    adds over the imported library."""
    res = {}
    for lib in ("ember", "torch"):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child-memory", lib,
                              name], capture_output=True, text=True, check=True)
        base, peak = (float(v) for v in out.stdout.split()[-2:])
        res[lib] = {"import_mb": base, "peak_mb": peak, "workload_mb": peak - base}
    return res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run workloads whose name contains this")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds per workload")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--stat", choices=("median", "min"), default="median",
                        help="per-round statistic (min resists load from other processes)")
    parser.add_argument("--memory", action="store_true",
                        help="also run each workload alone per library and report peak RSS")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time this process's CPU seconds instead of wall time (steadier on "
                             "a loaded machine; fair only with one thread each: "
                             "EMBER_NUM_THREADS=1)")
    parser.add_argument("--child-memory", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        _child_memory(*args.child_memory)
        return 0
    if args.cpu_time:
        global time
        time = types.SimpleNamespace(perf_counter=time.process_time)

    import torch

    import ember
    from ember import _allocator, _threads

    # both libraries get the same number of threads (EMBER_NUM_THREADS=1 compares one thread
    # with one thread; torch used to get every core regardless)
    torch.set_num_threads(_threads.num_threads())
    rate = gemm_rate()

    print(f"NumPy float32 GEMM: {rate:.0f} GFLOP/s "
          f"(OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}); "
          f"ember mallopt tuning {'on' if _allocator.applied else 'off'}, "
          f"{_threads.num_threads()} threads each; load average {os.getloadavg()[0]:.1f}; "
          f"statistic: {args.stat}; {'CPU' if args.cpu_time else 'wall'} time\n")
    header = f"{'workload':<24}{'ember ms':>10}{'torch ms':>10}{'ratio':>8}{'floor ms':>10}"
    print(header)
    print("-" * len(header))
    results = []
    for name, (build, n) in WORKLOADS.items():
        if args.only not in name:
            continue
        try:
            e_step, flops = build(ember)
            t_step, _ = build(torch)
        except Exception as err:  # a workload ember cannot run yet is reported, not fatal
            print(f"{name:<24} skipped: {type(err).__name__}: {err}")
            continue
        e_times, t_times = [], []
        for round_ in range(args.repeats):
            if round_ and round_ % rebuild_every(n) == 0:  # fresh, seeded models
                e_step, t_step = build(ember)[0], build(torch)[0]
            e_times.append(measure(e_step, n, args.stat))
            t_times.append(measure(t_step, n, args.stat))
        agg = min if args.stat == "min" else statistics.median
        e, t = agg(e_times), agg(t_times)
        floor = flops / (rate * 1e9) if flops else None
        unit = 1e6 if name.startswith("op:") else 1e3
        label = "us" if unit == 1e6 else "ms"
        floor_txt = f"{floor * 1e3:10.2f}" if floor else f"{'':>10}"
        print(f"{name:<24}{e * unit:>8.2f}{label}{t * unit:>8.2f}{label}{e / t:>8.2f}{floor_txt}")
        results.append({"workload": name, "ember_s": e, "torch_s": t, "ratio": e / t,
                        "flops": flops, "floor_s": floor})
        if args.memory and not name.startswith("op:"):
            mem = workload_memory(name)
            em, tm = mem["ember"], mem["torch"]
            print(f"{'':<4}peak RSS {em['peak_mb']:.0f} MB vs {tm['peak_mb']:.0f} MB; over "
                  f"the import {em['workload_mb']:.0f} MB vs {tm['workload_mb']:.0f} MB "
                  f"({em['workload_mb'] / max(tm['workload_mb'], 1e-9):.2f})")
            results[-1]["memory"] = mem
    if not args.only or "import" in args.only:
        (et, em), (tt, tm) = import_cost("ember"), import_cost("torch")
        print(f"{'import (s / MB)':<24}{et:>7.2f}s {tt:>7.2f}s {et / tt:>7.2f}  "
              f"memory {em:.0f} MB vs {tm:.0f} MB ({em / tm:.2f})")
        results.append({"workload": "import", "ember_s": et, "torch_s": tt, "ratio": et / tt,
                        "ember_mb": em, "torch_mb": tm})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"gemm_gflops": rate, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
