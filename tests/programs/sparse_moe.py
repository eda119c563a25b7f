"""A sparse mixture-of-experts feed-forward layer as in Switch/Mixtral-style code: a router
picks the top-k experts per token (topk over softmax gates, renormalized), tokens are gathered
per expert with nonzero/where, outputs are scattered back with index_add_, and the
Switch-Transformer load-balancing auxiliary loss keeps experts busy. Trained on a toy
regression where different input clusters want different functions."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(8)
d_model, d_ff, n_experts, top_k = 8, 16, 4, 2


class Expert(nn.Module):
    def __init__(self, d_model, d_ff):
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)
        self.w3 = nn.Linear(d_model, d_ff, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))  # SwiGLU


class SparseMoE(nn.Module):
    def __init__(self, d_model, d_ff, n_experts, top_k):
        super().__init__()
        self.top_k = top_k
        self.n_experts = n_experts
        self.gate = nn.Linear(d_model, n_experts, bias=False)
        self.experts = nn.ModuleList([Expert(d_model, d_ff) for _ in range(n_experts)])

    def forward(self, x):
        batch, seq, dim = x.shape
        tokens = x.reshape(-1, dim)
        router_logits = self.gate(tokens)
        probs = F.softmax(router_logits, dim=-1, dtype=torch.float)
        weights, selected = torch.topk(probs, self.top_k, dim=-1)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(tokens)
        # one-hot (tokens, k, experts) -> (experts, k, tokens) to find each expert's tokens
        expert_mask = F.one_hot(selected, num_classes=self.n_experts).permute(2, 1, 0)
        for e, expert in enumerate(self.experts):
            slot, token_idx = torch.where(expert_mask[e])
            if token_idx.numel() == 0:
                continue
            current = tokens[token_idx]
            y = expert(current) * weights[token_idx, slot, None]
            out.index_add_(0, token_idx, y.to(tokens.dtype))
        aux = load_balancing_loss(probs, selected, self.n_experts)
        return out.reshape(batch, seq, dim), aux, selected


def load_balancing_loss(probs, selected, n_experts):
    # fraction of routing slots each expert received times its mean router probability
    counts = torch.zeros(n_experts).scatter_add_(0, selected.flatten(),
                                                 torch.ones(selected.numel()))
    fraction = counts / selected.numel()
    mean_prob = probs.mean(dim=0)
    return n_experts * torch.sum(fraction * mean_prob)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.moe = SparseMoE(d_model, d_ff, n_experts, top_k)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x):
        h, aux, selected = self.moe(self.norm(x))
        return self.head(x + h).squeeze(-1), aux, selected


# four clusters of tokens, each with its own target function
n_seq, seq_len = 32, 6
centers = rng.normal(scale=2.0, size=(4, d_model)).astype(np.float32)
cluster = rng.integers(0, 4, size=(n_seq, seq_len))
x_np = (centers[cluster] + rng.normal(scale=0.5, size=(n_seq, seq_len, d_model))).astype(
    np.float32)
coef = rng.normal(size=(4, d_model)).astype(np.float32)
y_np = np.einsum("bsd,bsd->bs", np.tanh(x_np), coef[cluster]).astype(np.float32)
X, Y = torch.from_numpy(x_np), torch.from_numpy(y_np)
C = torch.from_numpy(cluster)

model = Block()
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() == 2:
            bound = 1.0 / np.sqrt(p.shape[1])
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape)).astype(
                np.float32)))
    model.head.bias.zero_()  # the only parameter not covered above that torch inits randomly
print(model.moe.experts[0])
total = sum(p.numel() for p in model.parameters())
active = total - (n_experts - top_k) * sum(p.numel() for p in model.moe.experts[0].parameters())
print("parameters: total {} active per token {}".format(total, active))

opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
aux_coef = 0.01
for step in range(100):
    pred, aux, selected = model(X)
    mse = F.mse_loss(pred, Y)
    loss = mse + aux_coef * aux
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 20 == 0 or step == 99:
        load = torch.bincount(selected.flatten(), minlength=n_experts)
        print("step {:3d} mse {:.3f} aux {:.3f} load {}".format(step, mse.item(), aux.item(),
                                                               load.tolist()))

with torch.no_grad():
    _, _, selected = model(X)
    first_choice = selected[:, 0].reshape(n_seq, seq_len)
    # which expert does each cluster prefer?
    for c in range(4):
        picks = first_choice[C == c]
        counts = torch.bincount(picks, minlength=n_experts)
        print("cluster {} top expert {} share {:.2f}".format(
            c, counts.argmax().item(), counts.max().item() / picks.numel()))
    # dense reference: run every expert and mix with the same sparse weights
    tokens = model.moe.gate.weight.new_tensor(x_np.reshape(-1, d_model))
    tokens = model.norm(tokens)
    probs = F.softmax(model.moe.gate(tokens), dim=-1)
    w, sel = probs.topk(top_k, dim=-1)
    w = w / w.sum(-1, keepdim=True)
    dense_w = torch.zeros_like(probs).scatter(1, sel, w)
    all_out = torch.stack([e(tokens) for e in model.moe.experts], dim=1)
    dense = (dense_w.unsqueeze(-1) * all_out).sum(1)
    sparse, _, _ = model.moe(model.norm(X))
    print("sparse dispatch equals dense mixture:",
          torch.allclose(sparse.reshape(-1, d_model), dense, atol=1e-5))
    print("gate weights per token sum to 1:", torch.allclose(dense_w.sum(-1),
                                                            torch.ones(len(tokens))))
