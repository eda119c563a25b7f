"""Classical statistics with torch.special: maximum-likelihood fits and tests.

Follows the way statistics code written on PyTorch (Pyro's and GPyTorch's helpers, the
"maximum likelihood with autograd" notebooks) uses ``torch.special``: Minka's fixed-point
Dirichlet fit with ``digamma``/``polygamma``, a Gamma shape fit by Newton's method, a
beta-binomial likelihood from ``gammaln``, probit regression with ``ndtr``/``log_ndtr``
trained by L-BFGS, a von Mises concentration estimate with ``i0e``/``i1e``, normal quantiles
with ``ndtri``/``erfinv``, and entropy terms with ``xlogy``/``xlog1py``/``entr``.
"""

import math

import numpy as np
import torch
import torch.special as sp

torch.manual_seed(0)
# the beta-binomial data come from NumPy, as in the notebooks that simulate their data first
rng = np.random.default_rng(0)


def show(name, t, digits=4):
    vals = [round(float(v), digits) for v in t.reshape(-1)]
    print(f"{name}: {vals}")


# 1. Pointwise identities of the special functions on a small grid.
x = torch.linspace(0.25, 4.0, 6, dtype=torch.float64)
show("gammaln", sp.gammaln(x))
show("digamma", sp.digamma(x))
show("psi==digamma", (sp.psi(x) - torch.digamma(x)).abs())
show("trigamma", sp.polygamma(1, x))
show("polygamma2", torch.polygamma(2, x))
show("multigammaln", sp.multigammaln(x + 2.0, 3))
show("zeta", sp.zeta(x + 1.5, torch.tensor(1.0, dtype=torch.float64)))
show("erf", sp.erf(x - 2.0))
show("erfc", sp.erfc(x - 2.0))
show("erfcx", sp.erfcx(x))
show("erfinv", sp.erfinv(torch.linspace(-0.9, 0.9, 5, dtype=torch.float64)))
show("ndtr", sp.ndtr(x - 2.0))
show("log_ndtr", sp.log_ndtr(torch.tensor([-30.0, -5.0, 0.0, 5.0], dtype=torch.float64)))
show("ndtri", sp.ndtri(torch.tensor([0.025, 0.5, 0.975], dtype=torch.float64)))
show("i0", sp.i0(x))
show("i0e", sp.i0e(x))
show("i1", sp.i1(x))
show("i1e", sp.i1e(x))
show("expit", sp.expit(x - 2.0))
show("logit", sp.logit(torch.tensor([0.0, 0.3, 1.0], dtype=torch.float64), eps=1e-6))
show("sinc", sp.sinc(x - 2.0))
show("expm1/log1p", sp.log1p(sp.expm1(x)) - x)
show("exp2", sp.exp2(x))
show("entr", sp.entr(torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0])))
show("xlogy", sp.xlogy(torch.tensor([0.0, 0.0, 2.0]), torch.tensor([0.0, 3.0, 3.0])))
show("xlog1py", sp.xlog1py(torch.tensor([0.0, 1.5]), torch.tensor([-1.0, 0.5])))
show("bessel_j0", sp.bessel_j0(x))
show("bessel_j1", sp.bessel_j1(x))
show("logsumexp", sp.logsumexp(torch.stack([x, -x]), dim=0))
show("softmax", sp.softmax(x, dim=0))
show("log_softmax", sp.log_softmax(x, dim=0))
show("round", sp.round(x * 1.37))

# gradients of the special functions flow through autograd
z = torch.tensor([0.7, 1.9, 3.2], dtype=torch.float64, requires_grad=True)
(sp.gammaln(z).sum() + sp.digamma(z).sum() + sp.erfinv(z / 4).sum()
 + sp.i0e(z).sum() + sp.log_ndtr(-z).sum() + sp.xlogy(z, z + 1).sum()).backward()
show("special grads", z.grad)

# 2. Dirichlet maximum likelihood by Minka's fixed point iteration.
true_alpha = torch.tensor([2.0, 5.0, 1.5], dtype=torch.float64)
p = torch.distributions.Dirichlet(true_alpha).sample((2000,))
mean_log_p = p.log().mean(0)


def inv_digamma(y, iters=5):
    # Minka's initial guess followed by Newton steps on digamma(x) = y
    x = torch.where(y >= -2.22, torch.exp(y) + 0.5, -1.0 / (y + 0.5772156649))
    for _ in range(iters):
        x = x - (sp.digamma(x) - y) / sp.polygamma(1, x)
    return x


