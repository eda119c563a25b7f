"""Behaviour pinned while rewriting ``utils/data/dataset.py`` and ``vision/datasets``: the
dataset combinators against torch, and the vision datasets against torchvision 0.28 (values
printed by torchvision are written in where it cannot be imported beside torch)."""

import gzip
import os
import pathlib
import warnings

import numpy as np
import pytest

import ember
from ember.utils.data import (
    ChainDataset,
    ConcatDataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)

torch = pytest.importorskip("torch")
tdata = torch.utils.data


class Count(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class TCount(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as err:  # the type and message are part of the contract
        return (type(err).__name__, str(err))


@pytest.mark.parametrize("lengths,n", [([0.3, 0.7], 10), ([0.1, 0.2, 0.3, 0.4], 11),
                                       ([0.5, 0.5, 0.0], 10), ([1.0, 0.0], 3),
                                       ([0.2, 0.2, 0.6], 5), ([3, 7], 10), ([0.3, 0.8, -0.1], 10),
                                       ([1.5, -0.5], 10), ([4, 0, 2], 6)])
@pytest.mark.parametrize("seed", [0, 42])
def test_random_split_matches_torch(lengths, n, seed):
    def ours():
        parts = random_split(range(n), lengths, generator=ember.Generator().manual_seed(seed))
        return [list(p.indices) for p in parts]

    def theirs():
        parts = tdata.random_split(range(n), lengths,
                                   generator=torch.Generator().manual_seed(seed))
        return [list(p.indices) for p in parts]

    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        got = _outcome(ours)
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        want = _outcome(theirs)
    assert got == want
    assert [str(w.message) for w in ours_w] == [str(w.message) for w in theirs_w]


def test_random_split_global_generator_matches_torch():
    ember.manual_seed(3)
    torch.manual_seed(3)
    got = [p.indices for p in random_split(range(6), [2, 4])]
    assert got == [p.indices for p in tdata.random_split(range(6), [2, 4])]


def test_random_split_sum_mismatch_message():
    with pytest.raises(ValueError) as info:
        random_split(range(10), (3, 6))
    assert str(info.value) == ("Sum of input lengths does not equal the length of the input "
                               "dataset!")  # torch's words; ember's detail is a note
    assert info.value.__notes__ == ["lengths [3, 6] sum to 9, the dataset has 10 samples"]


def test_concat_indexing_matches_torch():
    parts = [[0, 1, 2], [], [3, 4, 5, 6]]
    ours, theirs = ConcatDataset(parts), tdata.ConcatDataset(parts)
    assert ours.cumulative_sizes == theirs.cumulative_sizes == [3, 3, 7]
    for i in range(-7, 7):
        assert ours[i] == theirs[i]
    assert _outcome(lambda: ours[-8]) == _outcome(lambda: theirs[-8])
    with pytest.raises(IndexError, match="index 7 is out of range for ConcatDataset of length 7"):
        ours[7]
    assert ConcatDataset.cumsum(parts) == tdata.ConcatDataset.cumsum(parts)


def test_concat_deprecated_cummulative_sizes_warns_like_torch():
    # regression: ember lacked torch's misspelled alias
    with pytest.warns(FutureWarning, match="`cummulative_sizes` attribute is renamed to "
                                           "`cumulative_sizes`"):
        assert ConcatDataset([[1], [2, 3]]).cummulative_sizes == [1, 3]
    with pytest.warns(FutureWarning):
        assert tdata.ConcatDataset([[1], [2, 3]]).cummulative_sizes == [1, 3]


def test_concat_and_chain_refusals_match_torch():
    cases = [(lambda: ConcatDataset([]), lambda: tdata.ConcatDataset([])),
             (lambda: ConcatDataset([[1], Count(2)]), lambda: tdata.ConcatDataset([[1], TCount(2)])),
             (lambda: list(ChainDataset([Count(2), [1]])),
              lambda: list(tdata.ChainDataset([TCount(2), [1]]))),
             (lambda: len(ChainDataset([Count(2), Count(3)])),
              lambda: len(tdata.ChainDataset([TCount(2), TCount(3)]))),
             (lambda: list(Count(2) + Count(1)), lambda: list(TCount(2) + TCount(1)))]
    for ours, theirs in cases:
        assert _outcome(ours) == _outcome(theirs)


class Batched:
    """A dataset with its own ``__getitems__`` (tagged, so the batched path is visible)."""

    def __init__(self, short=False):
        self.short = short

    def __getitem__(self, i):
        return i

    def __getitems__(self, idx):
        return [("b", i) for i in idx][: 1 if self.short else None]

    def __len__(self):
        return 4


def test_stack_and_subset_batches_match_torch():
    plain = [10, 11, 12, 13]
    for args, kwargs in [((Batched(), plain), {}), ((), {"x": Batched(), "y": plain})]:
        got = StackDataset(*args, **kwargs)
        want = tdata.StackDataset(*args, **kwargs)
        assert got[2] == want[2]
        assert got.__getitems__([3, 0]) == want.__getitems__([3, 0])
    assert _outcome(lambda: StackDataset(Batched(True), plain).__getitems__([0, 1])) == \
        _outcome(lambda: tdata.StackDataset(Batched(True), plain).__getitems__([0, 1]))
    for args, kwargs in [((plain, [1]), {}), ((plain,), {"y": plain}), ((), {})]:
        assert _outcome(lambda a=args, k=kwargs: StackDataset(*a, **k)) == \
            _outcome(lambda a=args, k=kwargs: tdata.StackDataset(*a, **k))
    sub, tsub = Subset(Batched(), [3, 1, 2]), tdata.Subset(Batched(), [3, 1, 2])
    assert sub.__getitems__([0, 2]) == tsub.__getitems__([0, 2]) == [("b", 3), ("b", 2)]
    assert Subset(Batched(), [3, 1])[[1, 0]] == tdata.Subset(Batched(), [3, 1])[[1, 0]] == [1, 3]
    assert Subset(plain, [3, 1]).__getitems__([1]) == tdata.Subset(plain, [3, 1]).__getitems__([1])


def test_tensor_dataset_matches_torch():
    x, y = np.arange(6).reshape(3, 2), np.array([5, 6, 7])
    ours = TensorDataset(ember.tensor(x), ember.tensor(y))
    theirs = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == 3
    for i in (0, -1):
        assert [t.tolist() for t in ours[i]] == [t.tolist() for t in theirs[i]]
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(ember.zeros(3), ember.zeros(2))


# ---- vision datasets (torchvision 0.28's behaviour, as printed by it) ----------------------

datasets = pytest.importorskip("ember.vision.datasets")


def test_vision_dataset_keeps_a_pathlib_root(tmp_path):
    # regression: ember turned every root into an expanded str; torchvision expands only a
    # str and keeps a pathlib.Path as given (PosixPath('~/data') stays unexpanded)
    class Three(datasets.VisionDataset):
        def __len__(self):
            return 3

    assert Three(pathlib.Path("~/data")).root == pathlib.Path("~/data")
    assert Three("~/data").root == os.path.expanduser("~/data")
    assert Three(None).root is None
    assert repr(Three("r", target_transform=abs)) == (
        "Dataset Three\n    Number of datapoints: 3\n    Root location: r\n"
        "    StandardTransform\nTarget transform: <built-in function abs>")
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform"):
        Three("r", transforms=lambda a, b: (a, b), transform=abs)


def test_fakedata_target_transform_gets_a_tensor():
    # regression: torchvision hands target_transform a 0-d int64 tensor and returns .item()
    pytest.importorskip("PIL")
    seen = []

    def tt(t):
        seen.append((type(t).__name__, t.dtype, tuple(t.shape)))
        return t * 2

    img, target = datasets.FakeData(size=6, image_size=(3, 4, 5), num_classes=3,
                                    random_offset=7, target_transform=tt)[2]
    assert seen == [("Tensor", ember.int64, ())]
    assert target == 0 and type(target) is int  # torchvision: target 0 for this sample
    ember.manual_seed(0)
    before = ember.rand(2).tolist()
    ember.manual_seed(0)
    datasets.FakeData(size=2)[1]
    assert ember.rand(2).tolist() == before  # reading a sample leaves the global RNG alone


def _write_idx(path, arr):
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(head + arr.astype(np.uint8).tobytes())


def _emnist_letters(root):
    raw = root / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    for part in ("train", "test"):
        _write_idx(raw / f"emnist-letters-{part}-images-idx3-ubyte.gz",
                   np.zeros((2, 28, 28), np.uint8))
        _write_idx(raw / f"emnist-letters-{part}-labels-idx1-ubyte.gz", np.array([1, 2]))


def test_emnist_repr_and_split_checks_match_torchvision(tmp_path):
    # regression: ember printed "Split: letters, Train"; torchvision prints "Split: Train"
    _emnist_letters(tmp_path)
    ds = datasets.EMNIST(str(tmp_path), split="letters")
    assert repr(ds).endswith("    Split: Train")
    assert len(ds.classes) == 27 and ds.classes[:2] == ["N/A", "a"]
    with pytest.raises(ValueError, match=r"Expected type str for argument split, but got type "
                                         r"<class 'int'>\."):
        datasets.EMNIST(str(tmp_path), split=3)
    with pytest.raises(ValueError, match=r"Unknown value 'bogus' for argument split\. Valid "
                                         r"values are \{'byclass', 'bymerge', 'balanced', "
                                         r"'letters', 'digits', 'mnist'\}\."):
        datasets.EMNIST(str(tmp_path), split="bogus")


def test_mnist_legacy_attribute_names_warn(tmp_path):
    # regression: torchvision warns (UserWarning) on the pre-0.2 attribute names
    _emnist_letters(tmp_path)
    ds = datasets.EMNIST(str(tmp_path), split="letters")
    for name, new in [("train_labels", "targets"), ("test_labels", "targets"),
                      ("train_data", "data"), ("test_data", "data")]:
        with pytest.warns(UserWarning, match=f"{name} has been renamed {new}"):
            assert getattr(ds, name) is getattr(ds, new)


def test_mnist_prefers_the_extracted_file(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", np.array([1, 2]))
    with gzip.open(raw / "t10k-labels-idx1-ubyte.gz") as fh:
        (raw / "t10k-labels-idx1-ubyte").write_bytes(fh.read()[:-2] + bytes([7, 8]))
    assert datasets.MNIST(str(tmp_path), train=False).targets.tolist() == [7, 8]
    assert datasets.MNIST(str(tmp_path), train=True).targets.tolist() == [1, 2]
