"""Every overload of the random creation functions against PyTorch's signatures: positional
and keyword forms, size as varargs / tuple / list / Size / ``size=``, ``generator=``,
``dtype=``, ``device=``, ``requires_grad=``, ``out=``; PyTorch's exception types for bad
calls; zero gradients for normal/bernoulli/poisson parameters."""

import warnings

import pytest

import ember

# Each call is evaluated with ember and with torch (as ``L``); the outcome (shape, dtype,
# requires_grad, or the exception type) must agree.
CALLS = [
    # rand / randn: size forms
    "L.rand(2, 3)", "L.rand((2, 3))", "L.rand([2, 3])", "L.rand(L.Size([2, 3]))",
    "L.rand(size=(2, 3))", "L.rand(size=[2])", "L.rand(())", "L.rand(0, 2)",
    "L.rand(L.tensor(2))", "L.randn(2, 3)", "L.randn((2,))", "L.randn(size=(2,))",
    "L.rand()", "L.randn()", "L.rand(size=2)", "L.rand(2, (3,))", "L.rand(2.0)",
    "L.rand(-1)", "L.rand(2, size=(2,))",
    # rand / randn: keywords and dtypes
    "L.rand(2, dtype=L.float64)", "L.rand(2, dtype=L.float16)", "L.rand(2, dtype=L.bfloat16)",
    "L.rand(2, dtype=L.complex64)", "L.randn(2, dtype=L.complex128)",
    "L.rand(2, dtype=L.int64)", "L.rand(2, dtype=L.bool)", "L.randn(2, dtype=L.int32)",
    "L.rand(2, requires_grad=True)", "L.randn(2, 2, requires_grad=True, dtype=L.float64)",
    "L.rand(2, device='cpu')", "L.rand(2, layout=L.strided)", "L.rand(2, pin_memory=False)",
    "L.rand(2, generator=L.Generator())", "L.randn(2, generator=None)",
    "L.rand(2, generator=1)",
    # randint: every form of its two overloads
    "L.randint(10, (3,))", "L.randint(10, size=(3,))", "L.randint(3, 10, (2,))",
    "L.randint(3, 10, size=(2,))", "L.randint(low=3, high=10, size=(2,))",
    "L.randint(high=10, size=(2,))", "L.randint(size=(2,), high=10)",
    "L.randint(3, high=10, size=(2,))", "L.randint(10, [3])", "L.randint(10, L.Size([3]))",
    "L.randint(10, ())", "L.randint(L.tensor(2), L.tensor(5), (2,))",
    "L.randint(10, 3)", "L.randint(10)", "L.randint(3, 10)", "L.randint(low=2, size=(2,))",
    "L.randint(2, 5, size=(2,), low=1)", "L.randint(10.5, (3,))",
    "L.randint(L.tensor(2.5), (2,))", "L.randint(5, 5, (3,))", "L.randint(6, 5, (3,))",
    "L.randint(0, (3,))", "L.randint(2 ** 63, (2,))", "L.randint(-5, 0, (3,))",
    "L.randint(10, (3,), dtype=L.float32)", "L.randint(2, (3,), dtype=L.bool)",
    "L.randint(10, (3,), dtype=L.bool)", "L.randint(0, 256, (2,), dtype=L.uint8)",
    "L.randint(0, 257, (2,), dtype=L.uint8)", "L.randint(-1, 3, (3,), dtype=L.uint8)",
    "L.randint(-129, 0, (2,), dtype=L.int8)", "L.randint(0, 2 ** 31, (2,), dtype=L.int32)",
    "L.randint(0, 2 ** 31 + 1, (2,), dtype=L.int32)", "L.randint(0, 70000, (2,), dtype=L.float16)",
    "L.randint(0, 2, (2,), dtype=L.complex64)", "L.randint(10, (3,), requires_grad=True)",
    "L.randint(10, (3,), dtype=L.float32, requires_grad=True)",
    "L.randint(10, (3,), generator=L.Generator())", "L.randint(10, (3,), device='cpu')",
    # randperm
    "L.randperm(5)", "L.randperm(0)", "L.randperm(n=4)", "L.randperm(L.tensor(5))",
    "L.randperm(5, dtype=L.float32)", "L.randperm(5, dtype=L.int32)",
    "L.randperm(256, dtype=L.uint8)", "L.randperm(257, dtype=L.uint8)",
    "L.randperm(129, dtype=L.int8)", "L.randperm(5, dtype=L.bool)",
    "L.randperm(5, dtype=L.complex64)", "L.randperm(-1)", "L.randperm(5.0)",
    "L.randperm(5, requires_grad=True)", "L.randperm(5, dtype=L.float32, requires_grad=True)",
    "L.randperm(5, generator=L.Generator())",
    # normal: the four overloads
    "L.normal(L.zeros(3), L.ones(3))", "L.normal(L.zeros(3))", "L.normal(L.zeros(3), 2.0)",
    "L.normal(0.0, L.ones(3))", "L.normal(0.0, 1.0, (3,))", "L.normal(0.0, 1.0, size=(3,))",
    "L.normal(0, 1, [3])", "L.normal(mean=L.zeros(3), std=L.ones(3))",
    "L.normal(mean=L.zeros(3))", "L.normal(L.zeros(2, 1), L.ones(3))",
    "L.normal(0.0, 1.0, (3,), dtype=L.float64)", "L.normal(0.0, 1.0, (2,), dtype=L.float16)",
    "L.normal(0.0, 1.0, (2,), dtype=L.complex64)", "L.normal(L.zeros(2, dtype=L.complex64), 1.0)",
    "L.normal(0.0, 1.0, (3,), requires_grad=True)", "L.normal(L.zeros(3, dtype=L.float64), 1.0)",
    "L.normal(L.zeros(3), L.ones(3, dtype=L.float64))",
    "L.normal(0.0, L.ones(3, dtype=L.float64))",
    "L.normal(L.zeros(3, requires_grad=True), 1.0)",
    "L.normal(L.zeros(3), L.ones(3, requires_grad=True))",
    "L.normal(0.0, 1.0)", "L.normal(0.0, -1.0, (3,))", "L.normal(L.zeros(3), -1.0)",
    "L.normal(L.zeros(3), float('nan'))", "L.normal(L.zeros(3), L.tensor([1.0, -1.0, 1.0]))",
    "L.normal(L.zeros(3), L.ones(2))", "L.normal(L.zeros(3, dtype=L.int64), 1.0)",
    "L.normal(L.zeros(3), L.ones(3), dtype=L.float64)", "L.normal(L.zeros(3), 1.0, (3,))",
    "L.normal(0.0, 1.0, (3,), dtype=L.int64)", "L.normal(0.0, 1.0, (2,), generator=L.Generator())",
    "L.normal(L.zeros(2), L.ones(2), generator=L.Generator())",
    # bernoulli
    "L.bernoulli(L.full((3,), 0.5))", "L.bernoulli(L.full((3,), 0.5), 0.0)",
    "L.bernoulli(L.full((3,), 0.5), p=1.0)", "L.bernoulli(input=L.ones(2))",
    "L.bernoulli(L.full((3,), 0.5, dtype=L.float64))", "L.bernoulli(L.ones(2, dtype=L.float16))",
    "L.bernoulli(L.ones(2, dtype=L.int64), 0.5)", "L.bernoulli(L.full((3,), 1.5))",
    "L.bernoulli(L.ones(2, dtype=L.int64))", "L.bernoulli(L.ones(2, dtype=L.bool))",
    "L.bernoulli(L.ones(2), 2.0)", "L.bernoulli(L.ones(2), L.ones(2))",
    "L.bernoulli(L.full((3,), 0.5, requires_grad=True))",
    "L.bernoulli(L.full((3,), 0.5), generator=L.Generator())",
    # multinomial
    "L.multinomial(L.ones(4), 2)", "L.multinomial(L.ones(4), 2, True)",
    "L.multinomial(L.ones(4), num_samples=2, replacement=True)", "L.multinomial(L.ones(2, 4), 2)",
    "L.multinomial(L.ones(0, 3), 1)", "L.multinomial(L.tensor([0.0, 1.0, 0.0]), 2)",
    "L.multinomial(L.ones(4), 5)", "L.multinomial(L.ones(4), 0)", "L.multinomial(L.ones(4), -1)",
    "L.multinomial(L.ones(4, dtype=L.int64), 2)", "L.multinomial(L.ones(1, 1, 4), 2)",
    "L.multinomial(L.zeros(4), 2)", "L.multinomial(L.tensor([1.0, -1.0]), 1)",
    "L.multinomial(L.ones(2, 0), 1)", "L.multinomial(L.ones(4, requires_grad=True), 2)",
    "L.multinomial(L.ones(4), 2, generator=L.Generator())",
    # poisson
    "L.poisson(L.ones(3))", "L.poisson(L.ones(3), L.Generator())",
    "L.poisson(L.ones(3), generator=L.Generator())", "L.poisson(L.ones(3, dtype=L.float64))",
    "L.poisson(L.ones(3, dtype=L.int64))", "L.poisson(-L.ones(3))", "L.poisson(L.ones(3), 1)",
    "L.poisson(L.ones(3, requires_grad=True))",
    # *_like
    "L.rand_like(L.ones(2, 3))", "L.rand_like(L.ones(2), dtype=L.float64)",
    "L.rand_like(L.ones(2), generator=L.Generator())", "L.rand_like(L.ones(2), requires_grad=True)",
    "L.rand_like(L.ones(2), memory_format=L.preserve_format)", "L.rand_like(input=L.ones(2))",
    "L.rand_like(L.ones(2, dtype=L.int64))", "L.rand_like(L.ones(2, dtype=L.int64), dtype=L.float32)",
    "L.randn_like(L.ones(2, 3))", "L.randn_like(L.ones(2, dtype=L.int64))",
    "L.randn_like(L.ones(2), generator=L.Generator())", "L.randn_like(L.ones(2, dtype=L.complex64))",
    "L.randint_like(L.ones(3), 10)", "L.randint_like(L.ones(3), 3, 10)",
    "L.randint_like(L.ones(3), high=10)", "L.randint_like(L.ones(3), low=3, high=10)",
    "L.randint_like(L.ones(3), L.tensor(10))", "L.randint_like(L.ones(3), L.tensor(5.0))",
    "L.randint_like(L.ones(3), 1, L.tensor(5))", "L.randint_like(L.ones(3, dtype=L.int32), 10)",
    "L.randint_like(L.ones(3, dtype=L.bool), 2)", "L.randint_like(L.ones(3), 10, dtype=L.int64)",
    "L.randint_like(L.ones(3), 10, generator=L.Generator())",
    "L.randint_like(L.ones(3), 10, requires_grad=True)", "L.randint_like(L.ones(3))",
    "L.randint_like(L.ones(3), low=3)", "L.randint_like(L.ones(3), 2.5)",
    "L.randint_like(L.ones(3), L.tensor([5]))", "L.randint_like(L.ones(3), 6, 5)",
    "L.randint_like(L.ones(3, dtype=L.uint8), 300)",
]


