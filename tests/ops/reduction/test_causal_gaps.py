"""Gaps found by the causal-inference programs (tests/programs/causal_*.py), checked against
PyTorch: a mean over an empty selection (no treated unit in a bootstrap sample or a fold) and a
variance over too few elements give NaN without NumPy's RuntimeWarnings leaking out; the
degrees-of-freedom UserWarning points at the user's line, as torch's does, and is given for an
empty input too (torch's reduction factor, input numel over output numel, is then 0)."""
import warnings

import pytest
import torch

import ember


def _run(lib, fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(lib)
    return out, caught


CASES = {
    "mean_empty_rows": lambda t: t.empty(0, 3).mean(0),
    "mean_empty_all": lambda t: t.empty(0).mean(),
    "masked_mean_no_treated": lambda t: t.ones(4, 2)[t.zeros(4) == 1].mean(0),
    "var_single": lambda t: t.tensor([1.0]).var(),
    "std_single_dim": lambda t: t.std(t.tensor([[2.0, 3.0]]), 0),
    "var_mean_correction": lambda t: t.var_mean(t.tensor([1.0, 2.0]), correction=2)[0],
    "std_mean_empty": lambda t: t.std_mean(t.empty(0, 2), 0)[1],
    "cov_one_obs": lambda t: t.cov(t.tensor([1.0])),
    "var_empty_no_correction": lambda t: t.empty(0).var(correction=0),
    "var_empty_columns": lambda t: t.empty(2, 0).var(0),
    "std_empty_rows_dim1": lambda t: t.empty(0, 2).std(1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_degenerate_reductions_give_nan_and_torchs_warnings(name):
    fn = CASES[name]
    expected, torch_warns = _run(torch, fn)
    got, ember_warns = _run(ember, fn)
    assert got.shape == tuple(expected.shape)
    assert got.isnan().tolist() == expected.isnan().tolist()
    # same warnings by category and first sentence; no extra (NumPy) RuntimeWarning
    assert [(w.category, str(w.message).split(".")[0]) for w in ember_warns] == \
        [(w.category, str(w.message).split(".")[0]) for w in torch_warns]
    # each warning is attributed to this test file (the user's line), not to ember's insides
    assert [w.filename for w in ember_warns] == [__file__] * len(ember_warns)
    assert [w.filename for w in torch_warns] == [__file__] * len(torch_warns)
