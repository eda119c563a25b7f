"""Retrieval and ranking for implicit feedback, in the style of the EASE^R and Mult-DAE
(VAE-CF) reference code, YouTube's two-tower "sampling-bias-corrected" retrieval and
learning-to-rank examples (allRank, ListNet / LambdaRank):

* a sparse COO user-item matrix: duplicates coalesced, per-user rows with ``X[u]``, mini-batches
  of users with ``X.index_select(0, users).to_dense()``, activity weighting ``X * w[:, None]``,
  popularity from ``torch.sparse.sum``, Gram matrix with ``torch.sparse.mm``;
* EASE^R in closed form (``torch.linalg.inv``, ``torch.diagonal``, ``fill_diagonal_``);
* a Mult-DAE trained with the multinomial log-likelihood of each user's row;
* a two-tower model: padded histories (``pad_sequence(padding_side='left')``) pooled by
  ``nn.EmbeddingBag(mode='mean', padding_idx=0)``, in-batch softmax with the logQ correction
  and accidental-hit masking, extra negatives from ``torch.multinomial(pop ** 0.75)``;
* a candidate re-ranker trained with ListNet (``F.kl_div(log_target=True)``) and LambdaRank
  (``|ΔNDCG|``-weighted pairwise logistic loss);
* Recall@K, NDCG@K (ideal DCG from a descending sort) and MRR with ``topk``/``argsort``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)
N_USERS, N_ITEMS, K = 48, 30, 5
user_group = torch.arange(N_USERS) % 3
item_group = torch.arange(N_ITEMS) % 3
pairs = []
for u in range(N_USERS):
    same = (item_group == user_group[u]).nonzero().flatten()
    n_same = int(torch.randint(4, 8, ()))
    picks = same[torch.multinomial(torch.linspace(2.0, 0.5, len(same)), n_same)]
    noise = torch.randint(0, N_ITEMS, (2,))  # a few off-taste clicks, some repeated
    pairs += [(u, int(i)) for i in torch.cat([picks, noise, picks[:1]])]
pairs = torch.tensor(pairs)
# hold out the first in-group pick of each user as the test item
test_item = torch.stack([pairs[pairs[:, 0] == u][0, 1] for u in range(N_USERS)])
keep = pairs[:, 1] != test_item[pairs[:, 0]]
train = pairs[keep]
X = torch.sparse_coo_tensor(train.t(), torch.ones(len(train)), (N_USERS, N_ITEMS)).coalesce()
print("raw clicks", len(train), "distinct", X._nnz(), "max count", X.values().max().item())
X = torch.sparse_coo_tensor(X.indices(), X.values().clamp(max=1.0), X.shape).coalesce()
row0 = X[0]
print("user 0 items", row0.coalesce().indices()[0].tolist(), "test", test_item[0].item(),
      "coalesced", row0.is_coalesced())
pop = torch.sparse.sum(X, dim=0).to_dense()
activity = torch.sparse.sum(X, dim=1).to_dense()
print("popularity", pop[:10].tolist(), "activity", activity[:10].tolist())
seen = X.to_dense().bool()


def evaluate(scores, name):
    scores = scores.masked_fill(seen, float("-inf"))
    top = torch.topk(scores, K, dim=1).indices
    hit = top == test_item[:, None]
    recall = hit.any(1).float().mean()
    ndcg = (hit.float() / torch.log2(torch.arange(2, K + 2).float())).sum(1).mean()
    rank = (scores > scores.gather(1, test_item[:, None])).sum(1) + 1
    mrr = (1.0 / rank.float()).mean()
    print(f"{name}: Recall@{K} {recall.item():.4f} NDCG@{K} {ndcg.item():.4f} "
          f"MRR {mrr.item():.4f} user 0 top {top[0].tolist()}")
    return scores


evaluate(pop.expand(N_USERS, -1).clone(), "popularity")

# --- EASE^R: B = I - P / diag(P), P = (X^T X + lambda I)^-1 ---------------------------------
G = torch.sparse.mm(X.t(), X.to_dense())
print("gram diag = popularity:", torch.equal(torch.diagonal(G), pop))
P = torch.linalg.inv(G + 5.0 * torch.eye(N_ITEMS))
B = -P / torch.diagonal(P)
B.fill_diagonal_(0.0)
ease = evaluate(X @ B, "EASE")

# item-kNN on activity-weighted co-occurrence: heavy users count less (a sparse * dense scale)
Xw = X * (1.0 / activity.clamp(min=1.0).sqrt())[:, None]
print("weighted row 0", Xw[0].coalesce().values().round(decimals=4).tolist(), Xw.is_coalesced())
S = torch.sparse.mm(Xw.t(), Xw.to_dense())
S.fill_diagonal_(0.0)
evaluate(X @ S, "item-kNN")


# --- Mult-DAE on user rows -------------------------------------------------------------------
class MultDAE(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.drop = nn.Dropout(0.3)
        self.enc = nn.Linear(N_ITEMS, hidden)
        self.dec = nn.Linear(hidden, N_ITEMS)

    def forward(self, x):
        h = torch.tanh(self.enc(self.drop(F.normalize(x, dim=1))))
        return self.dec(h)


dae = MultDAE()
opt = torch.optim.Adam(dae.parameters(), lr=0.01, weight_decay=1e-4)
for epoch in range(30):
    dae.train()
    total = 0.0
    for users in torch.randperm(N_USERS).split(16):
        x = X.index_select(0, users).to_dense()
        loss = -(F.log_softmax(dae(x), 1) * x).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(users)
    if epoch % 10 == 9:
        print(f"mult-dae epoch {epoch} nll {total / N_USERS:.4f}")
dae.eval()
with torch.no_grad():
    evaluate(dae(X.to_dense()), "Mult-DAE")


# --- two-tower retrieval with in-batch negatives ---------------------------------------------
hist = [X[u].coalesce().indices()[0] + 1 for u in range(N_USERS)]  # 0 is padding
padded = pad_sequence(hist, batch_first=True, padding_value=0, padding_side="left")
print("padded histories", tuple(padded.shape), padded[:2].tolist())


class TwoTower(nn.Module):
    def __init__(self, dim=12):
        super().__init__()
        self.history = nn.EmbeddingBag(N_ITEMS + 1, dim, mode="mean", padding_idx=0)
        self.user_mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.item = nn.Embedding(N_ITEMS, dim)
        self.item_mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    def users(self, hist):
        return F.normalize(self.user_mlp(self.history(hist)), dim=-1)

    def items(self, ids):
        return F.normalize(self.item_mlp(self.item(ids)), dim=-1)


tower = TwoTower()
opt = torch.optim.Adam(tower.parameters(), lr=0.01)
q = pop / pop.sum()  # the in-batch sampling probability of each item
neg_dist = pop ** 0.75
TEMP = 0.1
for epoch in range(25):
    perm = torch.randperm(X._nnz())
    total = 0.0
    for b in perm.split(48):
        u, i = X.indices()[0, b], X.indices()[1, b]
        extra = torch.multinomial(neg_dist, 16, replacement=True)
        cand = torch.cat([i, extra])
        logits = tower.users(padded[u]) @ tower.items(cand).t() / TEMP - torch.log(q[cand])
        # an in-batch "negative" that is one of the user's own items is not a negative
        accidental = seen[u][:, cand]
        accidental[torch.arange(len(b)), torch.arange(len(b))] = False
        logits = logits.masked_fill(accidental, float("-inf"))
        loss = F.cross_entropy(logits, torch.arange(len(b)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(b)
    if epoch % 8 == 7:
        print(f"two-tower epoch {epoch} loss {total / X._nnz():.4f}")
with torch.no_grad():
    tt_scores = tower.users(padded) @ tower.items(torch.arange(N_ITEMS)).t()
evaluate(tt_scores.clone(), "two-tower")

# --- re-ranking EASE's candidates with ListNet and LambdaRank ------------------------------
N_CAND = 10
cand = torch.topk(ease, N_CAND, dim=1).indices
relevance = (cand == test_item[:, None]).float() * 2 + (
    item_group[cand] == user_group[:, None]).float()
feats = torch.stack([ease.gather(1, cand), tt_scores.gather(1, cand),
                     torch.log1p(pop[cand]), (item_group[cand] == user_group[:, None]).float()],
                    -1)
feats = (feats - feats.mean((0, 1))) / feats.std((0, 1))
print("candidates of user 0", cand[0].tolist(), relevance[0].tolist())
discount = 1.0 / torch.log2(torch.arange(2, N_CAND + 2).float())


def ndcg_at(scores, rel, k):
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
    gains = (2 ** rel.gather(1, order) - 1)[:, :k]
    ideal = (2 ** torch.sort(rel, dim=1, descending=True).values - 1)[:, :k]
    dcg = (gains * discount[:k]).sum(1)
    idcg = (ideal * discount[:k]).sum(1)
    return torch.where(idcg > 0, dcg / idcg, torch.zeros_like(dcg)).mean()


def listnet(scores, rel):
    return F.kl_div(F.log_softmax(scores, 1), F.log_softmax(rel, 1), log_target=True,
                    reduction="batchmean")


def lambdarank(scores, rel):
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
    ranks = torch.argsort(order, dim=1)  # position of each candidate in the current ranking
    gain = 2 ** rel - 1
    idcg = (torch.sort(gain, 1, descending=True).values * discount).sum(1, keepdim=True)
    disc = discount[ranks]
    # |ΔNDCG| of swapping i and j: (g_i - g_j)(d_i - d_j) / IDCG
    delta = ((gain[:, :, None] - gain[:, None, :]) * (disc[:, :, None] - disc[:, None, :])
             ).abs() / idcg.clamp(min=1e-9)[:, :, None]
    better = rel[:, :, None] > rel[:, None, :]
    diff = scores[:, :, None] - scores[:, None, :]
    loss = F.binary_cross_entropy_with_logits(diff, torch.ones_like(diff), weight=delta.detach(),
                                              reduction="none")
    return (loss * better).sum() / better.sum()


print(f"EASE order NDCG@{K} {ndcg_at(feats[..., 0], relevance, K).item():.4f}")
for name, loss_fn in (("ListNet", listnet), ("LambdaRank", lambdarank)):
    torch.manual_seed(4)
    ranker = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.SGD(ranker.parameters(), lr=0.2, momentum=0.9)
    for step in range(60):
        scores = ranker(feats).squeeze(-1)
        loss = loss_fn(scores, relevance)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        scores = ranker(feats).squeeze(-1)
    ranking = torch.argsort(scores, dim=1, descending=True, stable=True)
    held_out = (relevance == 3).float().argmax(1, keepdim=True)
    pos = (ranking == held_out).float().argmax(1)
    print(f"{name}: loss {loss.item():.4f} NDCG@{K} {ndcg_at(scores, relevance, K).item():.4f} "
          f"user 0 order {torch.argsort(scores[0], descending=True, stable=True).tolist()} "
          f"held-out position (users with it) {pos[(relevance == 3).any(1)][:8].tolist()}")
