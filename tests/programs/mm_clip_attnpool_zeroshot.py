"""CLIP as openai/CLIP's model.py and open_clip's training loop write it, in miniature: a
ModifiedResNet-style image tower ending in AttentionPool2d (a positional embedding added to the
flattened feature map plus its mean token, then F.multi_head_attention_forward with separate
q/k/v projection weights), a text transformer of nn.MultiheadAttention blocks with QuickGELU
and a causal mask built by fill_(-inf).triu_(1), pooled at the end-of-text token through
argmax, logit_scale = log(1/0.07) exponentiated and clamped in place to log(100) under no_grad
after each step, the symmetric InfoNCE loss, and zero-shot classification with prompt
ensembling (the mean of normalised template embeddings, renormalised) and the CLIP notebook's
top-k accuracy. The tower weights are finally converted to fp16 with CLIP's convert_weights."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
EMBED, WIDTH, CTX = 16, 24, 7


class AttentionPool2d(nn.Module):
    def __init__(self, spacial_dim, embed_dim, num_heads, output_dim=None):
        super().__init__()
        self.positional_embedding = nn.Parameter(
            torch.randn(spacial_dim**2 + 1, embed_dim) / embed_dim**0.5
        )
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim or embed_dim)
        self.num_heads = num_heads

    def forward(self, x):
        x = x.flatten(start_dim=2).permute(2, 0, 1)  # NCHW -> (HW)NC
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)  # (HW+1)NC
        x = x + self.positional_embedding[:, None, :].to(x.dtype)
        x, _ = F.multi_head_attention_forward(
            query=x[:1],
            key=x,
            value=x,
            embed_dim_to_check=x.shape[-1],
            num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight,
            k_proj_weight=self.k_proj.weight,
            v_proj_weight=self.v_proj.weight,
            in_proj_weight=None,
            in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None,
            bias_v=None,
            add_zero_attn=False,
            dropout_p=0,
            out_proj_weight=self.c_proj.weight,
            out_proj_bias=self.c_proj.bias,
            use_separate_proj_weight=True,
            training=self.training,
            need_weights=False,
        )
        return x.squeeze(0)


class Bottleneck(nn.Module):
    expansion = 2

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride > 1 or inplanes != planes * self.expansion:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(stride),
                nn.Conv2d(inplanes, planes * self.expansion, 1, stride=1, bias=False),
                nn.BatchNorm2d(planes * self.expansion),
            )

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.avgpool(out)
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model, n_head, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, d_model * 4), QuickGELU(), nn.Linear(d_model * 4, d_model)
        )
        self.ln_2 = nn.LayerNorm(d_model)
        self.attn_mask = attn_mask

    def attention(self, x):
        self.attn_mask = (
            self.attn_mask.to(dtype=x.dtype, device=x.device)
            if self.attn_mask is not None
            else None
        )
        return self.attn(x, x, x, need_weights=False, attn_mask=self.attn_mask)[0]

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class CLIP(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(inplace=True),
        )
        self.layer1 = Bottleneck(8, 8, stride=2)
        self.attnpool = AttentionPool2d(4, 16, 2, EMBED)
        self.token_embedding = nn.Embedding(vocab_size, WIDTH)
        self.positional_embedding = nn.Parameter(torch.empty(CTX, WIDTH))
        self.blocks = nn.Sequential(
            *[ResidualAttentionBlock(WIDTH, 4, self.build_attention_mask()) for _ in range(2)]
        )
        self.ln_final = nn.LayerNorm(WIDTH)
        self.text_projection = nn.Parameter(torch.empty(WIDTH, EMBED))
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.text_projection, std=WIDTH**-0.5)
        for block in self.blocks:
            nn.init.normal_(block.attn.in_proj_weight, std=WIDTH**-0.5)
            nn.init.normal_(block.attn.out_proj.weight, std=WIDTH**-0.5)

    def build_attention_mask(self):
        mask = torch.empty(CTX, CTX)
        mask.fill_(float("-inf"))
        mask.triu_(1)
        return mask

    @property
    def dtype(self):
        return self.stem[0].weight.dtype

    def encode_image(self, image):
        return self.attnpool(self.layer1(self.stem(image.type(self.dtype))))

    def encode_text(self, text):
        x = self.token_embedding(text).type(self.dtype)
        x = x + self.positional_embedding.type(self.dtype)
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = self.blocks(x)
        x = x.permute(1, 0, 2)
        x = self.ln_final(x).type(self.dtype)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def forward(self, image, text):
        image_features = self.encode_image(image)
        text_features = self.encode_text(text)
        image_features = image_features / image_features.norm(dim=1, keepdim=True)
        text_features = text_features / text_features.norm(dim=1, keepdim=True)
        logit_scale = self.logit_scale.exp()
        logits_per_image = logit_scale * image_features @ text_features.t()
        return logits_per_image, logits_per_image.t()


# toy world: 4 colours x 2 shapes, captions "a photo of a <colour> <shape>"
words = [
    '<pad>',
    'a',
    'photo',
    'of',
    'picture',
    'red',
    'green',
    'blue',
    'yellow',
    'disk',
    'cross',
    '<sot>',
    '<eot>',
]
stoi = {w: i for i, w in enumerate(words)}
colours = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0)]
rng = np.random.default_rng(4)


def tokenize(texts, context_length=CTX):
    result = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, text in enumerate(texts):
        tokens = [stoi['<sot>']] + [stoi[w] for w in text.split()] + [stoi['<eot>']]
        if len(tokens) > context_length:
            tokens = tokens[:context_length]
            tokens[-1] = stoi['<eot>']
        result[i, : len(tokens)] = torch.tensor(tokens)
    return result


def draw(colour, shape):
    img = rng.normal(0, 0.1, size=(3, 16, 16)).astype(np.float32)
    yy, xx = np.mgrid[:16, :16]
    if shape == 'disk':
        m = (yy - 8) ** 2 + (xx - 8) ** 2 < 20
    else:
        m = (np.abs(yy - 8) < 2) | (np.abs(xx - 8) < 2)
    for c in range(3):
        img[c][m] += colours[colour][c]
    return img


names = ['red', 'green', 'blue', 'yellow']
classes = [(c, s) for c in range(4) for s in ('disk', 'cross')]
model = CLIP(len(words))
optimizer = torch.optim.AdamW(
    [
        {
            'params': [p for n, p in model.named_parameters() if p.ndim < 2 or 'logit_scale' in n],
            'weight_decay': 0.0,
        },
        {
            'params': [
                p for n, p in model.named_parameters() if p.ndim >= 2 and 'logit_scale' not in n
            ],
            'weight_decay': 0.1,
        },
    ],
    lr=3e-3,
    betas=(0.9, 0.98),
    eps=1e-6,
)
print('param groups', [len(g['params']) for g in optimizer.param_groups])
for step in range(30):
    idx = rng.permutation(len(classes))
    images = torch.from_numpy(np.stack([draw(*classes[i]) for i in idx]))
    texts = tokenize([f'a photo of a {names[classes[i][0]]} {classes[i][1]}' for i in idx])
    logits_per_image, logits_per_text = model(images, texts)
    ground_truth = torch.arange(len(images), dtype=torch.long)
    total_loss = (
        F.cross_entropy(logits_per_image, ground_truth)
        + F.cross_entropy(logits_per_text, ground_truth)
    ) / 2
    optimizer.zero_grad()
    total_loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))
    if step % 10 == 0 or step == 29:
        print(
            f'step {step:2d} loss {total_loss.item():.4f} '
            f'scale {model.logit_scale.exp().item():.3f}'
        )

templates = ['a photo of a {}', 'a picture of a {}', 'a {}']
model.eval()
with torch.no_grad():
    zeroshot_weights = []
    for c, s in classes:
        texts = tokenize([t.format(f'{names[c]} {s}') for t in templates])
        class_embeddings = model.encode_text(texts)
        class_embeddings /= class_embeddings.norm(dim=-1, keepdim=True)
        class_embedding = class_embeddings.mean(dim=0)
        class_embedding /= class_embedding.norm()
        zeroshot_weights.append(class_embedding)
    zeroshot_weights = torch.stack(zeroshot_weights, dim=1)
    print('zeroshot_weights', tuple(zeroshot_weights.shape))
    test_target = torch.tensor([i for i in range(len(classes)) for _ in range(3)])
    test_images = torch.from_numpy(np.stack([draw(*classes[i]) for i in test_target.tolist()]))
    image_features = model.encode_image(test_images)
    image_features /= image_features.norm(dim=-1, keepdim=True)
    logits = 100.0 * image_features @ zeroshot_weights


def accuracy(output, target, topk=(1,)):
    pred = output.topk(max(topk), 1, True, True)[1].t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))
    return [correct[:k].reshape(-1).float().sum(0, keepdim=True).item() for k in topk]


top1, top5 = accuracy(logits, test_target, topk=(1, 5))
print(
    f'Top-1 accuracy: {100 * top1 / len(test_target):.2f}  '
    f'Top-5 accuracy: {100 * top5 / len(test_target):.2f}'
)
probs = logits.softmax(dim=-1)
top_probs, top_labels = probs.cpu().topk(2, dim=-1)
print('first image top-2', top_labels[0].tolist(), top_probs[0].numpy().round(3).tolist())


def convert_weights(model):
    def _convert_weights_to_fp16(l):
        if isinstance(l, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            l.weight.data = l.weight.data.half()
            if l.bias is not None:
                l.bias.data = l.bias.data.half()
        if isinstance(l, nn.MultiheadAttention):
            for attr in [
                *[f"{s}_proj_weight" for s in ["in", "q", "k", "v"]],
                "in_proj_bias",
                "bias_k",
                "bias_v",
            ]:
                tensor = getattr(l, attr)
                if tensor is not None:
                    tensor.data = tensor.data.half()
        for name in ["text_projection", "proj"]:
            if hasattr(l, name):
                attr = getattr(l, name)
                if attr is not None:
                    attr.data = attr.data.half()

    model.apply(_convert_weights_to_fp16)


convert_weights(model)
print(
    'dtype after convert_weights',
    model.dtype,
    model.text_projection.dtype,
    model.ln_final.weight.dtype,
    model.blocks[0].attn.in_proj_weight.dtype,
    model.blocks[0].attn.out_proj.weight.dtype,
)
