"""A graph convolutional network (Kipf & Welling, as in pygcn) with a sparse normalized
adjacency: torch.sparse_coo_tensor, torch.spmm / torch.sparse.mm, Adam with weight decay."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.nn.modules.module import Module
from torch.nn.parameter import Parameter

# two communities of 12 nodes, dense inside, one bridge between them
rng = np.random.default_rng(4)
n = 24
labels_np = np.array([0] * 12 + [1] * 12)
edges = []
for i in range(n):
    for j in range(i + 1, n):
        same = labels_np[i] == labels_np[j]
        if rng.random() < (0.4 if same else 0.02):
            edges.append((i, j))
edges = np.array(edges + [(5, 17)])
features_np = rng.random((n, 6)).astype(np.float32)
features_np[:, 0] += labels_np * 0.3
print(f"{n} nodes, {len(edges)} edges")

# symmetric adjacency with self-loops, normalized D^-1/2 (A + I) D^-1/2
rows = np.concatenate([edges[:, 0], edges[:, 1], np.arange(n)])
cols = np.concatenate([edges[:, 1], edges[:, 0], np.arange(n)])
deg = np.bincount(rows, minlength=n).astype(np.float32)
vals = 1.0 / np.sqrt(deg[rows] * deg[cols])
indices = torch.from_numpy(np.vstack((rows, cols)).astype(np.int64))
values = torch.from_numpy(vals.astype(np.float32))
adj = torch.sparse_coo_tensor(indices, values, torch.Size([n, n]))
print(adj.is_sparse, adj.layout, adj.shape, adj._nnz(), adj.is_coalesced())
adj = adj.coalesce()
print(adj.is_coalesced(), adj.indices().shape, f"{adj.values().sum().item():.4f}")
print(torch.allclose(adj.to_dense(), adj.to_dense().t()))

features = torch.FloatTensor(features_np)
features = features / features.sum(1, keepdim=True)  # row-normalize
labels = torch.LongTensor(labels_np)
idx_train = torch.LongTensor([0, 1, 2, 12, 13, 14])
idx_val = torch.LongTensor([3, 4, 15, 16])
idx_test = torch.LongTensor(list(range(5, 12)) + list(range(17, 24)))


class GraphConvolution(Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(torch.FloatTensor(in_features, out_features))
        if bias:
            self.bias = Parameter(torch.FloatTensor(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.weight.size(1))
        # uniform_(-stdv, stdv) in pygcn; a fixed pattern here
        idx = torch.arange(self.weight.numel(), dtype=torch.float32)
        self.weight.data = (torch.sin(idx * 2.3) * stdv).view(self.in_features,
                                                              self.out_features)
        if self.bias is not None:
            self.bias.data.fill_(0.01)

    def forward(self, input, adj):
        support = torch.mm(input, self.weight)
        output = torch.spmm(adj, support)
        if self.bias is not None:
            return output + self.bias
        return output

    def __repr__(self):
        return (self.__class__.__name__ + " (" + str(self.in_features) + " -> "
                + str(self.out_features) + ")")


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout):
        super().__init__()
        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        x = self.gc2(x, adj)
        return F.log_softmax(x, dim=1)


def accuracy(output, labels):
    preds = output.max(1)[1].type_as(labels)
    correct = preds.eq(labels).double()
    correct = correct.sum()
    return correct / len(labels)


model = GCN(nfeat=features.shape[1], nhid=16, nclass=int(labels.max()) + 1, dropout=0.0)
print(model)
optimizer = optim.Adam(model.parameters(), lr=0.05, weight_decay=5e-4)
for epoch in range(30):
    model.train()
    optimizer.zero_grad()
    output = model(features, adj)
    loss_train = F.nll_loss(output[idx_train], labels[idx_train])
    acc_train = accuracy(output[idx_train], labels[idx_train])
    loss_train.backward()
    optimizer.step()
    model.eval()
    output = model(features, adj)
    loss_val = F.nll_loss(output[idx_val], labels[idx_val])
    acc_val = accuracy(output[idx_val], labels[idx_val])
    if epoch % 6 == 5:
        print(f"Epoch: {epoch + 1:04d} loss_train: {loss_train.item():.4f} "
              f"acc_train: {acc_train.item():.4f} loss_val: {loss_val.item():.4f} "
              f"acc_val: {acc_val.item():.4f}")

model.eval()
output = model(features, adj)
loss_test = F.nll_loss(output[idx_test], labels[idx_test])
acc_test = accuracy(output[idx_test], labels[idx_test])
print("Test set results:", f"loss= {loss_test.item():.4f}", f"accuracy= {acc_test.item():.4f}")

# gradients reach the sparse values through torch.sparse.mm
vals = adj.values().clone().requires_grad_(True)
a2 = torch.sparse_coo_tensor(adj.indices(), vals, adj.shape)
out = torch.sparse.mm(a2, features).sum()
out.backward()
print(vals.grad.shape, f"{vals.grad.sum().item():.4f}", f"{out.item():.4f}")
dense = features.clone().requires_grad_(True)
(adj @ dense).pow(2).sum().backward()
print(dense.grad.shape, f"{dense.grad.abs().sum().item():.4f}")
print(features.to_sparse().is_sparse, torch.eye(3).to_sparse()._nnz())
