"""The "Saving and loading models" recipes that the checkpoint tutorial leaves out:
warmstarting a model from a different model's parameters (load_state_dict(strict=False) and
the missing / unexpected keys it returns, renaming keys, skipping shape mismatches), saving
several models in one file, whole-model pickling (weights_only=False), map_location forms,
and saving and loading across dtypes."""
import io
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

rng = np.random.default_rng(9)


def fill_(model):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(scale=0.2, size=tuple(p.shape))
                                     .astype(np.float32)))
    return model


class NetA(nn.Module):
    def __init__(self):
        super(NetA, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


# netB shares the convolutional trunk, has a new head and an extra batch norm
class NetB(nn.Module):
    def __init__(self):
        super(NetB, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.head = nn.Linear(84, 4)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.head(x)
        return x


netA = fill_(NetA())
netB = fill_(NetB())

# Save model A
PATH = "model.pt"
torch.save(netA.state_dict(), PATH)

# Load into model B: the keys that do not match are reported, not fatal
result = netB.load_state_dict(torch.load(PATH, weights_only=True), strict=False)
print(result)
print("missing:", result.missing_keys)
print("unexpected:", result.unexpected_keys)
print("conv1 warm-started:", torch.equal(netA.conv1.weight, netB.conv1.weight))

# strict loading names every problem at once
try:
    netB.load_state_dict(netA.state_dict())
except RuntimeError as e:
    print(type(e).__name__, e)

# a head of another size cannot be loaded even with strict=False: drop mismatched shapes
state = torch.load(PATH, weights_only=True)
state["head.weight"] = state.pop("fc3.weight")
state["head.bias"] = state.pop("fc3.bias")
try:
    netB.load_state_dict(state, strict=False)
except RuntimeError as e:
    print(e)
own = netB.state_dict()
compatible = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
skipped = sorted(set(state) - set(compatible))
print("loading {} tensors, skipping {}".format(len(compatible), skipped))
print(netB.load_state_dict(compatible, strict=False))

# fine-tune only the new parts
for name, p in netB.named_parameters():
    p.requires_grad = name.startswith(("bn2", "head"))
print("trainable:", [n for n, p in netB.named_parameters() if p.requires_grad])
optimizer = optim.SGD([p for p in netB.parameters() if p.requires_grad], lr=0.05, momentum=0.9)
x = torch.from_numpy(rng.normal(size=(16, 3, 32, 32)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 4, 16))
for step in range(5):
    optimizer.zero_grad()
    loss = F.cross_entropy(netB(x), y)
    loss.backward()
    optimizer.step()
    print("step {} loss {:.4f}".format(step, loss.item()))
print("frozen conv1 has no grad:", netB.conv1.weight.grad is None,
      "still equal to A:", torch.equal(netA.conv1.weight, netB.conv1.weight))

# Saving multiple models in one file
optimizerA = optim.SGD(netA.parameters(), lr=0.001, momentum=0.9)
torch.save({
    'modelA_state_dict': netA.state_dict(),
    'modelB_state_dict': netB.state_dict(),
    'optimizerA_state_dict': optimizerA.state_dict(),
    'optimizerB_state_dict': optimizer.state_dict(),
}, "models.tar")
checkpoint = torch.load("models.tar", weights_only=True)
modelA, modelB = NetA(), NetB()
print(modelA.load_state_dict(checkpoint['modelA_state_dict']),
      modelB.load_state_dict(checkpoint['modelB_state_dict']))
for name, p in modelB.named_parameters():
    p.requires_grad = name.startswith(("bn2", "head"))
optimB = optim.SGD([p for p in modelB.parameters() if p.requires_grad], lr=0.05, momentum=0.9)
optimB.load_state_dict(checkpoint['optimizerB_state_dict'])
print("optimizer B state:", len(optimB.state), "buffers; lr",
      optimB.param_groups[0]['lr'], "bn running mean restored:",
      torch.equal(modelB.bn2.running_mean, netB.bn2.running_mean),
      modelB.bn2.num_batches_tracked.item())
modelA.eval()
modelB.eval()
netB.eval()
print("same outputs:", torch.allclose(modelB(x), netB(x)))

# Save/load the entire model: pickles the class by reference
torch.save(netA, "whole.pt")
try:
    torch.load("whole.pt", weights_only=True)
except Exception as e:
    print("weights_only refuses a whole module:", type(e).__name__)
model = torch.load("whole.pt", weights_only=False)
model.eval()
print(type(model).__name__, model.fc3)

# map_location forms all give CPU tensors here
buffer = io.BytesIO()
torch.save(netA.state_dict(), buffer)
for loc in ["cpu", torch.device("cpu"), lambda storage, loc: storage, {"cuda:0": "cpu"}]:
    buffer.seek(0)
    sd = torch.load(buffer, map_location=loc, weights_only=True)
    print(type(loc).__name__, sd["fc3.bias"].device, sd["fc3.bias"].dtype)

# save in half precision, load back into a float model
half_state = {k: v.half() for k, v in netA.state_dict().items()}
torch.save(half_state, "half.pt")
model = NetA()
model.load_state_dict(torch.load("half.pt", weights_only=True))
print("dtype after loading fp16 weights:", model.fc3.weight.dtype,
      "max error {:.1e}".format((model.fc3.weight - netA.fc3.weight).abs().max().item()))
model.to(torch.float64)
print("float64 model:", model.fc3.weight.dtype, model(x.double()).dtype)
print("file sizes:", {f: os.path.getsize(f) > 0 for f in sorted(os.listdir(".")) if
                      f.endswith((".pt", ".tar"))})
