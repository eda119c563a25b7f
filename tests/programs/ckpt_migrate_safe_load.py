"""Loading old checkpoints into a changed model: strict=False, key renaming, state-dict hooks,
map_location, weights_only=True with add_safe_globals, and optimizer param-group mismatches."""
import collections
import io
import os
import tempfile

import torch
import torch.nn as nn


class OldNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


class NewNet(nn.Module):
    """The same network, refactored: a `stem` block, a renamed head and an extra projection."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
        self.classifier = nn.Linear(4, 2)
        self.proj = nn.Linear(4, 4)
        self.register_buffer("temperature", torch.tensor(1.0))

    def forward(self, x):
        return self.classifier(self.stem(x).mean((2, 3))) / self.temperature


torch.manual_seed(0)
old = OldNet()
x = torch.randn(2, 1, 6, 6)
old.train()
old(x)  # update BN running stats
old.eval()
ref = old(x)
sd = old.state_dict()
print("old keys:", list(sd))
print("sd type:", type(sd).__name__, "metadata:", sd._metadata[""])

torch.manual_seed(1)
new = NewNet()
result = new.load_state_dict(sd, strict=False)
print("missing:", result.missing_keys)
print("unexpected:", result.unexpected_keys)
print(result)
try:
    new.load_state_dict(sd)
except RuntimeError as e:
    print("strict error:", str(e).splitlines()[0])

renames = {"conv.": "stem.0.", "bn.": "stem.1.", "fc.": "classifier."}


def rename(key):
    for old_prefix, new_prefix in renames.items():
        if key.startswith(old_prefix):
            return new_prefix + key[len(old_prefix):]
    return key


migrated = collections.OrderedDict((rename(k), v) for k, v in sd.items())
result = new.load_state_dict(migrated, strict=False)
print("after rename missing:", result.missing_keys, "unexpected:", result.unexpected_keys)
new.eval()
print("outputs equal after migration:", torch.allclose(new(x), ref))

# shape mismatch is an error even with strict=False
bad = dict(migrated)
bad["classifier.weight"] = torch.zeros(3, 4)
try:
    new.load_state_dict(bad, strict=False)
except RuntimeError as e:
    print("shape error:", str(e).splitlines()[1].strip())


# A load pre-hook on the module does the renaming itself, so old checkpoints load strictly.
def upgrade_hook(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
    for key in list(state_dict):
        if key.startswith(prefix + "fc."):
            state_dict[prefix + "classifier." + key[len(prefix) + 3:]] = state_dict.pop(key)


class Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Module()
        self.body.classifier = nn.Linear(4, 2)
        self.body._register_load_state_dict_pre_hook(upgrade_hook, with_module=True)


w = Wrapper()
print("hooked load:", w.load_state_dict({"body.fc.weight": sd["fc.weight"],
                                         "body.fc.bias": sd["fc.bias"]}))
print("weights copied:", torch.equal(w.body.classifier.weight, sd["fc.weight"]))

# A state_dict pre-hook and post-hook (public API) run around state_dict().
calls = []
new.register_state_dict_pre_hook(lambda m, prefix, keep_vars: calls.append(("pre", prefix)))


def drop_temperature(module, state_dict, prefix, local_metadata):
    state_dict.pop(prefix + "temperature", None)


new.register_state_dict_post_hook(drop_temperature)
sd_new = new.state_dict()
print("calls:", calls, "temperature saved:", "temperature" in sd_new)
print("keep_vars requires_grad:", new.state_dict(keep_vars=True)["proj.weight"].requires_grad,
      new.state_dict()["proj.weight"].requires_grad)

# Saving to a file, loading with map_location and weights_only=True
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "model.pt")
torch.save({"model": sd_new, "epoch": 3, "best": 0.25, "tags": ["a", "b"]}, path)
loaded = torch.load(path, map_location="cpu", weights_only=True)
print("loaded epoch:", loaded["epoch"], "best:", loaded["best"], "tags:", loaded["tags"])
print("device:", loaded["model"]["proj.weight"].device)
loaded = torch.load(path, map_location=lambda storage, loc: storage)
print("map_location callable ok:", torch.equal(loaded["model"]["proj.bias"], new.proj.bias))
loaded = torch.load(path, map_location={"cpu": "cpu"})
print("map_location dict ok:", sorted(loaded["model"])[:3])


class RunConfig:
    def __init__(self, lr, depth):
        self.lr, self.depth = lr, depth


buf = io.BytesIO()
torch.save({"config": RunConfig(0.1, 3), "model": sd_new}, buf)
buf.seek(0)
try:
    torch.load(buf, weights_only=True)
except Exception as e:
    print("weights_only error:", type(e).__name__)
    print("mentions the global:", "RunConfig" in str(e), "mentions add_safe_globals:",
          "add_safe_globals" in str(e))
torch.serialization.add_safe_globals([RunConfig])
buf.seek(0)
cfg = torch.load(buf, weights_only=True)["config"]
print("after add_safe_globals:", type(cfg).__name__, cfg.lr, cfg.depth)
with torch.serialization.safe_globals([RunConfig]):
    buf.seek(0)
    print("safe_globals ctx:", torch.load(buf)["config"].depth)

# optimizer.load_state_dict when the param groups changed
opt_old = torch.optim.SGD(old.parameters(), lr=0.1, momentum=0.9)
old(x).sum().backward()
opt_old.step()
osd = opt_old.state_dict()
print("optimizer state ids:", sorted(osd["state"]), "params:", osd["param_groups"][0]["params"])
opt_new = torch.optim.SGD([{"params": new.stem.parameters()},
                           {"params": new.classifier.parameters(), "lr": 0.01}], lr=0.1)
try:
    opt_new.load_state_dict(osd)
except ValueError as e:
    print("ValueError:", e)
opt_same = torch.optim.SGD(list(new.stem.parameters()) + list(new.classifier.parameters()),
                           lr=0.5, momentum=0.0)
opt_same.load_state_dict(osd)
g = opt_same.param_groups[0]
print("loaded lr/momentum:", g["lr"], g["momentum"])
print("momentum buffer:", opt_same.state[new.classifier.bias]["momentum_buffer"])
