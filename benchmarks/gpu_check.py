"""ember on a GPU against PyTorch on the same GPU: one command that checks and times everything.

    python benchmarks/gpu_check.py --out gpu-out            # needs CuPy, a GPU and CUDA torch
    python benchmarks/gpu_check.py --device cpu --out x     # the same checks on the CPU (smoke)
    python benchmarks/gpu_check.py --summarize gpu-out      # rebuild summary.md from results

Sections, each run in its own process so one crash or hang costs only its own results:
``api`` (``ember.cuda``, tensors, DataLoader ``pin_memory``, checkpoints with ``map_location``),
``ops`` (every op-table entry: forward in its dtypes and first-order gradients, sharded over
processes), ``nn`` (the layers of ``tests/nn`` with torch's weights), ``optim`` (every
optimizer configuration of ``tests/optim``), ``train`` (``python -m ember train --device cuda
--epochs 1``; ``GPU_CHECK_TRAIN_ROOT`` names another ember checkout to run it from) and, after
those, ``speed`` (MLP b512, CNN b64, Transformer step: ember vs PyTorch eager, alternating
rounds, medians; plus diagnostics: one elementwise op, one GEMM, the MLP without its
optimizer). Tolerances are the CPU tests' own.

Every result is appended as one JSON line to ``OUT/results.jsonl`` the moment it is known, so
a run cut short still leaves its data; ``OUT/summary.md`` is written at the end (or later with
``--summarize``). Without CuPy, a GPU or torch the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
import traceback

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CASE_LIMIT_S = 30  # one case (an op sample, a layer) longer than this is recorded as a timeout


# -- plumbing: results, logs, timeouts -------------------------------------------------------------

class Recorder:
    """Appends one JSON line per result to ``results.jsonl`` (atomic appends: many writers)."""

    def __init__(self, out: str, section: str):
        self.path = os.path.join(out, "results.jsonl")
        self.log_path = os.path.join(out, "log.txt")
        self.section = section

    def add(self, name: str, status: str, **info):
        rec = {"section": self.section, "name": name, "status": status, **info}
        line = json.dumps(rec, default=str) + "\n"
        with open(self.path, "a") as f:
            f.write(line)

    def log(self, msg: str):
        with open(self.log_path, "a") as f:
            f.write(f"[{time.strftime('%H:%M:%S')} {self.section}] {msg}\n")


class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int):
    def handler(signum, frame):
        raise CaseTimeout(f"case took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def describe(err: BaseException) -> dict:
    """The exception's type and text, the innermost frame in ember and the innermost overall."""
    tb = traceback.extract_tb(err.__traceback__)
    where = last = ""
    chain = []
    for fr in tb:
        rel = os.path.relpath(fr.filename, ROOT) if fr.filename.startswith(ROOT) else fr.filename
        if rel.startswith("ember" + os.sep):
            where = f"{rel}:{fr.lineno} {fr.name}"
            chain.append(f"{rel[6:]}:{fr.lineno} {fr.name}")
        last = f"{os.path.basename(fr.filename)}:{fr.lineno} {fr.name}"
    return {"error": f"{type(err).__name__}: {str(err)[:400]}", "where": where, "last": last,
            "chain": " < ".join(reversed(chain[-6:]))}


class Mismatch(AssertionError):
    pass


def host(t):
    """A tensor of either library (or a number) as a NumPy array, via an explicit copy."""
    if hasattr(t, "detach"):
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        return t.numpy(force=True)
    return np.asarray(t)


def compare(e, t, atol, rtol, what="value", check_dtype=True):
    """Raise Mismatch unless ember's ``e`` matches torch's ``t`` (shape, dtype, device, values).
    Returns the largest absolute difference."""
    if e is None or t is None:
        if not (e is None and t is None):
            raise Mismatch(f"{what}: ember gave {type(e).__name__}, torch {type(t).__name__}")
        return 0.0
    if hasattr(t, "device") and hasattr(e, "device") and e.device.type != t.device.type:
        raise Mismatch(f"{what}: on {e.device}, torch's on {t.device}")
    if hasattr(t, "shape") and tuple(e.shape) != tuple(t.shape):
        raise Mismatch(f"{what}: shape {tuple(e.shape)} vs torch's {tuple(t.shape)}")
    if check_dtype and hasattr(t, "dtype") and str(e.dtype) != str(t.dtype):
        raise Mismatch(f"{what}: dtype {e.dtype} vs torch's {t.dtype}")
    ea, ta = host(e), host(t)
    if ea.dtype.kind in "fiu" and ta.dtype.kind in "fiu":
        ea, ta = ea.astype(np.float64), ta.astype(np.float64)
    try:
        np.testing.assert_allclose(ea, ta, atol=atol, rtol=rtol, equal_nan=True)
    except AssertionError as err:
        diff = np.abs(ea.astype(np.complex128) - ta.astype(np.complex128)) if ea.size else [0]
        raise Mismatch(f"{what}: max |diff| {np.nanmax(diff):.3g} over atol {atol:g}, rtol "
                       f"{rtol:g}; " + str(err).strip().splitlines()[2][:200]) from None
    if ea.size and ea.dtype.kind in "fc":
        return float(np.nanmax(np.abs(ea - ta))) if np.isfinite(ea).any() else 0.0
    return 0.0


def flat(out):
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(flat(o))
        return res
    return [out]


def synchronizer(dev: str):
    import torch

    import ember

    if dev.startswith("cuda"):
        return ember.cuda.synchronize, torch.cuda.synchronize
    return (lambda: None), (lambda: None)


def set_oracle_precision(torch):
    """TF32 off: the CPU tests' float32 tolerances assume full float32 matrix products."""
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


# -- section: ember.cuda, tensors, data, checkpoints -----------------------------------------------

