"""Transformer text recognition in the manner of ViTSTR / PARSeq / TrOCR reference code: a conv
patch embedding (``Conv2d(stride=patch)``, ``flatten(2).transpose(1, 2)``), learned position
embeddings (``nn.Parameter`` + ``nn.init.trunc_normal_``), a ``register_buffer(persistent=False)``
causal mask from ``nn.Transformer.generate_square_subsequent_mask``, an ``nn.TransformerEncoder``
and an ``nn.TransformerDecoder`` (``tgt_key_padding_mask``, ``memory``), targets padded with
``pad_sequence(batch_first=True, padding_value=PAD)``, ``cross_entropy(ignore_index=PAD,
label_smoothing=0.1)``, AdamW + ``CosineAnnealingWarmRestarts``; ``@torch.no_grad()`` greedy and
beam-search decoding (``log_softmax``, ``topk`` over flattened beam x vocab scores,
``torch.div(..., rounding_mode="floor")``, ``index_select`` of beam histories), character error
rate by edit distance, and the state_dict without the non-persistent buffer; float64."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)
rng = np.random.default_rng(8)
VOCAB = ["<pad>", "<bos>", "<eos>", "x", "y", "z"]
PAD, BOS, EOS = 0, 1, 2
MAX_LEN = 5
GLYPH = {3: np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]]),
         4: np.array([[1, 0, 1], [0, 1, 0], [0, 1, 0]]),
         5: np.array([[1, 1, 1], [0, 1, 0], [1, 1, 1]])}


def render(ids, w=16):
    img = 0.1 * rng.standard_normal((4, w))
    for k, c in enumerate(ids):
        img[0:3, 1 + 4 * k:4 + 4 * k] += GLYPH[c]
    return img


words = [[int(c) for c in rng.integers(3, 6, int(rng.integers(1, 4)))] for _ in range(24)]
images = torch.from_numpy(np.stack([render(wd) for wd in words]))[:, None]
targets = pad_sequence([torch.tensor([BOS] + wd + [EOS]) for wd in words], batch_first=True,
                       padding_value=PAD)
print("images", images.shape, "targets", targets.shape, targets[:2].tolist())


class OCRTransformer(nn.Module):
    def __init__(self, d=16, patch=(4, 2), n_patches=8):
        super().__init__()
        self.patch_embed = nn.Conv2d(1, d, kernel_size=patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, n_patches, d))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.tok_embed = nn.Embedding(len(VOCAB), d, padding_idx=PAD)
        self.query_pos = nn.Parameter(torch.empty(1, MAX_LEN + 1, d).normal_(std=0.02))
        enc_layer = nn.TransformerEncoderLayer(d, 2, 32, dropout=0.0, batch_first=True)
        dec_layer = nn.TransformerDecoderLayer(d, 2, 32, dropout=0.0, batch_first=True,
                                               norm_first=True)
        self.encoder = nn.TransformerEncoder(enc_layer, 1, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec_layer, 1, norm=nn.LayerNorm(d))
        self.head = nn.Linear(d, len(VOCAB))
        self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(MAX_LEN + 1),
                             persistent=False)

    def encode(self, x):
        return self.encoder(self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed)

    def decode(self, memory, tgt):
        n = tgt.shape[1]
        h = self.tok_embed(tgt) * math.sqrt(self.tok_embed.embedding_dim) + self.query_pos[:, :n]
        out = self.decoder(h, memory, tgt_mask=self.causal[:n, :n],
                           tgt_key_padding_mask=tgt == PAD, tgt_is_causal=True)
        return self.head(out)

    def forward(self, x, tgt):
        return self.decode(self.encode(x), tgt)


model = OCRTransformer().double()
print("buffers", [n for n, _ in model.named_buffers()], "in state_dict",
      "causal" in model.state_dict(), model.causal[:3, :3])
opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2, eta_min=1e-4)
for epoch in range(15):
    model.train()
    total = 0.0
    for i in range(0, len(words), 12):
        tgt = targets[i:i + 12]
        logits = model(images[i:i + 12], tgt[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, len(VOCAB)), tgt[:, 1:].reshape(-1),
                               ignore_index=PAD, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(epoch + i / len(words))
        total += loss.item()
    if epoch % 5 == 4:
        print(f"epoch {epoch} loss {total / 2:.4f} lr {opt.param_groups[0]['lr']:.5f}")


@torch.no_grad()
def greedy(x):
    memory = model.encode(x)
    seq = torch.full((x.shape[0], 1), BOS, dtype=torch.long)
    for _ in range(MAX_LEN):
        nxt = model.decode(memory, seq)[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
    return seq[:, 1:]


@torch.no_grad()
def beam_search(x, k=3):
    memory = model.encode(x[None]).expand(k, -1, -1)
    seqs = torch.full((k, 1), BOS, dtype=torch.long)
    scores = torch.tensor([0.0] + [float("-inf")] * (k - 1), dtype=torch.float64)
    finished = []
    for _ in range(MAX_LEN):
        logp = model.decode(memory, seqs)[:, -1].log_softmax(-1)
        cand = (scores[:, None] + logp).flatten()
        top, idx = cand.topk(k)
        beam = torch.div(idx, len(VOCAB), rounding_mode="floor")
        tok = idx % len(VOCAB)
        seqs = torch.cat([seqs.index_select(0, beam), tok[:, None]], dim=1)
        scores = top.clone()
        done = tok == EOS
        for b in done.nonzero().flatten().tolist():
            finished.append((scores[b].item(), seqs[b, 1:-1].tolist()))
        scores[done] = float("-inf")
        if len(finished) >= k:
            break
    return max(finished, default=(float("-inf"), []))


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ca != cb))
    return d[-1]


def strip(ids):
    out = []
    for t in ids:
        if t == EOS:
            break
        out.append(t)
    return out


model.eval()
hyps = [strip(s) for s in greedy(images).tolist()]
cer = sum(edit_distance(h, w) for h, w in zip(hyps, words)) / sum(map(len, words))
acc = sum(h == w for h, w in zip(hyps, words)) / len(words)
print("greedy", ["".join(VOCAB[c] for c in h) for h in hyps[:5]], f"CER {cer:.3f} acc {acc:.3f}")
for i in range(3):
    score, seq = beam_search(images[i])
    print("beam", "".join(VOCAB[c] for c in seq), round(score, 4), "gt",
          "".join(VOCAB[c] for c in words[i]))
