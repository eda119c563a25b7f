"""Early stopping with in-memory checkpoints (the "Saving and loading a general checkpoint"
recipe plus the weights_only/safe-globals docs): torch.save to BytesIO, torch.load with
map_location and weights_only, safe globals for config objects, shared storage surviving a
round trip, and RNG state saved with the checkpoint so resumed runs repeat their draws."""
import collections
import copy
import dataclasses
import io
import pickle
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(0)
X = torch.from_numpy(rng.normal(size=(64, 5)).astype(np.float32))
w_true = rng.normal(size=(5, 1)).astype(np.float32)
Y = torch.from_numpy(np.tanh(X.numpy() @ w_true) + 0.1 * rng.normal(size=(64, 1))
                     .astype(np.float32))
X_val, Y_val = X[48:], Y[48:]
X_train, Y_train = X[:48], Y[:48]
INIT = [rng.normal(scale=0.4, size=s).astype(np.float32) for s in [(16, 5), (16,), (1, 16), (1,)]]


def make_model():
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1))
    with torch.no_grad():
        for p, w in zip(model.parameters(), INIT):
            p.copy_(torch.from_numpy(w))
    return model


class EarlyStopping:
    """Stop when the validation loss has not improved by min_delta for `patience` epochs;
    keep the best weights as bytes in memory."""

    def __init__(self, patience=3, min_delta=1e-3):
        self.patience, self.min_delta = patience, min_delta
        self.best = float("inf")
        self.bad_epochs = 0
        self.best_blob = None

    def step(self, val_loss, checkpoint):
        if val_loss < self.best - self.min_delta:
            self.best = val_loss
            self.bad_epochs = 0
            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            self.best_blob = buffer.getvalue()
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience


model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
loss_fn = nn.MSELoss()
stopper = EarlyStopping(patience=4)
for epoch in range(200):
    model.train()
    opt.zero_grad()
    loss = loss_fn(model(X_train), Y_train)
    loss.backward()
    opt.step()
    sched.step()
    model.eval()
    with torch.no_grad():
        val = loss_fn(model(X_val), Y_val).item()
    ckpt = {"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "val_loss": val, "history": [round(val, 4)]}
    if stopper.step(val, ckpt):
        print(f"early stop at epoch {epoch}, best {stopper.best:.5f}")
        break
    if epoch % 5 == 0:
        print(f"epoch {epoch:3d} train {loss.item():.5f} val {val:.5f}")
print(len(stopper.best_blob) > 1000, stopper.best_blob[:2])

# restore the best checkpoint (weights_only=True is the default and allows these types)
best = torch.load(io.BytesIO(stopper.best_blob))
print(sorted(best), best["epoch"], f"{best['val_loss']:.5f}", type(best["model"]).__name__)
print(list(best["model"]), best["model"]["0.weight"].requires_grad)
restored = make_model()
print(restored.load_state_dict(best["model"]))
opt2 = torch.optim.SGD(restored.parameters(), lr=0.3, momentum=0.9)
opt2.load_state_dict(best["optimizer"])
sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=10, gamma=0.5)
sched2.load_state_dict(best["scheduler"])
print(sched2.last_epoch, sched2.get_last_lr(), opt2.param_groups[0]["lr"])
with torch.no_grad():
    print(f"{loss_fn(restored(X_val), Y_val).item():.5f}")
momentum = opt2.state[restored[0].weight]["momentum_buffer"]
print(momentum.shape, f"{momentum.abs().sum().item():.5f}")

# map_location in all its forms
restore = torch.serialization.default_restore_location
for loc in ["cpu", torch.device("cpu"), {"cpu": "cpu"}, lambda storage, where: storage, None,
            lambda storage, where: restore(storage, "cpu")]:
    sd = torch.load(io.BytesIO(stopper.best_blob), map_location=loc)
    print(type(loc).__name__, sd["model"]["2.bias"].device, f"{sd['model']['2.bias'].item():.5f}")

# strict=False loading reports what did not match
partial = {"0.weight": best["model"]["0.weight"], "extra.weight": torch.zeros(1)}
result = make_model().load_state_dict(partial, strict=False)
print(result.missing_keys, result.unexpected_keys)
try:
    make_model().load_state_dict({"0.weight": torch.zeros(3, 3)}, strict=False)
except RuntimeError as e:
    print("RuntimeError", str(e).splitlines()[0])

# what weights_only accepts without help: containers, numbers, strings, dtypes, sizes
payload = collections.OrderedDict(
    a=(1, 2.5, "s", None, True), b=[torch.float16, torch.Size([2, 3])], c={"x": b"raw"},
    d=torch.arange(4, dtype=torch.int16), e=complex(1, 2), f=nn.Parameter(torch.ones(2)),
    g=torch.tensor([1.5, 2.5], dtype=torch.bfloat16), h=torch.device("cpu"),
    i={1, 2}, k=(), l=[[]])
