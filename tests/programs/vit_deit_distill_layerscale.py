"""DeiT-style tiny ViT: Conv2d patch embedding, cls + distillation tokens, DropPath, LayerScale.

Follows timm's VisionTransformer / DeiT training recipe at toy size: trunc_normal_ init,
qkv reshape/permute/unbind attention, no-weight-decay parameter groups, AdamW with a cosine
schedule with linear warmup via LambdaLR, and hard-label distillation from a frozen teacher.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)


def drop_path(x, drop_prob: float = 0.0, training: bool = False, scale_by_keep: bool = True):
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0 and scale_by_keep:
        random_tensor.div_(keep_prob)
    return x * random_tensor


class DropPath(nn.Module):
    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self):
        return f"drop_prob={round(self.drop_prob, 3):0.3f}"


class LayerScale(nn.Module):
    def __init__(self, dim, init_values=1e-5, inplace=False):
        super().__init__()
        self.inplace = inplace
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x.mul_(self.gamma) if self.inplace else x * self.gamma


class PatchEmbed(nn.Module):
    def __init__(self, img_size=16, patch_size=4, in_chans=3, embed_dim=32):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # B, N, C


class Attention(nn.Module):
    def __init__(self, dim, num_heads=4, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=2.0, drop_path=0.0, init_values=1e-1):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim, init_values)
        self.drop_path1 = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, init_values)
        self.drop_path2 = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x):
        x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x))))
        x = x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
        return x


class DistilledViT(nn.Module):
    def __init__(self, num_classes=4, embed_dim=32, depth=3, num_heads=4, drop_path_rate=0.2):
        super().__init__()
        self.patch_embed = PatchEmbed(embed_dim=embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 2, embed_dim))
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, drop_path=dpr[i])
                                      for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        self.head_dist = nn.Linear(embed_dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.dist_token, std=0.02)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    @torch.jit.ignore
    def no_weight_decay(self):
        return {"pos_embed", "cls_token", "dist_token"}

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1),
                       self.dist_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = self.blocks(x + self.pos_embed)
        x = self.norm(x)
        x, x_dist = self.head(x[:, 0]), self.head_dist(x[:, 1])
        if self.training:
            return x, x_dist
        return (x + x_dist) / 2


def param_groups_weight_decay(model, weight_decay=0.05, no_weight_decay_list=()):
    no_weight_decay_list = set(no_weight_decay_list)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias") or name in no_weight_decay_list:
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": no_decay, "weight_decay": 0.0},
            {"params": decay, "weight_decay": weight_decay}]


# toy data: 4 classes of 16x16 images told apart by which quadrant is bright
n = 48
labels = rng.integers(0, 4, size=n)
images = rng.normal(0.0, 0.5, size=(n, 3, 16, 16)).astype(np.float32)
for i, c in enumerate(labels):
    r, q = divmod(int(c), 2)
    images[i, :, r * 8:(r + 1) * 8, q * 8:(q + 1) * 8] += 1.5
x_all = torch.from_numpy(images)
y_all = torch.from_numpy(labels).long()

teacher = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                        nn.Flatten(), nn.Linear(32, 4))
teacher.requires_grad_(False)
teacher.eval()

model = DistilledViT()
print(model.blocks[2].drop_path1)
print("identity first block:", isinstance(model.blocks[0].drop_path1, nn.Identity))
groups = param_groups_weight_decay(model, 0.05, model.no_weight_decay())
print("group sizes:", [len(g["params"]) for g in groups])
print("params:", sum(p.numel() for p in model.parameters()))
print("cls token std:", f"{model.cls_token.std().item():.4f}",
      "max |pos|:", f"{model.pos_embed.abs().max().item():.4f}")

optimizer = torch.optim.AdamW(groups, lr=3e-3, betas=(0.9, 0.999))
epochs, steps_per_epoch, warmup = 6, 3, 3
total = epochs * steps_per_epoch


def lr_lambda(step):
    if step < warmup:
        return float(step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
alpha = 0.5
for epoch in range(epochs):
    model.train()
    perm = torch.randperm(n)
    running = 0.0
    for step in range(steps_per_epoch):
        idx = perm[step * 16:(step + 1) * 16]
        x, y = x_all[idx], y_all[idx]
        out_cls, out_dist = model(x)
        with torch.no_grad():
            teacher_labels = teacher(x).argmax(dim=1)
        loss = (1 - alpha) * criterion(out_cls, y) + alpha * F.cross_entropy(out_dist,
                                                                             teacher_labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        running += loss.item()
    lrs = [f"{g['lr']:.5f}" for g in optimizer.param_groups]
    print(f"epoch {epoch} loss {running / steps_per_epoch:.4f} grad_norm {grad_norm:.4f} lr {lrs}")

model.eval()
with torch.inference_mode():
    logits = model(x_all)
    acc = (logits.argmax(1) == y_all).float().mean()
print(f"train acc {acc.item():.4f}")
print("layerscale gamma (block 0):", model.blocks[0].ls1.gamma[:4].detach().round(decimals=4))
print("decayed pos_embed?", any(p is model.pos_embed for p in groups[1]["params"]))
print(torch.softmax(logits[:2], dim=-1).round(decimals=3))
