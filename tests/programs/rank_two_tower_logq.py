"""Two-tower retrieval with in-batch negatives and sampled softmax, in the style of YouTube's
"Sampling-Bias-Corrected Neural Modeling" paper, TorchRec's two-tower example and the
RecSys-course notebooks, followed by a pairwise re-ranker:

* a user tower pooling a variable-length click history with ``nn.EmbeddingBag`` (flat ids and
  ``offsets`` built by a ``collate_fn``), an item tower of id and category embeddings;
* streaming item-frequency estimation with hashed arrays (``index_put_``, ``remainder``) and the
  logQ correction of the in-batch softmax logits, accidental hits masked with ``-inf``;
* extra uniformly sampled negatives (``torch.randint`` with a ``Generator``), a learnable
  temperature clamped in place, ``F.cross_entropy`` over the in-batch and sampled logits;
* Recall@K and MRR over the whole corpus in chunks under ``torch.inference_mode``, seen items
  removed with ``index_put_``; a state_dict round trip through ``io.BytesIO``;
* a linear RankSVM re-ranker from zero weights with ``nn.MarginRankingLoss(margin=0)``.
"""
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(3)
N_USERS, N_ITEMS, N_CATS, DIM, K = 40, 60, 4, 8, 10
item_cat = torch.randint(0, N_CATS, (N_ITEMS,))
# users prefer one category; popular items (low id) are clicked more often, a Zipf-like skew
user_taste = torch.randint(0, N_CATS, (N_USERS,))
popularity = 1.0 / torch.arange(1, N_ITEMS + 1).float() ** 0.8


class Clicks(Dataset):
    """(user, history, clicked item) triples: the history is the user's earlier clicks."""

    def __init__(self):
        self.rows = []
        for u in range(N_USERS):
            weights = popularity * torch.where(item_cat == user_taste[u], 6.0, 0.3)
            seq = torch.multinomial(weights, 7, replacement=False)
            for t in range(2, len(seq)):
                self.rows.append((u, seq[:t], int(seq[t])))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, idx):
        return self.rows[idx]


def collate(batch):
    users = torch.tensor([b[0] for b in batch])
    histories = [b[1] for b in batch]
    lengths = torch.tensor([len(h) for h in histories])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    return users, torch.cat(histories), offsets, torch.tensor([b[2] for b in batch])


data = Clicks()
print("interactions", len(data), "first row", data[0][0], data[0][1].tolist(), data[0][2])
users, flat, offsets, items = collate([data[i] for i in range(4)])
print("flat history", flat, "offsets", offsets)


class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.user_id = nn.Embedding(N_USERS, DIM)
        self.history = nn.EmbeddingBag(N_ITEMS, DIM, mode="mean")
        self.item_id = nn.Embedding(N_ITEMS, DIM)
        self.item_cat = nn.Embedding(N_CATS, DIM)
        self.user_mlp = nn.Sequential(nn.Linear(2 * DIM, 16), nn.GELU(), nn.Linear(16, DIM))
        self.item_mlp = nn.Sequential(nn.Linear(2 * DIM, 16), nn.GELU(), nn.Linear(16, DIM))
        self.logit_scale = nn.Parameter(torch.tensor(2.0))  # log(1 / temperature)

    def users(self, u, flat, offsets):
        x = torch.cat([self.user_id(u), self.history(flat, offsets)], dim=-1)
        return F.normalize(self.user_mlp(x), dim=-1)

    def items(self, i):
        x = torch.cat([self.item_id(i), self.item_cat(item_cat[i])], dim=-1)
        return F.normalize(self.item_mlp(x), dim=-1)


class StreamingFrequency:
    """Yi et al.'s estimator: B[h] tracks the average number of steps between two sightings
    of an item hashed to h; the sampling probability is 1 / B[h]."""

    def __init__(self, buckets=32, alpha=0.1):
        self.buckets, self.alpha = buckets, alpha
        self.last_step = torch.zeros(buckets)
        self.gap = torch.full((buckets,), float(buckets))

    def hash(self, ids):
        return torch.remainder(ids * 2654435761, self.buckets)

    def update(self, step, ids):
        h = self.hash(ids.unique())
        new_gap = (1 - self.alpha) * self.gap[h] + self.alpha * (step - self.last_step[h])
        self.gap.index_put_((h,), new_gap)
        self.last_step.index_put_((h,), torch.full_like(new_gap, float(step)))

    def log_q(self, ids):
        return -torch.log(self.gap[self.hash(ids)])


model = TwoTower()
opt = torch.optim.AdamW(model.parameters(), lr=0.02, weight_decay=0.01)
freq = StreamingFrequency()
sampler_gen = torch.Generator().manual_seed(0)
loader = DataLoader(data, batch_size=32, shuffle=True, collate_fn=collate,
                    generator=torch.Generator().manual_seed(1))
