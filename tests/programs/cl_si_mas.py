"""Regularisation-based continual learning with importance weights, after the public
Synaptic Intelligence (Zenke et al.) and Memory Aware Synapses (Aljundi et al.) code:

* SI accumulates, for every parameter, the path integral ``-grad * delta`` over training; the
  gradients are caught by ``Tensor.register_hook`` and the steps counted with
  ``register_post_accumulate_grad_hook``; at the end of a task the importance is
  ``omega / (delta_total ** 2 + xi)``.
* MAS measures how sensitive the squared L2 norm of the output is to each parameter, one sample
  at a time, with ``torch.func.vmap(torch.func.grad(...))`` over ``functional_call``.

Both add ``lambda * sum(Omega * (theta - theta_old) ** 2)`` to the loss. Tasks are
domain-incremental (rotated inputs, one shared head); Adam is reset between tasks, a forward
hook records mean activations, validation uses ``random_split`` with a generator, and the whole
state (model, optimizer, importances) is checkpointed to a ``BytesIO`` after every task and
reloaded into a fresh model.
"""
import collections
import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap
from torch.utils.data import DataLoader, TensorDataset, random_split

rng = np.random.default_rng(2)
n_tasks, n_per_task, n_classes = 3, 120, 3
centers = rng.normal(scale=1.0, size=(n_classes, 2)).astype(np.float32) * 2.0


def make_task(angle):
    y = rng.integers(0, n_classes, size=n_per_task)
    x = centers[y] + rng.normal(scale=0.6, size=(n_per_task, 2)).astype(np.float32)
    c, s = math.cos(angle), math.sin(angle)
    x = x @ np.array([[c, -s], [s, c]], dtype=np.float32)
    feats = np.concatenate([x, np.sin(x), x[:, :1] * x[:, 1:]], axis=1).astype(np.float32)
    return TensorDataset(torch.from_numpy(feats), torch.from_numpy(y).long())


tasks = [make_task(a) for a in (0.0, 1.0, 2.0)]
splits = [random_split(ds, [0.75, 0.25], generator=torch.Generator().manual_seed(i))
          for i, ds in enumerate(tasks)]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(5, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh())
        self.head = nn.Linear(32, n_classes)

    def forward(self, x):
        return self.head(self.body(x))


class SynapticIntelligence:
    def __init__(self, model, xi=0.1):
        self.model, self.xi = model, xi
        self.params = dict(model.named_parameters())
        self.omega = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.anchor = {n: p.detach().clone() for n, p in self.params.items()}
        self.running = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.start = {n: p.detach().clone() for n, p in self.params.items()}
        self.last_grad = {}
        self.accumulations = collections.Counter()
        self.handles = []
        for n, p in self.params.items():
            self.handles.append(p.register_hook(self._keep(n)))
            self.handles.append(p.register_post_accumulate_grad_hook(self._count(n)))

    def _keep(self, name):
        def hook(g):
            self.last_grad[name] = g.detach().clone()
        return hook

    def _count(self, name):
        def hook(p):
            self.accumulations[name] += 1
        return hook

    def before_step(self):
        self.prev = {n: p.detach().clone() for n, p in self.params.items()}

    def after_step(self):
        for n, p in self.params.items():
            if n in self.last_grad:
                self.running[n] -= self.last_grad[n] * (p.detach() - self.prev[n])

    def consolidate(self):
        for n, p in self.params.items():
            delta = p.detach() - self.start[n]
            self.omega[n] += F.relu(self.running[n]) / (delta.pow(2) + self.xi)
            self.running[n].zero_()
            self.start[n] = p.detach().clone()
            self.anchor[n] = p.detach().clone()

    def penalty(self):
        return sum((self.omega[n] * (p - self.anchor[n]).pow(2)).sum()
                   for n, p in self.params.items())


def mas_importance(model, x):
    params = {n: p.detach().clone() for n, p in model.named_parameters()}

    def sq_norm(p, xi):
        out = functional_call(model, p, (xi.unsqueeze(0),))
        return out.pow(2).sum() / out.shape[-1]

    model.eval()
    per_sample = vmap(grad(sq_norm), in_dims=(None, 0))(params, x)
    model.train()
    return {n: g.abs().mean(0) for n, g in per_sample.items()}, params


