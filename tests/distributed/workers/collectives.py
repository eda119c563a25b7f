"""Every collective of ember.distributed under the real MPI launcher, against NumPy.

Run as ``mpirun -np N python collectives.py OUT_DIR [BACKEND]``: each rank runs every check
in ``CHECKS`` (the same ones in the same order, so the collectives match up) and writes
``OUT_DIR/rank<r>.json`` mapping check name -> "ok" or the failure. A check whose value is wrong
records an AssertionError and the run goes on; any other error is recorded, the file written,
and the job aborted (a rank out of step would leave the others waiting). The test module
imports this file for the check names.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Registry, close, raises, run_checks  # noqa: E402

CHECKS = check = Registry()


# -- expected values, computed from each rank's input with NumPy -----------------------------
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool",
          "complex64"]


def _applies(op: str, dtype: str) -> bool:
    if dtype == "bool":
        return op != "AVG"
    if dtype.startswith("complex"):
        return op in ("SUM", "AVG")
    if dtype.startswith("float") or dtype == "bfloat16":
        return op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX")
    return op != "AVG"


def rank_input(k: int, dtype: str) -> np.ndarray:
    """Rank k's input: small values whose reductions are exact in every dtype."""
    if dtype == "bool":
        return np.array([True, False, k % 2 == 0, k == 1, True, False])
    base = np.array([1, 2, 3, 4, 5, 6]) + k * np.array([1, -1, 2, 0, 3, 1])
    if dtype.startswith("complex"):
        return (base + 1j * (base - k)).astype(np.complex64)
    if dtype == "uint8":
        return np.abs(base).astype(np.uint8)
    if dtype in ("int64", "int32"):
        return base.astype(dtype)
    return (base / 2).astype(np.float32 if dtype == "bfloat16" else dtype)


def expected(op: str, dtype: str, size: int) -> np.ndarray:
    xs = [rank_input(k, dtype) for k in range(size)]
    if dtype == "bool":
        stack = np.stack(xs)
        if op in ("SUM", "MAX", "BOR"):
            return stack.any(0)
        if op in ("PRODUCT", "MIN", "BAND"):
            return stack.all(0)
        return stack.sum(0) % 2 == 1
    stack = np.stack(xs)
    if op == "SUM":
        return stack.sum(0, dtype=stack.dtype)
    if op == "AVG":
        return (stack.sum(0, dtype=stack.dtype) / stack.dtype.type(size)).astype(stack.dtype)
    if op == "PRODUCT":
        return stack.prod(0, dtype=stack.dtype)
    if op == "MIN":
        return stack.min(0)
    if op == "MAX":
        return stack.max(0)
    out = xs[0]
    for x in xs[1:]:
        out = {"BAND": np.bitwise_and, "BOR": np.bitwise_or, "BXOR": np.bitwise_xor}[op](out, x)
    return out


def as_tensor(ember, arr: np.ndarray, dtype: str):
    t = ember.from_numpy(np.ascontiguousarray(arr).copy())
    return t.to(getattr(ember, dtype)) if dtype == "bfloat16" else t


def values(t) -> np.ndarray:
    """A tensor's values as NumPy (bfloat16 as float32)."""
    if t.dtype.__repr__() == "torch.bfloat16":
        t = t.float()
    return t.numpy()


# -- all_reduce over ops and dtypes -----------------------------------------------------------
def _all_reduce_case(op: str, dtype: str):
    def run(ctx):
        ember, dist = ctx.ember, ctx.dist
        t = as_tensor(ember, rank_input(ctx.rank, dtype), dtype)
        assert dist.all_reduce(t, op=getattr(dist.ReduceOp, op)) is None
        assert str(t.dtype) == f"torch.{dtype}", t.dtype
        close(values(t), expected(op, dtype, ctx.size), dtype, f"{op} {dtype}")
    return run


for _op in OPS:
    for _dt in DTYPES:
        if _applies(_op, _dt):
            check(f"all_reduce_{_op}_{_dt}")(_all_reduce_case(_op, _dt))


@check("all_reduce_refusals")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    raises(ValueError, lambda: dist.all_reduce(ember.ones(2, dtype=ember.complex64),
                                               op=dist.ReduceOp.MAX),
           "all_reduce does not support RedOpType.MAX on complex tensors")
    raises(RuntimeError, lambda: dist.all_reduce(ember.ones(2, dtype=ember.int64),
                                                 op=dist.ReduceOp.AVG),
           "result type Float can't be cast to the desired output type Long")
    raises(RuntimeError, lambda: dist.all_reduce(ember.ones(2), op=dist.ReduceOp.BAND),
           "integer or bool")
    raises(TypeError, lambda: dist.all_reduce(ember.ones(2), op="sum"), "ReduceOp")
    raises(TypeError, lambda: dist.all_reduce(np.ones(2)), "torch.Tensor")


