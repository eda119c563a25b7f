"""FlexAttention, as its tutorial introduces it: score modifications (relative position,
ALiBi), mask functions (causal, sliding window, document masking), block masks and their
sparsity, and a check against scaled_dot_product_attention."""
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.attention.flex_attention import (AuxRequest, and_masks, create_block_mask,
                                               create_mask, flex_attention, or_masks)

warnings.simplefilter("ignore")  # torch warns that eager flex_attention is unfused
rng = np.random.default_rng(0)
B, H, S, D = 2, 4, 16, 8
q, k, v = (torch.from_numpy(rng.standard_normal((B, H, S, D)).astype(np.float32))
           for _ in range(3))


def relative_positional(score, b, h, q_idx, kv_idx):
    return score + (q_idx - kv_idx) * 0.05


alibi_slopes = torch.tensor([2.0 ** -(i + 1) for i in range(H)])


def alibi(score, b, h, q_idx, kv_idx):
    return score - alibi_slopes[h] * (q_idx - kv_idx).abs()


def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def sliding_window(b, h, q_idx, kv_idx):
    return q_idx - kv_idx <= 4


document_id = torch.tensor([0] * 6 + [1] * 10)


def same_document(b, h, q_idx, kv_idx):
    return document_id[q_idx] == document_id[kv_idx]


out = flex_attention(q, k, v)
ref = F.scaled_dot_product_attention(q, k, v)
print("no mods equals sdpa:", torch.allclose(out, ref, atol=1e-5))

causal_mask = create_block_mask(causal, None, None, S, S, BLOCK_SIZE=4)
print(causal_mask)
print("sparsity:", round(causal_mask.sparsity(), 2))
out = flex_attention(q, k, v, block_mask=causal_mask)
print("causal equals sdpa(is_causal):",
      torch.allclose(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-5))

window = create_block_mask(and_masks(causal, sliding_window), None, None, S, S, BLOCK_SIZE=4)
print(window)
docs = create_block_mask(and_masks(causal, same_document), None, None, S, S, BLOCK_SIZE=4)
print(docs)
print("kv_num_blocks:", docs.kv_num_blocks.tolist())
print("full_kv_num_blocks:", docs.full_kv_num_blocks.tolist())

dense = create_mask(or_masks(causal, lambda b, h, q_idx, kv_idx: kv_idx == 0), 1, 1, 6, 6)
print(dense.int()[0, 0].tolist())

for name, mod in (("relative", relative_positional), ("alibi", alibi)):
    out = flex_attention(q, k, v, score_mod=mod, block_mask=window)
    print(name, out[0, 1, 3].numpy().round(4).tolist())

out, aux = flex_attention(q, k, v, block_mask=docs, return_aux=AuxRequest(lse=True))
print("lse:", aux.lse[1, 2, :5].numpy().round(4).tolist())
