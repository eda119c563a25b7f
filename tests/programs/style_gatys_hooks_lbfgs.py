"""Gatys et al. neural style transfer, written the way hook-based repositories write it: a small
frozen conv net whose ReLU outputs are collected by forward hooks (handles kept and removed), Gram
matrices by einsum and by baddbmm, a style loss weighted per layer, a content loss, a total
variation loss, and L-BFGS (strong Wolfe line search) optimizing the input image itself with a
closure, the image clamped into [0, 1] in place under no_grad after every step."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# L-BFGS amplifies last-bit rounding from step to step; float64 keeps both libraries together
torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(7)
size = 16

yy, xx = np.mgrid[0:size, 0:size] / size
content = torch.from_numpy(np.stack([xx, yy, np.exp(-((xx - .5) ** 2 + (yy - .5) ** 2) * 6)]))
style = torch.from_numpy(np.stack([.5 + .5 * np.sin(10 * xx), .5 + .5 * np.cos(8 * yy),
                                   .5 + .5 * np.sin(6 * (xx + yy))]))
content, style = content[None].clone(), style[None].clone()
print("images:", tuple(content.shape), content.dtype, f"{style.mean().item():.4f}")

# ImageNet normalization as buffers, the way the feature extractor wraps it
mean = torch.tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)

features = nn.Sequential(
    nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=False),
    nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
    nn.AvgPool2d(2),  # Gatys replaces max pooling by average pooling
    nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(),
    nn.Conv2d(12, 12, 3, padding=1), nn.ReLU(),
)
with torch.no_grad():
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            m.weight.copy_(torch.from_numpy(rng.normal(0, .3, m.weight.shape)))
            m.bias.copy_(torch.from_numpy(rng.normal(0, .05, m.bias.shape)))
features.eval().requires_grad_(False)
print("frozen:", all(not p.requires_grad for p in features.parameters()))

activations = {}


def save_output(name):
    def hook(module, inputs, output):
        activations[name] = output
    return hook


style_layers = {"relu1_1": 1, "relu1_2": 3, "relu2_1": 6, "relu2_2": 8}
content_layer = "relu2_1"
handles = [features[idx].register_forward_hook(save_output(name))
           for name, idx in style_layers.items()]


def extract(img):
    activations.clear()
    features((img - mean) / std)
    return dict(activations)


def gram(feat):
    b, c, h, w = feat.shape
    f = feat.flatten(2)
    return torch.einsum("bcn,bdn->bcd", f, f) / (c * h * w)


def gram_baddbmm(feat):
    b, c, h, w = feat.shape
    f = feat.view(b, c, h * w)
    zero = torch.zeros(b, c, c, dtype=feat.dtype)
    return torch.baddbmm(zero, f, f.transpose(1, 2), beta=0.0, alpha=1.0 / (c * h * w))


def total_variation(img):
    dh = img[:, :, 1:, :] - img[:, :, :-1, :]
    dw = img[:, :, :, 1:] - img[:, :, :, :-1]
    return dh.pow(2).sum() + dw.pow(2).sum()


with torch.no_grad():
    style_grams = {k: gram(v) for k, v in extract(style).items()}
    content_target = extract(content)[content_layer].detach()
    g = extract(style)["relu1_2"]
    print("gram variants agree:", torch.allclose(gram(g), gram_baddbmm(g)))
    print("gram relu1_1 diag:", gram(extract(style)["relu1_1"])[0].diagonal()[:4])

layer_weights = {"relu1_1": 1.0, "relu1_2": 0.8, "relu2_1": 0.5, "relu2_2": 0.3}
style_weight, content_weight, tv_weight = 1e4, 1.0, 1e-2

img = content.clone().requires_grad_(True)
optimizer = torch.optim.LBFGS([img], lr=1, max_iter=5, history_size=10,
                              line_search_fn="strong_wolfe")
history = []


def closure():
    optimizer.zero_grad()
    acts = extract(img)
    s_loss = sum(layer_weights[k] * F.mse_loss(gram(acts[k]), style_grams[k], reduction="sum")
                 for k in style_layers)
    c_loss = F.mse_loss(acts[content_layer], content_target)
    loss = style_weight * s_loss + content_weight * c_loss + tv_weight * total_variation(img)
    loss.backward()
    history.append((s_loss.item(), c_loss.item()))
    return loss


for outer in range(4):
    loss = optimizer.step(closure)
    with torch.no_grad():
        img.clamp_(0, 1)
    s, c = history[-1]
    print(f"step {outer}: loss {loss.item():.4f} style {s:.5f} content {c:.5f} "
          f"evals {len(history)}")

state = optimizer.state[optimizer.param_groups[0]["params"][0]]
print("lbfgs state:", sorted(k for k in state if not k.startswith("_"))[:6],
      "n_iter", state["n_iter"])

for h in handles:
    h.remove()
activations.clear()
features(content)
print("hooks removed:", len(activations) == 0, len(features[1]._forward_hooks))

with torch.no_grad():
    out = img.detach()
    print("range:", f"{out.min().item():.4f} {out.max().item():.4f}",
          "tv:", f"{total_variation(out).item():.4f}")
    print("channel means:", out.mean(dim=(0, 2, 3)))
    # 8-bit export the way saving a result image does
    as_uint8 = out.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
    print("uint8:", as_uint8.dtype, as_uint8[0, :, 0, :4])
    print("psnr vs content:",
          f"{(10 * torch.log10(1 / F.mse_loss(out, content))).item():.3f}")
