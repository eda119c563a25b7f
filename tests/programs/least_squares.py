"""Least squares the scientific-computing way: polynomial fits with torch.linalg.lstsq and
torch.linalg.pinv on a Vandermonde matrix, rank checks, and the same fit by gradient descent."""
import numpy as np
import torch

rng = np.random.default_rng(11)
x = torch.from_numpy(np.linspace(-1, 1, 40))
y = 0.5 - 2.0 * x + 3.0 * x ** 2 + 0.01 * torch.from_numpy(rng.standard_normal(40))

V = torch.linalg.vander(x, N=3)  # columns 1, x, x^2
print(V.shape, V.dtype, V[:2])
print("rank", torch.linalg.matrix_rank(V).item(), torch.linalg.matrix_rank(V[:, [0, 0, 1]]).item())

result = torch.linalg.lstsq(V, y.unsqueeze(1))
print(type(result).__name__, len(result))
print("lstsq", result.solution.squeeze(1).round(decimals=2).tolist(), result.rank,
      result.residuals.shape, result.singular_values.shape)
coef = torch.linalg.pinv(V) @ y
print("pinv", coef.round(decimals=2).tolist())
print("pinv(A) A = I", torch.allclose(torch.linalg.pinv(V) @ V, torch.eye(3, dtype=V.dtype)))
print("pinverse", torch.allclose(torch.pinverse(V), torch.linalg.pinv(V)))

# a batch of problems at once, and several right-hand sides
As = torch.from_numpy(rng.standard_normal((2, 5, 3)))
Bs = torch.from_numpy(rng.standard_normal((2, 5, 2)))
sol = torch.linalg.lstsq(As, Bs).solution
print("batched", sol.shape, torch.allclose(sol, torch.linalg.pinv(As) @ Bs))

# rank-deficient input: pinv drops the null direction
D = torch.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]], dtype=torch.float64)
print("deficient rank", torch.linalg.matrix_rank(D).item(),
      torch.linalg.pinv(D).round(decimals=5).tolist())

# gradients flow through pinv and lstsq
Vg = V.clone().requires_grad_()
torch.linalg.pinv(Vg).sum().backward()
print("d pinv", Vg.grad.shape, round(Vg.grad.sum().item(), 4))
Vg.grad = None
torch.linalg.lstsq(Vg, y.unsqueeze(1)).solution.pow(2).sum().backward()
print("d lstsq", round(Vg.grad.abs().sum().item(), 4))

# the same fit by gradient descent on the coefficients
w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
opt = torch.optim.LBFGS([w], lr=1, max_iter=50, line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    loss = ((V @ w - y) ** 2).mean()
    loss.backward()
    return loss


opt.step(closure)
print("lbfgs", w.detach().round(decimals=2).tolist())

# einsum in the sublist form, as NumPy also writes it
print("sublist", torch.einsum(V, [0, 1], coef, [1], [0])[:3].round(decimals=3).tolist())
