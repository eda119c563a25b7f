"""Gaps found while writing the multimodal programs (tests/programs/mm_*.py), each checked
against PyTorch: ``scatter_add``/``scatter_add_`` with a ``src`` of another dtype (soft VQA
targets counted from float64 ones into a float32 table) raise torch's message, which names
the shared ``scatter()`` kernel for every scatter variant; a mask that does not broadcast
against the tensor in ``masked_fill``/``masked_fill_``/``masked_select`` (a padding mask of the
wrong orientation) names the two sizes the way torch does (mask first out of place, self first
in place)."""

import pytest
import torch

import ember


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001  (the type and message are compared)
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("call", [
    lambda x, i, s: x.scatter_add(1, i, s),
    lambda x, i, s: x.scatter_add_(1, i, s),
    lambda x, i, s: x.scatter(1, i, s),
    lambda x, i, s: x.scatter_(1, i, s),
    lambda x, i, s: x.scatter_reduce(1, i, s, "sum"),
    lambda x, i, s: x.scatter_reduce_(1, i, s, "amax", include_self=False),
])
def test_scatter_variants_name_scatter_on_a_dtype_mismatch(call):
    def counts_from_float64_votes(lib):
        votes = lib.zeros(3, 1, dtype=lib.long)
        return _error(lambda: call(lib.zeros(3, 4), votes, lib.ones(3, 1, dtype=lib.float64)))

    results = [counts_from_float64_votes(lib) for lib in (torch, ember)]
    assert results[0] is not None
    assert results[1] == results[0]


@pytest.mark.parametrize("call", [
    lambda lib, x, m: x.masked_fill(m, 0.0),
    lambda lib, x, m: lib.masked_fill(x, m, float("-inf")),
    lambda lib, x, m: x.masked_fill_(m, 0.0),
    lambda lib, x, m: x.masked_select(m),
    lambda lib, x, m: lib.masked_select(x, m),
])
@pytest.mark.parametrize("x_shape,mask_shape", [((2, 3), (2,)), ((2, 3), (2, 2)), ((3,), (2, 2))])
def test_masking_with_a_mask_that_does_not_broadcast(call, x_shape, mask_shape):
    """A padding mask of the wrong orientation: torch names the mask tensor a out of place and
    self tensor a in place; the two sizes in the message must be the right way round."""
    def attempt(lib):
        return _error(lambda: call(lib, lib.ones(*x_shape), lib.ones(*mask_shape, dtype=lib.bool)))

    want, got = attempt(torch), attempt(ember)
    assert want is not None
    assert got == want
