"""``ember._foreach_*`` against ``torch._foreach_*``: every op and overload, in-place forms
returning their list, autograd through the out-of-place forms, and the errors PyTorch raises.
The gap: Polyak / EMA target updates written ``torch._foreach_lerp_(target, online, tau)`` or
``_foreach_mul_`` + ``_foreach_add_`` stopped with AttributeError."""

import doctest

import numpy as np
import pytest

import ember
import ember._foreach as fe

UNARY = fe._UNARY
BINARY = fe._BINARY


def _lists(lib, dtype="float32", positive=False):
    rng = np.random.default_rng(3)
    arrays = [rng.uniform(-0.9, 0.9, s).astype(dtype) for s in ((3,), (2, 2), ())]
    if positive:
        arrays = [np.abs(a) + 0.1 for a in arrays]
    return [lib.tensor(a) for a in arrays]


def _close(got, expected, inplace_list=False):
    assert type(got) is type(expected)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype.__repr__() == e.dtype.__repr__() and tuple(g.shape) == tuple(e.shape)
        np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("op", UNARY)
def test_unary_ops_match_torch(torch, op):
    positive = op in ("acos", "asin", "log", "log10", "log1p", "log2", "rsqrt", "sqrt",
                      "lgamma", "reciprocal")
    ours, theirs = _lists(ember, positive=positive), _lists(torch, positive=positive)
    _close(getattr(ember, f"_foreach_{op}")(ours), getattr(torch, f"_foreach_{op}")(theirs))
    got = getattr(ember, f"_foreach_{op}_")(ours)
    expected = getattr(torch, f"_foreach_{op}_")(theirs)
    assert got is ours
    _close(got, expected)


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("kind", ["list", "scalar", "scalarlist", "tensor"])
def test_binary_ops_and_overloads_match_torch(torch, op, kind):
    def other(lib):
        return {"list": lambda: _lists(lib, positive=True), "scalar": lambda: 1.5,
                "scalarlist": lambda: [0.5, 2.0, -1.0],
                "tensor": lambda: lib.tensor(0.75)}[kind]()
    base = dict(positive=op == "pow")
    ours, theirs = _lists(ember, **base), _lists(torch, **base)
    expected = getattr(torch, f"_foreach_{op}")(theirs, other(torch))
    _close(getattr(ember, f"_foreach_{op}")(ours, other(ember)), expected)
    got = getattr(ember, f"_foreach_{op}_")(ours, other(ember))
    assert got is ours
    _close(got, getattr(torch, f"_foreach_{op}_")(theirs, other(torch)))


@pytest.mark.parametrize("op", ["add", "sub"])
def test_alpha_with_tensors_and_refused_with_numbers(torch, op):
    ours, theirs = _lists(ember), _lists(torch)
    _close(getattr(ember, f"_foreach_{op}")(ours, _lists(ember, positive=True), alpha=0.3),
           getattr(torch, f"_foreach_{op}")(theirs, _lists(torch, positive=True), alpha=0.3))
    _close(ember._foreach_add(ours, ember.tensor(2.0), alpha=3),
           torch._foreach_add(theirs, torch.tensor(2.0), alpha=3))
    bads = [lambda L: 1.0, lambda L: [1.0, 2.0, 3.0]]
    if op == "sub":  # sub has no 0-dim tensor overload with alpha
        bads.append(lambda L: L.tensor(2.0))
    for bad in bads:
        with pytest.raises(TypeError):
            getattr(torch, f"_foreach_{op}")(theirs, bad(torch), alpha=2)
        with pytest.raises(TypeError):
            getattr(ember, f"_foreach_{op}")(ours, bad(ember), alpha=2)


def test_pow_with_a_scalar_base(torch):
    _close(ember._foreach_pow(2.0, _lists(ember)), torch._foreach_pow(2.0, _lists(torch)))


@pytest.mark.parametrize("weight", ["scalar", "scalarlist", "list", "tensor"])
def test_lerp_the_polyak_update(torch, weight):
    def w(lib):
        return {"scalar": 0.05, "scalarlist": [0.1, 0.5, 0.9],
                "list": _lists(lib, positive=True), "tensor": lib.tensor(0.3)}[weight]
    ours, theirs = _lists(ember), _lists(torch)
    ends_o, ends_t = _lists(ember, positive=True), _lists(torch, positive=True)
    _close(ember._foreach_lerp(ours, ends_o, w(ember)), torch._foreach_lerp(theirs, ends_t,
                                                                            w(torch)))
    got = ember._foreach_lerp_(ours, ends_o, w(ember))
    assert got is ours
    _close(got, torch._foreach_lerp_(theirs, ends_t, w(torch)))


