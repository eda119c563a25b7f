"""Evolution strategies in plain torch, as ES tutorials and research repositories write them:
CMA-ES on the Rosenbrock function (weighted recombination of the ``torch.sort``-ranked
offspring, cumulation paths, rank-one plus rank-mu covariance update with ``torch.addr`` /
``torch.addmm``, step-size adaptation, ``torch.linalg.eigh`` for the symmetric square roots
C^1/2 and C^-1/2, vmapped over saved covariances at the end), then OpenAI-ES training a small
MLP regressor: the parameters flattened with ``parameters_to_vector``, antithetic Gaussian
perturbations, the whole population evaluated at once with ``torch.func.functional_call``
under ``torch.vmap``, centred-rank fitness shaping, and the search gradient written into the
module's ``.grad`` for ``torch.optim.Adam``; last a plain-SGD ES on a float64 master vector
that ``vector_to_parameters`` makes the parameters views of, so in-place updates of the vector
move the module."""
import math

import torch
import torch.nn as nn
from torch.func import functional_call
from torch.nn.utils import parameters_to_vector, vector_to_parameters

torch.manual_seed(0)


def rosenbrock(x):
    return (100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1.0 - x[..., :-1]) ** 2).sum(-1)


# ---------------------------------------------------------------- CMA-ES (float64)
n = 6
dt = torch.float64
lam = 4 + int(3 * math.log(n))
mu = lam // 2
raw_w = math.log(mu + 0.5) - torch.log(torch.arange(1, mu + 1, dtype=dt))
weights = raw_w / raw_w.sum()
mu_eff = 1.0 / (weights ** 2).sum().item()
c_sigma = (mu_eff + 2) / (n + mu_eff + 5)
d_sigma = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_sigma
c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
c_1 = 2 / ((n + 1.3) ** 2 + mu_eff)
c_mu = min(1 - c_1, 2 * (mu_eff - 2 + 1 / mu_eff) / ((n + 2) ** 2 + mu_eff))
chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n ** 2))
print(f"cma-es lambda {lam} mu {mu} mu_eff {mu_eff:.4f} c_sigma {c_sigma:.4f} "
      f"c_1 {c_1:.4f} c_mu {c_mu:.4f}")

mean = torch.full((n,), -1.0, dtype=dt)
sigma = 0.5
C = torch.eye(n, dtype=dt)
p_sigma = torch.zeros(n, dtype=dt)
p_c = torch.zeros(n, dtype=dt)
evals = 0
snapshots = []
for gen in range(1, 201):
    eigvals, B = torch.linalg.eigh(C)
    D = eigvals.clamp_min(1e-20).sqrt()
    # the symmetric square roots B D B^T and B D^-1 B^T: eigenvector signs are not unique
    C_sqrt = B @ torch.diag(D) @ B.T
    C_inv_sqrt = B @ torch.diag(1.0 / D) @ B.T
    z = torch.randn(lam, n, dtype=dt)
    y = z @ C_sqrt
    x = mean + sigma * y
    f = rosenbrock(x)
    evals += lam
    f_sorted, order = torch.sort(f)
    y_sel = y[order[:mu]]
    y_w = weights @ y_sel
    mean = mean + sigma * y_w
    p_sigma = (1 - c_sigma) * p_sigma + math.sqrt(c_sigma * (2 - c_sigma) * mu_eff) * (
        C_inv_sqrt @ y_w)
    ps_norm = torch.linalg.vector_norm(p_sigma).item()
    ps_scaled = ps_norm / math.sqrt(1 - (1 - c_sigma) ** (2 * gen))
    h_sigma = float(ps_scaled < (1.4 + 2 / (n + 1)) * chi_n)
    p_c = (1 - c_c) * p_c + h_sigma * math.sqrt(c_c * (2 - c_c) * mu_eff) * y_w
    delta = (1 - h_sigma) * c_c * (2 - c_c)
    C = torch.addr(C, p_c, p_c, beta=1 - c_1 - c_mu + c_1 * delta, alpha=c_1)
    C = torch.addmm(C, y_sel.T * weights, y_sel, alpha=c_mu)
    C = torch.triu(C) + torch.triu(C, 1).T
    sigma *= math.exp((c_sigma / d_sigma) * (ps_norm / chi_n - 1))
    if gen % 40 == 0:
        snapshots.append(C)
        print(f"gen {gen:3d} best {f_sorted[0].item():.3e} sigma {sigma:.3e} "
              f"cond {(eigvals.max() / eigvals.min()).item():.3e}")
