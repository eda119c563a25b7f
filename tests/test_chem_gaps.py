"""Gaps found by the cheminformatics programs (tests/programs/chem_*), compared with PyTorch:
``scatter``/``scatter_add``/``scatter_reduce`` check an index against ``self`` and ``src`` the
way torch's scatter_shape_check does (its words: "Expected index [4] to be no larger than self
[3] apart from dimension 0 and to be no larger size than src [2]", "... as self tensor",
"... as src tensor", an IndexError for a src with too few dims), and no longer broadcast a 0-d
``src`` over a longer index (a wrong answer where torch raises); an empty index of any shape
is taken unchecked by gather and the scatters, as torch takes it; ``split`` refuses a tensor of
split sizes with torch's TypeError; building a sparse tensor gives torch's once-per-process
warnings ("Sparse invariant checks are implicitly disabled ...", unless check_invariants= or
check_sparse_tensor_invariants chose; "Sparse CSR tensor support is in beta state ...")."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import ember

torch = pytest.importorskip("torch")


def outcome(lib, call):
    try:
        return repr(call(lib))
    except Exception as e:  # the point is to compare the error type and message
        return type(e).__name__, str(e)


def long(lib, *shape):
    return lib.zeros(shape, dtype=lib.long)


SCATTER_SHAPES = [  # (self, index, src, dim)
    ((3,), (4,), (2,), 0), ((3,), (4,), (5,), 0), ((3, 2), (2, 3), (2, 3), 0),
    ((3, 2), (2, 2), (1, 2), 0), ((3,), (2, 2), (2, 2), 0), ((3, 2), (2, 2), (2,), 0),
    ((3, 2), (4, 2), (4, 2, 3), 1), ((3, 2), (4, 2), (4,), 1), ((3, 2, 2), (1, 1, 1), (2, 2), 0),
    ((3, 2), (1, 1), (), 0), ((3, 2), (2, 2), (), 0), ((3,), (2,), (), 0), ((3,), (1,), (), 0),
    ((3,), (2,), (1, 2), 0), ((3, 2), (2, 2), (2, 2, 1), 0), ((), (2,), (2,), 0),
    ((3,), (2, 0), (1,), 0), ((3, 2), (5, 0), (1, 1), 0), ((3,), (0,), (), 0),
]


def scatter_calls():
    calls = {}
    for self_shape, index_shape, src_shape, dim in SCATTER_SHAPES:
        key = f"{self_shape} {index_shape} {src_shape} dim{dim}"

        def args(lib, i=index_shape, s=src_shape, d=dim):
            return d, long(lib, *i), lib.ones(s)

        calls["scatter " + key] = lambda lib, a=args, t=self_shape: lib.zeros(t).scatter(*a(lib))
        calls["scatter_add " + key] = (
            lambda lib, a=args, t=self_shape: lib.zeros(t).scatter_add(*a(lib)))
        calls["scatter_reduce amax " + key] = (
            lambda lib, a=args, t=self_shape: lib.zeros(t).scatter_reduce(*a(lib), "amax"))
        calls["scatter value " + key] = (
            lambda lib, t=self_shape, i=index_shape, d=dim: lib.zeros(t).scatter(
                d, long(lib, *i), 1.5))
    return calls


CALLS = {
    **scatter_calls(),
    "gather empty index other ndim": lambda lib: lib.zeros(3).gather(0, long(lib, 2, 0)),
    "gather empty index larger": lambda lib: lib.zeros(3, 2).gather(0, long(lib, 0, 5)),
    "gather bad size": lambda lib: lib.zeros(3, 2).gather(0, long(lib, 2, 3)),
    "scatter_add_ in place empty": lambda lib: lib.zeros(3).scatter_add_(
        0, long(lib, 2, 0), lib.ones(1)),
    "split tensor sizes": lambda lib: lib.arange(7).split(lib.tensor([2, 5])),
    "split list sizes": lambda lib: lib.arange(7).split([2, 5]),
    "split float sizes": lambda lib: lib.split(lib.arange(7), [2.0, 5]),
    "split 0-d tensor sizes": lambda lib: lib.arange(7).split((lib.tensor(2), lib.tensor(5))),
    "split int size": lambda lib: lib.arange(7).split(3),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_call_as_torch(name):
    assert outcome(ember, CALLS[name]) == outcome(torch, CALLS[name])


def test_valid_scatter_still_reduces_and_differentiates():
    def run(lib):
        src = lib.tensor([[1.0, 5.0], [3.0, 2.0], [4.0, 0.5]], requires_grad=True)
        index = lib.tensor([[0, 1], [0, 0], [1, 1]])
        out = lib.zeros(2, 2).scatter_reduce(0, index, src, "amax", include_self=False)
        out.sum().backward()
        return out.detach().tolist(), src.grad.tolist()

    assert run(ember) == run(torch)


RUNNER = Path(__file__).parent / "programs" / "_as_torch.py"
SPARSE_SCRIPTS = {
    "coo": "torch.sparse_coo_tensor(torch.tensor([[0, 1]]), torch.ones(2), (3,))\n" * 2,
    "coo chosen": "torch.sparse_coo_tensor(torch.tensor([[0]]), torch.ones(1), (2,), "
                  "check_invariants=False)\n",
    "disabled": "torch.sparse.check_sparse_tensor_invariants.disable()\n"
                "torch.sparse_coo_tensor(torch.tensor([[0]]), torch.ones(1), (2,))\n",
    "context": "with torch.sparse.check_sparse_tensor_invariants(False):\n    pass\n"
               "torch.sparse_coo_tensor(torch.tensor([[0]]), torch.ones(1), (2,))\n",
    "bad indices": "try:\n    torch.sparse_coo_tensor(torch.tensor([[0.5]]), torch.ones(1))\n"
                   "except RuntimeError:\n    pass\n",
    "csr": "torch.sparse_csr_tensor(torch.tensor([0, 1]), torch.tensor([0]), torch.ones(1), "
           "(1, 2))\n",
    "csc then csr": "torch.eye(2).to_sparse_csc()\ntorch.eye(2).to_sparse_csr()\n",
    "dense to coo": "torch.eye(2).to_sparse()\n",
}


def warnings_of(script_path, as_ember):
    cmd = [sys.executable, "-W", "always"] + ([str(RUNNER)] if as_ember else [])
    err = subprocess.run(cmd + [str(script_path)], capture_output=True, text=True,
                         check=True).stderr
    # torch's C++ warnings end with where in ATen they were raised
    return [re.sub(r" \(Triggered internally at .*\)$", "", line)
            for line in err.splitlines() if "Warning" in line]


@pytest.mark.parametrize("name", sorted(SPARSE_SCRIPTS))
def test_sparse_creation_warnings_as_torch(name, tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import torch\n" + SPARSE_SCRIPTS[name])
    assert warnings_of(script, as_ember=True) == warnings_of(script, as_ember=False)