@check("all_reduce_in_place_no_copy")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    t = ember.ones(4) * (ctx.rank + 1)
    ptr, version = t.data_ptr(), t._version_counter
    dist.all_reduce(t)
    assert t.data_ptr() == ptr, "the tensor's memory was replaced"
    assert t._version_counter > version, "version counter not bumped"
    close(t.numpy(), np.full(4, ctx.size * (ctx.size + 1) / 2))


@check("all_reduce_non_contiguous_view")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    base = ember.arange(12.0).reshape(3, 4) + ctx.rank
    view = base[:, 1::2]  # 3x2, strided
    dist.all_reduce(view)
    want = np.arange(12.0).reshape(3, 4) + ctx.rank
    want[:, 1::2] = sum(np.arange(12.0).reshape(3, 4)[:, 1::2] + k for k in range(ctx.size))
    close(base.numpy(), want, what="only the view's elements change")
    t = (ember.arange(6.0).reshape(2, 3) + ctx.rank).t()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    close(t.numpy(), (np.arange(6.0).reshape(2, 3) + ctx.size - 1).T)


@check("all_reduce_requires_grad_leaf")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    w = ember.ones(3, requires_grad=True)
    dist.all_reduce(w)  # PyTorch's collectives bypass autograd: no in-place-on-leaf error
    close(w.detach().numpy(), np.full(3, float(ctx.size)))


@check("all_reduce_async_work")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    t = ember.ones(3) * (ctx.rank + 1)
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    assert isinstance(work, dist.Work), type(work)
    assert work.wait() is True
    assert work.is_completed() and work.is_success() and work.exception() is None
    assert work.result()[0] is t
    close(t.numpy(), np.full(3, (ctx.size + 1) / 2))
    works = [dist.all_reduce(ember.ones(2) * i, async_op=True) for i in range(3)]
    for i, w in enumerate(works):
        w.wait()
        close(w.result()[0].numpy(), np.full(2, float(i * ctx.size)))


# -- broadcast and reduce ---------------------------------------------------------------------
@check("broadcast_dtypes")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    src = ctx.size - 1
    for dtype in ("float32", "bfloat16", "int64", "bool", "complex64", "float16"):
        t = as_tensor(ember, rank_input(ctx.rank, dtype), dtype)
        dist.broadcast(t, src=src)
        want = rank_input(src, dtype)
        close(values(t), want.astype(np.float32) if dtype == "bfloat16" else want, dtype, dtype)


@check("broadcast_non_contiguous_and_async")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    t = (ember.arange(6.0).reshape(2, 3) * (ctx.rank + 1)).t()
    work = dist.broadcast(t, src=0, async_op=True)
    work.wait()
    close(t.numpy(), np.arange(6.0).reshape(2, 3).T)
    raises(ValueError, lambda: dist.broadcast(ember.ones(2)), "Must specify global_rank or group_rank")
    raises(ValueError, lambda: dist.broadcast(ember.ones(2), src=0, group_src=0), "Can't specify both")


@check("reduce_sum_and_avg")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    dst = ctx.size - 1
    t = ember.ones(3) * (ctx.rank + 1)
    dist.reduce(t, dst=dst)
    total = ctx.size * (ctx.size + 1) / 2
    close(t.numpy(), np.full(3, total if ctx.rank == dst else ctx.rank + 1.0))
    t = ember.ones(3) * (ctx.rank + 1)
    dist.reduce(t, dst=0, op=dist.ReduceOp.AVG)
    close(t.numpy(), np.full(3, total / ctx.size if ctx.rank == 0 else ctx.rank + 1.0))
    b = as_tensor(ember, rank_input(ctx.rank, "bfloat16"), "bfloat16")
    dist.reduce(b, dst=0, op=dist.ReduceOp.MAX)
    want = expected("MAX", "float32", ctx.size) if ctx.rank == 0 else rank_input(ctx.rank,
                                                                                "float32")
    close(values(b), want, "bfloat16")


