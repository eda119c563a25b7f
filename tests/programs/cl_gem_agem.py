"""Gradient Episodic Memory (Lopez-Paz & Ranzato) and Averaged GEM (Chaudhry et al.) on
permuted-feature tasks, the way the reference implementations are written: every task keeps a
small episodic memory (``torch.utils.data.Subset`` of its training set); before each step the
gradient on every past memory is flattened into one column of a ``(n_params, n_tasks)``
matrix (``p.grad.view(-1)`` copied into slices), violations are found with a dot product, and
the projected gradient is written back into ``.grad`` before ``optimizer.step()``. GEM solves
its small dual quadratic program with projected gradient ascent written in torch; A-GEM
projects onto one averaged reference gradient drawn from a ``ConcatDataset`` of all memories.

Prints the loss per epoch, the accuracy matrix R[i, j] (accuracy on task j after training
task i), average accuracy, backward transfer and how many steps needed a projection; a frozen
``copy.deepcopy`` snapshot (no ``.grad`` carried over) and ``parameters_to_vector`` round trip.
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.utils.data import ConcatDataset, DataLoader, Subset, TensorDataset

rng = np.random.default_rng(0)
dim, n_classes, n_tasks, n_train, n_test = 16, 4, 3, 160, 80
base_means = rng.normal(scale=1.2, size=(n_classes, dim)).astype(np.float32)


def make_split(perm, n):
    y = rng.integers(0, n_classes, size=n)
    x = base_means[y] + rng.normal(scale=1.0, size=(n, dim)).astype(np.float32)
    x = x[:, perm]  # every task permutes the input features
    return TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y).long())


perms = [np.arange(dim)] + [rng.permutation(dim) for _ in range(n_tasks - 1)]
train_sets = [make_split(p, n_train) for p in perms]
test_sets = [make_split(p, n_test) for p in perms]


def make_net():
    return nn.Sequential(nn.Linear(dim, 48), nn.ReLU(), nn.Linear(48, 48), nn.ReLU(),
                         nn.Linear(48, n_classes))


def grad_vector(params):
    """Flatten every parameter's .grad into one vector (zeros where a grad is missing)."""
    sizes = [p.numel() for p in params]
    out = torch.zeros(sum(sizes))
    offset = 0
    for p, n in zip(params, sizes):
        if p.grad is not None:
            out[offset:offset + n].copy_(p.grad.view(-1))
        offset += n
    return out


def write_grad(params, vec):
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(vec[offset:offset + n].view_as(p))
        offset += n


def solve_gem_dual(G, g, iters=200, margin=0.5):
    """min_v 0.5 v^T G G^T v + g^T G^T v (1 + margin), v >= 0, by projected gradient."""
    GG = G.t() @ G
    q = G.t() @ g
    lr = 1.0 / (torch.linalg.matrix_norm(GG, ord=2) + 1e-8)
    v = torch.zeros(G.shape[1])
    for _ in range(iters):
        v = torch.clamp(v - lr * (GG @ v + q + margin * q.abs()), min=0.0)
    return g + G @ v, v


@torch.no_grad()
def accuracy(model, ds):
    model.eval()
    x, y = ds.tensors
    acc = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train()
    return acc


def run(method, mem_per_task=24, epochs=4):
    torch.manual_seed(1)
    model = make_net()
    params = [p for p in model.parameters() if p.requires_grad]
    n_params = sum(p.numel() for p in params)
    optimizer = torch.optim.SGD(params, lr=0.05, momentum=0.0)
    memories = []
    R = torch.zeros(n_tasks, n_tasks)
    projections = 0
    g = torch.Generator().manual_seed(7)
    for t in range(n_tasks):
        loader = DataLoader(train_sets[t], batch_size=16, shuffle=True, generator=g)
        losses = []
        for epoch in range(epochs):
            total, count = 0.0, 0
            for xb, yb in loader:
                if method == "gem" and memories:
                    G = torch.zeros(n_params, len(memories))
                    for k, mem in enumerate(memories):
                        mx, my = next(iter(DataLoader(mem, batch_size=len(mem))))
                        optimizer.zero_grad()
                        F.cross_entropy(model(mx), my).backward()
                        G[:, k].copy_(grad_vector(params))
                if method == "agem" and memories:
                    replay = DataLoader(ConcatDataset(memories), batch_size=32, shuffle=True,
                                        generator=g)
                    mx, my = next(iter(replay))
                    optimizer.zero_grad()
                    F.cross_entropy(model(mx), my).backward()
                    g_ref = grad_vector(params)
                optimizer.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                if method == "gem" and memories:
                    gv = grad_vector(params)
                    if (G.t() @ gv).lt(0).any():
                        gv, _ = solve_gem_dual(G, gv)
                        write_grad(params, gv)
                        projections += 1
                if method == "agem" and memories:
                    gv = grad_vector(params)
                    dot = torch.dot(gv, g_ref)
                    if dot < 0:
                        gv = gv - dot / torch.dot(g_ref, g_ref) * g_ref
                        write_grad(params, gv)
                        projections += 1
                optimizer.step()
                total += loss.item() * len(yb)
                count += len(yb)
            losses.append(total / count)
        print(f"{method:5s} task {t} losses " + " ".join(f"{v:.4f}" for v in losses))
        idx = torch.randperm(len(train_sets[t]), generator=g)[:mem_per_task]
        memories.append(Subset(train_sets[t], idx.tolist()))
        for j in range(n_tasks):
            R[t, j] = accuracy(model, test_sets[j])
    return model, R, projections


results = {}
for method in ["sgd", "gem", "agem"]:
    model, R, projections = run(method)
    results[method] = R
    avg = R[-1].mean().item()
    bwt = (R[-1, :-1] - torch.diagonal(R)[:-1]).mean().item()
    print(f"{method:5s} R =")
    for row in R.tolist():
        print("   ", " ".join(f"{v:.3f}" for v in row))
    print(f"{method:5s} ACC {avg:.4f} BWT {bwt:+.4f} projections {projections}")

# a frozen snapshot for distillation, taken right after training (the grads are still there)
teacher = copy.deepcopy(model).requires_grad_(False)
print("live grads", sum(p.grad is not None for p in model.parameters()),
      "| snapshot grads", sum(p.grad is not None for p in teacher.parameters()),
      "| snapshot frozen", not any(p.requires_grad for p in teacher.parameters()),
      "| same weights", all(torch.equal(a, b) for a, b in zip(teacher.parameters(),
                                                                model.parameters())))

# the flat-vector helpers round trip
vec = parameters_to_vector(model.parameters())
print("n params", vec.numel(), "norm", f"{vec.norm().item():.4f}")
clone = make_net()
vector_to_parameters(vec, clone.parameters())
x0 = test_sets[0].tensors[0][:5]
print("round trip equal:", torch.allclose(clone(x0), model(x0)))

# the GEM dual on a hand-made conflict: the projected gradient no longer opposes a memory
G = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
gv = torch.tensor([-1.0, 0.5, 0.2])
proj, v = solve_gem_dual(G, gv, iters=500, margin=0.0)
print("dual v", [round(a, 4) for a in v.tolist()],
      "projected", [round(a, 4) for a in proj.tolist()], "G^T g~",
      [round(a, 4) for a in (G.t() @ proj).tolist()])
print("best method by ACC:", max(results, key=lambda m: results[m][-1].mean().item()))
