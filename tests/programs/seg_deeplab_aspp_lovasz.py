"""DeepLabV3-style segmentation in the manner of the VainF/DeepLabV3Plus and
bermanmaxim/LovaszSoftmax reference code: a dilated backbone, an ASPP head (1x1, atrous
``dilation=2/3`` convs, an image-pooling branch ``AdaptiveAvgPool2d(1)`` upsampled with
``F.interpolate(size=..., mode="bilinear", align_corners=False)``), an auxiliary head, the
Lovasz-softmax loss (``torch.sort(descending=True)``, ``cumsum``, ``torch.dot`` on
``Variable``-wrapped gradients), OHEM cross entropy (per-pixel ``reduction="none"`` losses,
``kthvalue`` threshold, ``topk``), polynomial LR via ``LambdaLR``, SGD with momentum and
per-group lrs (backbone x0.1), boundary F-score from ``max_pool2d`` morphology, class
frequencies via ``torch.histc`` and ``F.one_hot(...).sum``; float64 (``torch.float64`` data)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

torch.manual_seed(0)
rng = np.random.default_rng(9)
C, IGN, S = 3, 255, 16


def make(n):
    imgs, masks = [], []
    yy, xx = np.mgrid[:S, :S]
    for _ in range(n):
        m = np.zeros((S, S), np.int64)
        cy, cx = rng.uniform(4, 12, 2)
        m[(np.abs(yy - cy) < 3) & (np.abs(xx - cx) < 4)] = 1
        m[(yy - cx) ** 2 + (xx - cy) ** 2 < 6] = 2
        img = np.stack([m == 1, m == 2, np.zeros_like(m)]).astype(np.float64)
        img = img + 0.3 * rng.standard_normal(img.shape)
        m[rng.random((S, S)) < 0.02] = IGN
        imgs.append(img)
        masks.append(m)
    return torch.from_numpy(np.stack(imgs)), torch.from_numpy(np.stack(masks))


x_train, y_train = make(12)
x_val, y_val = make(6)
freq = torch.histc(y_train[y_train != IGN].double(), bins=C, min=0, max=C - 1)
print("class freq", freq.tolist(), F.one_hot(y_train[y_train != IGN], C).sum(0).tolist())


class ASPP(nn.Module):
    def __init__(self, cin, cout, rates=(2, 3)):
        super().__init__()
        mods = [nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())]
        for r in rates:
            mods.append(nn.Sequential(nn.Conv2d(cin, cout, 3, padding=r, dilation=r, bias=False),
                                      nn.BatchNorm2d(cout), nn.ReLU()))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False),
                                  nn.ReLU())
        self.convs = nn.ModuleList(mods)
        self.project = nn.Sequential(nn.Conv2d(cout * (len(rates) + 2), cout, 1, bias=False),
                                     nn.BatchNorm2d(cout), nn.ReLU(), nn.Dropout(0.1))

    def forward(self, x):
        res = [conv(x) for conv in self.convs]
        pooled = self.pool(x)
        res.append(F.interpolate(pooled, size=x.shape[-2:], mode="bilinear", align_corners=False))
        return self.project(torch.cat(res, dim=1))


class DeepLab(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8),
                                      nn.ReLU(), nn.Conv2d(8, 8, 3, padding=2, dilation=2),
                                      nn.BatchNorm2d(8), nn.ReLU())
        self.aspp = ASPP(8, 8)
        self.classifier = nn.Conv2d(8, C, 1)
        self.aux = nn.Conv2d(8, C, 1)

    def forward(self, x):
        size = x.shape[-2:]
        feats = self.backbone(x)
        out = F.interpolate(self.classifier(self.aspp(feats)), size=size, mode="bilinear",
                            align_corners=False)
        aux = F.interpolate(self.aux(feats), size=size, mode="bilinear", align_corners=False)
        return {"out": out, "aux": aux}


def lovasz_grad(gt_sorted):
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.float().cumsum(0)
    union = gts + (1 - gt_sorted).float().cumsum(0)
    jaccard = 1.0 - intersection / union
    if len(gt_sorted) > 1:
        jaccard[1:len(gt_sorted)] = jaccard[1:len(gt_sorted)] - jaccard[0:-1]
    return jaccard


def lovasz_softmax(probas, labels, ignore=IGN):
    probas = probas.permute(0, 2, 3, 1).contiguous().view(-1, probas.size(1))
    labels = labels.view(-1)
    valid = labels != ignore
    probas, labels = probas[valid.nonzero().squeeze()], labels[valid]
    losses = []
    for c in range(probas.size(1)):
        fg = (labels == c).double()
        if fg.sum() == 0:
            continue
        errors = (Variable(fg) - probas[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        losses.append(torch.dot(errors_sorted, Variable(lovasz_grad(fg[perm.data]).double())))
    return torch.stack(losses).mean()


def ohem_ce(logits, labels, thresh=0.7, min_kept=64):
    pixel = F.cross_entropy(logits, labels, ignore_index=IGN, reduction="none").flatten()
    valid = labels.flatten() != IGN
    losses = pixel[valid]
    k = max(min_kept, 1)
    kth = torch.kthvalue(losses, losses.numel() - k + 1).values
    hard = losses[losses > -torch.log(torch.tensor(thresh, dtype=losses.dtype))]
    if hard.numel() < k:
        hard = losses.topk(k).values
    return hard.mean(), kth


model = DeepLab().double()
params = [{"params": model.backbone.parameters(), "lr": 0.01},
          {"params": list(model.aspp.parameters()) + list(model.classifier.parameters())
           + list(model.aux.parameters())}]
opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)
max_iter = 12
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: (1 - it / max_iter) ** 0.9)
print(model.aspp.convs[2][0], [g["lr"] for g in opt.param_groups])

for it in range(max_iter):
    model.train()
    idx = torch.arange(it % 3 * 4, it % 3 * 4 + 4)
    out = model(x_train[idx])
    y = y_train[idx]
    ohem, kth = ohem_ce(out["out"], y)
    lov = lovasz_softmax(out["out"].softmax(1), y)
    loss = ohem + 0.4 * F.cross_entropy(out["aux"], y, ignore_index=IGN) + lov
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if it % 4 == 3:
        print(f"it {it} ohem {ohem.item():.4f} kth {kth.item():.4f} lovasz {lov.item():.4f} "
              f"lrs {[round(v, 5) for v in sched.get_last_lr()]}")


def boundary(mask, r=1):
    m = mask.double().unsqueeze(1)
    dil = F.max_pool2d(m, 2 * r + 1, stride=1, padding=r)
    ero = -F.max_pool2d(-m, 2 * r + 1, stride=1, padding=r)
    return (dil - ero).squeeze(1) > 0


model.eval()
with torch.no_grad():
    pred = model(x_val)["out"].argmax(1)
valid = y_val != IGN
ious = []
for c in range(C):
    p, g = (pred == c) & valid, (y_val == c) & valid
    inter, union = (p & g).sum().item(), (p | g).sum().item()
    ious.append(inter / union if union else float("nan"))
bp, bg = boundary(pred == 1), boundary(y_val == 1)
prec = (bp & bg).sum() / bp.sum().clamp(min=1)
rec = (bp & bg).sum() / bg.sum().clamp(min=1)
print("IoU", [round(v, 4) for v in ious], "mIoU", round(float(np.nanmean(ious)), 4))
print("boundary P/R", prec.dtype, round(prec.item(), 4), round(rec.item(), 4),
      "pixel acc", round(((pred == y_val) & valid).sum().item() / valid.sum().item(), 4))
