"""ember.utils.benchmark against torch.utils.benchmark: the same fake clock gives the same
measurements, and the same measurements print the same reprs and Compare tables. No test reads
the wall clock."""

import pickle
import re

import pytest

import ember
from ember.utils import benchmark


class FakeClock:
    """A clock that only moves when the timed statement calls ``tick``: each run costs the
    next entry of ``costs`` (cycled), so every block's time is known in advance."""

    def __init__(self, costs):
        self.costs, self.i, self.now = costs, 0, 0.0

    def tick(self):
        self.now += self.costs[self.i % len(self.costs)]
        self.i += 1

    def __call__(self):
        return self.now


COSTS = [1.0e-6, 1.3e-6, 0.8e-6, 2.9e-6, 1.1e-6, 1.0e-6, 0.7e-6]


def _timers(torch, **kwargs):
    tb = pytest.importorskip("torch.utils.benchmark")
    out = []
    for mod in (benchmark, tb):
        clock = FakeClock(COSTS)
        out.append(mod.Timer("clock.tick()", timer=clock, globals={"clock": clock}, **kwargs))
    return out


def _same(m, t):
    assert m.number_per_run == t.number_per_run
    assert m.raw_times == pytest.approx(t.raw_times, rel=1e-12)
    assert (m.median, m.mean, m.iqr) == pytest.approx((t.median, t.mean, t.iqr), rel=1e-9)
    assert m.significant_figures == t.significant_figures
    assert m.has_warnings == t.has_warnings
    assert _repr(m) == _repr(t)


def _repr(m):
    return re.sub(r"<\S+ object at 0x[0-9a-f]+>", "<Measurement>", repr(m))


def test_timeit_matches_torch(torch):
    e, t = _timers(torch, label="tick", sub_label="fake", description="n=1")
    _same(e.timeit(1000), t.timeit(1000))
    _same(e.timeit(7), t.timeit(7))


def test_blocked_autorange_matches_torch(torch):
    e, t = _timers(torch)
    calls = [], []
    m = e.blocked_autorange(callback=lambda n, s: calls[0].append(n), min_run_time=0.02)
    tm = t.blocked_autorange(callback=lambda n, s: calls[1].append(n), min_run_time=0.02)
    _same(m, tm)
    assert calls[0] == calls[1] and len(calls[0]) == len(m.times) > 1


def test_adaptive_autorange_matches_torch(torch):
    e, t = _timers(torch, num_threads=2)
    _same(e.adaptive_autorange(threshold=0.05, max_run_time=0.2),
          t.adaptive_autorange(threshold=0.05, max_run_time=0.2))


def test_timer_errors_and_defaults(torch):
    tb = pytest.importorskip("torch.utils.benchmark")
    for mod in (benchmark, tb):
        with pytest.raises(ValueError, match="Currently only a `str` stmt is supported."):
            mod.Timer(lambda: 1)
        with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
            mod.Timer("pass", global_setup="x = 1")
        with pytest.raises(ValueError, match="Invalid language `rust`"):
            mod.Timer("pass", language="rust")
        with pytest.raises(NotImplementedError, match="See `Timer.blocked_autorange.`"):
            mod.Timer().repeat()
        with pytest.raises(NotImplementedError, match="See `Timer.blocked_autorange.`"):
            mod.Timer().autorange()
    # `torch` in a statement names ember, so torch-written statements run unchanged
    clock = FakeClock([1e-6])
    m = benchmark.Timer("y = torch.add(x, 1); clock.tick()", setup="x = torch.ones(3)",
                        timer=clock, globals={"clock": clock}).timeit(5)
    assert m.times == pytest.approx([1e-6]) and m.setup == "x = torch.ones(3)"
    assert benchmark.Timer is benchmark.utils.timer.Timer


def _measurement(mod, times, number=10, **spec):
    spec.setdefault("stmt", "f(x)")
    spec.setdefault("setup", "pass")
    return mod.Measurement(number, times, mod.TaskSpec(**spec))


CASES = [
    dict(times=[1e-5], number=100),
    dict(times=[2e-3, 2.1e-3, 1.9e-3, 2.05e-3, 2.5e-3], label="add", sub_label="fp32",
         description="n=4"),
    dict(times=[3e-8, 9e-8, 3.1e-8, 2e-8, 5e-8], stmt="a\nb", setup="x = 1\ny = 2",
         num_threads=4),
    dict(times=[1.0, 1.0, 1.0, 1.0], number=1, env="A", setup="x = 1"),
    dict(times=[5e-7, 5.5e-7, 5.2e-7], number=3, description="tiny"),
]


