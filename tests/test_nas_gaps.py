"""Gaps found while writing the neural-architecture-search programs (tests/programs/nas_*.py),
each checked against PyTorch: channel selection by advanced indexing (``w[:, keep]``, the way
channel-pruned or sliced subnets pick their channels) gives a contiguous result for a
row-major input, as torch's does, so that ``.view()`` on it works and ``stride()`` /
``is_contiguous()`` agree (NumPy handed back a transposed array)."""

import pytest
import torch

import ember


def _layout(lib, shape, index, make=None):
    x = lib.arange(float(torch.Size(shape).numel())).reshape(shape)
    if make is not None:
        x = make(x)
    y = x[index(lib)]
    try:
        flat = y.view(-1).tolist()
    except RuntimeError as exc:
        flat = str(exc)
    return tuple(y.shape), y.stride(), y.is_contiguous(), flat


@pytest.mark.parametrize("shape,index", [
    ((4, 5), lambda lib: (slice(None), lib.tensor([0, 2]))),
    ((2, 3, 4), lambda lib: (slice(None), slice(None), [1, 2])),
    ((2, 3, 4), lambda lib: (slice(None), [0, 1], slice(1, 3))),
    ((8, 4, 3, 3), lambda lib: (slice(None), lib.tensor([3, 0, 1]))),
    ((3, 4), lambda lib: (slice(None), lib.tensor([True, False, True, True]))),
    ((3, 4, 5), lambda lib: (lib.tensor([0, 2]), slice(None), lib.tensor([1, 3]))),
    ((4, 5), lambda lib: (lib.tensor([1, 3]),)),
])
def test_advanced_index_of_a_row_major_tensor_is_contiguous(shape, index):
    assert _layout(ember, shape, index) == _layout(torch, shape, index)


def test_advanced_index_of_a_sliced_tensor_is_contiguous():
    def make(x):
        return x[:, 1:4]

    def index(lib):
        return (slice(None), lib.tensor([0, 2]))

    assert _layout(ember, (3, 6), index, make) == _layout(torch, (3, 6), index, make)


def test_sliced_channel_importance_selection_views_like_torch():
    results = []
    for lib in (torch, ember):
        w = (lib.arange(216) * 37 % 216 - 100).float().reshape(6, 4, 3, 3)
        keep = w.abs().sum(dim=(0, 2, 3)).argsort(descending=True)[:2].sort().values
        results.append((keep.tolist(), w[:, keep].view(6, -1)[:, :5].tolist()))
    assert results[1] == results[0]
