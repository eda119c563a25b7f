"""Second-order optimization with ``torch.autograd.functional`` and ``torch.func``, the way
second-order tutorials and "Newton's method in PyTorch" notebooks write it: Newton-CG on an
L2-regularized logistic regression (conjugate gradient driven by Hessian-vector products from
``hvp`` and ``vhp``), a damped Newton step through ``cholesky_ex`` and two triangular solves,
the spectrum of the Hessian (``eigvalsh``, ``cond``, ``matrix_norm``), Levenberg-Marquardt on a
weighted nonlinear curve fit (residuals rescaled in place) with a forward-mode
``jacobian(vectorize=True)`` checked against ``jacrev``, and trust-region Newton
on Rosenbrock with ``torch.func.hessian``."""
import torch
from torch.autograd.functional import hessian, hvp, jacobian, vhp

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)

# --- logistic regression data -------------------------------------------------------------
n, d = 200, 6
X = torch.randn(n, d)
w_true = torch.tensor([1.5, -2.0, 0.0, 0.7, 0.0, -1.0])
y = (torch.rand(n) < torch.sigmoid(X @ w_true + 0.3)).double()
X = torch.cat([X, torch.ones(n, 1)], dim=1)  # intercept column
lam = 1e-2


def loss_fn(w):
    logits = X @ w
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, y) + 0.5 * lam * w.dot(w)


