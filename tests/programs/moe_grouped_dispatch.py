"""Expert-parallel style MoE dispatch/combine as torchtitan, Megablocks and DeepSeek-V3's
reference code write it: tokens routed top-k (sigmoid scores with a per-expert bias for
auxiliary-loss-free balancing, DeepSeek style), flattened and sorted by expert with
``torch.argsort(stable=True)``, counted with ``torch.bincount``, cut by
``torch.split(counts.tolist())`` or fed to ``F.grouped_mm`` with int32 ``cumsum`` offsets, then
combined back with ``index_add_``/``scatter_add_`` and the inverse permutation. Also
expert-choice routing (each expert takes its top-capacity tokens with ``topk`` over the token
axis), a shared expert, the bias update from the load, and gradients that agree between the
three dispatch forms."""
import torch
import torch.nn.functional as F

torch.manual_seed(0)
n_tok, d, h, E, k = 24, 8, 16, 4, 2
x = torch.randn(n_tok, d, requires_grad=True)
w_router = torch.randn(d, E) * 0.5
w_up = (torch.randn(E, d, h) / d ** 0.5).requires_grad_()
w_down = (torch.randn(E, h, d) / h ** 0.5).requires_grad_()
shared_up, shared_down = torch.randn(d, h) / d ** 0.5, torch.randn(h, d) / h ** 0.5
bias = torch.zeros(E)


def route(x, bias):
    scores = torch.sigmoid(x @ w_router)
    _, idx = torch.topk(scores + bias, k, dim=-1)          # the bias picks, never weighs
    weights = scores.gather(1, idx)
    weights = weights / weights.sum(-1, keepdim=True)
    return scores, idx, weights


def experts_loop(x, idx, weights):
    out = torch.zeros_like(x)
    for e in range(E):
        tok, slot = torch.where(idx == e)
        hdn = F.silu(x[tok] @ w_up[e]) @ w_down[e]
        out.index_add_(0, tok, hdn * weights[tok, slot, None])
    return out


def experts_sorted(x, idx, weights, grouped):
    flat = idx.flatten()
    order = torch.argsort(flat, stable=True)
    counts = torch.bincount(flat, minlength=E)
    tok = order // k
    xs = x[tok]
    if grouped:
        offs = torch.cumsum(counts, 0, dtype=torch.int32)
        hdn = F.grouped_mm(F.silu(F.grouped_mm(xs, w_up, offs=offs)), w_down, offs=offs)
    else:
        parts = torch.split(xs, counts.tolist())
        hdn = torch.cat([F.silu(p @ w_up[e]) @ w_down[e] for e, p in enumerate(parts)])
    hdn = hdn * weights.flatten()[order, None]
    out = torch.zeros_like(x).scatter_add_(0, tok[:, None].expand(-1, d), hdn)
    return out, counts, order


scores, idx, weights = route(x, bias)
print("top-k experts", idx[:6].tolist(), "weights",
      [[round(v, 4) for v in r] for r in weights[:3].tolist()])
ref = experts_loop(x, idx, weights)
grads = []
for form in ("loop", "split", "grouped"):
    out = ref if form == "loop" else experts_sorted(x, idx, weights, form == "grouped")[0]
    g = torch.autograd.grad(out.pow(2).sum(), [x, w_up, w_down], retain_graph=True)
    grads.append(g)
    print(f"{form:8s} out {out.abs().sum().item():.4f} same {torch.allclose(out, ref, atol=1e-5)}"
          f" grad_fn {type(out.grad_fn).__name__}")
print("grads agree", all(torch.allclose(a, b, atol=1e-4) for g in grads[1:]
                         for a, b in zip(grads[0], g)))
_, counts, order = experts_sorted(x, idx, weights, True)
inverse = torch.empty_like(order)
inverse[order] = torch.arange(order.numel())
print("counts", counts.tolist(), "offsets", torch.cumsum(counts, 0, dtype=torch.int32).tolist(),
      "inverse == argsort", torch.equal(inverse, torch.argsort(order)))

# auxiliary-loss-free balancing: nudge the bias against the load
gamma = 0.05
loads = []
for step in range(6):
    xb = torch.randn(n_tok, d) + 0.5
    _, idx_b, _ = route(xb, bias)
    load = torch.bincount(idx_b.flatten(), minlength=E).float()
    bias += gamma * torch.sign(load.mean() - load)
    loads.append(load.int().tolist())
print("loads", loads)
print("bias", [round(v, 3) for v in bias.tolist()])

# expert choice: each expert picks its top-capacity tokens
capacity = n_tok * k // E
affinity = F.softmax(x.detach() @ w_router, dim=-1)             # tokens, experts
gate, chosen = torch.topk(affinity.t(), capacity, dim=1)         # experts, capacity
per_token = torch.zeros(n_tok, dtype=torch.long).index_add_(
    0, chosen.flatten(), torch.ones(chosen.numel(), dtype=torch.long))
print("expert-choice tokens per expert", capacity, "token coverage",
      torch.bincount(per_token, minlength=E + 1).tolist())
xin = x.detach()[chosen]                                         # experts, capacity, d
hid = torch.bmm(F.silu(torch.bmm(xin, w_up.detach())), w_down.detach()) * gate[..., None]
y = torch.zeros(n_tok, d).index_add_(0, chosen.flatten(), hid.reshape(-1, d))
y = y + F.silu(x.detach() @ shared_up) @ shared_down
print("expert-choice out", round(y.abs().mean().item(), 4), "dropped tokens",
      (per_token == 0).nonzero().flatten().tolist())
batched = F.grouped_mm(xin, w_up.detach())
print("3d grouped_mm == bmm", torch.allclose(batched, torch.bmm(xin, w_up.detach()), atol=1e-6),
      tuple(batched.shape))