def section_api(rec: Recorder, dev: str, deadline: float):
    import torch

    import ember

    on_gpu = dev.startswith("cuda")

    def check(name, fn):
        if time.time() > deadline:
            rec.add(name, "skip", reason="deadline")
            return
        t0 = time.perf_counter()
        try:
            with time_limit(CASE_LIMIT_S):
                info = fn() or {}
            rec.add(name, "pass", time_s=round(time.perf_counter() - t0, 3), **info)
        except Exception as err:
            rec.add(name, "fail" if isinstance(err, (Mismatch, AssertionError)) else "error",
                    time_s=round(time.perf_counter() - t0, 3), **describe(err))

    def cuda_api():
        assert ember.cuda.is_available() == torch.cuda.is_available()
        assert ember.cuda.device_count() == torch.cuda.device_count(), (
            ember.cuda.device_count(), torch.cuda.device_count())
        info = {"device_count": ember.cuda.device_count()}
        if on_gpu:
            name = ember.cuda.get_device_name(0)
            assert name == torch.cuda.get_device_name(0), (name, torch.cuda.get_device_name(0))
            info["device_name"] = name
            assert ember.cuda.get_device_name() == name
            assert ember.cuda.current_device() == torch.cuda.current_device()
            ember.cuda.synchronize()
            ember.cuda.synchronize(0)
        return info

    def memory_stats():
        if not on_gpu:
            return {"note": "cpu run"}
        ember.cuda.empty_cache()
        base = ember.cuda.memory_allocated()
        x = ember.empty(16 * 2 ** 20, dtype=ember.float32, device=dev)  # 64 MiB
        grown = ember.cuda.memory_allocated() - base
        assert grown >= 64 * 2 ** 20, f"memory_allocated grew by {grown}, expected >= 64 MiB"
        peak = ember.cuda.max_memory_allocated()
        assert peak >= base + 64 * 2 ** 20, (peak, base)
        del x
        after = ember.cuda.memory_allocated()
        assert after <= base + 2 ** 20, f"memory_allocated {after} after del, base {base}"
        assert ember.cuda.max_memory_allocated() >= peak
        ember.cuda.empty_cache()
        info = {"allocated_delta": grown, "peak": peak, "after_free": after}
        for fn in ("memory_reserved", "reset_peak_memory_stats", "max_memory_reserved"):
            info[fn] = hasattr(ember.cuda, fn)
        if hasattr(ember.cuda, "reset_peak_memory_stats"):
            ember.cuda.reset_peak_memory_stats()
            assert ember.cuda.max_memory_allocated() <= after + 2 ** 20
        return info

    def seeding():
        if not on_gpu:  # cuda seeding leaves the CPU's stream alone, as in PyTorch
            ember.manual_seed(3)
            a = ember.rand(3)
            ember.manual_seed(3)
            ember.cuda.manual_seed_all(4)
            compare(ember.rand(3), a, 0, 0, "CPU stream after cuda.manual_seed_all")
            return {}
        ember.cuda.manual_seed_all(3)
        a = ember.randn(5, device=dev)
        ember.cuda.manual_seed_all(3)
        b = ember.randn(5, device=dev)
        compare(a, b, 0, 0, "manual_seed_all repeat")
        ember.cuda.manual_seed(4)
        c = ember.rand(5, device=dev)
        ember.cuda.manual_seed(4)
        compare(c, ember.rand(5, device=dev), 0, 0, "cuda.manual_seed repeat")
        ember.manual_seed(5)
        d = ember.randn(5, device=dev)
        ember.manual_seed(5)
        compare(d, ember.randn(5, device=dev), 0, 0, "manual_seed repeat")
        assert a.device.type == dev.split(":")[0]
        return {}

    def tensor_basics():
        """Each small tensor fact on its own, so one failure hides none of the others."""
        x = ember.arange(6.0).reshape(2, 3)
        g = x.to(dev)
        tg = torch.arange(6.0).reshape(2, 3).to(dev)
        kind = dev.split(":")[0]

        def raises(fn, types):
            try:
                fn()
            except types as err:
                return f"raised {type(err).__name__}: {str(err)[:160]}"
            raise AssertionError("did not raise")

        facts = {
            "to_device": lambda: g.device.type == kind or g.device,
            "device_str": lambda: str(g.device) == str(tg.device) or (str(g.device),
                                                                       str(tg.device)),
            "repr": lambda: repr(g) == repr(tg) or (repr(g), repr(tg)),
            "item": lambda: (g * 2).sum().item() == 30.0 and isinstance(g.sum().item(), float),
            "tolist": lambda: g.tolist() == tg.tolist() or g.tolist(),
            "cpu_roundtrip": lambda: g.cpu().numpy().tolist() == x.numpy().tolist(),
            "numpy_raises": lambda: raises(g.numpy, TypeError) if on_gpu else True,
            "asarray_raises": lambda: raises(lambda: np.asarray(g), (TypeError, RuntimeError))
            if on_gpu else True,
            "mixed_device_raises": lambda: raises(lambda: g + x, RuntimeError)
            if on_gpu else True,
            "cuda_of_cuda_is_self": lambda: (g.cuda() is g) if on_gpu else True,
            "cuda_method": lambda: x.cuda().device.type == "cuda" if on_gpu else True,
            "is_cuda": lambda: (g.is_cuda and not x.is_cuda) if on_gpu else True,
            "zeros_cuda0": lambda: (lambda d: d == (f"{kind}:0" if on_gpu else kind) or d)(
                str(ember.zeros(3, device=f"{kind}:0" if on_gpu else kind).device)),
            "grad_through_cpu": lambda: _grad_through_cpu(),
        }

        def _grad_through_cpu():
            w = ember.tensor([1.0, 2.0], device=dev, requires_grad=True)
            (w.cpu() * 3).sum().backward()
            compare(w.grad, torch.tensor([3.0, 3.0], device=dev), 0, 0, "grad through .cpu()")
            return True

        info, bad = {}, []
        for name, fn in facts.items():
            try:
                res = fn()
            except Exception as err:
                res = f"{type(err).__name__}: {str(err)[:200]}"
                bad.append(name)
            else:
                if res is not True and not (isinstance(res, str) and res.startswith("raised ")):
                    bad.append(name)
            info[name] = res if res is not True else "ok"
        if bad:
            raise AssertionError(f"{', '.join(bad)}: " + json.dumps({k: info[k] for k in bad},
                                                                   default=str)[:600])
        return info

    def dataloader_pin_memory():
        from ember.utils.data import DataLoader, TensorDataset

        rng = np.random.default_rng(0)
        xs, ys = rng.standard_normal((10, 3)).astype(np.float32), np.arange(10)
        loader = DataLoader(TensorDataset(ember.tensor(xs), ember.tensor(ys)), batch_size=4,
                            pin_memory=True)
        seen = 0
        for bx, by in loader:
            gx, gy = bx.to(dev, non_blocking=True), by.to(dev, non_blocking=True)
            assert gx.device.type == dev.split(":")[0] and gy.device.type == gx.device.type
            np.testing.assert_array_equal(host(gx), xs[seen:seen + len(bx)])
            np.testing.assert_array_equal(host(gy), ys[seen:seen + len(bx)])
            seen += len(bx)
        assert seen == 10
        return {"pinned": bool(bx.is_pinned()) if hasattr(bx, "is_pinned") else None}

    def checkpoints():
        """save/load facts one by one (a failing load hides none of the others)."""
        import tempfile

        tmp = tempfile.mkdtemp()
        kind = dev.split(":")[0]
        lin = ember.nn.Linear(3, 2).to(dev)
        tl = torch.nn.Linear(3, 2).to(dev)
        p, q, r = (os.path.join(tmp, n) for n in ("e.pth", "t.pth", "c.pth"))
        w_host = lin.weight.detach().cpu()

        def save_ember():
            ember.save({"model": lin.state_dict(), "step": 7,
                        "t": ember.arange(4.0, device=dev)}, p)
            return True

        def save_torch():
            torch.save({"model": tl.state_dict(), "t": torch.arange(4.0, device=dev)}, q)
            return True

        def save_cpu():
            ember.save(ember.nn.Linear(3, 2).state_dict(), r)
            return True

        def ember_to_cpu():
            d = ember.load(p, map_location="cpu")
            compare(d["model"]["weight"], w_host, 0, 0, "cuda->cpu load")
            return d["t"].device.type == "cpu" or str(d["t"].device)

        def ember_same_device():
            d = ember.load(p)
            return d["t"].device.type == kind or str(d["t"].device)

        def ember_dict_map():
            d = ember.load(p, map_location={"cuda:0": "cpu"} if on_gpu else "cpu")
            return d["t"].device.type == "cpu" or str(d["t"].device)

        def ember_callable_map():
            d = ember.load(p, map_location=lambda st, loc: st)
            return d["t"].device.type == "cpu" or str(d["t"].device)

        def torch_reads_ember():
            d = torch.load(p, map_location="cpu", weights_only=True)
            compare(d["model"]["weight"], w_host, 0, 0, "torch reads ember")
            d = torch.load(p, map_location=dev, weights_only=True)
            return d["t"].device.type == kind or str(d["t"].device)

        def ember_reads_torch_gpu():
            d = ember.load(q)
            compare(d["model"]["weight"], tl.weight.detach(), 0, 0, "ember reads torch")
            return d["t"].device.type == kind or str(d["t"].device)

        def ember_reads_torch_cpu():
            d = ember.load(q, map_location="cpu")
            return d["t"].device.type == "cpu" or str(d["t"].device)

        def cpu_file_to_gpu():
            d = ember.load(r, map_location=dev)
            return d["weight"].device.type == kind or str(d["weight"].device)

        def load_state_dict_keeps_device():
            lin2 = ember.nn.Linear(3, 2).to(dev)
            lin2.load_state_dict(ember.load(r, map_location="cpu"))
            return lin2.weight.device.type == kind or str(lin2.weight.device)

        facts = [save_ember, save_torch, save_cpu, ember_to_cpu, ember_same_device,
                 ember_dict_map, ember_callable_map, torch_reads_ember, ember_reads_torch_gpu,
                 ember_reads_torch_cpu, cpu_file_to_gpu, load_state_dict_keeps_device]
        info, bad = {}, []
        for fn in facts:
            try:
                res = fn()
            except Exception as err:
                d = describe(err)
                res = f"{d['error'][:200]} [{d['chain'][:200]}]"
            if res is not True:
                bad.append(fn.__name__)
            info[fn.__name__] = "ok" if res is True else res
        if bad:
            raise AssertionError(f"{', '.join(bad)}: " + json.dumps({k: info[k] for k in bad},
                                                                   default=str)[:900])
        return info

    def grad_scaler():
        scaler = ember.amp.GradScaler(dev.split(":")[0])
        lin = ember.nn.Linear(4, 2).to(dev)
        opt = ember.optim.SGD(lin.parameters(), lr=0.1)
        x = ember.randn(3, 4, device=dev)
        loss = lin(x).pow(2).sum()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return {"scale": float(scaler.get_scale())}

    def autocast():
        with ember.autocast(dev.split(":")[0], dtype=ember.bfloat16):
            y = ember.nn.Linear(4, 2).to(dev)(ember.randn(3, 4, device=dev))
        return {"dtype": str(y.dtype)}

    def streams_events():
        if not on_gpu:
            return {"note": "cpu run"}
        info = {}
        for n in ("Stream", "Event", "current_stream", "stream"):
            info[n] = hasattr(ember.cuda, n)
        if info["Event"]:
            s, e = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
            s.record()
            ember.randn(1000, 1000, device=dev).sum()
            e.record()
            e.synchronize()
            info["elapsed_ms"] = s.elapsed_time(e)
            assert info["elapsed_ms"] > 0 and e.query()
        if info["Stream"] and info["stream"]:
            x = ember.arange(1000.0, device=dev)
            st = ember.cuda.Stream()
            with ember.cuda.stream(st):
                assert ember.cuda.current_stream() == st
                y = (x * 2).sum()
            st.synchronize()
            assert y.item() == 999000.0, y.item()
            assert ember.cuda.current_stream() != st
            ev = st.record_event()
            ember.cuda.current_stream().wait_event(ev)
            info["capability"] = ember.cuda.get_device_capability()
            info["mem_get_info"] = ember.cuda.mem_get_info()
        return info

    for name, fn in [("cuda_api", cuda_api), ("memory_stats", memory_stats),
                     ("seeding", seeding), ("tensor_basics", tensor_basics),
                     ("dataloader_pin_memory", dataloader_pin_memory),
                     ("checkpoints_map_location", checkpoints), ("grad_scaler", grad_scaler),
                     ("autocast_bf16", autocast), ("streams_events", streams_events)]:
        check(name, fn)


