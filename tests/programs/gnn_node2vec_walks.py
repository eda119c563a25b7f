"""node2vec (Grover & Leskovec 2016) in plain PyTorch, as the PyG-free reimplementations write
it: second-order biased random walks with return parameter p and in-out parameter q (the
unnormalised transition weights of each step built from a dense adjacency, drawn with
``torch.multinomial``), walks cut into context windows with ``Tensor.unfold``, skip-gram with
negative sampling on ``nn.Embedding(sparse=True)`` trained by ``torch.optim.SparseAdam``, and a
logistic-regression probe on the learned embeddings (LBFGS). A DeepWalk (p = q = 1) walk is
checked against uniform neighbour draws made with ``torch.gather``. Everything random comes from
``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(4)

# --- a "barbell of communities": 3 dense groups joined by a few bridge edges ----------------
n, groups = 36, 3
group = torch.arange(n) // (n // groups)
same = group[:, None] == group[None, :]
adj = (torch.rand(n, n) < torch.where(same, 0.35, 0.01)).float().triu(1)
adj = adj + adj.t()
isolated = adj.sum(1) == 0
adj[isolated, (torch.arange(n)[isolated] + 1) % n] = 1.0  # no dead ends for the walks
adj = ((adj + adj.t()) > 0).float()
deg = adj.sum(1)
print("edges", int(adj.sum().item() / 2), "degree range", int(deg.min()), int(deg.max()))

# neighbour lists padded to the max degree (for the uniform DeepWalk step)
max_deg = int(deg.max())
order = torch.argsort(adj, dim=1, descending=True, stable=True)
nbr = order[:, :max_deg]


def deepwalk_step(cur):
    """A uniform neighbour of each current node via a random slot in its padded list."""
    slot = (torch.rand(cur.numel()) * deg[cur]).long()
    return torch.gather(nbr[cur], 1, slot[:, None]).squeeze(1)


def node2vec_walks(starts, length, p, q):
    """Second-order walks: from (prev, cur) the weight of x is 1/p if x == prev, 1 if x is a
    neighbour of prev, 1/q otherwise (times adj[cur, x])."""
    walks = [starts]
    cur = deepwalk_step(starts)
    prev = starts
    walks.append(cur)
    for _ in range(length - 2):
        w = adj[cur].clone()
        back = F.one_hot(prev, n).bool()
        near = adj[prev].bool()
        w = torch.where(back, w / p, torch.where(near, w, w / q))
        nxt = torch.multinomial(w, 1).squeeze(1)
        prev, cur = cur, nxt
        walks.append(cur)
    return torch.stack(walks, dim=1)


sample = node2vec_walks(torch.arange(4), 8, p=1.0, q=1.0)
print("walk shape", tuple(sample.shape))
valid = adj[sample[:, :-1], sample[:, 1:]].bool().all().item()
print("every step follows an edge", valid)
dw = deepwalk_step(torch.zeros(2000, dtype=torch.long))
freq = torch.bincount(dw.flatten(), minlength=n)[adj[0].bool()].float() / 2000
print("uniform neighbour draws", round(freq.min().item(), 2), round(freq.max().item(), 2),
      "over", int(deg[0]), "neighbours")

# BFS-like (q > 1) walks stay inside the community more often than DFS-like (q < 1) ones
for p, q in [(1.0, 4.0), (1.0, 0.25)]:
    w = node2vec_walks(torch.arange(n).repeat(3), 10, p, q)
    inside = (group[w] == group[w[:, :1]]).float().mean().item()
    back = (w[:, 2:] == w[:, :-2]).float().mean().item()
    print(f"p={p} q={q} stay-in-group {inside:.3f} return rate {back:.3f}")


class SkipGram(nn.Module):
    def __init__(self, num_nodes, dim):
        super().__init__()
        self.emb = nn.Embedding(num_nodes, dim, sparse=True)
        self.ctx = nn.Embedding(num_nodes, dim, sparse=True)

    def loss(self, pos_rw, neg_rw):
        """Each row: a start node followed by context nodes (positive or negative)."""
        start, rest = pos_rw[:, 0], pos_rw[:, 1:]
        h = self.emb(start).unsqueeze(1)
        pos = (h * self.ctx(rest)).sum(-1)
        neg = (self.emb(neg_rw[:, 0]).unsqueeze(1) * self.ctx(neg_rw[:, 1:])).sum(-1)
        return -(F.logsigmoid(pos).mean() + F.logsigmoid(-neg).mean())


model = SkipGram(n, 16)
opt = torch.optim.SparseAdam(list(model.parameters()), lr=0.05)
context = 4
for epoch in range(1, 31):
    walks = node2vec_walks(torch.randperm(n), 10, p=1.0, q=2.0)
    pos_rw = walks.unfold(1, context, 1).reshape(-1, context)  # (windows, context)
    neg_rw = torch.cat([pos_rw[:, :1], torch.randint(0, n, (pos_rw.size(0), context - 1))], 1)
    opt.zero_grad()
    loss = model.loss(pos_rw, neg_rw)
    loss.backward()
    opt.step()
    if epoch % 10 == 0:
        print(f"epoch {epoch} windows {pos_rw.size(0)} loss {loss.item():.3f} "
              f"grad sparse {model.emb.weight.grad.is_sparse}")

with torch.no_grad():
    z = F.normalize(model.emb.weight, dim=1)
    sim = z @ z.t()
    print("mean cosine same group", round(sim[same].mean().item(), 2),
          "other", round(sim[~same].mean().item(), 2))

# linear probe on the frozen embeddings: half the nodes for training
z = model.emb.weight.detach()
perm = torch.randperm(n)
tr, te = perm[: n // 2], perm[n // 2:]
probe = nn.Linear(16, groups)
lbfgs = torch.optim.LBFGS(probe.parameters(), lr=0.5, max_iter=30)


def closure():
    lbfgs.zero_grad()
    out = F.cross_entropy(probe(z[tr]), group[tr]) + 1e-3 * probe.weight.pow(2).sum()
    out.backward()
    return out


lbfgs.step(closure)
with torch.no_grad():
    acc = (probe(z[te]).argmax(1) == group[te]).float().mean().item()
print("probe test acc", round(acc, 3))
