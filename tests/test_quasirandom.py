"""ember.quasirandom.SobolEngine against torch.quasirandom.SobolEngine: the same points bit
for bit (unscrambled, and scrambled with a seed), state, dtypes, errors, and the packed table."""

import doctest
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.quasirandom import SobolEngine

ROOT = Path(__file__).resolve().parents[1]


def _pair(torch, *args, **kwargs):
    return SobolEngine(*args, **kwargs), torch.quasirandom.SobolEngine(*args, **kwargs)


def _same(e, t):
    """Bit-for-bit equality, dtype and shape included."""
    assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy(), strict=True)


@pytest.mark.parametrize("dimension", [1, 2, 3, 7, 40, 1111])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unscrambled_points_match_torch(torch, dimension, dtype):
    e, t = _pair(torch, dimension)
    for n in (1, 5, 250, 1):  # the first draw takes the stored first point, later ones do not
        _same(e.draw(n, dtype=getattr(ember, dtype)), t.draw(n, dtype=getattr(torch, dtype)))
    assert e.num_generated == t.num_generated == 257


def test_every_shipped_dimension_matches_torch(torch):
    # all 15,900 dimensions at once: every direction number, the first 600 points, then a
    # jump (torch walks it point by point, so it stays short here)
    e, t = _pair(torch, SobolEngine.MAXDIM)
    _same(e.sobolstate, t.sobolstate[:SobolEngine.MAXDIM])  # all 30 direction numbers
    _same(e.draw(600, dtype=ember.float64), t.draw(600, dtype=torch.float64))
    _same(e.fast_forward(2**11 - 3).draw(5), t.fast_forward(2**11 - 3).draw(5))


@pytest.mark.parametrize("dimension", [1, 4, 64])
def test_points_far_into_the_sequence_match_torch(torch, dimension):
    e, t = _pair(torch, dimension)
    for n in (2**19 - 2, 2**19 + 1, 3):  # torch walks there point by point
        e.fast_forward(n), t.fast_forward(n)
        _same(e.draw(3, dtype=ember.float64), t.draw(3, dtype=torch.float64))


@pytest.mark.parametrize("start", [0, 1, 3, 1000, 2**17 - 1])
def test_long_draws_from_unaligned_starts_match_torch(torch, start):
    # a long draw is assembled from Gray-code tables over the low and the high index bits;
    # a start off a power of two makes the blocks overhang at both ends
    e, t = _pair(torch, 5, scramble=True, seed=2)
    e.fast_forward(start), t.fast_forward(start)
    for n in (2**17 + 5, 2, 777):
        _same(e.draw(n, dtype=ember.float64), t.draw(n, dtype=torch.float64))
    _same(e.quasi, t.quasi)


