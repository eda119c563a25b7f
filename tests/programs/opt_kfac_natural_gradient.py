"""Natural-gradient training, as K-FAC re-implementations and natural-gradient tutorials write
it: a K-FAC preconditioner that collects layer inputs with forward pre-hooks and output
gradients with full backward hooks, keeps running Kronecker factors, and preconditions each
Linear layer's gradient through the factors' eigendecompositions (with a KL-based clip); an
exact Fisher natural gradient for a small logistic model built from per-sample gradients
(``torch.func.vmap`` over ``grad`` of ``functional_call``) solved by Cholesky, with
``parameters_to_vector``/``vector_to_parameters``; and the optimizers people compare them
with (Rprop with its step-size bounds, ASGD averaging, Adadelta, SGD with
``add_param_group`` for a layer unfrozen mid-run), with ``clip_grad_value_`` and optimizer
step hooks."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap
from torch.nn.utils import clip_grad_value_, parameters_to_vector, vector_to_parameters

torch.manual_seed(0)

n = 384
X = torch.randn(n, 8)
W_true = torch.randn(8, 4)
Y = (torch.tanh(X @ W_true) + 0.3 * torch.randn(n, 4)).argmax(1)


def make_model():
    torch.manual_seed(2)
    return nn.Sequential(nn.Linear(8, 24), nn.Tanh(), nn.Linear(24, 4))


def batches(epoch, bs=64):
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(epoch))
    for i in range(0, n, bs):
        idx = perm[i:i + bs]
        yield X[idx], Y[idx]


class KFACPreconditioner:
    def __init__(self, model, damping=1e-2, stat_decay=0.95, kl_clip=1e-2, lr=0.1):
        self.damping, self.stat_decay, self.kl_clip, self.lr = damping, stat_decay, kl_clip, lr
        self.modules = [m for m in model.modules() if isinstance(m, nn.Linear)]
        self.a, self.g, self.A, self.G = {}, {}, {}, {}
        self.handles = []
        for m in self.modules:
            self.handles.append(m.register_forward_pre_hook(self._save_input))
            self.handles.append(m.register_full_backward_hook(self._save_grad_output))

    def _save_input(self, module, inputs):
        if torch.is_grad_enabled():
            a = inputs[0].detach()
            self.a[module] = torch.cat([a, a.new_ones(a.size(0), 1)], dim=1)

    def _save_grad_output(self, module, grad_input, grad_output):
        self.g[module] = grad_output[0].detach() * grad_output[0].size(0)

    def _update_factor(self, store, module, value):
        if module not in store:
            store[module] = torch.diag(value.new_ones(value.size(0)))
        store[module].mul_(self.stat_decay).add_(value, alpha=1 - self.stat_decay)

    def step(self):
        updates = {}
        for m in self.modules:
            a, g = self.a[m], self.g[m]
            self._update_factor(self.A, m, a.t() @ (a / a.size(0)))
            self._update_factor(self.G, m, g.t() @ (g / g.size(0)))
            dA, QA = torch.linalg.eigh(self.A[m])
            dG, QG = torch.linalg.eigh(self.G[m])
            dA, dG = dA.clamp(min=0), dG.clamp(min=0)
            grad_mat = torch.cat([m.weight.grad, m.bias.grad.view(-1, 1)], dim=1)
            v1 = QG.t() @ grad_mat @ QA
            v2 = v1 / (dG.unsqueeze(1) * dA.unsqueeze(0) + self.damping)
            updates[m] = QG @ v2 @ QA.t()
        vg_sum = 0.0
        for m in self.modules:
            v = updates[m]
            vg_sum += (v[:, :-1] * m.weight.grad * self.lr ** 2).sum().item()
            vg_sum += (v[:, -1] * m.bias.grad * self.lr ** 2).sum().item()
        nu = min(1.0, (self.kl_clip / abs(vg_sum)) ** 0.5)
        for m in self.modules:
            v = updates[m]
            m.weight.grad.copy_(v[:, :-1]).mul_(nu)
            m.bias.grad.copy_(v[:, -1]).mul_(nu)
        return nu


def evaluate(model):
    with torch.no_grad():
        out = model(X)
        return F.cross_entropy(out, Y).item(), (out.argmax(1) == Y).float().mean().item()


for use_kfac in (False, True):
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    kfac = KFACPreconditioner(model, lr=0.1) if use_kfac else None
    nus = []
    for epoch in range(5):
        for inputs, labels in batches(epoch):
            opt.zero_grad()
            F.cross_entropy(model(inputs), labels).backward()
            if kfac is not None:
                nus.append(kfac.step())
            opt.step()
        loss, acc = evaluate(model)
        print(f"{'K-FAC' if use_kfac else 'SGD':>5} epoch {epoch}: loss {loss:.4f} acc {acc:.4f}")
    if kfac is not None:
        m0 = kfac.modules[0]
        print("factor shapes", tuple(kfac.A[m0].shape), tuple(kfac.G[m0].shape),
              "nu", [round(v, 4) for v in nus[:3]], round(min(nus), 4),
              "A trace", round(torch.trace(kfac.A[m0]).item(), 3))
        for h in kfac.handles:
            h.remove()
        print("hooks left", len(m0._forward_pre_hooks), len(m0._backward_hooks))

# exact Fisher natural gradient for multinomial logistic regression, float64
logreg = nn.Linear(8, 4).double()
Xd = X.double()
params = {k: v.detach() for k, v in logreg.named_parameters()}


def sample_loss(p, x, y):
    logits = functional_call(logreg, p, (x.unsqueeze(0),))
    return F.cross_entropy(logits, y.unsqueeze(0))


per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0))
for it in range(4):
    grads = per_sample(params, Xd, Y)
    G = torch.cat([grads["weight"].flatten(1), grads["bias"]], dim=1)  # (n, 36)
    fisher = G.t() @ G / n
    mean_grad = G.mean(0)
    L, info = torch.linalg.cholesky_ex(fisher + 1e-3 * torch.eye(fisher.size(0),
                                                                   dtype=torch.float64))
    nat = torch.cholesky_solve(mean_grad.unsqueeze(1), L).squeeze(1)
    vec = parameters_to_vector([params["weight"], params["bias"]])
    vec = vec - 0.5 * nat
    new_w, new_b = torch.empty_like(params["weight"]), torch.empty_like(params["bias"])
    vector_to_parameters(vec, [new_w, new_b])
    params = {"weight": new_w, "bias": new_b}
    loss = F.cross_entropy(functional_call(logreg, params, (Xd,)), Y)
    print(f"natural gradient {it}: loss {loss.item():.5f} info {info.item()} "
          f"|nat| {nat.norm().item():.4f} fisher rank {torch.linalg.matrix_rank(fisher).item()}")

# baselines: Rprop with bounds, ASGD averaging, Adadelta, and SGD unfreezing a layer later
model0 = make_model()
configs = [
    ("Rprop", lambda ps: torch.optim.Rprop(ps, lr=0.005, etas=(0.4, 1.3),
                                           step_sizes=(1e-5, 0.05))),
    ("ASGD", lambda ps: torch.optim.ASGD(ps, lr=0.05, lambd=1e-3, alpha=0.75, t0=10,
                                         weight_decay=1e-4)),
    ("Adadelta", lambda ps: torch.optim.Adadelta(ps, lr=0.5, rho=0.8, weight_decay=1e-3)),
]
for name, make_opt in configs:
    model = copy.deepcopy(model0)
    opt = make_opt(model.parameters())
    seen = []
    opt.register_step_pre_hook(lambda o, args, kwargs, seen=seen: seen.append("pre"))
    handle = opt.register_step_post_hook(lambda o, args, kwargs, seen=seen: seen.append("post"))
    for epoch in range(4):
        for inputs, labels in batches(epoch):
            opt.zero_grad()
            F.cross_entropy(model(inputs), labels).backward()
            clip_grad_value_(model.parameters(), clip_value=0.5)
            opt.step()
        if epoch == 0:
            handle.remove()
    loss, acc = evaluate(model)
    st = opt.state[model[0].weight]
    extra = ""
    if name == "Rprop":
        extra = f"step_size range {st['step_size'].min().item():.2e} " \
                f"{st['step_size'].max().item():.4f}"
    elif name == "ASGD":
        drift = (st["ax"] - model[0].weight).abs().max().item()
        extra = f"eta {float(st['eta']):.5f} mu {float(st['mu']):.4f} ax drift {drift:.4f}"
    else:
        extra = f"acc_delta {st['acc_delta'].mean().item():.3e}"
    print(f"{name:>8}: loss {loss:.4f} acc {acc:.4f} hooks {seen.count('pre')}/"
          f"{seen.count('post')} {extra}")

model = copy.deepcopy(model0)
for p in model[0].parameters():
    p.requires_grad_(False)
opt = torch.optim.SGD(model[2].parameters(), lr=0.1, momentum=0.9)
for epoch in range(4):
    if epoch == 2:
        for p in model[0].parameters():
            p.requires_grad_(True)
        opt.add_param_group({"params": model[0].parameters(), "lr": 0.02})
        print("groups", len(opt.param_groups), [g["lr"] for g in opt.param_groups],
              opt.param_groups[1]["momentum"])
    for inputs, labels in batches(epoch):
        opt.zero_grad()
        F.cross_entropy(model(inputs), labels).backward()
        opt.step()
    loss, acc = evaluate(model)
    print(f"unfreeze epoch {epoch}: loss {loss:.4f} acc {acc:.4f}")
sd = opt.state_dict()
print("state ids", sorted(sd["state"]), [g["params"] for g in sd["param_groups"]])
