"""Sliced score matching on low-dimensional data, after Song et al.'s ``sliced_score_matching``
reference code: an unconditional score network trained with the SSM objective and its
variance-reduced form (SSM-VR), projections drawn from a seeded generator, the
Jacobian-vector term by ``torch.autograd.grad(..., create_graph=True)``, by ``torch.func.jvp``
and by a forward-mode dual tensor (``torch.autograd.forward_ad``) whose tangent is
backpropagated to the weights; exact (implicit) score matching with the full Jacobian trace
from ``torch.func.vmap(torch.func.jacfwd(...))`` as a reference; the true score of the data
density from ``torch.func.grad`` of a ``MixtureSameFamily.log_prob`` (checked against
``torch.autograd.grad``), a Fisher-divergence estimate, and Langevin sampling from the learned
score compared with the data by an RBF-kernel MMD."""
import math

import torch
import torch.nn as nn
import torch.distributions as D
import torch.autograd.forward_ad as fwAD
from torch.func import functional_call, grad, jacfwd, jvp, vmap

torch.manual_seed(0)

dim = 3
mix = D.Categorical(torch.tensor([0.5, 0.5]))
comp = D.Independent(D.Normal(torch.tensor([[1.0, 0.0, -0.5], [-1.0, 0.5, 0.5]]),
                              torch.tensor([[0.5, 0.4, 0.6], [0.4, 0.6, 0.5]])), 1)
pdata = D.MixtureSameFamily(mix, comp)
data = pdata.sample((1500,))
print("data", tuple(data.shape), "logp", f"{pdata.log_prob(data).mean():.4f}",
      "var", [f"{v:.3f}" for v in data.var(0).tolist()])

per_sample_score = vmap(grad(lambda x: pdata.log_prob(x)))


@torch.enable_grad()
def true_score(x):
    x = x.detach().requires_grad_()
    score, = torch.autograd.grad(pdata.log_prob(x).sum(), x)
    return score


print("func.grad score == autograd score",
      torch.allclose(per_sample_score(data[:5]), true_score(data[:5]), atol=1e-5))


class ScoreMLP(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.Softplus(), nn.Linear(hidden, hidden),
                                 nn.Softplus(), nn.Linear(hidden, dim))

    def forward(self, x):
        return self.net(x)


def ssm_loss(model, x, n_particles=1, vr=False, generator=None):
    dup = x.unsqueeze(0).expand(n_particles, *x.shape).contiguous().view(-1, dim)
    dup.requires_grad_(True)
    v = torch.randn(dup.shape, generator=generator)
    v = v / torch.norm(v, dim=-1, keepdim=True) * math.sqrt(dim)
    s = model(dup)
    sv = torch.sum(s * v)
    gsv, = torch.autograd.grad(sv, dup, create_graph=True)
    loss1 = 0.5 * torch.sum(s * s, dim=-1) if vr else 0.5 * torch.sum(s * v, dim=-1) ** 2
    loss2 = torch.sum(v * gsv, dim=-1)
    return (loss1 + loss2).mean(), loss1.mean().detach(), loss2.mean().detach()


def ssm_vr_forward_ad(model, x, n_particles=1, generator=None):
    """SSM-VR with vᵀ(∂s/∂x)v from a dual tensor: the tangent is backpropagated to the weights."""
    dup = x.unsqueeze(0).expand(n_particles, *x.shape).reshape(-1, dim)
    v = torch.randn(dup.shape, generator=generator)
    v = v / torch.norm(v, dim=-1, keepdim=True) * math.sqrt(dim)
    with fwAD.dual_level():
        s, jv = fwAD.unpack_dual(model(fwAD.make_dual(dup, v)))
    loss1 = 0.5 * torch.sum(s * s, dim=-1)
    loss2 = torch.sum(v * jv, dim=-1)
    return (loss1 + loss2).mean(), loss1.mean().detach(), loss2.mean().detach()


