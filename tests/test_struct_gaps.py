"""Gaps found while writing the structured-prediction programs (tests/programs/struct_*.py),
each checked against PyTorch: ``index_put_``'s value-shape check (torch's "shape mismatch"
message, no leading 1s dropped from the value), its refusal of non-tensor indices and of too
many of them; the mask-dtype refusals of masked_fill/masked_scatter/masked_select (each names
the dtype its own way); cumprod's gradient past a zero (exactly +0, as torch: no -0.0 and no
nan from an inf behind the zero); ``triu_indices``/``tril_indices``' refusal of a non-index
dtype (NotImplementedError naming the scalar type); ``ctx.save_for_backward`` refusing a
non-tensor when a graph is recorded; a user's ``autograd.Function`` applied inside
the ``func`` transforms (torch refuses one without ``setup_context``, one without a vmap rule
under ``vmap``/``jacfwd``/``hessian``, one without a ``jvp`` rule under ``jvp``)."""

import math
import warnings

import pytest
import torch

import ember


def _err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is compared
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("index,value_shape", [
    (([0, 1],), (3,)),
    (([0, 1],), (1, 1, 6)),
    (([0, 1],), (2, 1, 6)),
    (([0, 1],), (3, 6)),
    (([[0], [1]],), (2, 2, 6)),
    (([True, False, True, False],), (3,)),
    (([0, 1], [2, 3]), (3,)),
])
def test_index_put_value_shape_error_matches_torch(index, value_shape, accumulate):
    def run(lib):
        idx = tuple(lib.tensor(i) for i in index)
        return _err(lambda: lib.zeros(4, 6).index_put_(idx, lib.ones(value_shape),
                                                       accumulate=accumulate))
    theirs = run(torch)
    assert theirs is not None
    assert run(ember) == theirs


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("index,value_shape", [
    (([0, 1],), (6,)), (([0, 1],), (2, 6)), (([0, 1],), ()), (([0, 0], [2, 2]), (1,)),
    (([True, False, True, False],), (1, 6)),
])
def test_index_put_broadcasting_values_match_torch(index, value_shape, accumulate):
    def run(lib):
        idx = tuple(lib.tensor(i) for i in index)
        value = lib.arange(1.0, 1.0 + max(1, int(torch.Size(value_shape).numel()))).reshape(
            value_shape)
        return lib.zeros(4, 6).index_put_(idx, value, accumulate=accumulate).tolist()
    assert run(ember) == run(torch)


def _functions(lib):
    Function = lib.autograd.Function

    class Old(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class NoVmap(Function):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Generated(NoVmap):
        generate_vmap_rule = True

    class WithJvp(Generated):
        @staticmethod
        def jvp(ctx, t):
            return t * 2

    return {"Old": Old, "NoVmap": NoVmap, "Generated": Generated, "WithJvp": WithJvp}


TRANSFORMS = {
    "vmap": lambda lib, f: lib.func.vmap(f.apply)(lib.ones(2, 3)),
    "vmap_const": lambda lib, f: lib.func.vmap(lambda t: f.apply(lib.ones(3)) + t)(lib.ones(2, 3)),
    "vmap_no_grad": lambda lib, f: _no_grad(lib, lambda: lib.func.vmap(f.apply)(lib.ones(2, 3))),
    "grad": lambda lib, f: lib.func.grad(lambda t: f.apply(t).sum())(lib.ones(3)),
    "vjp": lambda lib, f: lib.func.vjp(f.apply, lib.ones(3))[0],
    "jvp": lambda lib, f: lib.func.jvp(f.apply, (lib.ones(3),), (lib.ones(3),))[1],
    "jacrev": lambda lib, f: lib.func.jacrev(f.apply)(lib.ones(3)),
    "jacfwd": lambda lib, f: lib.func.jacfwd(f.apply)(lib.ones(3)),
    "hessian": lambda lib, f: lib.func.hessian(lambda t: f.apply(t).pow(2).sum())(lib.ones(3)),
    "autograd_jacobian": lambda lib, f: lib.autograd.functional.jacobian(f.apply, lib.ones(3)),
}


def _no_grad(lib, fn):
    with lib.no_grad():
        return fn()


@pytest.mark.parametrize("name", ["Old", "NoVmap", "Generated", "WithJvp"])
@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_function_under_func_transforms_matches_torch(transform, name):
    def run(lib):
        fn = _functions(lib)[name]
        try:
            return TRANSFORMS[transform](lib, fn).tolist()
        except Exception as e:  # noqa: BLE001 - the type is compared
            return type(e).__name__, str(e)
    assert run(ember) == run(torch)


def test_refused_function_leaves_no_transform_behind():
    Old = _functions(ember)["Old"]
    with pytest.raises(RuntimeError, match="setup_context"):
        ember.func.vmap(Old.apply)(ember.ones(2, 3))
    with pytest.raises(RuntimeError, match="setup_context"):
        ember.func.grad(lambda t: Old.apply(t).sum())(ember.ones(3))
    assert Old.apply(ember.ones(3)).tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("case", range(7))
def test_index_put_index_argument_checks_match_torch(case):
    def run(lib):
        x, t = lib.zeros(3, 4), lib.tensor([1])
        indices = [(t, t, t), (None, t), (t, None), [t, 0], (slice(None), t), (t, t, t, t),
                   (lib.tensor(0), t, lib.tensor([0]))][case]
        return _err(lambda: x.index_put_(indices, lib.tensor(1.0), accumulate=case % 2 == 1))
    theirs = run(torch)
    assert theirs is not None
    assert run(ember) == theirs


MASK_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
               "uint8", "uint16", "uint32", "uint64", "complex64", "complex128",
               "float8_e4m3fn", "float8_e5m2"]


