"""Gradient surgery for multi-task learning, in the style of the PCGrad reference port
(WeiChengTseng/Pytorch-PCGrad) and the MGDA / CAGrad baselines of LibMTL:

* an optimizer wrapper that back-propagates each task's loss separately
  (``retain_graph=True``), collects per-parameter gradients (``None`` for unused parameters,
  a shared mask), flattens them with ``torch.cat``/``torch.stack``, projects conflicting pairs
  (``torch.dot`` < 0) in a ``random.shuffle``-d order, and writes the merged vector back into
  ``p.grad`` with ``torch.split``/``view_as``;
* ``torch.autograd.grad(allow_unused=True, materialize_grads=True)``,
  ``parameters_to_vector``/``vector_to_parameters``;
* two-task MGDA (the min-norm convex combination in closed form) and the gradient conflict
  statistics (cosine similarity matrix from ``F.normalize``);
* hooks: ``Tensor.register_hook`` that records and rescales the shared representation's
  gradient, ``register_full_backward_hook`` on the trunk, ``register_forward_pre_hook``,
  ``register_post_accumulate_grad_hook`` counting accumulations, handles removed;
* ``clip_grad_norm_(foreach=False, error_if_nonfinite=True)`` and its error on ``inf``.
"""
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters

random.seed(0)
torch.manual_seed(0)
rng = np.random.default_rng(0)
N, D = 192, 8
X = torch.from_numpy(rng.normal(size=(N, D)).astype(np.float32))
A = torch.from_numpy(rng.normal(size=(D, 2)).astype(np.float32))
y1 = torch.sin(X @ A[:, 0])  # task 1: regression
y2 = ((X @ A[:, 1]) > 0).long()  # task 2: binary classification with 2 logits
y3 = torch.cos(-(X @ A[:, 0]))  # task 3: regression that conflicts with task 1's sign


class PCGrad:
    def __init__(self, optimizer, reduction="mean"):
        self._optim, self._reduction = optimizer, reduction

    @property
    def optimizer(self):
        return self._optim

    def zero_grad(self):
        return self._optim.zero_grad(set_to_none=True)

    def step(self):
        return self._optim.step()

    def pc_backward(self, objectives):
        grads, shapes, has_grads = self._pack_grad(objectives)
        pc_grad, conflicts = self._project_conflicting(grads, has_grads)
        pc_grad = self._unflatten_grad(pc_grad, shapes[0])
        self._set_grad(pc_grad)
        return conflicts

    def _project_conflicting(self, grads, has_grads):
        shared = torch.stack(has_grads).prod(0).bool()
        pc_grad = [g.clone() for g in grads]
        conflicts = 0
        for g_i in pc_grad:
            random.shuffle(grads)
            for g_j in grads:
                g_i_g_j = torch.dot(g_i, g_j)
                if g_i_g_j < 0:
                    conflicts += 1
                    g_i -= (g_i_g_j) * g_j / (g_j.norm() ** 2)
        merged_grad = torch.zeros_like(grads[0]).to(grads[0].device)
        if self._reduction == "mean":
            merged_grad[shared] = torch.stack([g[shared] for g in pc_grad]).mean(dim=0)
        else:
            merged_grad[shared] = torch.stack([g[shared] for g in pc_grad]).sum(dim=0)
        merged_grad[~shared] = torch.stack([g[~shared] for g in pc_grad]).sum(dim=0)
        return merged_grad, conflicts

    def _set_grad(self, grads):
        idx = 0
        for group in self._optim.param_groups:
            for p in group["params"]:
                p.grad = grads[idx]
                idx += 1

    def _pack_grad(self, objectives):
        grads, shapes, has_grads = [], [], []
        for obj in objectives:
            self._optim.zero_grad(set_to_none=True)
            obj.backward(retain_graph=True)
            grad, shape, has_grad = self._retrieve_grad()
            grads.append(self._flatten_grad(grad))
            has_grads.append(self._flatten_grad(has_grad))
            shapes.append(shape)
        return grads, shapes, has_grads

    def _unflatten_grad(self, grads, shapes):
        unflatten_grad, idx = [], 0
        for shape in shapes:
            length = int(np.prod(shape))
            unflatten_grad.append(grads[idx:idx + length].view(shape).clone())
            idx += length
        return unflatten_grad

    def _flatten_grad(self, grads):
        return torch.cat([g.flatten() for g in grads])

    def _retrieve_grad(self):
        grad, shape, has_grad = [], [], []
        for group in self._optim.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    shape.append(p.shape)
                    grad.append(torch.zeros_like(p).to(p.device))
                    has_grad.append(torch.zeros_like(p).to(p.device))
                    continue
                shape.append(p.grad.shape)
                grad.append(p.grad.clone())
                has_grad.append(torch.ones_like(p).to(p.device))
        return grad, shape, has_grad


class HardShared(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(D, 24), nn.GELU(), nn.Linear(24, 24), nn.SiLU())
        self.heads = nn.ModuleList([nn.Linear(24, 1), nn.Linear(24, 2), nn.Linear(24, 1)])
        self.rep_grad_norms = []

    def forward(self, x, scale_rep_grad=None):
        h = self.trunk(x)
        if h.requires_grad:
            def hook(g):
                self.rep_grad_norms.append(round(g.norm().item(), 4))
                return g * scale_rep_grad if scale_rep_grad is not None else None
            h.register_hook(hook)
        return [head(h) for head in self.heads]