# -- gathers and scatters ---------------------------------------------------------------------
@check("all_gather_list")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    for dtype in ("float32", "int64", "bfloat16"):
        outs = [as_tensor(ember, 0 * rank_input(0, dtype), dtype) for _ in range(ctx.size)]
        dist.all_gather(outs, as_tensor(ember, rank_input(ctx.rank, dtype), dtype))
        for k, out in enumerate(outs):
            close(values(out), rank_input(k, dtype), dtype, f"{dtype} from rank {k}")
    raises(RuntimeError, lambda: dist.all_gather([ember.zeros(2)] * (ctx.size + 1),
                                                 ember.ones(2)), "tensor_list")
    raises(ValueError, lambda: dist.all_gather([ember.zeros(2, dtype=ember.float64)]
                                               * ctx.size, ember.ones(2)),
           "Invalid usage of tensors with different dtypes")


@check("all_gather_single_concat_stacked_strided")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n = ctx.size
    x = ember.tensor([[1.0, 2.0]]) + 10 * ctx.rank
    want = np.concatenate([np.array([[1.0, 2.0]]) + 10 * k for k in range(n)])
    out = ember.zeros(n, 2)
    dist.all_gather_single(out, x)
    close(out.numpy(), want)
    stacked = ember.zeros(n, 1, 2)
    dist.all_gather_single(stacked, x)
    close(stacked.numpy(), want.reshape(n, 1, 2))
    big = ember.zeros(n, 4)
    dist.all_gather_single(big[:, ::2], x)  # a strided output
    close(big.numpy()[:, ::2], want)
    close(big.numpy()[:, 1::2], np.zeros((n, 2)))
    raises(RuntimeError, lambda: dist.all_gather_single(ember.zeros(n + 1, 2), x), "shape")


@check("reduce_scatter_single_sum_avg")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n = ctx.size
    inp = ember.arange(float(2 * n)) + ctx.rank
    total = sum(np.arange(float(2 * n)) + k for k in range(n))
    out = ember.zeros(2)
    dist.reduce_scatter_single(out, inp)
    close(out.numpy(), total[2 * ctx.rank: 2 * ctx.rank + 2])
    out = ember.zeros(2)
    dist.reduce_scatter_single(out, inp.reshape(n, 2), op=dist.ReduceOp.AVG)
    close(out.numpy(), total[2 * ctx.rank: 2 * ctx.rank + 2] / n)


@check("deprecated_names_warn_and_work")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n = ctx.size
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = ember.zeros(n)
        dist.all_gather_into_tensor(out, ember.ones(1) * ctx.rank)
        part = ember.zeros(1)
        dist.reduce_scatter_tensor(part, ember.ones(n))
    close(out.numpy(), np.arange(float(n)))
    close(part.numpy(), np.array([float(n)]))
    messages = [str(w.message) for w in caught if w.category is FutureWarning]
    assert any("all_gather_into_tensor` is deprecated" in m for m in messages), messages
    assert any("reduce_scatter_tensor` is deprecated" in m for m in messages), messages


@check("gather_and_scatter")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    dst = n - 1
    outs = [ember.zeros(2, dtype=ember.int64) for _ in range(n)] if r == dst else None
    dist.gather(ember.tensor([r, -r]), outs, dst=dst)
    if r == dst:
        for k, o in enumerate(outs):
            close(o.numpy(), np.array([k, -k]))
    if r == 0:
        raises(ValueError, lambda: dist.gather(ember.ones(1)), "must be specified on destination")
    else:
        raises(ValueError, lambda: dist.gather(ember.ones(1), [ember.ones(1)]),
               "must NOT be specified on non-destination")
    parts = [ember.full((3,), float(10 * k)) for k in range(n)] if r == 0 else None
    t = ember.zeros(3)
    dist.scatter(t, parts, src=0)
    close(t.numpy(), np.full(3, 10.0 * r))
    t = ember.zeros(1)
    dist.scatter(t, [ember.full((1,), float(k)) for k in range(n)] if r == 0 else None)
    close(t.numpy(), np.array([float(r)]))


# -- point to point ---------------------------------------------------------------------------
@check("send_recv_ring")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    if n == 1:
        return
    right, left = (r + 1) % n, (r - 1) % n
    got = ember.zeros(3)
    recv = dist.irecv(got, src=left)
    send = dist.isend(ember.ones(3) * r, dst=right)
    send.wait()
    recv.wait()
    close(got.numpy(), np.full(3, float(left)))
    # blocking, from any source: rank 0 collects one message from every other rank
    if r == 0:
        senders = set()
        for _ in range(n - 1):
            t = ember.zeros(2, dtype=ember.int64)
            k = dist.recv(t)
            close(t.numpy(), np.array([k, 7 * k]))
            senders.add(k)
        assert senders == set(range(1, n)), senders
    else:
        dist.send(ember.tensor([r, 7 * r]), dst=0)
    raises(ValueError, lambda: dist.send(ember.ones(1), dst=r), "should not be the same")


