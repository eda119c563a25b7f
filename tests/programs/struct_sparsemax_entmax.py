"""Sparse probability mappings as the entmax package and papers' reference code write them
(Martins & Astudillo 2016; Peters et al. 2019): sparsemax and 1.5-entmax as custom
``torch.autograd.Function``s with closed-form backward passes (sort/cumsum thresholds), a
bisection-based alpha-entmax, the new-style Function (``setup_context``,
``generate_vmap_rule``) under ``torch.func.vmap``/``jacrev``, ``gradcheck`` in float64, the
sparsemax loss, a sparse-attention classifier trained with SGD+momentum, and Gumbel top-k
sampling without replacement next to ``torch.distributions`` relaxations."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Function, gradcheck
from torch.distributions import Gumbel, RelaxedOneHotCategorical

torch.manual_seed(0)


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


def _sparsemax_threshold(z, dim):
    z_sorted, _ = torch.sort(z, dim=dim, descending=True)
    d = z.shape[dim]
    shape = [1] * z.dim()
    shape[dim] = d
    rho = torch.arange(1, d + 1, dtype=z.dtype).view(shape)
    cumsum = z_sorted.cumsum(dim) - 1
    support = (rho * z_sorted > cumsum)
    k = support.sum(dim=dim, keepdim=True)
    tau = cumsum.gather(dim, k - 1) / k.to(z.dtype)
    return tau, k


class SparsemaxFunction(Function):
    @staticmethod
    def forward(ctx, z, dim=-1):
        ctx.dim = dim
        z = z - z.max(dim=dim, keepdim=True).values
        tau, k = _sparsemax_threshold(z, dim)
        out = torch.clamp(z - tau, min=0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        dim = ctx.dim
        supp = out > 0
        g = grad_output.masked_fill(~supp, 0)
        v = g.sum(dim, keepdim=True) / supp.sum(dim, keepdim=True).to(out.dtype)
        return torch.where(supp, grad_output - v, torch.zeros_like(grad_output)), None


class Entmax15Function(Function):
    """1.5-entmax: p = [(alpha-1) z - tau]_+^{1/(alpha-1)} with alpha = 1.5, exact via sorting."""

    @staticmethod
    def forward(ctx, z, dim=-1):
        ctx.dim = dim
        z = (z - z.max(dim=dim, keepdim=True).values) / 2
        zs, _ = torch.sort(z, dim=dim, descending=True)
        d = z.shape[dim]
        shape = [1] * z.dim()
        shape[dim] = d
        rho = torch.arange(1, d + 1, dtype=z.dtype).view(shape)
        mean = zs.cumsum(dim) / rho
        mean_sq = (zs ** 2).cumsum(dim) / rho
        ss = rho * (mean_sq - mean ** 2)
        delta = (1 - ss) / rho
        delta_nz = torch.clamp(delta, min=0)
        tau = mean - torch.sqrt(delta_nz)
        support = (tau <= zs).sum(dim=dim, keepdim=True)
        tau_star = tau.gather(dim, support - 1)
        out = torch.clamp(z - tau_star, min=0) ** 2
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (Y,) = ctx.saved_tensors
        gppr = Y.sqrt()
        dX = grad_output * gppr
        q = dX.sum(ctx.dim, keepdim=True) / gppr.sum(ctx.dim, keepdim=True)
        dX = dX - q * gppr
        return dX, None


def sparsemax(z, dim=-1):
    return SparsemaxFunction.apply(z, dim)


def entmax15(z, dim=-1):
    return Entmax15Function.apply(z, dim)


def entmax_bisect(z, alpha=1.5, n_iter=40, dim=-1):
    """alpha-entmax by bisection on the threshold (differentiable by unrolling)."""
    am1 = alpha - 1
    z = z * am1
    max_val = z.max(dim=dim, keepdim=True).values
    tau_lo = max_val - 1
    tau_hi = max_val - (1 / z.shape[dim]) ** am1
    for _ in range(n_iter):
        tau = (tau_lo + tau_hi) / 2
        p = torch.clamp(z - tau, min=0) ** (1 / am1)
        mass = p.sum(dim, keepdim=True)
        tau_lo = torch.where(mass >= 1, tau, tau_lo)
        tau_hi = torch.where(mass < 1, tau, tau_hi)
    p = torch.clamp(z - (tau_lo + tau_hi) / 2, min=0) ** (1 / am1)
    return p / p.sum(dim, keepdim=True)


class SparsemaxVmappable(Function):
    """The same map in the torch.func style: forward without ctx, setup_context, vmap rule."""
    generate_vmap_rule = True

    @staticmethod
    def forward(z):
        z = z - z.max(dim=-1, keepdim=True).values
        tau, _ = _sparsemax_threshold(z, -1)
        return torch.clamp(z - tau, min=0)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        supp = (out > 0).to(grad_output.dtype)
        v = (grad_output * supp).sum(-1, keepdim=True) / supp.sum(-1, keepdim=True)
        return supp * (grad_output - v)


z = torch.tensor([[1.5, 0.3, 1.2, -1.0, 0.9], [0.1, 0.0, -0.1, 0.05, 2.5]])
for name, fn in [("softmax", lambda t: torch.softmax(t, -1)), ("sparsemax", sparsemax),
                 ("entmax15", entmax15), ("bisect1.5", entmax_bisect)]:
    p = fn(z)
    print(f"{name:9s}", r(p), "nnz", (p > 0).sum(-1).tolist(), "sum", r(p.sum(-1), 4))
print("bisect == exact", torch.allclose(entmax_bisect(z), entmax15(z), atol=1e-5))
print("sparsemax dim0", r(sparsemax(z, 0)))

zd = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
print("gradcheck sparsemax", gradcheck(lambda t: sparsemax(t * 3), (zd,), eps=1e-6, atol=1e-5))
print("gradcheck entmax15", gradcheck(lambda t: entmax15(t * 3), (zd,), eps=1e-6, atol=1e-5))
print("gradcheck vmappable", gradcheck(SparsemaxVmappable.apply, (zd * 3,), eps=1e-6, atol=1e-5))

# Jacobians: closed form, autograd, torch.func
J_func = torch.func.jacrev(SparsemaxVmappable.apply)(z[0])
J_ag = torch.autograd.functional.jacobian(sparsemax, z[0])
supp = (sparsemax(z[0]) > 0).float()
J_closed = torch.diag(supp) - torch.outer(supp, supp) / supp.sum()
print("jacobian", tuple(J_func.shape), torch.allclose(J_func, J_closed),
      torch.allclose(J_ag, J_closed))
batched = torch.func.vmap(SparsemaxVmappable.apply)(z)
print("vmap == batched", torch.allclose(batched, sparsemax(z)))
per_row_J = torch.func.vmap(torch.func.jacrev(SparsemaxVmappable.apply))(z)
print("per-row jacobian", tuple(per_row_J.shape), r(per_row_J[1].diagonal(), 3))
ent_J = torch.autograd.functional.jacobian(entmax15, z[0])
print("entmax jac rows sum", r(ent_J.sum(1), 5), "sym", torch.allclose(ent_J, ent_J.T, atol=1e-6))


def sparsemax_loss(z, target):
    """Fenchel-Young loss of sparsemax: the gradient is sparsemax(z) - onehot(target)."""
    p = sparsemax(z)
    z_t = z.gather(1, target[:, None]).squeeze(1)
    tau_term = (p * z).sum(1) - 0.5 * (p ** 2).sum(1)
    return (tau_term - z_t + 0.5).clamp(min=0).mean()


# ----- sparse attention classifier ------------------------------------------------------------
class SparseAttnPool(nn.Module):
    def __init__(self, vocab, dim, n_cls, mapping):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.query = nn.Parameter(torch.randn(dim) * 0.1)
        self.out = nn.Linear(dim, n_cls)
        self.mapping = mapping

    def forward(self, tokens):
        h = self.emb(tokens)                               # (B, L, D)
        scores = h @ self.query / h.shape[-1] ** 0.5
        attn = self.mapping(scores)
        return self.out((attn.unsqueeze(-1) * h).sum(1)), attn


gen = torch.Generator().manual_seed(3)
tokens = torch.randint(0, 30, (64, 10), generator=gen)
labels = (tokens == 7).any(1).long() + (tokens == 11).any(1).long()
print("label counts", torch.bincount(labels, minlength=3).tolist())
for mname, mapping in [("softmax", lambda s: torch.softmax(s, -1)), ("sparsemax", sparsemax),
                       ("entmax15", entmax15)]:
    torch.manual_seed(5)
    model = SparseAttnPool(30, 16, 3, mapping)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    for epoch in range(15):
        for i in range(0, 64, 16):
            opt.zero_grad()
            logits, attn = model(tokens[i:i + 16])
            loss = sparsemax_loss(logits, labels[i:i + 16]) if mname != "softmax" \
                else F.cross_entropy(logits, labels[i:i + 16])
            loss.backward()
            opt.step()
    with torch.no_grad():
        logits, attn = model(tokens)
        acc = (logits.argmax(1) == labels).float().mean().item()
        nnz = (attn > 0).float().sum(1).mean().item()
    print(f"{mname:9s} loss {loss.item():.4f} acc {acc:.4f} mean attended {nnz:.2f}")

# ----- Gumbel top-k and relaxations ---------------------------------------------------------
logits = torch.log_softmax(torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -2.0]), 0)
torch.manual_seed(11)
g = Gumbel(torch.zeros(6), torch.ones(6)).sample((20000,))
topk = torch.topk(logits + g, k=3, dim=-1).indices
first = torch.bincount(topk[:, 0], minlength=6).float() / 20000
print("gumbel-max freq", r(first, 2), "probs", r(logits.exp(), 2))
incl = torch.zeros(6).index_add_(0, topk.flatten(), torch.ones(topk.numel())) / 20000
print("top-3 inclusion", r(incl, 2))
ordered = torch.sort(topk[:5], dim=1).values
print("first samples", ordered.tolist())
relaxed = RelaxedOneHotCategorical(torch.tensor(0.5), logits=logits)
y = relaxed.rsample((4,))
print("relaxed", tuple(y.shape), r(y.sum(-1), 4), r(y[0], 3))
print("relaxed log_prob", r(relaxed.log_prob(y), 3))
soft = F.gumbel_softmax(logits.expand(3, 6), tau=0.3, hard=True)
print("gumbel_softmax hard", soft.tolist())
