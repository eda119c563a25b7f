"""Learning from a long-tailed dataset as the class-imbalance papers' reference code writes it:
class counts following an exponential profile; a ``WeightedRandomSampler`` with inverse-
frequency sample weights; class-balanced weights from the effective number of samples (Cui et
al.); focal loss written by hand with ``F.one_hot`` and ``gather`` and checked against
``torchvision.ops.sigmoid_focal_loss``; label smoothing (``F.cross_entropy(label_smoothing=)``
and soft targets); mixup and CutMix by hand with ``torch.distributions.Beta`` and random boxes,
then ``torchvision.transforms.v2.MixUp``/``CutMix``; the LDAM-style margin; per-class recall,
balanced accuracy and a confusion matrix from ``bincount``."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Beta
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler
from torchvision.ops import sigmoid_focal_loss
from torchvision.transforms import v2

torch.manual_seed(0)
rng = np.random.default_rng(0)

n_cls, img = 4, 8
counts = [int(160 * 0.35 ** c) for c in range(n_cls)]
print("class counts", counts, "imbalance ratio", round(counts[0] / counts[-1], 2))


def make(counts_per_class, noise=0.6):
    xs, ys = [], []
    for c, n in enumerate(counts_per_class):
        base = np.zeros((1, img, img), dtype=np.float32)
        if c % 2 == 0:
            base[0, 2 * (c // 2) + 1:2 * (c // 2) + 3, 1:7] = 1.0
        else:
            base[0, 1:7, 2 * (c // 2) + 1:2 * (c // 2) + 3] = 1.0
        x = base[None] + noise * rng.standard_normal((n, 1, img, img)).astype(np.float32)
        xs.append(x)
        ys.append(np.full(n, c))
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))


x_train, y_train = make(counts)
x_test, y_test = make([40] * n_cls)
print("train", tuple(x_train.shape), "test", tuple(x_test.shape), y_train.dtype)

# --- re-weighting schemes
cls_count = torch.bincount(y_train, minlength=n_cls).float()
inv_freq = 1.0 / cls_count
sample_w = inv_freq[y_train]
beta = 0.99
effective = 1.0 - torch.pow(beta, cls_count)
cb_w = (1.0 - beta) / effective
cb_w = cb_w / cb_w.sum() * n_cls
print("class-balanced weights", [round(v, 4) for v in cb_w.tolist()])

sampler = WeightedRandomSampler(sample_w.double(), num_samples=len(y_train), replacement=True,
                                generator=torch.Generator().manual_seed(7))
drawn = torch.tensor(list(sampler))
print("sampler draws per class", torch.bincount(y_train[drawn], minlength=n_cls).tolist())


def focal_loss(logits, target, gamma=2.0, alpha=None):
    logp = F.log_softmax(logits, dim=1)
    logp_t = logp.gather(1, target.unsqueeze(1)).squeeze(1)
    p_t = logp_t.exp()
    loss = -(1 - p_t) ** gamma * logp_t
    if alpha is not None:
        loss = alpha[target] * loss
    return loss.mean()


logits_probe = torch.randn(6, n_cls)
t_probe = torch.tensor([0, 1, 2, 3, 0, 1])
print("focal gamma0 == ce", round(focal_loss(logits_probe, t_probe, gamma=0).item(), 5),
      round(F.cross_entropy(logits_probe, t_probe).item(), 5))
oh = F.one_hot(t_probe, n_cls).float()
manual_sfl = F.binary_cross_entropy_with_logits(logits_probe, oh, reduction="none")
p = torch.sigmoid(logits_probe)
p_t = p * oh + (1 - p) * (1 - oh)
manual_sfl = (0.25 * oh + 0.75 * (1 - oh)) * (1 - p_t) ** 2 * manual_sfl
print("sigmoid focal", round(manual_sfl.mean().item(), 5),
      round(sigmoid_focal_loss(logits_probe, oh, alpha=0.25, gamma=2, reduction="mean").item(), 5),
      tuple(sigmoid_focal_loss(logits_probe, oh).shape))
smooth = F.cross_entropy(logits_probe, t_probe, label_smoothing=0.1)
soft = oh * 0.9 + 0.1 / n_cls
print("label smoothing", round(smooth.item(), 5),
      round(F.cross_entropy(logits_probe, soft).item(), 5),
      round(F.cross_entropy(logits_probe, t_probe, weight=cb_w, label_smoothing=0.1).item(), 5))


def ldam_logits(logits, target, max_m=0.5, s=4.0):
    m = 1.0 / cls_count.pow(0.25)
    m = m * (max_m / m.max())
    margin = torch.where(F.one_hot(target, n_cls).bool(), m.unsqueeze(0), torch.zeros(()))
    return s * (logits - margin)


def rand_box(h, w, lam, gen):
    cut = (1.0 - lam) ** 0.5
    ch, cw = int(h * cut), int(w * cut)
    cy = torch.randint(h, (1,), generator=gen).item()
    cx = torch.randint(w, (1,), generator=gen).item()
    y1, y2 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x1, x2 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    return y1, y2, x1, x2


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.fc = nn.Linear(64, n_cls)

    def forward(self, x):
        return self.fc(self.conv(x))


def evaluate(model):
    model.eval()
    with torch.no_grad():
        pred = model(x_test).argmax(1)
    model.train()
    conf = torch.bincount(y_test * n_cls + pred, minlength=n_cls * n_cls).view(n_cls, n_cls)
    recall = conf.diag().float() / conf.sum(1).float()
    return conf, recall


def train(scheme, epochs=6):
    torch.manual_seed(11)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9, nesterov=True)
    ds = TensorDataset(x_train, y_train)
    if scheme == "resample":
        loader = DataLoader(ds, batch_size=32, sampler=WeightedRandomSampler(
            sample_w, len(ds), generator=torch.Generator().manual_seed(1)))
    else:
        loader = DataLoader(ds, batch_size=32, shuffle=True,
                            generator=torch.Generator().manual_seed(1))
    beta_dist = Beta(torch.tensor([0.4]), torch.tensor([0.4]))
    gen = torch.Generator().manual_seed(5)
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in loader:
            out_target = yb
            if scheme in ("mixup", "cutmix"):
                lam = beta_dist.sample().item()
                perm = torch.randperm(xb.size(0), generator=gen)
                if scheme == "mixup":
                    xb = lam * xb + (1 - lam) * xb[perm]
                else:
                    y1, y2, x1, x2 = rand_box(img, img, lam, gen)
                    xb = xb.clone()
                    xb[:, :, y1:y2, x1:x2] = xb[perm, :, y1:y2, x1:x2]
                    lam = 1 - (y2 - y1) * (x2 - x1) / (img * img)
                out_target = lam * F.one_hot(yb, n_cls).float() + \
                    (1 - lam) * F.one_hot(yb[perm], n_cls).float()
            logits = model(xb)
            if scheme == "focal":
                loss = focal_loss(logits, yb, gamma=2.0, alpha=cb_w)
            elif scheme == "cb":
                loss = F.cross_entropy(logits, yb, weight=cb_w)
            elif scheme == "ldam":
                loss = F.cross_entropy(ldam_logits(logits, yb), yb, weight=cb_w)
            elif scheme == "smooth":
                loss = F.cross_entropy(logits, yb, label_smoothing=0.1)
            else:
                loss = F.cross_entropy(logits, out_target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * xb.size(0)
        if epoch in (0, epochs - 1):
            print(f"  {scheme} epoch {epoch + 1} loss {total / len(ds):.4f}")
    return model


for scheme in ["plain", "resample", "cb", "focal", "ldam", "smooth", "mixup", "cutmix"]:
    model = train(scheme)
    conf, recall = evaluate(model)
    print(f"{scheme}: balanced acc {recall.mean().item():.4f} recall "
          f"{[round(r, 3) for r in recall.tolist()]} min {recall.min().item():.3f}")
print("last confusion", conf.tolist())

# torchvision's batch transforms
torch.manual_seed(21)
cutmix_or_mixup = v2.RandomChoice([v2.CutMix(num_classes=n_cls, alpha=1.0),
                                   v2.MixUp(num_classes=n_cls, alpha=0.4)])
sel = torch.tensor([0, 1, 160, 161, 216, 217, 235, 236])
xb, yb = x_train[sel].clone(), y_train[sel].clone()
for i in range(3):
    xm, ym = cutmix_or_mixup(xb, yb)
    print("v2 batch", tuple(xm.shape), tuple(ym.shape), [round(v, 4) for v in ym[2].tolist()],
          round(xm[0].sum().item(), 3), round((xm - xb).abs().sum().item(), 3))
mix = v2.MixUp(num_classes=n_cls, alpha=0.4)
xm, ym = mix(xb, yb)
print("mixup rows sum to one", torch.allclose(ym.sum(1), torch.ones(8)), ym.dtype)
