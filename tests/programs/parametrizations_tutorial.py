"""Parametrizations, after PyTorch's parametrizations tutorial.

Symmetric and skew-symmetric weights, caching, concatenated parametrizations, right_inverse and
removing a parametrization; then the built-in orthogonal and spectral_norm parametrizations.
Weights come from NumPy; the program prints checks a learner makes (symmetry, orthogonality,
singular values) at a precision both libraries agree on.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.utils.parametrize as parametrize
from torch.nn.utils import parametrizations

rng = np.random.default_rng(0)


def init_(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return module


def rnd(t, nd=4):
    return [[round(v, nd) for v in row] for row in t.tolist()]


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


layer = init_(nn.Linear(3, 3))
parametrize.register_parametrization(layer, "weight", Symmetric())
A = layer.weight
assert torch.allclose(A, A.T)
print("symmetric weight:", rnd(A))
print(layer)
print(layer.parametrizations.weight.original.shape)


class Skew(nn.Module):
    def forward(self, X):
        A = X.triu(1)
        return A - A.transpose(-1, -2)


cnn = init_(nn.Conv2d(in_channels=5, out_channels=8, kernel_size=3))
parametrize.register_parametrization(cnn, "weight", Skew())
# Print a few kernels
print("skew kernels:", rnd(cnn.weight[0, 1]), rnd(cnn.weight[2, 2]))

# Inspecting a parametrized module
layer = init_(nn.Linear(3, 3))
parametrize.register_parametrization(layer, "weight", Skew())
print(f"Unparametrized:\n{type(nn.Linear(3, 3)).__name__}")
print(f"Parametrized type: {type(layer).__name__}")
print(f"Class bases: {[c.__name__ for c in type(layer).__bases__]}")
parametrized_weight = layer.parametrizations.weight
print(parametrized_weight)
print(parametrized_weight[0])
print(dict(layer.named_parameters()).keys())
print("is_parametrized:", parametrize.is_parametrized(layer),
      parametrize.is_parametrized(layer, "bias"))

# Caching the value of a parametrization
class NoisyParametrization(nn.Module):
    def forward(self, X):
        print("Computing the Parametrization")
        return X


layer = nn.Linear(4, 4)
parametrize.register_parametrization(layer, "weight", NoisyParametrization())
print("Here, layer.weight is recomputed every time we call it")
foo = layer.weight + layer.weight.T
bar = layer.weight.sum()
with parametrize.cached():
    print("Here, it is computed just the first time layer.weight is called")
    foo = layer.weight + layer.weight.T
    bar = layer.weight.sum()


# Concatenating parametrizations
class CayleyMap(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.register_buffer("Id", torch.eye(n))

    def forward(self, X):
        # (I + X)(I - X)^{-1}
        return torch.linalg.solve(self.Id - X, self.Id + X)


layer = init_(nn.Linear(3, 3))
parametrize.register_parametrization(layer, "weight", Skew())
parametrize.register_parametrization(layer, "weight", CayleyMap(3))
X = layer.weight
print("Cayley(Skew) is orthogonal:", torch.dist(X.T @ X, torch.eye(3)).item() < 1e-5)
print("two parametrizations:", [type(p).__name__ for p in layer.parametrizations.weight])


# Initializing parametrizations: right_inverse
class Skew2(nn.Module):
    def forward(self, X):
        A = X.triu(1)
        return A - A.transpose(-1, -2)

    def right_inverse(self, A):
        # We assume that A is skew-symmetric
        # We take the upper-triangular elements, as these are those used in the forward
        return A.triu(1)


layer = nn.Linear(3, 3)
parametrize.register_parametrization(layer, "weight", Skew2())
X = torch.from_numpy(rng.standard_normal((3, 3)).astype(np.float32))
X = X - X.T                             # X is now skew-symmetric
layer.weight = X                        # Initialize layer.weight to be X
print("weight == X after assignment:", torch.dist(layer.weight, X).item() < 1e-6)
print("original is triu(1):", rnd(layer.parametrizations.weight.original))

# Removing parametrizations
layer = init_(nn.Linear(3, 3))
print("Before:")
print(layer)
print(rnd(layer.weight))
parametrize.register_parametrization(layer, "weight", Skew())
print("\nParametrized:")
print(rnd(layer.weight))
parametrize.remove_parametrizations(layer, "weight")
print("\nAfter. Weight has skew-symmetric values but it is unconstrained:")
print(layer)
print(rnd(layer.weight))

layer = init_(nn.Linear(3, 3))
parametrize.register_parametrization(layer, "weight", Skew())
parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
print("leave_parametrized=False keeps the original:", rnd(layer.weight, 2))

# Built-in parametrizations: orthogonal and spectral_norm
torch.manual_seed(0)
orth = parametrizations.orthogonal(init_(nn.Linear(4, 4)))
Q = orth.weight
print("orthogonal: ||Q^T Q - I|| < 1e-5:", torch.dist(Q.T @ Q, torch.eye(4)).item() < 1e-5)
print("orthogonal det^2:", round(torch.linalg.det(Q).item() ** 2, 4))

# Train a few steps: the weight stays orthogonal
opt = torch.optim.SGD(orth.parameters(), lr=0.1)
inputs = torch.from_numpy(rng.standard_normal((8, 4)).astype(np.float32))
targets = torch.from_numpy(rng.standard_normal((8, 4)).astype(np.float32))
for step in range(3):
    loss = ((orth(inputs) - targets) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    Q = orth.weight
    print("step {} loss {:.4f} orthogonal {}".format(
        step, loss.item(), torch.dist(Q.T @ Q, torch.eye(4)).item() < 1e-5))

sn = init_(nn.Linear(5, 3))
W = sn.weight.detach().clone()
print("largest singular value before:", round(torch.linalg.matrix_norm(W, 2).item(), 4))
sn = parametrizations.spectral_norm(sn, n_power_iterations=50)
sn.eval()
print("after spectral_norm:", round(torch.linalg.matrix_norm(sn.weight, 2).item(), 3))
print("spectral_norm parametrization:", sn.parametrizations.weight[0].__class__.__name__)
print(sorted(k for k in sn.state_dict().keys()))
