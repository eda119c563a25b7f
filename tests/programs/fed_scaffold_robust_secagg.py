"""Server-side federated algorithms, as FedML/Flower strategies and the SCAFFOLD/FedOpt papers'
reference code write them: all clients trained at once with ``torch.func.stack_module_state`` +
``vmap(grad(...))`` over a ``functional_call`` loss (SCAFFOLD control variates correcting each
local step), the server applying the averaged update through ``torch.optim.Adam`` by writing the
negated delta into ``p.grad`` (FedAdam), Byzantine-robust aggregation (Krum scores from
``torch.cdist``, coordinate-wise ``median``, trimmed mean from ``sort``, ``quantile``) against
two sign-flipping clients, and secure aggregation with pairwise masks drawn from seeded
``torch.Generator``s on int64 fixed-point updates that cancel in the sum (``torch.remainder``
modular arithmetic)."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, stack_module_state, vmap

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
n_clients, n_per, dim = 8, 24, 5
w_true = torch.randn(dim, 1)
client_shift = torch.randn(n_clients, 1, dim) * 0.8
X = torch.randn(n_clients, n_per, dim) + client_shift
Y = (X @ w_true).squeeze(-1) + 0.1 * torch.randn(n_clients, n_per)
Xte = torch.randn(200, dim)
Yte = (Xte @ w_true).squeeze(-1)

model = nn.Sequential(nn.Linear(dim, 8), nn.Tanh(), nn.Linear(8, 1))
base = copy.deepcopy(model).to("meta")


def loss_fn(params, x, y):
    return F.mse_loss(functional_call(base, params, (x,)).squeeze(-1), y)


client_grad = vmap(grad(loss_fn), in_dims=(0, 0, 0))


def test_loss(m):
    with torch.no_grad():
        return F.mse_loss(m(Xte).squeeze(-1), Yte).item()


def local_round(global_params, c_global, c_local, lr=0.05, steps=5, scaffold=True):
    params = {k: v.detach().unsqueeze(0).repeat(n_clients, *([1] * v.dim())) for k, v in
              global_params.items()}
    for _ in range(steps):
        g = client_grad(params, X, Y)
        params = {k: params[k] - lr * (g[k] + (c_global[k] - c_local[k] if scaffold else 0))
                  for k in params}
    delta = {k: params[k] - global_params[k].detach() for k in params}
    new_c = {k: c_local[k] - c_global[k] - delta[k] / (steps * lr) for k in params} \
        if scaffold else c_local
    return delta, new_c


for scaffold in (False, True):
    torch.manual_seed(1)
    server = copy.deepcopy(model)
    opt = torch.optim.Adam(server.parameters(), lr=0.05)
    c_global = {k: torch.zeros_like(v) for k, v in server.named_parameters()}
    c_local = {k: torch.zeros(n_clients, *v.shape) for k, v in server.named_parameters()}
    for rnd in range(6):
        gp = dict(server.named_parameters())
        delta, c_local_new = local_round(gp, c_global, c_local, scaffold=scaffold)
        if scaffold:
            c_global = {k: c_global[k] + (c_local_new[k] - c_local[k]).mean(0) for k in c_global}
            c_local = c_local_new
        opt.zero_grad()
        for k, p in server.named_parameters():
            p.grad = -delta[k].mean(0)
        opt.step()
    print(f"{'SCAFFOLD' if scaffold else 'FedAvg  '}+Adam test mse {test_loss(server):.4f} "
          f"c norm {sum(v.norm() ** 2 for v in c_global.values()).sqrt().item():.4f}")

# stack_module_state: per-client models as one batch of parameters
clients = [copy.deepcopy(model) for _ in range(n_clients)]
with torch.no_grad():
    for i, c in enumerate(clients):
        for p in c.parameters():
            p.add_(0.01 * (i + 1))
stacked, buffers = stack_module_state(clients)
print("stacked", {k: tuple(v.shape) for k, v in stacked.items()}, "buffers", len(buffers))
out = vmap(lambda p, x: functional_call(base, p, (x,)))(stacked, X)
print("per-client outputs", tuple(out.shape), round(out.mean().item(), 4))

# ---------------------------------------------------------------- robust aggregation
torch.manual_seed(2)
updates = torch.randn(n_clients, 30) * 0.1 + 0.5
updates[:2] = -5 * updates[:2]                       # two Byzantine clients
f = 2
d2 = torch.cdist(updates, updates).pow(2)
krum_scores = d2.sort(dim=1).values[:, 1:n_clients - f - 1].sum(1)
krum = krum_scores.argmin()
print("krum scores", [round(v, 3) for v in krum_scores.tolist()], "pick", krum.item())
multi = krum_scores.topk(n_clients - f, largest=False).indices.sort().values
print("multi-krum", multi.tolist())
mean = updates.mean(0)
median = updates.median(dim=0).values
trimmed = updates.sort(dim=0).values[f:n_clients - f].mean(0)
q = torch.quantile(updates, torch.tensor([0.25, 0.5, 0.75]), dim=0)
print("mean", round(mean.mean().item(), 4), "median", round(median.mean().item(), 4),
      "trimmed", round(trimmed.mean().item(), 4), "quantiles", q.mean(1).round(decimals=4).tolist())
norms = updates.norm(dim=1)
clipped = updates * (norms.median() / norms).clamp(max=1.0)[:, None]
print("norm-clipped mean", round(clipped.mean().item(), 4))

# ---------------------------------------------------------------- secure aggregation
scale, modulus = 2 ** 16, 2 ** 32
fixed = torch.round(updates * scale).long()
masked = fixed.clone()
for i in range(n_clients):
    for j in range(i + 1, n_clients):
        g = torch.Generator().manual_seed(1000 * i + j)            # shared pairwise seed
        mask = torch.randint(0, modulus, (updates.shape[1],), generator=g, dtype=torch.int64)
        masked[i] = torch.remainder(masked[i] + mask, modulus)
        masked[j] = torch.remainder(masked[j] - mask, modulus)
agg = torch.remainder(masked.sum(0), modulus)
agg = torch.where(agg >= modulus // 2, agg - modulus, agg)        # back to signed
print("masked client 0 looks random", masked[0, :3].tolist())
print("secure sum == plain sum", torch.equal(agg, fixed.sum(0)),
      "decoded mean", round((agg.double() / scale / n_clients).mean().item(), 6),
      "vs", round(mean.mean().item(), 6))
