"""Relational GCN (Schlichtkrull et al.) in plain torch, as in the R-GCN entity-classification
examples: a small multi-relational graph with inverse relations added, per-relation weights
from a basis decomposition (``torch.einsum("rb,bio->rio")``), messages transformed per edge with
``torch.bmm`` on gathered weights, normalization by per-(node, relation) in-degree computed with
``bincount`` on a combined key, aggregation with ``index_add_``, a self-loop weight, dropout,
Adam with weight decay and a ``StepLR`` schedule, masked node classification with
``F.cross_entropy`` and ``ignore_index``, plus a DistMult decoder scoring triples against
corrupted tails (filtered rank, MRR and Hits@k). Everything random comes from
``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)

num_nodes, num_rels, num_classes = 30, 3, 3
labels = torch.randint(0, num_classes, (num_nodes,))
# edges prefer same-label endpoints so that relations carry class signal
src = torch.randint(0, num_nodes, (120,))
dst = torch.randint(0, num_nodes, (120,))
keep = (labels[src] == labels[dst]) | (torch.rand(120) < 0.3)
src, dst = src[keep], dst[keep]
rel = (labels[src] + torch.randint(0, 2, (src.numel(),))) % num_rels
print("edges kept", src.numel())
print("relation counts", torch.bincount(rel, minlength=num_rels).tolist())

# add inverse relations: relation r reversed is r + num_rels
edge_src = torch.cat([src, dst])
edge_dst = torch.cat([dst, src])
edge_type = torch.cat([rel, rel + num_rels])
total_rels = 2 * num_rels

# normalization constant c_{i,r} = |N_i^r|: in-degree per (destination, relation)
key = edge_dst * total_rels + edge_type
deg = torch.bincount(key, minlength=num_nodes * total_rels).view(num_nodes, total_rels)
norm = 1.0 / deg[edge_dst, edge_type].clamp(min=1).float()
print("max in-degree per relation", deg.max(0).values.tolist())
print("norm head", norm[:5])


class RGCNLayer(nn.Module):
    """One R-GCN layer with basis decomposition W_r = sum_b a_rb V_b."""

    def __init__(self, in_dim, out_dim, num_rels, num_bases, activation=None):
        super().__init__()
        self.bases = nn.Parameter(torch.empty(num_bases, in_dim, out_dim))
        self.coeff = nn.Parameter(torch.empty(num_rels, num_bases))
        self.self_loop = nn.Linear(in_dim, out_dim, bias=True)
        nn.init.xavier_uniform_(self.bases, gain=nn.init.calculate_gain("relu"))
        nn.init.xavier_uniform_(self.coeff)
        self.activation = activation

    def forward(self, x, edge_src, edge_dst, edge_type, norm):
        weight = torch.einsum("rb,bio->rio", self.coeff, self.bases)
        msg = torch.bmm(x[edge_src].unsqueeze(1), weight[edge_type]).squeeze(1)
        msg = msg * norm.unsqueeze(-1)
        out = torch.zeros(x.size(0), msg.size(1)).index_add_(0, edge_dst, msg)
        out = out + self.self_loop(x)
        return self.activation(out) if self.activation is not None else out


class RGCN(nn.Module):
    def __init__(self, num_nodes, hidden, num_classes, num_rels, num_bases):
        super().__init__()
        self.emb = nn.Embedding(num_nodes, hidden)
        self.layer1 = RGCNLayer(hidden, hidden, num_rels, num_bases, activation=F.relu)
        self.layer2 = RGCNLayer(hidden, num_classes, num_rels, num_bases)
        self.dropout = nn.Dropout(0.2)

    def forward(self, graph):
        h = self.layer1(self.emb.weight, *graph)
        h = self.dropout(h)
        return self.layer2(h, *graph)


model = RGCN(num_nodes, 8, num_classes, total_rels, num_bases=2)
print(model)
print("parameters", sum(p.numel() for p in model.parameters()))
graph = (edge_src, edge_dst, edge_type, norm)

train_mask = torch.rand(num_nodes) < 0.6
targets = labels.masked_fill(~train_mask, -100)
opt = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
for epoch in range(40):
    model.train()
    opt.zero_grad()
    logits = model(graph)
    loss = F.cross_entropy(logits, targets, ignore_index=-100)
    loss.backward()
    gnorm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    opt.step()
    sched.step()
    if epoch % 10 == 0 or epoch == 39:
        print(f"epoch {epoch:2d} loss {loss.item():.4f} grad {gnorm.item():.4f}"
              f" lr {sched.get_last_lr()[0]:.4f}")

model.eval()
with torch.no_grad():
    pred = model(graph).argmax(1)
train_acc = (pred[train_mask] == labels[train_mask]).float().mean()
test_acc = (pred[~train_mask] == labels[~train_mask]).float().mean()
print(f"train acc {train_acc.item():.4f} test acc {test_acc.item():.4f}")
print("confusion", torch.bincount(labels * num_classes + pred, minlength=9).view(3, 3))

# DistMult link prediction on the same relational graph
with torch.no_grad():
    node_repr = model.layer1(model.emb.weight, *graph)
rel_diag = nn.Parameter(torch.randn(num_rels, 8) * 0.1)
ent = nn.Parameter(node_repr.clone())
opt2 = torch.optim.Adagrad([ent, rel_diag], lr=0.1)
triples = torch.stack([src, rel, dst], 1)
for step in range(30):
    h, r, t = triples.unbind(1)
    neg_t = torch.randint(0, num_nodes, t.shape)
    pos = (ent[h] * rel_diag[r] * ent[t]).sum(-1)
    neg = (ent[h] * rel_diag[r] * ent[neg_t]).sum(-1)
    scores = torch.cat([pos, neg])
    y = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
    loss = F.binary_cross_entropy_with_logits(scores, y) + 1e-3 * rel_diag.pow(2).sum()
    opt2.zero_grad()
    loss.backward()
    opt2.step()
    if step % 10 == 0:
        print(f"distmult step {step:2d} loss {loss.item():.4f}")

with torch.no_grad():
    h, r, t = triples[:10].unbind(1)
    all_scores = (ent[h] * rel_diag[r]) @ ent.t()  # (10, num_nodes)
    # filtered setting: other known true tails of (h, r) do not count against the answer
    known = torch.zeros(10, num_nodes, dtype=torch.bool)
    for i in range(10):
        match = (triples[:, 0] == h[i]) & (triples[:, 1] == r[i])
        known[i, triples[match, 2]] = True
    known[torch.arange(10), t] = False
    all_scores = all_scores.masked_fill(known, float("-inf"))
    target_score = all_scores.gather(1, t.unsqueeze(1))
    rank = (all_scores > target_score).sum(1) + 1
print("ranks", rank.tolist())
print(f"MRR {(1.0 / rank.float()).mean().item():.4f}")
for k in (1, 3, 10):
    print(f"Hits@{k} {(rank <= k).float().mean().item():.4f}")
