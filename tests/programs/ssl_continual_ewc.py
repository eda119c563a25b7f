"""Continual learning on a split toy task, after public EWC implementations (Fisher information
from ``torch.autograd.grad`` of the log-likelihood, one sample at a time, a quadratic penalty
towards the old weights), replay-based continual learning (a reservoir buffer held as
registered buffers, filled by index assignment) and Learning without Forgetting (a frozen
``copy.deepcopy`` of the previous model distilling its old heads).

A shared trunk gets one head per task in an ``nn.ModuleDict`` that grows as tasks arrive (new
heads join the optimizer through ``add_param_group``). Plain fine-tuning, EWC, replay and LwF
each learn the three tasks in turn; the accuracy on every task seen so far is printed after
each task, so forgetting shows.
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(5)
dim, n_tasks, per_class = 10, 3, 40
# task t separates classes 2t and 2t+1; each class is a blob, all tasks share the input space
class_means = rng.normal(scale=0.7, size=(2 * n_tasks, dim)).astype(np.float32)
tasks = []
for t in range(n_tasks):
    ys = np.repeat([0, 1], per_class)
    xs = class_means[2 * t + ys] + rng.normal(scale=1.0, size=(2 * per_class, dim))
    order = rng.permutation(len(ys))
    tasks.append((torch.from_numpy(xs[order].astype(np.float32)),
                  torch.from_numpy(ys[order]).long()))


class MultiHeadNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(dim, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.heads = nn.ModuleDict()

    def add_head(self, task_id):
        self.heads[str(task_id)] = nn.Linear(32, 2)
        return self.heads[str(task_id)]

    def forward(self, x, task_id):
        return self.heads[str(task_id)](self.trunk(x))


class EWC:
    """Diagonal Fisher information of the trunk, penalising moves of important weights."""

    def __init__(self, model, task_id, x, y):
        self.params = {n: p for n, p in model.trunk.named_parameters() if p.requires_grad}
        self.means = {n: p.detach().clone() for n, p in self.params.items()}
        self.fisher = {n: torch.zeros_like(p) for n, p in self.params.items()}
        model.eval()
        for i in range(len(x)):
            log_probs = F.log_softmax(model(x[i:i + 1], task_id), dim=1)
            grads = torch.autograd.grad(log_probs[0, y[i]], list(self.params.values()))
            for (n, _), g in zip(self.params.items(), grads):
                self.fisher[n] += g.pow(2) / len(x)
        model.train()

    def penalty(self, model):
        loss = 0
        for n, p in model.trunk.named_parameters():
            loss = loss + (self.fisher[n] * (p - self.means[n]) ** 2).sum()
        return loss


class ReservoirBuffer(nn.Module):
    def __init__(self, capacity):
        super().__init__()
        self.capacity = capacity
        self.register_buffer("x", torch.zeros(capacity, dim))
        self.register_buffer("y", torch.zeros(capacity, dtype=torch.long))
        self.register_buffer("t", torch.full((capacity,), -1, dtype=torch.long))
        self.seen = 0

    @torch.no_grad()
    def add(self, xs, ys, task_id):
        for x, y in zip(xs, ys):
            if self.seen < self.capacity:
                slot = self.seen
            else:
                slot = torch.randint(0, self.seen + 1, (1,)).item()
            if slot < self.capacity:
                self.x[slot] = x
                self.y[slot] = y
                self.t[slot] = task_id
            self.seen += 1

    def sample(self, k):
        filled = min(self.seen, self.capacity)
        idx = torch.randperm(filled)[:k]
        return self.x[idx], self.y[idx], self.t[idx]


@torch.no_grad()
def evaluate(model, upto):
    model.eval()
    accs = []
    for t in range(upto + 1):
        x, y = tasks[t]
        accs.append((model(x, t).argmax(1) == y).float().mean().item())
    model.train()
    return accs


def run(method):
    torch.manual_seed(0)
    model = MultiHeadNet()
    optimizer = torch.optim.SGD(model.trunk.parameters(), lr=0.05, momentum=0.9)
    ewcs, buffer, old_model = [], ReservoirBuffer(24), None
    for task_id in range(n_tasks):
        head = model.add_head(task_id)
        optimizer.add_param_group({'params': head.parameters(), 'lr': 0.1})
        x, y = tasks[task_id]
        for epoch in range(15):
            for start in range(0, len(x), 20):
                xb, yb = x[start:start + 20], y[start:start + 20]
                loss = F.cross_entropy(model(xb, task_id), yb)
                if method == "ewc" and ewcs:
                    loss = loss + 200.0 * sum(e.penalty(model) for e in ewcs)
                if method == "replay" and task_id > 0:
                    bx, by, bt = buffer.sample(10)
                    for t in bt.unique().tolist():
                        sel = bt == t
                        loss = loss + F.cross_entropy(model(bx[sel], t), by[sel]) * \
                            sel.sum().item() / len(bt)
                if method == "lwf" and old_model is not None:
                    feats = model.trunk(xb)
                    with torch.no_grad():
                        old_feats = old_model.trunk(xb)
                    for t in range(task_id):
                        old_logits = old_model.heads[str(t)](old_feats)
                        new_logits = model.heads[str(t)](feats)
                        loss = loss + 4.0 * F.kl_div(F.log_softmax(new_logits / 2.0, dim=1),
                                                     F.softmax(old_logits / 2.0, dim=1),
                                                     reduction='batchmean')
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        if method == "ewc":
            ewcs.append(EWC(model, task_id, x, y))
        if method == "replay":
            buffer.add(x, y, task_id)
        if method == "lwf":
            old_model = copy.deepcopy(model).eval()
            old_model.requires_grad_(False)
        accs = evaluate(model, task_id)
        print("{:7s} after task {}: acc {} mean {:.3f}".format(
            method, task_id, " ".join("{:.3f}".format(a) for a in accs), np.mean(accs)))
    return model, optimizer, ewcs, buffer, old_model


run("finetune")
model, optimizer, ewcs, _, _ = run("ewc")
print("heads:", list(model.heads.keys()), "| '1' in heads:", "1" in model.heads,
      "| param groups:", len(optimizer.param_groups),
      [g['lr'] for g in optimizer.param_groups])
for i, e in enumerate(ewcs):
    total = sum(f.sum() for f in e.fisher.values())
    top = max(e.fisher.items(), key=lambda kv: kv[1].max().item())
    print("fisher task {}: total {:.4e} largest in {} ({:.4e})".format(
        i, total.item(), top[0], top[1].max().item()))
drift = {n: (p - ewcs[0].means[n]).norm().item() for n, p in model.trunk.named_parameters()}
print("trunk drift since task 0:", {n: round(v, 3) for n, v in drift.items()})

_, _, _, buffer, _ = run("replay")
print("buffer tasks:", torch.bincount(buffer.t, minlength=n_tasks).tolist(), "seen", buffer.seen,
      "| buffers:", [n for n, _ in buffer.named_buffers()])
state = buffer.state_dict()
restored = ReservoirBuffer(24)
restored.load_state_dict(state)
print("buffer state round trip:", torch.equal(restored.x, buffer.x),
      torch.equal(restored.t, buffer.t))

model, _, _, _, old_model = run("lwf")
print("old model frozen:", not any(p.requires_grad for p in old_model.parameters()),
      "training:", old_model.training, "| heads in old model:", len(old_model.heads))
