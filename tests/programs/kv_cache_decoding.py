"""Incremental decoding with a key/value cache, as in fairseq's incremental_state and the
Hugging Face past_key_values loop: an encoder-decoder Transformer (nn.TransformerEncoder for
the source, a hand-written decoder with rotary position embeddings built with torch.polar and
view_as_complex, F.scaled_dot_product_attention, and a cache of past keys and values) trained
on a toy "reverse the sequence" task with teacher forcing and nn.Transformer's square
subsequent mask. Decoding one token at a time with the cache must give the same logits as
re-running the full prefix; then greedy decoding and a small beam search with
log_softmax/topk, and the cached step compared with nn.TransformerDecoder on the same input."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(2)
V, BOS, EOS, PAD = 12, 1, 2, 0
D, H = 32, 4


def precompute_freqs_cis(dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
    t = torch.arange(end, dtype=torch.float32)
    freqs = torch.outer(t, freqs)
    return torch.polar(torch.ones_like(freqs), freqs)          # complex64 (end, dim/2)


def apply_rotary(x, freqs_cis):                                  # x: (B, H, T, hd)
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    out = torch.view_as_real(xc * freqs_cis).flatten(3)
    return out.type_as(x)


class CachedSelfAttention(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h, self.hd = h, d // h
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d)

    def forward(self, x, freqs_cis, cache=None, start=0):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = [t.view(B, T, self.h, self.hd).transpose(1, 2) for t in (q, k, v)]
        f = freqs_cis[start:start + T]
        q, k = apply_rotary(q, f), apply_rotary(k, f)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        # a single new query may look at every cached key; a block needs the causal mask
        y = F.scaled_dot_product_attention(q, k, v, is_causal=T > 1)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class DecoderBlock(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = CachedSelfAttention(d, h)
        self.cross = nn.MultiheadAttention(d, h, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, memory, memory_pad, freqs_cis, cache=None, start=0):
        x = x + self.self_attn(self.ln1(x), freqs_cis, cache, start)
        a, _ = self.cross(self.ln2(x), memory, memory, key_padding_mask=memory_pad,
                          need_weights=False)
        x = x + a
        return x + self.mlp(self.ln3(x))


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.src_emb = nn.Embedding(V, D, padding_idx=PAD)
        self.src_pos = nn.Parameter(torch.zeros(1, 16, D))
        layer = nn.TransformerEncoderLayer(D, H, 4 * D, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.tgt_emb = nn.Embedding(V, D, padding_idx=PAD)
        self.blocks = nn.ModuleList([DecoderBlock(D, H) for _ in range(2)])
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, V)
        self.register_buffer("freqs_cis", precompute_freqs_cis(D // H, 32), persistent=False)

    def encode(self, src):
        pad = src == PAD
        x = self.src_emb(src) + self.src_pos[:, : src.shape[1]]
        return self.encoder(x, src_key_padding_mask=pad), pad

    def decode(self, tgt, memory, pad, caches=None, start=0):
        x = self.tgt_emb(tgt)
        for i, block in enumerate(self.blocks):
            x = block(x, memory, pad, self.freqs_cis, None if caches is None else caches[i],
                      start)
        return self.head(self.ln_f(x))


def make_batch(n):
    lengths = torch.randint(3, 7, (n,))
    src = torch.full((n, 7), PAD)
    tgt = torch.full((n, 9), PAD)
    for i, L in enumerate(lengths.tolist()):
        seq = torch.randint(3, V, (L,))
        src[i, :L] = seq
        tgt[i, : L + 2] = torch.cat([torch.tensor([BOS]), seq.flip(0), torch.tensor([EOS])])
    return src, tgt


freqs = precompute_freqs_cis(8, 4)
print("freqs_cis", freqs.dtype, tuple(freqs.shape),
      [round(v, 4) for v in torch.view_as_real(freqs[1, :2]).flatten().tolist()])
x = torch.randn(1, 1, 4, 8)
rot = apply_rotary(x, freqs)
print("rotary keeps norms:", torch.allclose(rot.norm(dim=-1), x.norm(dim=-1), atol=1e-5),
      "position 0 unchanged:", torch.allclose(rot[..., 0, :], x[..., 0, :]))
print("square subsequent mask", nn.Transformer.generate_square_subsequent_mask(3).tolist())

model = Seq2Seq()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
crit = nn.CrossEntropyLoss(ignore_index=PAD)
for step in range(100):
    src, tgt = make_batch(24)
    memory, pad = model.encode(src)
    logits = model.decode(tgt[:, :-1], memory, pad)
    loss = crit(logits.reshape(-1, V), tgt[:, 1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if step % 25 == 0 or step == 99:
        print("step", step, "loss", round(loss.item(), 3))

model.eval()
src, tgt = make_batch(4)
with torch.no_grad():
    memory, pad = model.encode(src)
    full = model.decode(tgt[:, :-1], memory, pad)
    caches = [{} for _ in model.blocks]
    steps = [model.decode(tgt[:, t:t + 1], memory, pad, caches, start=t) for t in range(8)]
    inc = torch.cat(steps, dim=1)
print("cache shapes", tuple(caches[0]["k"].shape), tuple(caches[1]["v"].shape))
print("incremental == full:", torch.allclose(inc, full, atol=1e-4),
      "max diff below 1e-4:", (inc - full).abs().max().item() < 1e-4)


@torch.no_grad()
def greedy(src, max_len=9):
    memory, pad = model.encode(src)
    caches = [{} for _ in model.blocks]
    ys = torch.full((src.shape[0], 1), BOS)
    nxt = ys
    for t in range(max_len - 1):
        logits = model.decode(nxt, memory, pad, caches, start=t)
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        ys = torch.cat([ys, nxt], dim=1)
    return ys


out = greedy(src)
for i in range(4):
    L = int((src[i] != PAD).sum())
    hyp = out[i, 1:].tolist()
    hyp = hyp[: hyp.index(EOS)] if EOS in hyp else hyp
    print("src", src[i, :L].tolist(), "greedy", hyp)
acc_src, _ = make_batch(32)
out = greedy(acc_src)
correct = 0
for i in range(32):
    L = int((acc_src[i] != PAD).sum())
    correct += int(out[i, 1:L + 1].tolist() == acc_src[i, :L].flip(0).tolist())
print("exact reversals", correct, "/ 32")


@torch.no_grad()
def beam_search(src_row, beam=3, max_len=9):
    memory, pad = model.encode(src_row[None])
    beams = [([BOS], 0.0)]
    for t in range(max_len - 1):
        candidates = []
        for seq, score in beams:
            if seq[-1] == EOS:
                candidates.append((seq, score))
                continue
            logits = model.decode(torch.tensor([seq]), memory, pad)[0, -1]
            logp = F.log_softmax(logits, dim=-1)
            top = logp.topk(beam)
            for lp, idx in zip(top.values.tolist(), top.indices.tolist()):
                candidates.append((seq + [idx], score + lp))
        beams = sorted(candidates, key=lambda c: c[1], reverse=True)[:beam]
    return beams


for seq, score in beam_search(src[0]):
    print("beam", seq[1:], round(score, 1))

# the same decoding step through nn.TransformerDecoder, with and without tgt_is_causal
dec_layer = nn.TransformerDecoderLayer(D, H, 4 * D, dropout=0.0, batch_first=True,
                                       norm_first=True)
decoder = nn.TransformerDecoder(dec_layer, 2).eval()
tgt_x = torch.randn(2, 5, D)
mem_x = torch.randn(2, 6, D)
mask = nn.Transformer.generate_square_subsequent_mask(5)
with torch.no_grad():
    a = decoder(tgt_x, mem_x, tgt_mask=mask)
    b = decoder(tgt_x, mem_x, tgt_mask=mask, tgt_is_causal=True)
    prefix = decoder(tgt_x[:, :3], mem_x,
                     tgt_mask=nn.Transformer.generate_square_subsequent_mask(3))
print("TransformerDecoder causal flag agrees:", torch.allclose(a, b, atol=1e-5),
      "prefix unaffected by later tokens:", torch.allclose(a[:, :3], prefix, atol=1e-5),
      round(a.std().item(), 4))
