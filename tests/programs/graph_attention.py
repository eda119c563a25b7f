"""A graph attention network (Velickovic et al., as in pyGAT) on a dense adjacency matrix:
shared linear map, attention logits from [Wh_i || Wh_j] through leaky_relu, non-edges masked
with -inf before a softmax over each node's neighbours, ELU, multi-head concatenation and an
averaged output head, trained with Adam and early stopping on validation loss."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

# three communities of 10 nodes; edges mostly inside a community
rng = np.random.default_rng(7)
n_nodes, n_classes, n_feat = 30, 3, 8
labels_np = np.repeat(np.arange(n_classes), n_nodes // n_classes)
adj_np = np.zeros((n_nodes, n_nodes), dtype=np.float32)
for i in range(n_nodes):
    for j in range(i + 1, n_nodes):
        p = 0.35 if labels_np[i] == labels_np[j] else 0.03
        if rng.random() < p:
            adj_np[i, j] = adj_np[j, i] = 1.0
features_np = rng.normal(size=(n_nodes, n_feat)).astype(np.float32)
features_np[np.arange(n_nodes), labels_np] += 1.0

adj = torch.from_numpy(adj_np) + torch.eye(n_nodes)  # self-loops: a node attends to itself
features = torch.from_numpy(features_np)
# row-normalize the features, as pyGAT's load_data does
rowsum = features.abs().sum(1, keepdim=True)
features = features / rowsum.clamp(min=1e-12)
labels = torch.from_numpy(labels_np).long()
idx_train = torch.LongTensor([0, 1, 2, 10, 11, 12, 20, 21, 22])
idx_val = torch.LongTensor(range(3, 6)).tolist() + [13, 14, 15, 23, 24, 25]
idx_val = torch.LongTensor(idx_val)
idx_test = torch.cat([torch.arange(6, 10), torch.arange(16, 20), torch.arange(26, 30)])
print("nodes {} edges {} degree min/max {}/{}".format(
    n_nodes, int(adj_np.sum() // 2), int(adj.sum(1).min()), int(adj.sum(1).max())))


class GraphAttentionLayer(nn.Module):
    """
    Simple GAT layer, similar to https://arxiv.org/abs/1710.10903
    """
    def __init__(self, in_features, out_features, dropout, alpha, concat=True):
        super(GraphAttentionLayer, self).__init__()
        self.dropout = dropout
        self.in_features = in_features
        self.out_features = out_features
        self.alpha = alpha
        self.concat = concat

        self.W = nn.Parameter(torch.empty(size=(in_features, out_features)))
        self.a = nn.Parameter(torch.empty(size=(2 * out_features, 1)))

    def forward(self, h, adj, return_attention=False):
        Wh = torch.mm(h, self.W)  # h.shape: (N, in_features), Wh.shape: (N, out_features)
        e = self._prepare_attentional_mechanism_input(Wh)

        attention = e.masked_fill(adj == 0, float("-inf"))
        attention = F.softmax(attention, dim=1)
        attention = F.dropout(attention, self.dropout, training=self.training)
        h_prime = torch.matmul(attention, Wh)
        if return_attention:
            return attention

        if self.concat:
            return F.elu(h_prime)
        else:
            return h_prime

    def _prepare_attentional_mechanism_input(self, Wh):
        # Wh.shape (N, out_feature)
        # self.a.shape (2 * out_feature, 1)
        # Wh1&2.shape (N, 1)
        # e.shape (N, N)
        Wh1 = torch.matmul(Wh, self.a[:self.out_features, :])
        Wh2 = torch.matmul(Wh, self.a[self.out_features:, :])
        # broadcast add
        e = Wh1 + Wh2.T
        return F.leaky_relu(e, negative_slope=self.alpha)

    def __repr__(self):
        return self.__class__.__name__ + ' (' + str(self.in_features) + ' -> ' + \
            str(self.out_features) + ')'


class GAT(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout, alpha, nheads):
        """Dense version of GAT."""
        super(GAT, self).__init__()
        self.dropout = dropout

        self.attentions = [GraphAttentionLayer(nfeat, nhid, dropout=dropout, alpha=alpha,
                                               concat=True) for _ in range(nheads)]
        for i, attention in enumerate(self.attentions):
            self.add_module('attention_{}'.format(i), attention)

        self.out_att = GraphAttentionLayer(nhid * nheads, nclass, dropout=dropout,
                                           alpha=alpha, concat=False)

    def forward(self, x, adj):
        x = F.dropout(x, self.dropout, training=self.training)
        x = torch.cat([att(x, adj) for att in self.attentions], dim=1)
        x = F.dropout(x, self.dropout, training=self.training)
        x = F.elu(self.out_att(x, adj))
        return F.log_softmax(x, dim=1)


def accuracy(output, labels):
    preds = output.max(1)[1].type_as(labels)
    correct = preds.eq(labels).double()
    correct = correct.sum()
    return correct / len(labels)


# dropout 0: torch's and ember's dropout masks come from different generators
model = GAT(nfeat=n_feat, nhid=4, nclass=n_classes, dropout=0.0, alpha=0.2, nheads=3)
with torch.no_grad():
    # nn.init.xavier_uniform_(..., gain=1.414) in pyGAT; here the same bounds, fixed draws
    for name, p in model.named_parameters():
        fan_in, fan_out = p.shape[0], p.shape[1]
        bound = 1.414 * (6.0 / (fan_in + fan_out)) ** 0.5
        p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()),
      [name for name, _ in model.named_parameters()][:4])
optimizer = optim.Adam(model.parameters(), lr=0.02, weight_decay=5e-4)


def train(epoch):
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
    if epoch % 10 == 0:
        print('Epoch: {:04d}'.format(epoch + 1),
              'loss_train: {:.4f}'.format(loss_train.data.item()),
              'acc_train: {:.4f}'.format(acc_train.data.item()),
              'loss_val: {:.4f}'.format(loss_val.data.item()),
              'acc_val: {:.4f}'.format(acc_val.data.item()))
    return loss_val.data.item()


# Train model
loss_values = []
bad_counter = 0
best = float("inf")
best_epoch = 0
patience = 15
best_state = None
for epoch in range(80):
    loss_values.append(train(epoch))
    if loss_values[-1] < best:
        best = loss_values[-1]
        best_epoch = epoch
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
        bad_counter = 0
    else:
        bad_counter += 1
    if bad_counter == patience:
        break
print("Optimization Finished! stopped at epoch {}, best epoch {} (val loss {:.4f})".format(
    epoch + 1, best_epoch + 1, best))

# Restore best model
model.load_state_dict(best_state)


def compute_test():
    model.eval()
    output = model(features, adj)
    loss_test = F.nll_loss(output[idx_test], labels[idx_test])
    acc_test = accuracy(output[idx_test], labels[idx_test])
    print("Test set results:",
          "loss= {:.4f}".format(loss_test.item()),
          "accuracy= {:.4f}".format(acc_test.item()))
    return output


output = compute_test()
print("predicted classes:", output.argmax(1).tolist())

# attention of the first head: rows sum to one, non-neighbours get exactly zero
with torch.no_grad():
    att = model.attention_0(features, adj, return_attention=True)
print("attention rows sum to 1:", torch.allclose(att.sum(1), torch.ones(n_nodes)))
print("zero outside the graph:", bool((att[adj == 0] == 0).all()))
node = 0
nbrs = adj[node].nonzero().flatten()
print("node {} attends to {}:".format(node, nbrs.tolist()),
      [round(w, 3) for w in att[node, nbrs].tolist()])
top_w, top_j = att.topk(2, dim=1)
print("strongest neighbour of nodes 0-5:", top_j[:6, 0].tolist(),
      [round(w, 3) for w in top_w[:6, 0].tolist()])
# the -9e15 trick of the original code gives the same attention as masked_fill(-inf)
layer = model.attention_0
with torch.no_grad():
    Wh = torch.mm(features, layer.W)
    e = layer._prepare_attentional_mechanism_input(Wh)
    zero_vec = -9e15 * torch.ones_like(e)
    att2 = F.softmax(torch.where(adj > 0, e, zero_vec), dim=1)
print("where(-9e15) matches masked_fill(-inf):", torch.allclose(att, att2, atol=1e-6))
