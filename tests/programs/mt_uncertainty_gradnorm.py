"""Multi-task loss balancing, as the reference implementations of Kendall et al.'s
homoscedastic-uncertainty weighting and Chen et al.'s GradNorm write it:

* a shared trunk with a regression head (Gaussian NLL with a learned ``log_var``), a
  classification head (cross-entropy scaled by ``exp(-log_var)``) and a multi-label head
  (``BCEWithLogitsLoss(pos_weight=)``);
* the uncertainty weights live in their own parameter group, added after construction with
  ``optimizer.add_param_group`` (no weight decay, a larger learning rate);
* GradNorm: ``torch.autograd.grad(w_i * L_i, shared.weight, retain_graph=True,
  create_graph=True)`` for each task, the gradient norms' mean as target scaled by the inverse
  training rates ``(L_i / L_i(0)) ** alpha``, an L1 loss on the norms that updates only the task
  weights, which are then renormalised to sum to the task count under ``torch.no_grad()``;
* ``zero_grad(set_to_none=False)`` against ``set_to_none=True``, ``clip_grad_norm_(foreach=)``,
  ``nn.GaussianNLLLoss``, a ``MultiStepLR`` on both groups and a ``TensorDataset``/``DataLoader``.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
torch.manual_seed(0)
N, D_IN, N_CLS, N_LAB = 256, 10, 4, 3
X = rng.normal(size=(N, D_IN)).astype(np.float32)
W_true = rng.normal(size=(D_IN, 1)).astype(np.float32)
y_reg = (X @ W_true).squeeze(1) * 0.5 + rng.normal(size=N).astype(np.float32) * 0.3
y_cls = np.argmax(X[:, :N_CLS] + 0.3 * rng.normal(size=(N, N_CLS)), axis=1)
y_lab = (X[:, 4:7] + 0.2 * rng.normal(size=(N, N_LAB)) > 0.4).astype(np.float32)

ds = TensorDataset(torch.from_numpy(X), torch.from_numpy(y_reg), torch.from_numpy(y_cls),
                   torch.from_numpy(y_lab))
print("dataset", len(ds), ds[0][0].shape, ds[0][2].dtype, ds[0][3].tolist())
print("label rates", [round(v, 4) for v in torch.from_numpy(y_lab).mean(0).tolist()],
      "class counts", torch.bincount(torch.from_numpy(y_cls)).tolist())


class MultiTaskNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(D_IN, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh())
        self.reg = nn.Linear(32, 1)
        self.cls = nn.Linear(32, N_CLS)
        self.lab = nn.Linear(32, N_LAB)

    @property
    def shared(self):
        return self.trunk[2]

    def forward(self, x):
        h = self.trunk(x)
        return self.reg(h).squeeze(-1), self.cls(h), self.lab(h)


def task_losses(model, batch, pos_weight):
    x, yr, yc, yl = batch
    pr, pc, pl = model(x)
    return torch.stack([F.mse_loss(pr, yr), F.cross_entropy(pc, yc),
                        F.binary_cross_entropy_with_logits(pl, yl, pos_weight=pos_weight)])


pos_weight = (1 - torch.from_numpy(y_lab).mean(0)) / torch.from_numpy(y_lab).mean(0)
print("pos_weight", [f"{v:.4f}" for v in pos_weight.tolist()])

# ---------- 1. homoscedastic uncertainty weighting ----------
torch.manual_seed(1)
model = MultiTaskNet()
log_vars = nn.Parameter(torch.zeros(3))
opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-3)
opt.add_param_group({"params": [log_vars], "lr": 5e-2, "weight_decay": 0.0})
print("groups", len(opt.param_groups), [g["lr"] for g in opt.param_groups],
      [g["weight_decay"] for g in opt.param_groups], sorted(opt.param_groups[1].keys()))
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[4, 7], gamma=0.5)
gnll = nn.GaussianNLLLoss(full=True)
loader = DataLoader(ds, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(2))
for epoch in range(9):
    tot = torch.zeros(3)
    for xb, yr, yc, yl in loader:
        opt.zero_grad(set_to_none=(epoch % 2 == 0))
        pr, pc, pl = model(xb)
        var = torch.exp(log_vars[0]).expand_as(pr)
        l_reg = gnll(pr, yr, var)
        l_cls = F.cross_entropy(pc, yc)
        l_lab = F.binary_cross_entropy_with_logits(pl, yl, pos_weight=pos_weight)
        precision = torch.exp(-log_vars[1:])
        loss = l_reg + (precision * torch.stack([l_cls, l_lab])).sum() + 0.5 * log_vars[1:].sum()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0, foreach=True)
        opt.step()
        tot += torch.stack([l_reg, l_cls, l_lab]).detach() * len(xb)
    sched.step()
    tot /= N
    print(f"unc epoch {epoch} losses " + " ".join(f"{v:.4f}" for v in tot.tolist())
          + " sigma2 " + " ".join(f"{v:.4f}" for v in log_vars.exp().tolist())
          + f" lr {sched.get_last_lr()[0]:.5f} gn {norm.item():.3f}")
print("grad after set_to_none=False is zero tensor:", log_vars.grad is not None)
opt.zero_grad()
print("grad after default zero_grad:", log_vars.grad)
print("weights", {k: f"{v:.4f}" for k, v in zip(["reg", "cls", "lab"],
                                                 (0.5 * torch.exp(-log_vars)).tolist())})

# ---------- 2. GradNorm ----------
torch.manual_seed(1)
model = MultiTaskNet()
weights = nn.Parameter(torch.ones(3))
opt_model = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, nesterov=True)
opt_w = torch.optim.Adam([weights], lr=0.025)
alpha = 1.5
loader = DataLoader(ds, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(3))
initial = None
for epoch in range(6):
    for step, batch in enumerate(loader):
        losses = task_losses(model, batch, pos_weight)
        if initial is None:
            initial = losses.detach()
            print("initial losses", [f"{v:.4f}" for v in initial.tolist()])
        weighted = weights * losses
        opt_model.zero_grad()
        opt_w.zero_grad()
        weighted.sum().backward(retain_graph=True)
        W = model.shared.weight
        norms = torch.stack([torch.autograd.grad(weighted[i], W, retain_graph=True,
                                                 create_graph=True)[0].norm()
                             for i in range(3)])
        ratios = losses.detach() / initial
        inverse_rate = ratios / ratios.mean()
        target = (norms.mean() * inverse_rate ** alpha).detach()
        gn_loss = F.l1_loss(norms, target, reduction="sum")
        weights.grad = torch.autograd.grad(gn_loss, weights)[0]
        opt_model.step()
        opt_w.step()
        with torch.no_grad():
            weights.clamp_(min=1e-3)
            weights.mul_(3 / weights.sum())
    print(f"gradnorm epoch {epoch} losses " + " ".join(f"{v:.4f}" for v in losses.tolist())
          + " w " + " ".join(f"{v:.4f}" for v in weights.tolist())
          + " norms " + " ".join(f"{v:.4f}" for v in norms.tolist())
          + f" gn_loss {gn_loss.item():.4f}")

model.eval()
with torch.no_grad():
    xa = torch.from_numpy(X)
    pr, pc, pl = model(xa)
    acc = (pc.argmax(1) == torch.from_numpy(y_cls)).float().mean()
    lab_acc = ((pl > 0).float() == torch.from_numpy(y_lab)).float().mean(0)
    rmse = F.mse_loss(pr, torch.from_numpy(y_reg)).sqrt()
print(f"eval rmse {rmse:.4f} acc {acc:.4f} label acc", [f"{v:.4f}" for v in lab_acc.tolist()])
print("weights sum", f"{weights.sum().item():.4f}", "requires_grad", weights.requires_grad,
      "is_leaf", weights.is_leaf)
