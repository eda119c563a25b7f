"""Variational inference in plain PyTorch (no Pyro): KL divergences between many distribution
pairs, a custom ``register_kl`` rule, and Bayesian linear regression fitted by maximising the
ELBO with ``rsample`` under a mean-field and a full-rank (``scale_tril``) Gaussian guide.

Follows the "VI from scratch" pattern of public tutorials: the guide's scale is kept positive
with ``transform_to(constraints.positive)`` / ``constraints.lower_cholesky`` instead of by hand.
"""
import torch
import torch.nn as nn
from torch.distributions import (Normal, MultivariateNormal, LowRankMultivariateNormal,
                                 Independent, Laplace, Gamma, Beta, Dirichlet, Exponential,
                                 Poisson, Bernoulli, Categorical, Uniform, HalfNormal,
                                 kl_divergence, register_kl, constraints, transform_to)

torch.manual_seed(0)


def r(x, d=4):
    return [round(v, d) for v in torch.as_tensor(x).detach().reshape(-1).tolist()]


# --- analytic KL between pairs from the registry --------------------------------------------
pairs = {
    "Normal": (Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.5])),
               Normal(torch.tensor([0.5, -1.0]), torch.tensor([2.0, 1.5]))),
    "Laplace": (Laplace(torch.tensor(0.3), torch.tensor(1.2)),
                Laplace(torch.tensor(-0.2), torch.tensor(0.7))),
    "Gamma": (Gamma(torch.tensor([2.0, 3.5]), torch.tensor([1.0, 0.5])),
              Gamma(torch.tensor([1.5, 2.0]), torch.tensor([2.0, 1.0]))),
    "Beta": (Beta(torch.tensor(2.0), torch.tensor(3.0)),
             Beta(torch.tensor(0.8), torch.tensor(1.4))),
    "Dirichlet": (Dirichlet(torch.tensor([1.0, 2.0, 3.0])),
                  Dirichlet(torch.tensor([2.0, 2.0, 0.5]))),
    "Exponential": (Exponential(torch.tensor(1.5)), Exponential(torch.tensor(0.3))),
    "Exp||Gamma": (Exponential(torch.tensor(1.5)), Gamma(torch.tensor(2.0), torch.tensor(1.0))),
    "Poisson": (Poisson(torch.tensor([3.0, 0.5])), Poisson(torch.tensor([2.0, 1.0]))),
    "Bernoulli": (Bernoulli(probs=torch.tensor(0.3)), Bernoulli(logits=torch.tensor(0.4))),
    "Categorical": (Categorical(logits=torch.tensor([0.1, 0.5, -1.0])),
                    Categorical(probs=torch.tensor([0.2, 0.3, 0.5]))),
    "Uniform||Normal": (Uniform(torch.tensor(-1.0), torch.tensor(2.0)),
                        Normal(torch.tensor(0.0), torch.tensor(1.0))),
    "HalfNormal": (HalfNormal(torch.tensor(1.0)), HalfNormal(torch.tensor(2.5))),
}
for name, (p, q) in pairs.items():
    print(f"KL {name:16s}", r(kl_divergence(p, q)))

loc = torch.tensor([0.5, -0.3, 1.0])
tril = torch.tensor([[1.0, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.2, 0.4, 0.6]])
mvn_p = MultivariateNormal(loc, scale_tril=tril)
mvn_q = MultivariateNormal(torch.zeros(3), covariance_matrix=torch.eye(3) * 2.0)
lr = LowRankMultivariateNormal(loc, cov_factor=torch.tensor([[0.5], [0.1], [-0.3]]),
                               cov_diag=torch.tensor([0.4, 0.9, 0.2]))
print("KL MVN||MVN", r(kl_divergence(mvn_p, mvn_q)))
print("KL LowRank||MVN", r(kl_divergence(lr, mvn_q)))
print("KL MVN||LowRank", r(kl_divergence(mvn_p, lr)))
lr2 = LowRankMultivariateNormal(torch.zeros(3),
                                cov_factor=torch.tensor([[0.2, 0.1], [0.0, 0.3], [0.4, -0.1]]),
                                cov_diag=torch.ones(3))
print("KL LowRank||LowRank", r(kl_divergence(lr, lr2)))
ind_p = Independent(Normal(torch.zeros(2, 3), torch.ones(2, 3)), 1)
ind_q = Independent(Normal(torch.full((2, 3), 0.5), torch.full((2, 3), 2.0)), 1)
print("KL Independent", r(kl_divergence(ind_p, ind_q)), tuple(ind_p.batch_shape),
      tuple(ind_p.event_shape))
print("lowrank covariance", r(lr.covariance_matrix))
print("mvn entropy", r(mvn_p.entropy()), "lowrank entropy", r(lr.entropy()))

