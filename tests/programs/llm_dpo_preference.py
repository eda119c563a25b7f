"""Preference optimization of a tiny causal LM, in the shape of the DPO paper's reference code
and TRL's DPOTrainer: a policy and a frozen reference copy (copy.deepcopy, requires_grad_(False),
eval()), per-sequence log-probabilities gathered from log_softmax over shifted targets with a
padding mask, and the DPO / IPO / ORPO losses on chosen-vs-rejected pairs; then a
Bradley-Terry reward model (last non-pad token pooling with gather) trained with
F.logsigmoid, and its accuracy on held-out pairs. The toy preference: the chosen
continuation is sorted ascending, the rejected one is shuffled."""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
V, PAD, BOS, D, H, T = 16, 0, 1, 32, 4, 12


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)
        self.out = nn.Linear(D, D)

    def forward(self, x, pad_mask):
        B, L, _ = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, H, D // H).permute(2, 0, 3, 1, 4).unbind(0)
        causal = torch.ones(L, L, dtype=torch.bool).tril()
        allowed = causal[None, None] & ~pad_mask[:, None, None, :]
        allowed = allowed | torch.eye(L, dtype=torch.bool)         # a pad query sees itself
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        return self.out(y.transpose(1, 2).reshape(B, L, D))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.attn = CausalSelfAttention()
        self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * D, D))

    def forward(self, x, pad_mask):
        x = x + self.attn(self.ln1(x), pad_mask)
        return x + self.mlp(self.ln2(x))


class TinyLM(nn.Module):
    def __init__(self, n_layer=2):
        super().__init__()
        self.tok = nn.Embedding(V, D, padding_idx=PAD)
        self.pos = nn.Embedding(T, D)
        self.blocks = nn.ModuleList(Block() for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, V, bias=False)
        self.lm_head.weight = self.tok.weight                      # tied embeddings
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def hidden(self, ids):
        pad_mask = ids.eq(PAD)
        x = self.tok(ids) + self.pos(torch.arange(ids.size(1)))
        for b in self.blocks:
            x = b(x, pad_mask)
        return self.ln_f(x)

    def forward(self, ids):
        return self.lm_head(self.hidden(ids))


def make_pairs(n):
    """prompt = BOS + 3 tokens; chosen = the tokens sorted, rejected = a shuffle; padded."""
    chosen = np.full((n, T), PAD, dtype=np.int64)
    rejected = np.full((n, T), PAD, dtype=np.int64)
    loss_start = np.zeros(n, dtype=np.int64)
    for i in range(n):
        L = int(rng.integers(3, 6))
        toks = rng.choice(np.arange(2, V), size=L, replace=False)
        prompt = [BOS] + list(toks[:3])
        good = sorted(toks.tolist())
        bad = rng.permutation(toks).tolist()
        if bad == good:
            bad = bad[::-1]
        chosen[i, : len(prompt) + L] = prompt + good
        rejected[i, : len(prompt) + L] = prompt + bad
        loss_start[i] = len(prompt)
    return torch.from_numpy(chosen), torch.from_numpy(rejected), torch.from_numpy(loss_start)


def sequence_logps(model, ids, start, average=False):
    """Sum (or mean) of log p(token) over the response tokens of each sequence."""
    logits = model(ids)[:, :-1]
    labels = ids[:, 1:].clone()
    positions = torch.arange(1, ids.size(1)).expand_as(labels)
    mask = (labels != PAD) & (positions >= start[:, None])
    labels = labels.masked_fill(~mask, 0)
    per_token = torch.gather(logits.log_softmax(-1), 2, labels.unsqueeze(2)).squeeze(2)
    total = (per_token * mask).sum(-1)
    return total / mask.sum(-1) if average else total


