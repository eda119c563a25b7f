"""Bayesian optimisation of the Branin function with a hand-written GP, the way BoTorch-free
tutorials and research repositories write the loop in plain torch: inputs scaled to the unit
square, outputs standardised, a Matern-5/2 ARD kernel whose length-scales, output-scale and
noise are softplus-constrained raw parameters fitted by Adam on the exact marginal likelihood,
a Cholesky factor from ``torch.linalg.cholesky_ex`` retried with growing jitter, solves through
``torch.cholesky_solve`` and ``cholesky_inverse``, Expected Improvement (and its log) from
``torch.distributions.Normal``'s ``cdf``/``log_prob``, and multi-start acquisition optimisation:
raw candidates drawn from a scrambled ``torch.quasirandom.SobolEngine``, scored under
``torch.no_grad``, the best few refined by Adam with projection back into the box; per-candidate
EI gradients from ``torch.vmap(torch.func.grad(...))``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal
from torch.quasirandom import SobolEngine

torch.set_default_dtype(torch.float64)
torch.manual_seed(0)


def branin(x):
    """Branin on [-5, 10] x [0, 15], evaluated from unit-square inputs (minimum 0.397887)."""
    x1 = 15.0 * x[..., 0] - 5.0
    x2 = 15.0 * x[..., 1]
    b, c = 5.1 / (4 * math.pi ** 2), 5.0 / math.pi
    t = 1.0 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6.0) ** 2 + 10.0 * (1 - t) * torch.cos(x1) + 10.0


class MaternGP(nn.Module):
    """Exact GP with a Matern-5/2 ARD kernel and constant mean."""

    def __init__(self, dim):
        super().__init__()
        self.raw_lengthscale = nn.Parameter(torch.full((dim,), -0.5))
        self.raw_outputscale = nn.Parameter(torch.tensor(0.5))
        self.raw_noise = nn.Parameter(torch.tensor(-4.0))
        self.mean_const = nn.Parameter(torch.zeros(()))

    @property
    def lengthscale(self):
        return F.softplus(self.raw_lengthscale) + 1e-3

    @property
    def outputscale(self):
        return F.softplus(self.raw_outputscale)

    @property
    def noise(self):
        return F.softplus(self.raw_noise) + 1e-6

    def kernel(self, a, b):
        diff = (a.unsqueeze(-2) - b.unsqueeze(-3)) / self.lengthscale
        r = diff.pow(2).sum(-1).clamp_min(1e-30).sqrt()
        s5 = math.sqrt(5.0) * r
        return self.outputscale * (1.0 + s5 + s5 ** 2 / 3.0) * torch.exp(-s5)

    def factor(self, x):
        """Cholesky factor of K + noise I, adding jitter until the factorisation succeeds."""
        K = self.kernel(x, x) + self.noise * torch.eye(x.shape[0])
        jitter = 0.0
        for attempt in range(4):
            L, info = torch.linalg.cholesky_ex(K + jitter * torch.eye(x.shape[0]))
            if int(info) == 0:
                return L, attempt
            jitter = 1e-8 * 10 ** (2 * attempt)
        raise RuntimeError("K is not positive definite")

    def nll(self, x, y):
        L, _ = self.factor(x)
        resid = (y - self.mean_const).unsqueeze(-1)
        alpha = torch.cholesky_solve(resid, L)
        n = x.shape[0]
        quad = 0.5 * (resid * alpha).sum()
        logdet = torch.log(torch.diagonal(L)).sum()
        return (quad + logdet + 0.5 * n * math.log(2 * math.pi)) / n

    def posterior(self, x, y, xs):
        L, _ = self.factor(x)
        K_inv = torch.cholesky_inverse(L)
        ks = self.kernel(xs, x)
        mean = self.mean_const + ks @ (K_inv @ (y - self.mean_const))
        var = self.outputscale - (ks @ K_inv * ks).sum(-1)
        return mean, var.clamp_min(1e-12)


def fit(gp, x, y, steps=80):
    opt = torch.optim.Adam(gp.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        loss = gp.nll(x, y)
        loss.backward()
        opt.step()
    return loss.item()


standard_normal = Normal(torch.tensor(0.0), torch.tensor(1.0))


def expected_improvement(gp, x, y, xs, best):
    """EI for minimisation of the standardised objective."""
    mean, var = gp.posterior(x, y, xs)
    sigma = var.sqrt()
    u = (best - mean) / sigma
    return sigma * (standard_normal.log_prob(u).exp() + u * standard_normal.cdf(u))


sobol = SobolEngine(dimension=2, scramble=True, seed=7)
X = sobol.draw(6)
Y = branin(X)
print("initial design", [[round(v, 4) for v in row] for row in X.tolist()])
print("initial values", [round(v, 3) for v in Y.tolist()])

for it in range(6):
    y_mean, y_std = Y.mean(), Y.std()
    y_stdzd = (Y - y_mean) / y_std
    gp = MaternGP(2)
    final_nll = fit(gp, X, y_stdzd)
    _, retries = gp.factor(X)
    best = y_stdzd.min()

    # multi-start: score many quasi-random points without a graph, refine the best ones
    raw = sobol.draw(128)
    with torch.no_grad():
        raw_ei = expected_improvement(gp, X, y_stdzd, raw, best)
    starts = raw[raw_ei.topk(4).indices].clone().requires_grad_(True)
    acq_opt = torch.optim.Adam([starts], lr=0.02)
    for _ in range(40):
        acq_opt.zero_grad()
        ei = expected_improvement(gp, X, y_stdzd, starts, best)
        (-ei.clamp_min(1e-40).log()).sum().backward()
        acq_opt.step()
        with torch.no_grad():
            starts.clamp_(0.0, 1.0)
    with torch.no_grad():
        final_ei = expected_improvement(gp, X, y_stdzd, starts, best)
    pick = final_ei.argmax()
    x_next = starts[pick].detach().unsqueeze(0)
    y_next = branin(x_next)
    X = torch.cat([X, x_next])
    Y = torch.cat([Y, y_next])
    print(f"iter {it}: nll {final_nll:.3f} retries {retries} "
          f"ls {[round(v, 2) for v in gp.lengthscale.tolist()]} "
          f"noise {gp.noise.item():.1e} log_ei {final_ei[pick].log().item():.2f} "
          f"x {[round(v, 3) for v in x_next[0].tolist()]} y {y_next.item():.3f} "
          f"best {Y.min().item():.4f}")

print("regret", round(Y.min().item() - 0.397887, 3))

# per-candidate EI gradients with torch.func: grad of one point's EI, vmapped over candidates
# (on the data the last model was fitted to: all but the final evaluation)
cands = sobol.draw(5)
X_fit = X[:-1]


def single_ei(x):
    return expected_improvement(gp, X_fit, y_stdzd, x.unsqueeze(0), best).squeeze(0)


with torch.no_grad():
    per_value = torch.vmap(single_ei)(cands)
    print("vmap(EI) matches the batched EI:",
          torch.allclose(per_value, expected_improvement(gp, X_fit, y_stdzd, cands, best)))
per_point = torch.vmap(torch.func.grad(single_ei))(cands)
batch = cands.clone().requires_grad_(True)
expected_improvement(gp, X_fit, y_stdzd, batch, best).sum().backward()
print("vmap(grad(EI)) matches autograd:", torch.allclose(per_point, batch.grad),
      "norms", [round(v, 4) for v in per_point.norm(dim=1).tolist()])

# a duplicated design point with the noise pinned near zero: the kernel matrix alone is
# singular (pushed just below, cholesky_ex reports where it fails); the 1e-6 noise floor saves it
with torch.no_grad():
    gp.raw_noise.fill_(-40.0)
X_dup = torch.cat([X, X[:1]])
K_dup = gp.kernel(X_dup, X_dup)
_, info = torch.linalg.cholesky_ex(K_dup - 1e-9 * torch.eye(len(X_dup)))
print("info without jitter", info.item())
try:
    torch.linalg.cholesky_ex(K_dup - 1e-9 * torch.eye(len(X_dup)), check_errors=True)
except torch.linalg.LinAlgError as exc:
    print("check_errors:", exc)
L_dup, retries = gp.factor(X_dup)
min_diag = torch.diagonal(L_dup).min().item()
print("retries with the noise floor", retries, "min diag", f"{min_diag:.2e}")
try:
    torch.cholesky_inverse(L_dup * (torch.arange(len(X_dup)) != len(X_dup) - 1))
except torch.linalg.LinAlgError as exc:
    print("cholesky_inverse:", exc)
try:
    sobol.draw_base2(2)
except ValueError as exc:
    print("draw_base2 after", sobol.num_generated, "points:", type(exc).__name__)
sobol.reset()
print("draw_base2(2) after reset", [round(v, 4) for v in sobol.draw_base2(2).flatten().tolist()])
sobol.fast_forward(3)
print("fast_forward(3) next", [round(v, 4) for v in sobol.draw(1)[0].tolist()],
      "generated", sobol.num_generated)
