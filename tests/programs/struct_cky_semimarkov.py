"""Span-based structured prediction, in the style of torch-struct and neural constituency
parsers: a CRF over binary trees whose inside algorithm (CKY in log space) fills a chart one
width at a time through ``torch.diagonal`` views and ``as_strided``, span marginals obtained
by autograd of the log-partition, the max-product CKY with back-pointers for the best tree,
a span scorer (BiLSTM endpoints, ``torch.triu_indices``) trained on gold trees, and a
semi-Markov CRF for segmentation whose segment scores come from ``unfold``-ed cumulative
sums, with ``logcumsumexp``, ``diag_embed``, ``scatter_reduce`` and ``index_add_``."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
NEG = -1e9


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


def inside(span_scores, lengths, semiring="log"):
    """span_scores: (B, N, N) upper-triangular scores of span [i, j] (inclusive).
    Returns the log-partition (or the best-tree score) of each sentence."""
    Bn, N, _ = span_scores.shape
    if semiring == "log":
        reduce = torch.logsumexp
    else:
        def reduce(x, d):
            return x.max(d)[0]
    # chart[b, i, j] = inside score of span i..j; diagonal 0 are the leaves
    chart = torch.full((Bn, N, N), NEG)
    chart = chart.diagonal_scatter(torch.diagonal(span_scores, 0, 1, 2), 0, 1, 2)
    for w in range(1, N):
        # left child i..k, right child k+1..j for j = i + w, k in [i, j)
        n = N - w
        left = torch.stack([chart[:, i, i:i + w] for i in range(n)], 1)                 # (B, n, w)
        right = torch.stack([chart[:, i + 1:i + w + 1, i + w] for i in range(n)], 1)    # (B, n, w)
        combined = reduce(left + right, -1) + torch.diagonal(span_scores, w, 1, 2)
        chart = chart.diagonal_scatter(combined, w, 1, 2)
    idx = torch.arange(Bn)
    return chart[idx, 0, lengths - 1], chart


def cky_decode(span_scores, length):
    """Best tree for one sentence as a sorted list of spans, with back-pointers."""
    s = span_scores[:length, :length]
    best = torch.full((length, length), NEG)
    split = torch.zeros(length, length, dtype=torch.long)
    best.diagonal().copy_(s.diagonal())
    for w in range(1, length):
        for i in range(length - w):
            j = i + w
            cand = best[i, i:j] + best[i + 1:j + 1, j]
            v, k = cand.max(0)
            best[i, j] = v + s[i, j]
            split[i, j] = i + k
    spans, stack = [], [(0, length - 1)]
    while stack:
        i, j = stack.pop()
        spans.append((i, j))
        if i < j:
            k = int(split[i, j])
            stack += [(i, k), (k + 1, j)]
    return sorted(spans), best[0, length - 1].item()


# ----- random span scores: partition, marginals, best tree -------------------------------------
Bn, N = 3, 6
lengths = torch.tensor([6, 5, 4])
raw = torch.randn(Bn, N, N)
upper = torch.ones(N, N, dtype=torch.bool).triu()
valid = upper[None] & (torch.arange(N)[None, None, :] < lengths[:, None, None])
scores = raw.masked_fill(~valid, 0.0).requires_grad_(True)
logZ, chart = inside(scores, lengths)
print("logZ", r(logZ))
marg, = torch.autograd.grad(logZ.sum(), scores)
print("root marginal", r(marg[torch.arange(Bn), 0, lengths - 1]))
print("leaf marginals", r(torch.diagonal(marg[0])))
print("expected #spans", r(marg.sum((1, 2)), 3), "== 2n-1", (2 * lengths - 1).tolist())
best_score, _ = inside(scores.detach(), lengths, semiring="max")
for b in range(Bn):
    spans, sc = cky_decode(scores[b].detach(), int(lengths[b]))
    print(f"tree[{b}]", spans[:6], f"{sc:.4f}", f"max-inside {best_score[b].item():.4f}")

# brute force check of the partition for a length-4 sentence via enumeration of trees


def all_trees(i, j):
    if i == j:
        return [[(i, i)]]
    out = []
    for k in range(i, j):
        for lt in all_trees(i, k):
            for rt in all_trees(k + 1, j):
                out.append([(i, j)] + lt + rt)
    return out


trees = all_trees(0, 3)
tree_scores = torch.stack([sum(scores[2, i, j] for i, j in t) for t in trees])
print("catalan(3) trees", len(trees), "brute logZ", f"{torch.logsumexp(tree_scores, 0).item():.4f}")

# ----- a span-based parser trained on gold trees -------------------------------------------


class SpanParser(nn.Module):
    def __init__(self, vocab, dim=16):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, dim, batch_first=True, bidirectional=True)
        self.mlp = nn.Sequential(nn.Linear(4 * dim, dim), nn.ReLU(), nn.Linear(dim, 1))

    def forward(self, words, lengths):
        h, _ = self.lstm(self.emb(words))                                  # (B, N, 2d)
        Bn, N, _ = h.shape
        ii, jj = torch.triu_indices(N, N)
        feats = torch.cat([h[:, ii], h[:, jj]], -1)                        # (B, S, 4d)
        s = self.mlp(feats).squeeze(-1)
        out = torch.zeros(Bn, N, N)
        out[:, ii, jj] = s
        return out


def right_branching(n):
    return [(i, n - 1) for i in range(n)] + [(i, i) for i in range(n - 1)]


gen = torch.Generator().manual_seed(7)
sent_len = torch.randint(3, 7, (16,), generator=gen)
N = int(sent_len.max())
words = torch.zeros(16, N, dtype=torch.long)
for b, n in enumerate(sent_len.tolist()):
    words[b, :n] = torch.randint(1, 20, (n,), generator=gen)
gold = torch.zeros(16, N, N)
for b, n in enumerate(sent_len.tolist()):
    ii, jj = zip(*right_branching(n))
    gold[b].index_put_((torch.tensor(ii), torch.tensor(jj)), torch.ones(len(ii)))
print("gold spans per sentence", gold.sum((1, 2)).long().tolist()[:8])

torch.manual_seed(1)
parser = SpanParser(20)
opt = torch.optim.AdamW(parser.parameters(), lr=0.02, weight_decay=0.01)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=25)
for epoch in range(25):
    opt.zero_grad()
    s = parser(words, sent_len)
    logZ, _ = inside(s, sent_len)
    gold_score = (s * gold).sum((1, 2))
    loss = (logZ - gold_score).mean()
    loss.backward()
    opt.step()
    sched.step()
    if epoch % 5 == 0 or epoch == 24:
        print(f"parser epoch {epoch:2d} nll {loss.item():.4f} lr {sched.get_last_lr()[0]:.5f}")
with torch.no_grad():
    s = parser(words, sent_len)
    hits = 0
    for b, n in enumerate(sent_len.tolist()):
        spans, _ = cky_decode(s[b], n)
        hits += len(set(spans) & set(right_branching(n)))
print("span F1", round(hits / gold.sum().item(), 4))

# ----- semi-Markov CRF segmentation ----------------------------------------------------------
torch.manual_seed(2)
T, L, C = 10, 3, 2                   # positions, max segment length, labels
x = torch.randn(T, C, requires_grad=True)
trans = torch.randn(C, C) * 0.5
csum = F.pad(x.cumsum(0), (0, 0, 1, 0))                          # (T+1, C)
# seg[t, l, c] = score of a segment of length l+1 ending at t (exclusive), label c
windows = csum.T.unfold(1, L + 1, 1)                             # (C, T+1-L, L+1)
print("unfold windows", tuple(windows.shape))
seg = torch.full((T + 1, L, C), NEG)
for l in range(1, L + 1):
    seg[l:, l - 1] = csum[l:] - csum[:-l]
alpha = [torch.zeros(C)]                                          # alpha[t]: prefix of length t
for t in range(1, T + 1):
    terms = []
    for l in range(1, min(L, t) + 1):
        prev = alpha[t - l]
        if t - l == 0:
            terms.append(seg[t, l - 1])
        else:
            terms.append(torch.logsumexp(prev[:, None] + trans, 0) + seg[t, l - 1])
    alpha.append(torch.logsumexp(torch.stack(terms), 0))
logZ_semi = torch.logsumexp(alpha[-1], 0)
(gx,) = torch.autograd.grad(logZ_semi, x)
print("semi-CRF logZ", f"{logZ_semi.item():.4f}", "label marginals", r(gx.sum(0), 3))
print("position marginals sum", r(gx.sum(1), 3))

# logcumsumexp, diag_embed, scatter_reduce, index_add_ on the same quantities
lcse = torch.logcumsumexp(x.detach(), 0)
print("logcumsumexp last", r(lcse[-1]), "vs logsumexp", r(torch.logsumexp(x.detach(), 0)))
D = torch.diag_embed(gx[:4])
print("diag_embed", tuple(D.shape), r(D[1].diagonal()), r(D.sum((1, 2)), 3))
seg_id = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
seg_max = torch.zeros(4, C).scatter_reduce(0, seg_id[:, None].expand(-1, C), x.detach(),
                                           reduce="amax", include_self=False)
seg_sum = torch.zeros(4, C).index_add_(0, seg_id, x.detach())
print("segment max", r(seg_max), "segment sum", r(seg_sum))
