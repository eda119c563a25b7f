"""repr(tensor) exactly as torch prints it, built from the same data in both libraries."""

import math

import pytest

import ember

inf, nan = math.inf, math.nan

CASES = [
    'L.tensor([1+2j, 3-1j])', 'L.tensor([1.5+2j, -3-10.25j])', 'L.tensor([1+0j])',
    'L.tensor([0.001+1000j, 1+1j])', 'L.tensor([[1+1j, 2-2j], [3+3j, 4.5-4j]])',
    'L.tensor([1+2j], dtype=L.complex128)', 'L.arange(30.) * (1+1j)',
    'L.tensor([1, 2, 3])',
    'L.tensor([1., 2.])',
    'L.tensor([1.5, 2.25])',
    'L.tensor([1e-5, 1.])',
    'L.tensor([1e10, 1.])',
    'L.tensor([-1., 2.5, -100.])',
    'L.tensor(3.)',
    'L.tensor(3)',
    'L.tensor(-2.5)',
    'L.tensor([])',
    'L.zeros(0, 3)',
    'L.zeros(2, 0)',
    'L.tensor([1., 2.], dtype=L.float64)',
    'L.tensor([1, 2], dtype=L.int32)',
    'L.tensor([1, 2], dtype=L.uint8)',
    'L.tensor([1.5, 2.], dtype=L.float16)',
    'L.tensor([1.5, 2.], dtype=L.bfloat16)',
    'L.tensor([True, False])',
    'L.tensor([nan, inf, -inf, 1.])',
    'L.tensor([nan, 1.5])',
    'L.arange(2000.)',
    'L.arange(1001)',
    'L.arange(40.) / 3',
    'L.arange(30)',
    'L.arange(12.).reshape(3, 4)',
    'L.arange(24).reshape(2, 3, 4)',
    'L.tensor([1., 2.], requires_grad=True)',
    'L.tensor([1., 2.], requires_grad=True) * 2',
    'L.tensor([1., 2.], requires_grad=True) + 2',
    'L.tensor([1., 2.], requires_grad=True).sum()',
    'L.tensor([1., 2.], requires_grad=True).mean()',
    'L.tensor([1., 2.], requires_grad=True) - 1',
    'L.tensor([1., 2.], requires_grad=True) / 2',
    '-L.tensor([1., 2.], requires_grad=True)',
    'L.tensor([1., 2.], requires_grad=True).view(2, 1)',
    'L.ones(2, requires_grad=True).expand(3, 2)',
    'L.ones(2, requires_grad=True).clone()',
    'L.ones(2, 3, requires_grad=True).permute(1, 0)',
    'L.ones(2, requires_grad=True) * L.ones(2, requires_grad=True)',
    'L.tensor([1e-8, 1e8])',
    'L.tensor([0.1, 0.25, 123456.])',
    'L.tensor([1e-4, 1e-3])',
    'L.tensor([100000., 1.])',
    'L.tensor([1000., 1.5])',
    'L.tensor([[1e-5, 2.], [3., 4.]])',
    'L.tensor([-0., 0.])',
    'L.tensor(1e-20)',
    'L.tensor([12345678.9])',
    'L.tensor([1, -2], dtype=L.int8)',
    'L.tensor([2**40, 1])',
    'L.tensor([[True], [False]])',
    'L.tensor(True)',
    'L.tensor([0.1, 0.2], dtype=L.float64)',
    'L.tensor([1e-5], dtype=L.float64)',
    'L.full((2, 3), 7.)',
    'L.eye(3)',
    'L.linspace(0, 1, 7)',
    'L.arange(10.).reshape(2, 5) * 1.5 - 3',
    'L.tensor([[1.5, -2.], [3., 4.25]]).t()',
    'L.zeros(2, 3, 4, 5)',
    'L.tensor([nan])',
    'L.tensor([inf, 1.])',
    'L.tensor([[nan, 2.], [3., inf]])',
    'L.arange(100.).reshape(10, 10)',
    'L.arange(1200.).reshape(30, 40)',
    'L.tensor([1., 2.], dtype=L.float64, requires_grad=True)',
    "L.empty(2, 3, device='meta')",
    'L.tensor(0.5, requires_grad=True)',
    'L.tensor([3., 4.], requires_grad=True).detach()',
    'L.tensor([0.000123, 0.5])',
    'L.tensor([1.123456789])',
    'L.tensor([[1., 2.]], requires_grad=True) @ L.ones(2, 2)',
    'L.tensor([1., 2.], requires_grad=True).reshape(2, 1)',
    'L.ones(2, 3, requires_grad=True).t()',
    'L.ones(2, 3, requires_grad=True).transpose(0, 1)',
    'L.ones(2, requires_grad=True).unsqueeze(0)',
    'L.ones(2, 1, requires_grad=True).squeeze()',
    'L.ones(2, requires_grad=True).to(L.float64)',
    'L.ones(2, 3, requires_grad=True)[0]',
]

