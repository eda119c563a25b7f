"""Decoding recipes from the Hugging Face generation utilities and fairseq's sequence generator,
on a tiny GPT (hand-written causal attention with F.scaled_dot_product_attention, tied
embeddings) trained on toy arithmetic-like sequences: logits processors (temperature,
top-k with torch.topk and masked_fill(-inf), nucleus / top-p with sort, cumsum and scatter,
min-p, repetition penalty with gather/scatter_, no-repeat-n-gram bans), sampling with a
seeded torch.Generator and torch.distributions.Categorical, left-padded batched generation
with F.pad and attention masks, and beam search with a length penalty and EOS handling
(topk over flattened beams, torch.div(..., rounding_mode="floor"), index_select)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)
V, PAD, BOS, EOS, D, H, MAXLEN = 14, 0, 1, 2, 32, 4, 20


class GPT(nn.Module):
    def __init__(self, n_layer=2):
        super().__init__()
        self.wte = nn.Embedding(V, D)
        self.wpe = nn.Embedding(MAXLEN, D)
        self.layers = nn.ModuleList()
        for _ in range(n_layer):
            self.layers.append(nn.ModuleDict(dict(
                ln1=nn.LayerNorm(D), qkv=nn.Linear(D, 3 * D), proj=nn.Linear(D, D),
                ln2=nn.LayerNorm(D), fc=nn.Linear(D, 4 * D), out=nn.Linear(4 * D, D))))
        self.ln_f = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, V, bias=False)
        self.wte.weight = self.lm_head.weight

    def forward(self, ids, attention_mask=None):
        B, T = ids.shape
        if attention_mask is None:
            attention_mask = torch.ones_like(ids)
        pos = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)    # left padding aware
        x = self.wte(ids) + self.wpe(pos)
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        mask = causal & attention_mask.bool()[:, None, None, :]
        mask = mask | torch.eye(T, dtype=torch.bool)
        for L in self.layers:
            h = L["ln1"](x)
            q, k, v = L["qkv"](h).split(D, dim=-1)
            q, k, v = (t.view(B, T, H, D // H).transpose(1, 2) for t in (q, k, v))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            x = x + L["proj"](a.transpose(1, 2).reshape(B, T, D))
            x = x + L["out"](F.gelu(L["fc"](L["ln2"](x))))
        return self.lm_head(self.ln_f(x))


def make_data(n, gen):
    """BOS a a a+s a+s a+2s ... EOS: a counter with step s, each value twice."""
    seqs = torch.full((n, 12), PAD)
    for i in range(n):
        a, b = torch.randint(3, V, (2,), generator=gen).tolist()
        L = int(torch.randint(4, 9, (1,), generator=gen))
        body = [3 + (a - 3 + (j // 2) * (b % 3 + 1)) % (V - 3) for j in range(L)]
        seqs[i, : L + 2] = torch.tensor([BOS] + body + [EOS])
    return seqs


gen = torch.Generator().manual_seed(0)
data = make_data(192, gen)
model = GPT()
opt = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=0.05)
print("data", data[0].tolist(), "params", sum(p.numel() for p in model.parameters()))
for epoch in range(8):
    perm = torch.randperm(len(data), generator=gen)
    total = 0.0
    for idx in perm.split(32):
        batch = data[idx]
        logits = model(batch[:, :-1], attention_mask=torch.ones_like(batch[:, :-1]))
        loss = F.cross_entropy(logits.reshape(-1, V), batch[:, 1:].reshape(-1), ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    if epoch % 2 == 1:
        print(f"epoch {epoch} loss {total / 6:.4f}")
model.eval()


# --- logits processors ---------------------------------------------------------------------
def top_k_filter(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1, None]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits, p, min_keep=1):
    sorted_logits, sorted_idx = torch.sort(logits, descending=False)
    cum = sorted_logits.softmax(-1).cumsum(-1)
    remove_sorted = cum <= (1 - p)
    remove_sorted[..., -min_keep:] = False
    remove = remove_sorted.scatter(-1, sorted_idx, remove_sorted)
    return logits.masked_fill(remove, -float("inf"))


def min_p_filter(logits, min_p):
    probs = logits.softmax(-1)
    thresh = min_p * probs.amax(-1, keepdim=True)
    return logits.masked_fill(probs < thresh, float("-inf"))


def repetition_penalty(logits, ids, penalty):
    score = torch.gather(logits, 1, ids)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return logits.scatter(1, ids, score)


def ban_repeated_ngrams(logits, ids, n):
    """Ban every token that would complete an n-gram already present (windows via unfold)."""
    logits = logits.clone()
    grams = ids.unfold(1, n, 1)                                     # B, windows, n
    prefix = ids[:, -(n - 1):]
    hit = (grams[:, :, :-1] == prefix[:, None]).all(-1)             # B, windows
    for b, w in zip(*hit.nonzero(as_tuple=True)):
        logits[b, grams[b, w, -1]] = float("-inf")
    return logits


def typical_filter(logits, mass=0.9):
    """Locally typical sampling: keep tokens whose surprisal is closest to the entropy."""
    normalized = logits.log_softmax(-1)
    ent = -(normalized * normalized.exp()).nansum(-1, keepdim=True)
    shifted = (-normalized - ent).abs()
    sorted_scores, sorted_idx = torch.sort(shifted, descending=False)
    cum = logits.gather(-1, sorted_idx).softmax(-1).cumsum(-1)
    last = (cum < mass).sum(dim=1).clamp(max=logits.size(-1) - 1)
    remove_sorted = sorted_scores > sorted_scores.gather(1, last.view(-1, 1))
    remove = remove_sorted.scatter(1, sorted_idx, remove_sorted)
    return logits.masked_fill(remove, torch.finfo(logits.dtype).min)


with torch.no_grad():
    probe = model(torch.tensor([[BOS, 5, 9, 6]]))[:, -1] / 3.0     # flattened
show = lambda t: [("-inf" if math.isinf(v) else f"{v:.3f}") for v in t[0].tolist()]  # noqa: E731
print("raw     ", show(probe))
print("top-k 3 ", show(top_k_filter(probe, 3)))
print("top-p .9", show(top_p_filter(probe, 0.9)))
print("min-p .1", show(min_p_filter(probe, 0.1)))
print("rep 1.5 ", show(repetition_penalty(probe, torch.tensor([[5, 9, 6, 3]]), 1.5)))
print("typical ", show(typical_filter(probe, 0.5).clamp(min=-1e9)))
print("kept", torch.isfinite(top_p_filter(probe, 0.9)).sum().item(),
      torch.isfinite(min_p_filter(probe, 0.1)).sum().item(),
      (typical_filter(probe, 0.5) > torch.finfo(torch.float32).min).sum().item())
print("3gram ban", show(ban_repeated_ngrams(probe, torch.tensor([[BOS, 5, 9, 6, 5, 9]]), 3)))

# Gumbel-max / exponential race (as in gpt-fast): argmax(p / E), E ~ Exp(1), samples from p
g = torch.Generator().manual_seed(9)
p = probe.softmax(-1).expand(4000, -1)
race = torch.argmax(p / torch.empty_like(p).exponential_(1, generator=g), dim=-1)
race_freq = torch.bincount(race, minlength=V) / race.numel()
print("race tv", f"{0.5 * (race_freq - p[0]).abs().sum().item():.4f}",
      "top", race_freq.topk(3).indices.tolist(), p[0].topk(3).indices.tolist())


@torch.no_grad()
def sample(prompts, n_new, gen, temperature=1.0, top_k=None, top_p=None, rep=None, ngram=None,
           typical=None):
    """Left-pad the prompts, then sample; finished rows keep emitting PAD."""
    width = max(len(p) for p in prompts)
    ids = pad_sequence([torch.tensor(p) for p in prompts], batch_first=True,
                       padding_value=PAD, padding_side="left")
    attn = torch.stack([F.pad(torch.ones(len(p), dtype=torch.long), (width - len(p), 0))
                        for p in prompts])
    done = torch.zeros(len(prompts), dtype=torch.bool)
    entropies = []
    for _ in range(n_new):
        logits = model(ids, attention_mask=attn)[:, -1]
        if rep is not None:
            logits = repetition_penalty(logits, ids, rep)
        if ngram is not None:
            logits = ban_repeated_ngrams(logits, ids, ngram)
        logits = logits / temperature
        if top_k is not None:
            logits = top_k_filter(logits, top_k)
        if top_p is not None:
            logits = top_p_filter(logits, top_p)
        if typical is not None:
            logits = typical_filter(logits, typical)
        dist = Categorical(logits=logits)
        entropies.append(dist.entropy())
        nxt = torch.multinomial(dist.probs, 1, generator=gen).squeeze(1)
        nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        attn = torch.cat([attn, (~done).long()[:, None]], dim=1)
        done |= nxt == EOS
        if done.all():
            break
    return ids, torch.stack(entropies, 1).mean().item()


prompts = [[BOS, 5, 9], [BOS, 7, 3, 8, 4], [BOS, 12]]
for name, kw in [("greedy-ish t=0.3", dict(temperature=0.3)),
                 ("top-k 4", dict(top_k=4)),
                 ("top-p 0.8", dict(top_p=0.8)),
                 ("rep 1.3 + 3gram", dict(rep=1.3, ngram=3, temperature=0.7)),
                 ("typical 0.6", dict(typical=0.6))]:
    g = torch.Generator().manual_seed(42)
    out, ent = sample(prompts, 8, g, **kw)
    print(f"{name:16s} H {ent:.4f}", [r for r in out.tolist()])


# --- beam search with a length penalty -----------------------------------------------------
@torch.no_grad()
def beam_search(prompt, beams=4, max_new=10, length_penalty=1.0):
    ids = torch.tensor([prompt]).repeat(beams, 1)
    scores = torch.zeros(beams)
    scores[1:] = float("-inf")                                   # start from one live beam
    finished = []
    for step in range(max_new):
        logp = model(ids)[:, -1].log_softmax(-1)                 # beams, V
        cand = (scores[:, None] + logp).view(-1)
        top_scores, top_idx = cand.topk(2 * beams)
        beam_idx = torch.div(top_idx, V, rounding_mode="floor")
        tok_idx = top_idx % V
        new_ids, new_scores = [], []
        for s, b, t in zip(top_scores.tolist(), beam_idx.tolist(), tok_idx.tolist()):
            seq = torch.cat([ids[b], torch.tensor([t])])
            if t == EOS:
                gen_len = seq.numel() - len(prompt)
                finished.append((s / gen_len ** length_penalty, s, seq))
            else:
                new_ids.append(seq)
                new_scores.append(s)
            if len(new_ids) == beams:
                break
        ids = torch.stack(new_ids)
        scores = torch.tensor(new_scores)
        best_live = scores.max().item() / (ids.size(1) - len(prompt)) ** length_penalty
        if len(finished) >= beams and max(f[0] for f in finished) > best_live:
            break
    for s, b in zip(scores.tolist(), ids):
        finished.append((s / (b.numel() - len(prompt)) ** length_penalty, s, b))
    finished.sort(key=lambda f: -f[0])
    return finished[:beams]


for lp in (0.0, 1.0, 2.0):
    best = beam_search([BOS, 6, 10], beams=3, length_penalty=lp)
    print(f"beam lp={lp}", [(f"{f[0]:.3f}", f[2].tolist()[3:]) for f in best])

# reorder a KV-like cache with index_select, as beam search does with past_key_values
cache = torch.arange(24.0).view(4, 2, 3)
order = torch.tensor([2, 2, 0, 3])
print("reordered cache", cache.index_select(0, order)[:, 0, 0].tolist())
