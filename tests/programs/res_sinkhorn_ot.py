"""Entropic optimal transport between point clouds, as research code on Sinkhorn divergences
(Cuturi 2013; Feydy et al. 2019, the GeomLoss style) writes it: squared-Euclidean costs from
``torch.cdist``, Sinkhorn iterations in the log domain with ``logsumexp`` and epsilon-scaling,
run under ``torch.no_grad()`` and followed by one differentiable extrapolation step (the
envelope-theorem trick), the debiased Sinkhorn divergence, a Wasserstein gradient flow that
moves a cloud onto a target with ``torch.autograd.grad``, the transport plan's entropy
(``torch.special.entr``/``xlogy``), unbalanced OT with KL-softened marginals, barycentric
projection, and a sliced-Wasserstein baseline (random directions, sorted projections).
Everything is drawn from ``torch.manual_seed``."""
import math

import torch
import torch.nn.functional as F

torch.manual_seed(0)


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


def cost(x, y):
    """Half squared Euclidean distances, C[i, j] = |x_i - y_j|^2 / 2."""
    return torch.cdist(x, y, p=2).pow(2) / 2


def softmin(eps, C, f):
    """-eps * log sum_j exp((f_j - C_ij) / eps): the log-domain c-transform."""
    return -eps * torch.logsumexp((f.unsqueeze(-2) - C) / eps, dim=-1)


def sinkhorn_potentials(a_log, b_log, x, y, eps, iters=50, scaling=None, rho=None):
    """Dual potentials (f, g) of entropic OT between sum_i a_i delta_x_i and sum_j b_j delta_y_j.
    The loop runs without autograd; one last step with the graph gives exact gradients in x, y
    (at the fixed point the potentials' derivative terms vanish)."""
    C_xy, C_yx = cost(x, y), cost(y, x)
    damp = 1.0 if rho is None else 1.0 / (1.0 + eps / rho)   # unbalanced: KL-softened marginals
    eps_list = [eps] * iters
    if scaling is not None:   # epsilon-scaling: start at the diameter, shrink geometrically
        diam = torch.cdist(torch.cat([x, y]), torch.cat([x, y])).max().item()
        n = int(math.ceil(math.log(diam ** 2 / eps) / -math.log(scaling)))
        eps_list = [diam ** 2 * scaling ** k for k in range(n)] + [eps] * 5
    with torch.no_grad():
        Cxy, Cyx = C_xy.detach(), C_yx.detach()
        f = damp * softmin(eps_list[0], Cxy, b_log * eps_list[0])
        g = damp * softmin(eps_list[0], Cyx, a_log * eps_list[0])
        for e in eps_list:
            f_new = damp * softmin(e, Cxy, b_log * e + g)
            g_new = damp * softmin(e, Cyx, a_log * e + f)
            f, g = 0.5 * (f + f_new), 0.5 * (g + g_new)   # symmetric averaged updates
    f, g = f.detach(), g.detach()
    # the differentiable last step (on the full graph of x and y)
    f_out = damp * softmin(eps, C_xy, b_log * eps + g)
    g_out = damp * softmin(eps, C_yx, a_log * eps + f)
    return f_out, g_out


def ot_eps(a, b, x, y, eps, **kw):
    f, g = sinkhorn_potentials(a.log(), b.log(), x, y, eps, **kw)
    return (a * f).sum() + (b * g).sum()


def sinkhorn_divergence(a, b, x, y, eps, **kw):
    """S_eps = OT(a, b) - OT(a, a)/2 - OT(b, b)/2: positive, zero iff the measures agree."""
    return (ot_eps(a, b, x, y, eps, **kw) - 0.5 * ot_eps(a, a, x, x, eps, **kw)
            - 0.5 * ot_eps(b, b, y, y, eps, **kw))


n, m = 40, 30
x = torch.randn(n, 2) * 0.5
y = torch.randn(m, 2) * 0.3 + torch.tensor([1.5, 0.5])
a = torch.full((n,), 1.0 / n)
b = torch.softmax(torch.randn(m), 0)
print("costs", tuple(cost(x, y).shape), "mean", round(cost(x, y).mean().item(), 4))

for eps in [1.0, 0.1, 0.01]:
    f, g = sinkhorn_potentials(a.log(), b.log(), x, y, eps, iters=200)
    log_pi = (f[:, None] + g[None, :] - cost(x, y)) / eps + a.log()[:, None] + b.log()[None, :]
    pi = log_pi.exp()
    err = (pi.sum(1) - a).abs().sum() + (pi.sum(0) - b).abs().sum()
    ent = torch.special.entr(pi).sum()
    print(f"eps {eps:<5} OT {ot_eps(a, b, x, y, eps, iters=200).item():.4f} "
          f"<C,pi> {(pi * cost(x, y)).sum().item():.3f} marginals met {err.item() < 1e-4} "
          f"entropy {ent.item():.4f}")

# at eps = 0.01, 200 plain iterations have not converged; epsilon-scaling gets further in fewer
scaled = ot_eps(a, b, x, y, 0.01, scaling=0.5)
plain = ot_eps(a, b, x, y, 0.01, iters=200)
print("eps-scaling OT", round(scaled.item(), 4), "vs 200 iters", round(plain.item(), 4))