@pytest.mark.parametrize("case", CASES)
def test_measurement_matches_torch(torch, case):
    tb = pytest.importorskip("torch.utils.benchmark")
    case = dict(case)
    times, number = case.pop("times"), case.pop("number", 10)
    m, t = _measurement(benchmark, times, number, **case), _measurement(tb, times, number, **case)
    _same(m, t)
    for name in ("title", "as_row_name", "env", "label", "num_threads", "stmt"):
        assert getattr(m, name) == getattr(t, name), name
    assert m.meets_confidence(0.3) == t.meets_confidence(0.3)
    assert pickle.loads(pickle.dumps(m)).times == m.times
    merged = benchmark.Measurement.merge([m, m])
    t_merged = tb.Measurement.merge([t, t])
    assert len(merged) == len(t_merged) == 1
    _same(merged[0], t_merged[0])


def test_helpers_match_torch(torch):
    tb = pytest.importorskip("torch.utils.benchmark")
    for t in [1e-9, 999e-9, 1e-6, 2e-6, 1e-3, 0.5, 1.0, 12.0, 3.7e-8]:
        assert benchmark.select_unit(t) == tb.select_unit(t), t
    for x in [3.14159, 0.001234, 1234.5, 1e-6, 99.95, 0.5]:
        for n in (1, 2, 3, 4):
            assert benchmark.trim_sigfig(x, n) == tb.trim_sigfig(x, n), (x, n)
    assert benchmark.unit_to_english("ns") == tb.unit_to_english("ns")
    assert benchmark.ordered_unique([3, 1, 3]) == tb.ordered_unique([3, 1, 3])


def _grid(mod):
    ms = []
    for threads in (1, 4):
        for sub, scale in (("fp32", 1.0), ("fp64", 2.3)):
            for j, n in enumerate((1, 16, 256)):
                base = scale * (j + 1) * 1.7e-6 / threads
                jitter = ([1.0, 1.5, 0.7, 1.4, 1.0] if sub == "fp64" and n == 16
                          else [1.0, 1.02, 0.98, 1.01, 1.0])
                ms.append(_measurement(mod, [base * 10 * f for f in jitter], label="matmul",
                                       sub_label=sub, description=f"n={n}",
                                       num_threads=threads))
    ms.append(_measurement(mod, [4e-4] * 5, label="other", description="n=1", env="A"))
    ms.append(_measurement(mod, [4e-4, 4e-4], label="other", description="n=2",
                           env="B"))
    return ms


@pytest.mark.parametrize("options", [(), ("trim",), ("color",), ("rowcolor",), ("warn",),
                                     ("trim", "color", "warn")])
def test_compare_table_matches_torch(torch, options, capsys):
    tb = pytest.importorskip("torch.utils.benchmark")
    tables = []
    for mod in (benchmark, tb):
        c = mod.Compare(_grid(mod))
        if "trim" in options:
            c.trim_significant_figures()
        if "color" in options:
            c.colorize()
        if "rowcolor" in options:
            c.colorize(rowwise=True)
        if "warn" in options:
            c.highlight_warnings()
        tables.append(str(c))
        c.print()
    assert tables[0] == tables[1]
    printed = capsys.readouterr().out
    assert printed == tables[0] + "\n" + tables[1] + "\n"


def test_compare_rejects_other_results(torch):
    tb = pytest.importorskip("torch.utils.benchmark")
    for mod in (benchmark, tb):
        with pytest.raises(ValueError, match="Expected an instance of `Measurement`, got "
                                             "<class 'float'> instead."):
            mod.Compare([1.0])


def test_real_timer_runs_an_ember_statement():
    # structure only: the clock is real but no value is checked
    m = benchmark.Timer("x * 2", globals={"x": ember.ones(4)}, label="mul").timeit(20)
    assert m.number_per_run == 20 and len(m.times) == 1 and m.label == "mul"


def test_timer_sets_and_restores_the_thread_count():
    before = ember.get_num_threads()
    seen = []
    clock = FakeClock([1e-6])
    benchmark.Timer("seen.append(torch.get_num_threads()); clock.tick()", timer=clock,
                    globals={"clock": clock, "seen": seen}, num_threads=1).timeit(3)
    assert set(seen) == {1} and ember.get_num_threads() == before
