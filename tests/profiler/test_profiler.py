"""ember.profiler / ember.autograd.profiler against torch.profiler: event names and counts,
table layout, nesting and self times, schedule and step semantics, Chrome traces, and that the
hooks exist only while recording (and chain with graph capture)."""

import gzip
import json
import warnings

import numpy as np
import pytest

import ember
from ember._ops import _core
from ember.autograd import graph
from ember.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule


def _model(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.ReLU())


def _train_step(lib, prof_mod, calls=3):
    """The tutorial snippet plus a backward and an AdamW step, under ``lib``'s profiler."""
    model = _model(lib)
    opt = lib.optim.AdamW(model.parameters())
    x = lib.ones(2, 4)
    with prof_mod.profile(activities=[prof_mod.ProfilerActivity.CPU],
                          record_shapes=True) as prof:
        with prof_mod.record_function("model_inference"):
            for _ in range(calls):
                y = model(x)
        y.sum().backward()
        opt.step()
    return prof


def _counts(prof):
    return {e.key: e.count for e in prof.key_averages()}


def _quiet_torch_profile(torch):
    warnings.filterwarnings("ignore", message=".*Profiler clears events.*")
    return torch.profiler


# -- events ----------------------------------------------------------------------------------

def test_tutorial_snippet_counts_match_torch(torch):
    ours = _counts(_train_step(ember, ember.profiler))
    theirs = _counts(_train_step(torch, _quiet_torch_profile(torch)))
    names = ["model_inference", "aten::linear", "aten::relu", "AddmmBackward0",
             "ReluBackward0", "SumBackward0", "Optimizer.step#AdamW.step"]
    for name in names:
        assert name in ours, name
        assert ours[name] == theirs[name], name
    assert ours["aten::linear"] == 3


def test_table_layout_matches_torch(torch):
    ours = _train_step(ember, ember.profiler)
    theirs = _train_step(torch, _quiet_torch_profile(torch))
    for shapes in (False, True):
        a = ours.key_averages(group_by_input_shape=shapes).table(sort_by="cpu_time_total",
                                                                 row_limit=5)
        b = theirs.key_averages(group_by_input_shape=shapes).table(sort_by="cpu_time_total",
                                                                   row_limit=5)
        a_lines, b_lines = a.splitlines(), b.splitlines()
        assert [c.strip() for c in a_lines[1].split("  ") if c.strip()][1:] == \
            [c.strip() for c in b_lines[1].split("  ") if c.strip()][1:]
        assert ("Input Shapes" in a_lines[1]) is shapes
        assert len(a_lines) == len(b_lines) == 5 + 5  # 3 rules, header, 5 rows, footer
        assert a_lines[-1].startswith("Self CPU time total: ")
        assert a_lines[0] == a_lines[2] == a_lines[-2]
        # column widths after the name column agree with torch's
        assert a_lines[0].split("  ")[1:7] == b_lines[0].split("  ")[1:7]


def test_input_shapes_match_torch(torch):
    def shapes(prof):
        return {e.key: e.input_shapes for e in prof.key_averages(group_by_input_shape=True)}

    ours = shapes(_train_step(ember, ember.profiler))
    theirs = shapes(_train_step(torch, _quiet_torch_profile(torch)))
    for name in ("aten::linear", "aten::relu", "model_inference"):
        assert ours[name] == theirs[name], name


def test_times_nonnegative_and_self_within_total():
    prof = _train_step(ember, ember.profiler)
    events = prof.events()
    assert len(events) > 0
    for e in events:
        assert e.cpu_time_total >= 0
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total + 1e-9
        assert sum(c.cpu_time_total for c in e.cpu_children) <= e.cpu_time_total + 1e-9
    for e in prof.key_averages():
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total + 1e-9
        assert e.cpu_time == pytest.approx(e.cpu_time_total / e.count)
    total = prof.key_averages().self_cpu_time_total
    assert total == pytest.approx(sum(e.self_cpu_time_total for e in events))
    assert prof.profiler.self_cpu_time_total == pytest.approx(total)