def conjugate_gradient(matvec, b, max_iter=50, tol=1e-10):
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rs_old = r.dot(r)
    for i in range(max_iter):
        Ap = matvec(p)
        alpha = rs_old / p.dot(Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        rs_new = r.dot(r)
        if rs_new.sqrt() < tol:
            return x, i + 1
        p = r + (rs_new / rs_old) * p
        rs_old = rs_new
    return x, max_iter


w = torch.zeros(d + 1)
for it in range(6):
    grad, value = torch.func.grad_and_value(loss_fn)(w)
    step, cg_iters = conjugate_gradient(lambda v, w=w: hvp(loss_fn, w, v)[1], -grad)
    w = w + step
    print(f"newton-cg {it}: loss {value.item():.6f} |grad| {grad.norm().item():.2e} "
          f"cg iters {cg_iters}")
print("w", [round(v, 4) for v in w.tolist()])

# every route to the Hessian agrees
H = hessian(loss_fn, w)
H_vec = hessian(loss_fn, w, vectorize=True)
H_func = torch.func.hessian(loss_fn)(w)
H_fwd = torch.func.jacfwd(torch.func.jacrev(loss_fn))(w)
v = torch.linspace(-1, 1, d + 1)
_, Hv = hvp(loss_fn, w, v)
_, vH = vhp(loss_fn, w, v)
print("hessian shape", tuple(H.shape), "symmetric", torch.allclose(H, H.T))
print("routes agree", torch.allclose(H, H_vec), torch.allclose(H, H_func),
      torch.allclose(H, H_fwd), torch.allclose(Hv, H @ v), torch.allclose(vH, v @ H))

# the spectrum: the smallest eigenvalue is at least the L2 term
evals = torch.linalg.eigvalsh(H)
print("eigvalsh", [round(e, 5) for e in evals.tolist()])
print("cond", round(torch.linalg.cond(H).item(), 3),
      "fro", round(torch.linalg.matrix_norm(H).item(), 5),
      "spectral", round(torch.linalg.matrix_norm(H, ord=2).item(), 5),
      "nuclear", round(torch.linalg.matrix_norm(H, ord="nuc").item(), 5))

# a damped Newton step from the start, via Cholesky and two triangular solves
w0 = torch.zeros(d + 1)
g0 = torch.autograd.functional.jacobian(loss_fn, w0)
H0 = hessian(loss_fn, w0)
L, info = torch.linalg.cholesky_ex(H0 + 1e-3 * torch.eye(d + 1))
z = torch.linalg.solve_triangular(L, -g0.unsqueeze(1), upper=False)
step = torch.linalg.solve_triangular(L.T, z, upper=True).squeeze(1)
print("cholesky info", info.item(), "step", [round(s, 4) for s in step.tolist()])
print("agrees with cholesky_solve", torch.allclose(step, torch.cholesky_solve(-g0.unsqueeze(1),
                                                                               L).squeeze(1)))
_, info_bad = torch.linalg.cholesky_ex(-H0)
print("indefinite info", info_bad.item())
try:
    torch.linalg.cholesky(-H0)
except torch.linalg.LinAlgError as err:
    print("LinAlgError:", str(err)[:60])

# --- Levenberg-Marquardt on y = a * exp(-b t) + c -------------------------------------------
t = torch.linspace(0, 4, 40)
obs = 2.5 * torch.exp(-1.3 * t) + 0.4 + 0.02 * torch.randn(40)


def residuals(theta):
    a, b, c = theta.unbind()
    r = a * torch.exp(-b * t) + c - obs
    r[:10] = r[:10] * 2.0  # the early, fast-decaying points weigh double
    return r


theta = torch.tensor([1.0, 0.5, 0.0])
mu = 1e-2
for it in range(10):
    r = residuals(theta)
    J = jacobian(residuals, theta, vectorize=True, strategy="forward-mode")
    A = J.T @ J
    step = torch.linalg.solve(A + mu * torch.diag(torch.diagonal(A)), -J.T @ r)
    new_cost = residuals(theta + step).pow(2).sum()
    # accept only a real decrease: near the optimum the change is round-off
    if new_cost < r.pow(2).sum() - 1e-12:
        theta, mu = theta + step, mu / 3
    else:
        mu = mu * 4
    if it % 3 == 0 or it == 9:
        print(f"LM {it}: cost {r.pow(2).sum().item():.6f} mu {mu:.2e}")
print("theta", [round(v, 4) for v in theta.tolist()])
J_rev = jacobian(residuals, theta)
J_fwd = jacobian(residuals, theta, vectorize=True, strategy="forward-mode")
J_func = torch.func.jacrev(residuals)(theta)
print("jacobian modes agree", torch.allclose(J_rev, J_fwd), torch.allclose(J_rev, J_func),
      tuple(J_fwd.shape))
sol = torch.linalg.lstsq(J_fwd, -residuals(theta).unsqueeze(1))
print("gauss-newton step at optimum", round(sol.solution.norm().item(), 6))

# --- trust-region Newton on Rosenbrock -----------------------------------------------------


def rosenbrock(xy):
    return (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2


x = torch.tensor([-1.2, 1.0])
radius = 1.0
hess_fn = torch.func.hessian(rosenbrock)
grad_fn = torch.func.grad(rosenbrock)
for it in range(30):
    g, Hk = grad_fn(x), hess_fn(x)
    p = torch.linalg.solve(Hk, -g)
    if p.norm() > radius:
        p = p * (radius / p.norm())
    predicted = -(g.dot(p) + 0.5 * p.dot(Hk @ p))
    actual = rosenbrock(x) - rosenbrock(x + p)
    rho = actual / predicted
    if rho < 0.25:
        radius *= 0.25
    elif rho > 0.75 and abs(p.norm().item() - radius) < 1e-9:
        radius = min(2 * radius, 10.0)
    if rho > 0.1:
        x = x + p
    if rosenbrock(x) < 1e-16:
        break
print("trust region: iters", it + 1, "x", [round(v, 6) for v in x.tolist()],
      "f", f"{rosenbrock(x).item():.2e}")

# L-BFGS with a strong-Wolfe line search on the same problem, float32 as usual
torch.set_default_dtype(torch.float32)
xy = torch.tensor([-1.2, 1.0], requires_grad=True)
opt = torch.optim.LBFGS([xy], lr=1, max_iter=100, history_size=10,
                        tolerance_grad=1e-9, tolerance_change=1e-12,
                        line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    f = rosenbrock(xy)
    f.backward()
    return f


opt.step(closure)
state = opt.state[opt.param_groups[0]["params"][0]]
print("lbfgs x", [round(v, 3) for v in xy.tolist()], "func evals", state["func_evals"],
      "n_iter", state["n_iter"])
