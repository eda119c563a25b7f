"""Link prediction with a graph autoencoder (GAE, as in PyG-free tutorials and the original
``gae`` code): edges split into train/test with ``randperm``, the symmetric normalized
adjacency held as a CSR tensor (``torch.sparse_csr_tensor`` from sorted COO keys built with
``argsort(stable=True)``, ``bincount`` and ``cumsum``; ``crow_indices``/``col_indices``;
products with ``torch.sparse.mm``), a two-layer GCN encoder, inner-product decoder, negative
sampling that rejects existing edges with ``torch.isin`` on encoded edge keys and with
``torch.searchsorted`` on a sorted key list, a common-neighbours baseline and a triangle count
on a sparse COO adjacency (``torch.sparse.mm`` of two sparse matrices and their element-wise
``*``), and ROC-AUC / average precision computed with ``argsort`` and ``cumsum``. Everything
random comes from ``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)

# two communities with dense inner links and a few bridges (stochastic block model)
num_nodes = 40
block = torch.arange(num_nodes) // 20
same = block[:, None] == block[None, :]
prob = torch.where(same, 0.3, 0.02)
upper = torch.triu(torch.rand(num_nodes, num_nodes) < prob, diagonal=1)
edges = upper.nonzero().t()  # undirected edges as (i < j) pairs
print("undirected edges", edges.size(1))

perm = torch.randperm(edges.size(1))
n_test = edges.size(1) // 5
test_pos = edges[:, perm[:n_test]]
train_pos = edges[:, perm[n_test:]]
print("train/test", train_pos.size(1), test_pos.size(1))


def to_csr(edge_index, n):
    """Symmetric normalized adjacency D^-1/2 (A + I) D^-1/2 of an undirected edge list, in CSR."""
    loops = torch.arange(n).repeat(2, 1)
    ei = torch.cat([edge_index, edge_index.flip(0), loops], dim=1)
    key = ei[0] * n + ei[1]
    order = torch.argsort(key, stable=True)
    row, col = ei[0][order], ei[1][order]
    deg = torch.bincount(row, minlength=n).float()
    crow = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(deg.long(), 0)])
    dinv = deg.pow(-0.5)
    val = dinv[row] * dinv[col]
    return torch.sparse_csr_tensor(crow, col, val, size=(n, n)), deg


adj, deg = to_csr(train_pos, num_nodes)
print("csr layout", adj.layout, "nnz", adj.values().numel())
print("crow head", adj.crow_indices()[:6].tolist())
print("degree max/min", int(deg.max().item()), int(deg.min().item()))
dense_check = adj.to_dense()
print("symmetric", torch.allclose(dense_check, dense_check.t()))
print("row sums", [round(v, 4) for v in dense_check.sum(1)[:4].tolist()])


class GCNEncoder(nn.Module):
    def __init__(self, in_dim, hidden, out_dim):
        super().__init__()
        self.lin1 = nn.Linear(in_dim, hidden)
        self.lin2 = nn.Linear(hidden, out_dim)

    def forward(self, x, adj):
        h = F.relu(torch.sparse.mm(adj, self.lin1(x)))
        return torch.sparse.mm(adj, self.lin2(h))


def decode(z, edge_index):
    return (z[edge_index[0]] * z[edge_index[1]]).sum(dim=-1)


existing = torch.cat([edges, edges.flip(0)], dim=1)
existing_keys = existing[0] * num_nodes + existing[1]
sorted_keys, _ = torch.sort(existing_keys)


def negative_sampling(count, method):
    """Random node pairs that are neither self loops nor (known) edges."""
    src = torch.randint(0, num_nodes, (count * 2,))
    dst = torch.randint(0, num_nodes, (count * 2,))
    keys = src * num_nodes + dst
    if method == "isin":
        bad = torch.isin(keys, existing_keys)
    else:
        pos = torch.searchsorted(sorted_keys, keys).clamp(max=sorted_keys.numel() - 1)
        bad = sorted_keys[pos] == keys
    keep = (~bad) & (src != dst)
    return torch.stack([src[keep], dst[keep]])[:, :count]


neg_a = negative_sampling(50, "isin")
torch.manual_seed(11)
neg_b = negative_sampling(50, "searchsorted")
torch.manual_seed(11)
neg_c = negative_sampling(50, "isin")
print("negatives", neg_a.size(1), "methods agree", torch.equal(neg_b, neg_c))
print("no true edge sampled", not torch.isin(neg_a[0] * num_nodes + neg_a[1],
                                             existing_keys).any().item())


def roc_auc(scores, labels):
    """Area under the ROC curve by sorting scores (a stable sort: tied scores, e.g. repeated
    negative pairs, keep their order)."""
    order = torch.argsort(scores, descending=True, stable=True)
    y = labels[order]
    tps = torch.cumsum(y, 0)
    fps = torch.cumsum(1 - y, 0)
    tpr = torch.cat([torch.zeros(1), tps / tps[-1]])
    fpr = torch.cat([torch.zeros(1), fps / fps[-1]])
    return torch.trapezoid(tpr, fpr).item()


def average_precision(scores, labels):
    order = torch.argsort(scores, descending=True, stable=True)
    y = labels[order]
    precision = torch.cumsum(y, 0) / torch.arange(1, y.numel() + 1)
    return (precision * y).sum().item() / y.sum().item()


# heuristic baseline: common neighbours from the sparse training adjacency
A_train = torch.sparse_coo_tensor(torch.cat([train_pos, train_pos.flip(0)], dim=1),
                                  torch.ones(2 * train_pos.size(1)),
                                  (num_nodes, num_nodes)).coalesce()
A2 = torch.sparse.mm(A_train, A_train)
closed = A2 * A_train  # paths of length two that close a triangle
print("triangles", int(torch.sparse.sum(closed).item() / 6), "closed entries",
      closed._nnz(), closed.is_coalesced())
cn_neg = negative_sampling(n_test, "searchsorted")
A2_dense = A2.to_dense()
cn = torch.cat([A2_dense[test_pos[0], test_pos[1]], A2_dense[cn_neg[0], cn_neg[1]]])
cn = cn + 1e-3 * torch.rand(cn.numel())  # break ties between equal neighbour counts
cn_y = torch.cat([torch.ones(test_pos.size(1)), torch.zeros(cn_neg.size(1))])
print(f"common neighbours auc {roc_auc(cn, cn_y):.3f}")

x = torch.eye(num_nodes)  # featureless graph: one-hot node identities
model = GCNEncoder(num_nodes, 16, 8)
opt = torch.optim.Adam(model.parameters(), lr=0.02)
test_neg = negative_sampling(n_test, "searchsorted")
for epoch in range(60):
    model.train()
    opt.zero_grad()
    z = model(x, adj)
    neg = negative_sampling(train_pos.size(1), "isin")
    pos_out = decode(z, train_pos)
    neg_out = decode(z, neg)
    loss = (F.binary_cross_entropy_with_logits(pos_out, torch.ones_like(pos_out))
            + F.binary_cross_entropy_with_logits(neg_out, torch.zeros_like(neg_out)))
    loss.backward()
    opt.step()
    if epoch % 20 == 19:
        model.eval()
        with torch.no_grad():
            z = model(x, adj)
            # logits, not probabilities: sigmoid saturates to exactly 1.0 and ties pairs
            scores = torch.cat([decode(z, test_pos), decode(z, test_neg)])
            y = torch.cat([torch.ones(test_pos.size(1)), torch.zeros(test_neg.size(1))])
            print(f"epoch {epoch + 1} loss {loss.item():.3f} auc {roc_auc(scores, y):.3f} "
                  f"ap {average_precision(scores, y):.3f}")

with torch.no_grad():
    z = model(x, adj)
    prob_all = torch.sigmoid(z @ z.t())
    same_block = prob_all[same].mean().item()
    cross_block = prob_all[~same].mean().item()
    print("mean link prob same/cross", round(same_block, 2), round(cross_block, 2))
    top = torch.topk(prob_all.masked_fill(torch.eye(num_nodes, dtype=torch.bool), 0)
                     .triu(1).flatten(), 5).indices
    print("top predicted pairs in same block",
          (block[top // num_nodes] == block[top % num_nodes]).tolist())
