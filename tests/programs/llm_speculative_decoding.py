"""Speculative decoding (Leviathan et al. 2023; Chen et al. 2023) with a small draft model and a
larger target model, both nn.TransformerDecoderLayer stacks used decoder-only (memory-free
self-attention with nn.Transformer.generate_square_subsequent_mask). Both are trained on a
toy Markov-chain language; then the draft proposes gamma tokens by sampling with a seeded
torch.Generator, the target scores all of them in one forward, each is accepted when
torch.rand < p_target / p_draft, and the first rejection resamples from the residual
distribution max(0, p - q) normalized, via torch.multinomial. The empirical distribution of
speculative samples is compared with the target's own (they must agree), along with the
acceptance rate and the number of target calls saved."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
V, BOS, MAXLEN = 10, 0, 24

# a sparse-ish Markov chain over tokens 1..V-1: each state prefers a few successors
logits_chain = rng.normal(size=(V, V)) * 2.0
logits_chain[:, BOS] = -np.inf
P = torch.from_numpy(logits_chain).float().softmax(-1)


def sample_corpus(n, length, gen):
    seqs = torch.empty(n, length, dtype=torch.long)
    seqs[:, 0] = BOS
    for t in range(1, length):
        seqs[:, t] = torch.multinomial(P[seqs[:, t - 1]], 1, generator=gen).squeeze(1)
    return seqs


class DecoderOnlyLM(nn.Module):
    def __init__(self, d, heads, layers, ff):
        super().__init__()
        self.emb = nn.Embedding(V, d)
        self.pos = nn.Parameter(torch.randn(1, MAXLEN, d) * 0.02)
        self.layers = nn.ModuleList(
            nn.TransformerDecoderLayer(d, heads, ff, dropout=0.0, batch_first=True,
                                       norm_first=True, activation="gelu")
            for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, V)

    def forward(self, ids):
        T = ids.size(1)
        x = self.emb(ids) + self.pos[:, :T]
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        for layer in self.layers:
            # decoder-only: attend to itself as "memory" with the same causal mask
            x = layer(x, x, tgt_mask=mask, memory_mask=mask, tgt_is_causal=True,
                      memory_is_causal=True)
        return self.head(self.norm(x))


def train(model, data, epochs, lr, name):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * 4)
    for epoch in range(epochs):
        total = 0.0
        for batch in data.split(32):
            logits = model(batch[:, :-1])
            loss = F.cross_entropy(logits.transpose(1, 2), batch[:, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        if epoch % 2 == 1 or epoch == epochs - 1:
            print(f"{name} epoch {epoch} loss {total / 4:.4f}")


gen = torch.Generator().manual_seed(123)
corpus = sample_corpus(128, 16, gen)
entropy = -(P * P.clamp_min(1e-12).log()).sum(-1)
print("corpus", tuple(corpus.shape), corpus[0, :10].tolist(),
      f"chain entropy {entropy[1:].mean().item():.4f}")

draft = DecoderOnlyLM(16, 2, 1, 32)
target = DecoderOnlyLM(48, 4, 2, 96)
print("draft params", sum(p.numel() for p in draft.parameters()),
      "target params", sum(p.numel() for p in target.parameters()))
train(draft, corpus, 4, 1e-2, "draft")
train(target, corpus, 6, 5e-3, "target")
draft.eval()
target.eval()


@torch.no_grad()
def next_probs(model, ids, temperature=1.0):
    return F.softmax(model(ids)[:, -1] / temperature, dim=-1)


@torch.no_grad()
def speculative_generate(prefix, n_new, gamma, gen, temperature=1.0):
    ids = prefix.clone()
    accepted_total, proposed_total, target_calls = 0, 0, 0
    while ids.size(1) < prefix.size(1) + n_new:
        k = min(gamma, prefix.size(1) + n_new - ids.size(1))
        draft_ids, q_list = ids, []
        for _ in range(k):                                  # draft proposes k tokens
            q = next_probs(draft, draft_ids, temperature)
            tok = torch.multinomial(q, 1, generator=gen)
            q_list.append(q)
            draft_ids = torch.cat([draft_ids, tok], dim=1)
        logits = target(draft_ids)[:, -k - 1:] / temperature   # target scores all at once
        p_all = logits.softmax(-1)
        target_calls += 1
        proposal = draft_ids[0, ids.size(1):]
        n_acc = 0
        for i in range(k):
            x = proposal[i]
            p, q = p_all[0, i], q_list[i][0]
            r = torch.rand(1, generator=gen)
            if r.item() < torch.clamp(p[x] / q[x], max=1.0).item():
                n_acc += 1
                continue
            residual = torch.clamp(p - q, min=0.0)
            residual = residual / residual.sum()
            fix = torch.multinomial(residual, 1, generator=gen)
            ids = torch.cat([ids, proposal[:i].view(1, -1), fix.view(1, 1)], dim=1)
            break
        else:                                               # all accepted: a bonus token
            bonus = torch.multinomial(p_all[0, k], 1, generator=gen)
            ids = torch.cat([ids, proposal.view(1, -1), bonus.view(1, 1)], dim=1)
        accepted_total += n_acc
        proposed_total += k
    return ids[:, : prefix.size(1) + n_new], accepted_total, proposed_total, target_calls


@torch.no_grad()
def target_generate(prefix, n_new, gen, temperature=1.0):
    ids = prefix.clone()
    for _ in range(n_new):
        tok = torch.multinomial(next_probs(target, ids, temperature), 1, generator=gen)
        ids = torch.cat([ids, tok], dim=1)
    return ids


prefix = torch.tensor([[BOS, 3]])
for gamma in (2, 4):
    gen = torch.Generator().manual_seed(7)
    out, acc, prop, calls = speculative_generate(prefix, 12, gamma, gen)
    print(f"gamma {gamma} sample {out[0].tolist()} accept {acc}/{prop} "
          f"rate {acc / prop:.3f} target calls {calls}")

# the speculative sampler must draw from the target's own next-token distribution
gen = torch.Generator().manual_seed(11)
n_trials = 150
first_spec = torch.zeros(V)
first_plain = torch.zeros(V)
acc_sum = prop_sum = 0
for _ in range(n_trials):
    out, acc, prop, _ = speculative_generate(prefix, 1, 3, gen)
    first_spec[out[0, -1]] += 1
    acc_sum += acc
    prop_sum += prop
    first_plain[target_generate(prefix, 1, gen)[0, -1]] += 1
p_true = next_probs(target, prefix)[0]
q_true = next_probs(draft, prefix)[0]
tv_spec = 0.5 * (first_spec / n_trials - p_true).abs().sum()
tv_plain = 0.5 * (first_plain / n_trials - p_true).abs().sum()
print("target p", [f"{v:.3f}" for v in p_true.tolist()])
print("draft  q", [f"{v:.3f}" for v in q_true.tolist()])
print("spec counts", first_spec.long().tolist())
print(f"tv spec {tv_spec.item():.4f} plain {tv_plain.item():.4f} "
      f"expected accept {torch.minimum(p_true, q_true).sum().item():.4f} "
      f"observed {acc_sum / prop_sum:.4f}")

# greedy speculative decoding (temperature -> 0): identical to greedy target decoding
with torch.no_grad():
    ids = prefix.clone()
    while ids.size(1) < 14:
        d_ids = ids
        for _ in range(3):
            d_ids = torch.cat([d_ids, draft(d_ids)[:, -1:].argmax(-1)], dim=1)
        t_pred = target(d_ids)[:, ids.size(1) - 1:].argmax(-1)  # target's choice at each slot
        proposal = d_ids[:, ids.size(1):]
        match = (proposal == t_pred[:, :-1]).int().cumprod(1).sum().item()
        ids = torch.cat([ids, proposal[:, :match], t_pred[:, match:match + 1]], dim=1)
    greedy_spec = ids[:, :14]
    ids = prefix.clone()
    while ids.size(1) < 14:
        ids = torch.cat([ids, target(ids)[:, -1:].argmax(-1)], dim=1)
print("greedy spec", greedy_spec[0].tolist(), "equal", torch.equal(greedy_spec, ids))

# batched acceptance test with a temperature: vectorised min(1, p/q) and the first rejection
gen = torch.Generator().manual_seed(5)
B, gamma = 6, 4
ctx = torch.cat([torch.zeros(B, 1, dtype=torch.long),
                 torch.randint(1, V, (B, 3), generator=gen)], dim=1)
with torch.no_grad():
    d_ids, qs = ctx, []
    for _ in range(gamma):
        q = next_probs(draft, d_ids, 0.8)
        qs.append(q)
        d_ids = torch.cat([d_ids, torch.multinomial(q, 1, generator=gen)], dim=1)
    q = torch.stack(qs, 1)                                       # B, gamma, V
    p = (target(d_ids)[:, -gamma - 1:-1] / 0.8).softmax(-1)
    drafted = d_ids[:, -gamma:]
    ratio = (p.gather(2, drafted[..., None]) / q.gather(2, drafted[..., None])).squeeze(2)
    u = torch.rand(B, gamma, generator=gen)
    accept = u < ratio.clamp(max=1)
    n_accept = accept.int().cumprod(dim=1).sum(1)
print("ratios", [f"{v:.3f}" for v in ratio[0].tolist()])
print("accepted per row", n_accept.tolist(), "mean", f"{n_accept.float().mean().item():.3f}")
