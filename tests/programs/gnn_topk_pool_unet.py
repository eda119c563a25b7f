"""Hierarchical graph classification with top-k pooling (gPool of Graph U-Nets and SAGPool), in
the style of their PyG-free reimplementations on a batch of graphs: graph offsets with
``bincount`` + ``cumsum``, per-graph top-k selection by a stable two-key sort
(``argsort(stable=True)`` by score, then by graph id), kept-node counts from
``unique_consecutive(return_counts=True)``, edge filtering and relabelling of the pooled
graph, a ``tanh`` score gate, readout by ``scatter_reduce('amax')`` and ``index_add``, an
unpooling step that scatters pooled features back (``scatter``), and a product of per-graph
gates with ``scatter_(reduce='multiply')``. Everything random comes from
``torch.manual_seed``."""
import math
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore", message=".*scatter\\(reduce='multiply'\\).*")
torch.manual_seed(9)


def make_graph(kind):
    """A two-cluster graph (label 1) or a single ring with chords (label 0), 6-11 nodes."""
    m = int(torch.randint(6, 12, (1,)))
    if kind == 1:
        half = m // 2
        e = [(i, j) for i in range(half) for j in range(i + 1, half)]
        e += [(i, j) for i in range(half, m) for j in range(i + 1, m)]
        e += [(0, half)]
    else:
        e = [(i, (i + 1) % m) for i in range(m)] + [(0, m // 2)]
    ei = torch.tensor(e).t()
    x = torch.randn(m, 4) * 0.5
    x[:, 0] = 1.0
    return x, torch.cat([ei, ei.flip(0)], dim=1), kind


def collate(graphs):
    xs, eis, batch, ys, off = [], [], [], [], 0
    for g, (x, ei, y) in enumerate(graphs):
        xs.append(x)
        eis.append(ei + off)
        batch.append(torch.full((x.size(0),), g))
        ys.append(y)
        off += x.size(0)
    return torch.cat(xs), torch.cat(eis, 1), torch.cat(batch), torch.tensor(ys)


def topk_per_graph(score, batch, ratio):
    """Indices of the ceil(ratio * n_g) best-scoring nodes of every graph, grouped by graph."""
    order = torch.argsort(score, descending=True, stable=True)
    order = order[torch.argsort(batch[order], stable=True)]  # by graph, then by score
    graphs, counts = torch.unique_consecutive(batch[order], return_counts=True)
    k = torch.ceil(ratio * counts.float()).long()
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(order.numel()) - torch.repeat_interleave(start, counts)
    return order[rank < torch.repeat_interleave(k, counts)], graphs, k


def filter_edges(edge_index, perm, num_nodes):
    mapping = torch.full((num_nodes,), -1, dtype=torch.long)
    mapping[perm] = torch.arange(perm.numel())
    row, col = mapping[edge_index[0]], mapping[edge_index[1]]
    keep = (row >= 0) & (col >= 0)
    return torch.stack([row[keep], col[keep]])


def gcn_aggregate(x, edge_index):
    """Mean over neighbours and self (sum with index_add, then divide by the degree + 1)."""
    n = x.size(0)
    out = x.clone().index_add_(0, edge_index[1], x[edge_index[0]])
    deg = torch.bincount(edge_index[1], minlength=n).float() + 1
    return out / deg[:, None]


class TopKPool(nn.Module):
    def __init__(self, channels, ratio, attention):
        super().__init__()
        self.ratio, self.attention = ratio, attention
        self.p = nn.Parameter(torch.randn(channels) / math.sqrt(channels))
        self.gnn = nn.Linear(channels, 1)

    def forward(self, x, edge_index, batch):
        if self.attention:  # SAGPool: scores from a GNN layer
            score = self.gnn(gcn_aggregate(x, edge_index)).squeeze(-1)
        else:  # gPool: projection on a learnable vector
            score = (x * self.p).sum(-1) / self.p.norm(p=2)
        perm, _, k = topk_per_graph(score, batch, self.ratio)
        gate = torch.tanh(score[perm])
        x = x[perm] * gate.unsqueeze(-1)
        return x, filter_edges(edge_index, perm, score.numel()), batch[perm], perm, gate


def readout(x, batch, num_graphs):
    mx = torch.full((num_graphs, x.size(1)), float("-inf")).scatter_reduce(
        0, batch[:, None].expand_as(x), x, reduce="amax", include_self=True)
    sm = torch.zeros(num_graphs, x.size(1)).index_add(0, batch, x)
    cnt = torch.bincount(batch, minlength=num_graphs).float()[:, None]
    return torch.cat([mx, sm / cnt], dim=1)


class PoolNet(nn.Module):
    def __init__(self, in_dim=4, hidden=16, attention=False):
        super().__init__()
        self.lin_in = nn.Linear(in_dim, hidden)
        self.conv1 = nn.Linear(hidden, hidden)
        self.pool1 = TopKPool(hidden, 0.5, attention)
        self.conv2 = nn.Linear(hidden, hidden)
        self.pool2 = TopKPool(hidden, 0.5, attention)
        self.up = nn.Linear(hidden, hidden)
        self.head = nn.Sequential(nn.Linear(4 * hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, 2))

    def forward(self, x, edge_index, batch, num_graphs):
        h0 = F.relu(self.conv1(gcn_aggregate(self.lin_in(x), edge_index)))
        h1, ei1, b1, perm1, _ = self.pool1(h0, edge_index, batch)
        h1 = F.relu(self.conv2(gcn_aggregate(h1, ei1)))
        r1 = readout(h1, b1, num_graphs)
        h2, _, b2, _, gate2 = self.pool2(h1, ei1, b1)
        r2 = readout(h2, b2, num_graphs)
        # U-Net style unpooling: pooled features return to their original rows (zeros elsewhere)
        up = torch.zeros_like(h0).scatter(0, perm1[:, None].expand_as(h1), h1)
        skip = F.relu(self.up(h0 + up))
        gate_prod = torch.ones(num_graphs).scatter_(0, b2, gate2.detach().abs() + 0.5,
                                                    reduce="multiply")
        return self.head(torch.cat([r1 + r2, readout(skip, batch, num_graphs)], 1)), gate_prod


graphs = [make_graph(int(torch.rand(1) < 0.5)) for _ in range(48)]
x, edge_index, batch, y = collate(graphs)
print("nodes", x.size(0), "edges", edge_index.size(1), "labels", torch.bincount(y).tolist())
sizes = torch.bincount(batch)
ptr = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(sizes, 0)])
print("ptr head", ptr[:6].tolist())

