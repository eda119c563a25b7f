"""Derivatives and risk tooling in torch: Black-Scholes prices and Greeks by autograd (first and
second order), implied volatility by a batched Newton solve wrapped in a custom
autograd.Function whose backward uses the implicit-function theorem, a PCA factor model with
torch.linalg.eigh and lstsq, risk-parity weights found with torch.optim.Rprop, an Asian option
by Monte Carlo with a control variate under a seeded Generator, and return histograms."""
import math

import numpy as np
import torch
from torch.distributions import Normal

torch.set_default_dtype(torch.float64)
N01 = Normal(0.0, 1.0)


def bs_call(spot, strike, tau, rate, vol):
    sd = vol * tau.sqrt()
    d1 = (torch.log(spot / strike) + (rate + 0.5 * vol ** 2) * tau) / sd
    return spot * N01.cdf(d1) - strike * torch.exp(-rate * tau) * N01.cdf(d1 - sd)


spot = torch.tensor(100.0, requires_grad=True)
vol = torch.tensor(0.25, requires_grad=True)
strikes = torch.tensor([80.0, 90.0, 100.0, 110.0, 120.0])
tau, rate = torch.tensor(0.75), 0.02
prices = bs_call(spot, strikes, tau, rate, vol)
delta, vega = torch.autograd.grad(prices.sum(), (spot, vol), create_graph=True)
(gamma,) = torch.autograd.grad(delta, spot)
print("prices:", prices.detach().round(decimals=3))
print(f"portfolio delta {delta.item():.4f} vega {vega.item():.3f} gamma {gamma.item():.5f}")
per_strike = torch.autograd.functional.jacobian(
    lambda s: bs_call(s, strikes, tau, rate, torch.tensor(0.25)), torch.tensor(100.0))
print("per-strike deltas:", per_strike.round(decimals=4))


class ImpliedVol(torch.autograd.Function):
    """Newton iterations forward; backward by d(vol)/d(price) = 1 / vega."""

    @staticmethod
    def forward(ctx, price, spot, strike, tau):
        vol = torch.full_like(price, 0.3)
        for _ in range(30):
            with torch.enable_grad():
                v = vol.detach().requires_grad_(True)
                model = bs_call(spot, strike, tau, rate, v)
                (vega,) = torch.autograd.grad(model.sum(), v)
            step = (model.detach() - price) / vega
            vol = (v.detach() - step).clamp(1e-4, 5.0)
            if step.abs().max() < 1e-12:
                break
        ctx.save_for_backward(vega)
        return vol

    @staticmethod
    def backward(ctx, grad_vol):
        (vega,) = ctx.saved_tensors
        return grad_vol / vega, None, None, None


smile = torch.tensor([0.31, 0.27, 0.25, 0.24, 0.245])
market = bs_call(torch.tensor(100.0), strikes, tau, rate, smile).requires_grad_(True)
iv = ImpliedVol.apply(market, torch.tensor(100.0), strikes, tau)
print("implied vols:", iv.detach().round(decimals=5), "recovered:", torch.allclose(iv, smile))
iv.sum().backward()
print("d iv / d price:", market.grad.round(decimals=4))
print("gradcheck:", torch.autograd.gradcheck(
    lambda p: ImpliedVol.apply(p, torch.tensor(100.0), strikes[:2], tau),
    (market.detach()[:2].clone().requires_grad_(True),), eps=1e-6, atol=1e-4))

# PCA factor model on simulated returns, factor loadings by least squares
rng = np.random.default_rng(8)
T, A = 250, 6
f = rng.normal(scale=0.01, size=(T, 2))
load = rng.normal(size=(2, A))
R = torch.from_numpy(f @ load + rng.normal(scale=0.004, size=(T, A)))
Rc = R - R.mean(0, keepdim=True)
cov = Rc.T @ Rc / (T - 1)
evals, evecs = torch.linalg.eigh(cov)
explained = evals.flip(0) / evals.sum()
print("explained by PCs:", explained.round(decimals=3))
factors = Rc @ evecs[:, -2:]
sol = torch.linalg.lstsq(factors, Rc)
resid = Rc - factors @ sol.solution
print(f"factor model R^2 {1 - resid.pow(2).sum().item() / Rc.pow(2).sum().item():.4f}, "
      f"rank {sol.rank}")
print("pinv matches lstsq:", torch.allclose(torch.linalg.pinv(factors) @ Rc, sol.solution))

# risk parity: equalise risk contributions w_i (Sigma w)_i
logits = torch.zeros(A, requires_grad=True)
opt = torch.optim.Rprop([logits], lr=0.05)
for step in range(80):
    opt.zero_grad()
    w = logits.softmax(0)
    contrib = w * (cov @ w)
    loss = (contrib / contrib.sum() - 1.0 / A).pow(2).sum()
    loss.backward()
    opt.step()
with torch.no_grad():
    w = logits.softmax(0)
    rc = w * (cov @ w) / (w @ cov @ w)
    print("risk-parity w:", w.round(decimals=3))
    print("risk contrib :", rc.round(decimals=3), f"loss {loss.item():.2e}")
    inv_vol = 1 / cov.diagonal().sqrt()
    print("inverse-vol w:", (inv_vol / inv_vol.sum()).round(decimals=3))

# arithmetic Asian call with a geometric-average control variate
gen = torch.Generator().manual_seed(99)
S0, K, sigma, steps, paths, T_ = 100.0, 100.0, 0.3, 12, 4000, 1.0
dt = T_ / steps
z = torch.randn(paths, steps, generator=gen)
log_paths = math.log(S0) + torch.cumsum((rate - 0.5 * sigma ** 2) * dt
                                        + sigma * math.sqrt(dt) * z, dim=1)
disc = math.exp(-rate * T_)
arith = disc * (log_paths.exp().mean(1) - K).clamp_min(0)
geo = disc * (log_paths.mean(1).exp() - K).clamp_min(0)
sig_g = sigma * math.sqrt((steps + 1) * (2 * steps + 1) / (6 * steps ** 2))
mu_g = (rate - 0.5 * sigma ** 2) * (steps + 1) / (2 * steps) + 0.5 * sig_g ** 2
geo_exact = bs_call(torch.tensor(S0), torch.tensor(K), torch.tensor(T_), mu_g, sig_g) \
    * math.exp((mu_g - rate) * T_)
cov_ag = torch.cov(torch.stack([arith, geo]))
beta = cov_ag[0, 1] / cov_ag[1, 1]
cv = arith - beta * (geo - geo_exact)
print(f"asian plain {arith.mean().item():.4f}±{arith.std().item() / math.sqrt(paths):.4f} "
      f"control-variate {cv.mean().item():.4f}±{cv.std().item() / math.sqrt(paths):.4f} "
      f"beta {beta.item():.3f}")
daily = torch.diff(log_paths[:, :6], dim=1, prepend=torch.full((paths, 1), math.log(S0)))
print("histc:", torch.histc(daily, bins=6, min=-0.3, max=0.3).int())
counts, edges = torch.histogram(daily.flatten(), bins=4)
print("histogram:", counts.int(), edges.round(decimals=3))
try:
    bs_call(spot, strikes[:2], tau, rate, torch.tensor([0.2, 0.3, 0.4]))
except RuntimeError as e:
    print("RuntimeError:", str(e)[:90])
