"""A mixture density network (Bishop, 1994) built on torch.distributions, as in the popular
pytorch-mdn repositories: the inverse sine problem, where one input has several valid outputs.
The network predicts mixture weights, means and scales; the likelihood is a
``MixtureSameFamily(Categorical, Independent(Normal))`` and training minimises its negative
log-likelihood. Afterwards the program samples, reads the mixture's mean and variance,
compares ``rsample`` with the reparametrisation by hand and checks a KL divergence and entropy.
Data and initial weights come from NumPy, in float64."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (Categorical, Independent, MixtureSameFamily, Normal,
                                 kl_divergence)

# float64 throughout: the likelihood surface has plateaus where float32 rounding would decide
# which component wins
torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(3)
# inverse problem: x = y + 0.3 sin(2 pi y) + noise, predict y from x (multi-valued)
y_np = rng.uniform(0.0, 1.0, (400, 1))
x_np = y_np + 0.3 * np.sin(2 * np.pi * y_np) + rng.uniform(-0.1, 0.1, (400, 1))
x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
print("x range", round(x.min().item(), 4), round(x.max().item(), 4))


class MDN(nn.Module):
    def __init__(self, in_dim=1, out_dim=1, hidden=24, n_components=3):
        super().__init__()
        self.k, self.d = n_components, out_dim
        self.body = nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh())
        self.pi = nn.Linear(hidden, n_components)
        self.mu = nn.Linear(hidden, n_components * out_dim)
        self.log_sigma = nn.Linear(hidden, n_components * out_dim)

    def forward(self, inputs):
        h = self.body(inputs)
        logits = self.pi(h)
        mu = self.mu(h).view(-1, self.k, self.d)
        sigma = F.softplus(self.log_sigma(h)).view(-1, self.k, self.d) + 1e-3
        mix = Categorical(logits=logits)
        comp = Independent(Normal(mu, sigma), 1)
        return MixtureSameFamily(mix, comp)


model = MDN()
init = np.random.default_rng(11)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(0.5 * init.standard_normal(tuple(p.shape))))

dist = model(x[:5])
print("dtype", dist.mean.dtype, "batch_shape", tuple(dist.batch_shape),
      "event_shape", tuple(dist.event_shape))
print("component batch/event", tuple(dist.component_distribution.batch_shape),
      tuple(dist.component_distribution.event_shape))
print("initial nll", round(-dist.log_prob(y[:5]).mean().item(), 4))

optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
for epoch in range(401):
    optimizer.zero_grad()
    nll = -model(x).log_prob(y).mean()
    nll.backward()
    optimizer.step()
    if epoch % 80 == 0:
        print(f"epoch {epoch:3d} nll {nll.item():.4f}")

model.eval()
with torch.no_grad():
    queries = torch.tensor([[0.2], [0.5], [0.8]])
    d = model(queries)
    weights = d.mixture_distribution.probs
    means = d.component_distribution.base_dist.loc.squeeze(-1)
    for q, w, m in zip(queries.squeeze(1).tolist(), weights.tolist(), means.tolist()):
        order = sorted(range(3), key=lambda j: m[j])
        print(f"x={q:.1f} weights", [round(w[j], 3) for j in order],
              "means", [round(m[j], 3) for j in order])
    print("mixture mean", [round(v, 3) for v in d.mean.squeeze(-1).tolist()])
    print("mixture variance", [round(v, 3) for v in d.variance.squeeze(-1).tolist()])

    torch.manual_seed(0)
    samples = d.sample((2000,))
    print("sample shape", tuple(samples.shape),
          "sample means", [round(v, 2) for v in samples.mean(0).squeeze(-1).tolist()])

# rsample: gradients flow through the Normal's samples (the reparametrisation trick)
loc = torch.tensor([0.5, -1.0], requires_grad=True)
scale = torch.tensor([1.0, 2.0], requires_grad=True)
normal = Normal(loc, scale)
torch.manual_seed(1)
z = normal.rsample((4,))
torch.manual_seed(1)
eps = torch.randn(4, 2)
print("rsample == loc + scale * eps:", torch.allclose(z, loc + scale * eps))
(z ** 2).mean().backward()
print("grad loc", [round(v, 4) for v in loc.grad.tolist()],
      "grad scale", [round(v, 4) for v in scale.grad.tolist()])
print("has_rsample", Normal.has_rsample, MixtureSameFamily.has_rsample,
      Independent(normal, 1).has_rsample)

# KL between independent Normals, and the entropy of the components
p = Independent(Normal(torch.zeros(3), torch.ones(3)), 1)
q = Independent(Normal(torch.tensor([0.5, 0.0, -0.5]), torch.tensor([1.0, 2.0, 0.5])), 1)
print("KL(p||q)", round(kl_divergence(p, q).item(), 4), "entropy q", round(q.entropy().item(), 4))
mix_lp = MixtureSameFamily(Categorical(probs=torch.tensor([0.3, 0.7])),
                           Normal(torch.tensor([-1.0, 1.0]), torch.tensor([0.5, 0.5])))
pts = torch.linspace(-2, 2, 5)
print("1-D mixture log_prob", [round(v, 4) for v in mix_lp.log_prob(pts).tolist()])
print("1-D mixture cdf", [round(v, 4) for v in mix_lp.cdf(pts).tolist()])
print(mix_lp)
try:
    MixtureSameFamily(Categorical(probs=torch.ones(3) / 3), Normal(torch.zeros(2), torch.ones(2)))
except ValueError as err:
    print("ValueError:", str(err)[:60])
