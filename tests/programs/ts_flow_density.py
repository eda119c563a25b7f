"""Probabilistic forecasting with user-written distributions and transforms, as in the
pyro/GluonTS-style PyTorch code that extends ``torch.distributions``: a zero-inflated negative
binomial written as a ``Distribution`` subclass (``arg_constraints``, ``support``, ``expand``,
argument validation), a sinh-arcsinh ``Transform`` subclass (domain, codomain, ``sign``,
``log_abs_det_jacobian``, caching) stacked with ``AffineTransform`` into a conditional
normalizing flow for skewed, heavy-tailed residuals, a Gaussian copula for a pair of series
through ``CumulativeDistributionTransform``, and mixture weights from a
``StickBreakingTransform``. Parameters live in unconstrained space via ``biject_to``.
Everything is drawn from ``torch.manual_seed``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (AffineTransform, Binomial, ComposeTransform,
                                 CumulativeDistributionTransform, Distribution,
                                 MultivariateNormal, NegativeBinomial, Normal,
                                 StickBreakingTransform, TransformedDistribution, biject_to,
                                 constraints, kl_divergence)
from torch.distributions.transforms import Transform
from torch.distributions.utils import broadcast_all

torch.manual_seed(7)


class ZeroInflatedNegativeBinomial(Distribution):
    """NB counts with an extra point mass at zero (probability ``gate``)."""
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "logits": constraints.real, "gate": constraints.unit_interval}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, logits, gate, validate_args=None):
        self.total_count, self.logits, self.gate = broadcast_all(total_count, logits, gate)
        self.nb = NegativeBinomial(self.total_count, logits=self.logits, validate_args=False)
        super().__init__(self.gate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ZeroInflatedNegativeBinomial, _instance)
        batch_shape = torch.Size(batch_shape)
        new.total_count = self.total_count.expand(batch_shape)
        new.logits = self.logits.expand(batch_shape)
        new.gate = self.gate.expand(batch_shape)
        new.nb = self.nb.expand(batch_shape)
        super(ZeroInflatedNegativeBinomial, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return (1 - self.gate) * self.nb.mean

    @property
    def variance(self):
        m = self.nb.mean
        return (1 - self.gate) * (self.nb.variance + m ** 2) - self.mean ** 2

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nb_lp = self.nb.log_prob(value)
        zero = torch.log(self.gate + (1 - self.gate) * nb_lp.exp())
        return torch.where(value == 0, zero, torch.log1p(-self.gate) + nb_lp)

    def sample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            counts = self.nb.sample(sample_shape)
            keep = torch.bernoulli((1 - self.gate).expand(shape))
            return counts * keep


# --- 1. zero-inflated counts: fit gate / dispersion / mean of intermittent demand ------------
true = ZeroInflatedNegativeBinomial(torch.tensor(2.0), torch.tensor(1.0), torch.tensor(0.3))
print("zinb", true, "batch", tuple(true.batch_shape), "support", true.support)
demand = true.sample((400,))
print("demand zeros", round((demand == 0).float().mean().item(), 4),
      "mean", round(demand.mean().item(), 4), "model mean", round(true.mean.item(), 4),
      "model var", round(true.variance.item(), 4))
# conversions out of daily visitors at ten expected sales a day: a binomial thinning
visitors = torch.tensor([25.0, 109.0, 200.0, 389.0, 1000.0, 1e5])
conversion = 10.0 / visitors
sales = Binomial(visitors, conversion).sample((4,))
print("binomial sales", sales.tolist(), "mean", round(sales.mean().item(), 4))
to_pos = biject_to(ZeroInflatedNegativeBinomial.arg_constraints["total_count"])
to_unit = biject_to(constraints.unit_interval)
print("bijectors", type(to_pos).__name__, type(to_unit).__name__)
raw = nn.Parameter(torch.zeros(3))
opt = torch.optim.Adam([raw], lr=0.05)
for it in range(150):
    d = ZeroInflatedNegativeBinomial(to_pos(raw[0]), raw[1], to_unit(raw[2]))
    loss = -d.log_prob(demand).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print("fitted r", round(to_pos(raw[0]).item(), 2), "logit", round(raw[1].item(), 2),
      "gate", round(to_unit(raw[2]).item(), 2), "nll", round(loss.item(), 4))
wide = d.expand((2, 3))
print("expand", tuple(wide.batch_shape), tuple(wide.log_prob(torch.zeros(2, 3)).shape),
      type(wide).__name__)
try:
    ZeroInflatedNegativeBinomial(torch.tensor(2.0), torch.tensor(0.0), torch.tensor(1.5),
                                 validate_args=True)
except ValueError as e:
    print("ValueError", str(e).split(" of ")[0])
try:
    true_checked = ZeroInflatedNegativeBinomial(2.0, 0.0, 0.2, validate_args=True)
    true_checked.log_prob(torch.tensor([1.5]))
except ValueError as e:
    print("ValueError", str(e).split("\n")[0][:40])


# --- 2. sinh-arcsinh flow: skewed, heavy-tailed residuals --------------------------------------
class SinhArcsinhTransform(Transform):
    """y = sinh((asinh(x) + skew) * tail): skew shifts mass, tail < 1 fattens the tails."""
    domain = constraints.real
    codomain = constraints.real
    bijective = True

    def __init__(self, skew, tail, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.skew, self.tail = skew, tail

    @property
    def sign(self):
        return 1

    def __eq__(self, other):
        return isinstance(other, SinhArcsinhTransform) and self.skew is other.skew

    def _call(self, x):
        return torch.sinh((torch.asinh(x) + self.skew) * self.tail)

    def _inverse(self, y):
        return torch.sinh(torch.asinh(y) / self.tail - self.skew)

    def log_abs_det_jacobian(self, x, y):
        inner = (torch.asinh(x) + self.skew) * self.tail
        return (torch.log(self.tail) + torch.log(torch.cosh(inner))
                - 0.5 * torch.log1p(x ** 2))


t = torch.arange(300, dtype=torch.float32)
x_feat = torch.stack([torch.sin(2 * math.pi * t / 24), torch.cos(2 * math.pi * t / 24)], 1)
skewed = TransformedDistribution(Normal(0.0, 1.0), [SinhArcsinhTransform(torch.tensor(0.8),
                                                                         torch.tensor(0.7))])
resid = skewed.sample((300,))
y = 2.0 * x_feat[:, 0] + 0.5 + 0.5 * resid
print("residual skew", round(((resid - resid.mean()) ** 3).mean().item()
                             / resid.std().item() ** 3, 3))


class FlowHead(nn.Module):
    """Predict a location/scale and a global sinh-arcsinh shape for y given features."""
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(2, 2)
        self.skew = nn.Parameter(torch.zeros(()))
        self.log_tail = nn.Parameter(torch.zeros(()))

    def forward(self, feats):
        loc, raw_scale = self.net(feats).unbind(-1)
        shape = SinhArcsinhTransform(self.skew, self.log_tail.exp(), cache_size=1)
        flow = ComposeTransform([shape, AffineTransform(loc, F.softplus(raw_scale) + 1e-3)])
        return TransformedDistribution(Normal(torch.zeros_like(loc), 1.0), flow)


head = FlowHead()
opt = torch.optim.Adam(head.parameters(), lr=0.05)
for it in range(200):
    dist = head(x_feat)
    loss = -dist.log_prob(y).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print("flow nll", round(loss.item(), 3), "skew", round(head.skew.item(), 2),
      "tail", round(head.log_tail.exp().item(), 2))
print("flow batch", tuple(dist.batch_shape), "event", tuple(dist.event_shape),
      "sign", dist.transforms[0].parts[0].sign,
      "loc is the network's", dist.transforms[0].parts[1].loc.grad_fn.name())
with torch.no_grad():
    z = torch.randn(5)
    fwd = dist.transforms[0](z[:, None].expand(5, 300))
    back = dist.transforms[0].inv(fwd)
    print("inverse err", round((back - z[:, None]).abs().max().item(), 4),
          "cached", back is not None and dist.transforms[0].inv(fwd) is back)
    shape_t = dist.transforms[0].parts[0]
    num = (shape_t(z + 1e-3) - shape_t(z - 1e-3)) / 2e-3
    print("ladj vs finite diff", round((shape_t.log_abs_det_jacobian(z, shape_t(z))
                                        - num.log()).abs().max().item(), 2))
    draws = dist.rsample((2000,))
    q = torch.quantile(draws[:, :3], torch.tensor([0.1, 0.5, 0.9]), dim=0)
    print("sampled quantiles", [[round(v, 1) for v in row] for row in q.T.tolist()])
    print("coverage 80%", round(((y >= torch.quantile(draws, 0.1, dim=0))
                                 & (y <= torch.quantile(draws, 0.9, dim=0))).float().mean().item(),
                                2))

# --- 3. Gaussian copula for two series via CumulativeDistributionTransform -------------------
corr = torch.tensor([[1.0, 0.7], [0.7, 1.0]])
latent = MultivariateNormal(torch.zeros(2), covariance_matrix=corr)
g = latent.sample((500,))
to_uniform = CumulativeDistributionTransform(Normal(0.0, 1.0))
u = to_uniform(g)
margin_a = torch.distributions.Exponential(torch.tensor(0.5))
margin_b = torch.distributions.Gamma(torch.tensor(3.0), torch.tensor(1.0))
series_a = margin_a.icdf(u[:, 0])
series_b = -torch.log1p(-u[:, 1])  # a second exponential margin by hand
print("copula", type(to_uniform.codomain).__name__, "u range", round(u.min().item(), 3),
      round(u.max().item(), 3), "a mean", round(series_a.mean().item(), 3),
      "b mean", round(series_b.mean().item(), 3))
ladj = to_uniform.log_abs_det_jacobian(g, u)
print("cdf ladj", round(ladj.mean().item(), 4), "gamma cdf", round(margin_b.cdf(
    torch.tensor(3.0)).item(), 4))
rank_corr = torch.corrcoef(torch.stack([u[:, 0].argsort().argsort().float(),
                                        u[:, 1].argsort().argsort().float()]))[0, 1]
print("rank correlation", round(rank_corr.item(), 3), "pearson of latent",
      round(torch.corrcoef(g.T)[0, 1].item(), 3))
u_back = to_uniform.inv(u)
print("copula inverse err", round((u_back - g).abs().max().item(), 3))

# --- 4. mixture weights on the simplex from a stick-breaking transform -----------------------
sb = StickBreakingTransform()
logits = torch.randn(4, 3, requires_grad=True)
w = sb(logits)
print("stick breaking", tuple(w.shape), "sums", [round(v, 4) for v in w.sum(-1).tolist()],
      "domain", sb.domain, "codomain", sb.codomain)
print("ladj", [round(v, 4) for v in sb.log_abs_det_jacobian(logits, w).tolist()],
      "inv err", round((sb.inv(w) - logits).abs().max().item(), 4))
w[:, 0].sum().backward()
print("grad", [round(v, 4) for v in logits.grad[0].tolist()],
      "same as simplex bijector", biject_to(constraints.simplex) == sb,
      "shape", sb.forward_shape((4, 3)), sb.inverse_shape((4, 4)))
print("kl copula vs independent", round(kl_divergence(
    latent, MultivariateNormal(torch.zeros(2), torch.eye(2))).item(), 4))
