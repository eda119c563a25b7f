"""A mixture-of-experts layer written like the Switch Transformer / GShard / Mixtral reference
code: a linear router with jitter noise, top-k gating (``torch.topk`` then renormalised
``softmax``), the Switch load-balancing auxiliary loss (fraction of tokens per expert times mean
router probability) and the router z-loss (``logsumexp`` squared), expert capacity with token
dropping computed by ``cumsum`` over a one-hot mask, dispatch/combine tensors built with
``F.one_hot`` and applied with ``torch.einsum``, and the Mixtral-style loop over experts with
``torch.where`` + ``index_add_``. A Switch transformer block (pre-norm attention with
``nn.MultiheadAttention`` + MoE FFN) is trained a few steps on a toy copy task; both routings
agree when nothing is dropped."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)

d_model, n_experts, d_ff, top_k = 16, 4, 32, 2


class Expert(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)
        self.w3 = nn.Linear(d_model, d_ff, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class SparseMoE(nn.Module):
    """Mixtral-style: loop over experts, gather their tokens, scatter back with index_add_."""

    def __init__(self, k=top_k, jitter=0.0):
        super().__init__()
        self.gate = nn.Linear(d_model, n_experts, bias=False)
        self.experts = nn.ModuleList([Expert() for _ in range(n_experts)])
        self.k, self.jitter = k, jitter

    def route(self, x):
        logits = self.gate(x)
        if self.training and self.jitter > 0:
            logits = logits * torch.empty_like(logits).uniform_(1 - self.jitter, 1 + self.jitter)
        probs = F.softmax(logits, dim=-1, dtype=torch.float)
        weights, selected = torch.topk(probs, self.k, dim=-1)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        return logits, probs, weights.to(x.dtype), selected

    def forward(self, hidden):
        b, t, d = hidden.shape
        x = hidden.view(-1, d)
        logits, probs, weights, selected = self.route(x)
        out = torch.zeros((b * t, d), dtype=x.dtype, device=x.device)
        expert_mask = F.one_hot(selected, num_classes=n_experts).permute(2, 1, 0)
        for e in range(n_experts):
            idx, top_x = torch.where(expert_mask[e])
            if top_x.numel() == 0:
                continue
            cur = x[None, top_x].reshape(-1, d)
            cur = self.experts[e](cur) * weights[top_x, idx, None]
            out.index_add_(0, top_x, cur.to(x.dtype))
        self.aux = load_balancing_loss(probs, selected)
        self.z = torch.logsumexp(logits, dim=-1).square().mean()
        return out.reshape(b, t, d), logits


def load_balancing_loss(probs, selected):
    mask = F.one_hot(selected, n_experts).float()          # tokens, k, experts
    tokens_per_expert = mask.mean(dim=0)                   # k, experts
    prob_per_expert = probs.mean(dim=0)
    return n_experts * torch.sum(tokens_per_expert * prob_per_expert.unsqueeze(0))


def capacity_dispatch(probs, capacity):
    """Switch (top-1) dispatch/combine with capacity, GShard style."""
    gate, index = probs.max(dim=-1)
    mask = F.one_hot(index, n_experts)
    position = torch.cumsum(mask, dim=0) - 1
    mask = mask * torch.lt(position, capacity)
    kept = mask.sum(dim=-1)
    position = (position * mask).sum(dim=-1)
    gate = gate * kept
    combine = gate[:, None, None] * mask[:, :, None] * F.one_hot(position, capacity)[:, None, :]
    return combine, combine.bool(), kept


moe = SparseMoE()
x = torch.randn(2, 5, d_model)
out, logits = moe(x)
print("moe out", tuple(out.shape), round(out.abs().mean().item(), 4), out.dtype)
print("aux", round(moe.aux.item(), 4), "z", round(moe.z.item(), 4))
probs = logits.softmax(-1)
print("expert counts top-1", torch.bincount(probs.argmax(-1), minlength=n_experts).tolist())

# the same top-1 layer two ways: capacity dispatch/combine einsum vs the expert loop
moe1 = SparseMoE(k=1)
tokens = x.view(-1, d_model)
_, p1, w1, sel1 = moe1.route(tokens)
for cap in (10, 2):
    combine, dispatch, kept = capacity_dispatch(p1, cap)
    expert_in = torch.einsum("sec,sm->ecm", dispatch.to(tokens.dtype), tokens)
    expert_out = torch.stack([moe1.experts[e](expert_in[e]) for e in range(n_experts)])
    y = torch.einsum("sec,ecm->sm", combine.to(expert_out.dtype), expert_out)
    print(f"capacity {cap}: kept {int(kept.sum())}/{tokens.shape[0]}",
          "dispatch", tuple(dispatch.shape), dispatch.dtype, "per expert",
          dispatch.sum(dim=(0, 2)).tolist())
    if cap == 10:
        ref = moe1(x)[0].view(-1, d_model)
        # top-1 renormalised weight is 1: scale the loop output by the gate probability
        print("  einsum == loop", torch.allclose(y, ref * p1.max(-1).values[:, None], atol=1e-10))
    else:
        dropped = (kept == 0).nonzero().flatten().tolist()
        print("  dropped tokens", dropped, "zero rows", bool((y[dropped] == 0).all()))


# ---------------------------------------------------------------- Switch transformer block
class SwitchBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, 2, batch_first=True, dropout=0.0)
        self.ln2 = nn.LayerNorm(d_model)
        self.moe = SparseMoE(k=1, jitter=0.01)

    def forward(self, x, mask):
        h = self.ln1(x)
        a, w = self.attn(h, h, h, attn_mask=mask, need_weights=True, average_attn_weights=True)
        x = x + a
        y, logits = self.moe(self.ln2(x))
        return x + y, w


vocab, seq = 8, 6
emb = nn.Embedding(vocab, d_model)
pos = nn.Parameter(torch.randn(seq, d_model) * 0.02)
block = SwitchBlock()
head = nn.Linear(d_model, vocab)
causal = torch.triu(torch.full((seq, seq), float("-inf")), diagonal=1)
params = list(emb.parameters()) + [pos] + list(block.parameters()) + list(head.parameters())
opt = torch.optim.AdamW(params, lr=3e-3, weight_decay=0.01)
data = torch.randint(0, vocab, (16, seq))
for step in range(15):
    h, attn_w = block(emb(data) + pos, causal)
    logits = head(h)
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, vocab), data[:, :-1].reshape(-1))
    loss = ce + 0.01 * block.moe.aux + 1e-3 * block.moe.z
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gn = nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    if step % 5 == 4:
        print(f"step {step + 1}: ce {ce.item():.4f} aux {block.moe.aux.item():.4f} "
              f"z {block.moe.z.item():.4f} grad {gn.item():.4f}")
print("attn weights", tuple(attn_w.shape), "row sums", attn_w.sum(-1)[0].round(decimals=6).tolist())
print("upper triangle zero", bool((attn_w[0].triu(1) == 0).all()))
block.eval()
with torch.no_grad():
    h, _ = block(emb(data[:2]) + pos, causal)
    r = block.moe.gate(block.ln2(h)).argmax(-1)
print("eval routes", r.tolist())
print("gate weight grad none", block.moe.gate.weight.grad is None, "experts",
      sum(p.numel() for p in block.moe.experts.parameters()), "params",
      f"{sum(p.numel() for p in params) / 1e3:.2f}K")
print("router entropy", round(-(probs * probs.log()).sum(-1).mean().item(), 4),
      "max log", round(math.log(n_experts), 4))
