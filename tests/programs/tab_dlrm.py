"""A small DLRM click-through-rate model, in the style of facebookresearch/dlrm's
``dlrm_s_pytorch.py`` and TorchRec's ``DLRM``:

* Criteo-like synthetic data: log-transformed dense counts and multi-hot categorical features
  given as flat ``indices`` + ``offsets`` per table (some bags empty, as in real click logs);
* one ``nn.EmbeddingBag(mode='sum', sparse=True)`` per table, uniformly initialised in
  ``±sqrt(1/n)``, a quotient-remainder (QR) embedding for the largest table (``%`` and ``//``
  hashing, combined by multiplication), and weighted pooling through ``per_sample_weights``;
* the dot interaction: ``torch.bmm(T, T.transpose(1, 2))`` then the strictly lower triangle
  picked with ``torch.tril_indices`` (checked against ``triu_indices`` on the transpose);
* bottom/top MLPs, ``nn.BCELoss`` on a sigmoid output, plain SGD on the sparse embedding
  gradients next to Adagrad (also sparse-capable) on a second copy; the sparse gradient's
  ``norm()`` and ``pow(2)``;
* evaluation: log loss, accuracy and ROC-AUC from ranks (``argsort``), and ``F.embedding_bag``
  with ``include_last_offset=True`` / ``mode='max'`` reproducing the module's pooling.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N, N_DENSE, DIM = 256, 4, 8
TABLE_SIZES = [20, 12, 60]  # the last table is large enough to get the QR trick
QR_COLLISIONS = 8


def make_bags(n_rows, table_size, max_len):
    lengths = torch.randint(0, max_len + 1, (n_rows,))
    indices = torch.randint(0, table_size, (int(lengths.sum()),))
    offsets = torch.zeros(n_rows, dtype=torch.long)
    offsets[1:] = lengths.cumsum(0)[:-1]
    return indices, offsets, lengths


dense_raw = torch.poisson(torch.rand(N, N_DENSE) * 6.0)
dense = torch.log(dense_raw + 1)
bags = [make_bags(N, size, 3) for size in TABLE_SIZES]
print("dense mean", dense.mean(0).round(decimals=3).tolist())
print("bag lengths", [b[2][:10].tolist() for b in bags], "empty", [int((b[2] == 0).sum())
                                                                   for b in bags])

# ground truth: a logistic model over dense features and one hot item per table
true_w = torch.randn(N_DENSE)
item_effect = [torch.randn(size) for size in TABLE_SIZES]
logit = dense @ true_w - 1.0
for (idx, off, lengths), effect in zip(bags, item_effect):
    bag_id = torch.repeat_interleave(torch.arange(N), lengths)
    logit = logit.index_add(0, bag_id, effect[idx])
labels = torch.bernoulli(torch.sigmoid(logit))
print("click rate", f"{labels.mean().item():.4f}")


class QREmbeddingBag(nn.Module):
    """Quotient-remainder embeddings: two small tables whose rows are multiplied."""

    def __init__(self, num, dim, collisions):
        super().__init__()
        self.collisions = collisions
        self.q = nn.EmbeddingBag(-(-num // collisions), dim, mode="sum", sparse=True)
        self.r = nn.EmbeddingBag(collisions, dim, mode="sum", sparse=True)

    def forward(self, idx, offsets, per_sample_weights=None):
        q = self.q(torch.div(idx, self.collisions, rounding_mode="floor"), offsets,
                   per_sample_weights=per_sample_weights)
        r = self.r(torch.remainder(idx, self.collisions), offsets,
                   per_sample_weights=per_sample_weights)
        return q * r


def mlp(sizes, sigmoid_last=False):
    layers = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        nn.init.normal_(lin.weight, 0.0, (2.0 / (sizes[i] + sizes[i + 1])) ** 0.5)
        nn.init.normal_(lin.bias, 0.0, (1.0 / sizes[i + 1]) ** 0.5)
        layers += [lin, nn.Sigmoid() if sigmoid_last and i == len(sizes) - 2 else nn.ReLU()]
    return nn.Sequential(*layers)


class DLRM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb_l = nn.ModuleList()
        for size in TABLE_SIZES:
            if size > 40:
                self.emb_l.append(QREmbeddingBag(size, DIM, QR_COLLISIONS))
            else:
                bag = nn.EmbeddingBag(size, DIM, mode="sum", sparse=True)
                bound = (1.0 / size) ** 0.5
                nn.init.uniform_(bag.weight, -bound, bound)
                self.emb_l.append(bag)
        self.bot_l = mlp([N_DENSE, 16, DIM])
        n_feat = len(TABLE_SIZES) + 1
        li, lj = torch.tril_indices(n_feat, n_feat, offset=-1)
        self.register_buffer("li", li)
        self.register_buffer("lj", lj)
        self.top_l = mlp([DIM + li.numel(), 16, 1], sigmoid_last=True)

    def interact(self, x, ly):
        batch, d = x.shape
        T = torch.cat([x] + ly, dim=1).view(batch, -1, d)
        Z = torch.bmm(T, torch.transpose(T, 1, 2))
        return torch.cat([x, Z[:, self.li, self.lj]], dim=1)

    def forward(self, dense_x, sparse, weights=None):
        x = self.bot_l(dense_x)
        ly = [emb(idx, off, per_sample_weights=None if weights is None else weights[k])
              for k, (emb, (idx, off)) in enumerate(zip(self.emb_l, sparse))]
        return self.top_l(self.interact(x, ly)).squeeze(1)


model = DLRM()
print(model.emb_l)
print("interaction pairs", model.li.tolist(), model.lj.tolist())
iu, ju = torch.triu_indices(4, 4, offset=1)
print("triu pairs", iu.tolist(), ju.tolist(), "same set as the transposed tril:",
      sorted(zip(ju.tolist(), iu.tolist())) == sorted(zip(model.li.tolist(), model.lj.tolist())))
print("params", sum(p.numel() for p in model.parameters()))


def batch_slice(start, stop):
    """Rows start..stop of every table: re-based indices and offsets."""
    out = []
    for idx, off, lengths in bags:
        begin = int(off[start])
        end = int(off[stop]) if stop < N else idx.numel()
        out.append((idx[begin:end], off[start:stop] - begin))
    return out


def roc_auc(scores, y):
    order = torch.argsort(scores)
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    return ((ranks * y).sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def evaluate(net, name):
    with torch.no_grad():
        p = net(dense, [(idx, off) for idx, off, _ in bags])
        logloss = F.binary_cross_entropy(p, labels)
        acc = ((p > 0.5).float() == labels).float().mean()
    print(f"{name}: logloss {logloss.item():.4f} acc {acc.item():.4f} "
          f"auc {roc_auc(p, labels).item():.4f}")
    return p


evaluate(model, "init")
twin = DLRM()
twin.load_state_dict(model.state_dict())
sparse_params = [p for n, p in model.named_parameters() if n.startswith("emb_l")]
dense_params = [p for n, p in model.named_parameters() if not n.startswith("emb_l")]
opts = [torch.optim.SGD(sparse_params, lr=0.1), torch.optim.SGD(dense_params, lr=0.1)]
twin_opt = torch.optim.Adagrad(twin.parameters(), lr=0.05, initial_accumulator_value=0.1)
loss_fn = nn.BCELoss()
BATCH = 32
for epoch in range(6):
    total, total_twin = 0.0, 0.0
    for start in range(0, N, BATCH):
        stop = start + BATCH
        sparse = batch_slice(start, stop)
        y = labels[start:stop]
        for opt in opts:
            opt.zero_grad()
        loss = loss_fn(model(dense[start:stop], sparse), y)
        loss.backward()
        for opt in opts:
            opt.step()
        twin_opt.zero_grad()
        loss_twin = loss_fn(twin(dense[start:stop], sparse), y)
        loss_twin.backward()
        twin_opt.step()
        total += loss.item()
        total_twin += loss_twin.item()
    print(f"epoch {epoch} sgd loss {total / (N // BATCH):.4f} "
          f"adagrad loss {total_twin / (N // BATCH):.4f}")

g = model.emb_l[0].weight.grad
print("sparse grad", g.is_sparse, g.shape, "rows touched", g.coalesce().indices().numel())
g2 = g.pow(2)  # what a row-wise Adagrad accumulates, kept sparse
print("sparse grad norm", f"{g.norm().item():.4f}", "squared coalesced", g2.is_coalesced(),
      "row sums", torch.sparse.sum(g2, dim=1).to_dense()[:6].mul(1e4).round(decimals=3).tolist())
state = twin_opt.state[twin.emb_l[0].weight]
print("adagrad state", sorted(state), f"{state['sum'].sum().item():.4f}")
p_sgd = evaluate(model, "sgd")
p_ada = evaluate(twin, "adagrad")
print("top-5 predicted rows", torch.topk(p_ada, 5).indices.tolist())

# weighted pooling: per-sample weights (here 1 / bag length, i.e. a mean) change the model
weights = [(1.0 / lengths.clamp(min=1).float()).repeat_interleave(lengths)
           for _, _, lengths in bags]
with torch.no_grad():
    p_w = model(dense, [(idx, off) for idx, off, _ in bags], weights)
print("weighted pooling", p_w[:6].round(decimals=4).tolist())

# the functional form with include_last_offset, and the max pooling of empty bags
table = model.emb_l[0].weight.detach()
idx0, off0, len0 = bags[0]
off_last = torch.cat([off0, torch.tensor([idx0.numel()])])
summed = F.embedding_bag(idx0, table, off_last, mode="sum", include_last_offset=True)
print("functional sum matches module:", torch.allclose(summed, model.emb_l[0](idx0, off0)))
mean = F.embedding_bag(idx0, table, off_last, mode="mean", include_last_offset=True)
mx = F.embedding_bag(idx0, table, off0, mode="max")
print("empty bag rows", (len0 == 0).nonzero().flatten()[:5].tolist(),
      "mean", mean[len0 == 0].abs().sum().item(), "max", mx[len0 == 0].abs().sum().item())
full = int((len0 > 1).nonzero()[0])
print("bag", full, idx0[off0[full]:off0[full] + len0[full]].tolist())
print("mean", mean[full].round(decimals=4).tolist())
print("max", mx[full].round(decimals=4).tolist())
