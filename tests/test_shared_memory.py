"""Shared memory: ``Tensor.share_memory_()``, ``Module.share_memory()`` and tensors sent to
forked and spawned processes (Hogwild), checked against PyTorch."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import ember

ROOT = Path(__file__).resolve().parents[1]


def test_is_shared_matches_torch(torch):
    for lib in (torch, ember):
        t = lib.arange(6.0)
        v = t[2:]
        assert not t.is_shared() and not t.untyped_storage().is_shared()
        assert t.share_memory_() is t
        assert t.is_shared() and v.is_shared() and t.untyped_storage().is_shared()
        # the view stays a view of the (moved) storage
        assert v.untyped_storage().data_ptr() == t.untyped_storage().data_ptr()
        assert v.storage_offset() == 2
        t[3] = 9.0
        assert v.tolist() == [2.0, 9.0, 4.0, 5.0]
        assert t.share_memory_().is_shared()  # already shared: a no-op
        assert lib.ones(0).share_memory_().is_shared()
        s = lib.ones(2).t().untyped_storage()
        u = lib.ones(3)
        u.untyped_storage().share_memory_()
        assert u.is_shared() and not s.is_shared()


def test_view_made_before_sharing_follows_the_storage(torch):
    for lib in (torch, ember):
        base = lib.zeros(2, 3)
        row = base[1]
        col = base.t()
        base.share_memory_()
        assert row.is_shared() and col.is_shared()
        base.fill_(1.0)
        assert row.tolist() == [1.0, 1.0, 1.0] and col.sum().item() == 6.0


def test_module_share_memory_shares_parameters_grads_and_buffers(torch):
    for lib in (torch, ember):
        m = lib.nn.BatchNorm1d(2)
        m(lib.ones(3, 2)).sum().backward()
        data = m.weight.data
        assert m.share_memory() is m
        assert m.weight.is_shared() and m.weight.grad.is_shared()
        assert m.running_mean.is_shared()
        assert isinstance(m.weight, lib.nn.Parameter) and m.weight.requires_grad
        assert data.is_shared()  # the .data taken before shares the storage too


def test_meta_tensor_cannot_be_shared(torch):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="_share_fd_: only available on CPU"):
            lib.empty(3, device="meta").share_memory_()


def test_unshared_tensors_take_no_shared_memory_path():
    t = ember.ones(3)
    assert not t.is_shared() and not t.clone().is_shared()


SCRIPT = '''
import importlib, multiprocessing as mp, os, signal, sys
torch = importlib.import_module(sys.argv[1])
method, kill = sys.argv[2], sys.argv[3] == "kill"

def train(model, rank, t, unshared):
    with torch.no_grad():
        model.weight.add_(rank + 1.0)
        t[rank] = 10.0 * (rank + 1)
        unshared.add_(1.0)
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)

if __name__ == "__main__":
    ctx = mp.get_context(method)
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    model.share_memory()
    t = torch.zeros(4)
    v = t[1:]
    t.share_memory_()
    unshared = torch.zeros(2)
    for rank in range(2):  # one after another: the result does not depend on timing
        p = ctx.Process(target=train, args=(model, rank, v, unshared))
        p.start()
        p.join()
        print("exit", p.exitcode)
    print(model.weight.tolist(), t.tolist())
'''


def _run(tmp_path, lib, method, kill="no"):
    script = tmp_path / "hogwild_check.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(script), lib, method, kill], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return out, proc.pid


def _leftovers(pid):
    return [n for n in os.listdir("/dev/shm") if n.startswith(f"ember_{pid}_")]


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs /dev/shm")
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_child_updates_are_seen_by_the_parent(torch, tmp_path, method):
    out, pid = _run(tmp_path, "ember", method)
    expected, _ = _run(tmp_path, "torch", method)
    assert out == expected
    assert "[[3.0, 3.0]] [0.0, 10.0, 20.0, 0.0]" in out
    assert _leftovers(pid) == []


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs /dev/shm")
def test_killed_child_leaves_no_segment(tmp_path):
    out, pid = _run(tmp_path, "ember", "spawn", "kill")
    assert "exit -9" in out and "[[3.0, 3.0]]" in out
    assert _leftovers(pid) == []


def test_dataloader_workers_still_receive_copies():
    data = ember.arange(8.0).reshape(4, 2).share_memory_()
    ds = ember.utils.data.TensorDataset(data)
    loader = ember.utils.data.DataLoader(ds, batch_size=2, num_workers=2)
    batches = [b[0].tolist() for b in loader]
    assert batches == [[[0.0, 1.0], [2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]]]


def _segment_path(t):
    from ember._shared_memory import _SHM_DIR, _root, segment_of

    return os.path.join(_SHM_DIR, segment_of(_root(t._data)).name)


def test_segment_is_removed_when_the_storage_dies():
    t = ember.ones(3).share_memory_()
    path = _segment_path(t)
    view = t[1:]
    del t
    assert os.path.exists(path)  # the view still holds the storage
    del view
    assert not os.path.exists(path)


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs /dev/shm")
def test_killed_creator_leaves_no_segment(tmp_path):
    # The resource tracker outlives a creator killed before it could unlink, and removes it.
    code = ("import os, signal, ember\n"
            "t = ember.ones(4).share_memory_()\n"
            "print(os.getpid(), flush=True)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -9
    pid = int(proc.stdout.split()[0])
    for _ in range(600):  # the tracker exits when the killed process's pipe closes
        if not _leftovers(pid):
            break
        time.sleep(0.1)
    assert _leftovers(pid) == []


def test_lazy_module_cannot_be_shared_before_its_first_forward(torch):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="Can't share memory on an uninitialized"):
            lib.nn.LazyLinear(2).share_memory()


def test_adagrad_share_memory_shares_the_sums_like_torch(torch):
    results = []
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.ones(3))
        opt = lib.optim.Adagrad([p], lr=0.1)
        opt.share_memory()
        state = opt.state[p]
        results.append((state["sum"].is_shared(), state["step"].is_shared()))
    assert results[0] == results[1] == (True, False)
