"""A deep-equilibrium (DEQ) layer, as the implicit-layers tutorial and the DEQ research
repositories (Bai, Kolter & Koltun) write it: the layer's output is a fixed point
z* = f(z*, x), found without autograd by Anderson acceleration (a small least-squares mixing
problem per step, batched with ``torch.bmm`` and solved with ``torch.linalg.solve_ex``, and once
with ``torch.linalg.lstsq``); the backward pass solves the adjoint fixed point
g = (dF/dz)^T g + grad inside a ``register_hook`` on the output, with ``torch.autograd.grad``
vector-Jacobian products (the hook removes itself). Checked against unrolled autograd and the
exact implicit-function gradient (``torch.func.jacrev`` + ``torch.linalg.solve``); then a
Hutchinson Jacobian-norm regularizer (``create_graph=True``) and a short training run. Everything
comes from ``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


def anderson(f, x0, m=5, lam=1e-8, max_iter=60, tol=1e-5, beta=1.0):
    """Anderson acceleration for z = f(z) on a batch (B, ...): returns z and the residual
    history. The mixing weights alpha solve min |G alpha| s.t. sum(alpha) = 1 through the
    bordered system [[0, 1^T], [1, G G^T + lam I]] [nu; alpha] = [1; 0]."""
    bsz = x0.shape[0]
    d = x0[0].numel()
    X = torch.zeros(bsz, m, d, dtype=x0.dtype)
    Fx = torch.zeros(bsz, m, d, dtype=x0.dtype)
    X[:, 0], Fx[:, 0] = x0.reshape(bsz, -1), f(x0).reshape(bsz, -1)
    X[:, 1], Fx[:, 1] = Fx[:, 0], f(Fx[:, 0].reshape_as(x0)).reshape(bsz, -1)
    H = torch.zeros(bsz, m + 1, m + 1, dtype=x0.dtype)
    H[:, 0, 1:] = H[:, 1:, 0] = 1
    y = torch.zeros(bsz, m + 1, 1, dtype=x0.dtype)
    y[:, 0] = 1
    res = []
    for k in range(2, max_iter):
        n = min(k, m)
        G = Fx[:, :n] - X[:, :n]
        H[:, 1:n + 1, 1:n + 1] = torch.bmm(G, G.transpose(1, 2)) + lam * torch.eye(n)[None]
        sol, info = torch.linalg.solve_ex(H[:, :n + 1, :n + 1], y[:, :n + 1])
        alpha = sol[:, 1:n + 1, 0]
        X[:, k % m] = (beta * (alpha[:, None] @ Fx[:, :n])[:, 0]
                       + (1 - beta) * (alpha[:, None] @ X[:, :n])[:, 0])
        Fx[:, k % m] = f(X[:, k % m].reshape_as(x0)).reshape(bsz, -1)
        res.append(((Fx[:, k % m] - X[:, k % m]).norm() / (1e-5 + Fx[:, k % m].norm())).item())
        if res[-1] < tol:
            break
    return X[:, k % m].view_as(x0), res, int(info.abs().sum())


class TanhCell(nn.Module):
    """f(z, x) = tanh(W z + U x): a contraction when |W|_2 < 1. W starts symmetric positive
    semi-definite with spectral norm 0.95, a slowly contracting map where plain fixed-point
    iteration crawls and Anderson acceleration pays off."""

    def __init__(self, n, n_in):
        super().__init__()
        self.W = nn.Linear(n, n, bias=False)
        self.U = nn.Linear(n_in, n)
        with torch.no_grad():  # W W^T, scaled to spectral norm 0.95: the fixed point exists
            w = self.W.weight
            w.copy_(w @ w.T)
            w.mul_(0.95 / torch.linalg.matrix_norm(w, ord=2))

    def forward(self, z, x):
        return torch.tanh(self.W(z) + self.U(x))


class DEQFixedPoint(nn.Module):
    def __init__(self, f, solver, **kw):
        super().__init__()
        self.f, self.solver, self.kw = f, solver, kw
        self.last = {}

    def forward(self, x):
        with torch.no_grad():  # forward solve: no graph over the iterations
            z, res, bad = self.solver(lambda z: self.f(z, x),
                                      torch.zeros(x.shape[0], self.f.W.in_features), **self.kw)
        self.last = {"forward_iters": len(res) + 2, "forward_res": res[-1], "singular": bad}
        z = self.f(z, x)  # one step with the graph: gradients reach the parameters from here
        if not torch.is_grad_enabled():
            return z
        z0 = z.clone().detach().requires_grad_()
        f0 = self.f(z0, x)

        def backward_hook(grad):
            if self.hook is not None:
                self.hook.remove()  # the adjoint solve's own autograd.grad calls must not recurse
                self.hook = None
            g, bres, _ = self.solver(
                lambda y: torch.autograd.grad(f0, z0, y, retain_graph=True)[0] + grad,
                grad, **self.kw)
            self.last["backward_iters"] = len(bres) + 2
            return g

        self.hook = z.register_hook(backward_hook)
        return z


torch.manual_seed(0)
n_hidden, n_in, bsz = 12, 4, 6
cell = TanhCell(n_hidden, n_in)
print("spectral norm of W", round(torch.linalg.matrix_norm(cell.W.weight, ord=2).item(), 4))
deq = DEQFixedPoint(cell, anderson, tol=1e-5, max_iter=80)
x = 0.3 * torch.randn(bsz, n_in)
z = deq(x)
print("forward iters", deq.last["forward_iters"], "residual < 1e-5:",
      deq.last["forward_res"] < 1e-5, "singular mixing systems", deq.last["singular"])
print("fixed point error", f"{(z - cell(z, x)).abs().max().item() < 1e-5}", "z[0]", r(z[0, :4]))

# naive forward iteration needs many more steps for the same tolerance
zf, naive = torch.zeros(bsz, n_hidden), 0
with torch.no_grad():
    while (cell(zf, x) - zf).norm() / cell(zf, x).norm() > 1e-5 and naive < 500:
        zf, naive = cell(zf, x), naive + 1
print("plain iteration steps", naive, "same point:", torch.allclose(zf, z, atol=1e-3))

# implicit backward vs. backprop through 200 unrolled iterations
target = torch.randn(bsz, n_hidden)
loss = F.mse_loss(z, target)
grads = torch.autograd.grad(loss, list(cell.parameters()))
print("backward iters", deq.last["backward_iters"])
zu = torch.zeros(bsz, n_hidden)
for _ in range(200):
    zu = cell(zu, x)
grads_unrolled = torch.autograd.grad(F.mse_loss(zu, target), list(cell.parameters()))
for (name, _), g, gu in zip(cell.named_parameters(), grads, grads_unrolled):
    print(f"{name:10s} |g| {g.norm().item():.4f} implicit == unrolled: "
          f"{torch.allclose(g, gu, atol=1e-5)}")

# the implicit function theorem by hand: dz*/dx = (I - df/dz)^-1 df/dx for one sample
x1, z1 = x[:1].detach(), z[:1].detach()
Jz = torch.func.jacrev(lambda zz: cell(zz, x1))(z1).reshape(n_hidden, n_hidden)
Jx = torch.func.jacrev(lambda xx: cell(z1, xx))(x1).reshape(n_hidden, n_in)
dz_dx = torch.linalg.solve(torch.eye(n_hidden) - Jz, Jx)
xr = x1.clone().requires_grad_()
zr = deq(xr)
# the hook fires once per backward, so take one vector-Jacobian product: v^T dz/dx
v = torch.linspace(-1, 1, n_hidden)
(vjp_x,) = torch.autograd.grad(zr[0], xr, v)
print("v^T dz/dx implicit", r(vjp_x, 4))
print("matches IFT solve:", torch.allclose(vjp_x[0], v @ dz_dx, atol=1e-5))

# the Anderson mixing step as a least-squares problem: min |G^T alpha - 0| with sum(alpha)=1,
# written with the constraint eliminated and solved by torch.linalg.lstsq
with torch.no_grad():
    hist = [torch.zeros(n_hidden)]
    for _ in range(4):
        hist.append(cell(hist[-1][None], x[:1])[0])
    Xh = torch.stack(hist[:-1])
    Gh = torch.stack([cell(h[None], x[:1])[0] - h for h in hist[:-1]])
    D = (Gh[1:] - Gh[:1]).T                              # d x (n-1)
    gamma = torch.linalg.lstsq(D, -Gh[0][:, None]).solution[:, 0]
    alpha = torch.cat([1 - gamma.sum(0, keepdim=True), gamma])
    bordered = torch.zeros(Gh.shape[0] + 1, Gh.shape[0] + 1)
    bordered[0, 1:] = bordered[1:, 0] = 1
    bordered[1:, 1:] = Gh @ Gh.T
    rhs = torch.zeros(Gh.shape[0] + 1)
    rhs[0] = 1
    alpha_b = torch.linalg.solve(bordered.double(), rhs.double()).float()[1:]
    print("lstsq mixing weights", r(alpha, 3), "sum", round(alpha.sum().item(), 4))
    print("bordered-solve weights agree:", torch.allclose(alpha, alpha_b, atol=1e-3))
    print("mixed residual < best single:",
          (alpha @ Gh).norm().item() < Gh.norm(dim=1).min().item())
    # a stalled solver repeats an iterate: its difference column is exactly zero. The fast
    # QR driver (gels) refuses that; the SVD driver (gelsd) gives the minimum-norm weights
    D_stall = torch.cat([D, D[:, :1] - D[:, :1]], 1)
    try:
        torch.linalg.lstsq(D_stall, -Gh[0][:, None], driver="gels")
    except torch.linalg.LinAlgError as err:
        print("gels:", str(err).split(": ", 1)[1])
    fit = torch.linalg.lstsq(D_stall, -Gh[0][:, None], driver="gelsd")
    print("gelsd rank", fit.rank.item(), "weights", r(fit.solution[:, 0], 3),
          "singular values", r(fit.singular_values, 3))

# a degenerate history (repeated iterate) makes the bordered system singular without lam;
# solve_ex flags that matrix in info and the other batch members still solve
Hs = torch.stack([torch.tensor([[0., 1, 1], [1, 2, 3], [1, 3, 5]]),
                  torch.tensor([[0., 1, 1], [1, 1, 1], [1, 1, 1]])])
sol, info = torch.linalg.solve_ex(Hs, torch.tensor([[1.], [0], [0]]).expand(2, 3, 1))
print("solve_ex info", info.tolist(), "first solution", r(sol[0], 4),
      "second finite:", bool(torch.isfinite(sol[1]).all()))

# Jacobian regularization (Bai et al. 2021): Hutchinson estimate of |df/dz|_F^2 at z*
z0 = z.detach().requires_grad_()
fz = cell(z0, x)
eps = torch.randn_like(fz)
(vJ,) = torch.autograd.grad(fz, z0, eps, create_graph=True)
jac_loss = vJ.pow(2).sum() / bsz
(gW,) = torch.autograd.grad(jac_loss, cell.W.weight)
print("Hutchinson |J|_F^2", round(jac_loss.item(), 4),
      "grad wrt W norm", round(gW.norm().item(), 4))

# a short training run: DEQ classifier on two interleaved rings
torch.manual_seed(1)
n_pts = 64
radius = torch.cat([torch.full((n_pts // 2,), 1.0), torch.full((n_pts // 2,), 2.0)])
theta = torch.rand(n_pts) * 2 * torch.pi
pts = torch.stack([radius * torch.cos(theta), radius * torch.sin(theta)], 1)
pts = pts + 0.1 * torch.randn_like(pts)
labels = (radius > 1.5).long()
torch.manual_seed(2)
cell2 = TanhCell(16, 2)
model = nn.ModuleDict({"deq_cell": cell2, "head": nn.Linear(16, 2)})
deq2 = DEQFixedPoint(cell2, anderson, tol=1e-5, max_iter=50)
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for step in range(17):
    logits = model["head"](deq2(pts))
    loss = F.cross_entropy(logits, labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():  # keep the cell contractive after the update
        s = torch.linalg.matrix_norm(cell2.W.weight, ord=2)
        cell2.W.weight.mul_(torch.clamp(0.95 / s, max=1.0))
    if step % 8 == 0:
        acc = (logits.argmax(1) == labels).float().mean().item()
        print(f"step {step:2d} loss {loss.item():.4f} acc {acc:.3f} "
              f"fwd iters {deq2.last['forward_iters']} bwd iters {deq2.last['backward_iters']}")