@pytest.mark.parametrize("dimension,seed", [(1, 0), (3, 7), (50, 123), (300, 2**40 + 5),
                                            (5, -1), (2, 2**64 - 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_seeded_scrambled_points_match_torch(torch, dimension, seed, dtype):
    e, t = _pair(torch, dimension, scramble=True, seed=seed)
    _same(e.sobolstate, t.sobolstate)
    _same(e.shift, t.shift)
    for n in (1, 200, 7):
        _same(e.draw(n, dtype=getattr(ember, dtype)), t.draw(n, dtype=getattr(torch, dtype)))
    _same(e.quasi, t.quasi)


def test_scrambled_first_point_is_rounded_to_the_default_dtype_of_construction(torch):
    # the first point is kept in the default dtype the engine was built under, so a float64
    # draw of it shows float32 rounding, and one built under float64 does not
    e, t = _pair(torch, 6, scramble=True, seed=3)
    _same(e.draw(2, dtype=ember.float64), t.draw(2, dtype=torch.float64))
    ember.set_default_dtype(ember.float64), torch.set_default_dtype(torch.float64)
    try:
        e, t = _pair(torch, 6, scramble=True, seed=3)
    finally:
        ember.set_default_dtype(ember.float32), torch.set_default_dtype(torch.float32)
    _same(e.draw(2, dtype=ember.float64), t.draw(2, dtype=torch.float64))
    _same(e.reset().draw(2), t.reset().draw(2))


def test_default_dtype_is_read_at_draw_time(torch):
    e, t = _pair(torch, 3)
    ember.set_default_dtype(ember.float64), torch.set_default_dtype(torch.float64)
    try:
        _same(e.draw(4), t.draw(4))
    finally:
        ember.set_default_dtype(ember.float32), torch.set_default_dtype(torch.float32)
    _same(e.draw(2), t.draw(2))


def test_seeded_engine_leaves_the_global_generator_alone():
    ember.manual_seed(0)
    expected = ember.rand(3)
    ember.manual_seed(0)
    SobolEngine(4, scramble=True, seed=5)
    assert ember.equal(ember.rand(3), expected)


def test_unseeded_scrambling_follows_manual_seed():
    ember.manual_seed(11)
    a = SobolEngine(5, scramble=True).draw(16)
    ember.manual_seed(11)
    b = SobolEngine(5, scramble=True).draw(16)
    assert ember.equal(a, b)
    assert not ember.equal(a, SobolEngine(5, scramble=True).draw(16))


def test_unseeded_scrambling_matches_torch_after_manual_seed(torch):
    # seed=None draws from the default generator, whose stream is torch's
    ember.manual_seed(7), torch.manual_seed(7)
    e = SobolEngine(30, scramble=True)
    t = torch.quasirandom.SobolEngine(30, scramble=True)
    _same(e.draw(100, dtype=ember.float64), t.draw(100, dtype=torch.float64))
    assert ember.rand(3).tolist() == torch.rand(3).tolist()  # both consumed the same draws


@pytest.mark.parametrize("seed", [None, 0, 99])
def test_scrambled_points_keep_the_net_property(seed):
    # every coordinate of the first 2**m points puts one point in each interval of width
    # 2**-m, which scrambling must not break
    ember.manual_seed(1)
    m = 10
    points = SobolEngine(20, scramble=True, seed=seed).draw_base2(m, dtype=ember.float64)
    cells = np.sort(np.floor(points.numpy() * 2**m).astype(np.int64), axis=0)
    assert (cells == np.arange(2**m)[:, None]).all()


def test_fast_forward_and_reset_match_torch(torch):
    e, t = _pair(torch, 9, scramble=True, seed=4)
    assert e.fast_forward(0) is e and t.fast_forward(0) is t
    _same(e.draw(1), t.draw(1))
    for n in (1, 13, 1000, 0):
        _same(e.fast_forward(n).draw(3), t.fast_forward(n).draw(3))
        _same(e.quasi, t.quasi)
        assert e.num_generated == t.num_generated
    assert e.reset() is e and t.reset() is t
    assert e.num_generated == 0
    _same(e.draw(4), t.draw(4))
    e, t = _pair(torch, 9)
    _same(e.fast_forward(1).draw(2), t.fast_forward(1).draw(2))


def test_draw_base2_matches_torch_and_its_balance_error(torch):
    e, t = _pair(torch, 4)
    _same(e.draw_base2(3), t.draw_base2(3))
    _same(e.draw_base2(3), t.draw_base2(3))
    e.draw(3), t.draw(3)
    with pytest.raises(ValueError) as theirs:
        t.draw_base2(2)
    with pytest.raises(ValueError) as ours:
        e.draw_base2(2)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError), warnings.catch_warnings():
        warnings.simplefilter("error")
        SobolEngine(2).draw_base2(-1)  # 2**-1 is a float, as in torch


def test_draw_writes_out_like_torch(torch):
    cases = [((3, 2), "float64", None), ((5,), "float32", None), ((3, 2), "float32", "float64"),
             ((3, 2), "int64", None)]
    for shape, out_dtype, dtype in cases:
        e_out = ember.empty(*shape, dtype=getattr(ember, out_dtype))
        t_out = torch.empty(*shape, dtype=getattr(torch, out_dtype))
        kw_e = {} if dtype is None else {"dtype": getattr(ember, dtype)}
        kw_t = {} if dtype is None else {"dtype": getattr(torch, dtype)}
        assert SobolEngine(2).draw(3, out=e_out, **kw_e) is e_out
        torch.quasirandom.SobolEngine(2).draw(3, out=t_out, **kw_t)
        _same(e_out, t_out)


def test_attributes_and_repr_match_torch(torch):
    for kwargs in ({}, {"scramble": True}, {"seed": 5}, {"scramble": True, "seed": 3}):
        e, t = _pair(torch, 3, **kwargs)
        assert repr(e) == repr(t)
        for name in ("dimension", "scramble", "seed", "num_generated", "MAXBIT"):
            assert getattr(e, name) == getattr(t, name), name
    assert SobolEngine.MAXBIT == 30
    # ember ships 15,900 of the 21,201 dimensions (see test_table_fits_its_budget)
    assert SobolEngine.MAXDIM == 15900 and torch.quasirandom.SobolEngine.MAXDIM == 21201


@pytest.mark.parametrize("dimension", [0, -1, 21202])
def test_dimension_out_of_range_raises_as_torch(torch, dimension):
    with pytest.raises(ValueError) as theirs:
        torch.quasirandom.SobolEngine(dimension)
    with pytest.raises(ValueError) as ours:
        SobolEngine(dimension)
    assert str(ours.value) == str(theirs.value).replace("21201", "15900")


def test_dimension_above_the_shipped_table_names_the_limit():
    with pytest.raises(ValueError, match=r"\[1, 15900\].*first 15900 dimensions.*21201"):
        SobolEngine(15901)
    SobolEngine(15900)


@pytest.mark.parametrize("call", [
    lambda L: L.quasirandom.SobolEngine(2.0),
    lambda L: L.quasirandom.SobolEngine(2).draw(2.5),
    lambda L: L.quasirandom.SobolEngine(2).fast_forward(2.5),
    lambda L: L.quasirandom.SobolEngine(2).draw(2, dtype=L.float16),
    lambda L: L.quasirandom.SobolEngine(2).draw(2, dtype=L.int64),
    lambda L: L.quasirandom.SobolEngine(2).draw(0),
    lambda L: L.quasirandom.SobolEngine(2).draw(-1),
    lambda L: L.quasirandom.SobolEngine(2, scramble=True, seed=2**64),
    lambda L: L.quasirandom.SobolEngine(2, scramble=True, seed=-2**63 - 1),
], ids=["float_dimension", "float_n", "float_ff", "half", "long", "fresh_draw_0",
        "fresh_draw_-1", "seed_too_big", "seed_too_small"])
def test_bad_arguments_raise_as_torch(torch, call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(ember)
    if type(theirs.value) is not TypeError:  # torch's TypeErrors name its internals
        assert str(ours.value) == str(theirs.value)


def test_draw_zero_after_the_first_point_matches_torch(torch):
    e, t = _pair(torch, 2)
    e.draw(1), t.draw(1)
    _same(e.draw(0), t.draw(0))
    assert e.num_generated == t.num_generated == 1


def test_the_sequence_ends_after_2_to_the_30_points():
    # torch reads past its 30 direction numbers there and returns meaningless values; ember
    # refuses. The last valid points still come out.
    e = SobolEngine(3, scramble=True, seed=0)
    e.fast_forward(2**30 - 2)
    assert e.draw(2).shape == (2, 3)
    with pytest.raises(ValueError, match=r"at most 2\*\*30"):
        e.draw(1)
    with pytest.raises(ValueError, match=r"at most 2\*\*30"):
        SobolEngine(1).fast_forward(2**30 + 1)
    with pytest.raises(ValueError, match="n >= 0"):
        SobolEngine(1).fast_forward(-1)


def test_table_fits_its_budget_ships_as_package_data_and_loads_lazily():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    path = ROOT / "ember" / "_embedded" / "sobol_joe_kuo.npz"
    assert path.stat().st_size <= 256 * 1024
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["ember"]
    assert any(path in (ROOT / "ember").glob(p) for p in patterns)
    code = ("import sys, ember\n"
            "assert 'ember.quasirandom' not in sys.modules\n"
            "q = ember.quasirandom\n"
            "assert q._direction_numbers.cache_info().currsize == 0\n"
            "q.SobolEngine(2)\n"
            "assert q._direction_numbers.cache_info().currsize == 1\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


def test_public_names_have_docstrings_with_examples_that_run():
    for obj in (SobolEngine, SobolEngine.draw, SobolEngine.draw_base2, SobolEngine.reset,
                SobolEngine.fast_forward):
        assert ">>>" in (obj.__doc__ or ""), obj
    result = doctest.testmod(ember.quasirandom, extraglobs={"ember": ember},
                             optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted >= 6 and result.failed == 0
