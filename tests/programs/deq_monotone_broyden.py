"""A monotone operator equilibrium network (monDEQ, Winston & Kolter) next to a Broyden-solved
DEQ, as their research repositories write them.

The monDEQ layer z = relu(W z + U x + b) keeps W = (1 - m) I - A^T A + B - B^T, so I - W is
strongly monotone (checked with ``torch.linalg.eigvalsh`` of its symmetric part) and the
Peaceman-Rachford splitting converges; its resolvent is factored once with
``torch.linalg.lu_factor`` and applied with ``lu_solve``. The backward pass is a custom
``torch.autograd.Function`` solving the adjoint with the same splitting. The second layer is a
DEQ whose fixed point comes from a limited-memory Broyden solver (low-rank inverse-Jacobian
updates with ``torch.einsum``) under ``torch.no_grad``; its implicit backward runs in a
``register_hook`` on the output. Both gradients are checked against ``torch.func.jacrev`` +
``torch.linalg.solve``, the Jacobian-free (phantom) gradient is compared by cosine similarity,
and the monDEQ is trained briefly on a toy task."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
torch.set_printoptions(precision=4, sci_mode=False)


class MONSingleFc(nn.Module):
    """W = (1 - m) I - A^T A + B - B^T, the monotone parametrisation."""

    def __init__(self, in_dim, out_dim, m=1.0):
        super().__init__()
        self.U = nn.Linear(in_dim, out_dim)
        self.A = nn.Linear(out_dim, out_dim, bias=False)
        self.B = nn.Linear(out_dim, out_dim, bias=False)
        self.m = m

    def W(self):
        eye = torch.eye(self.A.weight.shape[0], dtype=self.A.weight.dtype)
        a, b = self.A.weight, self.B.weight
        return (1 - self.m) * eye - a.T @ a + b - b.T

    def multiply(self, z):
        return z @ self.W().T

    def multiply_transpose(self, g):
        return g @ self.W()


class PeacemanRachford:
    """Operator splitting for 0 in (I - W) z - (U x + b) + N(z), N the relu normal cone."""

    def __init__(self, lin, alpha=1.0, tol=1e-5, max_iter=200):
        self.lin, self.alpha, self.tol, self.max_iter = lin, alpha, tol, max_iter

    def factor(self):
        n = self.lin.A.weight.shape[0]
        with torch.no_grad():
            M = torch.eye(n) + self.alpha * (torch.eye(n) - self.lin.W())
            return torch.linalg.lu_factor(M)

    def resolvent(self, lu, rhs):
        # (I + alpha (I - W))^{-1} rhs for a batch of row vectors
        return torch.linalg.lu_solve(*lu, rhs.T).T

    def forward(self, bias):
        lu = self.factor()
        z = torch.zeros_like(bias)
        u = torch.zeros_like(bias)
        for it in range(self.max_iter):
            u_half = 2 * z - u
            z_half = self.resolvent(lu, u_half + self.alpha * bias)
            u = 2 * z_half - u_half
            z_new = F.relu(u)
            err = (z_new - z).norm() / (z_new.norm() + 1e-8)
            z = z_new
            if err < self.tol:
                break
        return z, it + 1

    def backward(self, z, grad):
        # adjoint h = (I - W^T D)^{-1} grad, D = relu'(z). Writing h = grad + W^T q gives
        # 0 in (I - W^T) q - grad + N(q), N the normal cone of {q : q = D q}: the same
        # splitting on transposes, with the projection D in place of relu
        d = (z > 0).to(grad.dtype)
        n = z.shape[1]
        with torch.no_grad():
            M = torch.eye(n) + self.alpha * (torch.eye(n) - self.lin.W().T)
            lu = torch.linalg.lu_factor(M)
        q = torch.zeros_like(grad)
        u = torch.zeros_like(grad)
        for it in range(self.max_iter):
            u_half = 2 * q - u
            q_half = self.resolvent(lu, u_half + self.alpha * grad)
            u = 2 * q_half - u_half
            q_new = d * u
            err = (q_new - q).norm() / (q_new.norm() + 1e-8)
            q = q_new
            if err < self.tol:
                break
        return grad + self.lin.multiply_transpose(q).detach(), it + 1


class MONBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, splitter, z):
        ctx.splitter = splitter
        ctx.save_for_backward(z)
        return z.clone()

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        g, iters = ctx.splitter.backward(z, grad)
        ctx.splitter.backward_iters = iters
        return None, g


class MONDEQ(nn.Module):
    def __init__(self, in_dim, out_dim, m=1.0):
        super().__init__()
        self.lin = MONSingleFc(in_dim, out_dim, m)
        self.splitter = PeacemanRachford(self.lin, alpha=1.0)

    def forward(self, x):
        bias = self.lin.U(x)
        with torch.no_grad():
            z, self.forward_iters = self.splitter.forward(bias)
        z = F.relu(self.lin.multiply(z) + bias)  # one differentiable step re-engages autograd
        return MONBackward.apply(self.splitter, z)


x = torch.tensor(rng.normal(size=(6, 5)), dtype=torch.float32)
mon = MONDEQ(5, 12, m=0.5)
W = mon.lin.W().detach()
sym = torch.eye(12) - (W + W.T) / 2
print("min eig of sym(I - W):", f"{torch.linalg.eigvalsh(sym).min().item():.4f}",
      ">= m =", mon.lin.m)
z = mon(x)
print("monDEQ forward iters", mon.forward_iters, "z", tuple(z.shape), "active", int((z > 0).sum()))
residual = z - F.relu(z @ W.T + mon.lin.U(x))
print("fixed-point residual below 1e-4:", bool(residual.abs().max() < 1e-4))
print("z[0]:", z[0, :6].detach())

# gradient of a loss w.r.t. the input through the implicit layer, against the exact IFT
x_req = x[:1].clone().requires_grad_(True)
z1 = mon(x_req)
v = torch.linspace(-1, 1, 12)
(gx,) = torch.autograd.grad((z1 * v).sum(), x_req)
print("adjoint iters", mon.splitter.backward_iters)
with torch.no_grad():
    zs = z1.detach()[0]
    D = torch.diag((zs > 0).float())
    Ux = mon.lin.U.weight
    dz_dx = torch.linalg.solve(torch.eye(12) - D @ W, D @ Ux)
print("IFT vs adjoint max diff < 1e-4:", bool((v @ dz_dx - gx[0]).abs().max() < 1e-4))
print("dL/dx", gx[0])


# --------------------------- a DEQ solved by Broyden's method ---------------------------
def rmatvec(us, vts, x):
    # x^T (-I + U V^T): us (B, d, k), vts (B, k, d), x (B, d)
    if us is None:
        return -x
    return -x + torch.einsum("bd,bdk,bkn->bn", x, us, vts)


def matvec(us, vts, x):
    # (-I + U V^T) x
    if us is None:
        return -x
    return -x + torch.einsum("bdk,bkn,bn->bd", us, vts, x)


def broyden(g, x0, max_iter=40, tol=1e-6, memory=20):
    """Limited-memory (good) Broyden for g(x) = 0, inverse Jacobian approximated as
    -I + U V^T; returns the root, the residual trace and the number of steps."""
    bsz, d = x0.shape
    x, gx = x0, g(x0)
    us = vts = None
    update = -matvec(us, vts, gx)
    trace = [gx.norm().item()]
    for step in range(max_iter):
        x_new = x + update
        gx_new = g(x_new)
        dx, dg = x_new - x, gx_new - gx
        x, gx = x_new, gx_new
        trace.append(gx.norm().item())
        if trace[-1] < tol:
            break
        vt = rmatvec(us, vts, dx)
        u = (dx - matvec(us, vts, dg)) / torch.einsum("bd,bd->b", vt, dg)[:, None]
        u, vt = u.nan_to_num(), vt.nan_to_num()
        us = u[:, :, None] if us is None else torch.cat([us, u[:, :, None]], 2)[:, :, -memory:]
        vts = vt[:, None] if vts is None else torch.cat([vts, vt[:, None]], 1)[:, -memory:]
        update = -matvec(us, vts, gx)
    return x, trace, step + 1


class TanhCell(nn.Module):
    def __init__(self, d, n_in):
        super().__init__()
        self.Wz = nn.Linear(d, d, bias=False)
        self.Ux = nn.Linear(n_in, d)
        nn.init.normal_(self.Wz.weight, std=0.5 / d ** 0.5)

    def forward(self, z, x):
        return torch.tanh(self.Wz(z) + self.Ux(x))


class BroydenDEQ(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f
        self.hook = None

    def forward(self, x):
        with torch.no_grad():
            z0 = torch.zeros(x.shape[0], self.f.Wz.weight.shape[0])
            z_star, self.trace, self.steps = broyden(lambda z: self.f(z, x) - z, z0)
        z = self.f(z_star, x)  # re-engage autograd at the fixed point
        z0 = z.clone().detach().requires_grad_()
        f0 = self.f(z0, x)

        def backward_hook(grad):
            if self.hook is not None:
                self.hook.remove()
                self.hook = None
            # solve g = J^T g + grad, again with Broyden on the adjoint residual
            g_star, self.adj_trace, _ = broyden(
                lambda y: torch.autograd.grad(f0, z0, y, retain_graph=True)[0] + grad - y, grad)
            return g_star

        if z.requires_grad:
            self.hook = z.register_hook(backward_hook)
        return z


cell = TanhCell(10, 5)
deq = BroydenDEQ(cell)
xb = x[:3].clone().requires_grad_(True)
zb = deq(xb)
print("Broyden steps", deq.steps, "residual trace", [f"{t:.1e}" for t in deq.trace[:4]],
      "final < 1e-6:", deq.trace[-1] < 1e-6)
loss = zb.pow(2).sum() / 2
gx_implicit, gW_implicit = torch.autograd.grad(loss, [xb, cell.Wz.weight])
print("adjoint residual final < 1e-5:", deq.adj_trace[-1] < 1e-5,
      "hook removed:", deq.hook is None)

# exact gradient by the implicit function theorem, one sample at a time
zs = zb.detach()
exact = []
for i in range(3):
    Jz, Jx = torch.func.jacrev(cell, argnums=(0, 1))(zs[i], xb[i].detach())
    exact.append(zs[i] @ torch.linalg.solve(torch.eye(10) - Jz, Jx))
exact = torch.stack(exact)
print("implicit vs IFT close:", torch.allclose(gx_implicit, exact, atol=1e-5))

# the Jacobian-free ("phantom") gradient skips the adjoint solve: z = f(z*.detach(), x)
zb_jfb = cell(deq(xb).detach(), xb)
gx_jfb = torch.autograd.grad(zb_jfb.pow(2).sum() / 2, xb)[0]
cos = F.cosine_similarity(gx_jfb.flatten(), gx_implicit.flatten(), dim=0)
print(f"cosine(JFB, implicit) {cos.item():.3f}")

# --------------------------- training the monDEQ on a toy task ---------------------------
n = 96
pts = torch.tensor(rng.normal(size=(n, 5)), dtype=torch.float32)
labels = ((pts[:, 0] * pts[:, 1] > 0) ^ (pts[:, 2] > 0.5)).long()
print("class balance", torch.bincount(labels).tolist())
head = nn.Linear(12, 2)
params = list(mon.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=2e-2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
for epoch in range(30):
    logits = head(mon(pts))
    loss = F.cross_entropy(logits, labels)
    opt.zero_grad()
    loss.backward()
    gnorm = nn.utils.clip_grad_norm_(params, 5.0)
    opt.step()
    sched.step()
    if epoch % 10 == 9:
        acc = (logits.argmax(1) == labels).float().mean()
        print(f"epoch {epoch + 1} loss {loss.item():.4f} acc {acc.item():.3f} "
              f"grad-norm {gnorm.item():.3f} fwd-iters {mon.forward_iters} "
              f"bwd-iters {mon.splitter.backward_iters} lr {sched.get_last_lr()[0]:.4f}")
W = mon.lin.W().detach()
ev = torch.linalg.eigvals(torch.eye(12) - W)
print("still monotone:", bool(ev.real.min() >= mon.lin.m - 1e-5),
      f"spectral radius of W {torch.linalg.matrix_norm(W, ord=2).item():.3f}")
