"""Checkpoint utilities seen in large-model code: averaging the last checkpoints (fairseq-style),
an EMA copy, meta-device construction loaded with assign=True, extra state, non-persistent
buffers, storage sharing across save/load, and flattening parameters to one vector."""
import copy
import io

import torch
import torch.nn as nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters


class Block(nn.Module):
    def __init__(self, d=6):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.ff = nn.Linear(d, d)
        self.register_buffer("step_count", torch.zeros((), dtype=torch.long))
        self.register_buffer("cache", torch.zeros(d), persistent=False)
        self.vocab = ["<pad>", "a", "b"]

    def forward(self, x):
        self.step_count += 1
        return x + torch.tanh(self.ff(self.norm(x)))

    def get_extra_state(self):
        return {"vocab": list(self.vocab)}

    def set_extra_state(self, state):
        self.vocab = state["vocab"]


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 6)
        self.blocks = nn.ModuleList([Block(), Block()])
        self.head = nn.Linear(6, 10, bias=False)
        self.head.weight = self.emb.weight  # tied weights

    def forward(self, idx):
        x = self.emb(idx)
        for b in self.blocks:
            x = b(x)
        return self.head(x)


torch.manual_seed(0)
model = Model()
print("state_dict keys:", list(model.state_dict()))
print("cache persistent:", "blocks.0.cache" in model.state_dict())
print("extra state:", model.state_dict()["blocks.0._extra_state"])
print("tied in state_dict:", model.state_dict()["head.weight"] is not None,
      model.state_dict()["head.weight"].data_ptr() == model.state_dict()["emb.weight"].data_ptr())

opt = torch.optim.Adam(model.parameters(), lr=0.05)
ema = copy.deepcopy(model).requires_grad_(False)
idx = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
target = torch.tensor([[2, 3, 4, 5], [6, 7, 8, 9]])
snapshots = []
for step in range(6):
    loss = nn.functional.cross_entropy(model(idx).flatten(0, 1), target.flatten())
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():  # exponential moving average of the weights
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm, 0.1)
        for be, bm in zip(ema.buffers(), model.buffers()):
            be.copy_(bm)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "step": step}, buf)
    snapshots.append(buf.getvalue())
    print(f"step {step} loss {loss.item():.4f}")

# average the last 3 checkpoints: floating tensors averaged, the rest taken from the newest
loaded = [torch.load(io.BytesIO(b), weights_only=False)["model"] for b in snapshots[-3:]]
averaged = {}
for key, value in loaded[-1].items():
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        averaged[key] = torch.stack([sd[key] for sd in loaded]).mean(0)
    else:
        averaged[key] = value
avg_model = Model()
print(avg_model.load_state_dict(averaged))
print("step_count:", avg_model.blocks[0].step_count, "vocab:", avg_model.blocks[1].vocab)
with torch.no_grad():
    for name, m in [("last", model), ("averaged", avg_model), ("ema", ema)]:
        loss = nn.functional.cross_entropy(m(idx).flatten(0, 1), target.flatten())
        print(f"{name:8s} loss {loss.item():.4f}")

# storage sharing survives a round trip: the tied weights stay one tensor's storage
buf = io.BytesIO()
shared = torch.arange(6.0)
torch.save({"a": shared, "b": shared[2:5], "c": shared.view(2, 3).t()}, buf)
buf.seek(0)
back = torch.load(buf, weights_only=True)
back["b"].mul_(10)
print("a after writing through b:", back["a"])
print("c:", back["c"], back["c"].stride(), back["c"].is_contiguous())

# build on the meta device (no memory, no init cost), then load real weights with assign=True
with torch.device("meta"):
    lazy = Model()
print("meta param:", lazy.blocks[0].ff.weight.device, lazy.blocks[0].ff.weight.shape)
# shapes only: map_location="meta" reads the structure of a checkpoint without its data
buf = io.BytesIO(snapshots[-1])
shapes = torch.load(buf, map_location="meta", weights_only=False)["model"]
print("meta load:", {k: (str(v.device), tuple(v.shape)) for k, v in shapes.items()
                     if k.endswith("weight")})
result = lazy.load_state_dict(model.state_dict(), assign=True)
print(result, "device now:", lazy.blocks[0].ff.weight.device)
print("non-persistent buffer still meta:", lazy.blocks[0].cache.device)
lazy.blocks[0].cache = torch.zeros(6)
lazy.blocks[1].cache = torch.zeros(6)
print("tie kept:", lazy.head.weight is lazy.emb.weight)
print("same output:", torch.equal(lazy(idx), model(idx)))
empty = copy.deepcopy(nn.Linear(3, 2).to("meta")).to_empty(device="cpu")
print("to_empty:", empty.weight.shape, empty.weight.device)

# one flat vector of parameters (e.g. for line search or a checkpoint diff)
vec = parameters_to_vector(model.parameters())
print("num parameters:", vec.numel(), sum(p.numel() for p in model.parameters()))
vector_to_parameters(torch.zeros_like(vec), avg_model.parameters())
print("zeroed:", all(bool((p == 0).all()) for p in avg_model.parameters()))
try:
    vector_to_parameters(vec[:-1], avg_model.parameters())
except RuntimeError as e:
    print("RuntimeError:", e)
