"""Monte-Carlo estimators with torch.distributions, following the "gradient estimators" and
"importance weighted autoencoder" tutorials: self-normalised importance sampling with
``logsumexp``, the IWAE bound for growing K, score-function (REINFORCE) vs pathwise gradients
with a baseline, and relaxed discrete / continuous-Bernoulli likelihoods (RelaxedBernoulli,
RelaxedOneHotCategorical, ContinuousBernoulli) with their entropy, cdf and icdf.
"""
import math

import torch
from torch.distributions import (Normal, StudentT, Cauchy, Laplace, Gumbel, Uniform, Exponential,
                                 Bernoulli, RelaxedBernoulli, RelaxedOneHotCategorical,
                                 ContinuousBernoulli, Kumaraswamy,
                                 Weibull, Chi2, HalfCauchy, Pareto, VonMises, kl_divergence)
from torch.distributions.relaxed_bernoulli import LogitRelaxedBernoulli

torch.manual_seed(0)


def r(x, d=4):
    return [round(v, d) for v in torch.as_tensor(x).detach().reshape(-1).tolist()]


# --- importance sampling: tail probability and a posterior mean -------------------------------
target = Normal(0.0, 1.0)
proposal = Normal(3.5, 1.0)
xs = proposal.sample((20000,))
logw = target.log_prob(xs) - proposal.log_prob(xs)
est = (logw.exp() * (xs > 3.0)).mean()
exact = 1 - target.cdf(torch.tensor(3.0))
print("P(X>3) IS", round(est.item(), 5), "exact", round(exact.item(), 5))

# posterior over a location with a Cauchy prior and Student-t likelihood
obs = torch.tensor([1.2, 0.8, 2.1, 1.5, 0.3])
prior = Cauchy(0.0, 2.0)
q = StudentT(df=5.0, loc=obs.mean(), scale=0.8)
theta = q.sample((5000,))
log_joint = prior.log_prob(theta) + StudentT(3.0, theta[:, None], 0.7).log_prob(obs).sum(-1)
logw = log_joint - q.log_prob(theta)
w = torch.softmax(logw, 0)
print("posterior mean", round((w * theta).sum().item(), 2),
      "log evidence", round((torch.logsumexp(logw, 0) - math.log(len(logw))).item(), 2),
      "ESS", round((1 / (w ** 2).sum()).item() / 100, 0) * 100 > 1000)

# --- IWAE bound tightens with K --------------------------------------------------------------
x = torch.tensor(1.7)
enc = Normal(0.6, 0.9)                                  # deliberately mismatched q(z|x)


def log_p(z):
    return Normal(0.0, 1.0).log_prob(z) + Normal(z, 0.5).log_prob(x)


exact = Normal(0.0, math.sqrt(1.25)).log_prob(x)
for K in (1, 5, 50):
    z = enc.rsample((2000, K))
    lw = log_p(z) - enc.log_prob(z)
    bound = (torch.logsumexp(lw, 1) - math.log(K)).mean()
    print(f"IWAE K={K:2d}", round(bound.item(), 2), "<= log p(x)", round(exact.item(), 4))

# --- score-function vs pathwise gradient of E[(z-2)^2] wrt mu -----------------------------------
mu = torch.tensor(0.5, requires_grad=True)
f = lambda z: (z - 2.0) ** 2                               # noqa: E731
d = Normal(mu, 1.0)
z = d.rsample((50000,))
(g_path,) = torch.autograd.grad(f(z).mean(), mu)
z = d.sample((50000,))
fz = f(z)
baseline = fz.mean()
surrogate = (d.log_prob(z) * (fz - baseline).detach()).mean()
(g_score,) = torch.autograd.grad(surrogate, mu)
print("exact grad", 2 * (0.5 - 2.0), "pathwise", round(g_path.item(), 1),
      "score", round(g_score.item(), 1))
print("rsample flag", Normal.has_rsample, Bernoulli.has_rsample, z.requires_grad)

# Bernoulli score function for E[b * 3 - 1]
logit = torch.tensor(0.2, requires_grad=True)
bern = Bernoulli(logits=logit)
b = bern.sample((40000,))
loss = (bern.log_prob(b) * (3 * b - 1)).mean()
(g,) = torch.autograd.grad(loss, logit)
p = torch.sigmoid(torch.tensor(0.2))
print("bernoulli score grad", round(g.item(), 1), "exact", round((3 * p * (1 - p)).item(), 1))

# --- relaxed / continuous Bernoulli ---------------------------------------------------------------
temp = torch.tensor(0.5)
rb = RelaxedBernoulli(temp, probs=torch.tensor([0.1, 0.6, 0.9]))
s = rb.rsample((4,))
print("relaxed bernoulli", tuple(s.shape), bool(((s > 0) & (s < 1)).all()),
      r(rb.log_prob(torch.tensor([0.2, 0.5, 0.95]))))
lrb = LogitRelaxedBernoulli(temp, logits=torch.tensor([0.0, 1.0]))
print("logit relaxed", r(lrb.log_prob(torch.tensor([0.3, -1.0]))), rb.temperature.item())
roh = RelaxedOneHotCategorical(torch.tensor(0.7), logits=torch.tensor([[0.0, 1.0, -1.0]]))
v = roh.rsample((5,))
print("relaxed onehot", tuple(v.shape), r(v.sum(-1)), roh.event_shape, roh.batch_shape)
print("relaxed onehot log_prob", r(roh.log_prob(torch.tensor([0.2, 0.7, 0.1]))))
cb = ContinuousBernoulli(probs=torch.tensor([0.2, 0.5, 0.8]))
pts = torch.tensor([0.1, 0.5, 0.9])
print("cont bernoulli log_prob", r(cb.log_prob(pts)), "mean", r(cb.mean), "var", r(cb.variance))
print("cont bernoulli cdf", r(cb.cdf(pts)), "icdf", r(cb.icdf(torch.tensor([0.25, 0.5, 0.75]))))
print("cont bernoulli entropy", r(cb.entropy()))
print("cb kl", r(kl_divergence(cb, ContinuousBernoulli(logits=torch.tensor([0.0, 0.5, -0.5])))))

# --- entropy / cdf / icdf across families -----------------------------------------------------
fams = {
    "StudentT": StudentT(4.0, 0.5, 2.0),
    "Cauchy": Cauchy(0.0, 1.5),
    "Laplace": Laplace(1.0, 0.5),
    "Gumbel": Gumbel(0.5, 2.0),
    "Uniform": Uniform(-1.0, 3.0),
    "Exponential": Exponential(2.0),
    "Kumaraswamy": Kumaraswamy(2.0, 3.0),
    "Weibull": Weibull(1.5, 2.0),
    "Chi2": Chi2(3.0),
    "HalfCauchy": HalfCauchy(1.0),
    "Pareto": Pareto(0.2, 3.0),
    "VonMises": VonMises(0.0, 2.0),
}
probe = torch.tensor([0.3, 0.9])
for name, dist in fams.items():
    row = [f"{name:12s}", "lp", r(dist.log_prob(probe))]
    for what, fn, arg in (("H", dist.entropy, None), ("cdf", dist.cdf, probe),
                          ("icdf", dist.icdf, torch.tensor([0.3, 0.8]))):
        try:
            row += [what, r(fn() if arg is None else fn(arg))]
        except NotImplementedError:
            row += [f"(no {what})"]
    print(*row)
print("stats", r(StudentT(4.0).variance), r(Cauchy(0.0, 1.0).mean), r(Weibull(1.5, 2.0).mean),
      r(Pareto(1.0, 3.0).variance), r(Gumbel(0.5, 2.0).stddev))
