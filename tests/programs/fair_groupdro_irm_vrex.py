"""Robustness to spurious correlations as the group-DRO, IRM and V-REx reference code writes
it: two training environments where a spurious feature agrees with the label 90% / 80% of the
time and a test environment where it is flipped; ERM; IRMv1 (the squared gradient of each
environment's risk wrt a dummy scale, ``torch.autograd.grad(create_graph=True)``, and the same
penalty through ``torch.func.grad``); V-REx (variance of the environment risks); group DRO with
exponentiated-gradient group weights and per-group losses gathered by ``scatter_add``;
``SequentialLR`` (``LinearLR`` warm-up then ``CosineAnnealingLR``) and worst-group accuracy."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import grad as func_grad

torch.manual_seed(0)


def make_env(n, p_spurious, noise=0.25):
    y = torch.bernoulli(torch.full((n,), 0.5))
    # the causal feature predicts y with label noise
    y_obs = torch.where(torch.rand(n) < noise, 1 - y, y)
    causal = (2 * y - 1).unsqueeze(1) * 1.0 + 0.8 * torch.randn(n, 2)
    agree = (torch.rand(n) < p_spurious).float()
    s = agree * y_obs + (1 - agree) * (1 - y_obs)
    spurious = (2 * s - 1).unsqueeze(1) * 1.5 + 0.3 * torch.randn(n, 2)
    x = torch.cat([causal, spurious], dim=1)
    group = (2 * y_obs + s).long()  # (label, spurious attribute) -> 4 groups
    return x, y_obs, group


envs = [make_env(300, 0.9), make_env(300, 0.8)]
test_env = make_env(400, 0.1)
for i, (x, y, g) in enumerate(envs + [test_env]):
    print(f"env {i}: n {len(y)} pos {y.mean().item():.3f} groups "
          f"{torch.bincount(g, minlength=4).tolist()} x-mean "
          f"{[round(v, 3) for v in x.mean(0).tolist()]}")

x_all = torch.cat([e[0] for e in envs])
y_all = torch.cat([e[1] for e in envs])
g_all = torch.cat([e[2] for e in envs])
env_id = torch.cat([torch.full((len(e[1]),), i) for i, e in enumerate(envs)])


def irm_penalty(logits, y):
    scale = torch.tensor(1.0, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(logits * scale, y)
    g, = torch.autograd.grad(loss, [scale], create_graph=True)
    return g.pow(2)


def irm_penalty_func(logits, y):
    def risk(w):
        return F.binary_cross_entropy_with_logits(logits * w, y)
    return func_grad(risk)(torch.tensor(1.0)).pow(2)


probe_logits = torch.tensor([0.3, -1.2, 2.0, 0.1], requires_grad=True)
probe_y = torch.tensor([1.0, 0.0, 1.0, 0.0])
pen = irm_penalty(probe_logits, probe_y)
pen_grad, = torch.autograd.grad(pen, probe_logits)
print("irm probe", round(pen.item(), 6), [round(v, 5) for v in pen_grad.tolist()],
      "func", round(irm_penalty_func(probe_logits.detach(), probe_y).item(), 6))


def group_stats(losses, groups, n_groups=4):
    sums = torch.zeros(n_groups).scatter_add(0, groups, losses)
    counts = torch.zeros(n_groups).scatter_add(0, groups, torch.ones_like(losses))
    return sums / counts.clamp(min=1), counts


def evaluate(model, x, y, g):
    with torch.no_grad():
        pred = (model(x).squeeze(1) > 0).float()
        correct = (pred == y).float()
        acc_g, _ = group_stats(correct, g)
    return correct.mean().item(), acc_g


def train(method, epochs=60, penalty_weight=10.0, anneal=20):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.02, amsgrad=True)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=10)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs - 10, eta_min=1e-3)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[10])
    q = torch.ones(4) / 4
    eta_q = 0.05
    for epoch in range(epochs):
        logits = model(x_all).squeeze(1)
        per_ex = F.binary_cross_entropy_with_logits(logits, y_all, reduction="none")
        env_risks = torch.stack([per_ex[env_id == e].mean() for e in range(len(envs))])
        if method == "erm":
            loss = per_ex.mean()
            extra = torch.zeros(())
        elif method == "irm":
            extra = torch.stack([irm_penalty(logits[env_id == e], y_all[env_id == e])
                                 for e in range(len(envs))]).sum()
            w = penalty_weight if epoch >= anneal else 1.0
            loss = env_risks.sum() + w * extra
            if epoch >= anneal:
                loss = loss / w
        elif method == "vrex":
            extra = env_risks.var(unbiased=False)
            w = penalty_weight if epoch >= anneal else 1.0
            loss = env_risks.mean() + w * extra
        else:  # group DRO
            group_loss, counts = group_stats(per_ex, g_all)
            q = q * torch.exp(eta_q * group_loss.detach())
            q = q / q.sum()
            loss = (q * group_loss).sum()
            extra = group_loss.max()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if epoch % 20 == 19:
            print(f"  {method} epoch {epoch + 1} loss {loss.item():.4f} extra {extra.item():.4f}"
                  f" risks {[round(r, 4) for r in env_risks.tolist()]}"
                  f" lr {opt.param_groups[0]['lr']:.5f}")
    if method == "dro":
        print("  group weights", [round(v, 4) for v in q.tolist()])
    return model


for method in ["erm", "irm", "vrex", "dro"]:
    model = train(method)
    tr_acc, tr_g = evaluate(model, x_all, y_all, g_all)
    te_acc, te_g = evaluate(model, *test_env)
    worst = te_g[torch.bincount(test_env[2], minlength=4) > 0].min().item()
    print(f"{method}: train acc {tr_acc:.4f} test acc {te_acc:.4f} worst-group {worst:.4f} "
          f"groups {[round(v, 3) for v in te_g.tolist()]}")
    w1 = model[0].weight.detach()
    print(f"  |w causal| {w1[:, :2].norm().item():.4f} |w spurious| {w1[:, 2:].norm().item():.4f}")
