"""Default layer initialisation (reset_parameters) under a seed, and custom init via model.apply."""
import math

import torch
import torch.nn as nn


def summary(t):
    t = t.detach().float()
    if t.numel() == 1:
        return f"{t.item():.4f}"
    return f"mean={t.mean().item():+.4f} std={t.std().item():.4f} absmax={t.abs().max().item():.4f}"


layers = {
    "Linear": lambda: nn.Linear(20, 10),
    "Bilinear": lambda: nn.Bilinear(5, 6, 4),
    "Conv1d": lambda: nn.Conv1d(4, 8, 3),
    "Conv2d": lambda: nn.Conv2d(3, 16, 3, groups=1),
    "Conv2d groups": lambda: nn.Conv2d(8, 8, 3, groups=4),
    "Conv3d": lambda: nn.Conv3d(2, 4, 2),
    "ConvTranspose2d": lambda: nn.ConvTranspose2d(6, 3, 4, stride=2),
    "Embedding": lambda: nn.Embedding(30, 8, padding_idx=0),
    "EmbeddingBag": lambda: nn.EmbeddingBag(30, 8),
    "LSTM": lambda: nn.LSTM(6, 5, num_layers=2),
    "GRU": lambda: nn.GRU(6, 5, bidirectional=True),
    "RNN": lambda: nn.RNN(6, 5),
    "LSTMCell": lambda: nn.LSTMCell(6, 5),
    "BatchNorm1d": lambda: nn.BatchNorm1d(7),
    "LayerNorm": lambda: nn.LayerNorm(7),
    "GroupNorm": lambda: nn.GroupNorm(2, 8),
    "PReLU": lambda: nn.PReLU(3),
    "MultiheadAttention": lambda: nn.MultiheadAttention(8, 2),
    "MHA kdim": lambda: nn.MultiheadAttention(8, 2, kdim=6, vdim=4),
}

for name, make in layers.items():
    torch.manual_seed(0)
    layer = make()
    print(name)
    for pname, p in layer.named_parameters():
        print(f"  {pname:20s} {str(tuple(p.shape)):14s} {summary(p)}")
    # reset_parameters must reproduce the same values under the same seed
    before = [p.detach().clone() for p in layer.parameters()]
    torch.manual_seed(0)
    fresh = make()
    same = all(torch.equal(a, b) for a, b in zip(before, fresh.parameters()))
    print("  reproducible:", same)

emb = nn.Embedding(10, 4, padding_idx=3)
print("padding row zero:", emb.weight[3].tolist())
emb.reset_parameters()
print("padding row zero after reset:", emb.weight[3].tolist())

# The bound used by Linear's default init: kaiming_uniform_(a=sqrt(5)) -> 1/sqrt(fan_in)
torch.manual_seed(1)
lin = nn.Linear(50, 3)
print(f"weight bound {1 / math.sqrt(50):.4f} observed absmax {lin.weight.abs().max().item():.4f}")
print(f"bias   bound {1 / math.sqrt(50):.4f} observed absmax {lin.bias.abs().max().item():.4f}")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(8, 4))

    def forward(self, x):
        return self.head(self.pool(self.features(x)))


visited = []


def init_weights(m):
    """The classic torchvision ResNet-style init, applied children-first by Module.apply."""
    visited.append(type(m).__name__)
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0, 0.01)
        nn.init.zeros_(m.bias)


torch.manual_seed(0)
net = Net()
out = net.apply(init_weights)
print("apply returns the module:", out is net)
print("visit order:", visited)
for n, p in net.named_parameters():
    print(f"  {n:22s} {summary(p)}")

# zero-init the last BN gamma of the block (as in "Bag of Tricks"), via named_modules
for n, m in net.named_modules():
    if n == "features.4":
        nn.init.zeros_(m.weight)
print("features.4.weight", net.features[4].weight)

x = torch.randn(2, 3, 6, 6)
net.eval()
print("output", net(x))

# Initialising under no_grad inside a custom reset, including a slice of a parameter
torch.manual_seed(3)
lstm = nn.LSTM(4, 3)
with torch.no_grad():
    for n, p in lstm.named_parameters():
        if "weight_hh" in n:
            for i in range(4):
                nn.init.orthogonal_(p[i * 3:(i + 1) * 3])
        elif "bias" in n:
            p.zero_()
            p[3:6].fill_(1.0)  # forget-gate bias = 1
print("lstm bias_ih_l0", lstm.bias_ih_l0)
w = lstm.weight_hh_l0[:3]
print("orthogonal block", (w @ w.t()).round(decimals=4) + 0.0)  # +0.0: no signed zeros
print("weight_hh grad_fn is None:", lstm.weight_hh_l0.grad_fn is None)
