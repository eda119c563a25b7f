"""Physics-informed neural network for the viscous Burgers equation u_t + u u_x = nu u_xx on
[-1, 1] x [0, 1] with u(x, 0) = -sin(pi x) and u(+-1, t) = 0, the way Raissi et al.'s PINN
repositories and their PyTorch ports train it: collocation points from a scrambled Sobol
sequence (``torch.quasirandom.SobolEngine``: ``draw``, ``draw_base2``, ``fast_forward``,
``reset``), float64 as the default dtype, u_x, u_t and u_xx from
``torch.autograd.grad(..., create_graph=True)``, Adam with ``ReduceLROnPlateau`` first, then
``torch.optim.LBFGS`` with a strong-Wolfe line search and a closure. The reference solution
comes from the Cole-Hopf transform with Gauss-Hermite quadrature; residual-based adaptive
refinement (RAR) adds the worst points."""
import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)   # as PINN codes do before L-BFGS
nu = 0.1 / math.pi

# collocation points: a scrambled Sobol sequence, scaled to the domain
sobol = torch.quasirandom.SobolEngine(dimension=2, scramble=True, seed=7)
first = sobol.draw(4)
sobol.reset()
print("Sobol draw after reset repeats:", torch.equal(first, sobol.draw(4)),
      "num_generated", sobol.num_generated)
sobol.fast_forward(4)
try:
    sobol.draw_base2(8)
except ValueError as err:
    print("draw_base2 after 8 points:", type(err).__name__, str(err).split(".")[0])
sobol.reset()
sobol.fast_forward(256)                   # skip the first 2**8 points
points = sobol.draw_base2(8)              # the next 2**8 points
print("Sobol", tuple(points.shape), points.dtype, "first", [round(v, 4) for v in
                                                           points[0].tolist()],
      "mean", [round(v, 3) for v in points.mean(0).tolist()])
lower, upper = torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 1.0])
X_f = lower + (upper - lower) * points                       # columns: x, t

# initial and boundary data
x0 = torch.linspace(-1, 1, 41).unsqueeze(1)
X_0 = torch.cat([x0, torch.zeros_like(x0)], 1)
u_0 = -torch.sin(math.pi * x0)
tb = torch.rand(20, 1)
X_b = torch.cat([torch.cat([-torch.ones_like(tb), tb], 1), torch.cat([torch.ones_like(tb), tb],
                                                                      1)])
u_b = torch.zeros(X_b.shape[0], 1)


class PINN(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.register_buffer("lb", lower)
        self.register_buffer("ub", upper)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(layers[:-1], layers[1:]))
        for lin in self.linears:
            nn.init.xavier_normal_(lin.weight, gain=1.0)
            nn.init.zeros_(lin.bias)

    def forward(self, X):
        h = 2.0 * (X - self.lb) / (self.ub - self.lb) - 1.0
        for lin in self.linears[:-1]:
            h = torch.tanh(lin(h))
        return self.linears[-1](h)


def residual(model, X):
    X = X.clone().requires_grad_(True)
    u = model(X)
    du = torch.autograd.grad(u, X, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    u_x, u_t = du[:, 0:1], du[:, 1:2]
    u_xx = torch.autograd.grad(u_x, X, grad_outputs=torch.ones_like(u_x),
                               create_graph=True)[0][:, 0:1]
    return u_t + u * u_x - nu * u_xx


def losses(model, X_f):
    f = residual(model, X_f)
    return (torch.mean((model(X_0) - u_0) ** 2) + torch.mean((model(X_b) - u_b) ** 2),
            torch.mean(f ** 2))


def burgers_exact(x, t, n_quad=40):
    """Cole-Hopf: u = -int sin(pi(x-e)) F(x-e) G(e) de / int F(x-e) G(e) de."""
    nodes, weights = np.polynomial.hermite.hermgauss(n_quad)
    eta = torch.from_numpy(nodes) * torch.sqrt(4 * nu * t)     # (n, quad), float64
    w = torch.from_numpy(weights)
    y = x - eta
    F = torch.exp(-torch.cos(math.pi * y) / (2 * math.pi * nu))
    num = -(torch.sin(math.pi * y) * F * w).sum(-1, keepdim=True)
    den = (F * w).sum(-1, keepdim=True)
    return num / den


xs, ts = torch.meshgrid(torch.linspace(-1, 1, 21), torch.tensor([0.25, 0.5, 0.75]),
                        indexing="ij")
X_star = torch.stack([xs.flatten(), ts.flatten()], 1)
u_star = burgers_exact(X_star[:, :1], X_star[:, 1:])
print("reference u(0.5, t)", [round(v, 4) for v in u_star[45:48].flatten().tolist()])


def l2_error(model):
    with torch.no_grad():
        return (torch.linalg.vector_norm(model(X_star) - u_star)
                / torch.linalg.vector_norm(u_star)).item()


model = PINN([2, 20, 20, 20, 1])
adam = torch.optim.Adam(model.parameters(), lr=1e-2)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(adam, factor=0.5, patience=10)
for it in range(151):
    adam.zero_grad()
    loss_u, loss_f = losses(model, X_f)
    loss = loss_u + loss_f
    loss.backward()
    adam.step()
    plateau.step(loss.item())
    if it % 50 == 0:
        print(f"Adam {it:3d} loss_u {loss_u.item():.4f} loss_f {loss_f.item():.4f} "
              f"lr {adam.param_groups[0]['lr']:.4f}")
print("error after Adam", round(l2_error(model), 3))

# residual-based adaptive refinement: add the candidates with the largest |residual|
candidates = lower + (upper - lower) * sobol.draw(256)
res = residual(model, candidates).detach().abs().squeeze(1)
worst = torch.topk(res, 32).indices
X_f = torch.cat([X_f, candidates[worst]])
print("RAR added", worst.numel(), "points; worst residual", round(res.max().item(), 2),
      "collocation set", tuple(X_f.shape))

lbfgs = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=40, max_eval=50,
                          history_size=50, tolerance_grad=1e-7, tolerance_change=1e-9,
                          line_search_fn="strong_wolfe")
calls = []


def closure():
    lbfgs.zero_grad()
    loss_u, loss_f = losses(model, X_f)
    loss = loss_u + loss_f
    loss.backward()
    calls.append(loss.item())
    return loss


for outer in range(3):
    loss = lbfgs.step(closure)
    state = lbfgs.state[lbfgs._params[0]]
    print(f"LBFGS round {outer} loss {loss.item():.4f} evals {len(calls)} "
          f"n_iter {state['n_iter']} func_evals {state['func_evals']}")
print("LBFGS loss decreased:", calls[-1] < calls[0], "first", round(calls[0], 4))
print("error after LBFGS", round(l2_error(model), 2))
with torch.no_grad():
    print("prediction at x=0.5", [round(v, 2) for v in model(X_star[45:48]).flatten().tolist()])
