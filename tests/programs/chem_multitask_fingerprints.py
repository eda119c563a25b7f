"""A Tox21-style multi-task toxicity classifier on bit fingerprints, the way MoleculeNet /
DeepChem baselines are written in plain PyTorch: hashed substructure fingerprints built with
torch ops (folded into 256 bits with remainder and scatter_), a label matrix with missing
entries stored as NaN, a masked BCEWithLogitsLoss (reduction="none", per-task pos_weight from
the label balance, NaN targets replaced with nan_to_num and masked out), a scaffold-like
split by a group key with torch.unique, an MLP with BatchNorm1d and Dropout trained by AdamW
under OneCycleLR, per-task ROC-AUC computed with torch ops (average ranks for ties via
torch.unique and scatter_add_, and the trapezoidal ROC curve with torch.trapezoid), Tanimoto
similarity between fingerprints, and nearest-neighbour retrieval with topk."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(5)
N_MOL, N_BITS, N_TASKS, N_FRAG = 300, 256, 4, 40

# each molecule is a bag of fragment ids; a fragment sets a few hashed bits ("radius" 0..2)
n_frags = rng.integers(3, 9, size=N_MOL)
frag_ids = [torch.from_numpy(rng.choice(N_FRAG, size=k, replace=False)) for k in n_frags]
radius = torch.arange(3)


def fingerprint(frags):
    h = (frags.unsqueeze(1) * 2654435761 + radius * 40503) % 2147483647
    bits = torch.remainder(h, N_BITS).flatten()
    return torch.zeros(N_BITS, dtype=torch.uint8).scatter_(0, bits, 1)


fps = torch.stack([fingerprint(f) for f in frag_ids])
print("fingerprints", fps.dtype, tuple(fps.shape), "mean bits on {:.2f}".format(
    fps.sum(1, dtype=torch.float32).mean().item()))
print("first fingerprint on-bits", fps[0].nonzero().squeeze(1)[:10])

# tasks: each is active when certain "toxicophore" fragments occur together
toxicophores = torch.from_numpy(rng.choice(N_FRAG, size=(N_TASKS, 3), replace=False))
present = torch.zeros(N_MOL, N_FRAG, dtype=torch.bool)
for i, f in enumerate(frag_ids):
    present[i, f] = True
score = present[:, toxicophores].sum(-1).float() + torch.from_numpy(
    rng.normal(0, 0.3, (N_MOL, N_TASKS))).float()
labels = (score > 1.0).float()
missing = torch.from_numpy(rng.random((N_MOL, N_TASKS)) < 0.25)
labels[missing] = float("nan")
print("labels (first 4)\n", labels[:4])
valid = ~torch.isnan(labels)
pos = torch.nansum(labels, dim=0)
neg = valid.sum(0) - pos
print("per task: measured", valid.sum(0), "positives", pos.long())
pos_weight = neg / pos.clamp(min=1)
print("pos_weight", pos_weight.round(decimals=3))

# a grouped split: molecules sharing their smallest fragment ("scaffold") stay together
scaffold = torch.stack([f.min() for f in frag_ids])
groups, inverse, counts = torch.unique(scaffold, return_inverse=True, return_counts=True)
order = torch.argsort(counts, descending=True, stable=True)
test_groups = order[1::5]
is_test = torch.isin(inverse, test_groups)
print("scaffolds", groups.numel(), "largest", counts.max().item(), "test molecules",
      int(is_test.sum()))
x = fps.float()
train_ds = TensorDataset(x[~is_test], labels[~is_test])
x_test, y_test = x[is_test], labels[is_test]


class MultitaskMLP(nn.Module):
    def __init__(self, n_in, n_tasks, hidden=64, p=0.2):
        super().__init__()
        # no bias before BatchNorm: BN's shift makes it redundant
        self.body = nn.Sequential(nn.Linear(n_in, hidden, bias=False), nn.BatchNorm1d(hidden),
                                  nn.ReLU(),
                                  nn.Dropout(p), nn.Linear(hidden, hidden // 2), nn.ReLU())
        self.heads = nn.Linear(hidden // 2, n_tasks)

    def forward(self, x):
        return self.heads(self.body(x))


def masked_bce(logits, target, pos_weight):
    mask = ~torch.isnan(target)
    crit = nn.BCEWithLogitsLoss(reduction="none", pos_weight=pos_weight)
    loss = crit(logits, torch.nan_to_num(target, nan=0.0))
    loss = torch.where(mask, loss, torch.zeros_like(loss))
    per_task = loss.sum(0) / mask.sum(0).clamp(min=1)
    return per_task.mean()


def roc_auc(scores, target):
    """Mann-Whitney ROC-AUC with average ranks for tied scores."""
    uniq, inv = torch.unique(scores, return_inverse=True)
    first = torch.zeros(uniq.numel(), dtype=torch.long).scatter_add_(
        0, inv, torch.ones_like(inv)).cumsum(0)
    counts = torch.bincount(inv, minlength=uniq.numel())
    avg_rank = (first - counts).double() + (counts.double() + 1) / 2
    ranks = avg_rank[inv]
    n_pos = target.sum()
    n_neg = target.numel() - n_pos
    return (ranks[target.bool()].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def roc_curve_auc(scores, target):
    """The area under the stepwise ROC curve, by sorting and torch.trapezoid."""
    order = torch.argsort(scores, descending=True)
    t = target[order]
    tps = torch.cat([torch.zeros(1), t.cumsum(0)])
    fps_ = torch.cat([torch.zeros(1), (1 - t).cumsum(0)])
    return torch.trapezoid(tps / tps[-1], fps_ / fps_[-1])


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        probs = torch.sigmoid(model(x))
    aucs = []
    for k in range(y.size(1)):
        m = ~torch.isnan(y[:, k])
        aucs.append(roc_auc(probs[m, k], y[m, k]).item())
    return torch.tensor(aucs), probs


model = MultitaskMLP(N_BITS, N_TASKS)
loader = DataLoader(train_ds, batch_size=32, shuffle=True, drop_last=True)
epochs = 12
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, epochs=epochs,
                                            steps_per_epoch=len(loader))
for epoch in range(epochs):
    model.train()
    running = 0.0
    for xb, yb in loader:
        xb = F.dropout(xb, p=0.1, training=True)       # bit dropout augmentation
        loss = masked_bce(model(xb), yb, pos_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running += loss.item()
    if epoch % 4 == 3:
        aucs, _ = evaluate(model, x_test, y_test)
        print("epoch {:2d} loss {:.4f} lr {:.5f} test AUC {}".format(
            epoch + 1, running / len(loader), sched.get_last_lr()[0],
            " ".join("{:.3f}".format(a) for a in aucs.tolist())))

aucs, probs = evaluate(model, x_test, y_test)
print("mean test ROC-AUC {:.4f}".format(aucs.mean().item()))
m = ~torch.isnan(y_test[:, 0])
print("rank AUC {:.4f} trapezoid AUC {:.4f}".format(
    roc_auc(probs[m, 0], y_test[m, 0]).item(), roc_curve_auc(probs[m, 0], y_test[m, 0]).item()))
tied = torch.tensor([0.1, 0.4, 0.4, 0.8, 0.4])
print("tied AUC", roc_auc(tied, torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0])).item())
pred = (probs > 0.5).float()
correct = torch.where(torch.isnan(y_test), torch.nan, (pred == y_test).float())
print("accuracy per task", torch.nanmean(correct, dim=0).round(decimals=3))

# Tanimoto similarity and nearest neighbours in the training set
xb = x.bool()
inter = x @ x.T
union = x.sum(1, keepdim=True) + x.sum(1) - inter
tanimoto = inter / union
print("tanimoto diag", tanimoto.diagonal()[:3], "dtype", tanimoto.dtype)
print("pairwise (first 3)\n", tanimoto[:3, :3])
sim = tanimoto.clone()
sim.fill_diagonal_(0)
top = sim[:5].topk(3, dim=1)
print("top-3 neighbour similarity\n", top.values)
jac_bits = (xb[0] & xb[1]).sum().item() / (xb[0] | xb[1]).sum().item()
print("bitwise Jaccard == Tanimoto:", abs(jac_bits - tanimoto[0, 1].item()) < 1e-6)

# bit importance from the first layer's gradient (saliency)
model.eval()
inp = x_test[:8].clone().requires_grad_(True)
model(inp)[:, 0].sum().backward()
sal = inp.grad.abs().mean(0)
print("most salient bits", sal.topk(5).indices.sort().values)

try:
    masked_bce(torch.zeros(2, 3), torch.zeros(2, 4), pos_weight)
except (RuntimeError, ValueError) as e:
    print("shape error:", type(e).__name__, str(e).split("\n")[0])