try:
    kl_divergence(Beta(torch.tensor(1.0), torch.tensor(1.0)), Laplace(0.0, 1.0))
except NotImplementedError as e:
    print("no rule:", type(e).__name__)


class Hinge(Laplace):
    """A Laplace subclass with its own (made-up) KL rule to Normal, checked via the registry."""


@register_kl(Hinge, Normal)
def _kl_hinge_normal(p, q):
    # a Monte-Carlo-free surrogate: the Normal KL between moment-matched Gaussians
    return kl_divergence(Normal(p.loc, p.stddev), q)


print("custom KL", r(kl_divergence(Hinge(torch.tensor(0.0), torch.tensor(1.0)),
                                   Normal(torch.tensor(0.5), torch.tensor(1.0)))))

# --- Bayesian linear regression by VI -----------------------------------------------------------
N, D = 40, 3
X = torch.randn(N, D)
w_true = torch.tensor([1.5, -2.0, 0.5])
y = X @ w_true + 0.3 * torch.randn(N)
priors = {"MeanField": Independent(Normal(torch.zeros(D), torch.ones(D)), 1),
          "FullRank": MultivariateNormal(torch.zeros(D), precision_matrix=torch.eye(D))}


class MeanField(nn.Module):
    def __init__(self):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(D))
        self.raw_scale = nn.Parameter(torch.full((D,), -1.0))

    def forward(self):
        scale = transform_to(constraints.positive)(self.raw_scale)
        return Independent(Normal(self.loc, scale), 1)


class FullRank(nn.Module):
    def __init__(self):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(D))
        self.raw_tril = nn.Parameter(torch.zeros(D * (D + 1) // 2))

    def forward(self):
        tril = transform_to(constraints.lower_cholesky)(self.raw_tril_matrix())
        return MultivariateNormal(self.loc, scale_tril=tril)

    def raw_tril_matrix(self):
        m = torch.zeros(D, D)
        idx = torch.tril_indices(D, D)
        return m.index_put((idx[0], idx[1]), self.raw_tril)


for Guide in (MeanField, FullRank):
    torch.manual_seed(1)
    guide = Guide()
    prior = priors[Guide.__name__]
    opt = torch.optim.Adam(guide.parameters(), lr=0.1)
    for step in range(60):
        q = guide()
        w = q.rsample((8,))                      # (8, D), reparameterised
        lik = Normal(w @ X.T, 0.3).log_prob(y).sum(-1)
        elbo = lik.mean() - kl_divergence(q, prior)
        opt.zero_grad()
        (-elbo).backward()
        opt.step()
        if step % 20 == 0:
            print(Guide.__name__, step, round(elbo.item(), 1))
    q = guide()
    print(Guide.__name__, "mean", r(q.mean, 2), "std", r(q.stddev, 2))
    print(Guide.__name__, "KL to prior", round(kl_divergence(q, prior).item(), 2))

# --- conjugate checks: Beta-Bernoulli and Dirichlet-Categorical by reparameterised VI ---
torch.manual_seed(2)
flips = Bernoulli(probs=torch.tensor(0.7)).sample((30,))
rolls = Categorical(probs=torch.tensor([0.5, 0.3, 0.2])).sample((40,))
counts = torch.bincount(rolls, minlength=3).float()
raw_ab = torch.zeros(2, requires_grad=True)
raw_c = torch.zeros(3, requires_grad=True)
opt = torch.optim.Adam([raw_ab, raw_c], lr=0.08)
for step in range(120):
    ab = transform_to(constraints.positive)(raw_ab)
    qb = Beta(ab[0], ab[1])
    theta = qb.rsample((16,))
    qd = Dirichlet(transform_to(constraints.positive)(raw_c))
    pi = qd.rsample((16,))
    elbo_b = (Bernoulli(probs=theta[:, None]).log_prob(flips).sum(-1).mean()
              - kl_divergence(qb, Beta(torch.tensor(1.0), torch.tensor(1.0))))
    elbo_d = ((counts * pi.log()).sum(-1).mean()
              - kl_divergence(qd, Dirichlet(torch.ones(3))))
    opt.zero_grad()
    (-(elbo_b + elbo_d)).backward()
    opt.step()
    if step % 40 == 0:
        print("conjugate VI", step, round(elbo_b.item(), 2), round(elbo_d.item(), 2),
              "grads", r(raw_ab.grad, 2), r(raw_c.grad, 2))
print("Beta guide", r(ab, 1), "exact", [1 + flips.sum().item(), 1 + (30 - flips.sum()).item()])
print("Dirichlet guide", r(qd.concentration, 1), "exact", r(1 + counts))
