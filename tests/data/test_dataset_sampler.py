"""Datasets and samplers: contents, lengths, seeded order, and agreement with torch."""

import numpy as np
import pytest

import ember
from ember.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def test_tensor_dataset_slices_along_first_dim():
    x = ember.tensor(np.arange(12.0).reshape(6, 2))
    y = ember.tensor(np.arange(6))
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    assert xi.tolist() == [8.0, 9.0] and yi.item() == 4


def test_tensor_dataset_size_mismatch_names_shapes():
    with pytest.raises(AssertionError, match=r"\(3, 2\).*\(4,\)"):
        TensorDataset(ember.zeros(3, 2), ember.zeros(4))


def test_concat_subset_chain_stack():
    a, b = list(range(3)), list(range(10, 15))
    cat = ConcatDataset([a, b])
    assert len(cat) == 8 and [cat[i] for i in range(8)] == a + b and cat[-1] == 14
    with pytest.raises(IndexError):
        cat[8]
    sub = Subset(cat, [7, 0, 3])
    assert [sub[i] for i in range(3)] == [14, 0, 10] and len(sub) == 3
    chain = ChainDataset([Stream([1, 2]), Stream([3])])
    assert list(chain) == [1, 2, 3] and len(chain) == 3
    assert list(Stream([1]) + Stream([2])) == [1, 2]
    st = StackDataset(a=a, b=b[:3])
    assert st[1] == {"a": 1, "b": 11}
    assert StackDataset(a, a)[2] == (2, 2)
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(a, b)


def test_random_split_lengths_fractions_and_generator():
    parts = random_split(range(10), [3, 7], generator=ember.Generator().manual_seed(1))
    again = random_split(range(10), [3, 7], generator=ember.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    assert list(parts[0]) == list(again[0])
    fr = random_split(range(11), [0.5, 0.3, 0.2])
    assert [len(p) for p in fr] == [6, 3, 2]  # floors 5, 3, 2; the remainder goes to split 0
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])


def test_random_split_fraction_lengths_match_torch(torch):
    for n, fr in [(11, [0.5, 0.3, 0.2]), (7, [0.34, 0.33, 0.33]), (5, [1.0])]:
        ours = [len(p) for p in random_split(range(n), fr)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fr)]
        assert ours == theirs


def test_random_sampler_is_a_permutation_and_seeded():
    ember.manual_seed(3)
    a = list(RandomSampler(range(20)))
    ember.manual_seed(3)
    b = list(RandomSampler(range(20)))
    assert a == b and sorted(a) == list(range(20)) and a != list(range(20))
    g = ember.Generator().manual_seed(5)
    c = list(RandomSampler(range(20), generator=g))
    assert sorted(c) == list(range(20))


def test_random_sampler_replacement_and_num_samples():
    s = RandomSampler(range(5), replacement=True, num_samples=100)
    draws = list(s)
    assert len(draws) == 100 == len(s) and set(draws) <= set(range(5))
    s2 = list(RandomSampler(range(4), num_samples=10))
    assert len(s2) == 10 and sorted(s2[:4]) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(4), num_samples=0)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(4), replacement=1)


def test_subset_and_weighted_samplers():
    assert sorted(SubsetRandomSampler([4, 9, 2])) == [2, 4, 9]
    w = list(WeightedRandomSampler([0.0, 0.0, 1.0], 6))
    assert w == [2] * 6
    nw = list(WeightedRandomSampler([1.0, 1.0, 1.0, 0.0], 3, replacement=False))
    assert sorted(nw) == [0, 1, 2]
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], -1)


def test_batch_sampler_matches_torch(torch):
    for bs, dl in [(3, False), (3, True), (5, False), (10, True), (11, False)]:
        ours = BatchSampler(SequentialSampler(range(10)), bs, dl)
        theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(10)),
                                               bs, dl)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), 0, False)


def test_distributed_sampler_matches_torch_unshuffled(torch):
    for n, reps, drop in [(10, 3, False), (10, 3, True), (4, 3, False), (9, 3, False)]:
        for rank in range(reps):
            ours = DistributedSampler(range(n), reps, rank, shuffle=False, drop_last=drop)
            theirs = torch.utils.data.DistributedSampler(range(n), reps, rank, shuffle=False,
                                                         drop_last=drop)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_submodule_is_an_attribute_after_import_as_in_torch(torch):
    # the ImageNet example writes torch.utils.data.distributed.DistributedSampler after only
    # "import torch.utils.data"; a fresh interpreter shows what the import alone provides
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = ("import {0}.utils.data as d; s = d.distributed.DistributedSampler(range(5), 2, 1, "
            "shuffle=False); print(list(s), d.distributed.DistributedSampler is "
            "d.DistributedSampler)")
    outs = [subprocess.run([sys.executable, "-c", code.format(lib)], capture_output=True,
                           text=True, timeout=300, cwd=root,
                           env=dict(os.environ, PYTHONPATH=str(root))).stdout
            for lib in ("ember", "torch")]
    assert outs[0] == outs[1] == "[1, 3, 0] True\n"


def test_distributed_sampler_shuffle_partitions_and_epochs():
    parts = [list(DistributedSampler(range(12), 3, r, seed=7)) for r in range(3)]
    assert sorted(sum(parts, [])) == list(range(12))
    s = DistributedSampler(range(12), 3, 0, seed=7)
    e0 = list(s)
    s.set_epoch(1)
    assert list(s) != e0 and list(DistributedSampler(range(12), 3, 0, seed=7)) == e0
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(range(4), 2, 2)


def test_datasets_samplers_and_loader_are_generic_as_in_torch(torch):
    import typing

    names = ["Dataset", "IterableDataset", "Subset", "ConcatDataset", "Sampler",
             "DistributedSampler", "DataLoader"]
    for name in names:
        e, t = getattr(ember.utils.data, name), getattr(torch.utils.data, name)
        assert typing.get_origin(e[int]) is e and typing.get_origin(t[int]) is t, name

    class Pairs(ember.utils.data.Dataset[tuple[ember.Tensor, int]]):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return ember.tensor([i]), i

    batch = next(iter(ember.utils.data.DataLoader(Pairs(), batch_size=3)))
    assert batch[0].tolist() == [[0], [1], [2]] and batch[1].tolist() == [0, 1, 2]


def test_iterable_dataset_without_iter_fails_at_construction_as_torch(torch):
    for lib in (torch, ember):
        data = lib.utils.data

        class Forgot(data.IterableDataset):
            pass

        for cls in (data.IterableDataset, Forgot):
            with pytest.raises(TypeError, match="Can't instantiate abstract class"):
                cls()
