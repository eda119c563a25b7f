"""Weight parametrizations as GAN and normalizing-flow repositories use them: the
``torch.nn.utils.parametrizations`` trio (``weight_norm``, ``spectral_norm``, ``orthogonal``)
and ``torch.nn.utils.parametrize.register_parametrization`` with custom modules.

Shows what a user inspects when adopting them: the ``parametrizations.weight.original0`` /
``original1`` state_dict keys, ``_u``/``_v`` power-iteration buffers, ``parametrize.cached()``
and its ``_cache``, ``is_parametrized``, ``right_inverse`` on assignment, stacking two
parametrizations, ``unsafe=True`` for a shape-changing parametrization, loading a state_dict
into a parametrized module, and ``remove_parametrizations`` with ``leave_parametrized``. A
spectrally normalized discriminator and an orthogonal RNN-style recurrence are trained briefly.
Weights come from ``torch.manual_seed``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as P
from torch.nn.utils.parametrizations import orthogonal, spectral_norm, weight_norm

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


print("== weight_norm ==")
lin = weight_norm(nn.Linear(5, 3), name="weight", dim=0)
print(type(lin.parametrizations).__name__, type(lin.parametrizations.weight).__name__)
print(list(lin.state_dict().keys()))
g = lin.parametrizations.weight.original0
v = lin.parametrizations.weight.original1
print("g", tuple(g.shape), "v", tuple(v.shape))
print("g equals row norms:", torch.allclose(g.squeeze(1), v.norm(dim=1)))
print(g)
with torch.no_grad():
    g.mul_(2.0)
print("row norms after doubling g", r(lin.weight.norm(dim=1)))
print(lin.weight)
print([n for n, _ in lin.named_parameters()])
print("is_parametrized", P.is_parametrized(lin), P.is_parametrized(lin, "bias"))

conv = weight_norm(nn.Conv1d(2, 4, 3), dim=None)
print("dim=None g shape", tuple(conv.parametrizations.weight.original0.shape))
print("conv weight norm", round(conv.weight.norm().item(), 4),
      round(conv.parametrizations.weight.original0.item(), 4))

print("== spectral_norm discriminator ==")
disc = nn.Sequential(
    spectral_norm(nn.Linear(2, 16)), nn.LeakyReLU(0.2),
    spectral_norm(nn.Linear(16, 16)), nn.LeakyReLU(0.2),
    spectral_norm(nn.Linear(16, 1)),
)
print([k for k in disc.state_dict().keys() if k.startswith("0.")])
sn = disc[0].parametrizations.weight[0]
print(type(sn).__name__, "n_power_iterations", sn.n_power_iterations, "eps", sn.eps)
print("_u", tuple(sn._u.shape), "_v", tuple(sn._v.shape))
u_before = sn._u.clone()
for _ in range(15):
    disc(torch.randn(4, 2))
print("u moved in train mode:", not torch.allclose(u_before, sn._u))
sigma = torch.linalg.matrix_norm(disc[2].weight.detach(), ord=2)
print(f"top singular value after power iteration {sigma.item():.3f}")
disc.eval()
u_eval = sn._u.clone()
w1 = disc[0].weight
w2 = disc[0].weight
print("eval: u frozen", torch.equal(u_eval, sn._u), "weights equal", torch.equal(w1, w2))
disc.train()

real = torch.randn(32, 2) * 0.5 + torch.tensor([2.0, -1.0])
fake = torch.randn(32, 2)
opt = torch.optim.Adam(disc.parameters(), lr=2e-3, betas=(0.0, 0.9))
for step in range(10):
    opt.zero_grad()
    loss = F.softplus(-disc(real)).mean() + F.softplus(disc(fake)).mean()
    loss.backward()
    opt.step()
    if step % 3 == 0:
        print(f"d step {step} loss {loss.item():.4f}")
# the Lipschitz bound: each layer's spectral norm stays near 1
with torch.no_grad():
    for i in (0, 2, 4):
        s = torch.linalg.svdvals(disc[i].weight)[0]
        print(f"layer {i} sigma {s.item():.2f}")

print("== orthogonal recurrence ==")
rnn_w = orthogonal(nn.Linear(6, 6, bias=False))
Q = rnn_w.weight
print("orthogonal:", torch.allclose(Q @ Q.T, torch.eye(6), atol=1e-5))
print(list(rnn_w.state_dict().keys()))
print("default map", rnn_w.parametrizations.weight[0].orthogonal_map)
cay = orthogonal(nn.Linear(4, 4, bias=False), orthogonal_map="cayley")
print("cayley det", round(torch.linalg.det(cay.weight).item(), 4))
householder = orthogonal(nn.Linear(5, 3), orthogonal_map="householder")
W = householder.weight
print("householder rows orthonormal:", torch.allclose(W @ W.T, torch.eye(3), atol=1e-5))

# a linear recurrence h_{t+1} = W h_t + x_t keeps the norm of h bounded with orthogonal W
xs = torch.randn(20, 6) * 0.1
target = torch.randn(6)
opt = torch.optim.SGD(rnn_w.parameters(), lr=0.1)
for epoch in range(6):
    h = torch.zeros(6)
    opt.zero_grad()
    for x in xs:
        h = rnn_w(h) + x
    loss = F.mse_loss(h, target)
    loss.backward()
    opt.step()
    if epoch % 2 == 1:
        print(f"epoch {epoch} loss {loss.item():.4f} |h| {h.norm().item():.3f}")
with torch.no_grad():
    Q = rnn_w.weight
    print("still orthogonal:", torch.allclose(Q @ Q.T, torch.eye(6), atol=1e-4))
# assigning an orthogonal matrix goes through right_inverse
with torch.no_grad():
    perm = torch.eye(6)[torch.tensor([1, 0, 2, 3, 5, 4])]
    rnn_w.weight = perm
print("after assignment", torch.allclose(rnn_w.weight, perm, atol=1e-5))


print("== custom parametrizations ==")


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class MatrixExponential(nn.Module):
    def forward(self, X):
        return torch.matrix_exp(X)

    def right_inverse(self, A):
        raise NotImplementedError("no matrix logarithm")


class LowRank(nn.Module):
    """Weight = U @ V: original is a tuple of two tensors; the shape changes, hence unsafe."""

    def __init__(self, rank):
        super().__init__()
        self.rank = rank

    def forward(self, U, V):
        return U @ V

    def right_inverse(self, W):
        U, S, Vh = torch.linalg.svd(W, full_matrices=False)
        s = S[: self.rank].sqrt()
        return U[:, : self.rank] * s, s[:, None] * Vh[: self.rank]


layer = nn.Linear(4, 4)
P.register_parametrization(layer, "weight", Symmetric())
print("symmetric", torch.allclose(layer.weight, layer.weight.T))
print(layer.parametrizations)
P.register_parametrization(layer, "weight", MatrixExponential())
print("stacked", len(layer.parametrizations.weight), "symmetric",
      torch.allclose(layer.weight, layer.weight.T, atol=1e-6))
eigs = torch.linalg.eigvalsh(layer.weight)
print("spd eigenvalues positive", bool((eigs > 0).all()))
try:
    layer.weight = torch.eye(4)
except NotImplementedError as e:
    print("NotImplementedError:", e)

calls = {"n": 0}


class Counting(nn.Module):
    def forward(self, X):
        calls["n"] += 1
        return X * 2


cached = nn.Linear(3, 3)
P.register_parametrization(cached, "weight", Counting())
for _ in range(3):
    _ = cached.weight
print("uncached calls", calls["n"])
calls["n"] = 0
with P.cached():
    for _ in range(3):
        _ = cached.weight
    print("cached calls", calls["n"], "cache keys", len(P._cache))
print("cache cleared", len(P._cache))

lowrank = nn.Linear(6, 5, bias=False)
P.register_parametrization(lowrank, "weight", LowRank(2), unsafe=True)
print(list(lowrank.state_dict().keys()))
print("rank", torch.linalg.matrix_rank(lowrank.weight.detach()).item(),
      "U", tuple(lowrank.parametrizations.weight.original0.shape),
      "V", tuple(lowrank.parametrizations.weight.original1.shape))

# without unsafe, a shape-changing parametrization is refused
class Flatten(nn.Module):
    def forward(self, X):
        return X.flatten()


try:
    P.register_parametrization(nn.Linear(2, 2), "weight", Flatten())
except ValueError as e:
    print("ValueError:", str(e).split("\n")[0][:70])

# a state_dict from one parametrized module loads into another
src = weight_norm(nn.Linear(3, 2))
dst = weight_norm(nn.Linear(3, 2))
print("load", dst.load_state_dict(src.state_dict()))
print("same weight", torch.equal(src.weight, dst.weight))

# removing: keep the current value, or go back to the original tensor
sym = nn.Linear(3, 3, bias=False)
P.register_parametrization(sym, "weight", Symmetric())
before = sym.weight.detach().clone()
P.remove_parametrizations(sym, "weight", leave_parametrized=True)
print("after removal", type(sym.weight).__name__, torch.equal(sym.weight, before),
      P.is_parametrized(sym), hasattr(sym, "parametrizations"))
sym2 = nn.Linear(3, 3, bias=False)
P.register_parametrization(sym2, "weight", Symmetric())
orig = sym2.parametrizations.weight.original.detach().clone()
P.remove_parametrizations(sym2, "weight", leave_parametrized=False)
print("original kept", torch.equal(sym2.weight, orig))
try:
    P.remove_parametrizations(sym2, "weight")
except ValueError as e:
    print("ValueError:", e)
print(type(sym2).__name__, type(lin).__name__, type(lin).__mro__[1].__name__)