# -- section: the op table -------------------------------------------------------------------------

def _is_device_error(err: BaseException) -> bool:
    text = str(err)
    return "device" in text.lower() and ("cpu" in text or "same device" in text)


def section_ops(rec: Recorder, dev: str, deadline: float, shard: int, shards: int,
                only: str = ""):
    import torch

    import ember
    from tests.ops.op_table import OPS
    from tests.ops.spec import as_list, make_arrays

    set_oracle_precision(torch)
    specs = [s for s in OPS if only in s.name][shard::shards]

    def tensors(lib, arrays, dtype, grad_idx=()):
        out = []
        for k, a in enumerate(arrays):
            a = a.astype(dtype) if dtype and a.dtype.kind == "f" else a
            t = lib.tensor(a, device=dev)
            if k in grad_idx:
                t.requires_grad_(True)
            out.append(t)
        return out

    def call(lib, spec, args, default_device):
        ctx = lib.device(dev) if default_device else contextlib.nullcontext()
        with ctx:
            return spec.fn(lib, *args)

    def forward(spec, arrays, dtype, default_device):
        t_out = call(torch, spec, tensors(torch, arrays, dtype), default_device)
        e_out = call(ember, spec, tensors(ember, arrays, dtype), default_device)
        tol = 1e-4 if dtype == "float32" else spec.atol
        atol, rtol = max(tol, spec.atol), max(spec.rtol, 1e-5 if dtype == "float32" else 0)
        e_list, t_list = as_list(e_out), as_list(t_out)
        if len(e_list) != len(t_list):
            raise Mismatch(f"{len(e_list)} outputs vs torch's {len(t_list)}")
        return max([compare(e, t, atol, rtol, f"output {k}")
                    for k, (e, t) in enumerate(zip(e_list, t_list))] or [0.0])

    def grads(lib, spec, arrays, idx, default_device):
        ts = tensors(lib, arrays, "float64", idx)
        outs = [o for o in as_list(call(lib, spec, ts, default_device)) if o.requires_grad]
        rng = np.random.default_rng(7)
        ups = [lib.tensor(rng.standard_normal(tuple(o.shape)), device=dev) for o in outs]
        return lib.autograd.grad(outs, [ts[k] for k in idx], ups, allow_unused=True)

    def gradient(spec, arrays, default_device):
        idx = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
        if spec.grad_inputs is not None:
            idx = [k for k in idx if k in spec.grad_inputs]
        t_g = grads(torch, spec, arrays, idx, default_device)
        e_g = grads(ember, spec, arrays, idx, default_device)
        worst = 0.0
        for k, (e, t) in enumerate(zip(e_g, t_g)):
            if t is None:
                if e is not None and np.any(host(e) != 0):
                    raise Mismatch(f"grad {k}: ember gave a nonzero gradient, torch None")
                continue
            if e is None:
                raise Mismatch(f"grad {k}: ember gave no gradient where torch did")
            worst = max(worst, compare(e, t, spec.grad_atol, 1e-6, f"grad {k}"))
        return worst

    def run_case(name, fn):
        t0 = time.perf_counter()
        info = {}
        for default_device in (False, True):
            try:
                with time_limit(CASE_LIMIT_S):
                    err_at = fn(default_device)
                rec.add(name, "pass", time_s=round(time.perf_counter() - t0, 3),
                        max_err=err_at, default_device=default_device)
                return
            except _TorchFailed as tf:
                if not default_device and _is_device_error(tf.err):
                    continue  # the table's lambda makes CPU tensors: retry under lib.device()
                rec.add(name, "skip", reason="torch: " + describe(tf.err)["error"],
                        default_device=default_device)
                return
            except Exception as err:
                info = describe(err)
                status = "fail" if isinstance(err, Mismatch) else (
                    "timeout" if isinstance(err, CaseTimeout) else "error")
                rec.add(name, status, time_s=round(time.perf_counter() - t0, 3),
                        default_device=default_device, **info)
                return

    for spec in specs:
        for i, shapes in enumerate(spec.shapes):
            if time.time() > deadline:
                rec.add(f"{spec.name}-{i}", "skip", reason="deadline", kind="all")
                continue
            arrays = make_arrays(spec, shapes, np.random.default_rng(1234 + i))
            for dtype in ("float32", "float64"):
                if dtype in spec.dtypes:
                    run_case(f"{spec.name}-{i}-fwd-{dtype}", _oracle_first(
                        lambda d, s=spec, a=arrays, dt=dtype: forward(s, a, dt, d),
                        lambda d, s=spec, a=arrays, dt=dtype: call(torch, s,
                                                                   tensors(torch, a, dt), d)))
            if spec.grad:
                run_case(f"{spec.name}-{i}-grad", _oracle_first(
                    lambda d, s=spec, a=arrays: gradient(s, a, d),
                    lambda d, s=spec, a=arrays: _torch_grad_probe(torch, s, a, grads, d)))