step = 0
for epoch in range(6):
    total, batches = 0.0, 0
    for users, flat, offsets, items in loader:
        step += 1
        freq.update(step, items)
        u = model.users(users, flat, offsets)
        v = model.items(items)
        scale = model.logit_scale.exp()
        logits = scale * u @ v.T - freq.log_q(items)[None, :]
        # the same item twice in a batch is not a negative for the other row
        accidental = (items[:, None] == items[None, :]) & ~torch.eye(len(items), dtype=torch.bool)
        logits = logits.masked_fill(accidental, float("-inf"))
        negatives = torch.randint(0, N_ITEMS, (16,), generator=sampler_gen)
        neg_logits = scale * u @ model.items(negatives).T + torch.log(torch.tensor(16.0 / N_ITEMS))
        neg_logits = neg_logits.masked_fill(negatives[None, :] == items[:, None], float("-inf"))
        all_logits = torch.cat([logits, neg_logits], dim=1)
        loss = F.cross_entropy(all_logits, torch.arange(len(items)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0.0, 3.0)
        total += loss.item()
        batches += 1
    print(f"epoch {epoch} loss {total / batches:.4f} temperature "
          f"{1 / model.logit_scale.exp().item():.4f} accidental hits {int(accidental.sum())}")

print("estimated gaps (first 8 buckets)", freq.gap[:8])
print("logQ of items 0, 1, 59", freq.log_q(torch.tensor([0, 1, 59])))


def evaluate(model):
    users, flat, offsets, items = collate(data.rows)
    hits, rr = [], []
    with torch.inference_mode():
        corpus = model.items(torch.arange(N_ITEMS))
        for start in range(0, len(users), 50):
            sl = slice(start, start + 50)
            u = model.users(users[sl], *collate(data.rows[sl])[1:3])
            scores = u @ corpus.T
            # do not recommend what is already in the history
            for row, (_, history, _) in enumerate(data.rows[sl]):
                scores.index_put_((torch.full_like(history, row), history),
                                  torch.tensor(float("-inf")))
            top = scores.topk(K, dim=1).indices
            target = items[sl]
            hits.append((top == target[:, None]).any(1))
            rank = (scores > scores.gather(1, target[:, None])).sum(1) + 1
            rr.append(1.0 / rank.float())
        print("inference tensor:", scores.is_inference(), "requires_grad:", scores.requires_grad)
    return torch.cat(hits).float().mean().item(), torch.cat(rr).mean().item()


recall, mrr = evaluate(model)
print(f"Recall@{K} {recall:.4f} MRR {mrr:.4f}")
buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
restored = TwoTower()
missing = restored.load_state_dict(torch.load(buffer, weights_only=True))
print("restored", missing, "same Recall", evaluate(restored)[0] == recall)

# a linear RankSVM re-ranks the top candidates of each user from zero weights: with equal
# scores every pair sits on the hinge, and the hinge's subgradient starts the training
reranker = nn.Linear(3, 1, bias=False)
nn.init.zeros_(reranker.weight)
hinge = nn.MarginRankingLoss(margin=0.0)
rr_opt = torch.optim.SGD(reranker.parameters(), lr=0.5)
with torch.no_grad():
    users, flat, offsets, items = collate(data.rows[:48])
    cand = model.users(users, flat, offsets) @ model.items(torch.arange(N_ITEMS)).T
    cand_scores, cand_items = cand.topk(6, dim=1)
    feats = torch.stack([cand_scores, popularity[cand_items].log(),
                         (item_cat[cand_items] == user_taste[users, None]).float()], dim=-1)
    relevant = (cand_items == items[:, None]).float()
i, j = torch.triu_indices(6, 6, offset=1)
y = torch.sign(relevant[:, i] - relevant[:, j])
keep = y != 0
for it in range(20):
    s = reranker(feats).squeeze(-1)
    loss = hinge(s[:, i][keep], s[:, j][keep], y[keep])
    rr_opt.zero_grad()
    loss.backward()
    rr_opt.step()
    if it in (0, 1, 19):
        print(f"rerank step {it} hinge {loss.item():.4f} weights {reranker.weight.data}")
with torch.no_grad():
    new_order = reranker(feats).squeeze(-1).argsort(dim=1, descending=True, stable=True)
    moved = relevant.gather(1, new_order).argmax(1)
print("relevant in candidates", int(relevant.sum()), "mean position before",
      f"{relevant.argmax(1)[relevant.sum(1) > 0].float().mean():.3f}", "after",
      f"{moved[relevant.sum(1) > 0].float().mean():.3f}")
try:
    model.history(torch.tensor([1, 2, 3, 4]))
except ValueError as e:
    print("ValueError:", e)
