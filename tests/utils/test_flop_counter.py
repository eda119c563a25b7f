"""ember.utils.flop_counter.FlopCounterMode against torch's: the same programs give the same
counts by module and by aten op, forward and backward, and the same printed table."""

import functools

import numpy as np
import pytest

import ember
from ember.utils import flop_counter as fc


def _counts(counter):
    return {k: {str(op): n for op, n in v.items()} for k, v in counter.get_flop_counts().items()}


def _run(lib, mode, fn):
    with mode(display=False) as counter:
        fn(lib)
    return counter


def _both(torch, fn):
    from torch.utils.flop_counter import FlopCounterMode

    e = _run(ember, fc.FlopCounterMode, fn)
    t = _run(torch, FlopCounterMode, fn)
    assert _counts(e) == _counts(t)
    assert e.get_total_flops() == t.get_total_flops()
    return e, t


def _r(lib, *shape, grad=False):
    return lib.tensor(np.random.default_rng(len(shape)).standard_normal(shape),
                      dtype=lib.float32, requires_grad=grad)


MATMULS = [((4, 8), (8, 3)), ((8,), (8, 3)), ((3, 8), (8,)), ((8,), (8,)), ((2, 4, 8), (8, 3)),
           ((2, 4, 8), (2, 8, 3)), ((2, 4, 8), (1, 8, 3)), ((1, 4, 8), (2, 8, 3)),
           ((1, 4, 8), (1, 8, 3)), ((2, 3, 4, 8), (3, 8, 3)), ((2, 1, 4, 8), (3, 8, 3)),
           ((8,), (2, 8, 3)), ((2, 4, 8), (8,)), ((4, 8), (2, 8, 3)), ((2, 3, 4, 8), (1, 1, 8, 3))]


