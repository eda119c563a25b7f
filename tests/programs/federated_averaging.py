"""Federated averaging (FedAvg, McMahan et al.) as shaoxiongji/federated-learning and
AshwinRJ/Federated-Learning-PyTorch write it: a global model copied to each client with
copy.deepcopy, local epochs of SGD on a non-IID shard (a DataLoader over a Subset of a
TensorDataset), then the server averages the clients' state_dicts weighted by their sample
counts (torch.stack over the clients, integer buffers such as BatchNorm's num_batches_tracked
kept integral), load_state_dict back into the global model; FedProx's proximal term, a
server-side momentum on the averaged update (FedAvgM) and the clients' drift measured with
torch.nn.utils.parameters_to_vector."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.utils.data import DataLoader, Subset, TensorDataset

torch.manual_seed(0)
NUM_CLIENTS, ROUNDS, LOCAL_EPOCHS = 4, 5, 2

# a 4-class problem in 6 features; each client mostly sees two classes (non-IID)
centers = torch.randn(4, 6) * 2.0
y_all = torch.randint(0, 4, (400,))
x_all = centers[y_all] + torch.randn(400, 6)
train = TensorDataset(x_all[:320], y_all[:320])
x_test, y_test = x_all[320:], y_all[320:]

train_labels = y_all[:320]
client_idx = []
for c in range(NUM_CLIENTS):
    favoured = (train_labels == c) | (train_labels == (c + 1) % 4)
    idx = torch.nonzero(favoured).flatten()
    keep = idx[torch.randperm(len(idx))[: 30 + 10 * c]]
    client_idx.append(keep.tolist())
print("client sizes:", [len(i) for i in client_idx])
print("client label counts:", [torch.bincount(train_labels[i], minlength=4).tolist()
                               for i in client_idx])


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer_input = nn.Linear(6, 16)
        self.bn = nn.BatchNorm1d(16)
        self.dropout = nn.Dropout(0.1)
        self.layer_hidden = nn.Linear(16, 4)

    def forward(self, x):
        x = self.dropout(F.relu(self.bn(self.layer_input(x))))
        return self.layer_hidden(x)


class LocalUpdate:
    def __init__(self, dataset, idxs, mu=0.0):
        self.loader = DataLoader(Subset(dataset, idxs), batch_size=10, shuffle=True,
                                 drop_last=True)
        self.mu = mu

    def train(self, net):
        global_params = [p.detach().clone() for p in net.parameters()]
        net.train()
        optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.5)
        epoch_loss = []
        for _ in range(LOCAL_EPOCHS):
            batch_loss = []
            for images, labels in self.loader:
                net.zero_grad()
                loss = F.cross_entropy(net(images), labels)
                if self.mu > 0:
                    prox = sum(((w - w0) ** 2).sum()
                               for w, w0 in zip(net.parameters(), global_params))
                    loss = loss + self.mu / 2 * prox
                loss.backward()
                optimizer.step()
                batch_loss.append(loss.item())
            epoch_loss.append(sum(batch_loss) / len(batch_loss))
        return net.state_dict(), sum(epoch_loss) / len(epoch_loss)


def fed_avg(states, weights):
    total = float(sum(weights))
    w = torch.tensor(weights, dtype=torch.float32) / total
    avg = copy.deepcopy(states[0])
    for key in avg.keys():
        stacked = torch.stack([s[key].float() for s in states])
        mixed = (stacked * w.view(-1, *([1] * (stacked.dim() - 1)))).sum(0)
        if states[0][key].dtype == torch.long:
            mixed = mixed.round().long()
        avg[key] = mixed
    return avg


def test(net):
    net.eval()
    with torch.no_grad():
        out = net(x_test)
        loss = F.cross_entropy(out, y_test, reduction="sum").item() / len(y_test)
        acc = out.argmax(dim=1).eq(y_test).sum().item() / len(y_test)
    return loss, acc


for algo, mu, server_momentum in [("FedAvg", 0.0, 0.0), ("FedProx", 0.1, 0.0),
                                   ("FedAvgM", 0.0, 0.5)]:
    torch.manual_seed(1)
    net_glob = MLP()
    velocity = None
    for rnd in range(ROUNDS):
        w_locals, loss_locals, drift = [], [], []
        g_vec = parameters_to_vector(net_glob.parameters()).detach()
        for c in range(NUM_CLIENTS):
            local = LocalUpdate(train, client_idx[c], mu=mu)
            w, loss = local.train(copy.deepcopy(net_glob))
            w_locals.append(copy.deepcopy(w))
            loss_locals.append(loss)
            client_net = MLP()
            client_net.load_state_dict(w)
            drift.append((parameters_to_vector(client_net.parameters()) - g_vec).norm().item())
        w_avg = fed_avg(w_locals, [len(i) for i in client_idx])
        if server_momentum > 0:
            avg_net = MLP()
            avg_net.load_state_dict(w_avg)
            delta = g_vec - parameters_to_vector(avg_net.parameters()).detach()
            velocity = delta if velocity is None else server_momentum * velocity + delta
            vector_to_parameters(g_vec - velocity, avg_net.parameters())
            w_avg = avg_net.state_dict()
        missing = net_glob.load_state_dict(w_avg)
        t_loss, t_acc = test(net_glob)
        print(f"{algo} round {rnd} local loss {sum(loss_locals) / len(loss_locals):.4f} "
              f"drift {max(drift):.3f} test loss {t_loss:.4f} acc {t_acc:.3f}")
    print(algo, "load result:", missing,
          "batches tracked:", net_glob.bn.num_batches_tracked.item(),
          net_glob.bn.num_batches_tracked.dtype)
