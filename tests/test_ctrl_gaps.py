"""Gaps found while writing the control and system-identification programs
(tests/programs/ctrl_*.py), each checked against PyTorch."""

import pytest
import torch

import ember


def _error(lib, call):
    eigenvalues = lib.tensor([0.9 + 0.2j, 0.9 - 0.2j, 0.5 + 0j])
    try:
        call(lib, eigenvalues)
    except Exception as e:  # noqa: BLE001 -- the exception itself is what is compared
        return type(e), str(e)
    return None


@pytest.mark.parametrize("call", [
    lambda L, e: L.sort(e),
    lambda L, e: e.sort(descending=True),
    lambda L, e: L.argsort(e, stable=True),
    lambda L, e: L.msort(e),
    lambda L, e: L.topk(e, 2),
])
def test_sorting_complex_eigenvalues_errors_like_torch(call):
    """Sorting complex poles (people try before sorting by .abs()) is refused by torch's CPU
    sort with a message that starts with a space; ember's lacked it."""
    mine = _error(ember, call)
    assert mine is not None and mine == _error(torch, call)
