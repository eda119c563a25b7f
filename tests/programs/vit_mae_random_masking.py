"""MAE pretraining at toy size, written the way facebookresearch/mae's models_mae.py is.

Fixed 2-D sin-cos position embeddings, per-sample random masking with argsort/gather and
ids_restore, a light decoder that unshuffles mask tokens, patchify/unpatchify with einsum,
normalized-pixel loss on masked patches only, then fine-tuning-time position-embedding
resampling with F.interpolate(bicubic) for a larger image.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(1)


def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
    omega = np.arange(embed_dim // 2, dtype=np.float64)
    omega /= embed_dim / 2.0
    omega = 1.0 / 10000**omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def get_2d_sincos_pos_embed(embed_dim, grid_size, cls_token=False):
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.stack(np.meshgrid(grid_w, grid_h), axis=0).reshape([2, 1, grid_size, grid_size])
    emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])
    emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])
    pos_embed = np.concatenate([emb_h, emb_w], axis=1)
    if cls_token:
        pos_embed = np.concatenate([np.zeros([1, embed_dim]), pos_embed], axis=0)
    return pos_embed


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(approximate="tanh"),
                                 nn.Linear(2 * dim, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class MaskedAutoencoderViT(nn.Module):
    def __init__(self, img_size=16, patch_size=4, in_chans=3, embed_dim=32, depth=2,
                 decoder_embed_dim=16, decoder_depth=1, norm_pix_loss=True):
        super().__init__()
        self.patch_size = patch_size
        self.grid = img_size // patch_size
        num_patches = self.grid**2
        self.patch_embed = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim),
                                      requires_grad=False)
        self.blocks = nn.ModuleList([Block(embed_dim, 4) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim)
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim, bias=True)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        self.decoder_pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + 1, decoder_embed_dim), requires_grad=False)
        self.decoder_blocks = nn.ModuleList([Block(decoder_embed_dim, 2)
                                             for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim)
        self.decoder_pred = nn.Linear(decoder_embed_dim, patch_size**2 * in_chans, bias=True)
        self.norm_pix_loss = norm_pix_loss
        self.initialize_weights()

    def initialize_weights(self):
        pos_embed = get_2d_sincos_pos_embed(self.pos_embed.shape[-1], self.grid, cls_token=True)
        self.pos_embed.data.copy_(torch.from_numpy(pos_embed).float().unsqueeze(0))
        dec = get_2d_sincos_pos_embed(self.decoder_pos_embed.shape[-1], self.grid, True)
        self.decoder_pos_embed.data.copy_(torch.from_numpy(dec).float().unsqueeze(0))
        w = self.patch_embed.weight.data
        torch.nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        torch.nn.init.normal_(self.cls_token, std=0.02)
        torch.nn.init.normal_(self.mask_token, std=0.02)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def patchify(self, imgs):
        p, h = self.patch_size, self.grid
        x = imgs.reshape(shape=(imgs.shape[0], 3, h, p, h, p))
        x = torch.einsum("nchpwq->nhwpqc", x)
        return x.reshape(shape=(imgs.shape[0], h * h, p**2 * 3))

    def unpatchify(self, x):
        p, h = self.patch_size, self.grid
        x = x.reshape(shape=(x.shape[0], h, h, p, p, 3))
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(shape=(x.shape[0], 3, h * p, h * p))

    def random_masking(self, x, mask_ratio):
        N, L, D = x.shape
        len_keep = int(L * (1 - mask_ratio))
        noise = torch.rand(N, L, device=x.device)
        ids_shuffle = torch.argsort(noise, dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        ids_keep = ids_shuffle[:, :len_keep]
        x_masked = torch.gather(x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, D))
        mask = torch.ones([N, L], device=x.device)
        mask[:, :len_keep] = 0
        mask = torch.gather(mask, dim=1, index=ids_restore)
        return x_masked, mask, ids_restore

    def forward_encoder(self, x, mask_ratio):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = x + self.pos_embed[:, 1:, :]
        x, mask, ids_restore = self.random_masking(x, mask_ratio)
        cls_token = self.cls_token + self.pos_embed[:, :1, :]
        x = torch.cat((cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x), mask, ids_restore

    def forward_decoder(self, x, ids_restore):
        x = self.decoder_embed(x)
        mask_tokens = self.mask_token.repeat(x.shape[0], ids_restore.shape[1] + 1 - x.shape[1], 1)
        x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)
        x_ = torch.gather(x_, dim=1, index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
        x = torch.cat([x[:, :1, :], x_], dim=1)
        x = x + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            x = blk(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:, :]

    def forward_loss(self, imgs, pred, mask):
        target = self.patchify(imgs)
        if self.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.0e-6) ** 0.5
        loss = ((pred - target) ** 2).mean(dim=-1)
        return (loss * mask).sum() / mask.sum()

    def forward(self, imgs, mask_ratio=0.75):
        latent, mask, ids_restore = self.forward_encoder(imgs, mask_ratio)
        pred = self.forward_decoder(latent, ids_restore)
        return self.forward_loss(imgs, pred, mask), pred, mask


# smooth toy images: sums of a few random 2-D sinusoids
yy, xx = np.meshgrid(np.linspace(0, 1, 16), np.linspace(0, 1, 16), indexing="ij")
imgs = np.zeros((12, 3, 16, 16), dtype=np.float32)
for i in range(12):
    for c in range(3):
        fx, fy, ph = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, np.pi)
        imgs[i, c] = np.sin(2 * np.pi * (fx * xx + fy * yy) + ph)
imgs = torch.from_numpy(imgs)

model = MaskedAutoencoderViT()
print("pos_embed row 6:", model.pos_embed[0, 6, ::5].round(decimals=4))
print("trainable:", sum(p.numel() for p in model.parameters() if p.requires_grad),
      "frozen:", sum(p.numel() for p in model.parameters() if not p.requires_grad))

x_check = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).reshape(2, 3, 16, 16)
print("unpatchify(patchify(x)) == x:", torch.equal(model.unpatchify(model.patchify(x_check)),
                                                   x_check))

optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, betas=(0.9, 0.95), weight_decay=0.05)
for step in range(8):
    loss, pred, mask = model(imgs, mask_ratio=0.75)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 2 == 1:
        print(f"step {step} loss {loss.item():.4f} masked per image {mask.sum(1)[:3].tolist()}")

model.eval()
with torch.no_grad():
    _, mask, ids_restore = model.forward_encoder(imgs[:2], 0.5)
print("mask:\n", mask.int())
print("ids_restore[0]:", ids_restore[0])
kept_first = torch.argsort(ids_restore[0])[:8].sort().values
print("kept ids == zeros of mask:", torch.equal(kept_first, torch.nonzero(mask[0] == 0).flatten()))

# paste visible patches back into the reconstruction (the MAE visualisation)
with torch.no_grad():
    loss, pred, mask = model(imgs[:1], mask_ratio=0.75)
    recon = model.unpatchify(pred)
    m = mask.unsqueeze(-1).repeat(1, 1, 4**2 * 3)
    m = model.unpatchify(m)
    im_paste = imgs[:1] * (1 - m) + recon * m
print(f"paste: visible fraction {(1 - m).mean().item():.4f}, "
      f"max err on visible {(im_paste - imgs[:1]).mul(1 - m).abs().max().item():.4f}")

# fine-tuning at 24x24: resample the 4x4 grid of position embeddings to 6x6
pos = model.pos_embed.detach()
cls_pos, grid_pos = pos[:, :1], pos[:, 1:]
grid_pos = grid_pos.reshape(1, 4, 4, -1).permute(0, 3, 1, 2)
grid_pos = F.interpolate(grid_pos, size=(6, 6), mode="bicubic", align_corners=False)
grid_pos = grid_pos.permute(0, 2, 3, 1).flatten(1, 2)
new_pos = torch.cat((cls_pos, grid_pos), dim=1)
print("resampled pos_embed:", tuple(new_pos.shape), f"{new_pos.abs().sum().item():.3f}")
try:
    model.pos_embed.copy_(new_pos)
except RuntimeError as e:
    print("RuntimeError:", str(e).split("\n")[0][:60])