def test_record_function_nesting_and_decorator():
    @record_function("decorated")
    def work(t):
        return t.exp()

    x = ember.ones(3)
    with profile() as prof:
        with record_function("outer"):
            with record_function("inner"):
                y = x.relu()
            work(y)
    by_name = {e.name: e for e in prof.events()}
    outer, inner = by_name["outer"], by_name["inner"]
    assert outer.cpu_parent is None
    assert inner.cpu_parent is outer
    assert by_name["aten::relu"].cpu_parent is inner
    assert by_name["decorated"].cpu_parent is outer
    assert by_name["aten::exp"].cpu_parent is by_name["decorated"]
    assert outer.self_cpu_time_total == pytest.approx(
        outer.cpu_time_total - inner.cpu_time_total - by_name["decorated"].cpu_time_total)
    top = prof.key_averages().table(top_level_events_only=True)
    assert "outer" in top and "aten::relu" not in top


def test_record_function_outside_profile_and_bad_name():
    with record_function("nothing") as r:  # no profiler: a no-op
        assert r.name == "nothing" and r.args is None
    with pytest.raises(RuntimeError, match="Expected a value of type 'str'"):
        with record_function(123):
            pass


def test_nested_ops_are_children():
    # an op whose forward applies other ops: the inner ones are its children
    x = ember.randn(3, 4, requires_grad=True)
    with profile() as prof:
        ember.nn.functional.cross_entropy(x, ember.tensor([0, 1, 2]))
    events = prof.events()
    assert any(e.cpu_children for e in events) or len(events) == 1
    for e in events:
        for c in e.cpu_children:
            assert e.time_range.start <= c.time_range.start <= c.time_range.end \
                <= e.time_range.end


def test_unmapped_ops_are_named_ember():
    from ember.profiler._names import op_name

    class Mystery(_core.Op):
        @staticmethod
        def forward(ctx, a):
            return a

    assert op_name(Mystery) == "ember::Mystery"
    with profile() as prof:
        Mystery.apply(ember.ones(2))
    assert [e.name for e in prof.events()] == ["ember::Mystery"]


def test_with_stack_records_caller_frames():
    with profile(with_stack=True) as prof:
        ember.ones(2).exp()
    (event,) = prof.events()
    assert event.stack and "test_profiler.py" in event.stack[0]
    assert "test_with_stack_records_caller_frames" in event.stack[0]
    table = prof.key_averages(group_by_stack_n=2).table()
    assert "Source Location" in table


# -- schedule and steps ----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    dict(wait=1, warmup=1, active=2),
    dict(wait=1, warmup=1, active=2, repeat=2),
    dict(wait=0, warmup=2, active=1, repeat=1, skip_first=3),
    dict(wait=2, warmup=1, active=3, repeat=0, skip_first=1, skip_first_wait=1),
])
def test_schedule_matches_torch(torch, kwargs):
    ours, theirs = schedule(**kwargs), torch.profiler.schedule(**kwargs)
    assert [ours(i).name for i in range(20)] == [theirs(i).name for i in range(20)]


def test_schedule_errors_and_warning(torch):
    with pytest.raises(AssertionError, match="Invalid profiler schedule arguments"):
        schedule(wait=1, warmup=1, active=0)
    with pytest.raises(AssertionError, match="Invalid profiler schedule arguments"):
        schedule(wait=-1, warmup=1, active=1)
    with pytest.warns(UserWarning, match="won't be using warmup"):
        schedule(wait=1, warmup=0, active=1)
    with pytest.raises(AssertionError, match="Step must be non-negative"):
        schedule(wait=1, warmup=1, active=1)(-1)
    with pytest.raises(ValueError, match="DEVICE_STOPPED"):
        profile(schedule=lambda step: ProfilerAction.DEVICE_STOPPED)
    assert [a.name for a in ProfilerAction] == list(torch.profiler.ProfilerAction.__members__)


