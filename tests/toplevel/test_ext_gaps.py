"""Gaps found by the 'extending PyTorch' programs (tests/programs/ext_*.py): the torch._check
family that fake kernels of custom ops call, against torch."""

import pytest

import ember


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as e:  # the type and text are what is compared
        return (type(e).__name__, str(e))


CASES = [
    ("_check", lambda lib: (True,)),
    ("_check", lambda lib: (False,)),
    ("_check", lambda lib: (False, lambda: "need 3 rows")),
    ("_check", lambda lib: (1,)),
    ("_check", lambda lib: (lib.tensor(True),)),
    ("_check", lambda lib: (False, "not callable")),
    ("_check_index", lambda lib: (False,)),
    ("_check_value", lambda lib: (False, lambda: "bad value")),
    ("_check_type", lambda lib: (False, lambda: "bad type")),
    ("_check_not_implemented", lambda lib: (False, lambda: "later")),
    ("_check_with", lambda lib: (KeyError, False, lambda: "key")),
    ("_check_with", lambda lib: (ValueError, True, None)),
    ("_check_tensor_all", lambda lib: (lib.tensor([True, True]),)),
    ("_check_tensor_all", lambda lib: (lib.tensor([True, False]), lambda: "some false")),
    ("_check_tensor_all", lambda lib: (lib.tensor([1, 0]),)),
    ("_check_tensor_all", lambda lib: (False,)),
]


@pytest.mark.parametrize("name,make_args", CASES)
def test_check_family_matches_torch(torch, name, make_args):
    got = _outcome(lambda: getattr(ember, name)(*make_args(ember)))
    want = _outcome(lambda: getattr(torch, name)(*make_args(torch)))
    assert got == want


def test_check_in_a_fake_kernel(torch):
    """The tutorial's use: a custom op's fake kernel refuses mismatched shapes."""
    def run(lib, n):
        @lib.library.custom_op(f"extgaps_{lib.__name__}::scale{n}", mutates_args=())
        def scale(x: lib.Tensor, s: lib.Tensor) -> lib.Tensor:
            return x * s

        @scale.register_fake
        def _(x, s):
            lib._check(x.shape[-1] == s.shape[-1], lambda: "last dims differ")
            return x.new_empty(x.shape)

        return _outcome(lambda: tuple(scale(lib.ones(2, 3, device="meta"),
                                            lib.ones(n, device="meta")).shape))

    for n in (3, 4):
        assert run(ember, n) == run(torch, n)


def _scale_op(lib, tag):
    """A custom op with a tensor, a list of tensors and a float; backward records what
    ctx.needs_input_grad says."""
    seen = []

    @lib.library.custom_op(f"extgaps_{lib.__name__}::wsum{tag}", mutates_args=())
    def wsum(xs: list[lib.Tensor], w: lib.Tensor, k: float) -> lib.Tensor:
        return sum(xs) * w * k

    def setup(ctx, inputs, output):
        xs, w, k = inputs
        ctx.n, ctx.k = len(xs), k
        ctx.save_for_backward(sum(xs), w)

    def backward(ctx, g):
        seen.append(ctx.needs_input_grad)
        s, w = ctx.saved_tensors
        gxs = [g * w * ctx.k if need else None for need in ctx.needs_input_grad[0]]
        return gxs, g * s * ctx.k if ctx.needs_input_grad[1] else None, None

    wsum.register_autograd(backward, setup_context=setup)
    return wsum, seen


@pytest.mark.parametrize("which", ["list", "weight"])
def test_custom_op_backward_sees_needs_input_grad_per_argument(torch, which):
    def run(lib):
        op, seen = _scale_op(lib, which)
        a, b, w = lib.ones(2), lib.ones(2) * 3, lib.full((2,), 2.0)
        leaf = a if which == "list" else w
        leaf.requires_grad_()
        op([a, b], w, 0.5).sum().backward()
        return seen, leaf.grad.tolist()

    assert run(ember) == run(torch)


def test_custom_op_without_outputs_needs_no_fake_kernel(torch):
    def run(lib):
        @lib.library.custom_op(f"extgaps_{lib.__name__}::clip_", mutates_args={"x"})
        def clip_(x: lib.Tensor, bound: float) -> None:
            x.clamp_(-bound, bound)

        @lib.library.custom_op(f"extgaps_{lib.__name__}::twice", mutates_args=())
        def twice(x: lib.Tensor) -> lib.Tensor:
            return x * 2

        on_meta = _outcome(lambda: clip_(lib.empty(3, device="meta"), 0.5))
        checked = lib.library.opcheck(clip_, (lib.randn(4), 0.3))
        refused = _outcome(lambda: twice(lib.empty(3, device="meta")))
        return on_meta, sorted(checked.values()), refused[0]

    assert run(ember) == run(torch)
