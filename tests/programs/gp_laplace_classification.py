"""GP binary classification with the Laplace approximation (Rasmussen & Williams, Alg. 3.1/3.2)
plus a deep-kernel variant: Newton iterations for the posterior mode with a numerically stable
B = I + W^1/2 K W^1/2 Cholesky, the approximate log marginal likelihood, probit-approximated
predictive probabilities, a periodic + RBF kernel sum built from nn.Module pieces, kernel
hyperparameters learned through torch.func.grad of a functional loss, and Bernoulli metrics."""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Bernoulli
from torch.func import functional_call, grad

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(17)
n = 40
x_np = np.sort(rng.uniform(-3, 3, size=n))
p_true = 1 / (1 + np.exp(-3 * np.sin(2 * x_np)))
labels = torch.from_numpy((rng.uniform(size=n) < p_true).astype(np.float64))
X = torch.from_numpy(x_np).unsqueeze(-1)
X_test = torch.linspace(-3, 3, 7).unsqueeze(-1)


class RBF(nn.Module):
    def __init__(self, lengthscale):
        super().__init__()
        self.log_ls = nn.Parameter(torch.tensor(math.log(lengthscale)))

    def forward(self, a, b):
        diff = (a.unsqueeze(-2) - b.unsqueeze(-3)) / self.log_ls.exp()
        return torch.exp(-0.5 * diff.pow(2).sum(-1))


class Periodic(nn.Module):
    def __init__(self, period, lengthscale):
        super().__init__()
        self.log_period = nn.Parameter(torch.tensor(math.log(period)))
        self.log_ls = nn.Parameter(torch.tensor(math.log(lengthscale)))

    def forward(self, a, b):
        dist = (a.unsqueeze(-2) - b.unsqueeze(-3)).abs().sum(-1)
        s = torch.sin(math.pi * dist / self.log_period.exp())
        return torch.exp(-2 * s.pow(2) / self.log_ls.exp().pow(2))


class SumKernel(nn.Module):
    def __init__(self):
        super().__init__()
        self.parts = nn.ModuleList([RBF(1.0), Periodic(3.0, 1.0)])
        self.log_scales = nn.Parameter(torch.tensor([1.0, 0.0]))

    def forward(self, a, b):
        return sum(s.exp() * k(a, b) for s, k in zip(self.log_scales, self.parts))


def laplace_mode(K, y, iters=20):
    f = torch.zeros_like(y)
    for it in range(iters):
        pi = torch.sigmoid(f)
        W = pi * (1 - pi)
        sW = W.sqrt()
        B = torch.eye(len(y)) + sW[:, None] * K * sW[None, :]
        L = torch.linalg.cholesky(B)
        b = W * f + (y - pi)
        a = b - sW * torch.cholesky_solve((sW * (K @ b)).unsqueeze(-1), L).squeeze(-1)
        f_new = K @ a
        if (f_new - f).abs().max() < 1e-10:
            f = f_new
            break
        f = f_new
    log_lik = -nn.functional.binary_cross_entropy_with_logits(f, y, reduction="sum")
    log_z = -0.5 * (a @ f) + log_lik - L.diagonal().log().sum()
    return f, a, L, sW, log_z, it


kernel = SumKernel()
K = kernel(X, X).detach()
f_hat, a, L, sW, log_z, iters = laplace_mode(K, labels)
print(f"newton iterations {iters}, approx log Z {log_z.item():.4f}")
print("mode f at 5 points:", f_hat[::8].round(decimals=3))


def predict(kern, K, f_hat, L, sW):
    Ks = kern(X, X_test)
    pi = torch.sigmoid(f_hat)
    mean = Ks.T @ (labels - pi)
    v = torch.linalg.solve_triangular(L, sW[:, None] * Ks, upper=False)
    var = kern(X_test, X_test).diagonal() - v.pow(2).sum(0)
    # probit approximation of E[sigmoid(f)] under N(mean, var)
    kappa = 1 / torch.sqrt(1 + math.pi * var / 8)
    return torch.sigmoid(kappa * mean), mean, var


with torch.no_grad():
    probs, mean, var = predict(kernel, K, f_hat, L, sW)
print("p(y=1|x*):", probs.round(decimals=3))
print("latent var:", var.round(decimals=3))

# hyperparameters by gradient ascent on log Z, treating the mode as fixed (a common shortcut)
params = {k: v.detach() for k, v in kernel.named_parameters()}
print("params:", list(params))


def neg_log_z(p, f_mode):
    Kp = functional_call(kernel, p, (X, X))
    pi = torch.sigmoid(f_mode)
    sW = (pi * (1 - pi)).sqrt()
    Lp = torch.linalg.cholesky(torch.eye(n) + sW[:, None] * Kp * sW[None, :])
    alpha = torch.cholesky_solve(f_mode.unsqueeze(-1), torch.linalg.cholesky(
        Kp + 1e-4 * torch.eye(n))).squeeze(-1)
    log_lik = -nn.functional.binary_cross_entropy_with_logits(f_mode, labels, reduction="sum")
    return 0.5 * (f_mode @ alpha) - log_lik + Lp.diagonal().log().sum()


g_fn = grad(neg_log_z)
for step in range(15):
    with torch.no_grad():
        K = functional_call(kernel, params, (X, X))
    f_hat = laplace_mode(K, labels)[0]
    grads = g_fn(params, f_hat)
    params = {k: v - 0.02 * grads[k].clamp(-5, 5) for k, v in params.items()}
    if step % 5 == 0:
        print(f"step {step:2d} -logZ {neg_log_z(params, f_hat).item():.4f} "
              f"period {params['parts.1.log_period'].exp().item():.3f}")
kernel.load_state_dict(params)
K = kernel(X, X).detach()
f_hat, a, L, sW, log_z, _ = laplace_mode(K, labels)
with torch.no_grad():
    probs, _, _ = predict(kernel, K, f_hat, L, sW)
    train_p = torch.sigmoid(f_hat)
    acc = ((train_p > 0.5).double() == labels).double().mean()
    nll = -Bernoulli(probs=train_p).log_prob(labels).mean()
print(f"final log Z {log_z.item():.4f} train acc {acc.item():.3f} nll {nll.item():.4f}")
print("p(y=1|x*):", probs.round(decimals=3))
print("scales:", kernel.log_scales.detach().exp().round(decimals=3))
try:
    kernel.load_state_dict({"log_scales": torch.zeros(2)})
except RuntimeError as e:
    print("RuntimeError:", str(e).splitlines()[0][:80])
