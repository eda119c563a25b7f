"""Dense passage retrieval in miniature, in the style of facebookresearch/DPR and faiss's
product quantiser written with torch ops: query and passage towers over bags of words
(nn.EmbeddingBag with offsets, mode='mean'), trained with in-batch negatives (cross-entropy
over q @ p.T) plus a hard negative per query scored by nn.TripletMarginWithDistanceLoss with a
cosine distance and by F.triplet_margin_loss(swap=True); then exact search with torch.cdist
(p=2 and p=1, both compute modes) and topk(largest=False), and an IVF-free product quantiser:
k-means per sub-space, uint8 codes, asymmetric distance lookup tables gathered per code, and
re-ranking of the PQ shortlist with exact distances. Retrieval quality as MRR@10, Recall@k,
mAP and nDCG@5 (graded relevance, log2 discounts), all with tensor ops."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(9)
VOCAB, N_TOPICS, N_PASS, DIM = 60, 6, 48, 16
topic_words = torch.randn(N_TOPICS, VOCAB).argsort(dim=1)[:, :12]  # each topic prefers 12 words
passage_topic = torch.arange(N_PASS) % N_TOPICS


def sample_bag(topic, length, g):
    on_topic = topic_words[topic][torch.randint(0, 12, (length,), generator=g)]
    noise = torch.randint(0, VOCAB, (length,), generator=g)
    keep = torch.rand(length, generator=g) < 0.7
    return torch.where(keep, on_topic, noise)


g = torch.Generator().manual_seed(1)
passages = [sample_bag(int(t), 8 + int(i) % 5, g) for i, t in enumerate(passage_topic)]
query_topic = torch.arange(18) % N_TOPICS
queries = [sample_bag(int(t), 4, g) for t in query_topic]


def to_bag(seqs):
    flat = torch.cat(seqs)
    offsets = torch.tensor([0] + [len(s) for s in seqs[:-1]]).cumsum(0)
    return flat, offsets


class BiEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_bag = nn.EmbeddingBag(VOCAB, 24, mode='mean')
        self.p_bag = nn.EmbeddingBag(VOCAB, 24, mode='mean')
        self.q_proj = nn.Sequential(nn.Linear(24, 32), nn.Tanh(), nn.Linear(32, DIM))
        self.p_proj = nn.Sequential(nn.Linear(24, 32), nn.Tanh(), nn.Linear(32, DIM))

    def encode_q(self, seqs):
        return self.q_proj(self.q_bag(*to_bag(seqs)))

    def encode_p(self, seqs):
        return self.p_proj(self.p_bag(*to_bag(seqs)))


model = BiEncoder()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
cosine_triplet = nn.TripletMarginWithDistanceLoss(
    distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y), margin=0.3
)
for step in range(40):
    topics = torch.randperm(N_TOPICS)[:4]
    pos_idx = torch.stack(
        [torch.nonzero(passage_topic == t).flatten()[torch.randint(0, 8, (1,))] for t in topics]
    )
    neg_idx = (pos_idx + 1) % N_PASS  # the next passage has the next topic: a hard negative
    q = model.encode_q([sample_bag(int(t), 4, g) for t in topics])
    p = model.encode_p([passages[i] for i in pos_idx.flatten().tolist()])
    n = model.encode_p([passages[i] for i in neg_idx.flatten().tolist()])
    scores = q @ torch.cat([p, n]).T  # in-batch negatives plus hard negatives
    loss_nll = F.cross_entropy(scores, torch.arange(len(topics)))
    loss_cos = cosine_triplet(q, p, n)
    loss_swap = F.triplet_margin_loss(q, p, n, margin=1.0, swap=True)
    loss = loss_nll + loss_cos + 0.1 * loss_swap
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 13 == 0:
        print(
            f'step {step:2d} nll {loss_nll.item():.4f} cos-triplet {loss_cos.item():.4f} '
            f'swap {loss_swap.item():.4f}'
        )

model.eval()
with torch.no_grad():
    P = model.encode_p(passages)
    Q = model.encode_q(queries)
d_mm = torch.cdist(Q, P)
d_exact = torch.cdist(Q, P, compute_mode='donot_use_mm_for_euclid_dist')
d_l1 = torch.cdist(Q, P, p=1)
print(
    'cdist modes agree',
    torch.allclose(d_mm, d_exact, atol=1e-5),
    'L1 vs pairwise',
    torch.allclose(d_l1[0], F.pairwise_distance(Q[:1].expand_as(P), P, p=1, eps=0), atol=1e-5),
)
for bad in (lambda: torch.cdist(Q, P[:, :8]), lambda: d_exact.topk(N_PASS + 1, dim=1)):
    try:
        bad()
    except RuntimeError as e:
        print('RuntimeError:', e)
dist, idx = d_exact.topk(10, dim=1, largest=False)
relevant = passage_topic[idx] == query_topic[:, None]
first_hit = torch.where(
    relevant.any(1), relevant.float().argmax(1) + 1, torch.zeros_like(query_topic)
)
mrr = torch.where(first_hit > 0, 1.0 / first_hit.clamp(min=1), torch.zeros(())).mean()
print(
    f'MRR@10 {mrr.item():.4f} Recall@1 {relevant[:, 0].float().mean().item():.4f} '
    f'Recall@5 {relevant[:, :5].any(1).float().mean().item():.4f}'
)

# mAP over the full ranking
full_rank = d_exact.argsort(dim=1)
rel_full = (passage_topic[full_rank] == query_topic[:, None]).float()
prec_at = rel_full.cumsum(1) / torch.arange(1, N_PASS + 1)
ap = (prec_at * rel_full).sum(1) / rel_full.sum(1)
print(f'mAP {ap.mean().item():.4f} best query AP {ap.max().item():.4f} worst {ap.min().item():.4f}')

# nDCG@5 with graded relevance: same topic 2, neighbouring topic 1
grade = torch.zeros(len(queries), N_PASS)
grade[passage_topic[None, :] == query_topic[:, None]] = 2.0
grade[passage_topic[None, :] == (query_topic[:, None] + 1) % N_TOPICS] = 1.0
discount = 1.0 / torch.log2(torch.arange(2, 7).float())
dcg = ((2 ** torch.gather(grade, 1, full_rank[:, :5]) - 1) * discount).sum(1)
ideal = ((2 ** grade.sort(dim=1, descending=True).values[:, :5] - 1) * discount).sum(1)
print('nDCG@5', (dcg / ideal).mean().item().__round__(4), 'first queries', (dcg / ideal)[:4])


def kmeans(x, k, iters=8):
    c = x[torch.randperm(len(x))[:k]].clone()
    for _ in range(iters):
        a = torch.cdist(x, c).argmin(1)
        counts = torch.bincount(a, minlength=k).unsqueeze(1)
        new = torch.zeros_like(c).index_add_(0, a, x) / counts.clamp(min=1)
        c = torch.where(counts > 0, new, c)
    return c


M, KS = 4, 8  # 4 sub-spaces of DIM / M dims, 8 centroids each
sub = DIM // M
codebooks = torch.stack(
    [kmeans(P[:, m * sub : (m + 1) * sub], KS) for m in range(M)]
)  # (M, KS, sub)
codes = torch.stack(
    [torch.cdist(P[:, m * sub : (m + 1) * sub], codebooks[m]).argmin(1) for m in range(M)], 1
)
codes = codes.to(torch.uint8)
recon = torch.cat([codebooks[m][codes[:, m].long()] for m in range(M)], 1)
print(
    'codes',
    codes.dtype,
    tuple(codes.shape),
    'bytes',
    codes.numel() * codes.element_size(),
    'recon mse',
    round(F.mse_loss(recon, P).item(), 4),
)
Qs = Q.view(len(Q), M, sub)
tables = ((Qs[:, :, None, :] - codebooks[None]) ** 2).sum(-1)  # (Q, M, KS) squared distances
adc = tables.gather(2, codes.long().T.unsqueeze(0).expand(len(Q), M, N_PASS)).sum(1)  # (Q, N_PASS)
shortlist = adc.topk(12, dim=1, largest=False).indices
rerank = torch.gather(d_exact, 1, shortlist).argsort(dim=1)
pq_top = torch.gather(shortlist, 1, rerank)[:, :10]
overlap = (pq_top[:, :, None] == idx[:, None, :]).any(-1).float().mean()
print(f'PQ shortlist+rerank overlap with exact top-10 {overlap.item():.4f}')
print('query 0 exact', idx[0, :5].tolist(), 'pq', pq_top[0, :5].tolist())
