"""Implicit-feedback recommenders, in the style of BPR-MF / NCF repositories (e.g. the
"NCF in PyTorch" and LightFM-style BPR examples) and TorchRec's EmbeddingBag usage:

* BPR matrix factorisation with ``sparse=True`` embeddings trained by ``optim.SparseAdam``
  on ``-logsigmoid(pos - neg)``, negatives drawn with ``torch.randint``;
* a user tower that pools the user's history with ``nn.EmbeddingBag`` (flat ``input`` plus
  ``offsets``; ``mode='mean'``, and ``mode='sum'`` with recency ``per_sample_weights``);
* a NeuMF head (GMF ⊙ branch + MLP branch) trained with ``BCEWithLogitsLoss``;
* leave-one-out evaluation: seen items masked to ``-inf``, ``torch.topk`` ranking, HR@K,
  NDCG@K and the held-out item's rank, against a popularity baseline (tied counts).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N_USERS, N_ITEMS, DIM, K = 24, 40, 8, 5

# synthetic interactions: users and items live in 4 taste clusters
user_cluster = torch.arange(N_USERS) % 4
item_cluster = torch.arange(N_ITEMS) % 4
histories = []
for u in range(N_USERS):
    same = (item_cluster == user_cluster[u]).nonzero().flatten()
    other = (item_cluster != user_cluster[u]).nonzero().flatten()
    picks = torch.cat([same[torch.randperm(len(same))[:6]], other[torch.randperm(len(other))[:1]]])
    histories.append(picks)
# hold out the last in-cluster interaction for testing (the off-cluster one is dropped)
train_hist = [h[:-2] for h in histories]
test_item = torch.stack([h[-2] for h in histories])
lengths = torch.tensor([len(h) for h in train_hist])
train_pairs = torch.stack([torch.repeat_interleave(torch.arange(N_USERS), lengths),
                           torch.cat(train_hist)], 1)
seen = torch.zeros(N_USERS, N_ITEMS, dtype=torch.bool)
seen[train_pairs[:, 0], train_pairs[:, 1]] = True
print("interactions:", train_pairs.shape[0], "density:", f"{seen.float().mean().item():.4f}")
print("item popularity:", torch.bincount(train_pairs[:, 1], minlength=N_ITEMS)[:12].tolist())


def sample_negatives(users):
    neg = torch.randint(0, N_ITEMS, (len(users),))
    # resample the few that hit an item the user has seen (a bounded number of rounds)
    for _ in range(5):
        bad = seen[users, neg]
        if not bad.any():
            break
        neg[bad] = torch.randint(0, N_ITEMS, (int(bad.sum()),))
    return neg


def evaluate(score_fn, name):
    with torch.no_grad():
        scores = score_fn()
        scores = scores.masked_fill(seen, float("-inf"))
        _, top = torch.topk(scores, K, dim=1)
        hits = top == test_item[:, None]
        hr = hits.any(1).float().mean()
        rank = hits.float().argmax(1)
        ndcg = (hits.any(1).float() / torch.log2(rank.float() + 2)).mean()
        # the rank of the held-out item among all unseen items (1 = first)
        full_rank = (scores > scores.gather(1, test_item[:, None])).sum(1) + 1
    print(f"{name}: HR@{K} {hr.item():.4f} NDCG@{K} {ndcg.item():.4f} "
          f"mean rank {full_rank.float().mean().item():.3f} top of user 0 {top[0].tolist()}")


# the popularity baseline: integer counts, so the ranking is full of ties
popularity = torch.bincount(train_pairs[:, 1], minlength=N_ITEMS)
top_pop = torch.topk(popularity, K)
print("most popular:", top_pop.indices.tolist(), top_pop.values.tolist())
evaluate(lambda: popularity.float().expand(N_USERS, -1), "Popularity")


class BPRMF(nn.Module):
    def __init__(self):
        super().__init__()
        self.user = nn.Embedding(N_USERS, DIM, sparse=True)
        self.item = nn.Embedding(N_ITEMS, DIM, sparse=True)
        self.item_bias = nn.Embedding(N_ITEMS, 1, sparse=True)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.item.weight, std=0.1)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, u, i):
        return (self.user(u) * self.item(i)).sum(-1) + self.item_bias(i).squeeze(-1)

    def full_scores(self):
        return self.user.weight @ self.item.weight.t() + self.item_bias.weight.t()


mf = BPRMF()
opt = torch.optim.SparseAdam(mf.parameters(), lr=0.05)
print(opt)
for epoch in range(15):
    perm = torch.randperm(train_pairs.shape[0])
    total = 0.0
    for b in perm.split(40):
        u, i = train_pairs[b, 0], train_pairs[b, 1]
        j = sample_negatives(u)
        loss = -F.logsigmoid(mf(u, i) - mf(u, j)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(b)
    if epoch % 5 == 4:
        print(f"bpr epoch {epoch} loss {total / train_pairs.shape[0]:.4f} "
              f"grad sparse {mf.item.weight.grad.is_sparse}")
evaluate(mf.full_scores, "BPR-MF")


class HistoryTower(nn.Module):
    """A user is the pooled bag of the items they interacted with."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        self.bag = nn.EmbeddingBag(N_ITEMS, DIM, mode=mode, sparse=True)
        self.item = nn.Embedding(N_ITEMS, DIM, sparse=True)
        self.proj = nn.Linear(DIM, DIM)

    def users(self, flat, offsets, weights=None):
        return self.proj(self.bag(flat, offsets, per_sample_weights=weights))

    def score(self, user_vecs, items):
        return (user_vecs * self.item(items)).sum(-1)


