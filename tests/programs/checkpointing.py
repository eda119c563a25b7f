"""Saving and loading: state_dict, a general checkpoint with the optimizer, resume, whole model."""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def fill_(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            v = np.sin(np.arange(p.numel()) * (0.53 + 0.07 * i)).astype(np.float32) * 0.1
            p.copy_(torch.from_numpy(v.reshape(tuple(p.shape))))


rng = np.random.default_rng(0)
inputs = torch.tensor(rng.standard_normal((8, 3, 32, 32)).astype(np.float32))
labels = torch.tensor(rng.integers(0, 10, 8))

net = Net()
fill_(net)
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
criterion = nn.CrossEntropyLoss()

print("Model's state_dict:")
for param_tensor in net.state_dict():
    print(param_tensor, "\t", net.state_dict()[param_tensor].size())


def train_steps(model, opt, n):
    for _ in range(n):
        opt.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        opt.step()
    return loss.item()


loss = train_steps(net, optimizer, 3)
print("Optimizer's state_dict:")
sd = optimizer.state_dict()
print(sorted(sd), sorted(sd["state"]), sorted(sd["state"][0]), sd["param_groups"][0]["params"])
print(sd["param_groups"][0]["lr"], sd["param_groups"][0]["momentum"])

PATH = "model.pt"
EPOCH = 3
torch.save({
    "epoch": EPOCH,
    "model_state_dict": net.state_dict(),
    "optimizer_state_dict": optimizer.state_dict(),
    "loss": loss,
}, PATH)

# keep training the original, and resume a fresh copy from the checkpoint: same numbers
cont = train_steps(net, optimizer, 2)
model = Net()
optimizer2 = optim.SGD(model.parameters(), lr=0.5, momentum=0.1)
checkpoint = torch.load(PATH, weights_only=True)
model.load_state_dict(checkpoint["model_state_dict"])
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
epoch = checkpoint["epoch"]
print(epoch, round(checkpoint["loss"], 4), type(checkpoint["loss"]).__name__)
print(optimizer2.param_groups[0]["lr"], optimizer2.param_groups[0]["momentum"])
model.train()
resumed = train_steps(model, optimizer2, 2)
print(f"continued {cont:.5f} resumed {resumed:.5f}",
      torch.allclose(net.fc2.weight, model.fc2.weight, atol=1e-6))

# save/load only the state dict, into a model on the "device"
torch.save(net.state_dict(), "weights.pth")
device = torch.device("cpu")
m2 = Net()
result = m2.load_state_dict(torch.load("weights.pth", map_location=device, weights_only=True))
print(result, m2.fc1.weight.device)
m2.eval()
with torch.no_grad():
    print(m2(inputs).argmax(1), torch.equal(m2(inputs), net(inputs)))

# strict=False: a model that adds a layer reports it
class Bigger(Net):
    def __init__(self):
        super().__init__()
        self.fc3 = nn.Linear(10, 2)


res = Bigger().load_state_dict(torch.load("weights.pth", weights_only=True), strict=False)
print(res.missing_keys, res.unexpected_keys)
try:
    Bigger().load_state_dict(torch.load("weights.pth", weights_only=True))
except RuntimeError as err:
    print(str(err).splitlines()[0])
    print(str(err).splitlines()[1].strip())

# whole-model save needs weights_only=False
torch.save(net, "whole.pt")
whole = torch.load("whole.pt", weights_only=False)
print(type(whole).__name__, torch.equal(whole.conv1.weight, net.conv1.weight))

# tensors keep views, dtypes and sharing through save/load
base = torch.arange(10, dtype=torch.int16)
torch.save({"base": base, "view": base[2:5], "f": torch.tensor([1.5], dtype=torch.float64)},
           "tensors.pt")
loaded = torch.load("tensors.pt")
loaded["view"][0] = 100
print(loaded["base"], loaded["view"].dtype, loaded["f"])
print(sorted(os.listdir(".")))