def _stepped_run(lib, prof_mod, steps=9):
    """A loop with ``step()``: which steps each trace covers and when it was handed over."""
    traces = []

    def ready(prof):
        keys = {e.key: e.count for e in prof.key_averages()}
        steps = sorted(e.trace_name for e in prof.events() if e.name == "ProfilerStep*")
        traces.append((prof.step_num, steps, keys["ProfilerStep*"], keys["aten::exp"]))

    x = lib.ones(2)
    sched = prof_mod.schedule(wait=1, warmup=1, active=2, repeat=2)
    with prof_mod.profile(schedule=sched, on_trace_ready=ready) as prof:
        for _ in range(steps):
            x.exp()
            prof.step()
    return traces


def test_steps_and_on_trace_ready_match_torch(torch):
    ours = _stepped_run(ember, ember.profiler)
    theirs = _stepped_run(torch, _quiet_torch_profile(torch))
    assert ours == theirs
    assert len(ours) == 2 and ours[0][1] == ["ProfilerStep#2", "ProfilerStep#3"]
    assert ours[1][:2] == (8, ["ProfilerStep#6", "ProfilerStep#7"])


def test_stop_mid_cycle_hands_over_trace():
    seen = []
    with profile(schedule=schedule(wait=0, warmup=1, active=3),
                 on_trace_ready=lambda p: seen.append(p.step_num)) as prof:
        prof.step()
        prof.step()  # recording (RECORD) when the block ends
    assert seen == [2]


def test_acc_events_keeps_cycles():
    x = ember.ones(2)
    with profile(schedule=schedule(wait=0, warmup=1, active=1, repeat=2),
                 acc_events=True) as prof:
        for _ in range(4):
            x.exp()
            prof.step()
    assert {e.key: e.count for e in prof.key_averages()}["aten::exp"] == 2


# -- exports ---------------------------------------------------------------------------------

def _check_trace(doc):
    events = doc["traceEvents"]
    assert events and all(e["ph"] == "X" for e in events)
    for e in events:
        assert {"name", "ph", "ts", "dur", "pid", "tid"} <= set(e)
        assert e["dur"] >= 0
    # nesting is consistent: any two ranges on one thread are disjoint or one holds the other
    for a in events:
        for b in events:
            if a is b or a["tid"] != b["tid"]:
                continue
            a0, a1, b0, b1 = a["ts"], a["ts"] + a["dur"], b["ts"], b["ts"] + b["dur"]
            assert a1 <= b0 or b1 <= a0 or (a0 <= b0 and b1 <= a1) or (b0 <= a0 and a1 <= b1)
    return events


def test_chrome_trace_is_valid_json(tmp_path):
    prof = _train_step(ember, ember.profiler)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    events = _check_trace(json.loads(path.read_text()))
    names = [e["name"] for e in events]
    assert names.count("aten::linear") == 3 and "model_inference" in names
    outer = next(e for e in events if e["name"] == "model_inference")
    for e in events:
        if e["name"] == "aten::relu":
            assert outer["ts"] <= e["ts"] and e["ts"] + e["dur"] <= outer["ts"] + outer["dur"]
    gz = tmp_path / "trace.json.gz"
    prof.export_chrome_trace(str(gz))
    with gzip.open(gz, "rt") as f:
        assert len(_check_trace(json.load(f))) == len(events)


def test_tensorboard_trace_handler(tmp_path):
    for gzip_it in (False, True):
        out = tmp_path / ("gz" if gzip_it else "plain")
        handler = ember.profiler.tensorboard_trace_handler(str(out), worker_name="w0",
                                                           use_gzip=gzip_it)
        with profile(on_trace_ready=handler):
            ember.ones(2).exp()
        (f,) = out.iterdir()
        assert f.name.startswith("w0.")
        assert f.name.endswith(".pt.trace.json.gz" if gzip_it else ".pt.trace.json")
        text = gzip.open(f, "rt").read() if gzip_it else f.read_text()
        assert [e["name"] for e in json.loads(text)["traceEvents"]] == ["aten::exp"]