# the plan's KL to the product measure via xlogy (0 log 0 = 0)
f, g = sinkhorn_potentials(a.log(), b.log(), x, y, 0.1, iters=200)
pi = ((f[:, None] + g[None, :] - cost(x, y)) / 0.1).exp() * a[:, None] * b[None, :]
kl = (torch.xlogy(pi, pi) - torch.xlogy(pi, a[:, None] * b[None, :])).sum()
print("KL(pi | a x b)", round(kl.item(), 4), "mutual info bound", round(math.log(min(n, m)), 4))
# barycentric projection: where each source point is sent on average
T = (pi @ y) / pi.sum(1, keepdim=True)
print("barycentric map of first 3 points", r(T[:3], 3))

# gradients: with g frozen, d <a, f(x)> / d x_i = a_i * (x_i - T(x_i)) (the envelope theorem;
# T from the same f and g); the symmetric <a, f> + <b, g> counts that term twice
x_req = x.clone().requires_grad_(True)
f_x = softmin(0.1, cost(x_req, y), b.log() * 0.1 + g.detach())
(gx,) = torch.autograd.grad((a * f_x).sum(), x_req)
pi_x = ((f_x.detach()[:, None] + g[None, :] - cost(x, y)) / 0.1).exp() * a[:, None] * b[None, :]
T_x = (pi_x @ y) / pi_x.sum(1, keepdim=True)
print("grad x == a*(x - T(x)):", torch.allclose(gx, a[:, None] * (x - T_x), atol=1e-6))
val = ot_eps(a, b, x_req, y, 0.1, iters=200)
(g2,) = torch.autograd.grad(val, x_req)
print("symmetric / one-sided grad norm", round((g2.norm() / gx.norm()).item(), 3))

# debiased divergence is ~0 between a measure and itself and positive otherwise
print("S_eps(a, a) ~ 0:", abs(sinkhorn_divergence(a, a, x, x, 0.1).item()) < 1e-5,
      "S_eps(a, b)", round(sinkhorn_divergence(a, b, x, y, 0.1).item(), 4))

# a Wasserstein gradient flow: move x down the gradient of S_eps (scaled by 1/a_i)
z = x.clone().requires_grad_(True)
for step in range(31):
    loss = sinkhorn_divergence(a, b, z, y, 0.05, scaling=0.6)
    (gz,) = torch.autograd.grad(loss, [z])
    with torch.no_grad():
        z -= 0.5 * gz / a[:, None]
    if step % 10 == 0:
        print(f"flow step {step:2d} S_eps {loss.item():.5f} cloud mean {r(z.mean(0), 3)}")

# unbalanced OT: rho bounds how much mass may be created or destroyed
b_heavy = b * 2.0
for rho in [0.1, 1.0, 100.0]:
    f, g = sinkhorn_potentials(a.log(), b_heavy.log(), x, y, 0.1, iters=300, rho=rho)
    pi = ((f[:, None] + g[None, :] - cost(x, y)) / 0.1).exp() * a[:, None] * b_heavy[None, :]
    print(f"rho {rho:<5} transported mass {pi.sum().item():.4f}")

# a log-domain check: logaddexp folds two potentials the same way logsumexp does
u, v = torch.randn(5), torch.randn(5)
print("logaddexp == logsumexp of the pair:",
      torch.allclose(torch.logaddexp(u, v), torch.stack([u, v]).logsumexp(0)))


def sliced_wasserstein(x, y, n_proj=64):
    """Average 1-D W2^2 over random directions (equal-size clouds: sort and match)."""
    theta = F.normalize(torch.randn(n_proj, x.shape[1]), dim=1)
    px, _ = torch.sort(x @ theta.T, dim=0)
    py, _ = torch.sort(y @ theta.T, dim=0)
    return (px - py).pow(2).mean()


y_eq = torch.randn(n, 2) * 0.3 + torch.tensor([1.5, 0.5])
w = x.clone().requires_grad_(True)
opt = torch.optim.SGD([w], lr=1.0)
for step in range(20):
    opt.zero_grad()
    sw = sliced_wasserstein(w, y_eq)
    sw.backward()
    opt.step()
print("sliced W2 after 20 SGD steps", round(sw.item(), 4), "mean", r(w.mean(0), 3))
# the 1-D quantile-function form agrees with sorting for equal weights
qs = torch.linspace(0.05, 0.95, 7)
print("quantiles x", r(torch.quantile(x[:, 0], qs), 4))

# a chessboard (L-infinity) ground cost on a 4x4 pixel grid, as in OT between small images:
# integer offsets tie for the max often, and each tied coordinate gets the full gradient sign
torch.manual_seed(3)
rows, cols = torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij")
grid = torch.stack([cols.flatten(), rows.flatten()], 1)
img_a = torch.softmax(torch.randn(16), 0)
img_b = torch.softmax(2 * torch.randn(16), 0)
src = grid.clone().requires_grad_(True)
C_inf = torch.cdist(src, grid, p=float("inf"))
print("chessboard cost row 5", r(C_inf[5], 1), C_inf.grad_fn.name())
with torch.no_grad():
    f_i, g_i = torch.zeros(16), torch.zeros(16)
    for _ in range(300):
        f_i = softmin(0.05, C_inf, img_b.log() * 0.05 + g_i)
        g_i = softmin(0.05, C_inf.T, img_a.log() * 0.05 + f_i)
    plan = ((f_i[:, None] + g_i[None, :] - C_inf) / 0.05).exp() * img_a[:, None] * img_b[None, :]
print("W_inf-cost", round((plan * C_inf).sum().item(), 4), "plan mass", round(plan.sum().item(), 4))
(g_src,) = torch.autograd.grad((plan * C_inf).sum(), src)
print("grad on pixels 0, 5, 10", r(g_src[[0, 5, 10]], 4))
