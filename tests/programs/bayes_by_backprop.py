"""Bayes by Backprop: a Bayesian neural network trained by variational inference.

Follows Blundell et al.'s "Weight Uncertainty in Neural Networks" as the public PyTorch
re-implementations write it (the Bayes-by-backprop notebooks and blitz-style layers): factorised
Gaussian posteriors over the weights built from ``torch.distributions`` (``Normal``,
``Independent``, ``rsample``), a scale-mixture prior (``MixtureSameFamily``), the KL term from
``kl_divergence`` where it is closed-form and by Monte Carlo where it is not, positive
parameters through ``biject_to(constraints.positive)``, a ``TransformedDistribution`` for a
bounded noise level, a heavy-tailed ``StudentT`` likelihood, and predictive uncertainty from
posterior samples. Data are split with ``random_split`` under a seeded generator.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (Categorical, Independent, Laplace, LogNormal,
                                 MixtureSameFamily, Normal, StudentT, TransformedDistribution,
                                 biject_to, constraints, kl_divergence, transform_to)
from torch.distributions.transforms import AffineTransform, ComposeTransform, SigmoidTransform
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)


def r(t, digits=4):
    return [round(float(v), digits) for v in t.reshape(-1)]


# 1-D regression with a gap in the inputs: uncertainty should grow inside the gap
x = torch.cat([torch.rand(120, 1) * 2 - 3, torch.rand(120, 1) * 2 + 1])
y = torch.sin(1.5 * x) + 0.1 * x + 0.15 * torch.randn_like(x)
data = TensorDataset(x, y)
train_set, val_set = random_split(data, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
print("split sizes:", len(train_set), len(val_set), "first val index:", val_set.indices[0])
loader = DataLoader(train_set, batch_size=32, shuffle=True,
                    generator=torch.Generator().manual_seed(1))

# the positive-constraint bijection maps an unconstrained rho to sigma = softplus-free exp
to_positive = biject_to(constraints.positive)
print("biject_to(positive):", type(to_positive).__name__,
      r(to_positive(torch.tensor([-1.0, 0.0, 1.0]))))
print("transform_to(interval):", r(transform_to(constraints.interval(-2.0, 2.0))(
    torch.tensor([-3.0, 0.0, 3.0]))))
print("support checks:", constraints.positive.check(torch.tensor([-1.0, 2.0])).tolist(),
      constraints.unit_interval.check(torch.tensor([0.5, 1.5])).tolist())


def scale_mixture_prior(shape, pi=0.5, s1=1.0, s2=0.1):
    """Blundell's prior: a two-component Gaussian mixture, independent over the weights."""
    mix = Categorical(probs=torch.tensor([pi, 1 - pi]).expand(*shape, 2))
    comp = Normal(torch.zeros(*shape, 2), torch.tensor([s1, s2]).expand(*shape, 2))
    return Independent(MixtureSameFamily(mix, comp), len(shape))


class BayesLinear(nn.Module):
    def __init__(self, n_in, n_out, mixture_prior=False):
        super().__init__()
        self.w_mu = nn.Parameter(torch.empty(n_out, n_in).uniform_(-0.2, 0.2))
        self.w_rho = nn.Parameter(torch.full((n_out, n_in), -3.0))
        self.b_mu = nn.Parameter(torch.zeros(n_out))
        self.b_rho = nn.Parameter(torch.full((n_out,), -3.0))
        self.mixture_prior = mixture_prior

    def posterior(self):
        w = Independent(Normal(self.w_mu, F.softplus(self.w_rho)), 2)
        b = Independent(Normal(self.b_mu, F.softplus(self.b_rho)), 1)
        return w, b

    def forward(self, x):
        qw, qb = self.posterior()
        w, b = qw.rsample(), qb.rsample()
        if self.mixture_prior:
            # no closed form against a mixture: single-sample Monte Carlo KL
            pw, pb = scale_mixture_prior(w.shape), scale_mixture_prior(b.shape)
            self.kl = (qw.log_prob(w) - pw.log_prob(w)) + (qb.log_prob(b) - pb.log_prob(b))
        else:
            pw = Independent(Normal(torch.zeros_like(w), torch.ones_like(w)), 2)
            pb = Independent(Normal(torch.zeros_like(b), torch.ones_like(b)), 1)
            self.kl = kl_divergence(qw, pw) + kl_divergence(qb, pb)
        return F.linear(x, w, b)


class BayesNet(nn.Module):
    def __init__(self, mixture_prior=False):
        super().__init__()
        self.l1 = BayesLinear(1, 32, mixture_prior)
        self.l2 = BayesLinear(32, 1, mixture_prior)
        # observation noise in (0.01, 1.01): sigmoid then affine, as a TransformedDistribution
        self.noise_raw = nn.Parameter(torch.tensor(-1.0))

    def forward(self, x):
        return self.l2(torch.tanh(self.l1(x)))

    def kl(self):
        return self.l1.kl + self.l2.kl

    def noise(self):
        bounded = ComposeTransform([SigmoidTransform(), AffineTransform(0.01, 1.0)])
        return bounded(self.noise_raw)


