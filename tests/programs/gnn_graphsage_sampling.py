"""Mini-batch GraphSAGE with neighbour sampling, as the PyG-free reimplementations of the
GraphSAGE paper's Reddit/PPI training loop do it: a CSR row pointer from ``bincount`` +
``cumsum``, fan-out sampling per hop with ``torch.rand * degree`` (with replacement) and
``randperm`` (without), node ids relabelled per hop with ``torch.unique(return_inverse=True,
return_counts=True)``, mean aggregation with ``Tensor.index_reduce_('mean',
include_self=False)``, max aggregation with ``index_reduce('amax')``, a ``DataLoader`` over seed
nodes, and full-graph layer-wise inference at the end. Everything random comes from
``torch.manual_seed``."""
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
warnings.filterwarnings("ignore", message=".*Sparse invariant checks.*")
torch.manual_seed(5)

# --- a graph with 4 classes: a ring lattice of communities plus random long-range edges ----
n, num_classes, feat_dim = 120, 4, 10
labels = torch.randint(0, num_classes, (n,))
src = torch.randint(0, n, (900,))
dst = torch.randint(0, n, (900,))
keep = (labels[src] == labels[dst]) | (torch.rand(900) < 0.15)
src, dst = src[keep], dst[keep]
edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)
edge_index = edge_index[:, edge_index[0] != edge_index[1]]
# deduplicate edges with a key sort
key = torch.unique(edge_index[0] * n + edge_index[1])
row, col = key // n, key % n
x = F.one_hot(labels, num_classes).float() @ torch.randn(num_classes, feat_dim) * 0.5 \
    + torch.randn(n, feat_dim)
print("edges", row.numel(), "homophily",
      round((labels[row] == labels[col]).float().mean().item(), 3))

deg = torch.bincount(row, minlength=n)
rowptr = torch.zeros(n + 1, dtype=torch.long)
rowptr[1:] = torch.cumsum(deg, 0)
print("degree min/mean/max", int(deg.min()), round(deg.float().mean().item(), 2),
      int(deg.max()))
isolated = (deg == 0).nonzero().flatten()
print("isolated nodes", isolated.tolist())


def sample_neighbors(nodes, fanout, replace=True):
    """Up to ``fanout`` neighbours of each node: (position of the node in ``nodes``, global id
    of the neighbour) per sampled edge."""
    d = deg[nodes]
    pos = torch.arange(nodes.numel())
    if replace:
        offs = (torch.rand(nodes.numel(), fanout) * d[:, None]).long()
        valid = (d > 0)[:, None].expand(-1, fanout)
        picks = (rowptr[nodes][:, None] + offs)[valid]
        return pos[:, None].expand(-1, fanout)[valid], col[picks]
    tgts, srcs = [], []
    for i, (v, dv) in enumerate(zip(nodes.tolist(), d.tolist())):
        take = torch.randperm(dv)[:fanout] + rowptr[v]
        tgts.append(torch.full((take.numel(),), i, dtype=torch.long))
        srcs.append(col[take])
    return torch.cat(tgts), torch.cat(srcs)


def make_blocks(seeds, fanouts, replace=True):
    """Message-flow blocks from the outermost hop inwards. Each block holds its input nodes
    (sorted global ids), where its output nodes sit among them, and its edges in local ids."""
    blocks, frontier = [], seeds
    for fanout in fanouts:
        tgt, srcn = sample_neighbors(frontier, fanout, replace)
        nodes, inverse, counts = torch.unique(torch.cat([frontier, srcn]),
                                              return_inverse=True, return_counts=True)
        dst_pos = inverse[:frontier.numel()]
        src_local = inverse[frontier.numel():]
        blocks.insert(0, (nodes, dst_pos, tgt, src_local, counts))
        frontier = nodes
    return blocks


class SAGEConv(nn.Module):
    def __init__(self, in_dim, out_dim, aggr="mean"):
        super().__init__()
        self.aggr = aggr
        self.lin_self = nn.Linear(in_dim, out_dim)
        self.lin_neigh = nn.Linear(in_dim, out_dim, bias=False)

    def forward(self, h, dst_pos, tgt, srcn):
        h_dst = h[dst_pos]
        msg = h[srcn]
        agg = torch.zeros(dst_pos.numel(), h.size(1), dtype=h.dtype)
        if self.aggr == "mean":
            agg = agg.index_reduce_(0, tgt, msg, "mean", include_self=False)
        else:
            agg = agg.index_reduce(0, tgt, msg, "amax", include_self=False)
        return self.lin_self(h_dst) + self.lin_neigh(agg)


