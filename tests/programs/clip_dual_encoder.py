"""A CLIP-style dual encoder, after OpenAI's CLIP model code and open_clip's training loop:
an image tower (a small patch-embedding transformer) and a text tower (a causal transformer
pooled at the end-of-text token found with ``argmax``), both projected and ``F.normalize``d,
a learnable ``logit_scale`` (log of 1/0.07) clamped to 100 after each step, the symmetric
cross-entropy over ``torch.arange`` labels, and AdamW with linear warmup then cosine decay
(``SequentialLR`` of ``LinearLR`` and ``CosineAnnealingLR``). Then zero-shot classification
with prompt embeddings, as in the CLIP notebook.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
VOCAB, CTX, WIDTH, EMBED = 12, 6, 32, 16
SOT, EOT = 10, 11  # start / end tokens; EOT has the largest id, so argmax finds it


class LayerNorm(nn.LayerNorm):
    """Subclass of LayerNorm that computes in float32 (as CLIP's does for fp16 weights)."""

    def forward(self, x):
        orig_type = x.dtype
        return super().forward(x.type(torch.float32)).type(orig_type)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model, n_head, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_model * 4), QuickGELU(),
                                 nn.Linear(d_model * 4, d_model))
        self.ln_2 = LayerNorm(d_model)
        self.attn_mask = attn_mask

    def attention(self, x):
        mask = self.attn_mask.to(dtype=x.dtype, device=x.device) \
            if self.attn_mask is not None else None
        return self.attn(x, x, x, need_weights=False, attn_mask=mask)[0]

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, attn_mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask)
                                         for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, resolution, patch, width, layers, heads, output_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(
            scale * torch.randn((resolution // patch) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(
            x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = VisionTransformer(8, 4, WIDTH, 1, 4, EMBED)
        self.transformer = Transformer(WIDTH, 2, 4, attn_mask=self.build_attention_mask())
        self.token_embedding = nn.Embedding(VOCAB, WIDTH)
        self.positional_embedding = nn.Parameter(torch.empty(CTX, WIDTH))
        self.ln_final = LayerNorm(WIDTH)
        self.text_projection = nn.Parameter(torch.empty(WIDTH, EMBED))
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
        self.initialize_parameters()

    def initialize_parameters(self):
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        proj_std = (WIDTH ** -0.5) * ((2 * 2) ** -0.5)
        attn_std = WIDTH ** -0.5
        fc_std = (2 * WIDTH) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp[0].weight, std=fc_std)
            nn.init.normal_(block.mlp[2].weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=WIDTH ** -0.5)

    def build_attention_mask(self):
        mask = torch.empty(CTX, CTX)
        mask.fill_(float("-inf"))
        mask.triu_(1)  # zero out the lower diagonal
        return mask

    def encode_image(self, image):
        return self.visual(image)

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        # features at the EOT token (the highest id in each sequence)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def forward(self, image, text):
        image_features = F.normalize(self.encode_image(image), dim=-1)
        text_features = F.normalize(self.encode_text(text), dim=-1)
        logit_scale = self.logit_scale.exp()
        logits_per_image = logit_scale * image_features @ text_features.t()
        return logits_per_image, logits_per_image.t()


# a toy paired data set: 4 "classes" of images (a bright quadrant) with captions naming it
def make_batch(classes):
    imgs = 0.1 * torch.randn(len(classes), 3, 8, 8)
    texts = torch.zeros(len(classes), CTX, dtype=torch.long)
    for i, c in enumerate(classes.tolist()):
        r, q = divmod(c, 2)
        imgs[i, c % 3, 4 * r:4 * r + 4, 4 * q:4 * q + 4] += 1.0
        length = 2 + c % 3
        words = [1 + (c + j) % 9 for j in range(length)]
        texts[i, :length + 2] = torch.tensor([SOT] + words + [EOT])
    return imgs, texts


model = CLIP()
print(f"params: {sum(p.numel() for p in model.parameters())}")
print(model.transformer.resblocks[0].attn_mask)
decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "embedding" in n]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.2},
                               {"params": no_decay, "weight_decay": 0.0}],
                              lr=3e-3, betas=(0.9, 0.98), eps=1e-6)
steps, warmup = 40, 5
scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, schedulers=[
    torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
    torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - warmup)],
    milestones=[warmup])
loss_img, loss_txt = nn.CrossEntropyLoss(), nn.CrossEntropyLoss()

for step in range(steps):
    classes = torch.randperm(8)[:6] % 4
    classes = torch.unique(classes)  # distinct pairs: the diagonal is the only positive
    images, texts = make_batch(classes)
    logits_per_image, logits_per_text = model(images, texts)
    ground_truth = torch.arange(len(images), dtype=torch.long)
    total_loss = (loss_img(logits_per_image, ground_truth)
                  + loss_txt(logits_per_text, ground_truth)) / 2
    optimizer.zero_grad(set_to_none=True)
    total_loss.backward()
    optimizer.step()
    scheduler.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))
    if step % 5 == 0 or step == steps - 1:
        acc = (logits_per_image.argmax(1) == ground_truth).float().mean().item()
        print(f"step {step:2d} loss {total_loss.item():.4f} acc {acc:.2f} "
              f"scale {model.logit_scale.exp().item():.3f} "
              f"lr {scheduler.get_last_lr()[0]:.6f}")

# zero-shot: embed one prompt per class, classify fresh images
model.eval()
with torch.no_grad():
    _, prompts = make_batch(torch.arange(4))
    text_features = model.encode_text(prompts)
    text_features /= text_features.norm(dim=-1, keepdim=True)
    images, _ = make_batch(torch.tensor([0, 1, 2, 3, 3, 2, 1, 0]))
    image_features = model.encode_image(images)
    image_features /= image_features.norm(dim=-1, keepdim=True)
    similarity = (100.0 * image_features @ text_features.T).softmax(dim=-1)
    values, indices = similarity[0].topk(3)
    print("top-3 for image 0:", indices.tolist(), [f"{v:.3f}" for v in values.tolist()])
    print("zero-shot predictions:", similarity.argmax(dim=-1).tolist())
    print("cosine diag:", [f"{v:.3f}" for v in (image_features[:4] * text_features)
                           .sum(-1).tolist()])