@pytest.mark.parametrize("dtype", MASK_DTYPES)
@pytest.mark.parametrize("op", ["masked_fill", "masked_fill_tensor", "masked_scatter",
                                "masked_select"])
def test_non_bool_mask_refusal_matches_torch(op, dtype):
    def run(lib):
        x, mask = lib.zeros(3, 4), lib.zeros(3, 4).to(getattr(lib, dtype))
        call = {"masked_fill": lambda: x.masked_fill(mask, 1.0),
                "masked_fill_tensor": lambda: x.masked_fill_(mask, lib.tensor(1.0)),
                "masked_scatter": lambda: x.masked_scatter(mask, lib.ones(12)),
                "masked_select": lambda: x.masked_select(mask)}[op]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _err(call)
    theirs = run(torch)
    assert theirs is not None
    assert run(ember) == theirs


@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_grad_past_a_zero_is_positive_zero_like_torch(dim):
    rows = [[0.5, -1.0, 0.0, 2.0, -3.0], [0.0, 0.0, 1.0, -1.0, 2.0], [1.0, 2.0, 3.0, 0.0, -1.0],
            [0.0, float("inf"), 1.0, 2.0, 3.0], [-2.0, 0.0, -1.0, 1.0, 0.0]]

    def run(lib):
        x = lib.tensor(rows if dim == 1 else list(zip(*rows)), requires_grad=True)
        w = lib.arange(25.0).reshape(5, 5) / 7 - 1
        (g,) = lib.autograd.grad((lib.cumprod(x, dim) * w).sum(), x)
        return [[(round(v, 3), math.copysign(1.0, v)) for v in row] for row in g.tolist()]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(ember) == run(torch)


@pytest.mark.parametrize("fn", ["triu_indices", "tril_indices"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bool", "int8", "uint8",
                                   "int16", "complex64", "int32", "int64"])
def test_tri_indices_dtype_matches_torch(fn, dtype):
    def run(lib):
        try:
            out = getattr(lib, fn)(3, 4, 1, dtype=getattr(lib, dtype))
        except Exception as e:  # noqa: BLE001 - the type is compared
            return type(e).__name__, str(e)
        return str(out.dtype).split(".")[-1], out.tolist()
    assert run(ember) == run(torch)


@pytest.mark.parametrize("extra", [3, 2.5, "s", [1], None])
@pytest.mark.parametrize("requires_grad", [True, False])
def test_save_for_backward_refuses_non_tensors_like_torch(extra, requires_grad):
    def run(lib):
        class Save(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, extra)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = lib.ones(2, requires_grad=requires_grad)
        return _err(lambda: Save.apply(x))
    assert run(ember) == run(torch)
