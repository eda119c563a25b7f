"""Graph classification with message passing on edge lists, the way PyTorch Geometric's
tutorials build it by hand: a custom ``collate_fn`` that batches variable-size graphs into one
disjoint graph (offsetting edge indices, a ``batch`` vector), GIN and GraphSAGE layers written
with ``index_add_``, ``scatter_add``, ``scatter_reduce`` ('sum', 'mean', 'amax' with
``include_self=False``), a softmax over each node's incoming edges, global mean/max pooling per
graph, and a ``WeightedRandomSampler`` that rebalances the classes. Graphs come from NumPy; the
sampler draws from ``torch.manual_seed``."""
from collections import Counter

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

rng = np.random.default_rng(2)


def make_graph(kind, n):
    """Edge list (both directions) of a cycle (0), a star (1) or a path (2) with n nodes."""
    if kind == 0:
        edges = [(i, (i + 1) % n) for i in range(n)]
    elif kind == 1:
        edges = [(0, i) for i in range(1, n)]
    else:
        edges = [(i, i + 1) for i in range(n - 1)]
    src = [a for a, b in edges] + [b for a, b in edges]
    dst = [b for a, b in edges] + [a for a, b in edges]
    return np.array([src, dst], dtype=np.int64)


class GraphDataset(Dataset):
    def __init__(self, count):
        # imbalanced: mostly cycles, few stars and paths
        self.kinds = rng.choice(3, size=count, p=[0.6, 0.25, 0.15])
        self.graphs = []
        for kind in self.kinds:
            n = int(rng.integers(4, 9))
            x = rng.normal(0.0, 0.1, (n, 3)).astype(np.float32)
            x[:, 0] += 1.0  # a constant feature so structure decides the class
            self.graphs.append((torch.from_numpy(x), torch.from_numpy(make_graph(kind, n)),
                                int(kind)))

    def __len__(self):
        return len(self.graphs)

    def __getitem__(self, idx):
        return self.graphs[idx]


def collate_graphs(samples):
    """Stack graphs into one big disjoint graph; ``batch`` maps each node to its graph."""
    xs, edge_indices, batch, offset = [], [], [], 0
    for i, (x, edge_index, _) in enumerate(samples):
        xs.append(x)
        edge_indices.append(edge_index + offset)
        batch.append(torch.full((x.size(0),), i, dtype=torch.long))
        offset += x.size(0)
    labels = torch.tensor([label for _, _, label in samples])
    return torch.cat(xs), torch.cat(edge_indices, dim=1), torch.cat(batch), labels


train_set, test_set = GraphDataset(160), GraphDataset(60)
counts = Counter(train_set.kinds.tolist())
print("train class counts", sorted(counts.items()))
x, edge_index, batch, labels = collate_graphs([train_set[i] for i in range(3)])
print("collated", tuple(x.shape), tuple(edge_index.shape), batch.tolist(), labels.tolist())

# degree of every node, three ways
num_nodes = x.size(0)
ones = torch.ones(edge_index.size(1))
deg_a = torch.zeros(num_nodes).index_add_(0, edge_index[1], ones)
deg_b = torch.zeros(num_nodes).scatter_add(0, edge_index[1], ones)
deg_c = torch.bincount(edge_index[1], minlength=num_nodes).float()
print("degrees", deg_a.long().tolist(), torch.equal(deg_a, deg_b), torch.equal(deg_a, deg_c))


def scatter(src, index, dim_size, reduce):
    """Reduce rows of ``src`` into ``dim_size`` rows chosen by ``index``."""
    out = torch.zeros(dim_size, src.size(1), dtype=src.dtype)
    idx = index.unsqueeze(1).expand_as(src)
    return out.scatter_reduce(0, idx, src, reduce=reduce, include_self=False)


def edge_softmax(scores, index, num_nodes):
    """Softmax of edge scores over the edges that enter the same node."""
    idx = index.unsqueeze(1).expand_as(scores)
    node_max = torch.full((num_nodes, scores.size(1)), float("-inf")).scatter_reduce(
        0, idx, scores, reduce="amax", include_self=True)
    exp = (scores - node_max[index]).exp()
    denom = torch.zeros(num_nodes, scores.size(1)).index_add_(0, index, exp)
    return exp / denom[index]


