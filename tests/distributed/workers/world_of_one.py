"""One process, one rank: the same calls on ember (an MPI singleton) and on PyTorch (gloo with
a file store), recorded so the test can compare results and exceptions.

``python world_of_one.py ember|torch OUT_JSON STORE_FILE``. Each case records
``["ok", value]`` or ``[exception type, message]``; ``ember_only`` holds the checks PyTorch has
no counterpart for (MPI's launch checks).
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from datetime import timedelta


def outcome(fn):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fn()
        if caught:
            return ["warned", [str(w.message) for w in caught], _plain(value)]
        return ["ok", _plain(value)]
    except Exception as err:
        return [type(err).__name__, str(err)]


def _plain(value):
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return type(value).__name__


def run(torch, store: str, lib: str) -> dict:
    dist = torch.distributed
    cases, ember_only, cases_with_prefix = {}, {}, {}

    def case(name, fn):
        cases[name] = outcome(fn)

    case("get_rank_before_init", lambda: dist.get_rank())
    case("get_backend_before_init", lambda: dist.get_backend())
    case("all_reduce_before_init", lambda: dist.all_reduce(torch.ones(2)))
    case("destroy_before_init", lambda: dist.destroy_process_group())
    case("is_initialized_before", lambda: dist.is_initialized())
    case("world_before_init", lambda: dist.group.WORLD)
    case("reduce_op_repr", lambda: [repr(dist.ReduceOp.SUM), str(dist.ReduceOp.MAX),
                                    int(dist.ReduceOp.AVG), dist.ReduceOp.SUM == 0])
    case("reduce_op_members", lambda: list(dist.ReduceOp.RedOpType.__members__))
    case("backend_names", lambda: [dist.Backend("GLOO"), dist.Backend("mpi"),
                                   dist.Backend.NCCL, dist.Backend("bogus")])
    case("non_group_member", lambda: [dist.GroupMember.NON_GROUP_MEMBER,
                                      dist.get_rank(dist.GroupMember.NON_GROUP_MEMBER),
                                      dist.get_world_size(dist.GroupMember.NON_GROUP_MEMBER)])
    case("timeout_type", lambda: dist.init_process_group("gloo", timeout=5))
    case("init_method_scheme", lambda: dist.init_process_group("gloo", init_method="foo://x"))
    case("is_available", lambda: [dist.is_available(), dist.is_nccl_available()])

    if lib == "ember":
        os.environ["WORLD_SIZE"] = "2"
        ember_only["torchrun_world_size_mismatch"] = outcome(
            lambda: dist.init_process_group("gloo"))
        del os.environ["WORLD_SIZE"]
        ember_only["world_size_argument_mismatch"] = outcome(
            lambda: dist.init_process_group("gloo", world_size=3))
        ember_only["rank_argument_mismatch"] = outcome(
            lambda: dist.init_process_group("mpi", rank=1))
        ember_only["nccl"] = outcome(lambda: dist.init_process_group("nccl"))
        ember_only["still_uninitialized"] = dist.is_initialized()

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=0, world_size=1)
    case("basics", lambda: [dist.is_initialized(), dist.get_rank(), dist.get_world_size(),
                            dist.get_backend(), dist.group.WORLD is dist.GroupMember.WORLD])
    case("init_twice", lambda: dist.init_process_group("gloo"))

    def all_reduce(op, dtype=None):
        t = torch.tensor([1.5, -2.0, 3.0]) if dtype is None else torch.tensor([1, -2, 3],
                                                                              dtype=dtype)
        dist.all_reduce(t, op=op)
        return t
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX"):
        case(f"all_reduce_{op}", lambda op=op: all_reduce(getattr(dist.ReduceOp, op)))
    case("all_reduce_bool_sum", lambda: all_reduce(dist.ReduceOp.SUM, torch.bool))
    case("all_reduce_int_sum", lambda: all_reduce(dist.ReduceOp.SUM, torch.int64))
    case("all_reduce_complex_max",
         lambda: dist.all_reduce(torch.ones(2, dtype=torch.complex64), op=dist.ReduceOp.MAX))
    case("all_reduce_returns", lambda: dist.all_reduce(torch.ones(2)))
    case("all_reduce_not_tensor", lambda: type(dist.all_reduce([1.0, 2.0])).__name__)

    def noncontig():
        x = torch.arange(6.0).reshape(2, 3)
        dist.all_reduce(x.t())
        return x
    case("all_reduce_non_contiguous", noncontig)

    def work_api():
        t = torch.ones(2)
        w = dist.all_reduce(t, async_op=True)
        return [w.wait(), w.is_completed(), w.is_success(), len(w.result()),
                w.result()[0] is t]
    case("work_api", work_api)
    case("broadcast_no_src", lambda: dist.broadcast(torch.ones(2)))
    case("broadcast_both_srcs", lambda: dist.broadcast(torch.ones(2), src=0, group_src=0))

    def broadcast():
        t = torch.arange(3.0)
        dist.broadcast(t, src=0)
        return t
    case("broadcast", broadcast)
    case("gather_without_list", lambda: dist.gather(torch.ones(2), dst=0))
    case("scatter_without_list", lambda: dist.scatter(torch.ones(2), src=0))

    def gather():
        out = [torch.zeros(2)]
        dist.gather(torch.ones(2), out)
        return out
    case("gather", gather)

    def scatter():
        t = torch.zeros(2)
        dist.scatter(t, [torch.full((2,), 4.0)])
        return t
    case("scatter", scatter)
    case("all_gather_dtypes", lambda: dist.all_gather([torch.zeros(2, dtype=torch.float64)],
                                                      torch.ones(2)))

    def all_gather():
        out = [torch.zeros(2, dtype=torch.int64)]
        dist.all_gather(out, torch.tensor([4, 5]))
        return out
    case("all_gather", all_gather)

    def all_gather_into_tensor():
        out = torch.zeros(2)
        dist.all_gather_single(out, torch.tensor([4.0, 5.0]))
        return out
    case("all_gather_into_tensor", all_gather_into_tensor)

    def reduce_scatter_tensor():
        out = torch.zeros(2)
        dist.reduce_scatter_single(out, torch.tensor([4.0, 5.0]))
        return out
    case("reduce_scatter_tensor", reduce_scatter_tensor)

    def reduce():
        t = torch.tensor([4.0, 5.0])
        dist.reduce(t, dst=0, op=dist.ReduceOp.MAX)
        return t
    case("reduce", reduce)
    case("all_gather_into_tensor_deprecated",
         lambda: dist.all_gather_into_tensor(torch.zeros(1), torch.ones(1)))
    case("reduce_scatter_tensor_deprecated",
         lambda: dist.reduce_scatter_tensor(torch.zeros(1), torch.ones(1)))
    case("send_to_self", lambda: dist.send(torch.ones(2), dst=0))
    case("barrier", lambda: dist.barrier())

    def objects():
        gathered = [None]
        dist.all_gather_object(gathered, {"a": [1, 2]})
        objs = [1, "x", None]
        dist.broadcast_object_list(objs, src=0)
        collected = [None]
        dist.gather_object("g", collected, dst=0)
        one = [None]
        dist.scatter_object_list(one, ["s"], src=0)
        return [gathered, objs, collected, one]
    case("objects", objects)

    def groups():
        pg = dist.new_group([0])
        return [dist.get_rank(pg), dist.get_world_size(pg), dist.get_process_group_ranks(pg),
                dist.get_group_rank(pg, 0), dist.get_global_rank(pg, 0), dist.get_backend(pg)]
    case("new_group", groups)
    case("new_group_out_of_range", lambda: dist.new_group([0, 1]))
    case("new_group_duplicates", lambda: dist.new_group([0, 0]))
    case("group_rank_not_member", lambda: dist.get_group_rank(dist.new_group([0]), 3))

    # all_to_all, all_to_all_single, monitored_barrier
    def all_to_all():
        out = [torch.zeros(2, dtype=torch.int64)]
        dist.all_to_all(out, [torch.tensor([4, 5])])
        return out
    case("all_to_all", all_to_all)

    def all_to_all_single(splits=None, dtype=None):
        inp = torch.arange(6.0).reshape(3, 2)
        inp = inp if dtype is None else inp.to(dtype)
        out = torch.zeros(3, 2, dtype=inp.dtype)
        ret = dist.all_to_all_single(out, inp, splits, splits)
        if dtype is torch.complex64:
            return [ret, out.real, out.imag]
        return [ret, out.float() if dtype is torch.bfloat16 else out]
    case("all_to_all_single", all_to_all_single)
    case("all_to_all_single_splits", lambda: all_to_all_single([3]))
    case("all_to_all_single_bfloat16", lambda: all_to_all_single(None, torch.bfloat16))
    case("all_to_all_single_complex", lambda: all_to_all_single(None, torch.complex64))

    def all_to_all_single_0d():
        out = torch.zeros(())
        dist.all_to_all_single(out, torch.tensor(3.0))
        return out
    case("all_to_all_single_0d", all_to_all_single_0d)

    def all_to_all_single_async():
        out = torch.zeros(2)
        work = dist.all_to_all_single(out, torch.tensor([1.0, 2.0]), async_op=True)
        return [work.wait(), out]
    case("all_to_all_single_async", all_to_all_single_async)
    case("all_to_all_single_not_tensor",
         lambda: dist.all_to_all_single([1.0], torch.ones(3)))
    case("all_to_all_single_dtypes",
         lambda: dist.all_to_all_single(torch.zeros(3), torch.ones(3, dtype=torch.float64)))
    case("all_to_all_not_list", lambda: dist.all_to_all((torch.zeros(2),), [torch.ones(2)]))
    case("all_to_all_dtypes", lambda: dist.all_to_all([torch.zeros(3)],
                                                      [torch.ones(3, dtype=torch.int64)]))
    case("monitored_barrier", lambda: dist.monitored_barrier())
    case("monitored_barrier_timedelta", lambda: dist.monitored_barrier(
        timeout=timedelta(seconds=3), wait_all_ranks=True))
    case("monitored_barrier_float_timeout", lambda: dist.monitored_barrier(timeout=2.0))
    case("monitored_barrier_int_timeout", lambda: dist.monitored_barrier(timeout=2))
    # the error's type and the start of its message match (ember adds how to fix it)
    prefix_case = cases_with_prefix.__setitem__
    prefix_case("all_to_all_single_split_count", outcome(
        lambda: dist.all_to_all_single(torch.zeros(3), torch.ones(3), [1, 2], [3])))
    prefix_case("all_to_all_single_split_sum", outcome(
        lambda: dist.all_to_all_single(torch.zeros(3), torch.ones(3), [3], [2])))

    # DistributedDataParallel
    DDP = torch.nn.parallel.DistributedDataParallel
    nn = torch.nn
    case("ddp_frozen", lambda: DDP(nn.Linear(2, 2).requires_grad_(False)))
    case("ddp_device_ids_on_cpu", lambda: DDP(nn.Linear(2, 2), device_ids=[0]))
    case("ddp_two_device_ids", lambda: DDP(nn.Linear(2, 2), device_ids=[0, 1]))
    case("ddp_broadcast_buffers_warns", lambda: DDP(nn.Linear(2, 2),
                                                    broadcast_buffers=True).broadcast_buffers)
    case("ddp_check_reduction_warns", lambda: DDP(nn.Linear(2, 2),
                                                  check_reduction=True).bucket_bytes_cap)

    def ddp_surface():
        inner = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
        ddp = DDP(inner)
        return [list(ddp.state_dict()), ddp.module is inner, repr(ddp), ddp.device_ids,
                ddp.output_device, ddp.find_unused_parameters, ddp.require_backward_grad_sync]
    case("ddp_surface", ddp_surface)

    def ddp_step():
        lin = nn.Linear(3, 2)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]))
            lin.bias.copy_(torch.tensor([0.1, -0.2]))
        ddp = DDP(lin)
        ddp(torch.ones(4, 3)).pow(2).sum().backward()
        with ddp.no_sync():
            ddp(torch.ones(4, 3)).sum().backward()
        return [p.grad for p in ddp.parameters()]
    case("ddp_step_and_no_sync", ddp_step)

    def ddp_unused():
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)

            def forward(self, x):
                return self.a(x)
        ddp = DDP(Net())
        ddp(torch.ones(1, 2)).sum().backward()
        return ddp(torch.ones(1, 2))
    case("ddp_unused_parameter_error", ddp_unused)

    def ddp_find_unused():
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)

            def forward(self, x):
                return self.a(x)
        ddp = DDP(Net(), find_unused_parameters=True)
        for _ in range(2):
            ddp(torch.ones(1, 2)).sum().backward()
        return [p.grad is None for p in ddp.parameters()]
    case("ddp_find_unused", ddp_find_unused)

    def non_member_collective():
        return dist.all_reduce(torch.ones(2), group=dist.GroupMember.NON_GROUP_MEMBER)
    case("non_member_all_reduce", non_member_collective)
    case("destroy", lambda: [dist.destroy_process_group(), dist.is_initialized()])
    case("destroy_again", lambda: dist.destroy_process_group())
    return {"cases": cases, "ember_only": ember_only, "prefix_cases": cases_with_prefix}


def main(lib: str, out: str, store: str) -> None:
    if lib == "ember":
        import ember as torch
        import ember.distributed  # noqa: F401
        import ember.nn.parallel  # noqa: F401
    else:
        import torch
        import torch.distributed  # noqa: F401
        import torch.nn.parallel  # noqa: F401
    result = run(torch, store, lib)
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
