"""iCaRL-style class-incremental learning (Rebuffi et al.), after the public reference
re-implementations: classes arrive two at a time, the classifier head grows (a new
``nn.Linear`` whose old rows are copied in under ``torch.no_grad()``), training uses sigmoid
binary cross-entropy on one-hot targets with the old model's sigmoid outputs as distillation
targets for old classes (the old model is loaded from a ``state_dict`` saved to a ``BytesIO``
before the head grew), exemplars are picked by herding on L2-normalised features
(``F.normalize``), the memory budget is shared out again after every increment, and
classification is nearest-mean-of-exemplars (``torch.cdist`` then ``argmin``) next to the
plain head's argmax. Each increment builds a fresh optimizer (state reset) with ``MultiStepLR``
and trains on a ``ConcatDataset`` of the new classes and the exemplar set; the end shows why:
an optimizer kept across an in-place ``.data`` growth of the head refuses its stale moments.
"""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import ConcatDataset, DataLoader, Dataset, TensorDataset

rng = np.random.default_rng(3)
dim, n_classes, per_class, per_test, step = 12, 6, 30, 20, 2
means = rng.normal(scale=1.5, size=(n_classes, dim)).astype(np.float32)


def sample(n_each):
    y = np.repeat(np.arange(n_classes), n_each)
    x = means[y] + rng.normal(size=(len(y), dim)).astype(np.float32)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y).long()


train_x, train_y = sample(per_class)
test_x, test_y = sample(per_test)


class Exemplars(Dataset):
    def __init__(self):
        self.sets = {}  # class -> tensor of exemplars

    def __len__(self):
        return sum(len(v) for v in self.sets.values())

    def __getitem__(self, i):
        for c in sorted(self.sets):
            if i < len(self.sets[c]):
                return self.sets[c][i], torch.tensor(c)
            i -= len(self.sets[c])
        raise IndexError(i)


class IncrementalNet(nn.Module):
    def __init__(self, n_out):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(dim, 32), nn.BatchNorm1d(32), nn.ReLU(),
                                      nn.Linear(32, 16), nn.ReLU())
        self.fc = nn.Linear(16, n_out)

    def forward(self, x):
        return self.fc(self.features(x))

    def grow(self, n_new):
        old = self.fc
        self.fc = nn.Linear(old.in_features, old.out_features + n_new)
        with torch.no_grad():
            self.fc.weight[:old.out_features].copy_(old.weight)
            self.fc.bias[:old.out_features].copy_(old.bias)


@torch.no_grad()
def extract(model, x):
    model.eval()
    f = F.normalize(model.features(x), p=2, dim=1)
    model.train()
    return f


@torch.no_grad()
def herding(feats, m):
    """Greedily pick m rows whose running mean stays closest to the class mean."""
    mu = feats.mean(0)
    chosen = []
    running = torch.zeros_like(mu)
    for k in range(1, m + 1):
        candidates = mu - (running + feats) / k
        dist = candidates.norm(dim=1)
        if chosen:
            dist[torch.tensor(chosen)] = float("inf")
        i = int(dist.argmin())
        chosen.append(i)
        running += feats[i]
    return chosen