class GINConv(nn.Module):
    def __init__(self, in_dim, out_dim, eps=0.0):
        super().__init__()
        self.eps = nn.Parameter(torch.tensor([eps]))
        self.mlp = nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU(), nn.Linear(out_dim, out_dim))

    def forward(self, x, edge_index):
        src, dst = edge_index
        aggregated = torch.zeros_like(x).index_add_(0, dst, x[src])
        return self.mlp((1 + self.eps) * x + aggregated)


class SAGEConv(nn.Module):
    def __init__(self, in_dim, out_dim, aggr="mean"):
        super().__init__()
        self.aggr = aggr
        self.lin_self = nn.Linear(in_dim, out_dim)
        self.lin_neigh = nn.Linear(in_dim, out_dim, bias=False)
        self.att = nn.Linear(in_dim, 1, bias=False)

    def forward(self, x, edge_index):
        src, dst = edge_index
        messages = x[src]
        if self.aggr == "attention":
            alpha = edge_softmax(self.att(messages), dst, x.size(0))
            neigh = torch.zeros_like(x).index_add_(0, dst, alpha * messages)
        else:
            neigh = scatter(messages, dst, x.size(0), self.aggr)
        return self.lin_self(x) + self.lin_neigh(neigh)


class GraphClassifier(nn.Module):
    def __init__(self, conv, in_dim=3, hidden=16, classes=3):
        super().__init__()
        self.conv1 = conv(in_dim, hidden)
        self.conv2 = conv(hidden, hidden)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, x, edge_index, batch):
        h = F.relu(self.conv1(x, edge_index))
        h = F.relu(self.conv2(h, edge_index))
        num_graphs = int(batch.max()) + 1
        mean_pool = scatter(h, batch, num_graphs, "mean")
        max_pool = scatter(h, batch, num_graphs, "amax")
        return self.head(torch.cat([mean_pool, max_pool], dim=1))


def init_from_numpy(model, seed):
    init = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy((0.3 * init.standard_normal(tuple(p.shape)))
                                     .astype(np.float32)))
    return model


# class-balanced sampling: each sample weighted by 1 / its class frequency
sample_weights = torch.tensor([1.0 / counts[k] for k in train_set.kinds.tolist()],
                              dtype=torch.double)
torch.manual_seed(0)
sampler = WeightedRandomSampler(sample_weights, num_samples=len(train_set), replacement=True)
drawn = Counter(train_set.kinds[list(sampler)].tolist())
print("balanced draw counts", sorted(drawn.items()))

test_loader = DataLoader(test_set, batch_size=30, collate_fn=collate_graphs)
for name, conv in (("GIN", GINConv),
                   ("SAGE-mean", lambda i, o: SAGEConv(i, o, "mean")),
                   ("SAGE-max", lambda i, o: SAGEConv(i, o, "amax")),
                   ("SAGE-attention", lambda i, o: SAGEConv(i, o, "attention"))):
    torch.manual_seed(1)
    model = init_from_numpy(GraphClassifier(conv), seed=4)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    train_loader = DataLoader(train_set, batch_size=16, sampler=sampler, collate_fn=collate_graphs)
    for epoch in range(8):
        model.train()
        total = 0.0
        for x, edge_index, batch, labels in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x, edge_index, batch), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * labels.size(0)
    model.eval()
    correct = 0
    per_class = torch.zeros(3)
    with torch.no_grad():
        for x, edge_index, batch, labels in test_loader:
            pred = model(x, edge_index, batch).argmax(dim=1)
            correct += (pred == labels).sum().item()
            per_class.index_add_(0, labels, (pred == labels).float())
    print(f"{name:>14}: last train loss {total / len(train_set):.4f} "
          f"test acc {correct / len(test_set):.3f} correct per class {per_class.long().tolist()}")
