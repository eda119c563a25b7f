"""Nested tensors for variable-length sequences (the torch.nested tutorial's path): a jagged
batch without padding through a projection, attention and pooling, against the padded way."""
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(0)
lengths = [3, 5, 2]
E, H = 16, 2
sentences = [torch.from_numpy(rng.standard_normal((n, E)).astype(np.float32)) for n in lengths]

nt = torch.nested.nested_tensor(sentences, layout=torch.jagged)
print("is_nested:", nt.is_nested, "dim:", nt.dim(), "batch:", nt.size(0), "features:", nt.size(-1))
print("offsets:", nt.offsets().tolist())
print("values shape:", tuple(nt.values().shape))
print("components:", [tuple(t.shape) for t in nt.unbind()])

proj = torch.nn.Linear(E, 3 * E)
with torch.no_grad():
    proj.weight.copy_(torch.from_numpy(rng.standard_normal((3 * E, E)).astype(np.float32) * 0.3))
    proj.bias.zero_()

with torch.no_grad():  # torch's CPU kernel for jagged attention has no backward
    qkv = proj(nt)
    q, k, v = qkv.chunk(3, dim=-1)
    q, k, v = (t.contiguous().unflatten(-1, (H, E // H)).transpose(1, 2) for t in (q, k, v))
    attn = F.scaled_dot_product_attention(q, k, v)
per_sentence = [t.transpose(0, 1).reshape(t.shape[1], E) for t in attn.unbind()]
print("attention output shapes:", [tuple(t.shape) for t in per_sentence])

pooled = torch.stack([t.mean(0) for t in per_sentence])
print("pooled:", pooled.detach().numpy().round(4).tolist())

# the padded way gives the same numbers when the padding is masked out
padded = torch.nested.to_padded_tensor(nt, 0.0)
print("padded shape:", tuple(padded.shape))
mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
pq, pk, pv = (t.unflatten(-1, (H, E // H)).transpose(1, 2) for t in proj(padded).chunk(3, dim=-1))
pa = F.scaled_dot_product_attention(pq, pk, pv, attn_mask=mask[:, None, None, :])
pa = pa.transpose(1, 2).reshape(len(lengths), max(lengths), E)
padded_pooled = torch.stack([pa[i, :n].mean(0) for i, n in enumerate(lengths)])
print("same as padded:", torch.allclose(pooled, padded_pooled, atol=1e-5))

# elementwise ops, softmax and layer norm keep the nesting
normed = F.layer_norm(torch.relu(nt) * 2 + 1, (E,))
print("layer norm of row 0:", normed.unbind()[0][0].detach().numpy().round(4).tolist())
print("softmax sums:", [round(float(t.sum()), 4) for t in nt.softmax(-1).unbind()])
print("sum over the ragged dim:", nt.sum(dim=1).numpy().round(3)[:, :3].tolist())

# gradients flow back to the components
leaf = torch.nested.nested_tensor(sentences, layout=torch.jagged, requires_grad=True)
loss = torch.nested.to_padded_tensor(proj(leaf).relu(), 0.0).pow(2).sum()
loss.backward()
print("loss:", round(loss.item(), 3))
print("grad rows:", tuple(leaf.grad.values().shape),
      leaf.grad.values()[:2, :3].numpy().round(4).tolist())