def _outcome(lib, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = eval(call, {"L": lib})
        except Exception as e:  # the type is what must agree
            return type(e).__name__
    return tuple(r.shape), str(r.dtype), r.requires_grad


@pytest.mark.parametrize("call", CALLS)
def test_call_matches_torch(torch, call):
    assert _outcome(ember, call) == _outcome(torch, call)


OUT_CALLS = [
    ("L.rand(2, out=o)", "L.empty(3)"), ("L.rand(2, out=o)", "L.empty(0, dtype=L.float64)"),
    ("L.rand(size=(2,), out=o)", "L.empty(2, dtype=L.float16)"),
    ("L.rand(2, out=o)", "L.empty(2, dtype=L.int64)"),
    ("L.rand(2, out=o, dtype=L.float64)", "L.empty(2)"),
    ("L.rand(2, out=o)", "L.empty(2, requires_grad=True)"),
    ("L.randn(2, 2, out=o)", "L.empty(4, dtype=L.float64)"),
    ("L.randint(10, (3,), out=o)", "L.empty(0, dtype=L.int32)"),
    ("L.randint(0, 10, (2,), out=o)", "L.empty(2)"),
    ("L.randint(0, 10, (2,), out=o, dtype=L.float16)", "L.empty(2)"),
    ("L.randperm(5, out=o)", "L.empty(3, dtype=L.float32)"),
    ("L.normal(0.0, 1.0, (2,), out=o)", "L.empty(2, dtype=L.float64)"),
    ("L.normal(0.0, 1.0, (2,), out=o, dtype=L.float64)", "L.empty(2)"),
    ("L.normal(L.zeros(2), L.ones(2), out=o)", "L.empty(0)"),
    ("L.normal(L.zeros(2), 1.0, out=o)", "L.empty(2, dtype=L.float64)"),
    ("L.bernoulli(L.full((2,), 0.5), out=o)", "L.empty(3, dtype=L.int64)"),
    ("L.multinomial(L.ones(3), 2, out=o)", "L.empty(5, dtype=L.int64)"),
    ("L.multinomial(L.ones(3), 2, out=o)", "L.empty(2, dtype=L.int32)"),
    ("L.zeros(2, out=o)", "L.empty(3, dtype=L.int32)"),
    ("L.zeros(2, dtype=L.float64, out=o)", "L.empty(3, dtype=L.int32)"),
    ("L.ones(2, 2, out=o)", "L.empty(0)"), ("L.full((2,), 1.5, out=o)", "L.empty(3, dtype=L.int32)"),
    ("L.empty(3, out=o)", "L.empty(3, dtype=L.float64)"),
    ("L.arange(3, out=o)", "L.empty(3)"), ("L.arange(3.5, out=o)", "L.empty(0, dtype=L.int64)"),
    ("L.linspace(0, 1, 3, out=o)", "L.empty(0, dtype=L.float64)"),
    ("L.logspace(0, 1, 3, out=o)", "L.empty(0, dtype=L.float64)"),
    ("L.eye(2, 3, out=o)", "L.empty(0, dtype=L.int64)"),
    ("L.arange(4, out=o)", "L.empty(2, requires_grad=True)"),
    ("L.rand(2, out=o, requires_grad=True)", "L.empty(2)"),
    ("L.zeros(2, out=o, requires_grad=True)", "L.empty(0)"),
    ("L.eye(2, out=o, requires_grad=True)", "L.empty(0)"),
    ("L.normal(0.0, 1.0, (2,), out=o, requires_grad=True)", "L.empty(2)"),
]


def _out_outcome(lib, call, make_out):
    out = eval(make_out, {"L": lib})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = eval(call, {"L": lib, "o": out})
        except Exception as e:
            return type(e).__name__
    return r is out, tuple(out.shape), str(out.dtype), out.requires_grad


@pytest.mark.parametrize("call,make_out", OUT_CALLS)
def test_out_matches_torch(torch, call, make_out):
    assert _out_outcome(ember, call, make_out) == _out_outcome(torch, call, make_out)


def test_out_receives_the_draw():
    g = ember.Generator().manual_seed(3)
    out = ember.empty(4)
    got = ember.rand(4, generator=g, out=out)
    assert got is out
    assert ember.equal(out, ember.rand(4, generator=ember.Generator().manual_seed(3)))
    idx = ember.randperm(6, out=ember.empty(0, dtype=ember.int64))
    assert sorted(idx.tolist()) == list(range(6))


def test_values_lie_in_their_ranges():
    assert set(ember.randint(3, 6, size=(200,)).tolist()) <= {3, 4, 5}
    assert set(ember.randint(4, size=(200,)).tolist()) == {0, 1, 2, 3}
    x = ember.randint(-5, 0, (100,), dtype=ember.float32)
    assert x.dtype is ember.float32 and float(x.min()) >= -5 and float(x.max()) <= -1
    assert sorted(ember.randperm(7, dtype=ember.float32).tolist()) == [float(i) for i in range(7)]
    assert set(ember.randint_like(ember.ones(50, dtype=ember.bool), 2).tolist()) <= {False, True}
    u = ember.rand(1000, dtype=ember.complex64)
    assert 0 <= float(u.real.min()) and float(u.imag.max()) < 1


def test_complex_normal_splits_variance():
    z = ember.randn(20000, dtype=ember.complex128, generator=ember.Generator().manual_seed(0))
    assert abs(float(z.real.var()) - 0.5) < 0.03 and abs(float(z.imag.var()) - 0.5) < 0.03


def test_generator_reproduces_every_factory():
    for call in ("L.rand(3, generator=g)", "L.randn(3, generator=g)",
                 "L.randint(9, (3,), generator=g)", "L.randperm(5, generator=g)",
                 "L.normal(0.0, 1.0, (3,), generator=g)", "L.normal(L.zeros(3), 1.0, generator=g)",
                 "L.bernoulli(L.full((4,), 0.5), generator=g)", "L.poisson(L.ones(3), g)",
                 "L.multinomial(L.ones(5), 3, generator=g)", "L.rand_like(L.ones(3), generator=g)",
                 "L.randn_like(L.ones(3), generator=g)",
                 "L.randint_like(L.ones(3), 9, generator=g)"):
        a = eval(call, {"L": ember, "g": ember.Generator().manual_seed(11)})
        b = eval(call, {"L": ember, "g": ember.Generator().manual_seed(11)})
        assert ember.equal(a, b), call


@pytest.mark.parametrize("call,node", [
    ("L.normal(m, s)", "NormalBackward3"), ("L.normal(m, 2.0)", "NormalBackward1"),
    ("L.normal(0.0, s)", "NormalBackward2"), ("L.bernoulli(p)", "BernoulliBackward0"),
    ("L.poisson(p)", "PoissonBackward0"),
])
def test_parameters_get_zero_gradients_as_in_torch(torch, call, node):
    grads = {}
    for lib in (ember, torch):
        env = {"L": lib, "m": lib.zeros(3, requires_grad=True),
               "s": lib.ones(3, requires_grad=True),
               "p": lib.full((3,), 0.5, requires_grad=True)}
        out = eval(call, env)
        assert type(out.grad_fn).__name__ == node or out.grad_fn.name() == node
        out.sum().backward()
        grads[lib.__name__] = [env[k].grad.tolist() if env[k].grad is not None else None
                               for k in ("m", "s", "p")]
    assert grads["ember"] == grads["torch"]


def test_no_graph_under_no_grad():
    with ember.no_grad():
        assert not ember.normal(ember.zeros(2, requires_grad=True), 1.0).requires_grad


def test_meta_draws_nothing():
    g = ember.Generator().manual_seed(5)
    for call in ("rand(2, 3, device='meta', generator=g)", "randn(4, device='meta', generator=g)",
                 "randint(5, (2,), device='meta', generator=g)",
                 "randperm(4, device='meta', generator=g)",
                 "normal(0.0, 1.0, (2,), device='meta', generator=g)"):
        t = eval("ember." + call, {"ember": ember, "g": g})
        assert t.device.type == "meta"
    assert ember.equal(g.get_state(), ember.Generator().manual_seed(5).get_state())


def test_randint_bound_warnings_as_torch(torch):
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="out of bounds"):
            lib.randint(0, 2 ** 24 + 2, (2,), dtype=lib.float32)