score = torch.randn(x.size(0))
perm, graphs_seen, k = topk_per_graph(score, batch, 0.5)
print("kept per graph", k[:8].tolist(), "total", perm.numel())
ok = all(torch.equal(torch.sort(perm[batch[perm] == g]).values,
                     torch.sort(torch.topk(score[batch == g], int(k[g])).indices
                                + ptr[g]).values) for g in range(48))
print("matches per-graph topk", ok)
ei_small = filter_edges(edge_index, perm, x.size(0))
print("pooled edges", ei_small.size(1), "valid", bool((ei_small < perm.numel()).all()))

for attention in (False, True):
    torch.manual_seed(0)
    model = PoolNet(attention=attention)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(40):
        model.train()
        idx = torch.randperm(48)[:16]
        sub = [graphs[int(i)] for i in idx]
        bx, bei, bb, by = collate(sub)
        logits, _ = model(bx, bei, bb, 16)
        loss = F.cross_entropy(logits, by)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        logits, gate_prod = model(x, edge_index, batch, 48)
        acc = (logits.argmax(1) == y).float().mean().item()
    name = "SAGPool" if attention else "gPool"
    print(f"{name}: last loss {loss.item():.3f} acc {acc:.3f} "
          f"gate products {[round(v, 3) for v in gate_prod[:3].tolist()]}")
