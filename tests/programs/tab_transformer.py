"""Deep models for a multiclass table, in the style of the rtdl / FT-Transformer ("Revisiting
Deep Learning Models for Tabular Data"), lucidrains' tab-transformer-pytorch and the fast.ai /
"Entity Embeddings of Categorical Variables" (Guo & Berkhahn) tabular learners:

* preprocessing with NaN-aware statistics: ``torch.nanmedian`` imputation plus missing
  indicators, ``torch.std_mean`` standardisation, ``torch.aminmax`` ranges, rare categories
  folded into an "unknown" code (``bincount`` + ``index_fill``), per-column offsets into one
  shared table (``F.pad(cardinalities, (1, 0)).cumsum``);
* piecewise-linear encoding of numbers on ``torch.nanquantile`` bin edges;
* an entity-embedding MLP (embedding size ``min(50, (card + 1) // 2)``), an FT-Transformer
  (feature tokenizer + [CLS] token + pre-norm ``nn.TransformerEncoder``) and a TabTransformer
  (attention over the categorical tokens only);
* ``CrossEntropyLoss(weight=..., label_smoothing=0.1)`` for imbalanced classes, AdamW with
  no-decay parameter groups, ``LinearLR`` warm-up then ``CosineAnnealingLR`` in ``SequentialLR``;
* accuracy, balanced accuracy and macro-F1 from a ``bincount`` confusion matrix.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N, N_CLASSES = 480, 3
num = torch.randn(N, 3) * torch.tensor([1.0, 4.0, 0.5]) + torch.tensor([0.0, 10.0, -1.0])
cat = torch.stack([torch.randint(0, 5, (N,)), torch.randint(0, 12, (N,)),
                   torch.multinomial(torch.tensor([8.0, 4.0, 2.0, 1.0, 0.3, 0.2]), N, True)], 1)
score = torch.stack([num[:, 0] + 0.3 * (cat[:, 0] == 1).float(),
                     0.4 * (num[:, 1] - 10) + 0.8 * (cat[:, 1] % 3 == 0).float(),
                     num[:, 2] * 2 + 2 + 0.5 * (cat[:, 2] > 2).float()], 1)
label = (score + 0.5 * torch.randn(N, 3) + torch.tensor([0.6, 0.0, -0.9])).argmax(1)
num[torch.rand(N, 3) < 0.08] = float("nan")  # missing values, as in real tables
print("class counts", torch.bincount(label, minlength=N_CLASSES).tolist(),
      "missing per column", torch.isnan(num).sum(0).tolist())

train_idx, test_idx = torch.arange(360), torch.arange(360, N)

# --- preprocessing: statistics come from the training rows only ---------------------------
median = torch.nanmedian(num[train_idx], dim=0).values
missing = torch.isnan(num)
filled = torch.where(missing, median, num)
std, mean = torch.std_mean(filled[train_idx], dim=0)
x_num = (filled - mean) / std
lo, hi = torch.aminmax(x_num[train_idx], dim=0)
print("median", median.round(decimals=3).tolist(), "std", std.round(decimals=3).tolist())
print("range", lo.round(decimals=3).tolist(), hi.round(decimals=3).tolist())

N_BINS = 4
q = torch.linspace(0, 1, N_BINS + 1)
edges = torch.nanquantile(num[train_idx], q, dim=0).T.contiguous()  # (feature, N_BINS + 1)
print("bin edges of column 1", edges[1].round(decimals=3).tolist())


def piecewise_linear(x, edges):
    """Bin t is (x - left_t) / width_t, clipped to [0, 1] except below the first / above the
    last bin, as in rtdl's piecewise-linear encoding."""
    left, right = edges[:, :-1], edges[:, 1:]
    t = (x[:, :, None] - left) / (right - left)
    t = torch.cat([t[..., :1].clamp(max=1.0), t[..., 1:-1].clamp(0.0, 1.0),
                   t[..., -1:].clamp(min=0.0)], -1)
    return t.nan_to_num(0.0)  # missing values encode to zeros (their indicator says so)


ple = piecewise_linear(num, edges)
print("ple row 0", num[0].round(decimals=3).tolist(), ple[0].round(decimals=3).tolist())

counts = [torch.bincount(cat[train_idx, j]) for j in range(3)]
rare = [(c < 10).nonzero().flatten() for c in counts]
print("rare categories", [r.tolist() for r in rare])
cat_clean = cat.clone() + 1  # code 0 is "unknown / rare"
for j, r in enumerate(rare):
    is_rare = torch.isin(cat[:, j], r)
    cat_clean[:, j] = cat_clean[:, j].masked_fill(is_rare, 0)
cards = torch.tensor([int(c.numel()) + 1 for c in counts])
offsets = F.pad(cards, (1, 0)).cumsum(0)[:-1]
print("cardinalities", cards.tolist(), "offsets", offsets.tolist())
lookup = torch.zeros(int(cards.sum()), dtype=torch.long).index_fill(0, offsets, -1)
print("column starts marked", lookup.tolist())
x_cat = cat_clean + offsets
x_dense = torch.cat([x_num, missing.float(), ple.flatten(1)], 1)
print("dense width", x_dense.shape[1], "categorical ids", x_cat[:3].tolist())


class EntityEmbeddingMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeds = nn.ModuleList(nn.Embedding(int(c), min(50, (int(c) + 1) // 2))
                                    for c in cards)
        width = sum(e.embedding_dim for e in self.embeds) + x_dense.shape[1]
        self.emb_drop = nn.Dropout(0.1)
        self.bn_cont = nn.BatchNorm1d(x_dense.shape[1])
        self.layers = nn.Sequential(nn.Linear(width, 32), nn.ReLU(), nn.BatchNorm1d(32),
                                    nn.Dropout(0.1), nn.Linear(32, N_CLASSES))

    def forward(self, xc, xd):
        e = torch.cat([emb(xc[:, j] - offsets[j]) for j, emb in enumerate(self.embeds)], 1)
        return self.layers(torch.cat([self.emb_drop(e), self.bn_cont(xd)], 1))


class FTTransformer(nn.Module):
    def __init__(self, d=16, only_categorical=False):
        super().__init__()
        self.only_categorical = only_categorical
        n_num = x_dense.shape[1]
        self.cat_emb = nn.Embedding(int(cards.sum()), d)
        self.cat_bias = nn.Parameter(torch.zeros(3, d))
        if not only_categorical:
            self.num_weight = nn.Parameter(torch.empty(n_num, d))
            self.num_bias = nn.Parameter(torch.empty(n_num, d))
            for p in (self.num_weight, self.num_bias):
                nn.init.uniform_(p, -d ** -0.5, d ** -0.5)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * d ** -0.5)
        layer = nn.TransformerEncoderLayer(d, nhead=2, dim_feedforward=2 * d, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        if only_categorical:
            self.cont_norm = nn.LayerNorm(n_num)
            self.head = nn.Sequential(nn.Linear(3 * d + n_num, 32), nn.ReLU(),
                                      nn.Linear(32, N_CLASSES))
        else:
            self.head = nn.Sequential(nn.LayerNorm(d), nn.ReLU(), nn.Linear(d, N_CLASSES))

    def forward(self, xc, xd):
        tokens = self.cat_emb(xc) + self.cat_bias
        if self.only_categorical:
            ctx = self.encoder(tokens)
            return self.head(torch.cat([ctx.flatten(1), self.cont_norm(xd)], 1))
        num_tokens = xd[:, :, None] * self.num_weight + self.num_bias
        seq = torch.cat([self.cls.expand(len(xc), -1, -1), num_tokens, tokens], 1)
        return self.head(self.encoder(seq)[:, 0])


def param_groups(model, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        skip = p.ndim < 2 or "emb" in name or "norm" in name or name in ("cls", "num_bias")
        (no_decay if skip else decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def metrics(logits, y):
    pred = logits.argmax(1)
    cm = torch.bincount(y * N_CLASSES + pred, minlength=N_CLASSES ** 2).view(N_CLASSES, -1)
    tp = cm.diag().float()
    recall = tp / cm.sum(1).clamp(min=1)
    precision = tp / cm.sum(0).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return (pred == y).float().mean().item(), recall.mean().item(), f1.mean().item(), cm


class_weight = len(train_idx) / (N_CLASSES * torch.bincount(label[train_idx]).float())
print("class weights", class_weight.round(decimals=4).tolist())
criterion = nn.CrossEntropyLoss(weight=class_weight, label_smoothing=0.1)
EPOCHS, BATCH = 12, 60
for name, build in (("entity-mlp", EntityEmbeddingMLP), ("ft-transformer", FTTransformer),
                    ("tab-transformer", lambda: FTTransformer(only_categorical=True))):
    torch.manual_seed(1)
    model = build()
    groups = param_groups(model, 1e-4)
    opt = torch.optim.AdamW(groups, lr=3e-3)
    warmup = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=2)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS - 2, eta_min=1e-4)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[2])
    print(name, "params", sum(p.numel() for p in model.parameters()),
          "groups", [len(g["params"]) for g in groups])
    for epoch in range(EPOCHS):
        model.train()
        perm = train_idx[torch.randperm(len(train_idx))]
        total = 0.0
        for b in perm.split(BATCH):
            loss = criterion(model(x_cat[b], x_dense[b]), label[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        sched.step()
        if epoch % 4 == 3:
            print(f"  epoch {epoch} loss {total / len(train_idx):.4f} "
                  f"lr {sched.get_last_lr()[0]:.5f}")
    model.eval()
    with torch.no_grad():
        logits = model(x_cat[test_idx], x_dense[test_idx])
    acc, bal, f1, cm = metrics(logits, label[test_idx])
    print(f"  test acc {acc:.4f} balanced acc {bal:.4f} macro-F1 {f1:.4f} "
          f"confusion {cm.tolist()}")
