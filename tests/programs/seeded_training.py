"""A seeded training run written the way most tutorials are, relying on torch's random
generator for everything: default layer initialisation, synthetic data from torch.rand,
random_split, a shuffling DataLoader, dropout and an index permutation. With the same seed,
every number printed must be PyTorch's."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(42)

# two noisy classes in 8 dimensions
n = 600
x = torch.rand(n, 8)
w_true = torch.rand(8) - 0.5
y = ((x - 0.5) @ w_true + 0.1 * (torch.rand(n) - 0.5) > 0).long()
print("class balance:", y.float().mean().item())

train_set, val_set = random_split(TensorDataset(x, y), [0.8, 0.2])
print("split sizes:", len(train_set), len(val_set), "first val indices:", val_set.indices[:5])
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=64)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 32)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))


model = Net()
print("initial fc1 weight sum: %.4f" % model.fc1.weight.sum().item())
print("initial fc2 bias:", [round(v, 6) for v in model.fc2.bias.tolist()])
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

for epoch in range(4):
    model.train()
    total = 0.0
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in val_loader:
            correct += (model(xb).argmax(1) == yb).sum().item()
    print(f"epoch {epoch}: train loss {total / len(train_set):.4f}  "
          f"val acc {correct / len(val_set):.3f}")

perm = torch.randperm(10)
print("a permutation:", perm.tolist())
print("a few draws:", [round(v, 4) for v in torch.randn(3).tolist()],
      torch.randint(0, 100, (4,)).tolist())
