"""PGD adversarial training in the style of robustness research repos (Madry et al.'s
"Towards Deep Learning Models Resistant to Adversarial Attacks" and the many ``attacks.py``
files that follow it): an L-inf PGD attack with a uniform random start, the gradient taken
with ``torch.autograd.grad`` w.r.t. the input, projection by ``clamp`` with tensor bounds; an
L2 PGD attack with a normalised gradient step and a ``renorm`` projection; PGD adversarial
training of a small CNN with BatchNorm (eval mode while attacking) and a MultiStepLR schedule;
robust accuracy per epsilon at the end."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
# float64: the sign of a tiny input gradient must not hang on rounding
torch.set_default_dtype(torch.float64)

# synthetic 1x8x8 "digits": each class lights a different bar, plus noise
n_train, n_test, n_cls = 96, 48, 4
def make(n):
    y = torch.randint(0, n_cls, (n,))
    x = torch.rand(n, 1, 8, 8) * 0.35
    for c in range(n_cls):
        idx = (y == c).nonzero(as_tuple=True)[0]
        if c < 2:
            x[idx, 0, 2 + 3 * c:4 + 3 * c, 1:7] += 0.5
        else:
            x[idx, 0, 1:7, 2 + 3 * (c - 2):4 + 3 * (c - 2)] += 0.5
    return x.clamp_(0.0, 1.0), y

x_train, y_train = make(n_train)
x_test, y_test = make(n_test)
print("data", tuple(x_train.shape), torch.bincount(y_train, minlength=n_cls).tolist(),
      round(x_train.mean().item(), 4))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2))
        self.classifier = nn.Linear(64, n_cls)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def pgd_linf(model, x, y, eps, alpha, steps, random_start=True):
    """Projected gradient ascent on the cross-entropy inside the L-inf ball of radius eps."""
    lower, upper = (x - eps).clamp(min=0.0), (x + eps).clamp(max=1.0)
    if random_start:
        x_adv = x + torch.empty_like(x).uniform_(-eps, eps)
        x_adv = torch.clamp(x_adv, min=lower, max=upper)
    else:
        x_adv = x.clone()
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y)
        grad, = torch.autograd.grad(loss, [x_adv])
        x_adv = x_adv.detach() + alpha * grad.sign()
        x_adv = torch.max(torch.min(x_adv, upper), lower)
    return x_adv.detach()


def pgd_l2(model, x, y, eps, alpha, steps):
    """PGD in the L2 ball: normalised gradient steps, renorm back onto the ball, clamp to [0,1]."""
    n = x.shape[0]
    delta = torch.randn_like(x)
    norms = delta.view(n, -1).norm(p=2, dim=1).view(n, 1, 1, 1)
    radius = torch.zeros(n, 1, 1, 1).uniform_(0, 1) * eps
    delta = (delta / norms * radius).clamp(-x, 1 - x)
    for _ in range(steps):
        delta.requires_grad_()
        loss = F.cross_entropy(model(x + delta), y, reduction="sum")
        g, = torch.autograd.grad(loss, delta)
        g_norm = torch.linalg.vector_norm(g.flatten(1), ord=2, dim=1).clamp_min(1e-12)
        delta = delta.detach() + alpha * g / g_norm[:, None, None, None]
        delta = delta.renorm(p=2, dim=0, maxnorm=eps)
        delta = torch.min(torch.max(delta, -x), 1 - x)
    return (x + delta).detach()


@torch.no_grad()
def accuracy(model, x, y):
    return (model(x).argmax(dim=1) == y).double().mean().item()


model = SmallCNN()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 5], gamma=0.1)
eps, alpha, steps = 0.1, 0.03, 5
batch = 32
for epoch in range(6):
    perm = torch.randperm(n_train)
    tot_loss, tot_correct = 0.0, 0
    for i in range(0, n_train, batch):
        idx = perm[i:i + batch]
        xb, yb = x_train[idx], y_train[idx]
        model.eval()  # attack with frozen BatchNorm statistics
        x_adv = pgd_linf(model, xb, yb, eps, alpha, steps)
        model.train()
        out = model(x_adv)
        loss = F.cross_entropy(out, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tot_loss += loss.item() * len(idx)
        tot_correct += (out.argmax(1) == yb).sum().item()
    sched.step()
    model.eval()
    print(f"epoch {epoch} lr {sched.get_last_lr()[0]:.4f} adv_loss {tot_loss / n_train:.4f} "
          f"adv_acc {tot_correct / n_train:.4f} clean_test {accuracy(model, x_test, y_test):.4f}")

model.eval()
print("bn running_mean", [round(v, 4) for v in model.features[1].running_mean[:4].tolist()])
for e in [0.0, 0.05, 0.1, 0.2]:
    x_adv = pgd_linf(model, x_test, y_test, e, e / 3, 7, random_start=e > 0)
    dist = (x_adv - x_test).abs().flatten(1).amax(dim=1).max().item()
    print(f"linf eps {e:.2f} robust_acc {accuracy(model, x_adv, y_test):.4f} max_dist {dist:.4f}")
for e in [0.25, 0.5, 1.0]:
    x_adv = pgd_l2(model, x_test, y_test, e, e / 3, 7)
    d = (x_adv - x_test).flatten(1).norm(dim=1)
    print(f"l2 eps {e:.2f} robust_acc {accuracy(model, x_adv, y_test):.4f} "
          f"max_dist {d.max().item():.4f} in_box {bool(((x_adv >= 0) & (x_adv <= 1)).all())}")
with torch.no_grad():
    logits = model(x_test[:4])
    print("clean logits", [[round(v, 3) for v in row] for row in logits.tolist()])
