"""Learning to rank with pairwise and listwise losses, in the style of allRank, PT-Ranking and
the RankNet / ListNet / ListMLE papers' reference code:

* queries with a variable number of documents, padded to one batch with ``pad_sequence`` and a
  boolean padding mask (``-1`` labels mark padding, as allRank does);
* RankNet: every pair of a query from ``torch.triu_indices``, ``F.logsigmoid`` of the score
  difference signed by the label order, pairs that touch padding or tie masked out;
* ListNet: cross entropy between ``softmax`` of the labels and ``log_softmax`` of the scores,
  padding filled with ``-inf`` before the softmax;
* ListMLE: the Plackett-Luce likelihood of a label-sorted permutation with ``torch.sort``,
  ``gather``, ``flip`` and ``torch.logcumsumexp`` (padding sorted last);
* a small scorer per loss trained with Adam and a cosine schedule, then NDCG@k and MRR;
* per-query losses and score gradients with ``torch.func.vmap`` / ``grad`` (a mask multiplies;
  boolean-mask indexing under vmap is refused).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(7)
N_FEAT, N_QUERIES, PAD = 6, 24, -1
true_w = torch.randn(N_FEAT)


def make_query(n_docs):
    x = torch.randn(n_docs, N_FEAT)
    relevance = x @ true_w + 0.3 * torch.randn(n_docs)
    # graded labels 0..4 from the quantiles of the query's own relevance
    edges = torch.quantile(relevance, torch.tensor([0.3, 0.55, 0.75, 0.9]))
    labels = torch.bucketize(relevance, edges)
    return x, labels.float()


lengths = torch.randint(3, 9, (N_QUERIES,))
queries = [make_query(int(n)) for n in lengths]
X = pad_sequence([q[0] for q in queries], batch_first=True)
Y = pad_sequence([q[1] for q in queries], batch_first=True, padding_value=PAD)
mask = Y != PAD
print("batch", tuple(X.shape), "lengths", lengths.tolist())
print("labels of query 0:", Y[0])
print("mask of query 1:", mask[1])
print("label histogram", torch.bincount(Y[mask].long(), minlength=5).tolist())


def ranknet_loss(scores, labels, mask, sigma=1.0):
    n = scores.shape[1]
    i, j = torch.triu_indices(n, n, offset=1)
    s_diff = scores[:, i] - scores[:, j]
    y_diff = labels[:, i] - labels[:, j]
    valid = mask[:, i] & mask[:, j] & (y_diff != 0)
    sign = torch.sign(y_diff)
    loss = -F.logsigmoid(sigma * sign * s_diff)
    return loss[valid].mean(), int(valid.sum())


def listnet_loss(scores, labels, mask):
    scores = scores.masked_fill(~mask, float("-inf"))
    target = torch.softmax(labels.masked_fill(~mask, float("-inf")), dim=1)
    log_p = F.log_softmax(scores, dim=1)
    # 0 * -inf is nan: padded positions contribute nothing, so zero them explicitly
    return -(target * log_p.masked_fill(~mask, 0.0)).sum(1).mean()


def listmle_loss(scores, labels, mask, generator=None):
    # shuffle first so that ties between equal labels are broken at random (allRank does this)
    perm = torch.stack([torch.randperm(scores.shape[1], generator=generator)
                        for _ in range(scores.shape[0])])
    scores, labels, mask = scores.gather(1, perm), labels.gather(1, perm), mask.gather(1, perm)
    sort_key = labels.masked_fill(~mask, float("-inf"))
    _, order = sort_key.sort(dim=1, descending=True, stable=True)
    s = scores.gather(1, order)
    m = mask.gather(1, order)
    # a large finite fill, not -inf: -inf - -inf would put nan into the gradient
    s = s.masked_fill(~m, -1e4)
    s_max = s.max(dim=1, keepdim=True).values
    # log sum_{k >= i} exp(s_k) for every position i: logcumsumexp of the reversed list
    tail_lse = torch.logcumsumexp((s - s_max).flip(1), dim=1).flip(1) + s_max
    nll = (tail_lse - s).masked_fill(~m, 0.0)
    return nll.sum(1).mean()


def ndcg_at_k(scores, labels, mask, k):
    scores = scores.masked_fill(~mask, float("-inf"))
    gains = (2.0 ** labels.clamp(min=0) - 1) * mask
    _, order = scores.sort(dim=1, descending=True, stable=True)
    ideal, _ = gains.sort(dim=1, descending=True)
    discounts = 1.0 / torch.log2(torch.arange(scores.shape[1], dtype=torch.float) + 2.0)
    discounts[k:] = 0.0
    dcg = (gains.gather(1, order) * discounts).sum(1)
    idcg = (ideal * discounts).sum(1)
    return torch.where(idcg > 0, dcg / idcg, torch.zeros_like(dcg))


def mrr(scores, labels, mask):
    scores = scores.masked_fill(~mask, float("-inf"))
    order = scores.argsort(dim=1, descending=True, stable=True)
    relevant = labels.gather(1, order) >= 3
    first = relevant.float().argmax(dim=1)
    has_any = relevant.any(dim=1)
    return torch.where(has_any, 1.0 / (first + 1).float(), torch.tensor(0.0))


class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(N_FEAT, 16), nn.ELU(), nn.Dropout(0.1),
                                 nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


print("random scores NDCG@3 {:.4f}".format(ndcg_at_k(torch.randn(Y.shape), Y, mask, 3).mean()))
results = {}
for name, loss_fn in [("ranknet", ranknet_loss), ("listnet", listnet_loss),
                      ("listmle", listmle_loss)]:
    torch.manual_seed(1)
    model = Scorer()
    opt = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40, eta_min=1e-3)
    gen = torch.Generator().manual_seed(3)
    for epoch in range(40):
        model.train()
        scores = model(X)
        if name == "ranknet":
            loss, n_pairs = loss_fn(scores, Y, mask)
        elif name == "listmle":
            loss = loss_fn(scores, Y, mask, generator=gen)
        else:
            loss = loss_fn(scores, Y, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        opt.step()
        sched.step()
        if epoch % 13 == 0:
            print(f"{name} epoch {epoch:2d} loss {loss.item():.4f} "
                  f"grad norm {grad_norm.item():.4f} lr {sched.get_last_lr()[0]:.5f}")
    model.eval()
    with torch.no_grad():
        scores = model(X)
        nd = ndcg_at_k(scores, Y, mask, 3)
        rr = mrr(scores, Y, mask)
    results[name] = nd.mean().item()
    print(f"{name}: NDCG@3 {nd.mean().item():.4f} NDCG@5 "
          f"{ndcg_at_k(scores, Y, mask, 5).mean().item():.4f} MRR {rr.mean().item():.4f}")
    if name == "ranknet":
        print("ranknet valid pairs", n_pairs, "of", lengths.mul(lengths - 1).div(2).sum().item())

best = max(results, key=results.get)
print("best loss:", best, "per-query NDCG@3 (first 6):", ndcg_at_k(scores, Y, mask, 3)[:6])

# the losses must not be fooled by padding: adding more padding changes nothing
wider_X = F.pad(X, (0, 0, 0, 2))
wider_Y = F.pad(Y, (0, 2), value=PAD)
torch.manual_seed(5)
probe = Scorer().eval()
with torch.no_grad():
    a = listnet_loss(probe(X), Y, mask)
    b = listnet_loss(probe(wider_X), wider_Y, wider_Y != PAD)
    c = ranknet_loss(probe(X), Y, mask)[0]
    d = ranknet_loss(probe(wider_X), wider_Y, wider_Y != PAD)[0]
print(f"padding invariance: listnet {a.item():.5f} {b.item():.5f} ranknet {c.item():.5f} "
      f"{d.item():.5f}")

# the ListMLE likelihood of a 3-document list agrees with the Plackett-Luce formula by hand
s = torch.tensor([[2.0, 0.5, -1.0]])
by_hand = -(s[0, 0] - torch.logsumexp(s[0], 0) + s[0, 1] - torch.logsumexp(s[0, 1:], 0))
print("ListMLE by hand {:.5f} by op {:.5f}".format(
    by_hand.item(), listmle_loss(s, torch.tensor([[2.0, 1.0, 0.0]]),
                                 torch.ones(1, 3, dtype=torch.bool)).item()))
print("log2 discounts", torch.log2(torch.arange(2, 7).float()).reciprocal())
print("ideal DCG exact", sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate([4, 2, 1])))


# per-query losses and score gradients with torch.func: under vmap a mask multiplies, it cannot
# index (the result's size would depend on the query)
def query_ranknet(s, y, m):
    i, j = torch.triu_indices(s.shape[0], s.shape[0], offset=1)
    valid = m[i] & m[j] & (y[i] != y[j])
    loss = -F.logsigmoid(torch.sign(y[i] - y[j]) * (s[i] - s[j]))
    return (loss * valid).sum() / valid.sum().clamp(min=1)


with torch.no_grad():
    final_scores = model(X)
per_query = torch.func.vmap(query_ranknet)(final_scores, Y, mask)
score_grads = torch.func.vmap(torch.func.grad(query_ranknet))(final_scores, Y, mask)
print("per-query RankNet", per_query[:5])
print("d loss / d scores of query 0", score_grads[0])
print("mean of per-query losses {:.5f} vs pooled pairs {:.5f}".format(
    per_query.mean().item(), ranknet_loss(final_scores, Y, mask)[0].item()))
try:
    torch.func.vmap(lambda s, y, m: ranknet_loss(s[None], y[None], m[None])[0])(
        final_scores, Y, mask)
except RuntimeError as e:
    print("RuntimeError:", str(e).split(".")[0])
try:
    torch.triu_indices(3, 3, offset=1).float().sort(stable=True, dim=2)
except IndexError as e:
    print("IndexError:", e)
try:
    ranknet_loss(torch.zeros(2, 4), torch.zeros(2, 3), torch.ones(2, 3, dtype=torch.bool))
except IndexError as e:
    print("IndexError:", e)
