"""Randomness: seeds, generators, states, shapes/dtypes against torch, loose statistics."""

import numpy as np
import pytest

import ember

SHAPES = {
    "rand": lambda L: L.rand(2, 3),
    "randn": lambda L: L.randn(4),
    "randint": lambda L: L.randint(0, 5, (3,)),
    "randint_high_only": lambda L: L.randint(5, (2, 2)),
    "randperm": lambda L: L.randperm(5),
    "normal_floats": lambda L: L.normal(0.0, 1.0, (3,)),
    "normal_tensor_mean": lambda L: L.normal(L.zeros(3), 1.0),
    "normal_tensors": lambda L: L.normal(L.zeros(3), L.ones(3)),
    "bernoulli": lambda L: L.bernoulli(L.full((3,), 0.5)),
    "multinomial": lambda L: L.multinomial(L.tensor([0.2, 0.8]), 4, replacement=True),
    "multinomial_2d": lambda L: L.multinomial(L.ones(2, 5), 3),
    "rand_f64": lambda L: L.rand(2, dtype=L.float64),
    "randint_i32": lambda L: L.randint(0, 3, (2,), dtype=L.int32),
    "randperm_i32": lambda L: L.randperm(3, dtype=L.int32),
    "rand_like": lambda L: L.rand_like(L.ones(2, dtype=L.float64)),
    "randn_like": lambda L: L.randn_like(L.ones(3)),
    "randint_like": lambda L: L.randint_like(L.ones(2), 5),
    "rand_0d": lambda L: L.rand(()),
    "randn_empty": lambda L: L.randn(0, 2),
    "poisson": lambda L: L.poisson(L.ones(3)),
    "normal_": lambda L: L.empty(3).normal_(),
    "uniform_": lambda L: L.empty(3, dtype=L.float64).uniform_(-1, 1),
    "random_": lambda L: L.empty(2).random_(0, 5),
    "bernoulli_": lambda L: L.empty(3).bernoulli_(0.5),
    "exponential_": lambda L: L.empty(3).exponential_(),
}


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_shapes_and_dtypes_match_torch(torch, case):
    e, t = SHAPES[case](ember), SHAPES[case](torch)
    assert (e.shape, str(e.dtype), e.requires_grad) == (t.shape, str(t.dtype), t.requires_grad)


ERRORS = {
    "multinomial_too_many": lambda L: L.multinomial(L.tensor([0.5, 0.5]), 3),
    "rand_int_dtype": lambda L: L.rand(2, dtype=L.int64),
    "randint_empty_range": lambda L: L.randint(5, 2, (2,)),
    "normal_negative_std": lambda L: L.normal(0.0, -1.0, (2,)),
    "bernoulli_bad_p": lambda L: L.bernoulli(L.tensor([1.5])),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(torch, case):
    with pytest.raises(Exception) as want:
        ERRORS[case](torch)
    with pytest.raises(type(want.value)):
        ERRORS[case](ember)


def test_manual_seed_reproduces_everything():
    def draw():
        return [ember.rand(3), ember.randn(2, 2), ember.randint(0, 100, (5,)), ember.randperm(7),
                ember.normal(0.0, 2.0, (3,)), ember.bernoulli(ember.full((4,), 0.3)),
                ember.multinomial(ember.tensor([0.1, 0.2, 0.7]), 5, replacement=True),
                ember.empty(3).normal_(), ember.empty(3).uniform_(2, 3)]
    ember.manual_seed(123)
    a = [t.tolist() for t in draw()]
    ember.manual_seed(123)
    b = [t.tolist() for t in draw()]
    assert a == b
    ember.manual_seed(124)
    assert [t.tolist() for t in draw()][0] != a[0]


def test_rng_state_round_trip():
    ember.manual_seed(0)
    state = ember.get_rng_state()
    assert state.dtype is ember.uint8 and state.dim() == 1
    first = ember.randn(5).tolist()
    ember.set_rng_state(state)
    assert ember.randn(5).tolist() == first
    assert ember.initial_seed() == 0


def test_generator_is_independent_of_global_state():
    g = ember.Generator().manual_seed(7)
    assert g.initial_seed() == 7 and g.device == ember.device("cpu")
    a = ember.rand(4, generator=g).tolist()
    ember.rand(10)  # global draws do not disturb g
    g2 = ember.Generator().manual_seed(7)
    assert ember.rand(4, generator=g2).tolist() == a
    s = g.get_state()
    b = ember.randn(3, generator=g).tolist()
    g.set_state(s)
    assert ember.randn(3, generator=g).tolist() == b
    for fn in (lambda gen: ember.randint(0, 9, (4,), generator=gen),
               lambda gen: ember.randperm(6, generator=gen),
               lambda gen: ember.normal(0.0, 1.0, (3,), generator=gen),
               lambda gen: ember.multinomial(ember.ones(4), 2, generator=gen),
               lambda gen: ember.bernoulli(ember.full((5,), 0.5), generator=gen),
               lambda gen: ember.empty(3).normal_(generator=gen),
               lambda gen: ember.empty(3).uniform_(generator=gen)):
        x = fn(ember.Generator().manual_seed(5)).tolist()
        assert fn(ember.Generator().manual_seed(5)).tolist() == x


def test_distributions_with_loose_bounds():
    ember.manual_seed(0)
    u = ember.rand(20000).numpy()
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.02
    n = ember.randn(20000).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    m = ember.normal(3.0, 2.0, (20000,)).numpy()
    assert abs(m.mean() - 3) < 0.06 and abs(m.std() - 2) < 0.06
    r = ember.randint(-2, 3, (20000,)).numpy()
    assert set(np.unique(r)) == {-2, -1, 0, 1, 2}
    p = ember.randperm(50).numpy()
    assert sorted(p.tolist()) == list(range(50))
    b = ember.bernoulli(ember.full((20000,), 0.25)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.25) < 0.02
    c = ember.multinomial(ember.tensor([0.1, 0.0, 0.9]), 20000, replacement=True).numpy()
    counts = np.bincount(c, minlength=3) / 20000
    assert counts[1] == 0 and abs(counts[2] - 0.9) < 0.02
    w = ember.multinomial(ember.tensor([1.0, 1.0, 1.0, 1.0]), 4).numpy()
    assert sorted(w.tolist()) == [0, 1, 2, 3]  # without replacement: a permutation
    v = ember.empty(20000).uniform_(-2, 4).numpy()
    assert -2 <= v.min() and v.max() < 4 and abs(v.mean() - 1) < 0.06
    e = ember.empty(20000).exponential_(2.0).numpy()
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.03
    k = ember.poisson(ember.full((20000,), 3.0)).numpy()
    assert abs(k.mean() - 3) < 0.08


def test_in_place_random_on_parameter_needs_no_grad():
    w = ember.empty(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.normal_()
    with ember.no_grad():
        w.normal_()
    assert w.requires_grad and w.is_leaf


@pytest.mark.parametrize("bad", [lambda L: L.zeros(5), lambda L: [1, 2],
                                 lambda L: L.ones(3).long()])
def test_rng_state_that_is_not_a_byte_tensor_raises_type_error_as_torch(torch, bad):
    for lib in (torch, ember):
        with pytest.raises(TypeError, match="ByteTensor"):
            lib.set_rng_state(bad(lib))
        with pytest.raises(TypeError, match="ByteTensor"):
            lib.Generator().set_state(bad(lib))
