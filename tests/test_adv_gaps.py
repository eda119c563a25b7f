"""Gaps found while writing the adversarial-robustness programs (tests/programs/adv_*.py),
each checked against PyTorch: ``Tensor.random_``'s overloads (one positional bound is ``to``,
``from``/``to`` keywords, range checks) and the exclusive bound PyTorch samples below for
float dtypes whose precision cannot hold ``to - 1`` (random_ and randint)."""

import warnings

import numpy as np
import pytest
import torch

import ember

DTYPES = ["int64", "int32", "int16", "int8", "uint8", "bool", "float32", "float64", "float16",
          "bfloat16"]


def _random_(lib, dtype, args, kwargs, seed=5):
    g = lib.Generator().manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = lib.empty(6, dtype=getattr(lib, dtype)).random_(*args, generator=g, **kwargs)
        except (RuntimeError, TypeError, ValueError) as e:
            return type(e).__name__, str(e).split("\n")[0]
    # what the generator draws next shows how many words random_ took
    return out.float().tolist(), lib.rand(2, generator=g).tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("args,kwargs", [
    ((5,), {}), ((2, 5), {}), ((-3, 4), {}), ((0, None), {}), ((-3, None), {}), ((), {}),
    ((), {"to": 7}), ((), {"from": 2, "to": 7}), ((1,), {"to": 4}), ((5, 3), {}),
    ((0,), {}), ((-3,), {}), ((300,), {}), ((-200, 5), {}), ((256,), {}),
    ((0, 2 ** 63), {}), ((-2 ** 64, 0), {}),
])
def test_random_overloads_match_torch(dtype, args, kwargs):
    mine = _random_(ember, dtype, args, kwargs)
    theirs = _random_(torch, dtype, args, kwargs)
    if isinstance(theirs[0], str):  # an error: same type, same first line
        assert mine == theirs
    else:
        np.testing.assert_array_equal(mine[0], theirs[0])
        assert mine[1] == theirs[1]


def test_random_single_bound_is_exclusive_upper():
    t = ember.empty(200, dtype=ember.int64).random_(3)
    assert set(t.tolist()) == {0, 1, 2}


def test_random_int64_whole_range():
    assert _random_(ember, "int64", (-2 ** 63, None), {}) == \
        _random_(torch, "int64", (-2 ** 63, None), {})


@pytest.mark.parametrize("dtype,bounds", [
    ("float32", (0, 2 ** 25)), ("float32", (0, 2 ** 25 + 1)), ("float32", (0, 2 ** 25 - 1)),
    ("float32", (-2 ** 25, 0)), ("float32", (0, 3 * 2 ** 24)), ("float16", (0, 3000)),
    ("float16", (0, 2998)), ("float16", (-3005, 2999)), ("float16", (0, 4096)),
    ("bfloat16", (0, 1000)), ("bfloat16", (-100, 512)), ("float64", (0, 2 ** 54)),
    ("float64", (0, 2 ** 54 + 6)),
])
def test_float_bounds_beyond_precision_match_torch(dtype, bounds):
    """Past 2**digits PyTorch lowers the bound where ``to - 1`` rounds up to ``to``."""
    for seed in (1, 5):
        assert _random_(ember, dtype, bounds, {}, seed) == _random_(torch, dtype, bounds, {},
                                                                   seed)
        outs = []
        for lib in (ember, torch):
            g = lib.Generator().manual_seed(seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outs.append(lib.randint(*bounds, (6,), generator=g,
                                        dtype=getattr(lib, dtype)).float().tolist())
        assert outs[0] == outs[1]


def test_random_float_precision_warning_points_at_caller():
    with pytest.warns(UserWarning, match=r"to - 1 is out of bounds \[-\(2\^24\), 2\^24\]") as rec:
        ember.empty(2).random_(0, 2 ** 25)
    assert rec[0].filename == __file__


@pytest.mark.parametrize("target", [[0.0, 1.0, 2.0], [0.5, -1.0, 0.0], [0.25, 0.75, 0.0]])
def test_kl_div_gradient_wrt_target_matches_torch(target):
    """kl_div's target gradient is xlogy's: NaN where the target is 0 (it was 1 - input)."""
    grads = []
    for lib in (ember, torch):
        t = lib.tensor(target, dtype=lib.float64, requires_grad=True)
        x = lib.tensor([0.1, 0.2, 0.3], dtype=lib.float64, requires_grad=True)
        loss = lib.nn.functional.kl_div(x, t, reduction="sum")
        gt, gx = lib.autograd.grad(loss, [t, x], create_graph=True)
        gtt, = lib.autograd.grad(gt.sum(), [t])
        grads.append([loss.item()] + [g.detach().tolist() for g in (gt, gx, gtt)])
    np.testing.assert_array_equal(np.array(grads[0][0]), np.array(grads[1][0]))
    for mine, theirs in zip(grads[0][1:], grads[1][1:]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=0, equal_nan=True)