class _TorchFailed(Exception):
    def __init__(self, err):
        super().__init__(str(err))
        self.err = err


def _oracle_first(check, probe):
    """Run torch alone first: if the oracle cannot do the case on this device, that is no
    failure of ember's (reported as a skip with torch's reason)."""
    def run(default_device):
        try:
            probe(default_device)
        except CaseTimeout:
            raise
        except Exception as err:
            raise _TorchFailed(err) from err
        return check(default_device)
    return run


def _torch_grad_probe(torch, spec, arrays, grads, default_device):
    idx = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
    if spec.grad_inputs is not None:
        idx = [k for k in idx if k in spec.grad_inputs]
    return grads(torch, spec, arrays, idx, default_device)


# -- section: nn layers ----------------------------------------------------------------------------

def section_nn(rec: Recorder, dev: str, deadline: float):
    import torch

    import ember
    from tests.nn import test_conv_modules as conv_t
    from tests.nn import test_layers as layers_t
    from tests.nn import test_norm_modules as norm_t
    from tests.nn import test_rnn as rnn_t
    from tests.nn import test_transformer as tr_t

    set_oracle_precision(torch)

    def build(make):
        torch.manual_seed(0)
        try:
            t_mod = make(torch.nn)
        except Exception as err:  # this torch lacks the layer or the argument: no oracle
            raise _TorchFailed(err) from err
        e_mod = make(ember.nn)
        state = t_mod.state_dict()
        e_mod.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in
                               state.items()})
        return e_mod.to(dev), t_mod.to(dev)

    def check_module(make, arrays, atol, rtol, mode="train", steps=1, perturb=False,
                     kwargs=None, grad_atol=None, rng_seed=0):
        """Forward, backward (input and parameter gradients) and buffers, ``steps`` times."""
        e_mod, t_mod = build(make)
        if perturb:
            rng = np.random.default_rng(rng_seed + 1)
            with torch.no_grad():
                for p in t_mod.parameters():
                    p.add_(torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32),
                                        device=dev))
            e_mod.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in
                                   t_mod.state_dict().items()})
        e_mod.train(mode == "train")
        t_mod.train(mode == "train")
        worst = 0.0
        rng = np.random.default_rng(rng_seed)
        for step in range(steps):
            arrs = arrays(rng) if callable(arrays) else arrays
            e_in, t_in = [], []
            for a in arrs:
                wants = a.dtype.kind == "f"
                e_in.append(ember.tensor(a, device=dev, requires_grad=wants))
                t_in.append(torch.tensor(a, device=dev, requires_grad=wants))
            e_kw, t_kw = kwargs(dev) if kwargs else ({}, {})
            e_out = [o for o in flat(e_mod(*e_in, **e_kw))]
            t_out = [o for o in flat(t_mod(*t_in, **t_kw))]
            if len(e_out) != len(t_out):
                raise Mismatch(f"{len(e_out)} outputs vs torch's {len(t_out)}")
            e_loss = t_loss = 0
            for k, (e, t) in enumerate(zip(e_out, t_out)):
                worst = max(worst, compare(e, t, atol, rtol, f"step {step} output {k}"))
                if t is not None and t.requires_grad:
                    up = rng.standard_normal(tuple(t.shape)).astype(np.float32)
                    e_loss = e_loss + (e * ember.tensor(up, device=dev)).sum()
                    t_loss = t_loss + (t * torch.tensor(up, device=dev)).sum()
            if not isinstance(t_loss, int):
                e_loss.backward()
                t_loss.backward()
                ga = grad_atol or atol
                for k, (e, t) in enumerate(zip(e_in, t_in)):
                    if t.requires_grad:
                        worst = max(worst, compare(e.grad, t.grad, ga, rtol, f"input {k} grad"))
                t_params = dict(t_mod.named_parameters())
                for name, p in e_mod.named_parameters():
                    worst = max(worst, compare(p.grad, t_params[name].grad, max(ga, 1e-4),
                                               1e-4, f"{name}.grad"))
            t_bufs = dict(t_mod.named_buffers())
            for name, b in e_mod.named_buffers():
                worst = max(worst, compare(b, t_bufs[name], 1e-6 if "running" in name else 0,
                                           1e-5, f"buffer {name}"))
        return worst

    cases = []  # (name, thunk)
    for expr, shapes in layers_t.LAYERS:
        for mode in ("train", "eval"):
            if mode == "train" and ("Dropout" in expr or "RReLU" in expr):
                continue  # random masks differ between libraries; eval is deterministic

            def arrays(rng, shapes=shapes):
                return [rng.uniform(-2, 2, s).astype(np.float32) for s in shapes]
            cases.append((f"{expr}-{mode}", lambda expr=expr, mode=mode, arrays=arrays:
                          check_module(lambda nn: eval(expr, {"nn": nn}), arrays, 1e-5, 1e-5,
                                       mode)))
    cases.append(("Embedding", lambda: check_module(
        lambda nn: nn.Embedding(10, 4), [np.random.default_rng(1).integers(0, 10, (3, 5))],
        1e-6, 1e-6)))
    cases.append(("Embedding-padding_idx", lambda: check_module(
        lambda nn: nn.Embedding(10, 4, padding_idx=0),
        [np.array([[0, 2, 0, 9], [1, 1, 3, 0]])], 1e-6, 1e-6)))
    for name, make, shape in conv_t.CONV_CASES + conv_t.POOL_CASES:
        cases.append((name, lambda make=make, shape=shape: check_module(
            make, lambda rng, shape=shape: [rng.standard_normal(shape).astype(np.float32)],
            3e-5, 1e-4)))
    for name, make, shape in norm_t.CASES:
        for mode, steps in (("train", 3), ("eval", 1)):
            cases.append((f"{name}-{mode}", lambda make=make, shape=shape, mode=mode,
                          steps=steps: check_module(
                make, lambda rng, shape=shape: [(rng.standard_normal(shape) * 2 + 0.5)
                                                .astype(np.float32)],
                3e-5, 1e-4, mode, steps, perturb=True)))
    for name, make, shape, hx, lstm in rnn_t.CASES + rnn_t.CELLS:
        def rnn_arrays(rng, shape=shape, hx=hx):
            xs = [rng.standard_normal(shape).astype(np.float32)]
            return xs + [rng.standard_normal(s).astype(np.float32) for s in (hx or [])]

        def rnn_make(nn, make=make, lstm=lstm, hx=hx):
            inner = make(nn)
            if hx is None:
                return inner
            wrap = _RnnWrapper(nn, inner, lstm)
            return wrap
        cases.append((name, lambda rnn_make=rnn_make, rnn_arrays=rnn_arrays: check_module(
            rnn_make, rnn_arrays, 2e-5, 1e-4, grad_atol=3e-5)))
    for name, make, kw in tr_t.MHA_CASES:
        for masks in ("none", "bool", "padding"):
            def mha_case(make=make, kw=kw, masks=masks):
                probe = make(torch.nn)
                e_dim, kdim, vdim, bf = probe.embed_dim, probe.kdim, probe.vdim, probe.batch_first
                n, lq, ls = 2, 3, 4

                def arrays(rng):
                    shp = (lambda L, d: (n, L, d) if bf else (L, n, d))
                    return [rng.standard_normal(shp(lq, e_dim)).astype(np.float32),
                            rng.standard_normal(shp(ls, kdim)).astype(np.float32),
                            rng.standard_normal(shp(ls, vdim)).astype(np.float32)]

                def kwargs(dev):
                    e_kw, t_kw = dict(kw), dict(kw)
                    rng = np.random.default_rng(3)
                    if masks == "bool":
                        m = rng.random((lq, ls)) < 0.3
                        m[:, 0] = False
                        e_kw["attn_mask"] = ember.tensor(m, device=dev)
                        t_kw["attn_mask"] = torch.tensor(m, device=dev)
                    if masks == "padding":
                        m = np.zeros((n, ls), dtype=bool)
                        m[0, -1] = m[1, -2:] = True
                        e_kw["key_padding_mask"] = ember.tensor(m, device=dev)
                        t_kw["key_padding_mask"] = torch.tensor(m, device=dev)
                    return e_kw, t_kw
                return check_module(make, arrays, 2e-5, 1e-4, kwargs=kwargs, grad_atol=5e-5)
            cases.append((f"MHA-{name}-{masks}", mha_case))
    for name, make in tr_t.ENC_CASES:
        for masked in (False, True):
            def enc_case(name=name, make=make, masked=masked):
                shape = (2, 5, 8) if "batch_first" in name else (5, 2, 8)

                def kwargs(dev):
                    if not masked:
                        return {}, {}
                    causal = np.triu(np.full((5, 5), -np.inf, dtype=np.float32), k=1)
                    key = "src_mask" if "stack" not in name else "mask"
                    return ({key: ember.tensor(causal, device=dev)},
                            {key: torch.tensor(causal, device=dev)})
                return check_module(make, lambda rng: [rng.standard_normal(shape)
                                                       .astype(np.float32)],
                                    3e-5, 1e-4, mode="eval", kwargs=kwargs, grad_atol=5e-5)
            cases.append((f"Encoder-{name}-{'masked' if masked else 'plain'}", enc_case))

    for name, thunk in cases:
        if time.time() > deadline:
            rec.add(name, "skip", reason="deadline")
            continue
        t0 = time.perf_counter()
        try:
            with time_limit(CASE_LIMIT_S):
                worst = thunk()
            rec.add(name, "pass", time_s=round(time.perf_counter() - t0, 3), max_err=worst)
        except _TorchFailed as tf:
            rec.add(name, "skip", reason="torch: " + describe(tf.err)["error"])
        except Exception as err:
            status = "fail" if isinstance(err, Mismatch) else (
                "timeout" if isinstance(err, CaseTimeout) else "error")
            rec.add(name, status, time_s=round(time.perf_counter() - t0, 3), **describe(err))