flat_hist = torch.cat(train_hist)
offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
# recency weights: later interactions count more, normalised per bag
recency = torch.cat([torch.linspace(0.5, 1.0, int(n)) for n in lengths])
bag_sums = torch.zeros(N_USERS).index_add_(0, torch.repeat_interleave(torch.arange(N_USERS),
                                                                       lengths), recency)
recency = recency / torch.repeat_interleave(bag_sums, lengths)
for mode, weights in (("mean", None), ("sum", recency)):
    tower = HistoryTower(mode)
    print(tower.bag)
    sparse_params = list(tower.bag.parameters()) + list(tower.item.parameters())
    opt_sparse = torch.optim.SparseAdam(sparse_params, lr=0.03)
    opt_dense = torch.optim.Adam(tower.proj.parameters(), lr=0.01)
    for epoch in range(12):
        u_all = tower.users(flat_hist, offsets, weights)
        u, i = train_pairs[:, 0], train_pairs[:, 1]
        j = sample_negatives(u)
        loss = -F.logsigmoid(tower.score(u_all[u], i) - tower.score(u_all[u], j)).mean()
        opt_sparse.zero_grad()
        opt_dense.zero_grad()
        loss.backward()
        opt_sparse.step()
        opt_dense.step()
    g = tower.bag.weight.grad
    print(f"{mode}: loss {loss.item():.4f} bag grad rows {g.coalesce().indices().numel()} "
          f"nnz {g._nnz()}")
    evaluate(lambda t=tower, w=weights: t.users(flat_hist, offsets, w) @ t.item.weight.t(),
             f"EmbeddingBag-{mode}")


class NeuMF(nn.Module):
    def __init__(self, layers=(16, 8)):
        super().__init__()
        self.gmf_user = nn.Embedding(N_USERS, DIM)
        self.gmf_item = nn.Embedding(N_ITEMS, DIM)
        self.mlp_user = nn.Embedding(N_USERS, layers[0] // 2)
        self.mlp_item = nn.Embedding(N_ITEMS, layers[0] // 2)
        self.mlp = nn.Sequential(nn.Linear(layers[0], layers[1]), nn.ReLU(), nn.Dropout(0.0))
        self.predict = nn.Linear(DIM + layers[1], 1)
        for e in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(e.weight, std=0.01)
        nn.init.xavier_uniform_(self.mlp[0].weight)
        nn.init.kaiming_uniform_(self.predict.weight, a=1, nonlinearity="sigmoid")

    def forward(self, u, i):
        gmf = self.gmf_user(u) * self.gmf_item(i)
        mlp = self.mlp(torch.cat([self.mlp_user(u), self.mlp_item(i)], -1))
        return self.predict(torch.cat([gmf, mlp], -1)).view(-1)


ncf = NeuMF()
opt = torch.optim.Adam(ncf.parameters(), lr=0.01)
criterion = nn.BCEWithLogitsLoss()
for epoch in range(40):
    u = train_pairs[:, 0].repeat(3)
    pos = train_pairs[:, 1]
    items = torch.cat([pos, sample_negatives(train_pairs[:, 0]), sample_negatives(
        train_pairs[:, 0])])
    labels = torch.cat([torch.ones(len(pos)), torch.zeros(2 * len(pos))])
    loss = criterion(ncf(u, items), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"NeuMF loss {loss.item():.4f}")
grid_u = torch.arange(N_USERS).repeat_interleave(N_ITEMS)
grid_i = torch.arange(N_ITEMS).repeat(N_USERS)
evaluate(lambda: ncf(grid_u, grid_i).view(N_USERS, N_ITEMS), "NeuMF")
