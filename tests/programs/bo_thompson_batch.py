"""Batch Bayesian optimisation of the 3-D Hartmann function by Thompson sampling, as plain-torch
BO repositories write it without BoTorch: an RBF-ARD GP whose positive hyperparameters live
behind ``torch.distributions.biject_to`` bijections, Gamma hyperpriors (as BoTorch's defaults),
the marginal likelihood from ``MultivariateNormal(covariance_matrix=...).log_prob``, fitted
with L-BFGS (strong-Wolfe line search) from a closure; the joint posterior over a scrambled
Sobol candidate set from triangular solves, sampled through ``MultivariateNormal(scale_tril=...)``
``rsample`` to pick a batch of q points (duplicates dropped with ``torch.unique``), and an
upper-confidence bound plus a ``Normal.icdf`` quantile compared on the last model."""
import math

import torch
from torch.distributions import Gamma, MultivariateNormal, Normal, biject_to, constraints
from torch.quasirandom import SobolEngine

torch.set_default_dtype(torch.float64)
torch.manual_seed(3)

ALPHA = torch.tensor([1.0, 1.2, 3.0, 3.2])
A = torch.tensor([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
P = 1e-4 * torch.tensor([[3689.0, 1170, 2673], [4699, 4387, 7470],
                         [1091, 8732, 5547], [381, 5743, 8828]])


def hartmann3(x):
    """Negated Hartmann-3 (to maximise; the optimum is 3.86278)."""
    inner = (A * (x.unsqueeze(-2) - P) ** 2).sum(-1)
    return (ALPHA * torch.exp(-inner)).sum(-1)


class GP:
    """RBF-ARD GP with its positive hyperparameters stored unconstrained."""

    def __init__(self, dim):
        self.to_positive = biject_to(constraints.positive)
        self.to_noise = biject_to(constraints.greater_than(1e-6))
        self.u_ls = self.to_positive.inv(torch.full((dim,), 0.3)).requires_grad_()
        self.u_os = self.to_positive.inv(torch.tensor(1.0)).requires_grad_()
        self.u_noise = self.to_noise.inv(torch.tensor(1e-3)).requires_grad_()
        self.ls_prior = Gamma(torch.tensor(3.0), torch.tensor(6.0))
        self.os_prior = Gamma(torch.tensor(2.0), torch.tensor(0.15))

    def params(self):
        return [self.u_ls, self.u_os, self.u_noise]

    def hypers(self):
        return self.to_positive(self.u_ls), self.to_positive(self.u_os), self.to_noise(self.u_noise)

    def kernel(self, a, b):
        ls, os_, _ = self.hypers()
        d2 = torch.cdist(a / ls, b / ls).pow(2)
        return os_ * torch.exp(-0.5 * d2)

    def loss(self, x, y):
        ls, os_, noise = self.hypers()
        K = self.kernel(x, x) + noise * torch.eye(len(x))
        mll = MultivariateNormal(torch.zeros(len(x)), covariance_matrix=K).log_prob(y)
        prior = self.ls_prior.log_prob(ls).sum() + self.os_prior.log_prob(os_)
        return -(mll + prior) / len(x)

    def fit(self, x, y):
        opt = torch.optim.LBFGS(self.params(), lr=1.0, max_iter=50,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = self.loss(x, y)
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            return self.loss(x, y).item()

    @torch.no_grad()
    def posterior(self, x, y, xs):
        _, _, noise = self.hypers()
        L = torch.linalg.cholesky(self.kernel(x, x) + noise * torch.eye(len(x)))
        ks = self.kernel(x, xs)
        v = torch.linalg.solve_triangular(L, ks, upper=False)
        w = torch.linalg.solve_triangular(L, y.unsqueeze(-1), upper=False)
        mean = (v.transpose(-1, -2) @ w).squeeze(-1)
        cov = self.kernel(xs, xs) - v.transpose(-1, -2) @ v
        return mean, cov


def joint_sampler(mean, cov):
    """MultivariateNormal over the candidates, jitter raised until cholesky_ex succeeds."""
    eye = torch.eye(len(mean))
    for jitter in (1e-9, 1e-8, 1e-7, 1e-6, 1e-5):
        L, info = torch.linalg.cholesky_ex(cov + jitter * eye)
        if info.item() == 0:
            return MultivariateNormal(mean, scale_tril=L), jitter
    raise RuntimeError("posterior covariance is not positive definite")


sobol = SobolEngine(3, scramble=True, seed=11)
X = sobol.draw(8)
Y = hartmann3(X)
print("initial best", round(Y.max().item(), 4))

q = 4
for rnd in range(4):
    y_mu, y_sd = Y.mean(), Y.std()
    gp = GP(3)
    loss = gp.fit(X, (Y - y_mu) / y_sd)
    ls, os_, noise = gp.hypers()
    cand = sobol.draw(200)
    mean, cov = gp.posterior(X, (Y - y_mu) / y_sd, cand)
    mvn, jitter = joint_sampler(mean, cov)
    paths = mvn.rsample(torch.Size([q]))
    picks = torch.unique(paths.argmax(-1))
    x_new = cand[picks]
    y_new = hartmann3(x_new)
    X, Y = torch.cat([X, x_new]), torch.cat([Y, y_new])
    print(f"round {rnd}: loss {loss:.4f} ls {[round(v, 3) for v in ls.tolist()]} "
          f"os {os_.item():.3f} noise {noise.item():.2e} jitter {jitter:.0e} "
          f"picks {picks.tolist()} y {[round(v, 4) for v in y_new.tolist()]} "
          f"best {Y.max().item():.4f}")

# compare UCB with the posterior 90% quantile on the last model: same ranking, other scale
std = cov.diagonal().clamp_min(0).sqrt()
beta = 2.0 * math.log(200 * (rnd + 1) ** 2 * math.pi ** 2 / (6 * 0.1)) / 5
ucb = mean + math.sqrt(beta) * std
quantile = Normal(mean, std.clamp_min(1e-9)).icdf(torch.tensor(0.9))
print("beta", round(beta, 4), "ucb top3", ucb.topk(3).indices.tolist(),
      "q90 top3", quantile.topk(3).indices.tolist())
print("ucb max", round(ucb.max().item(), 4), "q90 max", round(quantile.max().item(), 4))
print("sample log_prob", [round(v, 2) for v in mvn.log_prob(paths).tolist()])
print("regret", round(3.86278 - Y.max().item(), 4), "evaluations", len(Y))
