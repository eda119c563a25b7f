"""Multi-gate mixture-of-experts (MMoE) and progressive layered extraction (PLE), as the
multi-task recommendation libraries (DeepCTR-Torch, PaddleRec ports, MTReclib) write them:

* experts as one batched module (``torch.func.stack_module_state`` + ``vmap`` over
  ``functional_call``) checked against a Python loop, per-task gates ``softmax`` over experts
  combined with ``torch.einsum``;
* PLE: shared and task-specific experts per level, a customised gate per task over its own and
  the shared experts, and a shared gate feeding the next level;
* heteroscedastic regression head returning a ``torch.distributions.Normal`` (``log_prob``),
  a ``Bernoulli(logits=)`` classification head, ``Independent`` for the multi-output task;
* parameter groups by name (experts / gates / towers, different learning rates and weight
  decay), a task tower added late through ``optimizer.add_param_group`` with a ``LambdaLR``
  rebuilt over all groups, ``optimizer.state_dict()`` and ``load_state_dict`` into a fresh
  optimizer that continues exactly;
* expert utilisation (mean gate weights), load-balancing entropy and a gate collapse metric.
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Bernoulli, Independent, Normal
from torch.func import functional_call, stack_module_state, vmap
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
N, D, E, H = 320, 12, 4, 16
X = rng.normal(size=(N, D)).astype(np.float32)
w_a, w_b = rng.normal(size=D), rng.normal(size=D)
w_b = 0.6 * w_a + 0.8 * (w_b - (w_b @ w_a) / (w_a @ w_a) * w_a)  # task correlation 0.6
y_reg = (X @ w_a + 0.5 * np.sin(X @ w_b)).astype(np.float32) * 0.5
y_clk = (X @ w_b + 0.3 * rng.normal(size=N) > 0).astype(np.float32)
y_two = np.stack([np.tanh(X @ w_a), np.cos(X @ w_b)], 1).astype(np.float32)
data = TensorDataset(*(torch.from_numpy(a) for a in (X, y_reg, y_clk, y_two)))
print("cos(w_a, w_b)", f"{w_a @ w_b / np.linalg.norm(w_a) / np.linalg.norm(w_b):.4f}",
      "click rate", f"{y_clk.mean():.4f}")


def expert():
    return nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU())


class BatchedExperts(nn.Module):
    def __init__(self, n):
        super().__init__()
        experts = [expert() for _ in range(n)]
        params, buffers = stack_module_state(experts)
        self.params = nn.ParameterDict({k.replace(".", "_"): nn.Parameter(v)
                                        for k, v in params.items()})
        self._names = list(params.keys())
        self.base = [copy.deepcopy(experts[0]).to("meta")]
        self._loop = experts

    def forward(self, x):
        p = {name: self.params[name.replace(".", "_")] for name in self._names}

        def one(params, x):
            return functional_call(self.base[0], params, (x,))

        return vmap(one, in_dims=(0, None))(p, x)  # (E, B, H)


class MMoE(nn.Module):
    def __init__(self, n_tasks=3):
        super().__init__()
        self.experts = BatchedExperts(E)
        self.gates = nn.ModuleList([nn.Linear(D, E) for _ in range(n_tasks)])
        self.towers = nn.ModuleDict({
            "reg": nn.Sequential(nn.Linear(H, 8), nn.ReLU(), nn.Linear(8, 2)),
            "clk": nn.Sequential(nn.Linear(H, 8), nn.ReLU(), nn.Linear(8, 1))})

    def forward(self, x):
        ex = self.experts(x)
        gates = [F.softmax(g(x), dim=-1) for g in self.gates]
        mixed = [torch.einsum("ebh,be->bh", ex, g) for g in gates]
        out = {}
        mu, raw = self.towers["reg"](mixed[0]).unbind(-1)
        out["reg"] = Normal(mu, F.softplus(raw) + 1e-3)
        out["clk"] = Bernoulli(logits=self.towers["clk"](mixed[1]).squeeze(-1))
        if "two" in self.towers:
            loc = self.towers["two"](mixed[2])
            out["two"] = Independent(Normal(loc, torch.full_like(loc, 0.5)), 1)
        return out, torch.stack(gates)


class PLE(nn.Module):
    """Two extraction levels, two tasks, 2 shared + 1 specific experts per task per level."""

    def __init__(self, n_tasks=2, n_shared=2, n_spec=1, levels=2):
        super().__init__()
        self.n_tasks, self.levels = n_tasks, levels
        self.shared = nn.ModuleList()
        self.specific = nn.ModuleList()
        self.task_gates = nn.ModuleList()
        self.shared_gates = nn.ModuleList()
        for lvl in range(levels):
            d_in = D if lvl == 0 else H
            self.shared.append(nn.ModuleList([nn.Sequential(nn.Linear(d_in, H), nn.ReLU())
                                              for _ in range(n_shared)]))
            self.specific.append(nn.ModuleList([
                nn.ModuleList([nn.Sequential(nn.Linear(d_in, H), nn.ReLU())
                               for _ in range(n_spec)]) for _ in range(n_tasks)]))
            self.task_gates.append(nn.ModuleList([nn.Linear(d_in, n_shared + n_spec)
                                                  for _ in range(n_tasks)]))
            if lvl < levels - 1:
                self.shared_gates.append(nn.Linear(d_in, n_shared + n_tasks * n_spec))
        self.heads = nn.ModuleList([nn.Linear(H, 2), nn.Linear(H, 1)])

    def forward(self, x):
        inputs = [x] * self.n_tasks + [x]
        weights = []
        for lvl in range(self.levels):
            sh = [e(inputs[-1]) for e in self.shared[lvl]]
            spec = [[e(inputs[t]) for e in self.specific[lvl][t]] for t in range(self.n_tasks)]
            outs = []
            for t in range(self.n_tasks):
                cand = torch.stack(spec[t] + sh, dim=1)  # (B, n_spec+n_shared, H)
                w = F.softmax(self.task_gates[lvl][t](inputs[t]), -1)
                weights.append(w.mean(0))
                outs.append((w.unsqueeze(-1) * cand).sum(1))
            if lvl < self.levels - 1:
                cand = torch.stack(sum(spec, []) + sh, dim=1)
                w = F.softmax(self.shared_gates[lvl](inputs[-1]), -1)
                outs.append(torch.bmm(w.unsqueeze(1), cand).squeeze(1))
            inputs = outs
        mu, raw = self.heads[0](inputs[0]).unbind(-1)
        return ({"reg": Normal(mu, F.softplus(raw) + 1e-3),
                 "clk": Bernoulli(logits=self.heads[1](inputs[1]).squeeze(-1))}, weights)


def fmt(xs):
    return " ".join(f"{v:.4f}" for v in xs)


# ---------- batched experts agree with a loop ----------
torch.manual_seed(1)
mmoe = MMoE(n_tasks=3)
xb = torch.from_numpy(X[:5])
looped = torch.stack([e(xb) for e in mmoe.experts._loop])
print("vmap experts", tuple(mmoe.experts(xb).shape), "match loop",
      torch.allclose(mmoe.experts(xb), looped, atol=1e-6),
      "params", sorted(mmoe.experts.params.keys()))

groups = {"experts": [], "gates": [], "towers": []}
for name, p in mmoe.named_parameters():
    groups[name.split(".")[0]].append(p)
opt = torch.optim.AdamW([
    {"params": groups["experts"], "lr": 5e-3, "weight_decay": 1e-2},
    {"params": groups["gates"], "lr": 1e-2, "weight_decay": 0.0},
    {"params": groups["towers"]}], lr=3e-3, weight_decay=1e-3)
print("group sizes", [len(g["params"]) for g in opt.param_groups],
      "lrs", [g["lr"] for g in opt.param_groups])
loader = DataLoader(data, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(4))


def run_epoch(model, opt, tasks, sched=None):
    tot = {t: 0.0 for t in tasks}
    gate_mean = None
    for xb, yr, yc, y2 in loader:
        dists, gates = model(xb)
        targets = {"reg": yr, "clk": yc, "two": y2}
        losses = {t: -dists[t].log_prob(targets[t]).mean() for t in tasks}
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
        for t in tasks:
            tot[t] += losses[t].item() * len(xb)
        if isinstance(gates, torch.Tensor):
            g = gates.detach().mean(1)
        else:
            g = torch.stack(gates).detach()
        gate_mean = g if gate_mean is None else gate_mean + g
    if sched is not None:
        sched.step()
    return {t: v / N for t, v in tot.items()}, gate_mean / len(loader)


for epoch in range(4):
    losses, gm = run_epoch(mmoe, opt, ["reg", "clk"])
    print(f"mmoe epoch {epoch} nll reg {losses['reg']:.4f} clk {losses['clk']:.4f} "
          f"gates[reg] {fmt(gm[0].tolist())} gates[clk] {fmt(gm[1].tolist())}")

# a third task's tower arrives late: its own parameter group, schedule over all groups
mmoe.towers["two"] = nn.Sequential(nn.Linear(H, 8), nn.Tanh(), nn.Linear(8, 2))
opt.add_param_group({"params": list(mmoe.towers["two"].parameters()), "lr": 1e-2})
print("groups now", len(opt.param_groups), "new group defaults",
      opt.param_groups[3]["weight_decay"], opt.param_groups[3]["betas"])
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, [lambda e: 0.9 ** e, lambda e: 0.9 ** e, lambda e: 1.0, lambda e: 1.0 / (1 + e)])
for epoch in range(4, 7):
    losses, gm = run_epoch(mmoe, opt, ["reg", "clk", "two"], sched)
    print(f"mmoe epoch {epoch} nll {fmt(losses.values())} gates[two] {fmt(gm[2].tolist())} "
          f"lrs {fmt(sched.get_last_lr())}")

# optimizer state round trip
sd = opt.state_dict()
print("state keys", len(sd["state"]), "param ids", [g["params"][:2] for g in sd["param_groups"]],
      "step", sd["state"][0]["step"].item())
twin = copy.deepcopy(mmoe)
opt2 = torch.optim.AdamW(twin.parameters(), lr=1.0)
try:
    opt2.load_state_dict(sd)
except ValueError as e:
    print("ValueError:", e)
opt2 = torch.optim.AdamW([{"params": [p for n, p in twin.named_parameters() if n.startswith(k)]}
                          for k in ("experts", "gates", "towers.reg")] +
                         [{"params": list(twin.towers["two"].parameters())}], lr=1.0)
try:
    opt2.load_state_dict(sd)
except ValueError as e:
    print("ValueError:", e)
opt2 = torch.optim.AdamW([{"params": [p for n, p in twin.named_parameters()
                                      if n.split(".")[0] == k and not n.startswith("towers.two")]}
                          for k in ("experts", "gates", "towers")] +
                         [{"params": list(twin.towers["two"].parameters())}], lr=1.0)
opt2.load_state_dict(sd)
p0, q0 = next(mmoe.parameters()), next(twin.parameters())
print("shallow load shares state:", opt2.state[q0]["exp_avg"] is opt.state[p0]["exp_avg"],
      opt2.state[q0]["exp_avg"].data_ptr() == opt.state[p0]["exp_avg"].data_ptr())
opt2.load_state_dict(copy.deepcopy(sd))
mine, theirs = opt2.state[q0], opt.state[p0]
print("deep load shares state:", mine["exp_avg"].data_ptr() == theirs["exp_avg"].data_ptr(),
      mine["step"].dtype, torch.equal(mine["exp_avg_sq"], theirs["exp_avg_sq"]))
print("loaded lrs", [f"{g['lr']:.5f}" for g in opt2.param_groups])
xb, yr, yc, y2 = data[:64]
for m, o in ((mmoe, opt), (twin, opt2)):
    d, _ = m(xb)
    loss = -(d["reg"].log_prob(yr).mean() + d["clk"].log_prob(yc).mean()
             + d["two"].log_prob(y2).mean())
    o.zero_grad()
    loss.backward()
    o.step()
print("continue identically", all(torch.equal(a, b) for a, b in
                                  zip(mmoe.parameters(), twin.parameters())))

# ---------- PLE ----------
torch.manual_seed(2)
ple = PLE()
print("ple params", sum(p.numel() for p in ple.parameters()),
      "modules", sum(1 for _ in ple.modules()))
opt = torch.optim.Adam(ple.parameters(), lr=5e-3)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
for epoch in range(5):
    losses, gm = run_epoch(ple, opt, ["reg", "clk"], sched)
    print(f"ple epoch {epoch} nll reg {losses['reg']:.4f} clk {losses['clk']:.4f} "
          f"lvl1 gates {fmt(gm[2].tolist())} | {fmt(gm[3].tolist())}")

ple.eval()
mmoe.eval()
with torch.no_grad():
    xa = torch.from_numpy(X)
    for name, m in (("mmoe", mmoe), ("ple", ple)):
        d, _ = m(xa)
        auc_pairs = d["clk"].probs[torch.from_numpy(y_clk) == 1].unsqueeze(1) > \
            d["clk"].probs[torch.from_numpy(y_clk) == 0].unsqueeze(0)
        rmse = (d["reg"].mean - torch.from_numpy(y_reg)).pow(2).mean().sqrt()
        cover = ((torch.from_numpy(y_reg) - d["reg"].mean).abs() < 2 * d["reg"].stddev).float()
        print(f"{name} rmse {rmse:.4f} auc {auc_pairs.float().mean():.4f} "
              f"2sigma coverage {cover.mean():.4f} entropy clk {d['clk'].entropy().mean():.4f}")
    _, gates = mmoe(xa)
    load = gates.mean(1)
    print("expert load", [fmt(r.tolist()) for r in load],
          "balance entropy", fmt((-(load * load.log()).sum(-1)).tolist()),
          "top expert share", fmt((gates.argmax(-1)[:, :, None] == torch.arange(E)).float()
                                  .mean(1).max(-1).values.tolist()))
