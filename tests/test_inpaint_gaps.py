"""Gaps found while writing the inpainting programs (tests/programs/inpaint_*.py), each checked
against PyTorch: the deprecated ``size_average``/``reduce`` loss arguments, still common in
older inpainting and GAN code (``nn.L1Loss(size_average=False)``), warn naming the reduction
the pair stands for ('sum', 'none' or 'mean'), not always 'mean'."""

import warnings

import pytest
import torch

import ember

_PAIRS = [dict(size_average=False), dict(reduce=False), dict(size_average=True),
          dict(size_average=False, reduce=True), dict(size_average=True, reduce=False),
          dict(reduce=True)]


def _run(lib, make):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = make(lib)
    return out.tolist(), [str(w.message) for w in caught if "size_average" in str(w.message)]


@pytest.mark.parametrize("legacy", _PAIRS)
@pytest.mark.parametrize("make", [
    lambda lib, kw: lib.nn.L1Loss(**kw)(lib.tensor([1.0, -2.0]), lib.zeros(2)),
    lambda lib, kw: lib.nn.MSELoss(**kw)(lib.tensor([1.0, -2.0]), lib.zeros(2)),
    lambda lib, kw: lib.nn.functional.l1_loss(lib.tensor([1.0, -2.0]), lib.zeros(2), **kw),
    lambda lib, kw: lib.nn.functional.nll_loss(lib.tensor([[-1.0, -2.0], [-0.5, -3.0]]),
                                               lib.tensor([0, 1]), **kw),
])
def test_legacy_reduction_warning_names_the_reduction(legacy, make):
    assert _run(ember, lambda lib: make(lib, legacy)) == _run(torch, lambda lib: make(lib, legacy))