def test_mul_then_add_soft_update_equals_lerp():
    target, online = _lists(ember), _lists(ember, positive=True)
    expected = ember._foreach_lerp(target, online, 0.1)
    ember._foreach_mul_(target, 0.9)
    ember._foreach_add_(target, online, alpha=0.1)
    _close(tuple(target), expected)


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("value", ["default", "scalar", "scalarlist", "tensor"])
def test_addcmul_addcdiv(torch, op, value):
    def args(lib):
        v = {"default": {}, "scalar": {"value": 0.5}, "scalarlist": {},
             "tensor": {}}[value]
        extra = {"scalarlist": ([0.5, -2.0, 3.0],),
                 "tensor": (lib.tensor([0.5, -2.0, 3.0]),)}.get(value, ())
        return (_lists(lib), _lists(lib), _lists(lib, positive=True)) + extra, v
    (a, kw), (b, kw2) = args(ember), args(torch)
    _close(getattr(ember, f"_foreach_{op}")(*a, **kw), getattr(torch, f"_foreach_{op}")(*b, **kw2))
    got = getattr(ember, f"_foreach_{op}_")(*a, **kw)
    assert got is a[0]
    _close(got, getattr(torch, f"_foreach_{op}_")(*b, **kw2))


@pytest.mark.parametrize("ord", [2, 1, float("inf"), 0.5])
def test_norm_max_clone_zero_copy(torch, ord):
    _close(ember._foreach_norm(_lists(ember), ord), torch._foreach_norm(_lists(torch), ord))
    _close(ember._foreach_norm(_lists(ember), ord, dtype=ember.float64),
           torch._foreach_norm(_lists(torch), ord, dtype=torch.float64))
    _close(ember._foreach_max(_lists(ember)), torch._foreach_max(_lists(torch)))
    ours, theirs = _lists(ember), _lists(torch)
    clones = ember._foreach_clone(ours)
    assert all(c is not t for c, t in zip(clones, ours))
    _close(clones, torch._foreach_clone(theirs))
    assert ember._foreach_copy_(ours, _lists(ember, positive=True)) is ours
    _close(ours, torch._foreach_copy_(theirs, _lists(torch, positive=True)))
    assert ember._foreach_zero_(ours) is ours
    _close(ours, torch._foreach_zero_(theirs))


def test_in_place_keeps_the_container_type(torch):
    ours = tuple(_lists(ember))
    assert ember._foreach_add_(ours, 1) is ours
    assert type(torch._foreach_add_(tuple(_lists(torch)), 1)) is tuple


def test_autograd_through_out_of_place_forms(torch):
    xo = [ember.tensor([0.5, 1.5], requires_grad=True), ember.tensor(2.0, requires_grad=True)]
    xt = [torch.tensor([0.5, 1.5], requires_grad=True), torch.tensor(2.0, requires_grad=True)]
    for lib, xs in ((ember, xo), (torch, xt)):
        ys = lib._foreach_mul(lib._foreach_exp(xs), [3.0, -1.0])
        ys = lib._foreach_lerp(ys, xs, 0.25)
        sum(y.sum() for y in ys).backward()
    for o, t in zip(xo, xt):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_errors_match_torch(torch):
    cases = [
        lambda L: L._foreach_add([], []),
        lambda L: L._foreach_add(_lists(L), _lists(L)[:1]),
        lambda L: L._foreach_add(_lists(L), [1.0]),
        lambda L: L._foreach_mul(_lists(L), L.tensor([1.0, 2.0])),
        lambda L: L._foreach_lerp(_lists(L), _lists(L), [0.5]),
        lambda L: L._foreach_exp([L.ones(2), 1.0]),
        lambda L: L._foreach_norm(_lists(L), "fro"),
        lambda L: L._foreach_mul_([L.ones(2, requires_grad=True)], 3),
        lambda L: L._foreach_add_([L.ones(2, dtype=L.int64)], 1.5),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(Exception) as theirs:
            case(torch)
        with pytest.raises(type(theirs.value)) as ours:
            case(ember)
        if i < 5:
            assert str(ours.value) == str(theirs.value), i


def test_docstring_examples_run():
    result = doctest.testmod(fe, extraglobs={"ember": ember}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 10
