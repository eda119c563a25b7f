"""TRADES adversarial training (Zhang et al. 2019, the ``trades.py`` of the official repo) and
an AutoAttack-style APGD evaluation (Croce & Hein 2020): the TRADES inner maximisation of
``KLDivLoss(reduction="sum")`` between clean and perturbed predictions, the outer loss
``CE + beta * F.kl_div(log_softmax, softmax, reduction="batchmean")``; then APGD with the
cross-entropy and the DLR loss, its checkpoint schedule, momentum 0.75 and step-size halving
with a restart from the best point, per example; and AutoAttack's black-box member, the
Square attack (Andriushchenko et al. 2020): random +-eps squares accepted when the margin
drops, its square-size schedule, randomness from a seeded ``torch.Generator``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(1)
dtype = torch.float64  # sign steps on near-zero gradients must not hang on rounding

n_cls, dim = 3, 12
centers = torch.rand(n_cls, dim, dtype=dtype)
def make(n):
    y = torch.randint(0, n_cls, (n,))
    x = (centers[y] + 0.18 * torch.randn(n, dim, dtype=dtype)).clamp(0, 1)
    return x, y

x_train, y_train = make(120)
x_test, y_test = make(60)
print("centers", [round(v, 4) for v in centers[:, :3].flatten().tolist()])

model = nn.Sequential(nn.Linear(dim, 32), nn.Softplus(), nn.Linear(32, 32), nn.Softplus(),
                      nn.Linear(32, n_cls)).to(dtype)
eps, step_size, perturb_steps, beta = 0.08, 0.02, 5, 6.0


def trades_loss(model, x_natural, y, optimizer):
    criterion_kl = nn.KLDivLoss(reduction="sum")
    model.eval()
    x_adv = x_natural.detach() + 0.001 * torch.randn(x_natural.shape, dtype=dtype).detach()
    p_natural = F.softmax(model(x_natural), dim=1).detach()
    for _ in range(perturb_steps):
        x_adv.requires_grad_()
        with torch.enable_grad():
            loss_kl = criterion_kl(F.log_softmax(model(x_adv), dim=1), p_natural)
        grad = torch.autograd.grad(loss_kl, [x_adv])[0]
        x_adv = x_adv.detach() + step_size * torch.sign(grad.detach())
        x_adv = torch.min(torch.max(x_adv, x_natural - eps), x_natural + eps)
        x_adv = torch.clamp(x_adv, 0.0, 1.0)
    model.train()
    x_adv = x_adv.detach().requires_grad_(False)
    optimizer.zero_grad()
    logits = model(x_natural)
    loss_natural = F.cross_entropy(logits, y)
    loss_robust = F.kl_div(F.log_softmax(model(x_adv), dim=1), F.softmax(logits, dim=1),
                           reduction="batchmean")
    return loss_natural + beta * loss_robust, loss_natural, loss_robust


opt = torch.optim.Adam(model.parameters(), lr=0.03)
for epoch in range(8):
    perm = torch.randperm(len(x_train))
    stats = torch.zeros(3, dtype=dtype)
    for i in range(0, len(x_train), 40):
        idx = perm[i:i + 40]
        loss, nat, rob = trades_loss(model, x_train[idx], y_train[idx], opt)
        loss.backward()
        opt.step()
        stats += torch.stack([loss.detach(), nat.detach(), rob.detach()])
    print(f"epoch {epoch} loss/nat/rob", [round(v, 4) for v in (stats / 3).tolist()])


def dlr_loss(logits, y):
    """Difference of logits ratio: -(z_y - max_{i!=y} z_i) / (z_pi1 - z_pi3)."""
    z_sorted, ind_sorted = logits.sort(dim=1)
    top_is_y = (ind_sorted[:, -1] == y).to(logits.dtype)
    z_y = logits.gather(1, y[:, None]).squeeze(1)
    other = z_sorted[:, -2] * top_is_y + z_sorted[:, -1] * (1.0 - top_is_y)
    return -(z_y - other) / (z_sorted[:, -1] - z_sorted[:, -3] + 1e-12)


def checkpoints(n_iter):
    p = [0.0, 0.22]
    while p[-1] < 1.0:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    return sorted({math.ceil(q * n_iter) for q in p if q <= 1.0})


def apgd(model, x, y, loss_name, n_iter=20, rho=0.75):
    loss_fn = (lambda z, t: F.cross_entropy(z, t, reduction="none")) if loss_name == "ce" \
        else dlr_loss
    marks = checkpoints(n_iter)
    lo, hi = (x - eps).clamp(min=0.0), (x + eps).clamp(max=1.0)
    proj = lambda v: torch.clamp(v, min=lo, max=hi)  # noqa: E731

    def loss_and_grad(v):
        v = v.clone().requires_grad_(True)
        per = loss_fn(model(v), y)
        g, = torch.autograd.grad(per.sum(), v)
        return per.detach(), g.detach()

    eta = torch.full((x.shape[0], 1), 2.0 * eps, dtype=dtype)
    x_k = x.clone()
    f_k, g_k = loss_and_grad(x_k)
    x_best, f_best = x_k.clone(), f_k.clone()
    x_prev = x_k.clone()
    x_next = proj(x_k + eta * g_k.sign())
    improved = torch.zeros(x.shape[0], dtype=dtype)
    eta_at_mark, fbest_at_mark, last_mark = eta.clone(), f_best.clone(), 0
    n_halved = 0
    for k in range(1, n_iter):
        x_prev, x_k = x_k, x_next
        f_new, g_k = loss_and_grad(x_k)
        improved += (f_new > f_k).to(dtype)
        f_k = f_new
        better = f_k > f_best
        x_best = torch.where(better[:, None], x_k, x_best)
        f_best = torch.where(better, f_k, f_best)
        if k in marks:
            cond1 = improved < rho * (k - last_mark)
            cond2 = (eta_at_mark == eta).squeeze(1) & (fbest_at_mark == f_best)
            halve = cond1 | cond2
            n_halved += int(halve.sum())
            eta = torch.where(halve[:, None], eta / 2.0, eta)
            x_k = torch.where(halve[:, None], x_best, x_k)
            if bool(halve.any()):
                f_k, g_k = loss_and_grad(x_k)
            improved.zero_()
            eta_at_mark, fbest_at_mark, last_mark = eta.clone(), f_best.clone(), k
        z = proj(x_k + eta * g_k.sign())
        x_next = proj(x_k + 0.75 * (z - x_k) + 0.25 * (x_k - x_prev))
    return x_best, f_best, eta, n_halved


print("checkpoints", checkpoints(20), checkpoints(100)[:6])
model.eval()
with torch.no_grad():
    clean = model(x_test).argmax(1) == y_test
print("clean acc", round(clean.double().mean().item(), 4))
robust = clean.clone()
for name in ["ce", "dlr"]:
    x_adv, f_best, eta, n_halved = apgd(model, x_test, y_test, name)
    with torch.no_grad():
        ok = model(x_adv).argmax(1) == y_test
    robust &= ok
    print(f"apgd-{name} acc {ok.double().mean().item():.4f} mean_best_loss "
          f"{f_best.mean().item():.4f} halvings {n_halved} "
          f"eta_hist {torch.unique(eta, return_counts=True)[1].tolist()} "
          f"max_dist {(x_adv - x_test).abs().max().item():.4f}")
def margin(logits, y):
    z_y = logits.gather(1, y[:, None]).squeeze(1)
    return z_y - logits.scatter(1, y[:, None], -float("inf")).amax(1)


def p_selection(p_init, it, n_iters):
    """Fraction of pixels changed per step: halved at fixed fractions of the budget."""
    it = int(it / n_iters * 10000)
    for bound, div in [(10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32),
                       (4000, 64), (6000, 128), (8000, 256)]:
        if it <= bound:
            return p_init / div
    return p_init / 512


@torch.no_grad()
def square_attack(model, x, y, n_iters=60, p_init=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    img = x.view(-1, 1, 3, 4)                       # the 12 features as a 3x4 "image"
    n, c, h, w = img.shape
    lo, hi = (img - eps).clamp(min=0.0), (img + eps).clamp(max=1.0)
    stripes = eps * (2 * torch.randint(0, 2, (n, c, 1, w), generator=g) - 1).to(dtype)
    x_best = torch.clamp(img + stripes, min=lo, max=hi)
    m_best = margin(model(x_best.flatten(1)), y)
    queries = torch.ones(n, dtype=torch.long)
    for i in range(n_iters):
        todo = (m_best > 0).nonzero().flatten()
        if len(todo) == 0:
            break
        s = max(int(round(math.sqrt(p_selection(p_init, i, n_iters) * h * w))), 1)
        s = min(s, h - 1)
        x_new = x_best[todo].clone()
        for k in range(len(todo)):
            vh = torch.randint(0, h - s + 1, (1,), generator=g).item()
            vw = torch.randint(0, w - s + 1, (1,), generator=g).item()
            sign = (2 * torch.randint(0, 2, (c, 1, 1), generator=g) - 1).to(dtype)
            x_new[k, :, vh:vh + s, vw:vw + s] = img[todo[k], :, vh:vh + s, vw:vw + s] + eps * sign
        x_new = torch.clamp(x_new, min=lo[todo], max=hi[todo])
        m_new = margin(model(x_new.flatten(1)), y[todo])
        queries[todo] += 1
        better = m_new < m_best[todo]
        m_best[todo] = torch.where(better, m_new, m_best[todo])
        x_best[todo[better]] = x_new[better]
    return x_best.flatten(1), m_best, queries


x_sq, m_sq, queries = square_attack(model, x_test, y_test)
fooled = m_sq <= 0
robust &= ~fooled
print(f"square acc {(~fooled).double().mean().item():.4f} fooled {int(fooled.sum())} "
      f"median queries {queries.median().item()} max_dist "
      f"{(x_sq - x_test).abs().max().item():.4f}")
print("margins (lowest 4)", [round(v, 4) for v in m_sq.sort().values[:4].tolist()])

print("worst-case robust acc", round(robust.double().mean().item(), 4))
with torch.no_grad():
    p_clean = F.softmax(model(x_test), 1)
    kl = F.kl_div(F.log_softmax(model(x_adv), 1), p_clean, reduction="none").sum(1)
print("kl per example (top3)", [round(v, 4) for v in kl.topk(3).values.tolist()])
print("kl batchmean", round(F.kl_div(F.log_softmax(model(x_adv), 1), p_clean,
                                     reduction="batchmean").item(), 4))
