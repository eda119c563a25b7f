"""nn gaps found by the tabular/recommender programs (tests/programs/tab_*.py), against torch."""

import pytest

import ember
import ember.nn.functional as EF

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("w_dtype,p_dtype", [("float32", "float64"), ("float64", "float32"),
                                             ("float32", "float16"), ("float32", "int64")])
def test_embedding_bag_per_sample_weights_must_match_the_weight_dtype(w_dtype, p_dtype):
    # ember promoted the weights silently; torch refuses with a RuntimeError
    def call(lib, fn):
        return fn(lib.tensor([1, 2, 3]), lib.ones(4, 2, dtype=getattr(lib, w_dtype)),
                  lib.tensor([0, 1]), mode="sum",
                  per_sample_weights=lib.ones(3, dtype=getattr(lib, p_dtype)))

    with pytest.raises(RuntimeError) as te:
        call(torch, torch.nn.functional.embedding_bag)
    with pytest.raises(RuntimeError) as ee:
        call(ember, EF.embedding_bag)
    assert str(ee.value) == str(te.value)


def test_embedding_bag_per_sample_weights_of_the_same_dtype_still_work():
    out = EF.embedding_bag(ember.tensor([1, 2, 3]), ember.ones(4, 2, dtype=ember.float64),
                           ember.tensor([0, 1]), mode="sum",
                           per_sample_weights=ember.tensor([0.5, 2.0, 1.0], dtype=ember.float64))
    ref = torch.nn.functional.embedding_bag(
        torch.tensor([1, 2, 3]), torch.ones(4, 2, dtype=torch.float64), torch.tensor([0, 1]),
        mode="sum", per_sample_weights=torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64))
    assert out.dtype == ember.float64 and out.tolist() == ref.tolist()
