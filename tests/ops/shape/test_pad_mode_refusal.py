"""A non-constant ``F.pad`` whose padding length does not fit the input's rank is refused
with torch's NotImplementedError and message (the same text, line for line)."""
import pytest

import ember
import ember.nn.functional as EF

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 4, 8, 8), (1, 1)), ((1, 2, 3, 4, 5), (1,) * 8),
                                       ((2, 3), (1,) * 4), ((3,), (1, 1)),
                                       ((2, 3, 4, 5, 6, 7), (1,) * 6)])
def test_pad_rank_refusal_matches_torch(mode, shape, pad):
    with pytest.raises(Exception) as want:
        torch.nn.functional.pad(torch.ones(shape), pad, mode=mode)
    with pytest.raises(Exception) as got:
        EF.pad(ember.ones(shape), pad, mode=mode)
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value)
