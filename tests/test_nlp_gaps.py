"""Gaps found by the classic-NLP programs (tests/programs/nlp_*) in ember's top-level
functions, compared with PyTorch: multinomial without replacement asked for more samples than
a row has non-zero weights (top-k / top-p filtered distributions) returns the zero-weight
categories in the order PyTorch's topk leaves them; torch.tensor of a list holding
multi-element tensors raises TypeError when the result is integral, as PyTorch does."""

import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("weights,num_samples", [
    ([0.0, 1.0, 2.0, 0.0, 3.0], 4),
    ([0.0, 1.0, 2.0, 0.0, 3.0], 5),
    ([0.0, 0.0, 0.0, 1.0, 0.0, 0.0], 6),
    ([0.0] * 3 + [1.0] + [0.0] * 8, 12),
    ([1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0], 10),
    ([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 2.0]], 4),
    ([[0.0, 1.0, 0.0, 0.0], [1.0, 0.5, 0.25, 2.0]], 3),  # only the first row reaches zeros
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multinomial_without_replacement_past_the_support_as_torch(weights, num_samples, seed):
    got = ember.multinomial(ember.tensor(weights), num_samples,
                            generator=ember.Generator().manual_seed(seed))
    want = torch.multinomial(torch.tensor(weights), num_samples,
                             generator=torch.Generator().manual_seed(seed))
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("prefix,element,kw", [
    ([], [1, 2], {}), ([], [True, False], {}), ([], [1, 2], {"dtype": "float32"}),
    ([], [1.0, 2.0], {"dtype": "int64"}), ([1], [1, 2], {}), ([1.5], [1, 2], {}),
    ([1], [1.0, 2.0], {}), ([], [1.0, 2.0], {}),
])
def test_tensor_of_a_list_of_whole_tensors_raises_as_torch(prefix, element, kw):
    # a vocabulary lookup written torch.tensor([ids_a, ids_b]) with tensors: TypeError when
    # the result is integral (torch goes through __index__), ValueError otherwise
    def call(lib):
        t = lib.tensor(element)
        args = {k: getattr(lib, v) for k, v in kw.items()}
        return lib.tensor(prefix + [t, t], **args)

    with pytest.raises(Exception) as t_err:
        call(torch)
    with pytest.raises(Exception) as e_err:
        call(ember)
    assert type(e_err.value) is type(t_err.value)
    assert str(e_err.value).startswith(str(t_err.value))
