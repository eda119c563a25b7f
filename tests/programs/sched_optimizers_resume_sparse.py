"""Every torch.optim optimizer on one small problem, checkpointed mid-run and resumed.

A word-embedding + MLP regressor: the dense part is trained by each optimizer in turn (with the
less common options people reach for: NAdam momentum_decay, RAdam decoupled weight decay,
Adam capturable/foreach flags, Rprop etas, ASGD t0, LBFGS strong Wolfe), the sparse embedding
by SparseAdam. Halfway through, optimizer state is saved with torch.save into a buffer, a
fresh model/optimizer pair is restored from it, and both continue: the resumed run must match
the uninterrupted one bit for bit.
"""
import copy
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(7)
tokens = torch.from_numpy(rng.integers(0, 30, size=(24, 3)))
feats = torch.from_numpy(rng.standard_normal((24, 4)).astype(np.float32))
target = torch.from_numpy(rng.standard_normal((24, 1)).astype(np.float32))


class Regressor(nn.Module):
    def __init__(self, sparse=False):
        super().__init__()
        self.emb = nn.Embedding(30, 3, sparse=sparse)
        self.fc1 = nn.Linear(3 + 4, 6)
        self.fc2 = nn.Linear(6, 1)

    def forward(self, tok, x):
        pooled = self.emb(tok).mean(dim=1)
        return self.fc2(F.gelu(self.fc1(torch.cat([pooled, x], dim=1))))


def fresh_model(sparse=False):
    torch.manual_seed(0)
    return Regressor(sparse=sparse)


def loss_of(model):
    dtype = model.fc1.weight.dtype  # the LBFGS run below is in float64
    return F.smooth_l1_loss(model(tokens, feats.to(dtype)), target.to(dtype), beta=0.5)


def train(model, opt, steps, closure_style=False):
    losses = []
    for _ in range(steps):
        if closure_style:
            def closure():
                opt.zero_grad()
                loss = loss_of(model)
                loss.backward()
                return loss
            losses.append(opt.step(closure).item())
        else:
            opt.zero_grad(set_to_none=True)
            loss = loss_of(model)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


configs = [
    ("SGD nesterov", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                               weight_decay=1e-4)),
    ("Adam amsgrad", lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), amsgrad=True,
                                                foreach=False)),
    ("AdamW", lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.05)),
    ("Adam tensor b", lambda p: torch.optim.Adam(p, lr=0.02, betas=(torch.tensor(0.9),
                                                                   torch.tensor(0.99)))),
    ("Adamax", lambda p: torch.optim.Adamax(p, lr=0.05)),
    ("NAdam md", lambda p: torch.optim.NAdam(p, lr=0.02, momentum_decay=0.008)),
    ("NAdam dec", lambda p: torch.optim.NAdam(p, lr=0.02, weight_decay=0.1,
                                              decoupled_weight_decay=True)),
    ("RAdam dec", lambda p: torch.optim.RAdam(p, lr=0.05, weight_decay=0.1,
                                              decoupled_weight_decay=True)),
    ("Adagrad", lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1)),
    ("Adadelta", lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.8)),
    ("RMSprop", lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.3)),
    ("Rprop", lambda p: torch.optim.Rprop(p, lr=0.01, etas=(0.4, 1.3), step_sizes=(1e-5, 1))),
    ("ASGD", lambda p: torch.optim.ASGD(p, lr=0.05, t0=3, lambd=1e-3)),
    ("Adafactor", lambda p: torch.optim.Adafactor(p, lr=0.05)),
]

print("optimizer       first    mid      last     resumed-equal  state keys")
for name, make_opt in configs:
    model = fresh_model()
    opt = make_opt(model.parameters())
    first = train(model, opt, 5)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    rest = train(model, opt, 5)

    buffer.seek(0)
    ckpt = torch.load(buffer)
    resumed_model = fresh_model()
    resumed_model.load_state_dict(ckpt["model"])
    resumed_opt = make_opt(resumed_model.parameters())
    resumed_opt.load_state_dict(ckpt["opt"])
    resumed = train(resumed_model, resumed_opt, 5)
    same = resumed == rest and all(
        torch.equal(a, b) for a, b in zip(model.parameters(), resumed_model.parameters()))
    keys = sorted(opt.state_dict()["state"][1])
    print(f"{name:<14} {first[0]:.5f}  {first[-1]:.5f}  {rest[-1]:.5f}  {str(same):<13}  {keys}")

