"""Samplers draw lazily: a huge ``num_samples`` costs O(batch) memory, not O(num_samples).

Memory is measured with tracemalloc (NumPy reports its allocations to it), never with time.
"""

import itertools
import tracemalloc

import numpy as np
import pytest

import ember
from ember.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
)

HUGE = int(1e10)  # 80 GB as int64: drawn up front this raises MemoryError or exhausts the host
LIMIT = 4 * 2**20  # bytes: generous for a few chunks of 32 and Python's own bookkeeping


def _peak(fn):
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_random_sampler_with_replacement_is_lazy():
    sampler = RandomSampler(range(10), replacement=True, num_samples=HUGE)
    first, peak = _peak(lambda: list(itertools.islice(iter(sampler), 100)))
    assert len(first) == 100 and all(0 <= i < 10 for i in first)
    assert peak < LIMIT
    assert len(sampler) == HUGE


def test_weighted_sampler_with_replacement_is_lazy():
    sampler = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=HUGE)
    first, peak = _peak(lambda: list(itertools.islice(iter(sampler), 100)))
    assert set(first) <= {1, 2}
    assert peak < LIMIT


def test_batch_sampler_and_dataloader_over_a_huge_sampler():
    sampler = RandomSampler(range(10), replacement=True, num_samples=HUGE)
    batches, peak = _peak(lambda: list(itertools.islice(BatchSampler(sampler, 8, False), 5)))
    assert [len(b) for b in batches] == [8] * 5
    assert peak < LIMIT
    data = TensorDataset(ember.arange(10.0))
    loader = DataLoader(data, batch_size=4, sampler=sampler)
    got, peak = _peak(lambda: [b[0].tolist() for b in itertools.islice(loader, 3)])
    assert len(got) == 3 and all(len(b) == 4 for b in got)
    assert peak < LIMIT
    assert len(loader) == HUGE // 4


def test_chunked_draws_are_reproducible_with_a_generator():
    def draw(seed, n):
        g = ember.Generator().manual_seed(seed)
        return list(RandomSampler(range(7), True, n, generator=g))

    assert draw(5, 100) == draw(5, 100)
    assert draw(5, 100) != draw(6, 100)
    # the stream does not depend on where the chunks break: a prefix of a longer run
    assert draw(5, 200)[:100] == draw(5, 100)
    # counts that are not a multiple of the chunk come out exactly
    for n in (1, 31, 32, 33, 65):
        assert len(draw(0, n)) == n


def test_default_generator_seeds_each_pass():
    sampler = RandomSampler(range(50), replacement=True, num_samples=40)
    ember.manual_seed(1)
    a, b = list(sampler), list(sampler)
    ember.manual_seed(1)
    assert list(sampler) == a and list(sampler) == b
    assert a != b


def test_generator_stream_continues_across_passes():
    g = ember.Generator().manual_seed(0)
    sampler = WeightedRandomSampler([1.0, 2.0, 3.0, 4.0], 50, generator=g)
    first, second = list(sampler), list(sampler)
    assert first != second
    g.manual_seed(0)
    assert list(sampler) == first


def test_weighted_chunks_equal_one_multinomial_draw():
    weights = [0.1, 0.9, 0.4, 0.7, 3.0, 0.6]
    g = ember.Generator().manual_seed(3)
    lazy = list(WeightedRandomSampler(weights, 1000, generator=g))
    g.manual_seed(3)
    eager = ember.multinomial(ember.tensor(weights, dtype=ember.float64), 1000, True,
                              generator=g).tolist()
    assert lazy == eager
    freq = np.bincount(lazy, minlength=6) / 1000
    np.testing.assert_allclose(freq, np.array(weights) / sum(weights), atol=0.05)


@pytest.mark.parametrize("weights", [[], [0.0, 0.0], [1.0, -1.0], [float("nan"), 1.0],
                                     [float("inf"), 1.0]])
@pytest.mark.parametrize("replacement", [True, False])
def test_weighted_bad_weights_raise_like_torch(torch, weights, replacement):
    with pytest.raises(RuntimeError) as want:
        list(torch.utils.data.WeightedRandomSampler(weights, 2, replacement))
    with pytest.raises(RuntimeError) as got:
        list(WeightedRandomSampler(weights, 2, replacement))
    if replacement:
        assert str(got.value) == str(want.value)


def test_empty_data_source_with_replacement_raises_like_torch(torch):
    with pytest.raises(RuntimeError) as want:
        list(torch.utils.data.RandomSampler([], replacement=True, num_samples=3))
    with pytest.raises(RuntimeError) as got:
        list(RandomSampler([], replacement=True, num_samples=3))
    assert str(got.value) == str(want.value)


def test_subset_and_permutation_samplers_stay_in_range():
    # without replacement memory is O(len(data)), as in torch; the order stays a permutation
    indices = [3, 9, 27, 81]
    assert sorted(SubsetRandomSampler(indices)) == indices
    drawn = list(RandomSampler(range(5), num_samples=12))
    assert sorted(drawn[:10]) == sorted(list(range(5)) * 2) and len(drawn) == 12
