"""The fused attention op split over the batch axis on ember's threads gives exactly the
single-call result, and PyTorch's, for every mask layout that the chunks slice or broadcast."""

import numpy as np
import pytest

import ember
from ember import _threads
from ember._ops.nn import linear_softmax

torch = pytest.importorskip("torch")
F = ember.nn.functional


def _run(lib, arrays, mask, causal):
    q, k, v = (lib.tensor(a, requires_grad=True) for a in arrays)
    m = None if mask is None else lib.tensor(mask)
    out = lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal)
    out.backward(lib.tensor(np.cos(np.arange(out.numel())).reshape(out.shape).astype(np.float32)))
    return [t.detach().numpy() for t in (out, q.grad, k.grad, v.grad)]


CASES = [  # (q shape, mask shape or None, causal)
    ((5, 3, 7, 4), None, True),
    ((5, 3, 7, 4), (7, 6), False),         # a 2-D mask broadcast over every chunk
    ((5, 3, 7, 4), (5, 1, 7, 6), False),   # a mask with the batch axis: sliced with the chunks
    ((5, 3, 7, 4), (1, 3, 7, 6), False),   # a mask broadcast over the batch axis
    ((4, 7, 4), (4, 7, 6), False),         # 3-D
    ((7, 4), None, True),                  # 2-D: one chunk
]


@pytest.mark.parametrize("qshape,mshape,causal", CASES)
def test_chunked_attention_matches_one_call_and_torch(monkeypatch, qshape, mshape, causal):
    rng = np.random.default_rng(0)
    s = 7 if causal else 6
    kshape = qshape[:-2] + (s, qshape[-1])
    arrays = [rng.standard_normal(sh).astype(np.float32) for sh in (qshape, kshape, kshape)]
    mask = None if mshape is None else rng.standard_normal(mshape).astype(np.float32)

    monkeypatch.setattr(linear_softmax, "_ATTENTION_PARALLEL_BYTES", 1 << 40)
    single = _run(ember, arrays, mask, causal)
    monkeypatch.setattr(linear_softmax, "_ATTENTION_PARALLEL_BYTES", 0)
    monkeypatch.setattr(_threads, "_threads", 3)  # 5 batch rows in 3 uneven chunks
    chunked = _run(ember, arrays, mask, causal)
    expected = _run(torch, arrays, mask, causal)
    for a, b, t in zip(single, chunked, expected):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(b, t, rtol=1e-5, atol=1e-5)

