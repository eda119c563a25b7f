"""A physics-informed neural network: solve u''(x) = -pi^2 sin(pi x) on [0, 1] with u(0) =
u(1) = 0 by penalising the PDE residual at collocation points. The second derivative comes
from torch.autograd.grad with create_graph=True twice; the loss is trained with Adam and then
polished with L-BFGS (closure), and the solution is compared with the exact sin(pi x)."""
import math

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)  # second derivatives are cleaner in double precision
rng = np.random.default_rng(2)


class PINN(nn.Module):
    def __init__(self, width=20, depth=3):
        super(PINN, self).__init__()
        layers = [nn.Linear(1, width), nn.Tanh()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.Tanh()]
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


model = PINN()
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, nn.Linear):
            # Xavier normal, as PINN codes use, from fixed draws
            std = math.sqrt(2.0 / (m.in_features + m.out_features))
            m.weight.copy_(torch.from_numpy(rng.normal(scale=std, size=tuple(m.weight.shape))))
            m.bias.zero_()
print(model)
print("default dtype:", torch.get_default_dtype(), "weight dtype:", model.net[0].weight.dtype)

x_col = torch.from_numpy(np.sort(rng.uniform(0, 1, size=(64, 1))), ).requires_grad_(True)
x_bc = torch.tensor([[0.0], [1.0]])
u_bc = torch.zeros(2, 1)


def f(x):
    return -(math.pi ** 2) * torch.sin(math.pi * x)


def residual(x):
    u = model(x)
    u_x = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    u_xx = torch.autograd.grad(u_x, x, grad_outputs=torch.ones_like(u_x), create_graph=True)[0]
    return u_xx - f(x)


def loss_fn():
    loss_pde = residual(x_col).pow(2).mean()
    loss_bc = (model(x_bc) - u_bc).pow(2).mean()
    return loss_pde + 10.0 * loss_bc, loss_pde, loss_bc


optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for it in range(300):
    optimizer.zero_grad()
    loss, lp, lb = loss_fn()
    loss.backward()
    optimizer.step()
    if it % 100 == 0:
        print("adam {:3d} loss {:.4f} pde {:.4f} bc {:.5f}".format(it, loss.item(), lp.item(),
                                                                  lb.item()))

lbfgs = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=50, history_size=20,
                          line_search_fn="strong_wolfe")


def closure():
    lbfgs.zero_grad()
    loss, _, _ = loss_fn()
    loss.backward()
    return loss


for outer in range(3):
    loss = lbfgs.step(closure)
print("after L-BFGS loss < 1e-3:", loss_fn()[0].item() < 1e-3)

x_test = torch.linspace(0, 1, 11).unsqueeze(1)
with torch.no_grad():
    u_pred = model(x_test)
u_true = torch.sin(math.pi * x_test)
err = (u_pred - u_true).abs()
print("max abs error {:.3f}, relative L2 {:.3f}".format(
    err.max().item(), (torch.linalg.norm(u_pred - u_true) / torch.linalg.norm(u_true)).item()))
print("u(0.5) = {:.2f} (exact 1.00)".format(u_pred[5].item()))
print("u:", [round(v, 2) + 0.0 for v in u_pred.squeeze(1).tolist()])

# the residual's derivative check against a finite difference of the network itself
x0 = torch.tensor([[0.3]], requires_grad=True)
u0 = model(x0)
du = torch.autograd.grad(u0, x0, create_graph=True)[0]
d2u = torch.autograd.grad(du, x0)[0]
h = 1e-4
with torch.no_grad():
    fd = (model(x0 + h) - 2 * model(x0) + model(x0 - h)) / h ** 2
print("autograd u'' matches finite difference:", abs(d2u.item() - fd.item()) < 1e-3,
      "u'(0.3) = {:.2f}".format(du.item()))
print("hessian via functional API:",
      round(torch.autograd.functional.hessian(lambda t: model(t.view(1, 1)).sum(),
                                              torch.tensor([0.3])).item(), 1))
