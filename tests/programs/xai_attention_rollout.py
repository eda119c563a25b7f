"""Explaining a tiny Vision Transformer the way the vit-explain and Transformer-Explainability
repos do: forward hooks on each block's ``attn_drop`` collect the attention maps,
``Tensor.register_hook`` their gradients; attention rollout (``I + A`` renormalised, multiplied
through the layers), gradient-weighted rollout, and raw last-layer CLS attention. The position
embedding is resized with bicubic ``F.interpolate`` to run the model on a larger image, as
timm does. ``nn.MultiheadAttention`` per-head weights are checked against a manual
computation and ``F.scaled_dot_product_attention``, a full backward hook on it sees
``grad_output`` None for the weights no loss used, and a forward pre-hook with kwargs asks the
layer to return its weights."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = self.attn_drop(attn.softmax(dim=-1))
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    def __init__(self, img=16, patch=4, dim=24, depth=3, heads=4, n_classes=2):
        super().__init__()
        self.patch = patch
        self.patch_embed = nn.Conv2d(1, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, 1 + (img // patch) ** 2, dim))
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)

    def resized_pos_embed(self, grid):
        cls_pos, patch_pos = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        old = int(math.sqrt(patch_pos.shape[1]))
        if old == grid:
            return self.pos_embed
        patch_pos = patch_pos.reshape(1, old, old, -1).permute(0, 3, 1, 2)
        patch_pos = F.interpolate(patch_pos, size=(grid, grid), mode="bicubic",
                                  align_corners=False)
        patch_pos = patch_pos.permute(0, 2, 3, 1).flatten(1, 2)
        return torch.cat([cls_pos, patch_pos], dim=1)

    def forward(self, img):
        x = self.patch_embed(img).flatten(2).transpose(1, 2)
        grid = img.shape[-1] // self.patch
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.resized_pos_embed(grid)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


def make_images(n, size=16):
    """Class 1 images have a bright square in the upper-left corner."""
    imgs = 0.5 * torch.randn(n, 1, size, size)
    labels = torch.randint(0, 2, (n,))
    imgs[labels == 1, :, 1:5, 1:5] += 2.5
    return imgs, labels


model = TinyViT()
images, labels = make_images(64)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
for step in range(25):
    opt.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    opt.step()
model.eval()
with torch.no_grad():
    acc = (model(images).argmax(1) == labels).float().mean().item()
print(f"loss {loss.item():.3f} acc {acc:.2f}")


class AttentionRecorder:
    def __init__(self, model):
        self.maps, self.grads = [], []
        self.handles = [blk.attn.attn_drop.register_forward_hook(self.hook)
                        for blk in model.blocks]

    def hook(self, module, inputs, output):
        self.maps.append(output.detach())
        if output.requires_grad:
            output.register_hook(lambda g: self.grads.insert(0, g.detach()))

    def clear(self):
        self.maps, self.grads = [], []

    def remove(self):
        for h in self.handles:
            h.remove()


def rollout(maps, discard_ratio=0.0, head_fusion="mean"):
    n = maps[0].shape[-1]
    result = torch.eye(n).expand(maps[0].shape[0], n, n)
    for attn in maps:
        fused = attn.mean(1) if head_fusion == "mean" else attn.amax(1)
        if discard_ratio > 0:
            flat = fused.flatten(1)
            k = int(flat.shape[1] * discard_ratio)
            _, idx = flat.topk(k, dim=1, largest=False)
            keep_cls = idx % (n * n) != 0  # never drop the CLS->CLS entry
            flat = flat.scatter(1, idx, torch.where(keep_cls, 0.0, flat.gather(1, idx)))
            fused = flat.view_as(fused)
        a = (fused + torch.eye(n)) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = a @ result
    mask = result[:, 0, 1:]
    return mask / mask.amax(dim=1, keepdim=True)


recorder = AttentionRecorder(model)
test_imgs, test_labels = make_images(4)
test_imgs[0, :, 1:5, 1:5] += 2.5
test_labels[0] = 1
print("test labels", test_labels.tolist())
logits = model(test_imgs)
print("pred", logits.argmax(1).tolist(), "maps", len(recorder.maps), tuple(recorder.maps[0].shape))
print("rows sum to 1", torch.allclose(recorder.maps[0].sum(-1), torch.ones(4, 4, 17), atol=1e-5))
mask = rollout(recorder.maps)
print("rollout patch 0 (upper-left)", mask[:, 0].round(decimals=3).tolist())
print("rollout argmax patch", mask.argmax(1).tolist())
print("rollout grid img0", mask[0].view(4, 4).round(decimals=2).tolist())
mask_max = rollout(recorder.maps, discard_ratio=0.5, head_fusion="max")
print("max-fusion discard rollout img0", mask_max[0].view(4, 4).round(decimals=2).tolist())

# gradient-weighted rollout for class 1
recorder.clear()
model.zero_grad()
out = model(test_imgs)
out[:, 1].sum().backward()
print("grads", len(recorder.grads), "aligned", all(g.shape == m.shape for g, m in
                                                   zip(recorder.grads, recorder.maps)))
n = recorder.maps[0].shape[-1]
result = torch.eye(n).repeat(4, 1, 1)
for attn, grad in zip(recorder.maps, recorder.grads):
    weighted = (attn * grad).clamp(min=0).mean(1)
    result = result + torch.bmm(weighted, result)
grad_mask = result[:, 0, 1:]
grad_mask = grad_mask / grad_mask.amax(1, keepdim=True).clamp(min=1e-12)
print("grad rollout img0", grad_mask[0].view(4, 4).round(decimals=2).tolist())
raw_cls = recorder.maps[-1][:, :, 0, 1:].mean(1)
print("last-layer CLS attention img0 top3", raw_cls[0].topk(3).indices.tolist())
recorder.remove()

# the same model on a 24x24 image: a 6x6 grid with a bicubic-resized position embedding
big = F.pad(test_imgs, (0, 8, 0, 8))
with torch.no_grad():
    pe = model.resized_pos_embed(6)
    print("resized pos embed", tuple(pe.shape), round(pe[0, 1:].std().item(), 4))
    print("big image logits", model(big).round(decimals=2).tolist())

# nn.MultiheadAttention: per-head weights vs a manual computation and SDPA
mha = nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
tokens = torch.randn(2, 5, 8)
pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
out, w = mha(tokens, tokens, tokens, key_padding_mask=pad, need_weights=True,
             average_attn_weights=False)
print("mha weights", tuple(w.shape), "padded keys get 0", w[1, :, :, 3:].abs().max().item())
q, k, v = F.linear(tokens, mha.in_proj_weight, mha.in_proj_bias).chunk(3, dim=-1)
split = lambda t: t.view(2, 5, 2, 4).transpose(1, 2)  # noqa: E731
q, k, v = split(q), split(k), split(v)
scores = q @ k.transpose(-2, -1) / 2.0
scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
manual = scores.softmax(-1)
print("manual weights match", torch.allclose(manual, w, atol=1e-6))
sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=~pad[:, None, None, :])
sdpa_out = mha.out_proj(sdpa.transpose(1, 2).reshape(2, 5, 8))
print("sdpa output match", torch.allclose(sdpa_out, out, atol=1e-5))
_, w_avg = mha(tokens, tokens, tokens, key_padding_mask=pad)
print("averaged weights", tuple(w_avg.shape), torch.allclose(w_avg, w.mean(1), atol=1e-6))

# relevance through the attention layer with a full backward hook: the layer returns
# (output, weights) and only the output reaches the loss, so grad_output[1] is None
relevance = {}


def keep_grads(module, grad_input, grad_output):
    relevance["grad_input"] = grad_input
    relevance["grad_output"] = grad_output


hook = mha.register_full_backward_hook(keep_grads)
x_in = tokens.clone().requires_grad_(True)
ctx_out, _ = mha(x_in, x_in, x_in, key_padding_mask=pad)
ctx_out[:, 0].sum().backward()
hook.remove()
go, gi = relevance["grad_output"], relevance["grad_input"]
print("grad_output", [None if g is None else tuple(g.shape) for g in go])
print("grad_input", len(gi), "summed equals x.grad", torch.allclose(gi[0] + gi[1] + gi[2],
                                                                    x_in.grad, atol=1e-6))
token_relevance = (x_in.grad * x_in).sum(-1)
print("token relevance for CLS", token_relevance.round(decimals=3).tolist())

# a forward pre-hook with kwargs turns on weights for a layer that was called without them
captured = []


def want_weights(module, args, kwargs):
    kwargs["need_weights"] = True
    kwargs["average_attn_weights"] = False
    return args, kwargs


def grab(module, args, kwargs, output):
    captured.append(output[1])


layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0,
                                   batch_first=True)
h1 = layer.self_attn.register_forward_pre_hook(want_weights, with_kwargs=True)
h2 = layer.self_attn.register_forward_hook(grab, with_kwargs=True)
enc = layer(tokens)
print("encoder out", tuple(enc.shape), "captured", len(captured), tuple(captured[0].shape))
print("captured row sums", captured[0].sum(-1).mean().round(decimals=4).item())
h1.remove()
h2.remove()
