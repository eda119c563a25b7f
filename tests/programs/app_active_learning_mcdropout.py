"""Pool-based active learning with MC dropout, as the "Deep Bayesian Active Learning" tutorials
and repositories (BaaL, the Gal et al. reproductions) write it: a small labelled set grown from
an unlabelled pool by acquisition scores computed from T stochastic forward passes with only the
dropout layers left in training mode (``model.eval()`` first, so BatchNorm uses its running
statistics). Scores: predictive entropy (``torch.special.entr``), BALD mutual information
(``torch.xlogy``), variation ratio (``torch.mode`` over sampled labels) and the top-2 margin
(``torch.topk``), against random acquisition. The labelled pool is a growing ``Subset``; the
unlabelled candidates come from ``torch.isin``; each round retrains from the initial weights
(``copy.deepcopy`` of a state_dict) and reports accuracy, NLL and expected calibration error
(``torch.bucketize``)."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset, TensorDataset

torch.manual_seed(0)
# float64: in float32 a last-bit difference between CPUs' kernels flips an acquisition choice
torch.set_default_dtype(torch.float64)

# ------------------------------------------------ a 4-class problem with overlapping classes
C, D = 4, 8
centers = 1.6 * torch.randn(C, D)


def make_split(n):
    y = torch.randint(0, C, (n,))
    x = centers[y] + torch.randn(n, D) * torch.linspace(0.8, 1.6, D)
    return x, y


x_pool, y_pool = make_split(800)
x_test, y_test = make_split(400)
pool = TensorDataset(x_pool, y_pool)
print("pool class counts", torch.bincount(y_pool, minlength=C).tolist())


class MCDropoutNet(nn.Module):
    def __init__(self, d_in, n_out, hidden=64, p=0.25):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(p),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(p),
        )
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.head(self.body(x))


def enable_mc_dropout(model):
    """Evaluation mode everywhere except the dropout layers."""
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    return model


@torch.no_grad()
def mc_probs(model, x, passes=10):
    enable_mc_dropout(model)
    return torch.stack([F.softmax(model(x), dim=-1) for _ in range(passes)])   # (T, N, C)


def entropy_score(p):
    return torch.special.entr(p.mean(0)).sum(-1)


def bald_score(p):
    mean_p = p.mean(0)
    h_mean = -torch.xlogy(mean_p, mean_p).sum(-1)
    mean_h = -torch.xlogy(p, p).sum(-1).mean(0)
    return h_mean - mean_h


def variation_ratio(p):
    votes = p.argmax(-1)                               # (T, N)
    modal, _ = torch.mode(votes, dim=0)
    return 1 - (votes == modal).float().mean(0)


def margin_score(p):
    top2 = torch.topk(p.mean(0), k=2, dim=-1).values
    return -(top2[:, 0] - top2[:, 1])                  # small margin = uncertain


def expected_calibration_error(probs, y, n_bins=10):
    conf, pred = probs.max(-1)
    edges = torch.linspace(0, 1, n_bins + 1)
    bins = torch.bucketize(conf, edges[1:-1], right=True)
    ece = torch.zeros(())
    for b in range(n_bins):
        m = bins == b
        if m.any():
            gap = (pred[m] == y[m]).float().mean() - conf[m].mean()
            ece = ece + m.float().mean() * gap.abs()
    return ece.item()


def train(model, dataset, epochs=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    loader = DataLoader(dataset, batch_size=16, shuffle=True, generator=g, drop_last=False)
    opt = torch.optim.Adam(model.parameters(), lr=6e-3, weight_decay=5e-4)
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            if len(yb) < 2:       # BatchNorm needs two samples per batch in training
                continue
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


base = MCDropoutNet(D, C)
init_state = copy.deepcopy(base.state_dict())

# a class-balanced seed set of 12 labels, drawn with torch.multinomial per class
seed_idx = torch.cat([torch.multinomial((y_pool == c).float(), 3) for c in range(C)])
print("seed labels", sorted(y_pool[seed_idx].tolist()))

strategies = {"random": None, "entropy": entropy_score, "bald": bald_score,
              "var_ratio": variation_ratio, "margin": margin_score}
ROUNDS, ACQUIRE = 4, 16
curves = {}
for name, score_fn in strategies.items():
    torch.manual_seed(1)
    labelled = seed_idx.tolist()
    curve = []
    for rnd in range(ROUNDS + 1):
        model = MCDropoutNet(D, C)
        model.load_state_dict(init_state)
        train(model, Subset(pool, labelled), seed=rnd)
        p_test = mc_probs(model, x_test)
        mean_p = p_test.mean(0)
        acc = (mean_p.argmax(-1) == y_test).float().mean().item()
        nll = F.nll_loss(mean_p.clamp_min(1e-12).log(), y_test).item()
        curve.append((len(labelled), acc, nll, expected_calibration_error(mean_p, y_test)))
        if rnd == ROUNDS:
            break
        candidates = torch.arange(len(pool))[~torch.isin(torch.arange(len(pool)),
                                                         torch.tensor(labelled))]
        if score_fn is None:
            chosen = candidates[torch.randperm(len(candidates))[:ACQUIRE]]
        else:
            scores = score_fn(mc_probs(model, x_pool[candidates]))
            chosen = candidates[torch.topk(scores, ACQUIRE).indices]
        labelled.extend(chosen.tolist())
    curves[name] = curve
    last = curve[-1]
    print(f"{name:9s} " + " ".join(f"{acc:.3f}" for _, acc, _, _ in curve)
          + f" | final n={last[0]} nll {last[2]:.3f} ece {last[3]:.3f}"
          + f" | labels {torch.bincount(y_pool[torch.tensor(labelled)], minlength=C).tolist()}")

# how the acquisition functions relate on one model's pool predictions
model = MCDropoutNet(D, C)
model.load_state_dict(init_state)
train(model, Subset(pool, seed_idx.tolist()))
p_pool = mc_probs(model, x_pool, passes=30)
scores = torch.stack([entropy_score(p_pool), bald_score(p_pool), variation_ratio(p_pool),
                      margin_score(p_pool)])
# variation ratios tie a lot: a stable sort breaks ties by pool order, reproducibly
ranks = scores.argsort(dim=1, stable=True).argsort(dim=1).float()
print("spearman(entropy, bald, var_ratio, margin):")
print(torch.corrcoef(ranks).round(decimals=2))
top = torch.topk(bald_score(p_pool), 5)
print("top BALD", [round(v, 3) for v in top.values.tolist()], "idx", top.indices.tolist())
print("BALD <= entropy everywhere:", bool((bald_score(p_pool) <= entropy_score(p_pool) + 1e-6)
                                         .all()))
single = enable_mc_dropout(model)(x_pool[:3])
again = model(x_pool[:3])
print("dropout active at inference:", not torch.equal(single, again),
      "| eval() output deterministic:", torch.equal(model.eval()(x_pool[:3]), model(x_pool[:3])))