alpha = torch.ones(3, dtype=torch.float64)
for it in range(30):
    alpha = inv_digamma(sp.digamma(alpha.sum()) + mean_log_p)
show("dirichlet alpha", alpha, 2)
loglik = (torch.lgamma(alpha.sum()) - torch.lgamma(alpha).sum()
          + ((alpha - 1) * mean_log_p).sum())
print("dirichlet mean loglik:", round(float(loglik), 3))

# 3. Gamma shape by Newton's method on log(k) - digamma(k) = log(mean) - mean(log).
g = torch.distributions.Gamma(torch.tensor(3.0), torch.tensor(2.0)).sample((3000,)).double()
s = g.mean().log() - g.log().mean()
k = (3 - s + torch.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
for _ in range(6):
    k = k - (k.log() - sp.digamma(k) - s) / (1 / k - sp.polygamma(1, k))
print("gamma shape:", round(float(k), 3), "rate:", round(float(k / g.mean()), 3))

# 4. Beta-binomial log likelihood written with gammaln, fitted with Adam.
n_trials = 20
successes = torch.from_numpy(
    rng.binomial(n_trials, rng.beta(4.0, 6.0, size=400)).astype(np.float32))


def betaln(a, b):
    return sp.gammaln(a) + sp.gammaln(b) - sp.gammaln(a + b)


log_ab = torch.zeros(2, requires_grad=True)
opt = torch.optim.Adam([log_ab], lr=0.1)
for step in range(150):
    a, b = log_ab.exp()
    log_choose = (sp.gammaln(torch.tensor(n_trials + 1.0)) - sp.gammaln(successes + 1)
                  - sp.gammaln(n_trials - successes + 1))
    ll = log_choose + betaln(successes + a, n_trials - successes + b) - betaln(a, b)
    loss = -ll.mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 50 == 0:
        print(f"beta-binomial step {step}: nll {loss.item():.3f}")
show("beta-binomial a,b", log_ab.detach().exp(), 2)

# 5. Probit regression with log_ndtr, fitted by L-BFGS.
X = torch.randn(300, 3, dtype=torch.float64)
w_true = torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64)
y = (X @ w_true + torch.randn(300, dtype=torch.float64) > 0).double()
w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
lbfgs = torch.optim.LBFGS([w], lr=1, max_iter=50, line_search_fn="strong_wolfe")


def closure():
    lbfgs.zero_grad()
    eta = X @ w
    nll = -(y * sp.log_ndtr(eta) + (1 - y) * sp.log_ndtr(-eta)).mean()
    nll.backward()
    return nll


lbfgs.step(closure)
print("probit nll:", round(closure().item(), 4))
show("probit w", w.detach(), 3)
acc = ((sp.ndtr(X @ w.detach()) > 0.5).double() == y).double().mean()
print("probit accuracy:", round(float(acc), 4))

# 6. von Mises concentration: solve I1(k)/I0(k) = R with the exponentially scaled Bessels.
angles = torch.distributions.VonMises(torch.tensor(0.5), torch.tensor(4.0)).sample((2000,))
R = torch.stack([angles.cos().mean(), angles.sin().mean()]).norm().double()
kappa = R * (2 - R ** 2) / (1 - R ** 2)
for _ in range(10):
    A = sp.i1e(kappa) / sp.i0e(kappa)
    kappa = kappa - (A - R) / (1 - A / kappa - A ** 2)
print("von mises kappa:", round(float(kappa), 3))

# 7. Confidence interval and two-sided p-value from the normal quantile function.
sample = 2.0 + 0.5 * torch.randn(250, dtype=torch.float64)
se = sample.std() / math.sqrt(sample.numel())
zq = sp.ndtri(torch.tensor(0.975, dtype=torch.float64))
print("95% CI:", round(float(sample.mean() - zq * se), 4), round(float(sample.mean() + zq * se), 4))
zstat = (sample.mean() - 1.95) / se
print("p-value:", round(float(2 * sp.ndtr(-zstat.abs())), 4))
print("erfinv quantile agrees:", bool(torch.allclose(
    math.sqrt(2) * sp.erfinv(2 * torch.tensor(0.975, dtype=torch.float64) - 1), zq)))

# 8. Entropy of categorical distributions with entr and KL with xlogy.
probs = torch.softmax(torch.randn(4, 5), dim=-1)
show("entropy", sp.entr(probs).sum(-1))
show("entropy ref", torch.distributions.Categorical(probs=probs).entropy())
q = torch.full((5,), 0.2)
show("kl to uniform", (sp.xlogy(probs, probs) - sp.xlogy(probs, q)).sum(-1))