def exact_sm_loss(model, x):
    params = dict(model.named_parameters())

    def f(xi):
        return functional_call(model, params, (xi,))

    jac = vmap(jacfwd(f))(x)
    s = model(x)
    return (0.5 * (s ** 2).sum(-1) + torch.diagonal(jac, dim1=-2, dim2=-1).sum(-1)).mean()


def fisher_div(model, x):
    with torch.no_grad():
        return 0.5 * ((model(x) - per_sample_score(x)) ** 2).sum(-1).mean()


results = {}
for variant in ("ssm", "ssm_vr", "fwd_vr"):
    torch.manual_seed(1)
    model = ScoreMLP()
    opt = torch.optim.RMSprop(model.parameters(), lr=2e-3, alpha=0.95)
    gen = torch.Generator().manual_seed(2)
    perm_gen = torch.Generator().manual_seed(3)
    for epoch in range(1, 4):
        perm = torch.randperm(data.shape[0], generator=perm_gen)
        tot = torch.zeros(3)
        for b in perm.split(250):
            if variant == "fwd_vr":
                loss, l1, l2 = ssm_vr_forward_ad(model, data[b], n_particles=2, generator=gen)
            else:
                loss, l1, l2 = ssm_loss(model, data[b], n_particles=2, vr=variant == "ssm_vr",
                                        generator=gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += torch.stack([loss.detach(), l1, l2])
        if epoch % 2 == 1:
            tot /= len(perm.split(250))
            print(f"{variant:6s} epoch {epoch} loss {tot[0]:.4f} (l1 {tot[1]:.4f} l2 {tot[2]:.4f}) "
                  f"fisher {fisher_div(model, data[:100]):.4f}")
    exact = exact_sm_loss(model, data[:100])
    print(f"{variant:6s} exact SM loss (jacfwd trace) {exact.item():.4f}")
    results[variant] = model
print("fwd_vr weights == ssm_vr weights", all(
    torch.allclose(a, b, atol=1e-4) for a, b in zip(results["fwd_vr"].parameters(),
                                                    results["ssm_vr"].parameters())))

# jvp-based slice term agrees with the create_graph one
model = results["ssm_vr"]
params = {k: v.detach() for k, v in model.named_parameters()}
x = data[:8]
v = torch.randn_like(x)
_, jv = jvp(lambda xx: functional_call(model, params, (xx,)), (x,), (v,))
xg = x.clone().requires_grad_()
gv, = torch.autograd.grad((model(xg) * v).sum(), xg)
vjv_diff = ((jv * v).sum(-1) - (gv * v).sum(-1)).abs().max()
print("vᵀJv jvp vs vjp max diff < 1e-5:", bool(vjv_diff < 1e-5))


@torch.no_grad()
def langevin(model, n, steps=100, eps=4e-3, generator=None):
    x = torch.rand(n, dim, generator=generator) * 4 - 2
    for _ in range(steps):
        x = x + 0.5 * eps * model(x) + math.sqrt(eps) * torch.randn(x.shape, generator=generator)
    return x


def mmd_rbf(x, y, bandwidths=(0.5, 1.0, 2.0)):
    xy = torch.cat([x, y])
    d2 = torch.cdist(xy, xy).pow(2)
    k = sum(torch.exp(-d2 / (2 * b ** 2)) for b in bandwidths)
    n = x.shape[0]
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


g = torch.Generator().manual_seed(5)
ref = pdata.sample((400,))
for name, model in [("ssm", results["ssm"]), ("ssm_vr", results["ssm_vr"]), ("true", None)]:
    fn = true_score if model is None else model
    samples = langevin(fn, 400, generator=g)
    print(f"{name:6s} langevin logp {pdata.log_prob(samples).mean():.3f} "
          f"mmd {mmd_rbf(samples, ref):.4f} mean {[round(m, 2) for m in samples.mean(0).tolist()]}")
