"""``is_contiguous(memory_format=...)`` reads the strides as torch does (it said True for
channels_last on any row-major tensor), and dtypes pickle by name (``pickle.dumps(float32)``
failed: its reduction carried the ember module object)."""

import copy
import pickle

import numpy as np
import pytest

import ember


def _strided(lib, shape, perm):
    """A tensor of ``shape`` whose memory holds its dims in the order ``perm``."""
    base = lib.zeros([shape[p] for p in perm])
    return base.permute(*np.argsort(perm).tolist())


@pytest.mark.parametrize("shape,perm", [
    ((2, 3, 4, 5), (0, 1, 2, 3)), ((2, 3, 4, 5), (0, 2, 3, 1)), ((2, 1, 4, 5), (0, 1, 2, 3)),
    ((2, 3, 1, 1), (0, 1, 2, 3)), ((2, 3, 4, 5), (3, 2, 1, 0)), ((2, 3, 4, 5, 6), (0, 2, 3, 4, 1)),
    ((2, 3, 4, 5, 6), (0, 1, 2, 3, 4)), ((3, 4), (0, 1))])
def test_is_contiguous_per_memory_format_matches_torch(torch, shape, perm):
    for fmt in ("contiguous_format", "preserve_format", "channels_last", "channels_last_3d"):
        got = _strided(ember, shape, perm).is_contiguous(memory_format=getattr(ember, fmt))
        want = _strided(torch, shape, perm).is_contiguous(memory_format=getattr(torch, fmt))
        assert got == want, (fmt, shape, perm)


def test_is_contiguous_rejects_a_non_format(torch):
    for lib in (ember, torch):
        with pytest.raises(TypeError, match="must be torch.memory_format"):
            lib.zeros(2).is_contiguous(memory_format="channels_last")


def test_every_dtype_pickles_as_itself():
    import ember._dtype as D

    dtypes = [v for v in vars(D).values() if isinstance(v, D.dtype)]
    assert len(dtypes) >= 12
    for d in dtypes:
        assert pickle.loads(pickle.dumps(d)) is d
        assert copy.deepcopy(d) is d
    state = {"dtype": ember.bfloat16, "format": ember.channels_last}
    assert pickle.loads(pickle.dumps(state)) == state
