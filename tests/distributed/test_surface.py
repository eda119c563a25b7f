"""ember.distributed against PyTorch in one process (rank 0 of 1: ember on an MPI singleton,
torch on gloo with a file store): the same calls give the same values and exceptions. And the
parts that need no MPI: the import loads no mpi4py, a missing mpi4py names the extra, bad
backends and arguments fail before MPI starts."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from ._launch import WORKERS, environment, once_per_session, require_mpi

TIMEOUT = 240


def _record(folder):
    procs = {}
    for lib in ("ember", "torch"):  # both at once: each waits mostly on its imports
        procs[lib] = subprocess.Popen(
            [sys.executable, str(WORKERS / "world_of_one.py"), lib, folder / f"{lib}.json",
             folder / f"{lib}.store"], cwd=folder, env=environment(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    for lib, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        (folder / f"{lib}.log").write_text(f"exit {proc.returncode}\n{stdout}\n{stderr}")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    require_mpi()
    pytest.importorskip("torch")
    folder = once_per_session(tmp_path_factory, "world_of_one", _record)
    out = {}
    for lib in ("ember", "torch"):
        path = folder / f"{lib}.json"
        assert path.exists(), (folder / f"{lib}.log").read_text()[-3000:]
        out[lib] = json.loads(path.read_text())
    return out


def _normalize(value):
    return json.loads(re.sub(r"<[^<>]*ProcessGroup[^<>]*>", "<ProcessGroup>", json.dumps(value)))


CASES = [
    "get_rank_before_init", "get_backend_before_init", "all_reduce_before_init",
    "destroy_before_init", "is_initialized_before", "world_before_init", "reduce_op_repr",
    "reduce_op_members", "backend_names", "non_group_member", "timeout_type",
    "init_method_scheme", "is_available", "basics", "init_twice", "all_reduce_SUM",
    "all_reduce_AVG", "all_reduce_PRODUCT", "all_reduce_MIN", "all_reduce_MAX",
    "all_reduce_bool_sum", "all_reduce_int_sum", "all_reduce_complex_max", "all_reduce_returns",
    "all_reduce_not_tensor", "all_reduce_non_contiguous", "work_api", "broadcast_no_src",
    "broadcast_both_srcs", "broadcast", "gather_without_list", "scatter_without_list", "gather",
    "scatter", "all_gather_dtypes", "all_gather", "all_gather_into_tensor",
    "reduce_scatter_tensor", "reduce", "all_gather_into_tensor_deprecated",
    "reduce_scatter_tensor_deprecated", "send_to_self", "barrier", "objects", "new_group",
    "new_group_out_of_range", "new_group_duplicates", "group_rank_not_member",
    "non_member_all_reduce", "destroy", "destroy_again", "ddp_frozen", "ddp_device_ids_on_cpu",
    "ddp_two_device_ids", "ddp_broadcast_buffers_warns", "ddp_check_reduction_warns",
    "ddp_surface", "ddp_step_and_no_sync", "ddp_unused_parameter_error", "ddp_find_unused",
    "all_to_all", "all_to_all_single", "all_to_all_single_splits", "all_to_all_single_bfloat16",
    "all_to_all_single_complex", "all_to_all_single_0d", "all_to_all_single_async",
    "all_to_all_single_not_tensor", "all_to_all_single_dtypes", "all_to_all_not_list",
    "all_to_all_dtypes", "monitored_barrier", "monitored_barrier_timedelta",
    "monitored_barrier_float_timeout", "monitored_barrier_int_timeout",
]
PREFIX_CASES = ["all_to_all_single_split_count", "all_to_all_single_split_sum"]


@pytest.mark.parametrize("case", CASES)
def test_same_as_torch(recorded, case):
    want = _normalize(recorded["torch"]["cases"][case])
    got = _normalize(recorded["ember"]["cases"][case])
    assert got == want


def test_every_recorded_case_is_compared(recorded):
    assert set(recorded["torch"]["cases"]) == set(CASES) == set(recorded["ember"]["cases"])
    assert set(recorded["torch"]["prefix_cases"]) == set(PREFIX_CASES) \
        == set(recorded["ember"]["prefix_cases"])


@pytest.mark.parametrize("case", PREFIX_CASES)
def test_same_error_as_torch_with_a_hint(recorded, case):
    want_type, want_msg = recorded["torch"]["prefix_cases"][case]
    got_type, got_msg = recorded["ember"]["prefix_cases"][case]
    assert got_type == want_type and got_msg.startswith(want_msg), (got_msg, want_msg)


def test_launch_checks(recorded):
    only = recorded["ember"]["ember_only"]
    kind, msg = only["torchrun_world_size_mismatch"]
    assert kind == "ValueError" and "WORLD_SIZE=2" in msg and "ember run -n 2" in msg
    kind, msg = only["world_size_argument_mismatch"]
    assert kind == "ValueError" and "world_size=3" in msg and "MPI started 1 process" in msg
    kind, msg = only["rank_argument_mismatch"]
    assert kind == "ValueError" and "rank=1" in msg
    kind, msg = only["nccl"]
    assert kind == "RuntimeError" and "CUDA-aware" in msg and "'mpi'" in msg
    assert only["still_uninitialized"] is False


# -- without MPI --------------------------------------------------------------------------------
def _python(code: str, **env):
    return subprocess.run([sys.executable, "-c", code], env=environment(**env),
                          capture_output=True, text=True, timeout=TIMEOUT)


HIDE_MPI4PY = """
import sys
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name == "mpi4py" or name.startswith("mpi4py."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Hide())
"""


def test_import_loads_no_mpi():
    proc = _python("import sys, ember.distributed as d\n"
                   "assert 'mpi4py' not in sys.modules, 'mpi4py imported'\n"
                   "print(d.is_available(), d.is_initialized())")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(pytest.importorskip("importlib.util").find_spec(
        "mpi4py") is not None), "False"]


def test_without_mpi4py_is_available_is_false_and_init_names_the_extra():
    proc = _python(HIDE_MPI4PY + """
import ember.distributed as dist
assert dist.is_available() is False
assert dist.is_mpi_available() is False and dist.is_gloo_available() is False
try:
    dist.init_process_group("gloo")
except ImportError as err:
    print(err)
else:
    raise SystemExit("no ImportError")
assert not dist.is_initialized()
""")
    assert proc.returncode == 0, proc.stderr
    assert 'pip install "ember[distributed]"' in proc.stdout


def test_errors_before_mpi_starts():
    import ember.distributed as dist

    with pytest.raises(RuntimeError, match="CUDA-aware"):
        dist.init_process_group("nccl")
    with pytest.raises(RuntimeError, match="CUDA-aware"):
        dist.init_process_group("cpu:gloo,cuda:nccl")
    with pytest.raises(ValueError, match="Invalid backend: 'bogus'"):
        dist.init_process_group("bogus")
    with pytest.raises(RuntimeError, match="No rendezvous handler for foo://"):
        dist.init_process_group("gloo", init_method="foo://x")
    with pytest.raises(TypeError, match="datetime.timedelta"):
        dist.init_process_group("gloo", timeout=30)
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_world_size()
    from ember.utils.data.distributed import DistributedSampler

    torch = pytest.importorskip("torch")
    for sampler in (DistributedSampler, torch.utils.data.distributed.DistributedSampler):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            sampler(range(5))
    assert not dist.is_initialized() and "mpi4py.MPI" not in sys.modules
    assert dist.is_nccl_available() is False
    assert dist.Backend("GLOO") == "gloo"
