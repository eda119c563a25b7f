"""Federated averaging as the FedAvg/FedProx reference implementations write it: a global model
is ``copy.deepcopy``-ed to simulated clients with non-IID (Dirichlet) label splits, each client
trains locally with SGD (FedProx adds the proximal term ``mu/2 * ||w - w_global||^2`` summed over
``parameters()``), the server samples clients each round with ``torch.randperm(generator=...)``,
and averages the clients' ``state_dict``s weighted by sample counts with
``torch.stack(...).mean(0)``/weighted sums, keeping integer buffers (BatchNorm's
``num_batches_tracked``) by taking them from the first client. Also: ``load_state_dict(strict=
False)`` reporting missing/unexpected keys, ``Subset``/``DataLoader`` per client, an
``OrderedDict`` state, ``parameters_to_vector`` for the client drift norm."""
import copy
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector
from torch.utils.data import DataLoader, Subset, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)

n_classes, dim, n = 4, 8, 480
centers = rng.normal(0, 2.0, size=(n_classes, dim))
labels = rng.integers(0, n_classes, size=n)
feats = centers[labels] + rng.normal(0, 1.0, size=(n, dim))
dataset = TensorDataset(torch.tensor(feats, dtype=torch.float32), torch.from_numpy(labels))
test_x = torch.tensor(centers[np.arange(80) % n_classes] + rng.normal(0, 1.0, size=(80, dim)),
                      dtype=torch.float32)
test_y = torch.arange(80) % n_classes

# non-IID split: Dirichlet proportions per class
n_clients = 6
client_idx = [[] for _ in range(n_clients)]
for c in range(n_classes):
    idx = np.where(labels == c)[0]
    rng.shuffle(idx)
    props = rng.dirichlet(np.full(n_clients, 0.5))
    cuts = (np.cumsum(props) * len(idx)).astype(int)[:-1]
    for k, part in enumerate(np.split(idx, cuts)):
        client_idx[k].extend(part.tolist())
clients = [Subset(dataset, sorted(ix)) for ix in client_idx]
print("client sizes", [len(c) for c in clients])
print("client label counts", [torch.bincount(dataset.tensors[1][c.indices], minlength=n_classes)
                              .tolist() for c in clients])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(dim, 32)
        self.bn = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, n_classes)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


def evaluate(model):
    model.eval()
    with torch.no_grad():
        out = model(test_x)
        return F.cross_entropy(out, test_y).item(), (out.argmax(1) == test_y).float().mean().item()


def local_train(global_model, data, mu, epochs, gen):
    model = copy.deepcopy(global_model)
    model.train()
    global_params = [p.detach().clone() for p in global_model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    loader = DataLoader(data, batch_size=16, shuffle=True, generator=gen, drop_last=True)
    last = 0.0
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            if mu > 0:
                prox = sum((w - w0).pow(2).sum()
                           for w, w0 in zip(model.parameters(), global_params))
                loss = loss + mu / 2 * prox
            loss.backward()
            opt.step()
            last = loss.item()
    return model.state_dict(), len(data), last


def fed_average(states, weights):
    total = sum(weights)
    avg = OrderedDict()
    for key in states[0]:
        if states[0][key].dtype in (torch.int64, torch.long):
            avg[key] = states[0][key].clone()
            continue
        stacked = torch.stack([s[key].float() for s in states], 0)
        w = torch.tensor(weights, dtype=torch.float32).view(-1, *([1] * (stacked.dim() - 1)))
        avg[key] = (stacked * w).sum(0) / total
    return avg


def run(mu, rounds=5, per_round=3):
    torch.manual_seed(1)
    global_model = Net()
    gen = torch.Generator().manual_seed(2)
    history = []
    for r in range(rounds):
        chosen = torch.randperm(n_clients, generator=gen)[:per_round].sort().values.tolist()
        states, sizes, losses = [], [], []
        before = parameters_to_vector(global_model.parameters()).detach().clone()
        for k in chosen:
            sd, size, loss = local_train(global_model, clients[k], mu, 2, gen)
            states.append(sd)
            sizes.append(size)
            losses.append(round(loss, 3))
        new_state = fed_average(states, sizes)
        global_model.load_state_dict(new_state)
        drift = (parameters_to_vector(global_model.parameters()) - before).norm().item()
        tl, acc = evaluate(global_model)
        history.append((r, chosen, round(drift, 3), round(tl, 3), round(acc, 3)))
    return global_model, history


for mu in (0.0, 0.1):
    model, hist = run(mu)
    print(f"mu={mu}")
    for row in hist:
        print("  round", *row)

# plain mean of unweighted states equals torch.stack(...).mean(0)
s1, s2 = Net().state_dict(), Net().state_dict()
mean_w = torch.stack([s1["fc1.weight"], s2["fc1.weight"]]).mean(0)
print("mean check", torch.allclose(mean_w, (s1["fc1.weight"] + s2["fc1.weight"]) / 2))
print("buffer dtypes", {k: str(v.dtype) for k, v in s1.items() if not k.endswith("weight")})

# load_state_dict(strict=False): a head-only personalisation
partial = OrderedDict((k, v) for k, v in model.state_dict().items() if k.startswith("fc1"))
partial["extra.bias"] = torch.zeros(3)
result = Net().load_state_dict(partial, strict=False)
print("missing", result.missing_keys)
print("unexpected", result.unexpected_keys)
print(type(result).__name__, bool(result.missing_keys))
try:
    Net().load_state_dict(partial)
except RuntimeError as e:
    print("strict error", str(e).splitlines()[0])
print("num_batches_tracked", model.bn.num_batches_tracked.item())
