"""A miniature wav2vec 2.0 pretraining step, written like fairseq's / HuggingFace's reference
code: a strided conv feature encoder (``GroupNorm(C, C)`` on the first layer, GELU), a
LayerNorm + Linear feature projection, span masking from a NumPy ``compute_mask_indices`` and a
learned mask embedding (``nn.Parameter(torch.FloatTensor(d).uniform_())``), a convolutional
relative position embedding wrapped in ``weight_norm(..., dim=2)`` with an even kernel whose
extra frame is trimmed, a pre-LN ``nn.TransformerEncoder`` with ``src_key_padding_mask``, a
Gumbel-softmax product quantizer (``F.gumbel_softmax(hard=True)`` under ``torch.manual_seed``,
codebook diversity from the soft distribution's perplexity), negatives sampled by
``torch.randint``, ``torch.cosine_similarity`` logits over (1 + K) candidates and the InfoNCE
cross entropy; AdamW with warmup via ``LambdaLR``; float64."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(2)
B, L = 3, 400
D, G, V, K = 16, 2, 4, 4          # model dim, codebook groups, entries per group, negatives

t = torch.arange(L) / 400.0
waves = torch.stack([torch.sin(2 * math.pi * (40 + 25 * i) * t) * torch.hann_window(L)
                     + 0.05 * torch.randn(L) for i in range(B)])
lengths = torch.tensor([400, 360, 300])
waves[1, 360:], waves[2, 300:] = 0.0, 0.0
print("waves", waves.shape, waves.dtype, waves.abs().max(dim=1).values.round(decimals=3))


class FeatureEncoder(nn.Module):
    def __init__(self, layers=((8, 10, 5), (8, 3, 2), (8, 3, 2))):
        super().__init__()
        blocks, cin = [], 1
        for i, (cout, k, s) in enumerate(layers):
            norm = nn.GroupNorm(cout, cout, affine=True) if i == 0 else nn.Identity()
            blocks.append(nn.Sequential(nn.Conv1d(cin, cout, k, stride=s, bias=False), norm,
                                        nn.GELU()))
            cin = cout
        self.conv_layers = nn.ModuleList(blocks)
        self.layers = layers

    def forward(self, x):
        x = x[:, None]
        for conv in self.conv_layers:
            x = conv(x)
        return x

    def output_lengths(self, lengths):
        for _, k, s in self.layers:
            lengths = torch.div(lengths - k, s, rounding_mode="floor") + 1
        return lengths


class PosConv(nn.Module):
    def __init__(self, d, k=4, groups=2):
        super().__init__()
        conv = nn.Conv1d(d, d, k, padding=k // 2, groups=groups)
        nn.init.normal_(conv.weight, mean=0, std=math.sqrt(4 / (k * d)))
        nn.init.constant_(conv.bias, 0)
        self.conv = nn.utils.weight_norm(conv, name="weight", dim=2)
        self.remove = 1 if k % 2 == 0 else 0

    def forward(self, x):                  # (B, T, D)
        x = self.conv(x.transpose(1, 2))
        if self.remove > 0:
            x = x[:, :, :-self.remove]
        return F.gelu(x).transpose(1, 2)


class GumbelQuantizer(nn.Module):
    def __init__(self, d_in, groups, num_vars, vq_dim):
        super().__init__()
        self.groups, self.num_vars = groups, num_vars
        self.vars = nn.Parameter(torch.FloatTensor(1, groups * num_vars, vq_dim // groups))
        nn.init.uniform_(self.vars)
        self.weight_proj = nn.Linear(d_in, groups * num_vars)
        nn.init.normal_(self.weight_proj.weight, mean=0, std=1)
        nn.init.zeros_(self.weight_proj.bias)

    def forward(self, x, tau):
        bsz, tsz, fsz = x.shape
        x = self.weight_proj(x.reshape(-1, fsz)).view(bsz * tsz * self.groups, -1)
        avg_probs = torch.softmax(x.view(bsz * tsz, self.groups, -1).float(), dim=-1).mean(dim=0)
        perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-7), dim=-1)).sum()
        hard = F.gumbel_softmax(x.float(), tau=tau, hard=True).type_as(x)
        codes = hard.argmax(-1).view(bsz, tsz, self.groups)
        x = hard.view(bsz * tsz, -1).unsqueeze(-1) * self.vars.squeeze(0)
        x = x.view(bsz * tsz, self.groups, self.num_vars, -1).sum(-2)
        return x.view(bsz, tsz, -1), perplexity, codes


def compute_mask_indices(shape, padding_mask, mask_prob, mask_length, rs):
    bsz, all_sz = shape
    mask = np.full((bsz, all_sz), False)
    for i in range(bsz):
        sz = all_sz - int(padding_mask[i].sum())
        num = max(1, int(mask_prob * sz / mask_length + rs.random()))
        starts = rs.choice(sz - mask_length, num, replace=False)
        for s in starts:
            mask[i, s:s + mask_length] = True
    return mask


class Wav2Vec2(nn.Module):
    def __init__(self):
        super().__init__()
        self.feature_extractor = FeatureEncoder()
        self.layer_norm = nn.LayerNorm(8)
        self.post_extract_proj = nn.Linear(8, D)
        self.mask_emb = nn.Parameter(torch.FloatTensor(D).uniform_())
        self.pos_conv = PosConv(D)
        layer = nn.TransformerEncoderLayer(D, 2, dim_feedforward=32, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.quantizer = GumbelQuantizer(8, G, V, D)
        self.final_proj = nn.Linear(D, D)

    def forward(self, wave, lengths, mask, tau=2.0):
        feats = self.feature_extractor(wave).transpose(1, 2)          # (B, T, 8)
        feats = self.layer_norm(feats)
        out_len = self.feature_extractor.output_lengths(lengths)
        padding_mask = torch.arange(feats.shape[1])[None, :] >= out_len[:, None]
        unmasked = feats
        x = self.post_extract_proj(feats)
        x[mask] = self.mask_emb.to(x.dtype)
        x = x + self.pos_conv(x)
        x = self.encoder(x, src_key_padding_mask=padding_mask)
        q, perplexity, codes = self.quantizer(unmasked, tau)
        return self.final_proj(x[mask]), q[mask], perplexity, codes, padding_mask


model = Wav2Vec2()
print(model.pos_conv.conv, sorted(n for n, _ in model.pos_conv.named_parameters()))
with torch.no_grad():
    n_frames = model.feature_extractor(waves).shape[-1]
    pad = model.feature_extractor.output_lengths(lengths)
print("frames", n_frames, pad.tolist())


def sample_negatives(y, num):
    """y: (M, D) quantized targets; draw num others for each from the same pool."""
    m = y.shape[0]
    idx = torch.randint(0, m - 1, (m, num))
    idx = idx + (idx >= torch.arange(m)[:, None]).long()         # skip the positive itself
    return y[idx], idx


def contrastive_logits(x, pos, negs, temp=0.1):
    targets = torch.cat([pos.unsqueeze(1), negs], dim=1)           # (M, 1 + K, D)
    logits = torch.cosine_similarity(x.unsqueeze(1), targets, dim=-1) / temp
    neg_is_pos = (pos.unsqueeze(1) == negs).all(-1)
    logits[:, 1:][neg_is_pos] = float("-inf")
    return logits


opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.98), eps=1e-6,
                        weight_decay=0.01)
warmup = 3
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup))
for step in range(6):
    pm = np.arange(n_frames)[None] >= pad.numpy()[:, None]
    mask = torch.from_numpy(compute_mask_indices((B, n_frames), pm, 0.5, 3, rng))
    tau = max(2.0 * 0.7 ** step, 0.5)
    x, q, perplexity, codes, _ = model(waves, lengths, mask, tau)
    negs, idx = sample_negatives(q, K)
    logits = contrastive_logits(x, q, negs)
    target = logits.new_zeros(logits.size(0), dtype=torch.long)
    nce = F.cross_entropy(logits, target, reduction="sum") / logits.size(0)
    diversity = (G * V - perplexity) / (G * V)
    loss = nce + 0.1 * diversity
    opt.zero_grad()
    loss.backward()
    gn = nn.utils.clip_grad_norm_(model.parameters(), 10.0)
    opt.step()
    sched.step()
    acc = (logits.argmax(-1) == 0).double().mean()
    print(f"step {step} masked {int(mask.sum())} nce {nce.item():.4f} ppl {perplexity.item():.3f} "
          f"acc {acc.item():.3f} gnorm {gn.item():.3f} lr {sched.get_last_lr()[0]:.5f}")
print("codes", codes[0, :8].tolist(), "unique codes",
      torch.unique(codes.flatten(0, 1), dim=0).shape[0])
print("weight_g", model.pos_conv.conv.weight_g.shape,
      model.pos_conv.conv.weight_g.flatten()[:3].round(decimals=4))
