"""torch.distributions for policies and latent variables: a SAC-style squashed Gaussian actor,
a categorical actor with entropy regularisation, KL divergences, and transforms.

The actor's weights and the reparameterisation noise come from NumPy, so both libraries see the
same numbers; draws from ``.sample()``/``.rsample()`` are checked only for shape, dtype and
gradient flow, since the two generators differ.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (Normal, Categorical, Independent, TransformedDistribution,
                                 kl_divergence, Uniform, Beta, Gamma, Dirichlet, LogNormal,
                                 constraints, biject_to)
from torch.distributions.transforms import TanhTransform, AffineTransform, ExpTransform

rng = np.random.default_rng(0)
LOG_STD_MIN, LOG_STD_MAX = -5, 2


def np_init(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.4, 0.4, tuple(p.shape)).astype(np.float32)))
    return module


class Actor(nn.Module):
    """Squashed Gaussian policy, as in Soft Actor-Critic."""

    def __init__(self, obs_dim, act_dim):
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, 32)
        self.fc_mean = nn.Linear(32, act_dim)
        self.fc_logstd = nn.Linear(32, act_dim)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        mean = self.fc_mean(x)
        log_std = torch.tanh(self.fc_logstd(x))
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)
        return mean, log_std

    def get_action(self, x, eps):
        mean, log_std = self(x)
        std = log_std.exp()
        normal = torch.distributions.Normal(mean, std)
        x_t = mean + std * eps  # normal.rsample() with the noise drawn by NumPy
        y_t = torch.tanh(x_t)
        action = y_t
        log_prob = normal.log_prob(x_t)
        # Enforcing action bounds
        log_prob -= torch.log(1 - y_t.pow(2) + 1e-6)
        log_prob = log_prob.sum(1, keepdim=True)
        return action, log_prob, torch.tanh(mean)


obs = torch.from_numpy(rng.standard_normal((8, 4)).astype(np.float32))
actor = np_init(Actor(4, 2))
alpha = 0.2
target_q = torch.from_numpy(rng.standard_normal((8, 1)).astype(np.float32))
optimizer = torch.optim.Adam(actor.parameters(), lr=3e-3)
for step in range(5):
    eps = torch.from_numpy(rng.standard_normal((8, 2)).astype(np.float32))
    action, log_pi, mean_action = actor.get_action(obs, eps)
    q = -((action - 0.5) ** 2).sum(1, keepdim=True) + target_q  # a stand-in critic
    actor_loss = ((alpha * log_pi) - q).mean()
    optimizer.zero_grad()
    actor_loss.backward()
    optimizer.step()
    print("step {}: actor loss {:.4f}  mean log_pi {:.4f}  |a| max {:.4f}".format(
        step, actor_loss.item(), log_pi.mean().item(), action.abs().max().item()))

# The same density with TransformedDistribution: tanh(Normal) is a bijection
with torch.no_grad():
    mean, log_std = actor(obs)
base = Independent(Normal(mean, log_std.exp()), 1)
squashed = TransformedDistribution(base, [TanhTransform(cache_size=1)])
with torch.no_grad():
    eps = torch.from_numpy(rng.standard_normal((8, 2)).astype(np.float32))
    a = torch.tanh(mean + log_std.exp() * eps)
    lp_manual = (Normal(mean, log_std.exp()).log_prob(torch.atanh(a))
                 - torch.log(1 - a.pow(2))).sum(1)
    lp_dist = squashed.log_prob(a)
print("TransformedDistribution log_prob matches manual:",
      torch.allclose(lp_dist, lp_manual, atol=1e-3))
print("batch_shape {} event_shape {}".format(tuple(squashed.batch_shape),
                                             tuple(squashed.event_shape)))
s = squashed.rsample()
print("rsample: shape {} dtype {} inside (-1, 1): {}".format(
    tuple(s.shape), s.dtype, bool((s.abs() < 1).all())))

# Gradient through rsample (pathwise) vs. sample (no gradient)
loc = torch.tensor([0.5, -0.5], requires_grad=True)
scale = torch.tensor([1.0, 2.0], requires_grad=True)
dist = Normal(loc, scale)
print("rsample requires_grad:", dist.rsample().requires_grad,
      " sample requires_grad:", dist.sample().requires_grad)
print("has_rsample: Normal {} Categorical {} Gamma {}".format(
    Normal.has_rsample, Categorical.has_rsample, Gamma.has_rsample))

# A categorical actor with an entropy bonus
logits_net = np_init(nn.Linear(4, 3))
actions = torch.from_numpy(rng.integers(0, 3, 8))
advantages = torch.from_numpy(rng.standard_normal(8).astype(np.float32))
opt = torch.optim.SGD(logits_net.parameters(), lr=0.5)
for step in range(3):
    pi = Categorical(logits=logits_net(obs))
    loss = -(pi.log_prob(actions) * advantages).mean() - 0.01 * pi.entropy().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print("categorical step {}: loss {:.4f} entropy {:.4f} probs[0] {}".format(
        step, loss.item(), pi.entropy().mean().item(),
        [round(p, 4) for p in pi.probs[0].tolist()]))

# KL divergences a learner meets, closed form against Monte Carlo on fixed points
p = Normal(torch.tensor([0.0]), torch.tensor([1.0]))
q = Normal(torch.tensor([1.0]), torch.tensor([2.0]))
closed = kl_divergence(p, q).item()
print("KL(N(0,1) || N(1,2)) = {:.5f}  (formula {:.5f})".format(
    closed, math.log(2.0) + (1 + 1) / (2 * 4) - 0.5))
xs = torch.from_numpy(rng.standard_normal(20000).astype(np.float32))
mc = (p.log_prob(xs) - q.log_prob(xs)).mean().item()
print("Monte Carlo estimate within 0.05:", abs(mc - closed) < 0.05)
print("KL(Beta(2,3) || Beta(3,3)) = {:.5f}".format(
    kl_divergence(Beta(torch.tensor(2.0), torch.tensor(3.0)),
                  Beta(torch.tensor(3.0), torch.tensor(3.0))).item()))
print("KL(Dir || Dir) = {:.5f}".format(
    kl_divergence(Dirichlet(torch.tensor([1.0, 2.0, 3.0])),
                  Dirichlet(torch.tensor([2.0, 2.0, 2.0]))).item()))
print("KL(Cat || Uniform cat) = {:.5f}".format(
    kl_divergence(Categorical(probs=torch.tensor([0.7, 0.2, 0.1])),
                  Categorical(probs=torch.ones(3) / 3)).item()))

# Moments and densities
for d in [Gamma(torch.tensor(2.0), torch.tensor(3.0)), Beta(torch.tensor(2.0), torch.tensor(5.0)),
          LogNormal(torch.tensor(0.0), torch.tensor(0.5)),
          Uniform(torch.tensor(-1.0), torch.tensor(3.0))]:
    print("{:<10} mean {:.4f} variance {:.4f} entropy {:.4f} log_prob(0.5) {:.4f}".format(
        type(d).__name__, d.mean.item(), d.variance.item(), d.entropy().item(),
        d.log_prob(torch.tensor(0.5)).item()))

# Transforms: LogNormal is exp(Normal); an affine map of a Normal is a Normal
log_normal = TransformedDistribution(Normal(0.0, 0.5), [ExpTransform()])
print("exp(Normal) log_prob(1.5) {:.5f} LogNormal {:.5f}".format(
    log_normal.log_prob(torch.tensor(1.5)).item(),
    LogNormal(0.0, 0.5).log_prob(torch.tensor(1.5)).item()))
shifted = TransformedDistribution(Normal(0.0, 1.0), [AffineTransform(loc=2.0, scale=3.0)])
print("affine log_prob(1.0) {:.5f} Normal(2, 3) {:.5f}".format(
    shifted.log_prob(torch.tensor(1.0)).item(),
    Normal(2.0, 3.0).log_prob(torch.tensor(1.0)).item()))

# Constraints and biject_to: optimise an unconstrained parameter for a positive scale
print("support of Gamma:", Gamma(1.0, 1.0).support)
print("support of Beta:", Beta(1.0, 1.0).support)
to_positive = biject_to(constraints.positive)
raw = torch.zeros(1, requires_grad=True)
data = torch.from_numpy(rng.normal(0.0, 2.5, 500).astype(np.float32))
opt = torch.optim.Adam([raw], lr=0.1)
for step in range(100):
    scale = to_positive(raw)
    nll = -Normal(0.0, scale).log_prob(data).mean()
    opt.zero_grad()
    nll.backward()
    opt.step()
print("fitted scale {:.3f} (sample std {:.3f})".format(to_positive(raw).item(),
                                                       data.pow(2).mean().sqrt().item()))
print("validate_args:", end=" ")
try:
    Categorical(probs=torch.tensor([0.5, -0.1, 0.6]))
except ValueError as e:
    print("ValueError:", str(e).splitlines()[0][:60])