def _RnnWrapper(nn, inner, lstm):
    """A module calling an RNN with (input, hx) the way the rnn tests do: a tuple for LSTM."""

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = inner

        def forward(self, x, *hx):
            return self.rnn(x, tuple(hx) if lstm else hx[0])

    return Wrap()


# -- section: optimizers ---------------------------------------------------------------------------

def section_optim(rec: Recorder, dev: str, deadline: float, steps: int = 3):
    import torch

    import ember
    from tests.optim.test_optimizers import CONFIGS

    shapes = [(4, 3), (5,), (), (2, 3, 2)]
    for name, kwargs in CONFIGS + [("LBFGS", dict(lr=0.5)),
                                   ("LBFGS", dict(lr=1, line_search_fn="strong_wolfe"))]:
        label = f"{name}-" + "-".join(f"{k}={v}" for k, v in kwargs.items())
        if time.time() > deadline:
            rec.add(label, "skip", reason="deadline")
            continue
        t0 = time.perf_counter()
        try:
            with time_limit(CASE_LIMIT_S):
                rng = np.random.default_rng(0)
                arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
                noise = [[(0.3 * rng.standard_normal(s)).astype(np.float32) for s in shapes]
                         for _ in range(steps)]
                libs = {}
                for lib in (ember, torch):
                    ps = [lib.tensor(a.copy(), device=dev, requires_grad=True) for a in arrays]
                    libs[lib.__name__] = (lib, ps, getattr(lib.optim, name)(ps, **kwargs))
                worst = 0.0
                for k in range(steps):
                    for lib, ps, opt in libs.values():
                        if name == "LBFGS":
                            def closure(lib=lib, ps=ps, opt=opt):
                                opt.zero_grad()
                                loss = sum(((p - 1) ** 2).sum() + (p ** 4).sum() * 0.1
                                           for p in ps)
                                loss.backward()
                                return loss
                            opt.step(closure)
                            continue
                        for p, n in zip(ps, noise[k]):
                            cur = host(p)
                            g = (0.7 * cur + np.sin(3 * cur) + n).astype(np.float32)
                            p.grad = lib.tensor(g, device=dev)
                        opt.step()
                    e_ps, t_ps = libs["ember"][1], libs["torch"][1]
                    for j, (e, t) in enumerate(zip(e_ps, t_ps)):
                        worst = max(worst, compare(e, t, 2e-5, 2e-5, f"step {k} param {j}"))
                eo = libs["ember"][2]
                for st in eo.state.values():
                    for key, v in st.items():
                        if hasattr(v, "device") and v.numel() > 1 and v.device.type != dev[:4]:
                            raise Mismatch(f"state {key!r} lives on {v.device}")
            rec.add(label, "pass", time_s=round(time.perf_counter() - t0, 3), max_err=worst)
        except Exception as err:
            status = "fail" if isinstance(err, Mismatch) else (
                "timeout" if isinstance(err, CaseTimeout) else "error")
            rec.add(label, status, time_s=round(time.perf_counter() - t0, 3), **describe(err))


