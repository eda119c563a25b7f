"""Single-process DataLoader: batching, order, shuffling per seed, and agreement with torch."""

import warnings

import numpy as np
import pytest

import ember
from ember.utils.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    TensorDataset,
)


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"x": np.full(3, i, np.float32), "y": i * i}


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((23, 4)).astype(np.float32), rng.integers(0, 5, 23)


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (5, False), (5, True), (23, False),
                                                  (30, False)])
def test_sequential_batches_match_torch(torch, batch_size, drop_last):
    x, y = data()
    ours = DataLoader(TensorDataset(ember.tensor(x), ember.tensor(y)), batch_size=batch_size,
                      drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
        batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    got = list(ours)
    want = list(theirs)
    assert len(got) == len(want)
    for (gx, gy), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(gx.numpy(), wx.numpy())
        np.testing.assert_array_equal(gy.numpy(), wy.numpy())
        assert gx.dtype == ember.float32 and gy.dtype == ember.int64


def test_dict_samples_and_no_batching(torch):
    batches = list(DataLoader(Squares(), batch_size=4))
    assert [b["y"].tolist() for b in batches] == [[0, 1, 4, 9], [16, 25, 36, 49], [64, 81]]
    assert batches[0]["x"].shape == (4, 3)
    single = list(DataLoader(Squares(), batch_size=None))
    assert len(single) == 10 and single[2]["x"].shape == (3,) and single[2]["y"] == 4


def test_shuffle_is_reproducible_per_seed_and_covers_everything():
    ds = TensorDataset(ember.arange(50))

    def order(seed):
        ember.manual_seed(seed)
        return [v for (b,) in DataLoader(ds, batch_size=7, shuffle=True) for v in b.tolist()]

    a, b, c = order(0), order(0), order(1)
    assert a == b and a != c and sorted(a) == list(range(50))
    g1, g2 = ember.Generator().manual_seed(9), ember.Generator().manual_seed(9)
    l1 = [b[0].tolist() for b in DataLoader(ds, batch_size=50, shuffle=True, generator=g1)]
    l2 = [b[0].tolist() for b in DataLoader(ds, batch_size=50, shuffle=True, generator=g2)]
    assert l1 == l2
    # two epochs of one loader differ
    loader = DataLoader(ds, batch_size=50, shuffle=True)
    assert next(iter(loader))[0].tolist() != next(iter(loader))[0].tolist()


def test_iterable_dataset_batches_and_len():
    loader = DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(loader) == 3
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [
        [0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(3), shuffle=True)


def longer_than_it_says(data_module):
    """Reports two samples, yields four (a stream not sharded across workers does this)."""

    class LongerThanItSays(data_module.IterableDataset):
        def __len__(self):
            return 2

        def __iter__(self):
            return iter(range(4))

    return LongerThanItSays()


def length_warnings(data_module, num_workers, ask_len):
    loader = data_module.DataLoader(longer_than_it_says(data_module), num_workers=num_workers)
    if ask_len:
        assert len(loader) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [int(x) for x in loader] == [0, 1, 2, 3]
    return [str(w.message).replace("object at", "@").split("@")[0] + str(w.message)[-60:]
            for w in caught if "Length of IterableDataset" in str(w.message)]


@pytest.mark.parametrize("num_workers", [0, 1])
@pytest.mark.parametrize("ask_len", [False, True])
def test_iterable_dataset_outrunning_its_len_warns_like_torch(num_workers, ask_len):
    torch = pytest.importorskip("torch")
    got = length_warnings(ember.utils.data, num_workers, ask_len)
    assert got == length_warnings(torch.utils.data, num_workers, ask_len)
    assert len(got) == (2 if ask_len else 0)


def test_custom_sampler_batch_sampler_and_collate():
    ds = TensorDataset(ember.arange(6))
    rev = DataLoader(ds, batch_size=2, sampler=list(reversed(range(6))))
    assert [b[0].tolist() for b in rev] == [[5, 4], [3, 2], [1, 0]]
    bs = DataLoader(ds, batch_sampler=[[0, 5], [2]])
    assert [b[0].tolist() for b in bs] == [[0, 5], [2]] and len(bs) == 2
    raw = DataLoader(ds, batch_size=3, collate_fn=lambda b: len(b))
    assert list(raw) == [3, 3]


def test_argument_errors_match_torch_messages():
    ds = TensorDataset(ember.arange(4))
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(ds, persistent_workers=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        DataLoader(ds, pin_memory=True)
    assert any("pin_memory" in str(x.message) for x in w)


def test_collate_error_names_dataset_indices():
    class Ragged(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return ember.zeros(2 if i < 3 else 5)

    with pytest.raises(RuntimeError) as info:
        list(DataLoader(Ragged(), batch_size=2))
    # torch's message stays as it is; which dataset items they were comes as a note
    assert str(info.value).endswith("[2] at entry 0 and [5] at entry 1")
    assert any("dataset indices [2, 3]" in note for note in info.value.__notes__)
