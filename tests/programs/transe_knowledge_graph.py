"""TransE knowledge-graph embeddings (Bordes et al., 2013), in the style of the PyTorch
reimplementations (mklimasz/TransE-PyTorch, OpenKE): entity and relation ``nn.Embedding``
tables initialised uniformly in ``[-6/sqrt(d), 6/sqrt(d)]``, entities renormalised to unit L2
norm each step with ``F.normalize`` (and a ``max_norm`` embedding variant), the translation
score ``||h + r - t||_p``, negatives made by corrupting head or tail with ``torch.randint``,
and ``nn.MarginRankingLoss`` between positive and negative distances, trained with SGD. The
filtered link-prediction evaluation ranks every entity as the tail with ``torch.cdist`` and
reports mean rank, MRR and Hits@k. The graph is synthetic: entities on a ring with relations
"next", "prev" and "skip two", so the true embeddings are translations."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N_ENT, DIM = 24, 16
offsets = {0: 1, 1: -1, 2: 2}
triples = torch.tensor([[h, r, (h + off) % N_ENT] for r, off in offsets.items()
                        for h in range(N_ENT)])
perm = torch.randperm(len(triples))
test_triples = triples[perm[:12]]
train_triples = triples[perm[12:]]
print("triples", len(triples), "train", len(train_triples), "test", len(test_triples))


class TransE(nn.Module):
    def __init__(self, n_ent, n_rel, dim, norm=1, margin=1.0):
        super().__init__()
        self.norm = norm
        self.ent = nn.Embedding(n_ent, dim)
        self.rel = nn.Embedding(n_rel, dim)
        bound = 6 / math.sqrt(dim)
        nn.init.uniform_(self.ent.weight, -bound, bound)
        nn.init.uniform_(self.rel.weight, -bound, bound)
        with torch.no_grad():
            self.rel.weight.copy_(F.normalize(self.rel.weight, p=2, dim=1))
        self.criterion = nn.MarginRankingLoss(margin=margin, reduction="mean")

    def distance(self, triples):
        h, r, t = triples.unbind(1)
        return (self.ent(h) + self.rel(r) - self.ent(t)).norm(p=self.norm, dim=1)

    def forward(self, pos, neg):
        with torch.no_grad():                     # entities live on the unit sphere
            self.ent.weight.copy_(F.normalize(self.ent.weight, p=2, dim=1))
        d_pos, d_neg = self.distance(pos), self.distance(neg)
        target = torch.full_like(d_pos, -1.0)     # want d_pos < d_neg
        return self.criterion(d_pos, d_neg, target), d_pos, d_neg


def corrupt(batch, n_ent):
    """Replace the head or the tail (a fair coin per triple) with a random entity."""
    neg = batch.clone()
    head = torch.randint(0, 2, (len(batch),)).bool()
    rand_ent = torch.randint(0, n_ent, (len(batch),))
    neg[:, 0] = torch.where(head, rand_ent, neg[:, 0])
    neg[:, 2] = torch.where(head, neg[:, 2], rand_ent)
    return neg


model = TransE(N_ENT, len(offsets), DIM)
print(model.criterion, "entity norms before", round(model.ent.weight.norm(dim=1).mean().item(), 4))
opt = torch.optim.SGD(model.parameters(), lr=0.2)
for epoch in range(40):
    order = torch.randperm(len(train_triples))
    losses = []
    for i in range(0, len(order), 20):
        pos = train_triples[order[i:i + 20]]
        loss, d_pos, d_neg = model(pos, corrupt(pos, N_ENT))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    if epoch % 8 == 0 or epoch == 39:
        print(f"epoch {epoch:2d} loss {sum(losses) / len(losses):.4f} "
              f"pos {d_pos.mean().item():.3f} neg {d_neg.mean().item():.3f}")

# filtered tail prediction: rank the true tail among all entities, other true tails removed
known = {tuple(t) for t in triples.tolist()}
with torch.no_grad():
    ent = F.normalize(model.ent.weight, dim=1)
    query = ent[test_triples[:, 0]] + model.rel(test_triples[:, 1])
    dist = torch.cdist(query, ent, p=1)
    ranks = []
    for row, (h, r, t) in zip(dist, test_triples.tolist()):
        mask = torch.tensor([(h, r, e) in known and e != t for e in range(N_ENT)])
        row = row.masked_fill(mask, float("inf"))
        ranks.append(int((row < row[t]).sum()) + 1)
ranks = torch.tensor(ranks, dtype=torch.float)
print("ranks", ranks.int().tolist())
print("MR", round(ranks.mean().item(), 3), "MRR", round((1 / ranks).mean().item(), 4),
      "Hits@1", round((ranks <= 1).float().mean().item(), 4),
      "Hits@3", round((ranks <= 3).float().mean().item(), 4))

# the relation vectors should compose: next + next ~ skip two
r = model.rel.weight.detach()
print("||next + next - skip2|| / ||skip2||",
      round(((r[0] + r[0] - r[2]).norm() / r[2].norm()).item(), 3),
      "cos(next, prev)", round(F.cosine_similarity(r[0], r[1], dim=0).item(), 3))
top = torch.topk(-dist[0], 3).indices
print("nearest tails for", tuple(test_triples[0].tolist()), top.tolist(),
      "argsort", torch.argsort(dist[0])[:3].tolist())

# nn.Embedding(max_norm=...) renormalises the looked-up rows in place instead
capped = nn.Embedding(N_ENT, DIM, max_norm=1.0)
before = capped.weight.detach().norm(dim=1)
out = capped(torch.tensor([0, 3, 3, 5]))
after = capped.weight.detach().norm(dim=1)
print("max_norm rows", [round(v, 4) for v in after[[0, 3, 5, 6]].tolist()],
      "untouched row kept", bool(after[6] == before[6]), "out norms",
      [round(v, 4) for v in out.norm(dim=1).tolist()])