# -- the hooks exist only while recording ----------------------------------------------------

def _hooks_are_plain():
    from ember.optim import optimizer

    return (_core.Op.__dict__["apply"] is _core._PLAIN_APPLY
            and graph.AccumulateGrad.__dict__["accumulate"] is _plain_accumulate
            and graph._call_node is _plain_call_node
            and not optimizer._global_pre_hooks and not optimizer._global_post_hooks)


_plain_accumulate = graph.AccumulateGrad.__dict__["accumulate"]
_plain_call_node = graph._call_node


def test_zero_cost_when_off_and_after_errors():
    assert _hooks_are_plain()
    prof = profile()
    prof.start()
    assert _core.Op.__dict__["apply"] is not _core._PLAIN_APPLY
    assert ember.profiler.is_recording()
    prof.stop()
    assert _hooks_are_plain() and not ember.profiler.is_recording()
    with pytest.raises(ValueError, match="boom"):
        with profile():
            with record_function("failing"):
                ember.ones(2).exp()
                raise ValueError("boom")
    assert _hooks_are_plain()
    # two profiles at once: both record, and the hooks go only when the last one stops
    with profile() as a:
        with profile() as b:
            ember.ones(2).exp()
        assert not _hooks_are_plain()
        ember.ones(2).exp()
    assert _hooks_are_plain()
    assert _counts(a)["aten::exp"] == 2 and _counts(b)["aten::exp"] == 1


def test_profile_chains_with_capture():
    model = _model(ember)
    x = ember.randn(2, 4)

    def targets(g):
        return [(n.op, str(n.target)) for n in g.nodes]

    plain = targets(ember.fx.capture(model, x))
    with profile() as prof:  # a capture inside a profile
        inside = targets(ember.fx.capture(model, x))
        assert not _hooks_are_plain()
    assert inside == plain and _counts(prof)["aten::linear"] == 1
    assert _hooks_are_plain()

    def profiled(t):  # a profile inside a capture
        with profile() as p:
            out = model(t)
        profiled.prof = p
        return out

    assert targets(ember.fx.capture(profiled, x)) == \
        targets(ember.fx.capture(lambda t: model(t), x))
    assert _counts(profiled.prof) == {"aten::linear": 1, "aten::relu": 1}
    assert _core.Op.__dict__["apply"] is _core._PLAIN_APPLY


def test_profile_around_compiled_model():
    model = _model(ember)
    compiled = ember.compile(model)
    x = ember.randn(2, 4)
    with profile() as prof:
        out = compiled(x)
    np.testing.assert_allclose(out.detach().numpy(), model(x).detach().numpy(), rtol=1e-6)
    assert "aten::linear" in _counts(prof)
    assert _hooks_are_plain()


# -- API details -----------------------------------------------------------------------------

def test_errors_match_torch(torch):
    for lib in (ember, torch):
        with pytest.raises(AssertionError, match="No valid profiler activities found"):
            lib.profiler.profile(activities=[])
        fresh = lib.profiler.profile()
        with pytest.raises(AssertionError, match="initialized before getting key averages"):
            fresh.key_averages()
        with pytest.raises(AssertionError, match="initialized before accessing events"):
            fresh.events()
    assert [a.name for a in ProfilerActivity] == \
        list(torch.profiler.ProfilerActivity.__members__)
    assert ProfilerActivity.CPU in ember.profiler.supported_activities()


def test_cuda_activity_without_gpu_warns(torch):
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.warns(UserWarning, match="CUDA is not available, disabling CUDA profiling"):
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]):
            ember.ones(2).exp()
    with pytest.warns(UserWarning, match="CUDA is not available"):
        with pytest.raises(AssertionError, match="No activities specified"):
            profile(activities=[ProfilerActivity.CUDA]).start()
    assert _hooks_are_plain()