class GraphSAGE(nn.Module):
    def __init__(self, in_dim, hidden, out_dim):
        super().__init__()
        self.convs = nn.ModuleList([SAGEConv(in_dim, hidden, "mean"),
                                    SAGEConv(hidden, out_dim, "max")])

    def forward(self, x_input, blocks):
        h = x_input
        for i, (conv, (_, dst_pos, tgt, srcn, _)) in enumerate(zip(self.convs, blocks)):
            h = conv(h, dst_pos, tgt, srcn)
            if i < len(self.convs) - 1:
                h = F.dropout(F.relu(h), 0.2, self.training)
        return h

    @torch.no_grad()
    def inference(self, x_all):
        """Layer-wise over the whole graph (every neighbour, no sampling)."""
        h = x_all
        for i, conv in enumerate(self.convs):
            h = conv(h, torch.arange(n), row, col)
            if i < len(self.convs) - 1:
                h = F.relu(h)
        return h


torch.manual_seed(1)
b = make_blocks(torch.tensor([3, 17, 42]), [4, 3])
print("block sizes", [(blk[0].numel(), blk[1].numel(), blk[2].numel()) for blk in b])
print("most sampled node x", int(b[0][4].max()), "outer dst are inner inputs",
      torch.equal(b[0][0][b[0][1]], b[1][0]))
b2 = make_blocks(torch.tensor([3, 17]), [2], replace=False)
print("no-replacement block", b2[0][0][b2[0][1]].tolist(), b2[0][2].tolist(),
      b2[0][0][b2[0][3]].tolist())
nodes, inverse, counts = torch.unique(torch.tensor([5, 3, 5, 9, 3, 5]), sorted=True,
                                      return_inverse=True, return_counts=True)
print("unique", nodes.tolist(), inverse.tolist(), counts.tolist())

perm = torch.randperm(n)
train_nodes, test_nodes = perm[:80], perm[80:]
loader = DataLoader(train_nodes, batch_size=16, shuffle=True)
model = GraphSAGE(feat_dim, 16, num_classes)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(1, 16):
    model.train()
    total, seen = 0.0, 0
    for seeds in loader:
        blocks = make_blocks(seeds, [5, 5])
        out = model(x[blocks[0][0]], blocks)
        loss = F.cross_entropy(out, labels[seeds])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * seeds.numel()
        seen += seeds.numel()
    if epoch % 5 == 0:
        model.eval()
        pred = model.inference(x).argmax(1)
        acc = (pred[test_nodes] == labels[test_nodes]).float().mean().item()
        print(f"epoch {epoch} loss {total / seen:.3f} test acc {acc:.3f}")

with torch.no_grad():
    full = model.inference(x)
    # without replacement and a fanout above every degree, sampling keeps all neighbours
    blocks = make_blocks(test_nodes[:8], [50, 50], replace=False)
    sampled = model(x[blocks[0][0]], blocks)
    print("sampled == full on all neighbours",
          torch.allclose(sampled, full[test_nodes[:8]], atol=1e-5))
    print("test predictions", full[test_nodes[:8]].argmax(1).tolist())

    # the same neighbour aggregations as CSR sparse-dense products with a row-wise reduce
    adj_csr = torch.sparse_csr_tensor(rowptr, col, torch.ones(col.numel()), size=(n, n))
    h = F.relu(model.convs[0](x, torch.arange(n), row, col))
    mean_agg = torch.zeros(n, h.size(1)).index_reduce_(0, row, h[col], "mean",
                                                       include_self=False)
    max_agg = torch.zeros(n, h.size(1)).index_reduce_(0, row, h[col], "amax",
                                                      include_self=False)
    print("sparse.mm mean == index_reduce mean",
          torch.allclose(torch.sparse.mm(adj_csr, h, "mean"), mean_agg, atol=1e-6))
    print("sparse.mm amax == index_reduce amax",
          torch.equal(torch.sparse.mm(adj_csr, h, "amax"), max_agg))
    print("sum of mean aggregation", round(torch.sparse.mm(adj_csr, h, "mean").sum().item(), 3))