# a TransformedDistribution over the noise level: log density by change of variables
base = Normal(torch.tensor(-1.0), torch.tensor(0.5))
noise_prior = TransformedDistribution(base, [SigmoidTransform(), AffineTransform(0.01, 1.0)])
pts = torch.tensor([0.1, 0.3, 0.6])
print("noise prior log prob:", r(noise_prior.log_prob(pts)))
print("noise prior support check:", noise_prior.support.check(torch.tensor([0.0, 0.5])).tolist())


def train(model, epochs, likelihood="normal"):
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    n = len(train_set)
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in loader:
            pred = model(xb)
            sigma = model.noise()
            if likelihood == "normal":
                lik = Normal(pred, sigma)
            else:
                lik = StudentT(df=4.0, loc=pred, scale=sigma)
            nll = -lik.log_prob(yb).sum()
            loss = nll * n / len(xb) + model.kl() + (-noise_prior.log_prob(sigma))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        if epoch % 10 == 9:
            print(f"  epoch {epoch + 1}: elbo loss {total / len(loader):.1f} "
                  f"noise {model.noise().item():.3f}")


def predict(model, x, samples=25):
    with torch.no_grad():
        preds = torch.stack([model(x) for _ in range(samples)])
    return preds.mean(0), preds.std(0)


grid = torch.tensor([[-2.0], [0.0], [2.0]])
for name, mixture, lik in [("gaussian prior", False, "normal"),
                           ("mixture prior", True, "normal"),
                           ("student-t lik", False, "student")]:
    torch.manual_seed(3)
    model = BayesNet(mixture_prior=mixture)
    print(name)
    train(model, 20, lik)
    torch.manual_seed(4)
    mean, std = predict(model, grid)
    print("  predictive mean:", r(mean, 2), "std:", r(std, 2))
    print("  std in the gap is largest:", bool(std[1] > std[0] and std[1] > std[2]))
    vx = torch.stack([val_set[i][0] for i in range(len(val_set))])
    vy = torch.stack([val_set[i][1] for i in range(len(val_set))])
    vmean, _ = predict(model, vx)
    print("  val rmse: %.2f" % (vmean - vy).pow(2).mean().sqrt())
    print("  kl (one draw) > 0:", bool(model.kl() > 0))

# closed-form KLs and their Monte Carlo estimates agree
q = Normal(torch.tensor([0.3, -1.0]), torch.tensor([0.5, 2.0]))
p = Normal(torch.zeros(2), torch.ones(2))
torch.manual_seed(5)
z = q.rsample((20000,))
print("kl normal:", r(kl_divergence(q, p)), "mc:", r((q.log_prob(z) - p.log_prob(z)).mean(0), 1))
qi, pi_ = Independent(q, 1), Independent(p, 1)
print("kl independent:", round(kl_divergence(qi, pi_).item(), 4),
      "event/batch:", tuple(qi.event_shape), tuple(qi.batch_shape))
lq, lp = Laplace(torch.tensor(0.2), torch.tensor(1.5)), Laplace(torch.tensor(0.0), 1.0)
print("kl laplace: %.4f" % kl_divergence(lq, lp))
ln = LogNormal(torch.tensor(0.0), torch.tensor(0.5))
print("lognormal mean %.4f var %.4f entropy %.4f" % (ln.mean, ln.variance, ln.entropy()))
print("lognormal is a transformed normal:", isinstance(ln, TransformedDistribution),
      round(ln.log_prob(torch.tensor(2.0)).item(), 4))
t = StudentT(torch.tensor(4.0), torch.tensor(1.0), torch.tensor(2.0))
print("student-t mean %.1f var %.4f entropy %.4f" % (t.mean, t.variance, t.entropy()))
print("student-t log prob:", r(t.log_prob(torch.tensor([-1.0, 1.0, 5.0]))))
mix = scale_mixture_prior((2,))
print("mixture prior log prob: %.4f" % mix.log_prob(torch.tensor([0.001, 0.5])))
print("mixture mean/var:", r(mix.base_dist.mean), r(mix.base_dist.variance, 5))
print("normal cdf/icdf:", r(p.cdf(torch.tensor([1.0, -1.0]))),
      r(p.icdf(torch.tensor([0.975, 0.5]))))
print("normal entropy: %.4f (0.5 log 2 pi e = %.4f)" % (
    p.entropy()[0], 0.5 * math.log(2 * math.pi * math.e)))
try:
    Normal(torch.tensor(0.0), torch.tensor(-1.0), validate_args=True)
except ValueError as err:
    print("validate_args:", str(err)[:70])
