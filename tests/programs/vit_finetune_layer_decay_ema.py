"""Fine-tuning a small ViT the way MAE/BEiT fine-tuning scripts and timm do it.

Fused scaled_dot_product_attention, global-average-pooled features, a head initialised with
trunc_normal_(std=2e-5), layer-wise learning-rate decay parameter groups (lr_scale), Mixup +
CutMix with soft-target cross entropy, SequentialLR(LinearLR -> CosineAnnealingLR), a weight
EMA (timm's ModelEmaV2 via lerp_), loading a checkpoint with load_state_dict(strict=False),
and attention maps captured with forward hooks for attention rollout.
"""

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(3)


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.attn_probe = nn.Identity()  # hook point for attention maps

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if self.training:
            x = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
        else:
            attn = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
            attn = self.attn_probe(attn.softmax(dim=-1))
            x = attn @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class Block(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, num_classes=3, dim=24, depth=3, heads=3, patch=4, img=12):
        super().__init__()
        self.patch_embed = nn.Conv2d(1, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, (img // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.fc_norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.head.weight, std=2e-5)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.size(0), -1, -1), x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.fc_norm(x[:, 1:].mean(dim=1)))


def get_layer_id(name, num_layers):
    if name in ("cls_token", "pos_embed") or name.startswith("patch_embed"):
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return num_layers


def param_groups_lrd(model, weight_decay=0.05, layer_decay=0.75):
    num_layers = len(model.blocks) + 1
    scales = [layer_decay ** (num_layers - i) for i in range(num_layers + 1)]
    groups = {}
    for n, p in model.named_parameters():
        no_decay = p.ndim == 1 or n in ("cls_token", "pos_embed")
        layer_id = get_layer_id(n, num_layers)
        key = f"layer_{layer_id}_{'no_decay' if no_decay else 'decay'}"
        if key not in groups:
            groups[key] = {"lr_scale": scales[layer_id], "params": [],
                           "weight_decay": 0.0 if no_decay else weight_decay}
        groups[key]["params"].append(p)
    return list(groups.values())


def rand_bbox(h, w, lam):
    cut = np.sqrt(1.0 - lam)
    ch, cw = int(h * cut), int(w * cut)
    cy, cx = rng.integers(h), rng.integers(w)
    return (np.clip(cy - ch // 2, 0, h), np.clip(cy + ch // 2, 0, h),
            np.clip(cx - cw // 2, 0, w), np.clip(cx + cw // 2, 0, w))


def mixup_cutmix(x, y, num_classes, alpha=0.8, smoothing=0.1):
    off, on = smoothing / num_classes, 1.0 - smoothing + smoothing / num_classes
    y1 = torch.full((y.size(0), num_classes), off).scatter_(1, y.view(-1, 1), on)
    y2 = y1.flip(0)
    lam = float(rng.beta(alpha, alpha))
    if rng.random() < 0.5:  # cutmix
        y0, y1_, x0, x1 = rand_bbox(x.shape[-2], x.shape[-1], lam)
        x[:, :, y0:y1_, x0:x1] = x.flip(0)[:, :, y0:y1_, x0:x1]
        lam = 1.0 - (y1_ - y0) * (x1 - x0) / (x.shape[-2] * x.shape[-1])
    else:
        x.mul_(lam).add_(x.flip(0).mul_(1.0 - lam))
    return x, y1 * lam + y2 * (1.0 - lam)


class SoftTargetCrossEntropy(nn.Module):
    def forward(self, x, target):
        return torch.sum(-target * F.log_softmax(x, dim=-1), dim=-1).mean()


class ModelEmaV2(nn.Module):
    def __init__(self, model, decay=0.9):
        super().__init__()
        self.module = copy.deepcopy(model).eval()
        self.decay = decay

    @torch.no_grad()
    def update(self, model):
        for ema_v, model_v in zip(self.module.state_dict().values(), model.state_dict().values()):
            if ema_v.is_floating_point():
                ema_v.lerp_(model_v, 1.0 - self.decay)
            else:
                ema_v.copy_(model_v)


# toy data: three stroke orientations on 12x12 images
n, classes = 36, 3
y = torch.from_numpy(np.arange(n) % classes)
imgs = rng.normal(0, 0.3, (n, 1, 12, 12)).astype(np.float32)
for i, c in enumerate(y.tolist()):
    k = rng.integers(2, 10)
    if c == 0:
        imgs[i, 0, k, :] += 2.0
    elif c == 1:
        imgs[i, 0, :, k] += 2.0
    else:
        imgs[i, 0].flat[::13] += 2.0
x = torch.from_numpy(imgs)

pretrained = ViT(num_classes=10).state_dict()
model = ViT()
msg = model.load_state_dict({k: v for k, v in pretrained.items() if not k.startswith("head")},
                            strict=False)
print("missing:", msg.missing_keys, "unexpected:", msg.unexpected_keys)
print(f"head weight std {model.head.weight.std().item():.2e}")

groups = param_groups_lrd(model)
print("lr scales:", [round(g["lr_scale"], 4) for g in groups])
base_lr = 4e-3
for g in groups:  # deeper layers keep more of the base lr; the schedulers scale each group
    g["lr"] = base_lr * g["lr_scale"]
optimizer = torch.optim.AdamW(groups, lr=base_lr)
warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=3)
cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=9, eta_min=1e-5)
scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[3])
criterion = SoftTargetCrossEntropy()
ema = ModelEmaV2(model)

for step in range(12):
    model.train()
    idx = torch.from_numpy(rng.permutation(n)[:12])
    xb, soft = mixup_cutmix(x[idx].clone(), y[idx], classes)
    loss = criterion(model(xb), soft)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    ema.update(model)
    if step % 3 == 2:
        lrs = [f"{g['lr']:.6f}" for g in optimizer.param_groups[::4]]
        print(f"step {step} loss {loss.item():.4f} lr {lrs}")

maps = []
handles = [blk.attn.attn_probe.register_forward_hook(lambda m, i, o: maps.append(o.detach()))
           for blk in ema.module.blocks]
with torch.no_grad():
    acc_model = (model.eval()(x).argmax(-1) == y).float().mean().item()
    acc_ema = (ema.module(x).argmax(-1) == y).float().mean().item()
for h in handles:
    h.remove()
print(f"acc model {acc_model:.4f} ema {acc_ema:.4f}; {len(maps)} attention maps {maps[0].shape}")

# attention rollout (Abnar & Zuidema) on the first image
eye = torch.eye(maps[0].shape[-1])
rollout = eye
for a in maps:
    a = a[0].mean(dim=0)
    a = (a + eye) / 2
    rollout = (a / a.sum(dim=-1, keepdim=True)) @ rollout
cls_attn = rollout[0, 1:].reshape(3, 3)
print("rollout (cls -> patches):\n", cls_attn.round(decimals=3))
print("row sums ok:", torch.allclose(rollout.sum(-1), torch.ones(10)))
ema_diff = max((a - b).abs().max().item()
               for a, b in zip(ema.module.parameters(), model.parameters()))
print(f"max |ema - model| {ema_diff:.4f}")
