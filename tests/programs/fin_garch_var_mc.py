"""Quant-finance recipes in torch: log returns with torch.diff, rolling statistics with
Tensor.unfold, a GARCH(1,1) negative log-likelihood fitted with LBFGS (strong-Wolfe line search)
under softplus/sigmoid constraints, historical and filtered value at risk with torch.quantile,
and a Monte-Carlo European option pricer with antithetic variates under a seeded Generator,
checked against Black-Scholes via torch.special.ndtr."""
import math

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(21)

# simulate a GARCH(1,1) price path with NumPy (omega, alpha, beta) = (2e-6, 0.08, 0.9)
T = 160
omega_true, alpha_true, beta_true = 2e-6, 0.08, 0.90
r_np = np.empty(T)
s2 = omega_true / (1 - alpha_true - beta_true)
for t in range(T):
    r_np[t] = math.sqrt(s2) * rng.standard_t(df=8) * math.sqrt(6 / 8)
    s2 = omega_true + alpha_true * r_np[t] ** 2 + beta_true * s2
prices = torch.from_numpy(100 * np.exp(np.cumsum(np.concatenate([[0.0], r_np]))))

log_ret = torch.diff(prices.log())
simple_ret = prices.diff() / prices[:-1]
print("returns:", log_ret.shape, f"mean {log_ret.mean().item() * 1e4:.3f}bp "
      f"std {log_ret.std().item() * 100:.4f}%")
print("log vs simple max gap:", f"{(log_ret - simple_ret.log1p()).abs().max().item():.1e}")

window = 20
rolling = log_ret.unfold(0, window, 1)  # (T - window + 1, window) strided view
roll_vol = rolling.std(dim=1, unbiased=True) * math.sqrt(252)
roll_mean = rolling.mean(-1)
print("rolling windows:", tuple(rolling.shape), "is view:", rolling._base is log_ret,
      "strides:", rolling.stride())
print("ann. vol percentiles:", torch.quantile(roll_vol, torch.tensor([0.1, 0.5, 0.9]))
      .mul(100).round(decimals=2))
ewm = torch.zeros_like(log_ret)
lam = 0.94
ewm[0] = log_ret[:window].var()
for t in range(1, T):
    ewm[t] = lam * ewm[t - 1] + (1 - lam) * log_ret[t - 1] ** 2
print(f"RiskMetrics last vol {ewm[-1].sqrt().item() * 100:.4f}%, "
      f"rolling-mean z max {(roll_mean / rolling.std(-1)).abs().max().item():.3f}")


class Garch11(torch.nn.Module):
    """omega = softplus(w) * 1e-6, persistence = sigmoid(p) split by sigmoid(a)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(0.0))
        self.p = torch.nn.Parameter(torch.tensor(1.0))
        self.a = torch.nn.Parameter(torch.tensor(-1.0))

    def params(self):
        persistence = torch.sigmoid(self.p)
        alpha = persistence * torch.sigmoid(self.a)
        return F.softplus(self.w) * 1e-6, alpha, persistence - alpha

    def variances(self, r):
        omega, alpha, beta = self.params()
        sig2 = [r.var()]
        for t in range(1, len(r)):
            sig2.append(omega + alpha * r[t - 1] ** 2 + beta * sig2[-1])
        return torch.stack(sig2)

    def nll(self, r):
        s2 = self.variances(r)
        return 0.5 * (torch.log(2 * math.pi * s2) + r ** 2 / s2).mean()


garch = Garch11()
opt = torch.optim.LBFGS(garch.parameters(), lr=1, max_iter=10, line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    loss = garch.nll(log_ret)
    loss.backward()
    return loss


for outer in range(2):
    loss = opt.step(closure)
    omega, alpha, beta = (v.item() for v in garch.params())
    print(f"lbfgs {outer}: nll {loss.item():.5f} omega {omega:.3e} "
          f"alpha {alpha:.3f} beta {beta:.3f}")
state = opt.state[opt._params[0]]
print("lbfgs func evals:", state["func_evals"], "n_iter:", state["n_iter"])

with torch.no_grad():
    s2 = garch.variances(log_ret)
    omega, alpha, beta = garch.params()
    next_var = omega + alpha * log_ret[-1] ** 2 + beta * s2[-1]
    std_resid = log_ret / s2.sqrt()
    for level in (0.95, 0.99):
        hist_var = -torch.quantile(log_ret, 1 - level)
        tail = log_ret[log_ret <= -hist_var]
        filtered = -next_var.sqrt() * torch.quantile(std_resid, 1 - level,
                                                     interpolation="lower")
        print(f"VaR{level:.0%}: hist {hist_var.item() * 100:.3f}% "
              f"ES {-tail.mean().item() * 100:.3f}% filtered {filtered.item() * 100:.3f}%")
    modes = ("linear", "lower", "higher", "midpoint", "nearest")
    print("quantile interps:", [round(torch.quantile(log_ret, 0.05, interpolation=m).item()
                                      * 100, 4) for m in modes])
    print("nanquantile:", torch.nanquantile(torch.tensor([1.0, float("nan"), 3.0, 2.0]), 0.5))

# Monte-Carlo European call with antithetic variates vs Black-Scholes
S0, K, rate, sigma, tau = 100.0, 105.0, 0.03, 0.2, 0.5
gen = torch.Generator().manual_seed(1234)
z = torch.randn(20000, generator=gen)
z = torch.cat([z, -z])


def terminal(zs):
    return S0 * torch.exp((rate - 0.5 * sigma ** 2) * tau + sigma * math.sqrt(tau) * zs)


payoff = (terminal(z) - K).clamp(min=0) * math.exp(-rate * tau)
plain, anti = payoff[:20000], 0.5 * (payoff[:20000] + payoff[20000:])
d1 = (math.log(S0 / K) + (rate + 0.5 * sigma ** 2) * tau) / (sigma * math.sqrt(tau))
d1 = torch.tensor(d1)
d2 = d1 - sigma * math.sqrt(tau)
bs = S0 * torch.special.ndtr(d1) - K * math.exp(-rate * tau) * torch.special.ndtr(d2)
print(f"BS {bs.item():.4f} MC {plain.mean().item():.4f}±{plain.std().item() / math.sqrt(20000):.4f}"
      f" antithetic {anti.mean().item():.4f}±{anti.std().item() / math.sqrt(20000):.4f}")
# pathwise delta by autograd through the simulator
s0 = torch.tensor(S0, requires_grad=True)
st = s0 * torch.exp((rate - 0.5 * sigma ** 2) * tau + sigma * math.sqrt(tau) * z)
price = (F.relu(st - K) * math.exp(-rate * tau)).mean()
(delta,) = torch.autograd.grad(price, s0)
print(f"delta MC {delta.item():.4f} BS {torch.special.ndtr(d1).item():.4f}")
try:
    torch.quantile(log_ret, 1.5)
except RuntimeError as e:
    print("RuntimeError:", e)