@check("batch_isend_irecv")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    if n == 1:
        return
    got = ember.zeros(2, dtype=ember.bfloat16)
    ops = [dist.P2POp(dist.isend, ember.full((2,), r + 0.5, dtype=ember.bfloat16), (r + 1) % n),
           dist.P2POp(dist.irecv, got, (r - 1) % n)]
    for w in dist.batch_isend_irecv(ops):
        w.wait()
    close(got.float().numpy(), np.full(2, (r - 1) % n + 0.5), "bfloat16")


# -- objects ----------------------------------------------------------------------------------
@check("object_collectives")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    out = [None] * n
    dist.all_gather_object(out, {"rank": r, "t": ember.tensor([float(r)])})
    assert [o["rank"] for o in out] == list(range(n)), out
    close(out[-1]["t"].numpy(), np.array([n - 1.0]))
    objs = ["from", n - 1, {"x": 1}] if r == n - 1 else [None, None, None]
    dist.broadcast_object_list(objs, src=n - 1)
    assert objs == ["from", n - 1, {"x": 1}], objs
    gathered = [None] * n if r == 0 else None
    dist.gather_object(("g", r), gathered, dst=0)
    if r == 0:
        assert gathered == [("g", k) for k in range(n)], gathered
    one = [None]
    dist.scatter_object_list(one, [f"s{k}" for k in range(n)] if r == 0 else None, src=0)
    assert one == [f"s{r}"], one


# -- all_to_all, all_to_all_single, monitored_barrier ----------------------------------------
def _piece(src: int, dst: int, rows: int, dtype: str) -> np.ndarray:
    """What rank ``src`` sends rank ``dst``: ``rows`` rows of 2, values naming both ranks."""
    base = 100 * src + 10 * dst + np.arange(2 * rows).reshape(rows, 2)
    if dtype.startswith("complex"):
        return (base + 1j * src).astype(dtype)
    return base.astype(np.float32 if dtype == "bfloat16" else dtype)


def _uneven(src: int, dst: int) -> int:
    return (src + 2 * dst) % 3  # 0, 1 or 2 rows: some pairs exchange nothing


@check("all_to_all_single_even_dtypes")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    for dtype in ("float32", "int64", "bfloat16", "complex64", "bool"):
        if dtype == "bool":
            inp = np.array([(r + k) % 2 == 0 for k in range(2 * n)])
            rank_inputs = [np.array([(s + k) % 2 == 0 for k in range(2 * n)]) for s in range(n)]
            want = np.concatenate([x[2 * r:2 * r + 2] for x in rank_inputs])
        else:
            inp = np.concatenate([_piece(r, d, 1, dtype) for d in range(n)])
            want = np.concatenate([_piece(s, r, 1, dtype) for s in range(n)])
        out = as_tensor(ember, np.zeros_like(inp), dtype)
        assert dist.all_to_all_single(out, as_tensor(ember, inp, dtype)) is None
        close(values(out), want, dtype, dtype)


@check("all_to_all_single_uneven_splits")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    send = [_uneven(r, d) for d in range(n)]
    recv = [_uneven(s, r) for s in range(n)]
    inp = np.concatenate([_piece(r, d, send[d], "int64") for d in range(n)])
    want = np.concatenate([_piece(s, r, recv[s], "int64") for s in range(n)])
    out = ember.full((sum(recv), 2), -1, dtype=ember.int64)
    dist.all_to_all_single(out, ember.from_numpy(inp), recv, send)
    close(out.numpy(), want, "int64")
    # async, into a strided output, from a non-contiguous input (copied both ways)
    big = ember.full((sum(recv), 4), -1.0)
    src = ember.from_numpy(np.ascontiguousarray(inp.T.astype(np.float32))).t()
    work = dist.all_to_all_single(big[:, ::2], src, recv, send, async_op=True)
    assert work.wait() is True
    close(big.numpy()[:, ::2], want.astype(np.float32))
    close(big.numpy()[:, 1::2], np.full((sum(recv), 2), -1.0, np.float32))