# the saved covariances decomposed in one call: vmap over linalg.eigh's (values, vectors)
decomp = torch.vmap(torch.linalg.eigh)(torch.stack(snapshots))
print("snapshot log10 condition numbers", [round(v, 3) for v in
      (decomp.eigenvalues[:, -1] / decomp.eigenvalues[:, 0]).log10().tolist()],
      "eigenvector batch", tuple(decomp.eigenvectors.shape))
print("cma-es mean", [round(v, 4) for v in mean.tolist()], "evals", evals,
      "f(mean) < 1e-6:", bool(rosenbrock(mean) < 1e-6))

# ---------------------------------------------------------------- OpenAI-ES (float32)
torch.manual_seed(1)
xs = torch.linspace(-math.pi, math.pi, 64).unsqueeze(1)
ys = torch.sin(xs) + 0.3 * torch.cos(3 * xs)
model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
names = [name for name, _ in model.named_parameters()]
shapes = [p.shape for p in model.parameters()]
sizes = [p.numel() for p in model.parameters()]
theta = parameters_to_vector(model.parameters()).detach()
initial_mse = ((model(xs) - ys) ** 2).mean().item()
print("es parameters", theta.numel(), "initial mse", round(initial_mse, 4))


def unflatten(flat):
    return {name: chunk.view(shape) for name, chunk, shape
            in zip(names, torch.split(flat, sizes), shapes)}


def population_loss(flat_batch, inputs=xs, targets=ys):
    def one(flat):
        pred = functional_call(model, unflatten(flat), (inputs,))
        return ((pred - targets) ** 2).mean()
    return torch.vmap(one)(flat_batch)


def centered_ranks(f):
    ranks = torch.empty_like(f)
    ranks[f.argsort()] = torch.arange(len(f), dtype=f.dtype)
    return ranks / (len(f) - 1) - 0.5


half, noise_std = 16, 0.05
opt = torch.optim.Adam(model.parameters(), lr=0.03)
for step in range(1, 121):
    theta = parameters_to_vector(model.parameters()).detach()
    eps = torch.randn(half, theta.numel())
    eps = torch.cat([eps, -eps])
    with torch.no_grad():
        losses = population_loss(theta + noise_std * eps)
    shaped = centered_ranks(-losses)
    grad = -(shaped @ eps) / (2 * half * noise_std)
    opt.zero_grad()
    for p, g in zip(model.parameters(), torch.split(grad, sizes)):
        p.grad = g.view_as(p).clone()
    opt.step()
    if step % 30 == 0:
        with torch.no_grad():
            mse = ((model(xs) - ys) ** 2).mean().item()
        print(f"es step {step:3d} pop mean loss {losses.mean().item():.4f} "
              f"best {losses.min().item():.4f} mse {mse:.4f}")

# vector_to_parameters writes a flat vector back into the module
best = theta + noise_std * eps[losses.argmin()]
vector_to_parameters(best, model.parameters())
with torch.no_grad():
    print("loaded best member mse", round(((model(xs) - ys) ** 2).mean().item(), 4),
          "matches population", round(losses.min().item(), 4))

# plain-SGD ES on a float64 master vector: after vector_to_parameters the parameters are views
# of it (and float64 too), so updating the vector in place updates the model
master = best.double()
vector_to_parameters(master, model.parameters())
print("parameter dtype", model[0].weight.dtype, "shares memory:",
      model[0].weight.data_ptr() == master.data_ptr())
xs64, ys64 = xs.double(), ys.double()
for step in range(1, 21):
    eps = torch.randn(half, master.numel(), dtype=torch.float64)
    eps = torch.cat([eps, -eps])
    with torch.no_grad():
        losses = population_loss(master + noise_std * eps, xs64, ys64)
    grad = -(centered_ranks(-losses) @ eps) / (2 * half * noise_std)
    master.sub_(grad, alpha=0.01)
    if step % 10 == 0:
        with torch.no_grad():
            mse = ((model(xs64) - ys64) ** 2).mean().item()
        print(f"sgd-es step {step} mse of the module {mse:.4f}")
