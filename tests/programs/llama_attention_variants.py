"""Attention variants from LLaMA-style model code, written with einsum: rotary position
embeddings through complex numbers (``torch.polar``, ``view_as_complex``/``view_as_real``),
grouped-query and multi-query attention (``repeat_interleave`` of key/value heads, and
``scaled_dot_product_attention(enable_gqa=True)``), ALiBi biases, a sliding-window causal mask,
linear attention with the elu+1 feature map, an incremental KV cache, RMSNorm and a SwiGLU
feed-forward. A tiny decoder built from them is trained on a copy task. Weights and data come
from NumPy."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(0)


def from_np(*shape, scale=1.0):
    return torch.from_numpy((scale * rng.standard_normal(shape)).astype(np.float32))


def show(label, t, nd=4):
    print(label, tuple(t.shape), [round(v, nd) for v in t.flatten()[:4].tolist()],
          round(t.double().abs().sum().item(), 3))


# rotary position embeddings (as in LLaMA's precompute_freqs_cis / apply_rotary_emb)
def precompute_freqs_cis(dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, dtype=torch.float32)
    freqs = torch.outer(t, freqs)
    return torch.polar(torch.ones_like(freqs), freqs)  # complex64


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = freqs_cis.view(1, xq_.shape[1], 1, xq_.shape[-1])
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def rotate_half(x):
    x1, x2 = x[..., ::2], x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


freqs_cis = precompute_freqs_cis(8, 6)
print("freqs_cis", freqs_cis.dtype, tuple(freqs_cis.shape),
      [round(v, 4) for v in torch.view_as_real(freqs_cis)[2, 1].tolist()])
q, k = from_np(2, 6, 3, 8), from_np(2, 6, 3, 8)
q_rot, k_rot = apply_rotary_emb(q, k, freqs_cis)
# the same rotation with real arithmetic (cos/sin, rotate_half on interleaved pairs)
cos = freqs_cis.real.repeat_interleave(2, dim=-1)[None, :, None, :]
sin = freqs_cis.imag.repeat_interleave(2, dim=-1)[None, :, None, :]
print("rotary complex == real:", torch.allclose(q_rot, q * cos + rotate_half(q) * sin, atol=1e-6))
# rotation keeps norms and makes q.k depend only on the relative offset
print("norms kept:", torch.allclose(q_rot.norm(dim=-1), q.norm(dim=-1), atol=1e-5))
same_q = q[:1, :1].expand(1, 6, 3, 8).contiguous()
rq, rk = apply_rotary_emb(same_q, same_q, freqs_cis)
scores = torch.einsum("bqhd,bkhd->bhqk", rq, rk)[0, 0]
print("relative:", round(scores[1, 0].item(), 4), round(scores[3, 2].item(), 4),
      round(scores[5, 4].item(), 4))


# grouped-query attention with einsum
def repeat_kv(x, n_rep):
    """(bs, seqlen, n_kv_heads, head_dim) -> (bs, seqlen, n_kv_heads * n_rep, head_dim)"""
    bs, slen, n_kv_heads, head_dim = x.shape
    if n_rep == 1:
        return x
    return (x[:, :, :, None, :].expand(bs, slen, n_kv_heads, n_rep, head_dim)
            .reshape(bs, slen, n_kv_heads * n_rep, head_dim))


def einsum_attention(q, k, v, mask=None, bias=None):
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.size(-1))
    if bias is not None:
        scores = scores + bias
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.einsum("bhqk,bkhd->bqhd", scores.softmax(dim=-1), v)


B, L, H, KV, D = 2, 6, 4, 2, 8
q, k, v = from_np(B, L, H, D), from_np(B, L, KV, D), from_np(B, L, KV, D)
causal = torch.ones(L, L, dtype=torch.bool).tril()
out_gqa = einsum_attention(q, repeat_kv(k, H // KV), repeat_kv(v, H // KV), causal)
print("repeat_kv == repeat_interleave:",
      torch.equal(repeat_kv(k, 2), k.repeat_interleave(2, dim=2)))
sdpa = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                      is_causal=True, enable_gqa=True).transpose(1, 2)
print("einsum GQA == sdpa(enable_gqa):", torch.allclose(out_gqa, sdpa, atol=1e-5))
show("gqa out", out_gqa)
# multi-query: one key/value head shared by every query head, broadcast inside einsum
k1, v1 = k[:, :, :1], v[:, :, :1]
mqa = torch.einsum("bhqk,bkd->bqhd",
                   (torch.einsum("bqhd,bkd->bhqk", q, k1[:, :, 0]) / math.sqrt(D))
                   .masked_fill(~causal, float("-inf")).softmax(-1), v1[:, :, 0])
print("MQA == GQA with one group:",
      torch.allclose(mqa, einsum_attention(q, k1.expand(B, L, H, D), v1.expand(B, L, H, D),
                                           causal), atol=1e-6))


# ALiBi: a per-head linear penalty on distance instead of position embeddings
def alibi_slopes(n_heads):
    start = 2 ** (-8 / n_heads)
    return torch.tensor([start ** (i + 1) for i in range(n_heads)])


slopes = alibi_slopes(H)
distance = torch.arange(L)[None, :] - torch.arange(L)[:, None]
alibi = slopes[:, None, None] * distance[None].float()
print("alibi slopes", [round(s, 5) for s in slopes.tolist()])
show("alibi out", einsum_attention(q, repeat_kv(k, 2), repeat_kv(v, 2), causal, alibi))
sdpa_bias = F.scaled_dot_product_attention(
    q.transpose(1, 2), repeat_kv(k, 2).transpose(1, 2), repeat_kv(v, 2).transpose(1, 2),
    attn_mask=alibi.masked_fill(~causal, float("-inf"))).transpose(1, 2)
print("alibi sdpa(float mask) agrees:",
      torch.allclose(sdpa_bias, einsum_attention(q, repeat_kv(k, 2), repeat_kv(v, 2), causal,
                                                 alibi), atol=1e-5))

# sliding-window causal mask (each query sees at most `window` keys)
window = 3
sliding = causal & (torch.arange(L)[:, None] - torch.arange(L)[None, :] < window)
print("sliding mask row sums", sliding.sum(1).tolist())
show("sliding out", einsum_attention(q, repeat_kv(k, 2), repeat_kv(v, 2), sliding))


# linear attention: phi(q) (phi(k)^T v), causal version by cumulative sums
def linear_attention(q, k, v, causal=False, eps=1e-6):
    q, k = F.elu(q) + 1, F.elu(k) + 1
    if not causal:
        kv = torch.einsum("bkhd,bkhe->bhde", k, v)
        z = 1 / (torch.einsum("bqhd,bhd->bqh", q, k.sum(dim=1)) + eps)
        return torch.einsum("bqhd,bhde,bqh->bqhe", q, kv, z)
    kv = torch.einsum("bkhd,bkhe->bkhde", k, v).cumsum(dim=1)
    z = 1 / (torch.einsum("bqhd,bqhd->bqh", q, k.cumsum(dim=1)) + eps)
    return torch.einsum("bqhd,bqhde,bqh->bqhe", q, kv, z)


kk, vv = repeat_kv(k, 2), repeat_kv(v, 2)
lin = linear_attention(q, kk, vv, causal=True)
# quadratic form of the same thing, for checking
phi_q, phi_k = F.elu(q) + 1, F.elu(k.repeat_interleave(2, dim=2)) + 1
weights = torch.einsum("bqhd,bkhd->bhqk", phi_q, phi_k) * causal
quad = torch.einsum("bhqk,bkhd->bqhd", weights / weights.sum(-1, keepdim=True), vv)
print("causal linear == quadratic:", torch.allclose(lin, quad, atol=1e-5))
show("linear attention", linear_attention(q, kk, vv))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


x = from_np(2, 3, 8)
print("RMSNorm == F.rms_norm:", torch.allclose(RMSNorm(8)(x), F.rms_norm(x, (8,), eps=1e-6),
                                               atol=1e-6),
      "== nn.RMSNorm:", torch.allclose(RMSNorm(8)(x), nn.RMSNorm(8, eps=1e-6)(x), atol=1e-6))


class Attention(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads):
        super().__init__()
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        self.head_dim = dim // n_heads
        self.wq = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(n_heads * self.head_dim, dim, bias=False)
        self.cache_k = self.cache_v = None

    def forward(self, x, start_pos, freqs_cis, mask, use_cache=False):
        bsz, seqlen, _ = x.shape
        xq = self.wq(x).view(bsz, seqlen, self.n_heads, self.head_dim)
        xk = self.wk(x).view(bsz, seqlen, self.n_kv_heads, self.head_dim)
        xv = self.wv(x).view(bsz, seqlen, self.n_kv_heads, self.head_dim)
        xq, xk = apply_rotary_emb(xq, xk, freqs_cis)
        if use_cache:
            if start_pos == 0:
                self.cache_k, self.cache_v = xk, xv
            else:
                self.cache_k = torch.cat([self.cache_k, xk], dim=1)
                self.cache_v = torch.cat([self.cache_v, xv], dim=1)
            xk, xv = self.cache_k, self.cache_v
        n_rep = self.n_heads // self.n_kv_heads
        out = einsum_attention(xq, repeat_kv(xk, n_rep), repeat_kv(xv, n_rep), mask)
        return self.wo(out.reshape(bsz, seqlen, -1))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads):
        super().__init__()
        self.attention = Attention(dim, n_heads, n_kv_heads)
        self.feed_forward = FeedForward(dim, 4 * dim)
        self.attention_norm, self.ffn_norm = RMSNorm(dim), RMSNorm(dim)

    def forward(self, x, start_pos, freqs_cis, mask, use_cache=False):
        h = x + self.attention(self.attention_norm(x), start_pos, freqs_cis, mask, use_cache)
        return h + self.feed_forward(self.ffn_norm(h))


class TinyLlama(nn.Module):
    def __init__(self, vocab=10, dim=16, n_layers=2, n_heads=4, n_kv_heads=2, max_len=16):
        super().__init__()
        self.tok_embeddings = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList([Block(dim, n_heads, n_kv_heads) for _ in range(n_layers)])
        self.norm = RMSNorm(dim)
        self.output = nn.Linear(dim, vocab, bias=False)
        self.register_buffer("freqs_cis", precompute_freqs_cis(dim // n_heads, max_len),
                             persistent=False)

    def forward(self, tokens, start_pos=0, use_cache=False):
        seqlen = tokens.size(1)
        h = self.tok_embeddings(tokens)
        freqs = self.freqs_cis[start_pos:start_pos + seqlen]
        total = start_pos + seqlen
        mask = torch.ones(seqlen, total, dtype=torch.bool).tril(diagonal=start_pos)
        for layer in self.layers:
            h = layer(h, start_pos, freqs, mask, use_cache)
        return self.output(self.norm(h))


model = TinyLlama()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(from_np(*p.shape, scale=0.2) + (1.0 if p.dim() == 1 else 0.0))
print("parameters", sum(p.numel() for p in model.parameters()),
      "buffers in state_dict", [k for k in model.state_dict() if "freqs" in k])

# copy task: the second half of each sequence repeats the first half
data_rng = np.random.default_rng(1)
first = data_rng.integers(1, 10, (64, 5))
seqs = torch.from_numpy(np.concatenate([first, np.zeros((64, 1), np.int64), first], axis=1))
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
for step in range(80):
    logits = model(seqs[:, :-1])
    loss = F.cross_entropy(logits[:, 5:].reshape(-1, 10), seqs[:, 6:].reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0 or step == 79:
        print(f"step {step:2d} copy loss {loss.item():.4f}")

# greedy decoding with and without the KV cache gives the same tokens
model.eval()
with torch.no_grad():
    prompt = seqs[:4, :6]
    full = prompt
    for _ in range(5):
        next_tok = model(full)[:, -1].argmax(-1, keepdim=True)
        full = torch.cat([full, next_tok], dim=1)
    cached = prompt
    logits = model(prompt, start_pos=0, use_cache=True)
    for pos in range(6, 11):
        next_tok = logits[:, -1].argmax(-1, keepdim=True)
        cached = torch.cat([cached, next_tok], dim=1)
        logits = model(next_tok, start_pos=pos, use_cache=True)
    print("decoded", full[:, 6:].tolist())
    print("target ", seqs[:4, 6:].tolist())
    print("kv cache agrees:", torch.equal(full, cached),
          "cache shape", tuple(model.layers[0].attention.cache_k.shape))