@torch.no_grad()
def evaluate(model, upto):
    model.eval()
    accs = []
    for t in range(upto + 1):
        x, y = splits[t][1][:]
        accs.append((model(x).argmax(1) == y).float().mean().item())
    model.train()
    return accs


def run(method, lam):
    torch.manual_seed(4)
    model = Net()
    activations = collections.defaultdict(list)
    hook = model.body[1].register_forward_hook(
        lambda mod, inp, out: activations["tanh1"].append(out.abs().mean().item())
        if mod.training else None)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    si = SynapticIntelligence(model) if method == "si" else None
    mas_omega, mas_anchor = None, None
    checkpoint = None
    for t in range(n_tasks):
        optimizer.state = collections.defaultdict(dict)  # reset Adam's moments per task
        g = torch.Generator().manual_seed(100 + t)
        loader = DataLoader(splits[t][0], batch_size=15, shuffle=True, generator=g)
        for epoch in range(12):
            total = 0.0
            for xb, yb in loader:
                loss = F.cross_entropy(model(xb), yb)
                if si is not None and t > 0:
                    loss = loss + lam * si.penalty()
                if mas_omega is not None:
                    loss = loss + lam * sum((mas_omega[n] * (p - mas_anchor[n]).pow(2)).sum()
                                            for n, p in model.named_parameters())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if si is not None:
                    si.before_step()
                optimizer.step()
                if si is not None:
                    si.after_step()
                total += loss.item() * len(yb)
        print(f"{method:4s} task {t} final-epoch loss {total / len(splits[t][0]):.4f}")
        if si is not None:
            si.consolidate()
        if method == "mas":
            x_all = torch.stack([splits[t][0][i][0] for i in range(len(splits[t][0]))])
            new_omega, mas_anchor = mas_importance(model, x_all)
            mas_omega = new_omega if mas_omega is None else {
                n: (mas_omega[n] * t + new_omega[n]) / (t + 1) for n in new_omega}
        accs = evaluate(model, t)
        print(f"{method:4s} after task {t}: " + " ".join(f"{a:.3f}" for a in accs)
              + f" mean {np.mean(accs):.3f}")
        buf = io.BytesIO()
        importances = si.omega if si is not None else (mas_omega or {})
        torch.save({"model": model.state_dict(), "optim": optimizer.state_dict(),
                    "omega": importances, "task": t}, buf)
        checkpoint = buf.getvalue()
    hook.remove()
    print(f"{method:4s} mean |tanh1| first {activations['tanh1'][0]:.4f} "
          f"last {activations['tanh1'][-1]:.4f} calls {len(activations['tanh1'])}")
    return model, optimizer, si, mas_omega, checkpoint


run("fine", 0.0)
model, optimizer, si, _, ckpt = run("si", 0.5)
print("si accumulations:", si.accumulations["head.bias"], "==", si.accumulations["body.0.weight"])
for n, w in si.omega.items():
    print(f"  omega {n:14s} sum {w.sum().item():.4f} max {w.max().item():.4f}")
for h in si.handles:
    h.remove()

state = torch.load(io.BytesIO(ckpt), weights_only=True)
fresh = Net()
missing = fresh.load_state_dict(state["model"])
print("reloaded task", state["task"], "| keys ok:", missing.missing_keys == [],
      missing.unexpected_keys == [])
fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.01)
fresh_opt.load_state_dict(state["optim"])
print("optimizer steps per param:", sorted({int(s["step"]) for s in fresh_opt.state.values()}),
      "| lr", fresh_opt.param_groups[0]["lr"], "| betas", fresh_opt.param_groups[0]["betas"])
x_val, _ = splits[0][1][:]
print("same predictions:", torch.equal(fresh(x_val).argmax(1), model(x_val).argmax(1)))

model, _, _, mas_omega, _ = run("mas", 2.0)
for n, w in mas_omega.items():
    print(f"  mas {n:14s} mean {w.mean().item():.5f} max {w.max().item():.5f}")
