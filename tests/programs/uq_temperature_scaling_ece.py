"""Post-hoc calibration (Guo et al. 2017, the ``temperature_scaling.py`` reference code): an
over-confident MLP classifier, then a single temperature fitted on held-out logits with
``optim.LBFGS(line_search_fn='strong_wolfe')``, vector scaling and matrix (Dirichlet-style)
scaling fitted the same way; ECE / MCE with equal-width bins (``bucketize``, ``scatter_add``,
``histc``), adaptive ECE with equal-mass bins (``quantile``), classwise ECE, Brier score,
reliability-diagram rows and the _ECELoss module of the reference code."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
rng = np.random.default_rng(0)

n_cls, dim = 4, 8
centers = rng.standard_normal((n_cls, dim)) * 1.1
labels = rng.integers(0, n_cls, 1200)
feats = centers[labels] + rng.standard_normal((1200, dim)) * 1.3
X = torch.from_numpy(feats.astype(np.float32))
Y = torch.from_numpy(labels)
full = TensorDataset(X, Y)
train_set, val_set, test_set = random_split(full, [600, 300, 300],
                                            generator=torch.Generator().manual_seed(1))
print("split sizes", len(train_set), len(val_set), len(test_set))

model = nn.Sequential(nn.Linear(dim, 64), nn.GELU(), nn.Linear(64, 64), nn.GELU(),
                      nn.Linear(64, n_cls))
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
loader = DataLoader(train_set, batch_size=50, shuffle=True,
                    generator=torch.Generator().manual_seed(2))
for epoch in range(25):  # long enough to over-fit: over-confident on held-out data
    model.train()
    total = 0.0
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
    if epoch % 5 == 4:
        print(f"epoch {epoch + 1:2d} train nll {total / len(train_set):.4f}")


@torch.no_grad()
def collect_logits(dataset):
    model.eval()
    xs, ys = zip(*[dataset[i] for i in range(len(dataset))])
    return model(torch.stack(xs)), torch.stack(ys)


val_logits, val_y = collect_logits(val_set)
test_logits, test_y = collect_logits(test_set)
print("logits", tuple(val_logits.shape), val_logits.dtype, "labels", val_y.dtype)
# Calibration maps are fitted in float64: near its optimum the one-parameter NLL is almost a
# quadratic, and strong-Wolfe's cubic fit would otherwise be decided by float32 rounding.
val_logits, test_logits = val_logits.double(), test_logits.double()


def ece_bins(probs, y, n_bins=10):
    conf, pred = probs.max(dim=1)
    correct = pred.eq(y).to(conf.dtype)
    edges = torch.linspace(0, 1, n_bins + 1, dtype=conf.dtype)
    idx = torch.bucketize(conf, edges[1:-1], right=False)  # bin of each sample
    count = torch.zeros(n_bins, dtype=conf.dtype).scatter_add_(0, idx, torch.ones_like(conf))
    conf_sum = torch.zeros(n_bins, dtype=conf.dtype).scatter_add(0, idx, conf)
    acc_sum = torch.zeros(n_bins, dtype=conf.dtype).index_add(0, idx, correct)
    nonempty = count > 0
    avg_conf = torch.where(nonempty, conf_sum / count.clamp(min=1), torch.zeros(()))
    avg_acc = torch.where(nonempty, acc_sum / count.clamp(min=1), torch.zeros(()))
    gap = (avg_conf - avg_acc).abs()
    ece = (count / len(y) * gap).sum()
    mce = gap[nonempty].max()
    hist = torch.histc(conf, bins=n_bins, min=0, max=1)
    return ece.item(), mce.item(), count, hist, avg_conf, avg_acc


def adaptive_ece(probs, y, n_bins=5):
    conf, pred = probs.max(1)
    correct = (pred == y).float()
    levels = torch.linspace(0, 1, n_bins + 1, dtype=conf.dtype)[1:-1]
    qs = torch.quantile(conf, levels, interpolation="linear")
    idx = torch.searchsorted(qs.contiguous(), conf)
    out = torch.zeros(())
    for b in range(n_bins):
        m = idx == b
        if m.any():
            out = out + m.float().mean() * (conf[m].mean() - correct[m].mean()).abs()
    return out.item()


def classwise_ece(probs, y, n_bins=10):
    onehot = F.one_hot(y, n_cls).to(probs.dtype)
    total = 0.0
    for k in range(n_cls):
        pk = probs[:, k]
        idx = (pk * n_bins).long().clamp_(max=n_bins - 1)
        s_p = torch.zeros(n_bins, dtype=probs.dtype).scatter_reduce(0, idx, pk, reduce="sum")
        s_y = torch.zeros(n_bins, dtype=probs.dtype).scatter_reduce(0, idx, onehot[:, k],
                                                                    reduce="sum")
        total += ((s_p - s_y).abs().sum() / len(y)).item()
    return total / n_cls


class _ECELoss(nn.Module):
    """The reference code's module: loops over bin boundaries with gt/le masks."""

    def __init__(self, n_bins=15):
        super().__init__()
        bin_boundaries = torch.linspace(0, 1, n_bins + 1)
        self.bin_lowers = bin_boundaries[:-1]
        self.bin_uppers = bin_boundaries[1:]

    def forward(self, logits, labels):
        softmaxes = F.softmax(logits, dim=1)
        confidences, predictions = torch.max(softmaxes, 1)
        accuracies = predictions.eq(labels)
        ece = torch.zeros(1, device=logits.device)
        for bin_lower, bin_upper in zip(self.bin_lowers, self.bin_uppers):
            in_bin = confidences.gt(bin_lower.item()) * confidences.le(bin_upper.item())
            prop_in_bin = in_bin.float().mean()
            if prop_in_bin.item() > 0:
                accuracy_in_bin = accuracies[in_bin].float().mean()
                avg_confidence_in_bin = confidences[in_bin].mean()
                ece += torch.abs(avg_confidence_in_bin - accuracy_in_bin) * prop_in_bin
        return ece


