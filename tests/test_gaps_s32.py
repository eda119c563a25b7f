"""Small PyTorch gaps closed in session 32 (issue 13), each compared with torch: mode's index
among ties and with NaN, sparse COO pointwise ops, the legacy Module.register_backward_hook,
histogram(density=True) and 2-byte float add/logsigmoid."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _same(ours, theirs):
    assert np.array_equal(ours.numpy(), theirs.numpy(), equal_nan=True)


# -- 2. torch.mode / Tensor.mode: which index among equal values ------------------------------

def _mode_cases(seed):
    rng = np.random.default_rng(seed)
    for trial in range(400):
        nd = int(rng.integers(1, 4))
        shape = tuple(int(s) for s in rng.integers(1, 8, nd))
        if trial % 7 == 0:  # long rows: PyTorch's sort is unstable past 16 elements
            shape = shape[:-1] + (int(rng.integers(17, 90)),)
        dtype = [np.int64, np.float32, np.float64, np.int8][trial % 4]
        a = rng.integers(0, int(rng.integers(1, 5)), shape).astype(dtype)
        if dtype == np.float64:
            a[rng.random(shape) < 0.3] = np.nan
        yield a, int(rng.integers(-nd, nd)), bool(rng.integers(0, 2))


@pytest.mark.parametrize("seed", [0, 1])
def test_mode_index_matches_torch(seed):
    for a, dim, keepdim in _mode_cases(seed):
        tv, ti = torch.mode(torch.from_numpy(a.copy()), dim, keepdim)
        ev, ei = ember.mode(ember.from_numpy(a.copy()), dim, keepdim)
        _same(ev, tv)
        _same(ei, ti)
        mv, mi = ember.from_numpy(a.copy()).mode(dim=dim, keepdim=keepdim)
        _same(mi, ti)


@pytest.mark.parametrize("row", [
    [float("nan")] * 3, [float("nan"), 0.0, float("nan")], [1.0, float("nan"), 0.0],
    [float("nan"), 2.0, 1.0], [2.0, 1.0, float("nan")], [0.0, 0.0, float("nan"), float("nan")],
    [float("nan"), 1.0, 1.0, float("nan"), float("nan")],
])
def test_mode_nan_rows_match_torch(row):
    tv, ti = torch.mode(torch.tensor(row))
    ev, ei = ember.mode(ember.tensor(row))
    _same(ev, tv)
    assert ei.item() == ti.item()


def test_mode_long_row_with_ties_matches_torch():
    a = np.random.default_rng(5).integers(0, 5, (3, 3000))
    _same(ember.mode(ember.from_numpy(a)).indices, torch.mode(torch.from_numpy(a)).indices)
    b = np.random.default_rng(6).integers(0, 2, 40).astype(bool)
    _same(ember.mode(ember.from_numpy(b)).indices, torch.mode(torch.from_numpy(b)).indices)


# -- 3. sparse COO: relu_ / square / nan_to_num ------------------------------------------------

def _coo(lib, dtype=None, coalesce=False, dup=False):
    idx = [[0, 1, 1, 0], [2, 0, 2, 2]] if dup else [[0, 1, 1], [2, 0, 2]]
    vals = [-1.5, 2.0, float("nan"), float("inf")] if dup else [-1.5, 2.0, float("nan")]
    s = lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals), (2, 3))
    if dtype is not None:
        s = s.to(getattr(lib, dtype))
    return s.coalesce() if coalesce else s


def _both(fn, **kw):
    """fn(lib, s) for ember and torch: the same sparse result, or the same exception type
    and message."""
    results = []
    for lib in (ember, torch):
        try:
            results.append(fn(lib, _coo(lib, **kw)))
        except Exception as err:  # noqa: BLE001  (compared below)
            results.append(err)
    ours, theirs = results
    if isinstance(theirs, Exception):
        assert type(ours).__name__ == type(theirs).__name__ or isinstance(ours, type(theirs))
        assert str(ours).splitlines()[0][:60] == str(theirs).splitlines()[0][:60]
        return None, None
    assert not isinstance(ours, Exception), ours
    assert ours.layout == ember.sparse_coo and theirs.layout == torch.sparse_coo
    assert ours.is_coalesced() == theirs.is_coalesced()
    assert str(ours.dtype) == str(theirs.dtype)
    _same(ours.to_dense(), theirs.to_dense())
    return ours, theirs


@pytest.mark.parametrize("dup", [False, True])
@pytest.mark.parametrize("fn", [
    lambda lib, s: lib.square(s), lambda lib, s: s.square(),
    lambda lib, s: lib.nan_to_num(s), lambda lib, s: s.nan_to_num(nan=3.0),
    lambda lib, s: lib.nan_to_num(s, nan=7.0, posinf=1.0, neginf=-1.0),
    lambda lib, s: lib.nn.functional.relu(s),
])
def test_coo_out_of_place_matches_torch(fn, dup):
    _both(fn, dup=dup)
    _both(fn, dup=dup, dtype="half")


def _dt(lib, name):
    return getattr(lib, name)


@pytest.mark.parametrize("name", ["int64", "uint8", "bool", "float16"])
def test_coo_square_dtypes_match_torch(name):
    results = []
    for lib in (ember, torch):
        s = lib.sparse_coo_tensor(lib.tensor([[0, 2]]), lib.tensor([3, 1]).to(_dt(lib, name)),
                                  (4,))
        try:
            results.append(lib.square(s))
        except RuntimeError as err:
            results.append(str(err))
    ours, theirs = results
    if isinstance(theirs, str):
        assert ours == theirs == "result type Long can't be cast to the desired output type Bool"
    else:
        assert str(ours.dtype) == str(theirs.dtype)
        _same(ours.to_dense(), theirs.to_dense())


def test_coo_square_grad_matches_torch():
    grads = []
    for lib in (ember, torch):
        x = _coo(lib, dup=True).requires_grad_()
        y = lib.square(x)
        assert y.grad_fn.name() == "PowBackward0"
        lib.sparse.sum(y).backward()
        grads.append(x.grad)
    _same(grads[0].to_dense(), grads[1].to_dense())
    assert grads[0].is_coalesced() == grads[1].is_coalesced()
    assert ember.nan_to_num(_coo(ember).requires_grad_()).grad_fn.name() == \
        torch.nan_to_num(_coo(torch).requires_grad_()).grad_fn.name() == "NanToNumBackward0"


@pytest.mark.parametrize("fn", [
    lambda lib, s: lib.nn.functional.relu(s, inplace=True), lambda lib, s: lib.relu_(s),
    lambda lib, s: s.relu_(), lambda lib, s: s.nan_to_num_(nan=2.0),
])
@pytest.mark.parametrize("coalesce", [False, True])
def test_coo_inplace_matches_torch(fn, coalesce):
    def run(lib, s):
        vals = s.values() if coalesce else None
        version = s._version
        out = fn(lib, s)
        assert out is s and s._version == version + 1
        if vals is not None:  # values() is a view of the stored values
            _same(vals, s.values())
        return s
    _both(run, coalesce=coalesce)
    _both(run, coalesce=coalesce, dtype="long")


def test_coo_inplace_refusals_match_torch():
    _both(lambda lib, s: s.square_(), coalesce=True)  # no sparse pow_
    _both(lambda lib, s: lib.relu_(s), coalesce=True, dtype="bool")

    def leaf(lib, s):
        return lib.relu_(s.requires_grad_())
    _both(leaf, coalesce=True)


# -- 6. float16/bfloat16: add/sub with alpha (scalar-loop tails), logsigmoid's gradient --------

LOW = ["float16", "bfloat16"]


def _low_pair(dtype, sa, sb, seed):
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(sa) * rng.uniform(0.01, 100)).astype(np.float32)
    b = np.asarray(rng.standard_normal(sb) * rng.uniform(0.01, 100)).astype(np.float32)
    return ([ember.from_numpy(x).to(getattr(ember, dtype)) for x in (a, b)],
            [torch.from_numpy(x).to(getattr(torch, dtype)) for x in (a, b)])


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("sa,sb", [
    ((7,), (7,)), ((50,), (50,)), ((101,), ()), ((4, 50), (50,)), ((4, 50), (4, 1)),
    ((50, 4), (4,)), ((3, 2, 50), (2, 1)), ((3, 40), (3, 40)), ((70000,), (70000,)),
])
def test_low_add_alpha_bitwise(dtype, sa, sb):
    for seed in range(3):
        (ea, eb), (ta, tb) = _low_pair(dtype, sa, sb, seed)
        alpha = float(np.random.default_rng(seed).uniform(-3, 3))
        _same(ember.add(ea, eb, alpha=alpha).float(), torch.add(ta, tb, alpha=alpha).float())
        _same(ea.sub(eb, alpha=alpha).float(), ta.sub(tb, alpha=alpha).float())
        _same(ember.add(ea, 0.7, alpha=0.3).float(), torch.add(ta, 0.7, alpha=0.3).float())
        e2, t2 = ea.clone(), ta.clone()
        e2.add_(eb, alpha=alpha)
        t2.add_(tb, alpha=alpha)
        _same(e2.float(), t2.float())
        e2, t2 = ea.clone(), ta.clone()
        e2.add_(0.7, alpha=alpha)
        t2.add_(0.7, alpha=alpha)
        _same(e2.float(), t2.float())


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("n", [7, 64, 101, 2048])
def test_low_logsigmoid_grad_bitwise(dtype, n):
    (ea, eb), (ta, tb) = _low_pair(dtype, (n,), (n,), n)
    ea.requires_grad_()
    ta.requires_grad_()
    ey, ty = ember.nn.functional.logsigmoid(ea), torch.nn.functional.logsigmoid(ta)
    assert ey.grad_fn.name() == ty.grad_fn.name() == "LogSigmoidBackward0"
    _same(ey.detach().float(), ty.detach().float())
    ey.backward(eb)
    ty.backward(tb)
    _same(ea.grad.float(), ta.grad.float())


def test_logsigmoid_double_backward():
    x = ember.tensor([0.5, -1.3, 4.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(ember.nn.functional.logsigmoid, (x,))


# -- 5. histogram: weighted counts summed as PyTorch's threads sum them; density ---------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histogram_weighted_counts_bitwise(dtype):
    rng = np.random.default_rng(3)
    for n in (1, 150, 200, 201, 214, 999, 2900):
        a = (rng.standard_normal(n) * 10).astype(dtype)
        w = rng.uniform(0, 3, n).astype(dtype)
        bins = int(rng.integers(1, 40))
        ours = ember.histogram(ember.from_numpy(a), bins, weight=ember.from_numpy(w))
        theirs = torch.histogram(torch.from_numpy(a), bins, weight=torch.from_numpy(w))
        _same(ours.hist, theirs.hist)
        _same(ours.bin_edges, theirs.bin_edges)
        ours = ember.histogramdd(ember.from_numpy(a.reshape(-1, 1)), [bins],
                                 weight=ember.from_numpy(w))
        theirs = torch.histogramdd(torch.from_numpy(a.reshape(-1, 1)), [bins],
                                   weight=torch.from_numpy(w))
        _same(ours.hist, theirs.hist)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histogram_density_bitwise(dtype):
    rng = np.random.default_rng(4)
    for trial in range(40):
        n = int(rng.integers(1, 3000))
        a = (rng.standard_normal(n) * rng.uniform(0.1, 100) + rng.uniform(-50, 50)).astype(dtype)
        bins = int(rng.integers(1, 40))
        kw = {}
        if trial % 2:
            kw["range"] = (float(a.min()) - 1.5, float(a.max()) + 0.25)
        ours = ember.histogram(ember.from_numpy(a), bins, density=True, **kw)
        theirs = torch.histogram(torch.from_numpy(a), bins, density=True, **kw)
        _same(ours.hist, theirs.hist)
        edges = np.sort(rng.uniform(a.min() - 1, a.max() + 1, 7)).astype(dtype)
        ours = ember.histogram(ember.from_numpy(a), ember.from_numpy(edges), density=True)
        theirs = torch.histogram(torch.from_numpy(a), torch.from_numpy(edges), density=True)
        _same(ours.hist, theirs.hist)


# -- 4. Module.register_backward_hook (legacy): the last autograd node's gradients -------------

class _MulSum:
    @staticmethod
    def make(lib):
        class MulSum(lib.nn.Module):
            def forward(self, x, y):
                return (x * y).sum()
        return MulSum()


class _RowSum:
    @staticmethod
    def make(lib):
        class RowSum(lib.nn.Module):
            def forward(self, x):
                return (x * 2).sum(dim=1)
        return RowSum()


class _LinTimesInput:
    @staticmethod
    def make(lib):
        class LinTimesInput(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(3, 2)

            def forward(self, x):
                return self.lin(x) * x[:, :2]
        return LinTimesInput()


LEGACY_CASES = {
    "linear": (lambda lib: lib.nn.Linear(3, 2), [(4, 3)], True),
    "linear_input_no_grad": (lambda lib: lib.nn.Linear(3, 2), [(4, 3)], False),
    "linear_no_bias": (lambda lib: lib.nn.Linear(3, 2, bias=False), [(4, 3)], True),
    "linear_1d": (lambda lib: lib.nn.Linear(3, 2), [(3,)], True),
    "linear_3d": (lambda lib: lib.nn.Linear(3, 2), [(2, 4, 3)], True),
    "conv": (lambda lib: lib.nn.Conv2d(2, 3, 3), [(1, 2, 5, 5)], True),
    "conv_no_bias": (lambda lib: lib.nn.Conv2d(2, 3, 3, bias=False), [(1, 2, 5, 5)], True),
    "seq_relu_last": (lambda lib: lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU()),
                      [(2, 3)], True),
    "seq_linear_last": (lambda lib: lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Linear(3, 4)),
                        [(2, 3)], True),
    "mul_sum": (_MulSum.make, [(2, 3), (2, 3)], True),
    "row_sum": (_RowSum.make, [(2, 3)], True),
    "linear_times_input": (_LinTimesInput.make, [(2, 3)], True),
    "tanh": (lambda lib: lib.nn.Tanh(), [(2, 3)], True),
}


def _legacy_run(lib, case, scale):
    make, shapes, grad = LEGACY_CASES[case]
    lib.manual_seed(0)
    model = make(lib)
    rng = np.random.default_rng(1)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    xs = [lib.from_numpy(rng.standard_normal(s).astype(np.float32)).requires_grad_(grad)
          for s in shapes]
    seen = []

    def hook(mod, grad_input, grad_output):
        seen.append(([None if g is None else g.detach().numpy().copy() for g in grad_input],
                     [g.detach().numpy().copy() for g in grad_output]))
        if scale:
            return tuple(None if g is None else g * 2 for g in grad_input)
        return None

    with pytest.warns(FutureWarning, match="non-full backward hook"):
        model.register_backward_hook(hook)
        out = model(*xs)
    (out.sum() if out.dim() else out).backward()
    grads = [p.grad.numpy() for p in model.parameters()] + \
        [x.grad.numpy() for x in xs if x.requires_grad]
    return seen, grads


def _same_arrays(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", list(LEGACY_CASES))
def test_legacy_backward_hook_matches_torch(case):
    ours, theirs = _legacy_run(ember, case, False), _legacy_run(torch, case, False)
    assert len(ours[0]) == len(theirs[0]) == 1
    _same_arrays(ours[0][0][0], theirs[0][0][0])  # grad_input: shapes, None entries, order
    _same_arrays(ours[0][0][1], theirs[0][0][1])  # grad_output
    _same_arrays(ours[1], theirs[1])


@pytest.mark.parametrize("case", ["linear", "linear_no_bias", "conv", "mul_sum", "tanh",
                                  "linear_times_input"])
def test_legacy_backward_hook_replacement_matches_torch(case):
    ours, theirs = _legacy_run(ember, case, True), _legacy_run(torch, case, True)
    _same_arrays(ours[1], theirs[1])
