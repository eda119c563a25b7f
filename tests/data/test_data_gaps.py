"""Gaps found by the data-pipeline tour programs (tests/programs/data_*.py), against torch:
``StackDataset.__getitems__`` (the DataLoader's batched fetch)."""

import pytest

import ember


def _lib_classes(lib):
    data = lib.utils.data

    class Batched(data.Dataset):
        """A dataset with its own batched fetch (as torch's fetcher prefers)."""

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return i

        def __getitems__(self, indices):
            return [i * 100 for i in indices]

    class Short(Batched):
        def __getitems__(self, indices):
            return [1]

    return data, Batched, Short


def _run(lib):
    data, Batched, Short = _lib_classes(lib)
    out = [data.StackDataset(Batched(), [7, 8, 9]).__getitems__([2, 0]),
           data.StackDataset(a=Batched(), b=[7, 8, 9]).__getitems__([2, 0]),
           data.StackDataset(a=[1, 2]).__getitems__([]),
           [b for b in data.DataLoader(data.StackDataset(Batched(), Batched()), batch_size=2)]]
    for ds in (data.StackDataset(Short(), Batched()), data.StackDataset(a=Short())):
        try:
            ds.__getitems__([0, 1])
        except ValueError as e:
            out.append(str(e))
    return out


def test_stack_dataset_getitems_matches_torch(torch):
    expected, got = _run(torch), _run(ember)
    assert got[:3] == expected[:3]
    assert [[t.tolist() for t in b] for b in got[3]] == \
        [[t.tolist() for t in b] for b in expected[3]]
    assert got[4:] == expected[4:] and len(got) == 6


def test_stack_dataset_getitems_returns_a_list_of_samples():
    ds = ember.utils.data.StackDataset(x=ember.arange(3), y=["a", "b", "c"])
    batch = ds.__getitems__([1, 2])
    assert isinstance(batch, list) and batch[1]["y"] == "c"
    assert batch[0]["x"].item() == 1
    with pytest.raises(IndexError):
        ds.__getitems__([5])