# reprs that still differ from torch's: kept visible (more grad_fn names: test_grad_fn_names.py).
KNOWN_NAME_GAPS: list = []


def _repr(lib, expr):
    return repr(eval(expr, {"L": lib, "inf": inf, "nan": nan}))


@pytest.mark.parametrize("expr", CASES)
def test_repr_matches_torch(torch, expr):
    assert _repr(ember, expr) == _repr(torch, expr)


@pytest.mark.parametrize("expr", KNOWN_NAME_GAPS)
def test_repr_known_gaps(torch, expr):
    if _repr(ember, expr) != _repr(torch, expr):
        pytest.xfail("grad_fn name / complex spacing not yet torch's")


PRINT_OPTIONS = [
    (dict(precision=2), "L.tensor([1.23456, 2.])"),
    (dict(sci_mode=True), "L.tensor([1.5, 2.])"),
    (dict(sci_mode=False), "L.tensor([1e-5, 1.])"),
    (dict(threshold=5), "L.arange(10)"),
    (dict(threshold=5, edgeitems=1), "L.arange(10.)"),
    (dict(linewidth=40), "L.arange(30.)"),
    (dict(profile="short"), "L.arange(10.) / 3"),
    (dict(profile="full"), "L.arange(1100)"),
]


@pytest.mark.parametrize("options, expr", PRINT_OPTIONS)
def test_set_printoptions(torch, options, expr):
    try:
        torch.set_printoptions(**options)
        ember.set_printoptions(**options)
        assert _repr(ember, expr) == _repr(torch, expr)
    finally:
        torch.set_printoptions(profile="default")
        ember.set_printoptions(profile="default")
        torch.set_printoptions(sci_mode=None)
        ember.set_printoptions(sci_mode=None)


def test_str_and_print_forms(torch):
    for expr in ["L.tensor([1.5, 2.])", "L.tensor(3)", "L.ones(2, requires_grad=True) * 2"]:
        e = eval(expr, {"L": ember})
        t = eval(expr, {"L": torch})
        assert str(e) == str(t)
    assert repr(ember.Size([2, 3])) == repr(torch.Size([2, 3]))
    assert str(ember.float32) == str(torch.float32) and repr(ember.int64) == repr(torch.int64)


@pytest.mark.parametrize("spec, expr", [
    ("{:.3f}", "L.tensor(1.23456)"), ("{:+.2f}", "L.tensor(1.5, requires_grad=True) * 2"),
    ("{}", "L.tensor([1.5, 2.0])"), ("{!s:>12}", "L.tensor([1])"),
    ("{:+.2f}", "L.tensor([1.5])"),  # a 1-element 1-d tensor is no scalar: TypeError
    ("{:.2f}", "L.nn.Parameter(L.tensor(1.0))"),  # nor is a Parameter (type(self) is Tensor)
    ("{}", "L.nn.Parameter(L.tensor(1.0))"),
])
def test_format_specs_as_torch(torch, spec, expr):
    # the regression example formats weights with '{:+.2f}'; object.__format__ decides the rest
    results = []
    for lib in (ember, torch):
        value = eval(expr, {"L": lib})
        try:
            results.append(spec.format(value))
        except TypeError as e:
            results.append(f"TypeError: {e}")
    assert results[0] == results[1]
