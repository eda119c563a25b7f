"""Minimum-norm attacks as robustness repos write them: Carlini-Wagner L2 (Carlini & Wagner
2017; the tanh change of variables, Adam on the unconstrained variable, the margin loss
``clamp(Z_y - max_{i!=y} Z_i, min=-kappa)`` and a per-example binary search over the constant
c, best adversarial kept with ``torch.where``) and DeepFool (Moosavi-Dezfooli et al. 2016; the
per-class input Jacobian, here batched with ``torch.func.vmap(jacrev(...))``, the linearised
distance to each decision boundary and an overshoot)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import jacrev, vmap

torch.manual_seed(2)
torch.set_default_dtype(torch.float64)

n_cls, side = 4, 5
protos = torch.rand(n_cls, 1, side, side)
y = torch.arange(n_cls).repeat(4)
x = (protos[y] + 0.1 * torch.randn(len(y), 1, side, side)).clamp(0.0, 1.0)
model = nn.Sequential(nn.Flatten(), nn.Linear(side * side, 24), nn.Tanh(), nn.Linear(24, n_cls))
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for it in range(150):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
model.eval()
for p in model.parameters():
    p.requires_grad_(False)
with torch.no_grad():
    print("train loss", round(loss.item(), 4), "acc",
          (model(x).argmax(1) == y).double().mean().item())


def cw_l2(model, images, labels, c_init=0.1, kappa=0.0, steps=60, lr=0.05, search_steps=5,
          targeted=False):
    n = images.shape[0]
    lower = torch.zeros(n)
    upper = torch.full((n,), 1e10)
    const = torch.full((n,), c_init)
    best_l2 = torch.full((n,), float("inf"))
    best_adv = images.clone()
    onehot = F.one_hot(labels, n_cls).to(images.dtype)
    for _ in range(search_steps):
        w = torch.atanh((images * 2 - 1) * 0.999999).detach().requires_grad_(True)
        optimizer = torch.optim.Adam([w], lr=lr)
        succeeded = torch.zeros(n, dtype=torch.bool)
        for _ in range(steps):
            adv = 0.5 * (torch.tanh(w) + 1)
            l2 = F.mse_loss(adv, images, reduction="none").sum(dim=(1, 2, 3))
            logits = model(adv)
            real = (onehot * logits).sum(1)
            other = ((1 - onehot) * logits - onehot * 1e4).max(1)[0]
            # untargeted: push the true logit below the rest; targeted: lift the target's
            f = torch.clamp((other - real) if targeted else (real - other), min=-kappa)
            loss = (l2 + const * f).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                is_adv = (logits.argmax(1) == labels) if targeted else \
                    (logits.argmax(1) != labels)
                improve = is_adv & (l2 < best_l2)
                best_l2 = torch.where(improve, l2, best_l2)
                best_adv[improve] = adv[improve].detach()
                succeeded |= is_adv
        # binary search on c: smaller where it worked, larger (x10 until bracketed) where not
        upper = torch.where(succeeded, torch.minimum(upper, const), upper)
        lower = torch.where(succeeded, lower, torch.maximum(lower, const))
        const = torch.where(upper < 1e9, (lower + upper) / 2, const * 10)
    return best_adv, best_l2.sqrt(), const


def deepfool(model, images, overshoot=0.02, max_iter=20):
    def logits_of(v):
        return model(v.unsqueeze(0)).squeeze(0)

    with torch.no_grad():
        orig = model(images).argmax(1)
    r_tot = torch.zeros_like(images)
    active = torch.ones(images.shape[0], dtype=torch.bool)
    iters = torch.zeros(images.shape[0], dtype=torch.long)
    for _ in range(max_iter):
        x_adv = images + (1 + overshoot) * r_tot
        logits = model(x_adv)
        active &= logits.argmax(1) == orig
        if not active.any():
            break
        jac = vmap(jacrev(logits_of))(x_adv).flatten(2)       # (n, classes, pixels)
        g_orig = jac[torch.arange(len(orig)), orig]             # (n, pixels)
        w = jac - g_orig[:, None, :]
        f = logits - logits.gather(1, orig[:, None])
        pert = f.abs() / w.norm(dim=2).clamp_min(1e-8)
        pert.scatter_(1, orig[:, None], float("inf"))
        k = pert.argmin(1)
        w_k = w[torch.arange(len(k)), k]
        r_i = (pert.min(1).values + 1e-4)[:, None] * w_k / w_k.norm(dim=1, keepdim=True)
        r_tot = r_tot + torch.where(active[:, None], r_i, torch.zeros_like(r_i)).view_as(images)
        iters += active.long()
    return images + (1 + overshoot) * r_tot, iters


adv, dist, const = cw_l2(model, x, y)
with torch.no_grad():
    pred = model(adv).argmax(1)
found = torch.isfinite(dist)
print("cw success", int(found.sum()), "of", len(y))
print("cw l2", [round(v, 3) for v in dist[found].tolist()])
print("cw c", [round(v, 4) for v in const.tolist()])
print("cw adv labels", pred.tolist())
print("cw in box", bool((adv >= 0).all() and (adv <= 1).all()))

# targeted CW: a random wrong class for each example (random_(to) draws from [0, to))
offset = torch.empty_like(y).random_(n_cls - 1) + 1
target = (y + offset) % n_cls
print("targets", target.tolist())
t_adv, t_dist, t_const = cw_l2(model, x, target, c_init=1.0, targeted=True)
with torch.no_grad():
    t_pred = model(t_adv).argmax(1)
hit = torch.isfinite(t_dist)
print("targeted success", int(hit.sum()), "hit target", bool((t_pred[hit] == target[hit]).all()))
print("targeted l2", [round(v, 3) for v in t_dist[hit].tolist()])
print("targeted / untargeted mean l2",
      round((t_dist[hit].mean() / dist[found].mean()).item(), 3))

df_adv, iters = deepfool(model, x)
with torch.no_grad():
    df_pred = model(df_adv).argmax(1)
df_dist = (df_adv - x).flatten(1).norm(dim=1)
print("deepfool fooled", int((df_pred != y).sum()), "iters", iters.tolist())
print("deepfool l2", [round(v, 3) for v in df_dist.tolist()])
print("deepfool median l2 / cw median l2",
      round(df_dist.median().item() / dist[found].median().item(), 3))
rho = (df_dist / x.flatten(1).norm(dim=1)).mean()
print("deepfool robustness rho", round(rho.item(), 4))
