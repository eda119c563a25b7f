"""Feature-interaction CTR models, in the style of the xDeepFM, AutoInt and FiBiNET reference
implementations (DeepCTR-Torch / FuxiCTR ports) on an Avazu-like hashed click log:

* raw string-like ids hashed with 64-bit integer arithmetic (a multiplicative hash that wraps
  around, ``bitwise_xor`` / ``>>`` mixing, ``torch.remainder`` into buckets, negative raw ids
  too) and numeric features discretised with ``torch.quantile`` edges and
  ``torch.bucketize(out_int32=True)``;
* one shared embedding table with per-field offsets (``cumsum``), ``max_norm`` renormalisation;
* xDeepFM's Compressed Interaction Network: outer products by ``torch.einsum('bhd,bmd->bhmd')``
  compressed by ``nn.Conv1d(kernel_size=1)``, split half / half as in the paper;
* AutoInt: ``nn.MultiheadAttention`` over the field axis with residual projections;
* FiBiNET: SENET field re-weighting (squeeze by mean, two ``Linear`` excitations) and the
  "field-each" bilinear interaction over pairs from ``torch.combinations``;
* ``BCEWithLogitsLoss(pos_weight=)``, Adam with ``weight_decay`` on a param group, log loss,
  ROC-AUC from ``argsort`` ranks and ``torch.sort(stable=True)`` ties, calibration by bucket.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N = 768
BUCKETS = 97
MIX = 0x9E3779B97F4A7C15 - (1 << 64)  # the golden-ratio constant as a signed int64


def hash_ids(raw, salt):
    """64-bit multiplicative hash: products wrap modulo 2**64, as in the C++ feature hashers."""
    h = (raw + salt) * MIX
    h = h ^ (h >> 29)
    return torch.remainder(h, BUCKETS)


site = torch.randint(-50, 5000, (N,))
app = torch.randint(0, 10 ** 9, (N,), dtype=torch.int64) * 1000003
device_model = torch.randint(0, 300, (N,))
hour = torch.randint(0, 24, (N,))
price = torch.exp(torch.randn(N) * 0.8 + 2.0)
dwell = torch.rand(N) ** 2 * 120.0

print("wrapped product", (torch.tensor([2 ** 62]) * 4).item(), (app[:2] * MIX).tolist())
print("remainder vs fmod", torch.remainder(torch.tensor([-7, 7, -13]), 5).tolist(),
      torch.fmod(torch.tensor([-7, 7, -13]), 5).tolist(), (torch.tensor([-7]) % 5).item(),
      (torch.tensor([-7]) // 5).item())
hashed = [hash_ids(site, 1), hash_ids(app, 2), hash_ids(device_model, 3)]
print("hashed site", hashed[0][:8].tolist(), "raw", site[:8].tolist())
print("bucket use", [int(torch.unique(h).numel()) for h in hashed])

edges = torch.quantile(price, torch.linspace(0, 1, 9)[1:-1])
price_b = torch.bucketize(price, edges, out_int32=True)
dwell_b = torch.bucketize(dwell, torch.tensor([1.0, 5.0, 20.0, 60.0]), right=True)
print("price edges", [round(e, 3) for e in edges.tolist()], price_b.dtype,
      torch.bincount(price_b).tolist(), torch.bincount(dwell_b).tolist())

fields = torch.stack([hashed[0], hashed[1], hashed[2], hour, price_b.long(), dwell_b], 1)
CARDS = torch.tensor([BUCKETS, BUCKETS, BUCKETS, 24, 8, 5])
OFFSETS = torch.cat([torch.zeros(1, dtype=torch.long), CARDS.cumsum(0)[:-1]])
logit = (0.9 * ((hour >= 18) & (hour <= 22)).float() - 0.25 * price_b.float()
         + 0.6 * (hashed[0] % 7 == 0).float() + 0.4 * torch.log1p(dwell) - 1.6)
label = torch.bernoulli(torch.sigmoid(logit))
print("offsets", OFFSETS.tolist(), "ctr", round(label.mean().item(), 4))

F_N, D = fields.shape[1], 8


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(int(CARDS.sum()), D, max_norm=2.0)
        self.linear = nn.Embedding(int(CARDS.sum()), 1)
        nn.init.zeros_(self.linear.weight)
        self.bias = nn.Parameter(torch.zeros(1))
        self.dnn = nn.Sequential(nn.Linear(F_N * D, 32), nn.BatchNorm1d(32), nn.ReLU(),
                                 nn.Linear(32, 1))

    def embed(self, x):
        idx = x + OFFSETS
        return self.emb(idx), self.linear(idx).sum(1) + self.bias


class CIN(nn.Module):
    def __init__(self, sizes=(8, 8)):
        super().__init__()
        self.convs = nn.ModuleList()
        prev = F_N
        for i, s in enumerate(sizes):
            self.convs.append(nn.Conv1d(F_N * prev, s, kernel_size=1))
            prev = s // 2 if i < len(sizes) - 1 else s
        self.sizes = sizes
        self.out = nn.Linear(sizes[0] // 2 + sizes[-1], 1)

    def forward(self, x0):
        b = x0.shape[0]
        xk, pooled = x0, []
        for i, conv in enumerate(self.convs):
            z = torch.einsum("bhd,bmd->bhmd", x0, xk).reshape(b, -1, D)
            z = F.relu(conv(z))
            if i < len(self.convs) - 1:
                nxt, keep = torch.split(z, self.sizes[i] // 2, dim=1)
                xk = nxt
            else:
                keep = z
            pooled.append(keep.sum(-1))
        return self.out(torch.cat(pooled, 1))


class XDeepFM(Base):
    def __init__(self):
        super().__init__()
        self.cin = CIN()

    def forward(self, x):
        e, lin = self.embed(x)
        return (lin + self.cin(e) + self.dnn(e.flatten(1))).squeeze(1)


class AutoInt(Base):
    def __init__(self, layers=2, heads=2):
        super().__init__()
        self.att = nn.ModuleList(nn.MultiheadAttention(D, heads, batch_first=True, bias=False)
                                 for _ in range(layers))
        self.res = nn.ModuleList(nn.Linear(D, D, bias=False) for _ in range(layers))
        self.out = nn.Linear(F_N * D, 1)

    def forward(self, x):
        e, lin = self.embed(x)
        h = e
        for att, res in zip(self.att, self.res):
            a, w = att(h, h, h, average_attn_weights=True)
            h = F.relu(a + res(h))
        self.last_attn = w
        return (lin + self.out(h.flatten(1)) + self.dnn(e.flatten(1))).squeeze(1)


PAIRS = torch.combinations(torch.arange(F_N), r=2)


class FiBiNET(Base):
    def __init__(self, reduction=3):
        super().__init__()
        self.se = nn.Sequential(nn.Linear(F_N, F_N // reduction), nn.ReLU(),
                                nn.Linear(F_N // reduction, F_N), nn.ReLU())
        self.bilinear = nn.Parameter(torch.randn(F_N, D, D) * 0.1)
        self.out = nn.Linear(2 * len(PAIRS) * D, 1)

    def interact(self, e):
        vi, vj = e[:, PAIRS[:, 0]], e[:, PAIRS[:, 1]]
        wi = self.bilinear[PAIRS[:, 0]]
        return torch.einsum("bpd,pde->bpe", vi, wi) * vj

    def forward(self, x):
        e, lin = self.embed(x)
        weights = self.se(e.mean(-1))
        self.last_se = weights
        v = e * weights.unsqueeze(-1)
        both = torch.cat([self.interact(e), self.interact(v)], 1)
        return (lin + self.out(both.flatten(1)) + self.dnn(e.flatten(1))).squeeze(1)


def auc(score, y):
    order = torch.sort(score, stable=True).indices
    ranks = torch.empty_like(score)
    ranks[order] = torch.arange(1, len(score) + 1, dtype=score.dtype)
    npos = y.sum()
    nneg = len(y) - npos
    return ((ranks[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg)).item()


perm = torch.randperm(N)
tr, te = perm[:640], perm[640:]
pos_weight = (label[tr] == 0).sum() / (label[tr] == 1).sum()
print("pos_weight", round(pos_weight.item(), 4), "pairs", PAIRS.shape[0], PAIRS[:3].tolist())

for cls in (XDeepFM, AutoInt, FiBiNET):
    torch.manual_seed(1)
    model = cls()
    emb_params = [model.emb.weight, model.linear.weight]
    others = [p for n, p in model.named_parameters() if n not in ("emb.weight", "linear.weight")]
    opt = torch.optim.Adam([{"params": emb_params}, {"params": others, "weight_decay": 1e-4}],
                           lr=0.01)
    lossf = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    for epoch in range(5):
        model.train()
        for b in tr.split(128):
            loss = lossf(model(fields[b]), label[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        s = model(fields[te])
        ll = F.binary_cross_entropy_with_logits(s, label[te]).item()
        p = torch.sigmoid(s)
        calib = torch.stack([label[te][(p >= lo) & (p < lo + 0.5)].mean()
                             for lo in (0.0, 0.5)])
    norms = model.emb.weight.norm(dim=1)
    print(f"{cls.__name__:8s} train-loss {loss.item():.4f} test logloss {ll:.3f} "
          f"AUC {auc(s, label[te]):.4f} mean p {p.mean().item():.4f} "
          f"calib {[round(c, 3) for c in calib.tolist()]} max row-norm {norms.max().item():.4f}")
    if cls is AutoInt:
        print("  attention", tuple(model.last_attn.shape),
              [round(v, 3) for v in model.last_attn[0, 0].tolist()])
    if cls is FiBiNET:
        print("  SE weights", [round(v, 3) for v in model.last_se[:2].flatten().tolist()])