def report(name, logits, y):
    probs = logits.softmax(-1)
    nll = F.cross_entropy(logits, y).item()
    acc = (logits.argmax(-1) == y).float().mean().item()
    brier = (probs - F.one_hot(y, n_cls)).pow(2).sum(-1).mean().item()
    ece, mce, count, hist, conf, accb = ece_bins(probs, y)
    ece15 = _ECELoss()(logits, y).item()
    print(f"{name:8s} nll {nll:.4f} acc {acc:.4f} brier {brier:.4f} ece {ece:.4f} "
          f"mce {mce:.4f} ece15 {ece15:.4f} aece {adaptive_ece(probs, y):.4f} "
          f"cwece {classwise_ece(probs, y):.4f}")
    return count, hist, conf, accb


count, hist, conf, accb = report("uncal", test_logits, test_y)
print("bin counts", count.long().tolist())
print("histc     ", hist.long().tolist(), "equal", torch.equal(count, hist))
for b in range(6, 10):
    print(f"  bin {b} conf {conf[b]:.4f} acc {accb[b]:.4f}")


class ModelWithTemperature(nn.Module):
    def __init__(self):
        super().__init__()
        self.temperature = nn.Parameter(torch.ones(1, dtype=torch.float64) * 1.5)

    def forward(self, logits):
        return logits / self.temperature.unsqueeze(1).expand(logits.size(0), logits.size(1))


scaler = ModelWithTemperature()
nll_criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.LBFGS([scaler.temperature], lr=0.01, max_iter=50,
                              line_search_fn="strong_wolfe")
calls = []


def closure():
    optimizer.zero_grad()
    loss = nll_criterion(scaler(val_logits), val_y)
    loss.backward()
    calls.append(loss.item())
    return loss


optimizer.step(closure)
print(f"temperature {scaler.temperature.item():.4f} after {len(calls)} closure calls, "
      f"val nll {calls[0]:.4f} -> {calls[-1]:.4f}")
st = optimizer.state[optimizer.param_groups[0]["params"][0]]
print("lbfgs state keys", sorted(k for k in st if not isinstance(st[k], list)))
with torch.no_grad():
    report("temp", scaler(test_logits), test_y)

# Vector scaling (per-class temperature and bias) and matrix scaling with off-diagonal
# regularisation, both with strong-Wolfe L-BFGS; parameters in log space for positivity.
log_w = torch.zeros(n_cls, dtype=torch.float64, requires_grad=True)
bias = torch.zeros(n_cls, dtype=torch.float64, requires_grad=True)
opt_v = torch.optim.LBFGS([log_w, bias], lr=1, max_iter=100, history_size=10,
                          tolerance_grad=1e-6, line_search_fn="strong_wolfe")


def closure_v():
    opt_v.zero_grad()
    loss = F.cross_entropy(val_logits * log_w.exp() + bias, val_y)
    loss.backward()
    return loss


final = opt_v.step(closure_v)
print("vector scale", [f"{v:.3f}" for v in log_w.exp().tolist()],
      "first loss", f"{final.item():.4f}")
with torch.no_grad():
    report("vector", test_logits * log_w.exp() + bias, test_y)

W = nn.Linear(n_cls, n_cls, dtype=torch.float64)
with torch.no_grad():
    W.weight.copy_(torch.eye(n_cls))
    W.bias.zero_()
opt_m = torch.optim.LBFGS(W.parameters(), lr=1, max_iter=60, line_search_fn="strong_wolfe")
off_diag = 1 - torch.eye(n_cls, dtype=torch.float64)


def closure_m():
    opt_m.zero_grad()
    log_p = F.log_softmax(val_logits, -1)
    loss = F.nll_loss(F.log_softmax(W(log_p), -1), val_y) \
        + 1e-2 * (W.weight * off_diag).pow(2).sum() / (n_cls * (n_cls - 1))
    loss.backward()
    return loss


opt_m.step(closure_m)
print("matrix diag", [f"{v:.3f}" for v in torch.diagonal(W.weight).tolist()],
      f"offdiag norm {torch.linalg.matrix_norm(W.weight * off_diag).item():.4f}")
with torch.no_grad():
    report("matrix", W(F.log_softmax(test_logits, -1)), test_y)

# Temperature by grid search as a sanity check: argmin of val NLL over a logspace grid.
temps = torch.logspace(-0.5, 1.0, 61, dtype=torch.float64)
with torch.no_grad():
    grid_nll = torch.stack([F.cross_entropy(val_logits / t, val_y) for t in temps])
best = grid_nll.argmin()
print(f"grid T {temps[best].item():.4f} nll {grid_nll[best].item():.4f} "
      f"lbfgs-grid {scaler.temperature.item() - temps[best].item():+.3f}")