# -- section: the main job -------------------------------------------------------------------------

def section_train(rec: Recorder, dev: str, deadline: float):
    import tempfile

    for model in ("cnn", "mlp"):
        left = deadline - time.time()
        if left < 20:
            rec.add(f"ember train --model {model}", "skip", reason="deadline")
            continue
        out_dir = tempfile.mkdtemp()
        cmd = [sys.executable, "-m", "ember", "train", "--device", dev, "--epochs", "1",
               "--model", model, "--out-dir", os.path.join(out_dir, "run"), "--quiet"]
        root = os.environ.get("GPU_CHECK_TRAIN_ROOT", ROOT)  # another ember checkout
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   EMBER_DEBUG="1")
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=out_dir, env=env, capture_output=True, text=True,
                                  timeout=max(10, left - 5))
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-25:]
            rec.log(f"train {model} rc={proc.returncode}:\n" + "\n".join(tail))
            acc = re.findall(r"acc(?:uracy)?[^0-9]*([0-9.]+)%?", "\n".join(tail))
            rec.add(f"ember train --model {model}", "pass" if proc.returncode == 0 else "error",
                    time_s=round(time.perf_counter() - t0, 2), rc=proc.returncode,
                    command=" ".join(cmd[1:]), tail=tail[-12:], accuracy=acc[-1:] or None,
                    ember_root=root)
        except subprocess.TimeoutExpired as err:
            rec.add(f"ember train --model {model}", "timeout",
                    time_s=round(time.perf_counter() - t0, 2), error=str(err)[:300])


# -- section: speed --------------------------------------------------------------------------------

def _pool(lib, dev, shape, batch, count=8):
    rng = np.random.default_rng(0)
    return itertools.cycle([(lib.tensor(rng.standard_normal((batch, *shape)).astype(np.float32),
                                        device=dev),
                             lib.tensor(rng.integers(0, 10, batch), device=dev))
                            for _ in range(count)])


def bench_mlp(lib, dev, batch=512):
    """benchmarks/run.py's "mlp b512 sgd", on ``dev``."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10)).to(dev)
    data = _pool(lib, dev, (784,), batch)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        x, y = next(data)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def bench_cnn(lib, dev, batch=64):
    """benchmarks/run.py's "cnn b64", on ``dev``."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(),
                          nn.Linear(128, 10)).to(dev)
    data = _pool(lib, dev, (1, 28, 28), batch)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        x, y = next(data)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def bench_transformer(lib, dev):
    """benchmarks/run.py's "transformer b8 t32", on ``dev``."""
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0,
                                           batch_first=True)
    model = lib.nn.TransformerEncoder(layer, 2).to(dev)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    x = lib.tensor(np.random.default_rng(0).standard_normal((8, 32, 64)).astype(np.float32),
                   device=dev)

    def step():
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    return step


def bench_mlp_fwd_bwd(lib, dev, batch=512):
    """Diagnostic: the MLP's forward and backward with an MSE loss, no optimizer."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10)).to(dev)
    x = lib.tensor(np.random.default_rng(0).standard_normal((batch, 784)).astype(np.float32),
                   device=dev)
    target = lib.zeros(batch, 10, device=dev)

    def step():
        for p in model.parameters():
            p.grad = None
        ((model(x) - target) ** 2).mean().backward()
    return step


def bench_add(lib, dev, n=2 ** 20):
    """Diagnostic: one elementwise op (launch and allocation overhead per op)."""
    a, b = lib.ones(n, device=dev), lib.ones(n, device=dev)
    return lambda: a + b


def bench_matmul(lib, dev, n=4096):
    """Diagnostic: one float32 GEMM (cuBLAS through CuPy vs PyTorch; TF32 off in both)."""
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal((n, n)).astype(np.float32), device=dev)
    b = lib.tensor(rng.standard_normal((n, n)).astype(np.float32), device=dev)
    return lambda: a @ b


def bench_mlp_infer(lib, dev, batch=512):
    """Diagnostic: the MLP's forward alone, without autograd."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10)).to(dev)
    x = lib.tensor(np.random.default_rng(0).standard_normal((batch, 784)).astype(np.float32),
                   device=dev)

    def step():
        with lib.no_grad():
            model(x)
    return step


