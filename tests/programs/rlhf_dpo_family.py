"""The DPO family of offline preference losses on a tiny character-level LM, in the shape
of TRL's DPOTrainer loss zoo: sigmoid DPO with label smoothing (conservative DPO), hinge
(SLiC), IPO, SimPO (length-normalized, no reference) and a KTO-style unpaired loss. Ragged
prompt+response sequences are padded with nn.utils.rnn.pad_sequence; per-token log-probs
come from log_softmax + gather under a loss mask; the frozen reference is a deepcopy with
requires_grad_(False); the reference log-probs are precomputed once under torch.no_grad.
Also: the implicit reward, a token-level KL to the reference, a gradient check that the
reference gets no gradient, and torch.func.functional_call to score with swapped weights."""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, kl_divergence
from torch.func import functional_call
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)
rng = np.random.default_rng(1)

CHARS = "abcdefgh"
V = len(CHARS) + 2                  # 0 = pad, 1 = bos
PAD, BOS = 0, 1


def tokens(s):
    return [CHARS.index(c) + 2 for c in s]


def make_example():
    """prompt: random letters; chosen repeats the prompt backwards, rejected repeats it."""
    n = int(rng.integers(2, 5))
    prompt = "".join(rng.choice(list(CHARS), size=n))
    chosen, rejected = prompt[::-1], prompt
    if chosen == rejected:
        rejected = rejected[1:] + rejected[0] + "a"
    return prompt, chosen, rejected


def build(prompt, response):
    ids = torch.tensor([BOS] + tokens(prompt) + tokens(response))
    loss_mask = torch.zeros_like(ids, dtype=torch.bool)
    loss_mask[1 + len(prompt):] = True
    return ids, loss_mask


class CharLM(nn.Module):
    def __init__(self, dim=24):
        super().__init__()
        self.emb = nn.Embedding(V, dim, padding_idx=PAD)
        self.rnn = nn.LSTM(dim, dim, batch_first=True)
        self.head = nn.Linear(dim, V)

    def forward(self, ids):
        h, _ = self.rnn(self.emb(ids))
        return self.head(h)


def batch_logps(model, ids, mask, average=False):
    logits = model(ids)[:, :-1, :]
    labels = ids[:, 1:].clone()
    mask = mask[:, 1:]
    labels[~mask] = 0                                   # dummy index, masked out below
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    summed = (per_token * mask).sum(-1)
    return summed / mask.sum(-1) if average else summed


def collate(examples):
    seqs, masks = zip(*examples)
    return (pad_sequence(seqs, batch_first=True, padding_value=PAD),
            pad_sequence(masks, batch_first=True, padding_value=False))


def dpo_loss(kind, pi_c, pi_r, ref_c, ref_r, beta=0.1, label_smoothing=0.0, gamma=0.5):
    logits = (pi_c - pi_r) - (ref_c - ref_r)
    if kind == "sigmoid":
        losses = (-F.logsigmoid(beta * logits) * (1 - label_smoothing)
                  - F.logsigmoid(-beta * logits) * label_smoothing)
    elif kind == "hinge":
        losses = torch.relu(1 - beta * logits)
    elif kind == "ipo":
        losses = (logits - 1 / (2 * beta)) ** 2
    elif kind == "simpo":
        losses = -F.logsigmoid(beta * (pi_c - pi_r) - gamma)
    else:
        raise ValueError(f"Unknown loss type: {kind}. Should be one of "
                         "['sigmoid', 'hinge', 'ipo', 'simpo']")
    return losses.mean()


data = [make_example() for _ in range(48)]
print("example", data[0])
chosen = collate([build(p, c) for p, c, _ in data])
rejected = collate([build(p, r) for p, _, r in data])
print("padded", tuple(chosen[0].shape), tuple(rejected[0].shape))
print(chosen[0][:3])
print(chosen[1][:3].int())

# --- SFT warm-up on the chosen responses -------------------------------------------------
sft = CharLM()
opt = torch.optim.Adam(sft.parameters(), lr=1e-2)
for step in range(25):
    logits = sft(chosen[0])[:, :-1]
    targets = chosen[0][:, 1:].masked_fill(~chosen[1][:, 1:], -100)
    loss = F.cross_entropy(logits.transpose(1, 2), targets)             # (N, C, T) layout
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 8 == 0 or step == 24:
        print(f"sft step {step:2d} nll {loss.item():.4f}")

reference = copy.deepcopy(sft)
reference.requires_grad_(False)
reference.eval()
print("reference trainable", any(p.requires_grad for p in reference.parameters()))
# the sequences are padded to different lengths per side, so score each side on its own
with torch.no_grad():
    ref_c = batch_logps(reference, *chosen)
    ref_r = batch_logps(reference, *rejected)