@check("all_to_all_single_refusals_on_every_rank")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    raises(RuntimeError, lambda: dist.all_to_all_single(ember.zeros(n + 1), ember.zeros(n + 1)),
           "does not divide equally")
    raises(RuntimeError, lambda: dist.all_to_all_single(ember.zeros(n), ember.zeros(n),
                                                        [1] * (n + 1), None),
           "Number of tensor splits not equal to group size")
    # rank 0 expects one row more from the last rank than it sends: every rank raises alike
    splits = [1] * n
    out_splits = [1] * (n - 1) + [2] if r == 0 else splits
    msg = raises(RuntimeError, lambda: dist.all_to_all_single(
        ember.zeros(sum(out_splits)), ember.zeros(n), out_splits, splits), "every process")
    assert f"rank {n - 1} of the group sends 1 elements to rank 0" in msg, msg
    assert "expects 2" in msg, msg
    t = ember.ones(n)
    dist.all_reduce(t)  # still in step
    close(t.numpy(), np.full(n, float(n)))


@check("all_to_all_lists")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    for dtype in ("float64", "int64", "bfloat16"):
        inputs = [as_tensor(ember, _piece(r, d, _uneven(r, d), dtype), dtype) for d in range(n)]
        outputs = [as_tensor(ember, 0 * _piece(s, r, _uneven(s, r), dtype), dtype)
                   for s in range(n)]
        assert dist.all_to_all(outputs, inputs) is None
        for s, out in enumerate(outputs):
            close(values(out), _piece(s, r, _uneven(s, r), dtype), dtype, f"{dtype} from {s}")
    outputs = [ember.zeros(2, 2).t() for _ in range(n)]  # strided outputs, async
    work = dist.all_to_all(outputs, [ember.from_numpy(_piece(r, d, 2, "float32"))
                                     for d in range(n)], async_op=True)
    work.wait()
    for s, out in enumerate(outputs):
        close(out.numpy(), _piece(s, r, 2, "float32"))
    raises(RuntimeError, lambda: dist.all_to_all([ember.zeros(1)] * n, [ember.zeros(1)] * (n + 1)),
           "input tensor")


@check("all_to_all_in_a_group")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    members = list(range(1, n)) if n > 2 else [0, 1]
    pg = dist.new_group(members)
    if r in members:
        k, m = members.index(r), len(members)
        out = ember.zeros(m, dtype=ember.int64)
        dist.all_to_all_single(out, ember.arange(m) + 10 * k, group=pg)
        close(out.numpy(), np.array([10 * s + k for s in range(m)]), "int64")
        dist.destroy_process_group(pg)


@check("monitored_barrier")
def _(ctx):
    from datetime import timedelta

    dist = ctx.dist
    n, r = ctx.size, ctx.rank
    assert dist.monitored_barrier(timeout=timedelta(seconds=60)) is None
    assert dist.monitored_barrier(timeout=timedelta(seconds=60), wait_all_ranks=True) is None
    # only rank 0 arrives: it names the missing ranks; the others never enter the barrier
    if r == 0:
        short = timedelta(milliseconds=300)
        raises(RuntimeError, lambda: dist.monitored_barrier(timeout=short),
               "[Rank 0]: Rank 1 failed to pass monitoredBarrier in 300 ms")
        missing = ", ".join(str(k) for k in range(1, n))
        raises(RuntimeError, lambda: dist.monitored_barrier(timeout=short, wait_all_ranks=True),
               f"[Rank 0]: Ranks {missing} failed to pass monitoredBarrier in 300 ms")
    dist.barrier()
    assert dist.monitored_barrier(timeout=timedelta(seconds=60)) is None  # still in step