def bench_mlp_mse_sgd(lib, dev, batch=512):
    """Diagnostic: a whole MLP training step with an MSE loss and plain SGD."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10)).to(dev)
    x = lib.tensor(np.random.default_rng(0).standard_normal((batch, 784)).astype(np.float32),
                   device=dev)
    target = lib.zeros(batch, 10, device=dev)
    opt = lib.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        ((model(x) - target) ** 2).mean().backward()
        opt.step()
    return step


def preview_fixes() -> list:
    """Patch two known GPU bugs in memory (not in the code) so the diagnostics can time a
    training step: Clone's host copy (np.array) and _blas's NumPy-only fused kernels."""
    from ember import _blas
    from ember._ops.shape import views as movement

    done = []
    orig_clone = movement.Clone.forward

    def clone_forward(ctx, x, order="K"):
        return x.copy(order=order) if type(x) is not np.ndarray else orig_clone(ctx, x, order)
    movement.Clone.forward = staticmethod(clone_forward)
    done.append("Clone.forward: x.copy() for device arrays")
    orig_fits = _blas._fits

    def fits(x, y):
        return orig_fits(x, y) if type(x) is type(y) is np.ndarray else None
    _blas._fits = fits
    done.append("_blas._fits: None for device arrays")
    return done


SPEED = {"mlp b512 sgd": bench_mlp, "cnn b64": bench_cnn, "transformer b8 t32": bench_transformer,
         "diag: mlp b512 fwd+bwd mse": bench_mlp_fwd_bwd, "diag: a + b (1M fp32)": bench_add,
         "diag: matmul 4096 fp32": bench_matmul, "diag: mlp b512 inference": bench_mlp_infer,
         "diag: mlp b512 mse+sgd step": bench_mlp_mse_sgd}


def section_speed_preview(rec: Recorder, dev: str, deadline: float):
    """The diagnostics again with ``preview_fixes`` applied (names end in "(preview)")."""
    rec.add("preview patches", "info", patches=preview_fixes())
    names = ["diag: mlp b512 fwd+bwd mse", "diag: mlp b512 mse+sgd step", "mlp b512 sgd",
             "cnn b64", "transformer b8 t32"]
    section_speed(rec, dev, deadline, only=names, suffix=" (preview)")


def section_speed(rec: Recorder, dev: str, deadline: float, rounds: int = 5, only=None,
                  suffix: str = ""):
    import cProfile
    import io
    import pstats

    import torch

    import ember

    set_oracle_precision(torch)
    e_sync, t_sync = synchronizer(dev)
    todo = {k: v for k, v in SPEED.items() if only is None or k in only}
    per_workload = max(8.0, (deadline - time.time()) / len(todo))
    for base_name, build in todo.items():
        name = base_name + suffix
        if time.time() > deadline:
            rec.add(name, "skip", reason="deadline")
            continue
        t_end = min(deadline, time.time() + per_workload)
        steps, first, errors = {}, {}, {}
        for lib, sync in ((ember, e_sync), (torch, t_sync)):
            try:
                with time_limit(CASE_LIMIT_S):
                    step = build(lib, dev)
                    t0 = time.perf_counter()
                    step()
                    sync()
                    first[lib.__name__] = time.perf_counter() - t0
                    for _ in range(3):
                        step()
                    sync()
                    t0 = time.perf_counter()
                    step()
                    sync()
                    steps[lib.__name__] = (step, sync, max(time.perf_counter() - t0, 1e-6))
            except Exception as err:
                errors[lib.__name__] = describe(err)
        if not steps:
            rec.add(name, "error", **errors.get("ember", {}), torch_error=errors.get("torch"))
            continue
        try:
            # rounds of about 0.3 s, alternating: machine noise hits both alike
            times = {k: [] for k in steps}
            host_only = []
            for _ in range(rounds):
                for lib_name, (step, sync, one) in steps.items():
                    n = max(1, min(500, int(0.3 / one)))
                    sync()
                    t0 = time.perf_counter()
                    for _ in range(n):
                        step()
                    t_host = time.perf_counter() - t0
                    sync()
                    times[lib_name].append((time.perf_counter() - t0) / n)
                    if lib_name == "ember":
                        host_only.append(t_host / n)
                if time.time() > t_end:
                    break
            med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
            info = {"ember_ms": med.get("ember"), "torch_ms": med.get("torch"),
                    "first_step_ms": {k: v * 1e3 for k, v in first.items()},
                    "rounds_ms": {k: [x * 1e3 for x in v] for k, v in times.items()}}
            if "ember" in med and "torch" in med:
                info["ratio"] = med["ember"] / med["torch"]
            if host_only:
                info["ember_host_ms"] = statistics.median(host_only) * 1e3
            if "ember" in steps:  # where ember's time goes: Python time per function
                prof = cProfile.Profile()
                prof.enable()
                for _ in range(3):
                    steps["ember"][0]()
                e_sync()
                prof.disable()
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(14)
                info["profile_top"] = [ln for ln in buf.getvalue().splitlines()
                                       if re.match(r"\s+\d", ln)][:14]
            if "ember" in errors:
                info.update({"ember_" + k: v for k, v in errors["ember"].items()})
            rec.add(name, "pass" if "ember" in steps else "error", **info)
            rec.log(f"{name}: " + ", ".join(f"{k} {v:.3f} ms" for k, v in med.items()))
        except Exception as err:
            rec.add(name, "error", **describe(err))


# -- the driver ------------------------------------------------------------------------------------

def environment(dev: str) -> dict:
    info = {"python": platform.python_version(), "numpy": np.__version__, "device": dev,
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    info["ember_commit"] = os.environ.get("EMBER_COMMIT")
    if not info["ember_commit"]:
        try:
            info["ember_commit"] = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                text=True).stdout.strip() or "unknown"
        except OSError:
            info["ember_commit"] = "unknown"
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_cuda"] = torch.version.cuda
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        info["torch"] = None
    try:
        import cupy

        info["cupy"] = cupy.__version__
        info["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        info["driver"] = cupy.cuda.runtime.driverGetVersion()
    except Exception as err:
        info["cupy"] = f"unavailable ({type(err).__name__})"
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,"
                              "clocks.sm,temperature.gpu,utilization.gpu", "--format=csv"],
                             capture_output=True, text=True, timeout=20)
        info["nvidia_smi"] = smi.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return info


def usable(dev: str) -> str | None:
    """None when the checks can run on ``dev``, else the reason they cannot."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return "PyTorch (the oracle) is not installed"
    if dev.startswith("cuda"):
        try:
            import cupy
        except ImportError:
            return "CuPy is not installed"
        try:
            if cupy.cuda.runtime.getDeviceCount() < 1:
                return "no GPU"
        except Exception as err:
            return f"no usable GPU ({type(err).__name__}: {err})"
        import torch

        if not torch.cuda.is_available():
            return "this PyTorch build sees no GPU (a CUDA build of torch is the oracle)"
    return None


def drive(args) -> int:
    os.makedirs(args.out, exist_ok=True)
    reason = usable(args.device)
    if reason:
        print(f"gpu_check: skipped on device '{args.device}': {reason}")
        return 0
    start = time.time()
    end = start + args.budget
    timed = {"speed", "preview"} & set(args.sections)
    speed_s = min(args.speed_budget, args.budget / 2) if timed else 0
    checks_end = end - speed_s - 10
    rec = Recorder(args.out, "env")
    env_info = environment(args.device)
    rec.add("environment", "info", **env_info)
    print(json.dumps(env_info, indent=1), flush=True)
    base = [sys.executable, os.path.abspath(__file__), "--out", args.out, "--device",
            args.device, "--only-ops", args.only_ops]
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = []
    log = open(os.path.join(args.out, "log.txt"), "a")

    def launch(section, deadline, shard=0):
        cmd = base + ["--worker", section, "--deadline", str(deadline), "--shard", str(shard),
                      "--shards", str(args.shards)]
        procs.append((section, shard, subprocess.Popen(cmd, stdout=log, stderr=log, env=env,
                                                       cwd=ROOT)))

    for section in ("api", "train", "nn", "optim"):
        if section in args.sections:
            launch(section, checks_end)
    if "ops" in args.sections:
        for shard in range(args.shards):
            launch("ops", checks_end, shard)
    _wait(procs, checks_end + 15)
    print(f"checks done after {time.time() - start:.0f} s", flush=True)
    if "speed" in args.sections:
        procs.clear()
        share = 0.6 if "preview" in args.sections else 1.0
        speed_end = min(end - 5, time.time() + speed_s * share)
        launch("speed", speed_end)
        _wait(procs, speed_end + 20)
    if "preview" in args.sections:  # in its own process: the patches stay out of the rest
        procs.clear()
        preview_end = max(time.time() + 20, end - 5)
        launch("preview", preview_end)
        _wait(procs, preview_end + 20)
    log.close()
    summary = summarize(args.out)
    print(summary[-6000:])
    print(f"gpu_check: {time.time() - start:.0f} s in all; results in {args.out}")
    return 0


