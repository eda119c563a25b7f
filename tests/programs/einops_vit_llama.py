"""A ViT and a LLaMA-style decoder written with einops, as many modern repositories write them:
patches with rearrange, multi-head split/merge with rearrange, grouped-query attention with
repeat, pooling with reduce, a rotary embedding, and einops.einsum for the attention scores."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import einsum, pack, rearrange, reduce, repeat, unpack

torch.manual_seed(0)


class PatchEmbed(nn.Module):
    def __init__(self, patch, channels, dim):
        super().__init__()
        self.patch = patch
        self.proj = nn.Linear(patch * patch * channels, dim)

    def forward(self, img):
        x = rearrange(img, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=self.patch, p2=self.patch)
        return self.proj(x)


class Attention(nn.Module):
    def __init__(self, dim, heads, kv_heads=None, causal=False):
        super().__init__()
        self.heads, self.kv_heads = heads, kv_heads or heads
        self.head_dim = dim // heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * self.kv_heads * self.head_dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)
        self.causal = causal

    def forward(self, x, rotary=None):
        q = rearrange(self.q(x), "b n (h d) -> b h n d", h=self.heads)
        k, v = rearrange(self.kv(x), "b n (two h d) -> two b h n d", two=2, h=self.kv_heads)
        if rotary is not None:
            q, k = apply_rotary(q, rotary), apply_rotary(k, rotary)
        groups = self.heads // self.kv_heads
        k = repeat(k, "b h n d -> b (h g) n d", g=groups)
        v = repeat(v, "b h n d -> b (h g) n d", g=groups)
        scores = einsum(q, k, "b h i d, b h j d -> b h i j") / math.sqrt(self.head_dim)
        if self.causal:
            n = x.shape[1]
            mask = torch.ones(n, n, dtype=torch.bool).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        attn = scores.softmax(dim=-1)
        y = einsum(attn, v, "b h i j, b h j d -> b h i d")
        return self.out(rearrange(y, "b h n d -> b n (h d)"))


def rotary_table(n, dim, base=10000.0):
    inv = 1.0 / base ** (torch.arange(0, dim, 2).float() / dim)
    angles = torch.outer(torch.arange(n).float(), inv)
    return torch.polar(torch.ones_like(angles), angles)


def apply_rotary(x, table):
    pairs = torch.view_as_complex(rearrange(x.float(), "... (d two) -> ... d two", two=2))
    rotated = torch.view_as_real(pairs * table[: x.shape[-2]])
    return rearrange(rotated, "... d two -> ... (d two)").type_as(x)


class SwiGLU(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w12 = nn.Linear(dim, 2 * hidden, bias=False)
        self.w3 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        a, b = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(a) * b)


class ViT(nn.Module):
    def __init__(self, classes=5, dim=32, depth=2, heads=4):
        super().__init__()
        self.embed = PatchEmbed(4, 3, dim)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, 17, dim) * 0.02)
        self.blocks = nn.ModuleList(
            nn.ModuleList([nn.LayerNorm(dim), Attention(dim, heads), nn.LayerNorm(dim),
                           SwiGLU(dim, 2 * dim)]) for _ in range(depth))
        self.head = nn.Linear(dim, classes)

    def forward(self, img):
        x = self.embed(img)
        cls = repeat(self.cls, "1 1 d -> b 1 d", b=x.shape[0])
        x, shapes = pack([cls, x], "b * d")
        x = x + self.pos
        for ln1, attn, ln2, mlp in self.blocks:
            x = x + attn(ln1(x))
            x = x + mlp(ln2(x))
        cls_out, tokens = unpack(x, shapes, "b * d")
        pooled = reduce(tokens, "b n d -> b d", "mean")
        return self.head(cls_out[:, 0] + pooled)


class TinyLlama(nn.Module):
    def __init__(self, vocab=40, dim=32, depth=2, heads=4, kv_heads=2, block=24):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(
            nn.ModuleList([nn.RMSNorm(dim), Attention(dim, heads, kv_heads, causal=True),
                           nn.RMSNorm(dim), SwiGLU(dim, 64)]) for _ in range(depth))
        self.norm = nn.RMSNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.tok.weight
        nn.init.normal_(self.tok.weight, std=0.02)
        self.register_buffer("rotary", rotary_table(block, dim // heads), persistent=False)

    def forward(self, idx):
        x = self.tok(idx)
        for n1, attn, n2, mlp in self.blocks:
            x = x + attn(n1(x), self.rotary)
            x = x + mlp(n2(x))
        return self.lm_head(self.norm(x))


# --- ViT on random "images" with a learnable rule: the class is the brightest quadrant+1 mod 5
images = torch.rand(32, 3, 16, 16)
quadrants = reduce(images, "b c (qh h) (qw w) -> b (qh qw)", "mean", qh=2, qw=2)
labels = (quadrants.argmax(dim=1) + 1) % 5
vit = ViT()
opt = torch.optim.AdamW(vit.parameters(), lr=3e-3, weight_decay=0.05)
print("vit params:", sum(p.numel() for p in vit.parameters()))
for step in range(20):
    loss = F.cross_entropy(vit(images), labels, label_smoothing=0.1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = nn.utils.clip_grad_norm_(vit.parameters(), 1.0)
    opt.step()
    if step % 5 == 0 or step == 19:
        print(f"vit step {step:2d} loss {loss.item():.4f} grad-norm {norm.item():.2f}")
with torch.no_grad():
    acc = (vit(images).argmax(1) == labels).float().mean()
print(f"vit train accuracy {acc.item():.3f}")

# --- a tiny LLaMA on a repeating character pattern
text = "the cat sat on the mat. the dog sat on the log. " * 6
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text])
llama = TinyLlama(vocab=len(chars))
decay = [p for n, p in llama.named_parameters() if p.ndim >= 2]
no_decay = [p for n, p in llama.named_parameters() if p.ndim < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                         {"params": no_decay, "weight_decay": 0.0}], lr=1e-2)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: min(1.0, (s + 1) / 5) * 0.5 * (1 + math.cos(math.pi * min(s, 30) / 30)))
g = torch.Generator().manual_seed(1)
for step in range(30):
    starts = torch.randint(0, len(data) - 25, (8,), generator=g)
    batch = torch.stack([data[s:s + 25] for s in starts.tolist()])
    x, y = batch[:, :-1], batch[:, 1:]
    logits = llama(x)
    loss = F.cross_entropy(rearrange(logits, "b n v -> (b n) v"), rearrange(y, "b n -> (b n)"))
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 10 == 0 or step == 29:
        print(f"llama step {step:2d} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.5f}")

llama.eval()
idx = torch.tensor([[stoi[c] for c in "the "]])
with torch.no_grad():
    for _ in range(20):
        logits = llama(idx[:, -24:])[:, -1]
        idx = torch.cat([idx, logits.argmax(dim=-1, keepdim=True)], dim=1)
print("greedy:", repr("".join(chars[i] for i in idx[0].tolist())))
print("rotary table:", tuple(llama.rotary.shape), llama.rotary.dtype)
print("state keys:", [k for k in llama.state_dict() if "rotary" in k or "lm_head" in k])