# -- groups -----------------------------------------------------------------------------------
@check("groups")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    n, r = ctx.size, ctx.rank
    members = [n - 1, 0] if n > 1 else [0]   # sorted by new_group: [0, n-1]
    pg = dist.new_group(members)
    inside = r in members
    if inside:
        assert dist.get_process_group_ranks(pg) == sorted(members)
        assert dist.get_rank(pg) == sorted(members).index(r)
        assert dist.get_world_size(pg) == len(members)
        assert dist.get_global_rank(pg, dist.get_rank(pg)) == r
        t = ember.ones(2) * (r + 1)
        dist.all_reduce(t, group=pg)
        close(t.numpy(), np.full(2, float(sum(k + 1 for k in members))))
        b = ember.ones(1) * r
        dist.broadcast(b, src=n - 1, group=pg)  # a global rank
        close(b.numpy(), np.array([n - 1.0]))
        b = ember.ones(1) * r
        dist.broadcast(b, group=pg, group_src=0)  # a rank within the group
        close(b.numpy(), np.array([0.0]))
        dist.barrier(group=pg)
    else:
        assert pg == dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(pg) == -1 and dist.get_world_size(pg) == -1
        t = ember.ones(2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert dist.all_reduce(t, group=pg) is None
        assert any("does not belong to the given group" in str(w.message) for w in caught)
        close(t.numpy(), np.ones(2))
    singles = [dist.new_group([k]) for k in range(n)]  # every rank calls every new_group
    t = ember.ones(1) * r
    dist.all_reduce(t, group=singles[r])
    close(t.numpy(), np.array([float(r)]))
    dist.destroy_process_group(singles[r])
    local = dist.new_group([0], use_local_synchronization=True) if r == 0 else None
    if r == 0:
        assert dist.get_world_size(local) == 1


# -- CUDA tensors: staged through host memory (a CuPy stand-in that refuses implicit copies) --
@check("cuda_tensors_staged_through_host")
def _(ctx):
    ember, dist = ctx.ember, ctx.dist
    from ember import _backend
    from tests.device import fake_cupy

    prev = _backend.use_cuda_module(fake_cupy)
    try:
        n, r = ctx.size, ctx.rank
        t = ember.ones(3, device="cuda") * (r + 1)
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        assert t.device.type == "cuda", t.device
        close(t.cpu().numpy(), np.full(3, (n + 1) / 2))
        b = ember.arange(4, device="cuda").reshape(2, 2).t() * (r + 1)  # strided, int64
        dist.broadcast(b, src=n - 1)
        close(b.cpu().numpy(), (np.arange(4).reshape(2, 2) * n).T)
        outs = [ember.zeros(2, device="cuda", dtype=ember.bfloat16) for _ in range(n)]
        dist.all_gather(outs, ember.full((2,), float(r), device="cuda", dtype=ember.bfloat16))
        for k, o in enumerate(outs):
            assert o.device.type == "cuda"
            close(o.float().cpu().numpy(), np.full(2, float(k)), "bfloat16")
        model = ember.nn.Linear(3, 2).to("cuda")
        ddp = ember.nn.parallel.DistributedDataParallel(model, device_ids=[0])
        ddp(ember.ones(4, 3, device="cuda") * (r + 1)).sum().backward()
        grads = [p.grad.cpu().numpy() for p in ddp.parameters()]
        assert all(p.grad.device.type == "cuda" for p in ddp.parameters())
        close(grads[1], np.full(2, 4.0))  # d(sum)/d(bias) = batch size on every rank
        close(grads[0], np.full((2, 3), 4.0 * (n + 1) / 2))
    finally:
        _backend.use_cuda_module(prev)


# -- the rest of the surface ------------------------------------------------------------------
@check("state_and_environment")
def _(ctx):
    dist = ctx.dist
    assert dist.is_initialized()
    assert dist.get_rank() == ctx.rank and dist.get_world_size() == ctx.size
    assert dist.get_backend() == ctx.backend
    assert dist.group.WORLD is dist.GroupMember.WORLD is not None
    assert dist.get_process_group_ranks(dist.group.WORLD) == list(range(ctx.size))
    assert os.environ["RANK"] == str(ctx.rank)
    assert os.environ["WORLD_SIZE"] == str(ctx.size)
    assert os.environ["LOCAL_RANK"] == str(ctx.rank)  # one machine
    assert dist.get_node_local_rank() == ctx.rank
    raises(ValueError, lambda: dist.init_process_group(ctx.backend), "twice")
    work = dist.barrier(async_op=True)
    assert work.wait() is True


@check("destroy_and_init_again")
def _(ctx):
    dist, ember = ctx.dist, ctx.ember
    dist.destroy_process_group()
    assert not dist.is_initialized() and dist.group.WORLD is None
    raises(ValueError, lambda: dist.get_rank(), "has not been initialized")
    dist.init_process_group(ctx.backend)
    t = ember.ones(1)
    dist.all_reduce(t)
    close(t.numpy(), np.array([float(ctx.size)]))


class Context:
    def __init__(self, backend: str):
        import ember
        import ember.distributed as dist

        self.ember, self.dist, self.backend = ember, dist, backend
        dist.init_process_group(backend)
        self.rank, self.size = dist.get_rank(), dist.get_world_size()


def main(out_dir: str, backend: str = "gloo") -> None:
    ctx = Context(backend)
    run_checks(CHECKS, ctx, out_dir)
    ctx.dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