print(f"reference margin {(ref_c - ref_r).mean():.4f}")

results = {}
for kind, kw in [("sigmoid", {"label_smoothing": 0.1}), ("hinge", {}), ("ipo", {}),
                 ("simpo", {"beta": 2.0})]:
    torch.manual_seed(3)
    policy = copy.deepcopy(sft).requires_grad_(True).train()
    opt = torch.optim.RMSprop(policy.parameters(), lr=2e-3, alpha=0.9)
    avg = kind == "simpo"
    for step in range(12):
        idx = torch.randint(0, len(data), (16,))
        pi_c = batch_logps(policy, chosen[0][idx], chosen[1][idx], average=avg)
        pi_r = batch_logps(policy, rejected[0][idx], rejected[1][idx], average=avg)
        loss = dpo_loss(kind, pi_c, pi_r, ref_c[idx], ref_r[idx], **kw)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(policy.parameters(), 0.5)
        opt.step()
    with torch.no_grad():
        pc, pr = batch_logps(policy, *chosen), batch_logps(policy, *rejected)
        implicit_c = 0.1 * (pc - ref_c)
        implicit_r = 0.1 * (pr - ref_r)
    results[kind] = policy
    print(f"{kind:7s} loss {loss.item():.4f} win {(pc > pr).float().mean():.4f} "
          f"reward_margin {(implicit_c - implicit_r).mean():.4f} "
          f"chosen_logp {pc.mean():.4f}")

# --- KTO-style unpaired loss: desirable and undesirable examples, a KL reference point ------
policy = copy.deepcopy(sft).requires_grad_(True)
opt = torch.optim.Adam(policy.parameters(), lr=2e-3)
beta, lam_d, lam_u = 0.1, 1.0, 1.33
for step in range(10):
    idx = torch.randperm(len(data))[:12]
    pc = batch_logps(policy, chosen[0][idx], chosen[1][idx])
    pr = batch_logps(policy, rejected[0][idx], rejected[1][idx])
    # KL reference point from mismatched pairs, detached and clamped at zero as in KTO
    shifted = idx.roll(1)
    kl = (batch_logps(policy, chosen[0][shifted], chosen[1][shifted]) - ref_c[shifted]).mean()
    kl = kl.detach().clamp(min=0)
    desirable = 1 - torch.sigmoid(beta * ((pc - ref_c[idx]) - kl))
    undesirable = 1 - torch.sigmoid(beta * (kl - (pr - ref_r[idx])))
    loss = torch.cat([lam_d * desirable, lam_u * undesirable]).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"kto loss {loss.item():.4f} kl {kl.item():.4f}")

# --- token-level KL of the DPO policy to the reference, via torch.distributions -----------
policy = results["sigmoid"]
with torch.no_grad():
    ids, mask = chosen
    p = Categorical(logits=policy(ids)[:, :-1])
    q = Categorical(logits=reference(ids)[:, :-1])
    token_kl = kl_divergence(p, q)
    mask = mask[:, 1:]
    seq_kl = (token_kl * mask).sum(1) / mask.sum(1)
    f_kl = F.kl_div(q.logits, p.logits, log_target=True, reduction="none").sum(-1)
print("token kl shape", tuple(token_kl.shape), "agree", torch.allclose(token_kl, f_kl, atol=1e-6))
print(f"mean seq kl {seq_kl.mean():.5f} max {seq_kl.max():.5f}")
print("entropy", p.entropy()[0, :4])

# --- the reference never receives a gradient; functional_call swaps weights ----------------
out = batch_logps(policy, *chosen).sum() + batch_logps(reference, *chosen).sum()
out.backward()
print("ref grads", all(p.grad is None for p in reference.parameters()),
      "policy grads", all(p.grad is not None for p in policy.parameters()))
ref_weights = dict(reference.named_parameters())
with torch.no_grad():
    swapped = batch_logps(lambda x: functional_call(policy, ref_weights, (x,)), *chosen)
print("functional_call matches reference", torch.allclose(swapped, ref_c))
print("perplexity", math.exp(-(ref_c.sum() / chosen[1][:, 1:].sum()).item()).__round__(4))

try:
    dpo_loss("orpo", ref_c, ref_r, ref_c, ref_r)
except ValueError as err:
    print("ValueError:", err)
try:
    batch_logps(policy, chosen[0].float(), chosen[1])
except RuntimeError as err:
    print("RuntimeError:", str(err).split(";")[0])