def losses_of(model, x, idx, **kw):
    o1, o2, o3 = model(x, **kw)
    return [F.mse_loss(o1.squeeze(1), y1[idx]), F.cross_entropy(o2, y2[idx]),
            F.smooth_l1_loss(o3.squeeze(1), y3[idx], beta=0.5)]


def fmt(xs):
    return " ".join(f"{v:.4f}" for v in xs)


# ---------- 1. gradient conflict statistics at initialisation ----------
model = HardShared()
shared = list(model.trunk.parameters())
ls = losses_of(model, X, torch.arange(N))
task_grads = []
for i, l in enumerate(ls):
    gs = torch.autograd.grad(l, list(model.parameters()), retain_graph=True, allow_unused=True)
    print(f"task {i} unused params", sum(g is None for g in gs))
    gs = torch.autograd.grad(l, shared, retain_graph=True)
    task_grads.append(torch.cat([g.reshape(-1) for g in gs]))
G = torch.stack(task_grads)
cos = F.normalize(G, dim=1) @ F.normalize(G, dim=1).T
print("shared grad dim", G.shape[1], "cos", [fmt(r) for r in cos.tolist()])
mat = torch.autograd.grad(ls[0], list(model.heads.parameters()), retain_graph=True,
                          allow_unused=True, materialize_grads=True)
print("materialized", [tuple(g.shape) for g in mat], [f"{g.abs().sum():.4f}" for g in mat])

# ---------- 2. PCGrad training ----------
torch.manual_seed(1)
model = HardShared()
opt = PCGrad(torch.optim.Adam(model.parameters(), lr=3e-3))
perm_gen = torch.Generator().manual_seed(5)
for epoch in range(6):
    order = torch.randperm(N, generator=perm_gen)
    n_conf, tot = 0, torch.zeros(3)
    for idx in order.split(48):
        ls = losses_of(model, X[idx], idx)
        opt.zero_grad()
        n_conf += opt.pc_backward(ls)
        opt.step()
        tot += torch.stack(ls).detach()
    print(f"pcgrad epoch {epoch} losses {fmt((tot / 4).tolist())} conflicts {n_conf}")
vec = parameters_to_vector(model.parameters())
print("param vector", vec.shape[0], f"{vec.norm():.4f}", f"{vec[:3].sum():.4f}")

# ---------- 3. MGDA (two tasks, closed form) with hooks ----------
torch.manual_seed(1)
model = HardShared()
shared = list(model.trunk.parameters())
events = []
h_pre = model.trunk.register_forward_pre_hook(
    lambda m, inp: events.append(("pre", inp[0].shape[0])))
h_bwd = model.trunk.register_full_backward_hook(
    lambda m, gin, gout: events.append(("bwd", round(gout[0].abs().sum().item(), 3))))
accum = {}
acc_handles = [p.register_post_accumulate_grad_hook(
    lambda p, name=name: accum.__setitem__(name, accum.get(name, 0) + 1))
    for name, p in model.named_parameters()]
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
for step in range(12):
    idx = torch.arange(step * 16, step * 16 + 16) % N
    l1, l2, l3 = losses_of(model, X[idx], idx)
    g1 = torch.autograd.grad(l1, shared, retain_graph=True)
    g2 = torch.autograd.grad(l2, shared, retain_graph=True)
    v1, v2 = torch.cat([g.flatten() for g in g1]), torch.cat([g.flatten() for g in g2])
    gamma = torch.clamp(torch.dot(v2 - v1, v2) / (v1 - v2).pow(2).sum(), 0.0, 1.0)
    opt.zero_grad()
    (gamma * l1 + (1 - gamma) * l2).backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=False,
                                     error_if_nonfinite=True)
    opt.step()
    if step % 3 == 0:
        print(f"mgda step {step} gamma {gamma:.4f} l1 {l1:.4f} l2 {l2:.4f} norm {total:.4f}")
print("events", len(events), events[:4])
print("accumulations", sorted(set(accum.values())), len(accum))
h_pre.remove()
h_bwd.remove()
for h in acc_handles:
    h.remove()
model(X[:4])
print("after remove", len(events))

# scaled representation gradient via Tensor.register_hook
model.rep_grad_norms.clear()
model.zero_grad()
ls = losses_of(model, X[:32], torch.arange(32), scale_rep_grad=0.5)
ls[1].backward()
g_half = model.trunk[0].weight.grad.clone()
model.zero_grad()
ls = losses_of(model, X[:32], torch.arange(32))
ls[1].backward()
print("rep grad norms", model.rep_grad_norms,
      "ratio", f"{(g_half.norm() / model.trunk[0].weight.grad.norm()).item():.4f}")

# vector_to_parameters round trip and the non-finite error
before = parameters_to_vector(model.parameters()).clone()
vector_to_parameters(before * 0 + 0.01, model.parameters())
print("all 0.01:", all(bool((p == 0.01).all()) for p in model.parameters()))
vector_to_parameters(before, model.parameters())
model.trunk[0].weight.grad = torch.full_like(model.trunk[0].weight, float("inf"))
try:
    nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
except RuntimeError as e:
    print("RuntimeError:", str(e)[:80])
n = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
print("non-finite norm", n.item())
