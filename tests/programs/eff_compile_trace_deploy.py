"""Getting a trained model ready to serve, after the torch.compile tutorial and the TorchScript /
serialization recipes: ``torch.compile`` on a module and on a function (default backend,
``mode="reduce-overhead"``, ``fullgraph=True``, ``dynamic=True``) printing what eager prints,
``torch.jit.trace`` of the model saved to and loaded from a buffer, ``torch.save`` in the zip
and the legacy (``_use_new_zipfile_serialization=False``) formats, and inference under
``torch.inference_mode`` with channels_last and bfloat16 autocast."""
import io
import warnings

import torch
import torch.nn.functional as F
from torch import nn

warnings.simplefilter("ignore")
torch.manual_seed(0)


class SmallCNN(nn.Module):
    def __init__(self, classes=4):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.conv2(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


def show(tag, t, digits=4):
    print(tag, [round(v, digits) for v in t.flatten().tolist()[:6]])


model = SmallCNN()
images = torch.randn(6, 3, 12, 12)
labels = torch.randint(0, 4, (6,))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

# train a few steps through the compiled module; gradients flow to the original parameters
compiled = torch.compile(model)
for step in range(4):
    opt.zero_grad()
    loss = F.cross_entropy(compiled(images), labels)
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.4f}")
print("compiled shares parameters:", compiled.conv1.weight is model.conv1.weight,
      isinstance(compiled, nn.Module))
print("state_dict keys:", list(compiled.state_dict())[:2])
print("original module:", type(compiled._orig_mod).__name__)

model.eval()
with torch.no_grad():
    eager = model(images)
    for kwargs in ({}, {"mode": "reduce-overhead"}, {"fullgraph": True},
                   {"mode": "max-autotune-no-cudagraphs"}, {"backend": "eager"},
                   {"backend": "aot_eager", "dynamic": False}):
        out = torch.compile(model, **kwargs)(images)
        print(kwargs, "max diff <1e-5:", (out - eager).abs().max().item() < 1e-5)


# compiling a function; dynamic=True lets other batch sizes reuse the graph
@torch.compile(dynamic=True)
def gelu_mlp(x, w1, w2):
    return F.gelu(x @ w1, approximate="tanh") @ w2


w1, w2 = torch.randn(5, 7), torch.randn(7, 2)
for n in (3, 8):
    x = torch.randn(n, 5)
    ref = F.gelu(x @ w1, approximate="tanh") @ w2
    got = gelu_mlp(x, w1, w2)
    print("dynamic batch", n, tuple(got.shape), torch.allclose(got, ref, atol=1e-5))


def soft_clip(x, limit: float = 2.0):
    return limit * torch.tanh(x / limit)


fast_clip = torch.compile(soft_clip, fullgraph=True)
show("soft_clip", fast_clip(torch.linspace(-4, 4, 6)))
print("is_compiling outside:", torch.compiler.is_compiling())
torch.compiler.reset()

# TorchScript: trace, save to a buffer, load, compare
example = torch.randn(2, 3, 12, 12)
traced = torch.jit.trace(model, example)
print(traced)
buf = io.BytesIO()
torch.jit.save(traced, buf)
buf.seek(0)
loaded = torch.jit.load(buf)
with torch.no_grad():
    print("traced == eager:", torch.allclose(traced(images), eager, atol=1e-6),
          "loaded == eager:", torch.allclose(loaded(images), eager, atol=1e-6))
print("loaded params:", sum(p.numel() for p in loaded.parameters()))
print("loaded is ScriptModule:", isinstance(loaded, torch.jit.ScriptModule))

# checkpoints in both serialization formats
for new_zip in (True, False):
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 4}, buf,
               _use_new_zipfile_serialization=new_zip)
    raw = buf.getvalue()
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    restored = SmallCNN()
    restored.load_state_dict(ckpt["model"])
    restored.eval()
    with torch.no_grad():
        same = torch.equal(restored(images), eager)
    print("zip" if new_zip else "legacy", "starts with PK:", raw[:2] == b"PK",
          "epoch", ckpt["epoch"], "same output:", same,
          "momentum buffers:", len(ckpt["opt"]["state"]))

# inference: channels_last memory format, bfloat16 autocast, inference_mode
model_cl = model.to(memory_format=torch.channels_last)
x_cl = images.to(memory_format=torch.channels_last)
print("channels_last weight:", model_cl.conv1.weight.is_contiguous(
    memory_format=torch.channels_last))
with torch.inference_mode():
    out_cl = model_cl(x_cl)
    print("channels_last == eager:", torch.allclose(out_cl, eager, atol=1e-5),
          "inference tensor:", out_cl.is_inference(), "requires_grad:", out_cl.requires_grad)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out_bf = model_cl(x_cl)
    print("autocast dtype:", out_bf.dtype, "close:",
          torch.allclose(out_bf.float(), eager, atol=0.1, rtol=0.05))
    print("argmax agree:", (out_bf.float().argmax(1) == eager.argmax(1)).sum().item(), "/ 6")
    probs = torch.softmax(out_cl, dim=1)
    show("probs", probs, 3)
try:
    out_cl.add_(1)
except RuntimeError as e:
    print("RuntimeError:", "Inplace update to inference tensor outside InferenceMode" in str(e))
print("inference_mode enabled now:", torch.is_inference_mode_enabled())