print(torch.optim.RAdam(fresh_model().parameters(), lr=0.05, decoupled_weight_decay=True))

# LBFGS with a strong-Wolfe line search: a closure, several evaluations per step; in float64,
# as curve-fitting scripts run it (a float32 line search amplifies last-bit differences)
model = fresh_model().double()
opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=8, history_size=4,
                        line_search_fn="strong_wolfe")
losses = train(model, opt, 3, closure_style=True)
state = opt.state[opt._params[0]]
print("LBFGS", [f"{v:.5f}" for v in losses], "func_evals", state["func_evals"],
      "n_iter", state["n_iter"], "history", len(state["old_dirs"]))
print("LBFGS final loss", f"{loss_of(model).item():.5f}")

# a sparse embedding needs SparseAdam; the dense layers keep a dense optimizer
model = fresh_model(sparse=True)
sparse_opt = torch.optim.SparseAdam(list(model.emb.parameters()), lr=0.05)
dense_opt = torch.optim.Adam(list(model.fc1.parameters()) + list(model.fc2.parameters()),
                             lr=0.02)
for step in range(6):
    sparse_opt.zero_grad()
    dense_opt.zero_grad()
    loss = loss_of(model)
    loss.backward()
    grad = model.emb.weight.grad
    if step == 0:
        print("embedding grad is sparse:", grad.is_sparse, grad.layout,
              "nnz", grad.coalesce()._nnz())
    sparse_opt.step()
    dense_opt.step()
print("SparseAdam+Adam loss", f"{loss_of(model).item():.5f}",
      "steps", sparse_opt.state[model.emb.weight]["step"])
untouched = sorted(set(range(30)) - set(tokens.flatten().tolist()))
print("rows never seen stay put:", untouched,
      torch.equal(model.emb.weight[untouched], fresh_model().emb.weight[untouched]))

# SparseAdam refuses dense gradients, Adam refuses sparse ones
try:
    torch.optim.SparseAdam(fresh_model().parameters(), lr=0.01).step()
    model = fresh_model()
    opt = torch.optim.SparseAdam(model.parameters(), lr=0.01)
    loss_of(model).backward()
    opt.step()
except RuntimeError as err:
    print("RuntimeError:", err)
try:
    model = fresh_model(sparse=True)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_of(model).backward()
    opt.step()
except RuntimeError as err:
    print("RuntimeError:", err)

# param groups added mid-run, per-group hyper-parameters, and load into a deep copy
model = fresh_model()
opt = torch.optim.AdamW([{"params": model.fc1.parameters()}], lr=0.01, weight_decay=0.0)
train(model, opt, 2)
opt.add_param_group({"params": model.fc2.parameters(), "lr": 0.003, "weight_decay": 0.5})
train(model, opt, 2)
sd = opt.state_dict()
print([(g["lr"], g["weight_decay"], g["params"]) for g in sd["param_groups"]])
clone = copy.deepcopy(opt.state_dict())
clone["param_groups"][1]["lr"] = 0.123
opt.load_state_dict(clone)
print("loaded lr", opt.param_groups[1]["lr"], "step", opt.state[model.fc2.weight]["step"])
try:
    opt.load_state_dict({"state": {}, "param_groups": sd["param_groups"][:1]})
except ValueError as err:
    print("ValueError:", err)
for betas in [(0, 0.99), (torch.tensor(0.9), 0.99)]:  # GAN recipes write beta1 = 0.0
    try:
        torch.optim.Adam(model.parameters(), betas=betas)
    except ValueError as err:
        print("ValueError:", err)
