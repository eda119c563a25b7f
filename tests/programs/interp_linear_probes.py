"""Linear probes on a small network's hidden layers, after Alain & Bengio's "linear classifier
probes", Hewitt & Liang's control tasks and Ravfogel et al.'s INLP: an MLP learns a target
built from two latent variables; forward hooks collect every layer's activations; for each
layer a logistic-regression probe (``nn.Linear`` + BCE-with-logits, Adam, weight decay) is
trained on a ``random_split`` with early stopping on validation loss (best ``state_dict``
restored with ``copy.deepcopy``), an L-BFGS probe is fitted with a closure, a closed-form
ridge probe uses ``torch.linalg.solve`` and ``pinv``, and a mass-mean probe uses class means.
Selectivity against a control task (random labels per input bucket) and iterative nullspace
projection (INLP, projections from ``torch.linalg.svd``) show how linearly a latent is
encoded and what removing it costs."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
rng = np.random.default_rng(0)
N, D_IN = 1200, 8

x_np = rng.normal(size=(N, D_IN)).astype(np.float32)
a_np = x_np[:, 0] + 0.5 * x_np[:, 1] > 0          # latent A: a linear feature of the input
b_np = x_np[:, 2] * x_np[:, 3] > 0                 # latent B: an XOR-like feature
y_np = (a_np ^ b_np).astype(np.int64)              # the task needs both
X = torch.from_numpy(x_np)
latents = {"A": torch.from_numpy(a_np).float(), "B": torch.from_numpy(b_np).float()}
Y = torch.from_numpy(y_np)
print("class balance", f"{Y.float().mean().item():.4f}",
      {k: f"{v.mean().item():.4f}" for k, v in latents.items()})

net = nn.Sequential(
    nn.Linear(D_IN, 32), nn.ReLU(),
    nn.Linear(32, 32), nn.ReLU(),
    nn.Linear(32, 16), nn.ReLU(),
    nn.Linear(16, 2),
)
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
loader = DataLoader(TensorDataset(X, Y), batch_size=100, shuffle=True,
                    generator=torch.Generator().manual_seed(0))
for epoch in range(12):
    correct = 0
    for xb, yb in loader:
        logits = net(xb)
        loss = F.cross_entropy(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        correct += (logits.argmax(1) == yb).sum().item()
    if epoch % 3 == 2:
        print(f"net epoch {epoch} loss {loss.item():.4f} train acc {correct / N:.4f}")
net.eval()

# collect activations of every ReLU (and the input) with forward hooks
acts = {"input": X}
handles = []
for name, module in net.named_modules():
    if isinstance(module, nn.ReLU):
        handles.append(module.register_forward_hook(
            lambda m, i, o, name=name: acts.__setitem__(f"relu{name}", o.detach())))
with torch.no_grad():
    net(X)
for h in handles:
    h.remove()
print("layers", {k: tuple(v.shape) for k, v in acts.items()})


def split(feats, labels, seed=0):
    ds = TensorDataset(feats, labels)
    return random_split(ds, [0.6, 0.2, 0.2], generator=torch.Generator().manual_seed(seed))


def tensors(subset):
    idx = torch.tensor(subset.indices)
    feats, labels = subset.dataset.tensors
    return feats[idx], labels[idx]


def standardize(train, *others):
    mu, sd = train.mean(0), train.std(0).clamp(min=1e-6)
    return [(t - mu) / sd for t in (train, *others)]


def adam_probe(feats, labels, patience=3, max_epochs=30):
    tr, va, te = split(feats, labels)
    (xtr, ytr), (xva, yva), (xte, yte) = tensors(tr), tensors(va), tensors(te)
    xtr, xva, xte = standardize(xtr, xva, xte)
    torch.manual_seed(1)
    probe = nn.Linear(feats.shape[1], 1)
    opt = torch.optim.Adam(probe.parameters(), lr=5e-2, weight_decay=1e-3)
    best, best_state, bad, stopped = float("inf"), None, 0, max_epochs
    dl = DataLoader(TensorDataset(xtr, ytr), batch_size=180, shuffle=True,
                    generator=torch.Generator().manual_seed(2))
    for epoch in range(max_epochs):
        probe.train()
        for xb, yb in dl:
            loss = F.binary_cross_entropy_with_logits(probe(xb).squeeze(-1), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        probe.eval()
        with torch.no_grad():
            val = F.binary_cross_entropy_with_logits(probe(xva).squeeze(-1), yva).item()
        if val < best - 1e-3:
            best, best_state, bad = val, copy.deepcopy(probe.state_dict()), 0
        else:
            bad += 1
            if bad >= patience:
                stopped = epoch
                break
    probe.load_state_dict(best_state)
    with torch.no_grad():
        acc = ((probe(xte).squeeze(-1) > 0).float() == yte).float().mean().item()
    return acc, stopped, best


def lbfgs_probe(feats, labels):
    tr, _, te = split(feats, labels)
    (xtr, ytr), (xte, yte) = tensors(tr), tensors(te)
    xtr, xte = standardize(xtr, xte)
    w = torch.zeros(feats.shape[1] + 1, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1, max_iter=50, history_size=10,
                            line_search_fn="strong_wolfe")
    xtr1 = F.pad(xtr, (0, 1), value=1.0)

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(xtr1 @ w, ytr) + 1e-2 * w[:-1].pow(2).sum()
        loss.backward()
        return loss

    first = opt.step(closure)  # LBFGS.step returns the loss of the first evaluation
    final = closure()
    with torch.no_grad():
        acc = (((F.pad(xte, (0, 1), value=1.0) @ w) > 0).float() == yte).float().mean()
    return acc.item(), first.item(), final.item()


def ridge_probe(feats, labels, lam=1.0):
    tr, _, te = split(feats, labels)
    (xtr, ytr), (xte, yte) = tensors(tr), tensors(te)
    xtr, xte = standardize(xtr, xte)
    xtr = xtr.double()
    t = 2 * ytr.double() - 1
    gram = xtr.T @ xtr + lam * torch.eye(xtr.shape[1], dtype=torch.float64)
    w = torch.linalg.solve(gram, xtr.T @ t)
    w_pinv = torch.linalg.pinv(xtr) @ t
    agree = F.cosine_similarity(w, w_pinv, dim=0)
    acc = (((xte.double() @ w) > 0).double() == yte.double()).double().mean()
    return acc.item(), agree.item()


def mass_mean_probe(feats, labels):
    tr, _, te = split(feats, labels)
    (xtr, ytr), (xte, yte) = tensors(tr), tensors(te)
    mask = ytr.bool()
    direction = xtr[mask].mean(0) - xtr[~mask].mean(0)
    mid = 0.5 * (xtr[mask].mean(0) + xtr[~mask].mean(0))
    acc = ((((xte - mid) @ direction) > 0).float() == yte).float().mean()
    return acc.item(), direction.norm().item()


for latent, labels in latents.items():
    print(f"latent {latent}")
    for layer, feats in acts.items():
        if layer == "relu1":
            continue
        acc, stopped, best = adam_probe(feats, labels)
        lb_acc, lb_first, lb_loss = lbfgs_probe(feats, labels)
        r_acc, agree = ridge_probe(feats, labels)
        mm_acc, norm = mass_mean_probe(feats, labels)
        print(f"  {layer:6s} adam {acc:.4f} (stop {stopped}, val {best:.4f})"
              f" lbfgs {lb_acc:.4f} ({lb_first:.4f}->{lb_loss:.4f})"
              f" ridge {r_acc:.4f} cos {agree:.4f}"
              f" mass-mean {mm_acc:.4f} |d| {norm:.3f}")

# control task: each input bucket gets a fixed random label; selectivity = task - control
bucket = torch.bucketize(X[:, 0].contiguous(), torch.linspace(-2, 2, 9))
control_map = torch.randint(0, 2, (10,), generator=torch.Generator().manual_seed(5))
control = control_map[bucket].float()
print("buckets", torch.bincount(bucket, minlength=10).tolist())
for layer in ["input", "relu3"]:
    task_acc = adam_probe(acts[layer], latents["A"])[0]
    ctrl_acc = adam_probe(acts[layer], control)[0]
    print(f"selectivity {layer}: task {task_acc:.4f} control {ctrl_acc:.4f}"
          f" -> {task_acc - ctrl_acc:+.4f}")


# INLP: repeatedly fit a probe for latent B and project its direction out
def fit_direction(feats, labels, steps=150):
    w = torch.zeros(feats.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.5, momentum=0.9)
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(feats @ w + b, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = (((feats @ w + b) > 0).float() == labels).float().mean().item()
    return w.detach(), acc


mu, sd = acts["relu3"].mean(0), acts["relu3"].std(0).clamp(min=1e-6)
feats = (acts["relu3"] - mu) / sd
dim = feats.shape[1]
directions = []
projected = feats
for it in range(4):
    w, acc = fit_direction(projected, latents["B"])
    directions.append(F.normalize(w, dim=0))
    basis = torch.stack(directions, 1)
    u, s, vh = torch.linalg.svd(basis, full_matrices=False)
    rank = int((s > 1e-6).sum())
    p_null = torch.eye(dim) - u[:, :rank] @ u[:, :rank].T
    projected = feats @ p_null
    print(f"INLP iter {it} probe acc {acc:.4f} rank {rank}"
          f" |P|_F^2 {torch.linalg.matrix_norm(p_null).pow(2).item():.2f}")
print("P idempotent", torch.allclose(p_null @ p_null, p_null, atol=1e-5),
      "symmetric", torch.allclose(p_null, p_null.T, atol=1e-6))
w_a, acc_a = fit_direction(projected, latents["A"])
print(f"after INLP: latent A still decodable {acc_a:.4f}")
with torch.no_grad():
    clean_acc = (net[4:](acts["relu3"]).argmax(1) == Y).float().mean().item()
    task_acc = (net[4:](projected * sd + mu).argmax(1) == Y).float().mean().item()
print(f"task acc from relu3 {clean_acc:.4f}, with B removed {task_acc:.4f}")
