"""Gaps found by the tabular/recommender programs (tests/programs/tab_*.py), checked against torch."""

import pytest

import ember
from ember.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

torch = pytest.importorskip("torch")

WEIGHTS = [0.5, 0.25, 0.25, 1.0, 0.5, 0.5, 0.25, 1.0] * 30  # class-balancing style weights


def _passes(lib, consume_first):
    """Two passes of a seeded WeightedRandomSampler; the first left half-consumed or not."""
    sampler = lib.utils.data.WeightedRandomSampler(
        lib.tensor(WEIGHTS, dtype=lib.float64), 100, replacement=True,
        generator=lib.Generator().manual_seed(2))
    it = iter(sampler)
    first = [next(it) for _ in range(consume_first)]
    return first, list(sampler)[:20]


@pytest.mark.parametrize("consume_first", [1, 7, 100])
def test_weighted_sampler_draws_everything_at_the_first_next(consume_first):
    # torch's one multinomial call moves the generator past all num_samples draws at the first
    # next(); ember drew 32 at a time, so a second pass after a partial one differed
    assert _passes(ember, consume_first) == _passes(torch, consume_first)


def test_weighted_sampler_after_next_iter_of_a_loader():
    def run(lib, sampler_cls, dataset_cls, loader_cls):
        g = lib.Generator().manual_seed(5)
        sampler = sampler_cls(lib.tensor(WEIGHTS, dtype=lib.float64), 240, generator=g)
        loader = loader_cls(dataset_cls(lib.arange(240)), batch_size=16, sampler=sampler)
        first = next(iter(loader))[0].tolist()
        return first, [b[0].tolist() for b in loader][:3]

    assert run(ember, WeightedRandomSampler, TensorDataset, DataLoader) == run(
        torch, torch.utils.data.WeightedRandomSampler, torch.utils.data.TensorDataset,
        torch.utils.data.DataLoader)