buf = io.BytesIO()
torch.save(payload, buf)
buf.seek(0)
back = torch.load(buf, weights_only=True)
print(type(back).__name__, back["a"], back["b"], back["c"], back["e"], back["h"])
print(back["d"], type(back["f"]).__name__, back["f"].requires_grad, back["g"].dtype,
      back["g"].float().tolist())
print(back["i"], back["k"], back["l"])


# config objects need a safe global
@dataclasses.dataclass
class TrainConfig:
    lr: float
    layers: tuple


class Color:
    def __init__(self, name):
        self.name = name


for obj in [TrainConfig(0.1, (5, 16, 1)), Color("red")]:
    buf = io.BytesIO()
    torch.save({"config": obj, "w": torch.ones(1)}, buf)
    blob = buf.getvalue()
    try:
        torch.load(io.BytesIO(blob))
    except pickle.UnpicklingError as e:
        text = str(e)
        print("UnpicklingError", "Weights only load failed" in text,
              f"__main__.{type(obj).__name__}" in text, "add_safe_globals" in text)
    print(torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(blob)))
    with torch.serialization.safe_globals([type(obj)]):
        loaded = torch.load(io.BytesIO(blob))
    print(type(loaded["config"]).__name__, vars(loaded["config"]))
    print(type(torch.load(io.BytesIO(blob), weights_only=False)["config"]).__name__)
torch.serialization.add_safe_globals([TrainConfig])
print(TrainConfig in torch.serialization.get_safe_globals())
buf = io.BytesIO()
torch.save(TrainConfig(0.5, (1,)), buf)
buf.seek(0)
print(torch.load(buf))
torch.serialization.clear_safe_globals()
print(torch.serialization.get_safe_globals())

# views keep sharing their storage through save/load; saved slices keep the whole storage
base = torch.arange(10.0)
view = base[2:6]
buf = io.BytesIO()
torch.save({"base": base, "view": view, "t": base.view(2, 5).t()}, buf)
buf.seek(0)
loaded = torch.load(buf)
loaded["view"][0] = 100.0
print(loaded["base"][:4].tolist(), loaded["view"].storage_offset(), loaded["t"].stride(),
      loaded["t"].is_contiguous())
for part in (base[:2].clone(), base[:2], base[3:5]):
    buf = io.BytesIO()
    torch.save(part, buf)
    buf.seek(0)
    back = torch.load(buf)
    print(back, back.untyped_storage().nbytes(), back.storage_offset())

# files: a path, pathlib, mmap and the legacy (non-zip) format
with tempfile.TemporaryDirectory() as d:
    path = Path(d) / "ckpt.pt"
    torch.save(best["model"], path)
    print(torch.load(path, mmap=True)["2.bias"].shape,
          torch.load(str(path), map_location="cpu")["0.bias"].shape)
    legacy = Path(d) / "legacy.pt"
    torch.save({"w": torch.ones(3)}, legacy, _use_new_zipfile_serialization=False)
    print(torch.load(legacy)["w"], torch.load(legacy, weights_only=False)["w"].dtype)
for junk in (b"not a checkpoint", b""):
    try:
        torch.load(io.BytesIO(junk))
    except (pickle.UnpicklingError, EOFError) as e:
        print(isinstance(e, pickle.UnpicklingError), isinstance(e, EOFError))

# RNG state: restoring it repeats the same draws
torch.manual_seed(123)
print(torch.initial_seed())
state = torch.get_rng_state()
first = torch.randn(4)
torch.set_rng_state(state)
print(torch.equal(first, torch.randn(4)), state.dtype, state.shape == torch.get_rng_state().shape)
with torch.random.fork_rng():
    torch.manual_seed(999)
    inside = torch.rand(3)
after_fork = torch.rand(3)
torch.set_rng_state(state)
torch.randn(4)
print(torch.equal(after_fork, torch.rand(3)), torch.equal(inside, after_fork))

# save the RNG states with the checkpoint and resume: dropout masks repeat
gen = torch.Generator().manual_seed(7)
ckpt = {"torch_rng": torch.get_rng_state(), "gen": gen.get_state(),
        "numpy": np.random.get_state()[1][:4].tolist(), "model": copy.deepcopy(best["model"])}
buf = io.BytesIO()
torch.save(ckpt, buf)
drop = nn.Dropout(0.5)
masks = [drop(torch.ones(8)) for _ in range(2)]
noise = torch.randn(3, generator=gen)
buf.seek(0)
resumed = torch.load(buf)
torch.set_rng_state(resumed["torch_rng"])
gen2 = torch.Generator()
gen2.set_state(resumed["gen"])
print([torch.equal(m, drop(torch.ones(8))) for m in masks],
      torch.equal(noise, torch.randn(3, generator=gen2)), resumed["numpy"] == ckpt["numpy"])
try:
    torch.set_rng_state(torch.zeros(5))
except (TypeError, RuntimeError) as e:
    print(type(e).__name__)
print(torch.equal(resumed["model"]["0.weight"], best["model"]["0.weight"]),
      resumed["model"]["0.weight"] is not best["model"]["0.weight"])