def _wait(procs, until):
    for section, shard, p in procs:
        try:
            p.wait(timeout=max(1, until - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            print(f"killed {section} shard {shard} at its deadline", flush=True)
        if p.returncode:
            print(f"worker {section}/{shard} exited with {p.returncode}", flush=True)


# -- the summary -----------------------------------------------------------------------------------

def _cause(rec: dict) -> str:
    """A failure's cause with the case-specific numbers taken out, to group failures."""
    text = rec.get("error") or rec.get("reason") or ""
    text = re.sub(r"max \|diff\| [^;]*;.*", "values differ beyond tolerance", text)
    text = re.sub(r"\(\d+(, \d+)*,?\)", "(shape)", text)
    text = re.sub(r"0x[0-9a-f]+", "0x..", text)
    text = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "N", text)
    where = rec.get("where", "")
    where = re.sub(r":\d+ ", " ", where)
    return f"{text[:160]}" + (f"  [{where}]" if where else "")


def summarize(out: str) -> str:
    path = os.path.join(out, "results.jsonl")
    recs = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                with contextlib.suppress(json.JSONDecodeError):
                    recs.append(json.loads(line))
    env = next((r for r in recs if r["section"] == "env"), {})
    lines = ["# ember on a GPU against PyTorch on the same GPU", ""]
    lines.append(f"Run {env.get('date', '?')} by `benchmarks/gpu_check.py` on "
                 f"**{env.get('gpu', env.get('device', '?'))}**; ember {env.get('ember_commit')}, "
                 f"torch {env.get('torch')} (CUDA {env.get('torch_cuda')}), CuPy "
                 f"{env.get('cupy')}, NumPy {env.get('numpy')}, Python {env.get('python')}.")
    lines.append("")
    sections = ["api", "ops", "nn", "optim", "train", "speed", "preview"]
    lines.append("| section | pass | fail | error | timeout | skip |")
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for s in sections:
        rs = [r for r in recs if r["section"] == s]
        c = {k: sum(r["status"] == k for r in rs) for k in
             ("pass", "fail", "error", "timeout", "skip")}
        lines.append(f"| {s} | {c['pass']} | {c['fail']} | {c['error']} | {c['timeout']} | "
                     f"{c['skip']} |")
    ops = [r for r in recs if r["section"] == "ops"]
    if ops:
        by_op = {}
        for r in ops:
            op = re.sub(r"-\d+(-fwd-float\d+|-grad)?$", "", r["name"])
            by_op.setdefault(op, []).append(r["status"])
        n_pass = sum(all(s == "pass" for s in v) for v in by_op.values())
        n_bad = sum(any(s in ("fail", "error", "timeout") for s in v) for v in by_op.values())
        lines += ["", f"Op table: {len(by_op)} ops seen; {n_pass} pass every case, {n_bad} have "
                  "a failing case (the rest only skips: torch cannot run them on this device, "
                  "or the deadline)."]
    speed = [r for r in recs if r["section"] in ("speed", "preview") and ("torch_ms" in r or
                                                              "ember_ms" in r)]
    if speed:
        def ms(v):
            return f"{v:.3f}" if isinstance(v, (int, float)) else "—"
        lines += ["", "## Speed (per step, median of alternating rounds)", "",
                  "| workload | ember ms | torch ms | ratio | ember host-side ms | first step "
                  "ember / torch ms | ember error |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in speed:
            fs = r.get("first_step_ms", {})
            lines.append(f"| {r['name']} | {ms(r.get('ember_ms'))} | {ms(r.get('torch_ms'))} | "
                         f"{ms(r.get('ratio'))} | {ms(r.get('ember_host_ms'))} | "
                         f"{ms(fs.get('ember'))} / {ms(fs.get('torch'))} | "
                         f"{r.get('ember_error', '')[:90]} {r.get('ember_where', '')} |")
        for r in speed:
            if not r.get("profile_top"):
                continue
            lines += ["", f"Profile of 3 ember steps, {r['name']} (tottime order):", "```"]
            lines += r.get("profile_top", [])
            lines.append("```")
    for s in sections:
        bad = [r for r in recs if r["section"] == s and r["status"] in ("fail", "error",
                                                                          "timeout")]
        if not bad:
            continue
        lines += ["", f"## {s}: failures grouped by cause", ""]
        groups = {}
        for r in bad:
            groups.setdefault(_cause(r), []).append(r)
        for cause, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            names = sorted({r["name"] for r in rs})
            lines.append(f"- **{len(rs)}x** `{cause}`")
            lines.append(f"  - example: {rs[0].get('error', '')[:300]}")
            if rs[0].get("chain"):
                lines.append(f"  - ember frames, innermost first: {rs[0]['chain']}")
            lines.append(f"  - cases: {', '.join(names[:40])}"
                         + (f" … (+{len(names) - 40})" if len(names) > 40 else ""))
    skips = [r for r in recs if r["status"] == "skip"]
    if skips:
        lines += ["", "## Skipped", ""]
        groups = {}
        for r in skips:
            groups.setdefault(f"{r['section']}: {_cause(r)}", []).append(r["name"])
        for cause, names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"- {len(names)}x {cause}: {', '.join(sorted(names)[:15])}"
                         + (" …" if len(names) > 15 else ""))
    others = [r for r in recs if r["section"] in ("api", "train") and r["status"] == "pass"]
    if others:
        lines += ["", "## api and train: passing checks", ""]
        for r in others:
            extra = {k: v for k, v in r.items() if k not in ("section", "name", "status")}
            lines.append(f"- {r['section']} {r['name']}: {json.dumps(extra, default=str)[:400]}")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(recs, f, indent=1, default=str)
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT", "gpu-check-out"),
                   help="folder for results.jsonl, log.txt, summary.md (default: $OUT)")
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu (smoke run)")
    p.add_argument("--budget", type=float, default=400, help="seconds for the whole run")
    p.add_argument("--speed-budget", type=float, default=110, help="seconds for speed")
    p.add_argument("--sections", default="api,ops,nn,optim,train,speed",
                   help="comma-separated; 'preview' adds the speed diagnostics with two known "
                        "GPU bugs patched in memory")
    p.add_argument("--shards", type=int, default=max(1, min(10, (os.cpu_count() or 2) - 5)),
                   help="processes sharing the op table")
    p.add_argument("--only-ops", default="", help="op-table entries whose name contains this")
    p.add_argument("--summarize", metavar="DIR", help="only rebuild DIR/summary.md")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    p.add_argument("--shard", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.summarize:
        print(summarize(args.summarize))
        return 0
    if not args.worker:
        args.sections = args.sections.split(",")
        return drive(args)
    rec = Recorder(args.out, args.worker)
    rec.log(f"start (shard {args.shard}/{args.shards})")
    try:
        if args.worker == "ops":
            section_ops(rec, args.device, args.deadline, args.shard, args.shards, args.only_ops)
        else:
            {"api": section_api, "nn": section_nn, "optim": section_optim,
             "train": section_train, "speed": section_speed,
             "preview": section_speed_preview}[args.worker](
                rec, args.device, args.deadline)
    except Exception as err:  # a section that cannot start is itself a result
        rec.add(f"{args.worker} section", "error", **describe(err))
        rec.log(traceback.format_exc())
    rec.log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