torch.manual_seed(0)
model = IncrementalNet(step)
old_model = None
exemplars = Exemplars()
memory = 12
g = torch.Generator().manual_seed(11)
for inc, first in enumerate(range(0, n_classes, step)):
    new_classes = list(range(first, first + step))
    if inc > 0:
        buf = io.BytesIO()
        torch.save(model.state_dict(), buf)
        buf.seek(0)
        old_model = IncrementalNet(first)
        old_model.load_state_dict(torch.load(buf))
        old_model.eval()
        for p in old_model.parameters():
            p.requires_grad_(False)
        model.grow(step)
    n_seen = first + step
    mask = (train_y >= first) & (train_y < n_seen)
    data = ConcatDataset([TensorDataset(train_x[mask], train_y[mask]), exemplars])
    loader = DataLoader(data, batch_size=16, shuffle=True, generator=g, drop_last=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[6, 9], gamma=0.2)
    for epoch in range(10):
        total = 0.0
        for xb, yb in loader:
            logits = model(xb)
            target = F.one_hot(yb, n_seen).float()
            if old_model is not None:
                with torch.no_grad():
                    target[:, :first] = torch.sigmoid(old_model(xb))
            loss = F.binary_cross_entropy_with_logits(logits, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        scheduler.step()
        if epoch % 3 == 0 or epoch == 9:
            print(f"inc {inc} epoch {epoch} loss {total / len(data):.4f} "
                  f"lr {scheduler.get_last_lr()[0]:.4f}")
    # reduce old exemplar sets, then add the new classes
    m = memory // n_seen
    for c in list(exemplars.sets):
        exemplars.sets[c] = exemplars.sets[c][:m]
    for c in new_classes:
        xc = train_x[train_y == c]
        idx = herding(extract(model, xc), m)
        exemplars.sets[c] = xc[idx]
    # class means from the exemplars, then nearest-mean classification
    class_means = torch.stack([F.normalize(extract(model, exemplars.sets[c]).mean(0), dim=0)
                               for c in range(n_seen)])
    seen = test_y < n_seen
    feats = extract(model, test_x[seen])
    nme_pred = torch.cdist(feats, class_means).argmin(dim=1)
    with torch.no_grad():
        model.eval()
        cnn_pred = model(test_x[seen]).argmax(dim=1)
        model.train()
    nme_acc = (nme_pred == test_y[seen]).float().mean().item()
    cnn_acc = (cnn_pred == test_y[seen]).float().mean().item()
    old = test_y[seen] < first
    old_acc = (nme_pred[old] == test_y[seen][old]).float().mean().item() if old.any() else 1.0
    print(f"inc {inc} classes {n_seen} exemplars {len(exemplars)} per class {m} "
          f"NME {nme_acc:.4f} CNN {cnn_acc:.4f} NME-old {old_acc:.4f}")
    print("   head", tuple(model.fc.weight.shape), "row norms",
          " ".join(f"{v:.3f}" for v in model.fc.weight.norm(dim=1).tolist()))
    counts = torch.bincount(nme_pred, minlength=n_seen)
    print("   predicted per class", counts.tolist())

# confusion matrix of the final nearest-mean classifier
conf = torch.zeros(n_classes, n_classes, dtype=torch.long)
conf.index_put_((test_y, nme_pred), torch.ones_like(test_y), accumulate=True)
print("confusion:")
for row in conf.tolist():
    print("   ", row)
print("exemplar indices of class 0 chosen by herding:",
      herding(extract(model, train_x[train_y == 0]), 5))
print("old model classes:", old_model.fc.out_features, "frozen:",
      all(not p.requires_grad for p in old_model.parameters()))
print("bn running mean[:4]", [round(v, 4) for v in model.features[1].running_mean[:4].tolist()],
      "batches tracked", int(model.features[1].num_batches_tracked))

# why every increment builds a new optimizer: growing a head in place through .data leaves
# Adam's moments at the old shape, and the next step refuses them
probe_fc = nn.Linear(16, 4)
probe_opt = torch.optim.Adam(probe_fc.parameters(), lr=0.01)
probe_x = extract(model, train_x[:8])
F.cross_entropy(probe_fc(probe_x), train_y[:8] % 4).backward()
probe_opt.step()
probe_fc.weight.data = torch.cat([probe_fc.weight.data, torch.zeros(2, 16)])
probe_fc.bias.data = torch.cat([probe_fc.bias.data, torch.zeros(2)])
probe_opt.zero_grad()
F.cross_entropy(probe_fc(probe_x), train_y[:8]).backward()
try:
    probe_opt.step()
except RuntimeError as err:
    print("stale optimizer state:", err)