def test_integer_arange_truncates_bounds_as_torch(torch):
    for args in [(0.5, 3.6), (-2.5, 3.7, 1.5), (5.5, 0.2, -1.5), (0, 3, 0.5)]:
        for name in ("int64", "int32", "int16", "float16"):
            got = [_outcome_values(lib, args, name) for lib in (ember, torch)]
            assert got[0] == got[1], (args, name)


def _outcome_values(lib, args, name):
    try:
        return lib.arange(*args, dtype=getattr(lib, name)).tolist()
    except Exception as e:
        return type(e).__name__


@pytest.mark.parametrize("call", [
    "L.zeros(2, 3)", "L.zeros((2, 3))", "L.zeros(size=(2,))", "L.zeros(size=2)",
    "L.zeros(2, size=(2,))", "L.zeros(2, (3,))", "L.zeros(2.0)", "L.zeros(((2, 3),))",
    "L.zeros(-1)", "L.ones(2, -1)", "L.zeros()", "L.ones()", "L.empty()", "L.ones(size=[2, 3])",
    "L.empty(size=(2,))", "L.full(size=[2, 3], fill_value=2)", "L.full(2, 1.0)",
    "L.full([2], 1.0, out=L.empty(1), requires_grad=True)", "L.empty_strided((2, 3), (3, 1))",
    "L.zeros(2, 3, dtype=None, layout=L.strided, device=None, pin_memory=False)",
    "L.arange(end=4)", "L.arange(start=1, end=4, step=1)", "L.range(0, 3)", "L.range(3)",
    "L.eye(n=2, m=3)", "L.logspace(0, 1, 3, base=2)", "L.linspace(0, 1, steps=3)",
])
def test_creation_size_forms_match_torch(torch, call):
    assert _outcome(ember, call) == _outcome(torch, call)