@pytest.mark.parametrize("sa,sb", MATMULS)
@pytest.mark.parametrize("ga,gb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_forward_and_backward(torch, sa, sb, ga, gb):
    def fn(lib):
        out = _r(lib, *sa, grad=ga) @ _r(lib, *sb, grad=gb)
        if ga or gb:
            out.sum().backward()

    _both(torch, fn)


def test_matmul_on_a_non_contiguous_operand(torch):
    def fn(lib):
        a = _r(lib, 4, 2, 8).transpose(0, 1)
        a @ _r(lib, 8, 3)
        a @ _r(lib, 8)
        (a @ _r(lib, 8, 3, grad=True)).sum().backward()

    _both(torch, fn)


@pytest.mark.parametrize("shape", [(8,), (4, 8), (2, 4, 8), (2, 3, 4, 8)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_grad", [True, False])
def test_linear(torch, shape, bias, x_grad):
    def fn(lib):
        w = _r(lib, 5, 8, grad=True)
        b = _r(lib, 5, grad=True) if bias else None
        lib.nn.functional.linear(_r(lib, *shape, grad=x_grad), w, b).sum().backward()

    _both(torch, fn)


def test_linear_on_a_non_contiguous_input(torch):
    def fn(lib):
        x = _r(lib, 4, 2, 8).transpose(0, 1)
        lib.nn.functional.linear(x, _r(lib, 5, 8), _r(lib, 5))
        lib.nn.functional.linear(x, _r(lib, 5, 8, grad=True), _r(lib, 5)).sum().backward()

    _both(torch, fn)


def test_bmm_addmm_baddbmm_addmv_addbmm(torch):
    def fn(lib):
        lib.bmm(_r(lib, 2, 4, 8, grad=True), _r(lib, 2, 8, 3)).sum().backward()
        lib.addmm(_r(lib, 3), _r(lib, 4, 8), _r(lib, 8, 3, grad=True)).sum().backward()
        lib.baddbmm(_r(lib, 2, 4, 3), _r(lib, 2, 4, 8, grad=True),
                    _r(lib, 2, 8, 3, grad=True)).sum().backward()
        lib.addmv(_r(lib, 4), _r(lib, 4, 8), _r(lib, 8))
        lib.addbmm(_r(lib, 4, 3), _r(lib, 2, 4, 8), _r(lib, 2, 8, 3))
        lib.mm(_r(lib, 4, 8), _r(lib, 8, 2))
        lib.mv(_r(lib, 4, 8), _r(lib, 8))
        lib.dot(_r(lib, 8), _r(lib, 8))

    _both(torch, fn)


@pytest.mark.parametrize("case", ["conv2d", "conv2d_input_grad", "conv1d_groups", "conv3d",
                                  "conv_transpose2d", "conv_transpose1d", "strided"])
def test_convolutions(torch, case):
    def fn(lib):
        F = lib.nn.functional
        if case == "conv2d":
            F.conv2d(_r(lib, 2, 3, 6, 6), _r(lib, 4, 3, 3, 3, grad=True), _r(lib, 4, grad=True),
                     padding=1).sum().backward()
        elif case == "conv2d_input_grad":
            F.conv2d(_r(lib, 2, 3, 6, 6, grad=True), _r(lib, 4, 3, 3, 3, grad=True),
                     padding=1).sum().backward()
        elif case == "conv1d_groups":
            F.conv1d(_r(lib, 2, 4, 9), _r(lib, 6, 2, 3, grad=True), groups=2).sum().backward()
        elif case == "conv3d":
            F.conv3d(_r(lib, 1, 2, 4, 4, 4, grad=True), _r(lib, 3, 2, 2, 2, 2)).sum().backward()
        elif case == "conv_transpose2d":
            F.conv_transpose2d(_r(lib, 2, 3, 5, 5, grad=True), _r(lib, 3, 4, 3, 3, grad=True),
                               _r(lib, 4), stride=2).sum().backward()
        elif case == "conv_transpose1d":
            F.conv_transpose1d(_r(lib, 2, 3, 5), _r(lib, 3, 4, 3))
        else:
            F.conv2d(_r(lib, 2, 3, 9, 9), _r(lib, 4, 3, 3, 3), stride=2, padding=1, dilation=2)

    _both(torch, fn)


def test_modules_mlp_and_cnn_and_tables(torch, monkeypatch):
    tabulate = pytest.importorskip("tabulate")
    # torch asks tabulate to keep the indentation (tabulate.PRESERVE_WHITESPACE); tabulate
    # 0.10 reads that from an argument instead, so give it the argument here
    if "preserve_whitespace" in tabulate.tabulate.__code__.co_varnames:
        monkeypatch.setattr(tabulate, "tabulate",
                            functools.partial(tabulate.tabulate, preserve_whitespace=True))
    from torch.utils.flop_counter import FlopCounterMode

    def build(lib):
        lib.manual_seed(0)
        nn = lib.nn
        mlp = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Sequential(nn.Linear(16, 16),
                                                                        nn.Linear(16, 4)))
        cnn = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                            nn.Linear(4 * 6 * 6, 10))
        return mlp, cnn

    results = []
    for lib, mode in ((ember, fc.FlopCounterMode), (torch, FlopCounterMode)):
        mlp, cnn = build(lib)
        with mode(display=False) as counter:
            mlp(_r(lib, 3, 8)).sum().backward()
            cnn(_r(lib, 2, 3, 6, 6)).sum().backward()
            _r(lib, 4, 8) @ _r(lib, 8, 4)  # outside every module: the Global rows show
        with mode(display=False, depth=1) as small:
            _r(lib, 300, 300) @ _r(lib, 300, 300)
        with mode(display=False) as empty:
            pass
        results.append((_counts(counter), counter.get_table(), counter.get_table(depth=1),
                        counter.get_table(depth=None), small.get_table(), empty.get_table(),
                        _counts(empty)))
    for got, expected in zip(*results):
        assert got == expected


def test_display_prints_the_table_and_mods_warns(capsys):
    with pytest.warns(UserWarning, match="mods argument is not needed anymore"):
        counter = fc.FlopCounterMode(ember.nn.Linear(2, 2))
    with counter:
        ember.ones(2, 3) @ ember.ones(3, 2)
    out = capsys.readouterr().out
    assert out == counter.get_table() + "\n"
    assert out.splitlines()[2].split() == ["Global", "24", "100.00%"]


def test_custom_mapping_overrides_a_formula(torch):
    from torch.utils.flop_counter import FlopCounterMode

    def my_mm(a_shape, b_shape, *args, out_shape=None, **kwargs):
        return 7

    e = fc.FlopCounterMode(display=False, custom_mapping={"aten.mm": my_mm})
    with e:
        ember.ones(4, 8) @ ember.ones(8, 3)
    t = FlopCounterMode(display=False, custom_mapping={torch.ops.aten.mm: my_mm})
    with t:
        torch.ones(4, 8) @ torch.ones(8, 3)
    assert e.get_total_flops() == t.get_total_flops() == 7


def test_formulas_match_torch(torch):
    import torch.utils.flop_counter as tf

    s = (2, 3, 5, 4)
    g = (2, 6, 5, 4)  # grouped-query heads
    for name, args in [("mm_flop", ((4, 8), (8, 3))), ("bmm_flop", ((2, 4, 8), (2, 8, 3))),
                       ("sdpa_flop_count", (s, s, s)), ("sdpa_flop_count", (g, s, s)),
                       ("sdpa_backward_flop_count", (s, s, s, s)),
                       ("sdpa_backward_flop_count", (g, g, s, s)),
                       ("conv_flop_count", ([2, 3, 6, 6], [4, 3, 3, 3], [2, 4, 6, 6], True))]:
        assert getattr(fc, name)(*args) == getattr(tf, name)(*args), name
    for n in (0, 7, 999, 1000, 12345, 10**7, 10**13, 10**16):
        assert fc.get_suffix_str(n) == tf.get_suffix_str(n)
        assert fc.convert_num_with_suffix(n, "K") == tf.convert_num_with_suffix(n, "K")
    with pytest.raises(AssertionError, match="inner dimensions must match"):
        fc.mm_flop((2, 3), (4, 5))


def test_attention_uses_torch_sdpa_formula():
    q = ember.randn(2, 3, 5, 4, requires_grad=True)
    with fc.FlopCounterMode(display=False) as counter:
        ember.nn.functional.scaled_dot_product_attention(q, q, q).sum().backward()
    s = (2, 3, 5, 4)
    assert _counts(counter)["Global"] == {
        "aten._scaled_dot_product_flash_attention": fc.sdpa_flop_count(s, s, s),
        "aten._scaled_dot_product_flash_attention_backward":
            fc.sdpa_backward_flop_count(s, s, s, s)}


def test_attention_3d_is_torch_math_path(torch):
    def fn(lib):
        q = _r(lib, 2, 4, 8)
        lib.nn.functional.scaled_dot_product_attention(q, q, q)

    _both(torch, fn)


def test_counter_observes_nothing_after_exit_and_nests_with_profiler():
    from ember.profiler import _recorder

    plain = ember._ops._core.Op.__dict__["apply"]
    counter = fc.FlopCounterMode(display=False)
    with counter:
        with ember.profiler.profile() as prof:
            ember.ones(2, 3) @ ember.ones(3, 2)
        ember.ones(2, 3) @ ember.ones(3, 2)
    assert counter.get_total_flops() == 48
    assert any(e.name == "aten.matmul" or "matmul" in e.name for e in prof.events())
    assert not _recorder._op_observers and not _recorder._node_observers
    assert ember._ops._core.Op.__dict__["apply"] is plain  # the plain path is back


def test_custom_function_backward_counts_its_ops(torch):
    def fn(lib):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x @ x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g @ x.t() + x.t() @ g

        x = _r(lib, 4, 4, grad=True)
        Square.apply(x).sum().backward()

    _both(torch, fn)
