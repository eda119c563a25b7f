"""``ember.multiprocessing``: Python's multiprocessing re-exported, the sharing strategies,
and ``spawn`` run with real child processes (compared with ``torch.multiprocessing``)."""

import multiprocessing
import os
import sys

import pytest

import ember
import ember.multiprocessing as emp

from . import mp_workers


def test_reexports_python_multiprocessing(torch):
    for name in multiprocessing.__all__:
        assert getattr(emp, name) is getattr(multiprocessing, name), name
    assert set(emp.__all__) == set(torch.multiprocessing.__all__)
    for name in ("spawn", "start_processes", "ProcessContext", "ProcessRaisedException",
                 "ProcessExitedException", "SpawnContext"):
        assert hasattr(emp, name) and hasattr(torch.multiprocessing, name)


def test_sharing_strategies(torch):
    tmp = torch.multiprocessing
    assert emp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert emp.get_sharing_strategy() == tmp.get_sharing_strategy()
    if sys.platform.startswith("linux"):
        assert emp.get_all_sharing_strategies() == {"file_descriptor", "file_system"}
    try:
        emp.set_sharing_strategy("file_system")
        assert emp.get_sharing_strategy() == "file_system"
        for lib in (emp, tmp):
            with pytest.raises(AssertionError, match="invalid sharing strategy"):
                lib.set_sharing_strategy("nope")
    finally:
        emp.set_sharing_strategy("file_descriptor" if sys.platform.startswith("linux")
                                 else "file_system")


def test_spawn_signature(torch):
    import inspect

    for name in ("spawn", "start_processes"):
        assert str(inspect.signature(getattr(emp, name))) == \
            str(inspect.signature(getattr(torch.multiprocessing, name)))


def test_spawn_runs_fn_with_index_and_args(tmp_path):
    assert emp.spawn(mp_workers.write_index, args=(str(tmp_path), 10), nprocs=2) is None
    values = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert values == {"0.txt": "20.0", "1.txt": "22.0"}


def test_spawn_reraises_the_child_exception():
    with pytest.raises(emp.ProcessRaisedException) as info:
        emp.spawn(mp_workers.fail_in_one, args=("bad value in child",), nprocs=2)
    err = info.value
    assert err.error_index == 1 and isinstance(err.error_pid, int)
    text = str(err)
    assert "-- Process 1 terminated with the following error:" in text
    assert "Traceback" in text and "ValueError: bad value in child" in text
    assert "mp_workers.py" in text


def test_spawn_reports_an_exit_code():
    with pytest.raises(emp.ProcessExitedException, match="process 0 terminated with exit code 3"
                       ) as info:
        emp.spawn(mp_workers.exit_with, args=(3,), nprocs=2)
    assert info.value.exit_code == 3 and info.value.signal_name is None


def test_join_false_returns_a_context(tmp_path):
    ctx = emp.spawn(mp_workers.write_index, args=(str(tmp_path), 0), nprocs=2, join=False)
    assert isinstance(ctx, emp.ProcessContext)
    pids = ctx.pids()
    assert len(pids) == 2 and all(isinstance(p, int) for p in pids) and os.getpid() not in pids
    while not ctx.join(timeout=60):
        pass
    assert ctx.join() is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.txt", "1.txt"]


def test_join_stops_the_others_after_a_failure():
    ctx = emp.start_processes(mp_workers.sleep_forever, nprocs=1, join=False)
    ctx.processes[0].terminate()
    with pytest.raises(emp.ProcessExitedException, match="terminated with signal SIGTERM") \
            as info:
        while not ctx.join(timeout=60):
            pass
    assert info.value.signal_name == "SIGTERM" and info.value.exit_code < 0


def test_spawn_warns_on_another_start_method(tmp_path):
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        emp.spawn(mp_workers.write_index, args=(str(tmp_path), 1), nprocs=1,
                  start_method="fork")
    assert (tmp_path / "0.txt").read_text() == "2.0"


def test_exceptions_pickle(torch):
    import pickle

    err = emp.ProcessExitedException("msg", 1, 42, -15, "SIGTERM")
    back = pickle.loads(pickle.dumps(err))
    assert (back.msg, back.error_index, back.error_pid, back.exit_code, back.signal_name) == \
        ("msg", 1, 42, -15, "SIGTERM")
    from ember.multiprocessing.spawn import ProcessException

    assert issubclass(emp.ProcessRaisedException, ProcessException)
    assert [c.__name__ for c in emp.ProcessRaisedException.__mro__] == \
        [c.__name__ for c in torch.multiprocessing.ProcessRaisedException.__mro__]


def test_tensors_travel_through_a_queue():
    ctx = emp.get_context("spawn")
    q = ctx.SimpleQueue()
    q.put(ember.arange(3.0))
    assert q.get().tolist() == [0.0, 1.0, 2.0]
