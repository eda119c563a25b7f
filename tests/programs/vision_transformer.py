"""A small vision transformer (ViT): patch embedding as a strided Conv2d followed by
flatten(2).transpose(1, 2), a learned class token and position embedding (nn.Parameter),
nn.TransformerEncoder with pre-norm GELU layers, and a LayerNorm + Linear head on the class
token; trained a few epochs on synthetic 16x16 images, with attention maps read back."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(3)


def make_images(n):
    # class 0: a bright horizontal bar, 1: a vertical bar, 2: a diagonal, 3: a centered square
    x = rng.normal(scale=0.3, size=(n, 1, 16, 16)).astype(np.float32)
    y = rng.integers(0, 4, n)
    for i, c in enumerate(y):
        k = rng.integers(2, 12)
        if c == 0:
            x[i, 0, k:k + 3, 2:14] += 1.0
        elif c == 1:
            x[i, 0, 2:14, k:k + 3] += 1.0
        elif c == 2:
            x[i, 0, np.arange(16), np.arange(16)] += 1.5
        else:
            x[i, 0, 5:11, 5:11] += 0.8
    return torch.from_numpy(x), torch.from_numpy(y)


class PatchEmbed(nn.Module):
    """Image to patch embedding."""
    def __init__(self, img_size=16, patch_size=4, in_chans=1, embed_dim=32):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.n_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        x = self.proj(x)        # (n_samples, embed_dim, n_patches ** 0.5, n_patches ** 0.5)
        x = x.flatten(2)        # (n_samples, embed_dim, n_patches)
        x = x.transpose(1, 2)   # (n_samples, n_patches, embed_dim)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, img_size=16, patch_size=4, in_chans=1, n_classes=4, embed_dim=32,
                 depth=2, n_heads=4, mlp_ratio=2.0, p=0.0):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.patch_embed.n_patches, embed_dim))
        self.pos_drop = nn.Dropout(p=p)
        encoder_layer = nn.TransformerEncoderLayer(
            d_model=embed_dim, nhead=n_heads, dim_feedforward=int(embed_dim * mlp_ratio),
            dropout=p, activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(encoder_layer, num_layers=depth,
                                            enable_nested_tensor=False)
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, n_classes)

    def forward(self, x):
        n_samples = x.shape[0]
        x = self.patch_embed(x)
        cls_token = self.cls_token.expand(n_samples, -1, -1)  # (n_samples, 1, embed_dim)
        x = torch.cat((cls_token, x), dim=1)  # (n_samples, 1 + n_patches, embed_dim)
        x = x + self.pos_embed
        x = self.pos_drop(x)
        x = self.blocks(x)
        x = self.norm(x)
        cls_token_final = x[:, 0]  # just the CLS token
        return self.head(cls_token_final)


model = VisionTransformer()
# fixed weights in place of trunc_normal_ / xavier init: same numbers in both libraries
with torch.no_grad():
    for i, (name, p) in enumerate(model.named_parameters()):
        if name.endswith("bias"):
            p.zero_()
        elif p.dim() == 1:
            p.fill_(1.0)  # LayerNorm weights
        else:
            fan_in = p[0].numel() if p.dim() > 1 else 1
            p.copy_(torch.from_numpy(rng.normal(scale=1 / math.sqrt(fan_in),
                                                size=tuple(p.shape)).astype(np.float32)))
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("ViT with {} parameters".format(n_params))
for name, p in list(model.named_parameters())[:6]:
    print("  {:<45s} {}".format(name, tuple(p.shape)))
print(model.blocks.layers[0])

x_train, y_train = make_images(128)
x_test, y_test = make_images(64)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=False)

patches = model.patch_embed(x_train[:2])
print("patch embedding:", tuple(patches.shape), "tokens with class token:",
      tuple(torch.cat((model.cls_token.expand(2, -1, -1), patches), dim=1).shape))

optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=8 * len(loader))
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)

for epoch in range(8):
    model.train()
    running_loss, correct = 0.0, 0
    for images, labels in loader:
        optimizer.zero_grad()
        logits = model(images)
        loss = criterion(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        running_loss += loss.item() * images.size(0)
        correct += (logits.argmax(dim=1) == labels).sum().item()
    model.eval()
    with torch.no_grad():
        test_logits = model(x_test)
        test_acc = (test_logits.argmax(1) == y_test).float().mean().item()
    print("epoch {}  loss {:.4f}  train acc {:.3f}  test acc {:.3f}  lr {:.5f}".format(
        epoch + 1, running_loss / len(loader.dataset), correct / len(loader.dataset), test_acc,
        scheduler.get_last_lr()[0]))

# attention of the class token over the 16 patches in the first block (averaged over heads)
model.eval()
with torch.no_grad():
    tokens = torch.cat((model.cls_token.expand(4, -1, -1), model.patch_embed(x_test[:4])), 1)
    tokens = tokens + model.pos_embed
    layer = model.blocks.layers[0]
    h = layer.norm1(tokens)
    _, attn = layer.self_attn(h, h, h, need_weights=True, average_attn_weights=True)
print("attention weights:", tuple(attn.shape), "rows sum to 1:",
      torch.allclose(attn.sum(-1), torch.ones(4, 17)))
cls_attn = attn[:, 0, 1:].reshape(4, 4, 4)
for i in range(2):
    print("class {} image: class-token attention over the 4x4 patch grid".format(y_test[i].item()))
    print(cls_attn[i].round(decimals=3))
probs = F.softmax(model(x_test[:4]), dim=-1)
top_p, top_class = probs.topk(2, dim=-1)
print("top-2:", top_class.tolist(), [[round(v, 3) for v in row] for row in top_p.tolist()])
# position embeddings: cosine similarity between patch 0 and its neighbours
pos = F.normalize(model.pos_embed[0, 1:], dim=-1)
print("pos-embed cosine(0, 1/4/15):", [round(v, 3) for v in (pos @ pos[0])[[1, 4, 15]].tolist()])