def preference_loss(kind, pi_c, pi_r, ref_c, ref_r, beta):
    logits = (pi_c - pi_r) - (ref_c - ref_r)
    if kind == "dpo":
        losses = -F.logsigmoid(beta * logits)
    elif kind == "ipo":
        losses = (logits - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(kind)
    rewards_c = beta * (pi_c - ref_c).detach()
    rewards_r = beta * (pi_r - ref_r).detach()
    return losses.mean(), rewards_c, rewards_r


train_c, train_r, train_s = make_pairs(64)
test_c, test_r, test_s = make_pairs(32)
print("pairs", tuple(train_c.shape), train_c[0].tolist(), train_r[0].tolist(),
      "start", train_s[0].item())

# --- 1. supervised warm-up on the chosen responses (the SFT model) ------------------------
sft = TinyLM()
n_params = sum(p.numel() for p in sft.parameters())
print("params", n_params, "tied", sft.lm_head.weight is sft.tok.weight)
opt = torch.optim.AdamW(sft.parameters(), lr=3e-3, weight_decay=0.01)
loader = DataLoader(TensorDataset(train_c, train_s), batch_size=16, shuffle=True,
                    generator=torch.Generator().manual_seed(1))
for epoch in range(6):
    total = 0.0
    for ids, start in loader:
        targets = ids[:, 1:].masked_fill(ids[:, 1:] == PAD, -100)
        loss = F.cross_entropy(sft(ids)[:, :-1].reshape(-1, V), targets.reshape(-1),
                               ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * ids.size(0)
    print(f"sft epoch {epoch} nll {total / len(train_c):.4f}")

# --- 2. DPO and IPO against a frozen reference ------------------------------------------
reference = copy.deepcopy(sft).requires_grad_(False).eval()
with torch.no_grad():
    ref_test_c = sequence_logps(reference, test_c, test_s)
    ref_test_r = sequence_logps(reference, test_r, test_s)
print(f"reference test margin {(ref_test_c - ref_test_r).mean().item():.4f} "
      f"win {(ref_test_c > ref_test_r).float().mean().item():.4f}")

for kind, beta in (("dpo", 0.1), ("ipo", 0.5)):
    policy = copy.deepcopy(sft).train()
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(2)
    for epoch in range(4):
        perm = torch.randperm(len(train_c), generator=g)
        stats = []
        for idx in perm.split(16):
            c, r, s = train_c[idx], train_r[idx], train_s[idx]
            both = torch.cat([c, r])                                # one concatenated forward
            logps = sequence_logps(policy, both, torch.cat([s, s]))
            pi_c, pi_r = logps.chunk(2)
            with torch.no_grad():
                ref_c, ref_r = sequence_logps(reference, both, torch.cat([s, s])).chunk(2)
            loss, rc, rr = preference_loss(kind, pi_c, pi_r, ref_c, ref_r, beta)
            opt.zero_grad()
            loss.backward()
            gnorm = nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
            stats.append(torch.stack([loss.detach(), (rc > rr).float().mean(),
                                      (rc - rr).mean(), gnorm]))
        m = torch.stack(stats).mean(0).tolist()
        print(f"{kind} epoch {epoch} loss {m[0]:.4f} reward_acc {m[1]:.3f} "
              f"margin {m[2]:.4f} gnorm {m[3]:.4f}")
    policy.eval()
    with torch.no_grad():
        pc = sequence_logps(policy, test_c, test_s)
        pr = sequence_logps(policy, test_r, test_s)
        kl = (pc - ref_test_c).mean()
    print(f"{kind} test win {(pc > pr).float().mean().item():.4f} "
          f"margin {(pc - pr).mean().item():.4f} chosen_shift {kl.item():.4f}")
    unchanged = all(torch.equal(a, b) for a, b in zip(reference.parameters(), sft.parameters()))
    print(f"{kind} reference frozen {unchanged}")

# --- 3. ORPO: NLL on chosen plus an odds-ratio term, no reference model ----------------
policy = copy.deepcopy(sft).train()
opt = torch.optim.AdamW(policy.parameters(), lr=1e-3, betas=(0.9, 0.95))
lam = 0.25
for step in range(8):
    idx = torch.arange(step * 8, step * 8 + 8) % len(train_c)
    c, r, s = train_c[idx], train_r[idx], train_s[idx]
    avg_c = sequence_logps(policy, c, s, average=True)
    avg_r = sequence_logps(policy, r, s, average=True)
    log_odds = (avg_c - avg_r) - (torch.log1p(-torch.exp(avg_c)) - torch.log1p(-torch.exp(avg_r)))
    ratio = F.logsigmoid(log_odds)
    loss = -avg_c.mean() - lam * ratio.mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 2 == 1:
        print(f"orpo step {step} loss {loss.item():.4f} log_odds {log_odds.mean().item():.4f}")

# --- 4. Bradley-Terry reward model ---------------------------------------------------------
class RewardModel(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.v_head = nn.Linear(D, 1)
        nn.init.normal_(self.v_head.weight, std=1 / math.sqrt(D + 1))
        nn.init.zeros_(self.v_head.bias)

    def forward(self, ids):
        h = self.backbone.hidden(ids)
        last = (ids != PAD).sum(1) - 1                              # last real token
        pooled = h.gather(1, last.view(-1, 1, 1).expand(-1, 1, D)).squeeze(1)
        return self.v_head(pooled).squeeze(-1)


rm = RewardModel(copy.deepcopy(sft))
for p in rm.backbone.tok.parameters():
    p.requires_grad_(False)
trainable = [p for p in rm.parameters() if p.requires_grad]
print("reward trainable", sum(p.numel() for p in trainable))
opt = torch.optim.Adam(trainable, lr=2e-3)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 4))
for epoch in range(5):
    total, correct = 0.0, 0
    for c, r in zip(train_c.split(16), train_r.split(16)):
        rc, rr = rm(c), rm(r)
        loss = -F.logsigmoid(rc - rr).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
        correct += (rc > rr).sum().item()
    print(f"rm epoch {epoch} loss {total / 4:.4f} acc {correct / len(train_c):.4f} "
          f"lr {sched.get_last_lr()[0]:.5f}")
rm.eval()
with torch.inference_mode():
    sc, sr = rm(test_c), rm(test_r)
print(f"rm test acc {(sc > sr).float().mean().item():.4f} "
      f"mean chosen {sc.mean().item():.4f} rejected {sr.mean().item():.4f}")
probs = torch.sigmoid(sc - sr)
print("rm pref probs", [f"{v:.3f}" for v in probs[:6].tolist()])
