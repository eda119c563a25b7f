"""Jacobians, Hessians and vector products with torch.autograd.grad alone: row-by-row
Jacobian, vector-Jacobian products, Hessian-vector products (create_graph), a gradient
penalty, and Newton's method."""
import torch


def f(x):
    return torch.stack([x[0] ** 2 * x[1], 5 * x[0] + torch.sin(x[1]), x[1] * x[2].exp()])


x = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64, requires_grad=True)
y = f(x)
rows = []
for i in range(y.numel()):
    (g,) = torch.autograd.grad(y[i], x, retain_graph=True)
    rows.append(g)
jac = torch.stack(rows)
print(jac.round(decimals=5))

# the same Jacobian with one backward per basis vector through grad_outputs
basis = torch.eye(3, dtype=torch.float64)
jac2 = torch.stack([torch.autograd.grad(y, x, grad_outputs=v, retain_graph=True)[0]
                    for v in basis])
print(torch.allclose(jac, jac2))

# vector-Jacobian product, as in the autograd tutorial
x2 = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
y2 = x2 * 2
while y2.data.norm() < 1000:
    y2 = y2 * 2
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y2.backward(v)
print(y2.detach(), x2.grad)

# Hessian of a scalar function, row by row with create_graph
def energy(p):
    return (p[0] ** 2 * p[1] + p[1] ** 3 - 3 * p[0] * p[2] + p[2] ** 4).sum()


p = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64, requires_grad=True)
(grad,) = torch.autograd.grad(energy(p), p, create_graph=True)
hess = torch.stack([torch.autograd.grad(grad[i], p, retain_graph=True)[0] for i in range(3)])
print(grad.detach(), hess, torch.allclose(hess, hess.t()))
vec = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
(hvp,) = torch.autograd.grad(grad, p, grad_outputs=vec)
print(hvp, torch.allclose(hvp, hess @ vec))

# gradient penalty (WGAN-GP style): the norm of d critic / d input, backpropagated
critic = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
with torch.no_grad():
    for i, q in enumerate(critic.parameters()):
        q.copy_(torch.linspace(-1, 1, q.numel()).view_as(q) * (0.5 + i))
interp = torch.tensor([[0.2, -0.4, 0.9], [1.0, 0.0, -0.5]], requires_grad=True)
out = critic(interp)
(g_in,) = torch.autograd.grad(out, interp, grad_outputs=torch.ones_like(out),
                              create_graph=True, retain_graph=True)
penalty = ((g_in.norm(2, dim=1) - 1) ** 2).mean()
penalty.backward()
print(f"{penalty.item():.5f}", critic[0].weight.grad.abs().sum().round(decimals=4))

# Newton's method for a root of a vector function
z = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)


def system(z):
    return torch.stack([z[0] ** 2 + z[1] ** 2 - 4, z[0] - z[1] ** 3])


for it in range(6):
    F_ = system(z)
    J = torch.stack([torch.autograd.grad(F_[i], z, retain_graph=True)[0] for i in range(2)])
    with torch.no_grad():
        z -= torch.linalg.solve(J, F_)
    print(it, z.detach().round(decimals=6).tolist())
print(system(z).abs().max().item() < 1e-10)

# allow_unused, and grads of several inputs at once
a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(3.0, requires_grad=True)
c = torch.tensor(4.0, requires_grad=True)
ga, gb, gc = torch.autograd.grad(a * b, (a, b, c), allow_unused=True)
print(ga, gb, gc)
ga, gc = torch.autograd.grad(a * b, (a, c), allow_unused=True, materialize_grads=True)
print(ga, gc)
try:
    torch.autograd.grad(a * b, (a, c))
except RuntimeError as err:
    print("RuntimeError:", str(err).split(".")[0])
