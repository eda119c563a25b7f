"""LoRA fine-tuning in the style of minLoRA: a "pretrained" MLP is frozen and each Linear weight
gets a low-rank parametrization W + (B @ A) * alpha / r registered with
torch.nn.utils.parametrize; only A and B train. Then the adapter is merged into the weight
(remove_parametrizations with leave_parametrized=True) and the merged model must give the same
outputs."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize

rng = np.random.default_rng(5)


class LoRAParametrization(nn.Module):
    def __init__(self, fan_in, fan_out, rank=4, lora_alpha=8):
        super().__init__()
        # A starts small and B at zero, so the adapted model starts as the pretrained one
        self.lora_A = nn.Parameter(torch.from_numpy(
            rng.normal(scale=0.1, size=(rank, fan_in)).astype(np.float32)))
        self.lora_B = nn.Parameter(torch.zeros(fan_out, rank))
        self.scaling = lora_alpha / rank
        self.enabled = True

    def forward(self, original_weights):
        if self.enabled:
            return original_weights + torch.matmul(self.lora_B, self.lora_A) * self.scaling
        return original_weights


def add_lora(model, rank=4):
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            fan_out, fan_in = module.weight.shape
            parametrize.register_parametrization(
                module, "weight", LoRAParametrization(fan_in, fan_out, rank=rank))


def set_lora_enabled(model, enabled):
    for module in model.modules():
        if isinstance(module, LoRAParametrization):
            module.enabled = enabled


def make_model():
    return nn.Sequential(nn.Linear(10, 32), nn.GELU(), nn.Linear(32, 32), nn.GELU(),
                         nn.Linear(32, 3))


# "pretraining" on task A
w_true = rng.normal(size=(10, 3)).astype(np.float32)
xa = rng.normal(size=(200, 10)).astype(np.float32)
ya = (xa @ w_true).argmax(1)
xb = rng.normal(size=(200, 10)).astype(np.float32)
yb = (xb @ w_true[:, [2, 0, 1]] + 0.5 * xb[:, :3]).argmax(1)  # task B: a related relabelling
XA, YA = torch.from_numpy(xa), torch.from_numpy(ya).long()
XB, YB = torch.from_numpy(xb), torch.from_numpy(yb).long()

model = make_model()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
for step in range(150):
    opt.zero_grad()
    loss = F.cross_entropy(model(XA), YA)
    loss.backward()
    opt.step()


def accuracy(m, x, y):
    with torch.no_grad():
        return (m(x).argmax(1) == y).float().mean().item()


print("pretrained: loss {:.3f} acc A {:.3f} acc B {:.3f}".format(
    loss.item(), accuracy(model, XA, YA), accuracy(model, XB, YB)))
before = model(XB[:4]).detach().clone()

# freeze everything, then add LoRA
for p in model.parameters():
    p.requires_grad = False
add_lora(model, rank=4)
print(model[0])
print("is parametrized:", parametrize.is_parametrized(model[0]),
      parametrize.is_parametrized(model[0], "weight"), parametrize.is_parametrized(model[1]))
print("parametrization names:", sorted(model[2].parametrizations.keys()))
print("original weight shape:", tuple(model[2].parametrizations.weight.original.shape))
print("outputs unchanged at init:", torch.allclose(model(XB[:4]), before))
lora_params = [p for n, p in model.named_parameters() if "lora_" in n]
n_total = sum(p.numel() for p in model.parameters())
n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("trainable {} of {} ({:.1f}%)".format(n_train, n_total, 100.0 * n_train / n_total))
print("lora parameter names:", [n for n, p in model.named_parameters() if p.requires_grad][:2])

opt = torch.optim.AdamW(lora_params, lr=2e-2, weight_decay=0.0)
for step in range(120):
    opt.zero_grad()
    loss = F.cross_entropy(model(XB), YB)
    loss.backward()
    opt.step()
    if step % 30 == 0:
        print("lora step {:3d} loss {:.3f}".format(step, loss.item()))
print("after LoRA: acc A {:.3f} acc B {:.3f}".format(accuracy(model, XA, YA),
                                                     accuracy(model, XB, YB)))
print("frozen base requires grad:", model[0].parametrizations.weight.original.requires_grad)
set_lora_enabled(model, False)
print("adapter disabled: acc B {:.3f}".format(accuracy(model, XB, YB)))
set_lora_enabled(model, True)

# with cached(): the parametrization is computed once per forward
with parametrize.cached():
    out_cached = model(XB[:5])
print("cached forward agrees:", torch.allclose(out_cached, model(XB[:5])))

# merge: bake W + BA into a plain weight
ref = model(XB).detach()
for module in model.modules():
    if isinstance(module, nn.Linear) and parametrize.is_parametrized(module):
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
print("merged:", type(model[0].weight).__name__, parametrize.is_parametrized(model[0]))
print("merged outputs match:", torch.allclose(model(XB), ref, atol=1e-5))
print("state_dict keys:", list(model.state_dict().keys())[:4])