def test_legacy_autograd_profiler(torch):
    from ember.autograd import profiler as legacy

    x = ember.randn(3, 3, requires_grad=True)
    with pytest.warns(FutureWarning, match="use_cuda"):
        legacy.profile(use_cuda=True)
    if not ember.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            legacy.profile(use_cuda=True)
    with legacy.profile(record_shapes=True) as prof:
        with legacy.record_function("block"):
            x.relu().sum().backward()
    counts = {e.key: e.count for e in prof.key_averages()}
    assert counts["block"] == 1 and counts["aten::relu"] == 1 and counts["ReluBackward0"] == 1
    assert "Self CPU time total:" in prof.table()
    assert prof.total_average().key == "Total"
    assert isinstance(prof.function_events, legacy.EventList)
    with legacy.profile(enabled=False) as off:
        x.exp()
    assert off is None and _hooks_are_plain()
    with pytest.raises(RuntimeError, match="not reentrant"):
        with prof:
            pass


# -- profile_memory ---------------------------------------------------------------------------

def _memory_program(lib):
    x = lib.ones(100, 100)
    y = x + 1
    z = (y @ y).relu()
    z.view(-1)
    z.t()
    lib.cat([z, z])
    return z


def _top_level_memory(events):
    return {e.name: e.cpu_memory_usage for e in events
            if e.cpu_parent is None and not e.name.startswith("[")}


def test_profile_memory_top_level_ops_match_torch(torch):
    from torch.profiler import profile as torch_profile

    with ember.profiler.profile(profile_memory=True) as prof:
        _memory_program(ember)
    with torch_profile(profile_memory=True) as tprof:
        _memory_program(torch)
    got = _top_level_memory(prof.events())
    expected = _top_level_memory(tprof.events())
    assert got == {k: v for k, v in expected.items() if k in got}
    assert got["aten::add"] == got["aten::cat"] // 2 == 40000 and got["aten::view"] == 0


def test_profile_memory_table_columns_and_sort(torch):
    from torch.profiler import profile as torch_profile

    tables = []
    for lib, prof_cls in ((ember, ember.profiler.profile), (torch, torch_profile)):
        with prof_cls(profile_memory=True) as prof:
            _memory_program(lib)
        tables.append(prof.key_averages().table(sort_by="self_cpu_memory_usage"))
    header = [line for line in tables[0].splitlines() if "Name" in line][0]
    t_header = [line for line in tables[1].splitlines() if "Name" in line][0]
    assert header.split("  ")[-4:] == t_header.split("  ")[-4:]
    assert [h.strip() for h in header.split("  ") if h.strip()] == [
        h.strip() for h in t_header.split("  ") if h.strip()]
    rows = [line for line in tables[0].splitlines() if line.strip().startswith("aten::")]
    assert rows[0].split()[0] == "aten::cat" and "78.12 KB" in rows[0]
    units = {"B": 1, "KB": 1024, "MB": 1024 ** 2}
    sizes = [float(r.split()[-3]) * units[r.split()[-2]] for r in rows]  # "Self CPU Mem"
    assert sizes == sorted(sizes, reverse=True)


def test_no_memory_columns_without_profile_memory():
    with ember.profiler.profile() as prof:
        _memory_program(ember)
    table = prof.key_averages().table()
    assert "CPU Mem" not in table
    assert all(e.cpu_memory_usage == 0 for e in prof.events())


def test_profile_memory_in_a_range_is_the_childrens():
    x = ember.ones(10, 10)
    with ember.profiler.profile(profile_memory=True) as prof:
        with ember.profiler.record_function("block"):
            (x * 2).exp_()  # the in-place exp_ allocates nothing
    block = [e for e in prof.events() if e.name == "block"][0]
    assert (block.cpu_memory_usage, block.self_cpu_memory_usage) == (400, 0)
    avg = [e for e in prof.key_averages() if e.key == "block"][0]
    assert (avg.cpu_memory_usage, avg.self_cpu_memory_usage) == (400, 0)
