"""A tiny Swin Transformer, written the way the reference implementation and timm write it:
window partition / reverse with view + permute, shifted windows with torch.roll and the
attention mask built from slice assignments on an image mask, a relative position bias table
indexed by a registered buffer made with torch.meshgrid(indexing="ij"), stochastic depth
(DropPath with x.new_empty(...).bernoulli_(...)), patch merging by strided slicing, trunc_normal_
init, AdamW with a no-weight-decay parameter group, a warmup + cosine LambdaLR, label smoothing,
and gradient clipping. Trained a few steps on synthetic 16x16 images."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(windows, ws, h, w):
    b = int(windows.shape[0] / (h * w / ws / ws))
    x = windows.view(b, h // ws, w // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


class DropPath(nn.Module):
    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask.div_(keep)


class WindowAttention(nn.Module):
    def __init__(self, dim, ws, heads):
        super().__init__()
        self.ws, self.heads = ws, heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij"))
        flat = torch.flatten(coords, 1)
        rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += ws - 1
        rel[:, :, 1] += ws - 1
        rel[:, :, 0] *= 2 * ws - 1
        self.register_buffer("relative_position_index", rel.sum(-1))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x, mask=None):
        b_, n, c = x.shape
        qkv = self.qkv(x).reshape(b_, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(self.ws * self.ws, self.ws * self.ws, -1).permute(2, 0, 1).contiguous()
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(b_ // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b_, n, c)), attn


class SwinBlock(nn.Module):
    def __init__(self, dim, res, heads, ws, shift, drop_path):
        super().__init__()
        self.res, self.ws, self.shift = res, ws, shift
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads)
        self.drop_path = DropPath(drop_path)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        if shift > 0:
            img_mask = torch.zeros((1, res, res, 1))
            spans = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
            cnt = 0
            for hs in spans:
                for wsl in spans:
                    img_mask[:, hs, wsl, :] = cnt
                    cnt += 1
            mw = window_partition(img_mask, ws).view(-1, ws * ws)
            mask = mw.unsqueeze(1) - mw.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))
        else:
            mask = None
        self.register_buffer("attn_mask", mask)

    def forward(self, x):
        b, l, c = x.shape
        shortcut = x
        x = self.norm1(x).view(b, self.res, self.res, c)
        if self.shift > 0:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = window_partition(x, self.ws).view(-1, self.ws * self.ws, c)
        out, attn = self.attn(windows, mask=self.attn_mask)
        x = window_reverse(out.view(-1, self.ws, self.ws, c), self.ws, self.res, self.res)
        if self.shift > 0:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        x = shortcut + self.drop_path(x.view(b, l, c))
        return x + self.drop_path(self.mlp(self.norm2(x))), attn


class PatchMerging(nn.Module):
    def __init__(self, res, dim):
        super().__init__()
        self.res = res
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        b, _, c = x.shape
        x = x.view(b, self.res, self.res, c)
        x0, x1 = x[:, 0::2, 0::2, :], x[:, 1::2, 0::2, :]
        x2, x3 = x[:, 0::2, 1::2, :], x[:, 1::2, 1::2, :]
        x = torch.cat([x0, x1, x2, x3], -1).view(b, -1, 4 * c)
        return self.reduction(self.norm(x))


class TinySwin(nn.Module):
    def __init__(self, classes=4, dim=16, ws=2):
        super().__init__()
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=2, stride=2)
        self.pos_drop = nn.Dropout(0.0)
        dpr = [v.item() for v in torch.linspace(0, 0.1, 4)]
        self.stage1 = nn.ModuleList([SwinBlock(dim, 8, 2, ws, 0, dpr[0]),
                                     SwinBlock(dim, 8, 2, ws, ws // 2, dpr[1])])
        self.merge = PatchMerging(8, dim)
        self.stage2 = nn.ModuleList([SwinBlock(2 * dim, 4, 4, ws, 0, dpr[2]),
                                     SwinBlock(2 * dim, 4, 4, ws, ws // 2, dpr[3])])
        self.norm = nn.LayerNorm(2 * dim)
        self.head = nn.Linear(2 * dim, classes)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def no_weight_decay_keywords(self):
        return {"relative_position_bias_table"}

    def forward(self, x):
        x = self.pos_drop(self.patch_embed(x).flatten(2).transpose(1, 2))
        attns = []
        for blk in self.stage1:
            x, a = blk(x)
            attns.append(a)
        x = self.merge(x)
        for blk in self.stage2:
            x, a = blk(x)
            attns.append(a)
        x = torch.flatten(F.adaptive_avg_pool1d(self.norm(x).transpose(1, 2), 1), 1)
        return self.head(x), attns


def make_batch(n, gen):
    x = torch.randn(n, 1, 16, 16, generator=gen) * 0.3
    y = torch.randint(0, 4, (n,), generator=gen)
    for i in range(n):
        k = int(torch.randint(2, 11, (1,), generator=gen))
        c = int(y[i])
        if c == 0:
            x[i, 0, k:k + 3, 2:14] += 1.0
        elif c == 1:
            x[i, 0, 2:14, k:k + 3] += 1.0
        elif c == 2:
            x[i, 0].diagonal().add_(1.5)
        else:
            x[i, 0, 5:11, 5:11] += 0.8
    return x, y


torch.manual_seed(0)
gen = torch.Generator().manual_seed(1)
model = TinySwin()
print("parameters:", sum(p.numel() for p in model.parameters() if p.requires_grad))
print("relative_position_index:", model.stage1[0].attn.relative_position_index.tolist())
mask = model.stage1[1].attn_mask
print("attn_mask:", tuple(mask.shape), "masked entries", int((mask != 0).sum()))

skip = model.no_weight_decay_keywords()
decay, no_decay = [], []
for name, p in model.named_parameters():
    if p.ndim == 1 or name.endswith(".bias") or any(k in name for k in skip):
        no_decay.append(p)
    else:
        decay.append(p)
print("param groups:", len(decay), len(no_decay))
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                         {"params": no_decay, "weight_decay": 0.0}], lr=3e-3, betas=(0.9, 0.999))
steps, warmup = 40, 4


def lr_lambda(step):
    if step < warmup:
        return (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return 0.5 * (1 + math.cos(math.pi * t))


sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
for step in range(steps):
    model.train()
    x, y = make_batch(16, gen)
    logits, _ = model(x)
    loss = criterion(logits, y)
    opt.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
    sched.step()
    if step % 8 == 0 or step == steps - 1:
        print(f"step {step:2d} loss {loss.item():.4f} grad-norm {norm.item():.3f} "
              f"lr {sched.get_last_lr()[0]:.5f}")

model.eval()
with torch.no_grad():
    x, y = make_batch(32, gen)
    logits, attns = model(x)
    acc = (logits.argmax(1) == y).float().mean().item()
    print(f"eval accuracy {acc:.3f}")
    print("attention shapes:", [tuple(a.shape) for a in attns])
    rows = attns[1].sum(-1)
    print("attention rows sum to 1:", bool(torch.allclose(rows, torch.ones_like(rows))))
    print("bias table std:", round(model.stage2[0].attn.relative_position_bias_table.std().item(),
                                   3))
