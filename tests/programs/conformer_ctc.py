"""A Conformer encoder for speech recognition, after the Conformer paper and ESPnet/
torchaudio-style implementations: Conv2d subsampling of filterbank frames, macaron feed-forward
modules with SiLU and half-step residuals, multi-head self-attention with Transformer-XL
relative positional encodings (learned u/v biases and the "relative shift" trick), a
convolution module (pointwise Conv1d, nn.GLU, depthwise Conv1d with groups=channels,
BatchNorm1d, SiLU), key-padding masks for utterances of different lengths, and CTC training
with greedy decoding."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)


class RelPositionalEncoding(nn.Module):
    """Sinusoidal encodings of the relative distances T-1, ..., 0, ..., -(T-1)."""

    def __init__(self, d_model):
        super().__init__()
        self.d_model = d_model

    def forward(self, T):
        pos = torch.arange(T - 1, -T, -1.0).unsqueeze(1)
        div = torch.exp(torch.arange(0, self.d_model, 2).float()
                        * (-math.log(10000.0) / self.d_model))
        pe = torch.zeros(2 * T - 1, self.d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        return pe


def rel_shift(x):
    """(B, H, T, 2T-1) scores by relative position -> (B, H, T, T) scores by key position."""
    b, h, t, n = x.shape
    x = F.pad(x, (1, 0))
    x = x.view(b, h, n + 1, t)
    return x[:, :, 1:].view(b, h, t, n)[..., : n // 2 + 1]


class RelMultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, dropout=0.0):
        super().__init__()
        self.h, self.d_k = n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.pos = nn.Linear(d_model, d_model, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(n_heads, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.zeros(n_heads, self.d_k))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, pos_emb, key_padding_mask):
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.h, self.d_k).unbind(2)
        p = self.pos(pos_emb).view(-1, self.h, self.d_k).transpose(0, 1)   # (H, 2T-1, d_k)
        k, v = k.transpose(1, 2), v.transpose(1, 2)
        ac = torch.matmul((q + self.pos_bias_u).transpose(1, 2), k.transpose(-2, -1))
        bd = torch.matmul((q + self.pos_bias_v).transpose(1, 2), p.transpose(-2, -1))
        scores = (ac + rel_shift(bd)) / math.sqrt(self.d_k)
        scores = scores.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))
        attn = self.dropout(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(attn, v).transpose(1, 2).reshape(B, T, -1)
        return self.out(ctx), attn


class ConvModule(nn.Module):
    def __init__(self, d_model, kernel_size=7):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.pointwise1 = nn.Conv1d(d_model, 2 * d_model, 1)
        self.glu = nn.GLU(dim=1)
        # no bias before BatchNorm: its gradient is pure rounding noise, which Adam amplifies
        self.depthwise = nn.Conv1d(d_model, d_model, kernel_size, padding=kernel_size // 2,
                                   groups=d_model, bias=False)
        self.bn = nn.BatchNorm1d(d_model)
        self.act = nn.SiLU()
        self.pointwise2 = nn.Conv1d(d_model, d_model, 1)

    def forward(self, x, pad_mask):
        x = self.norm(x).masked_fill(pad_mask.unsqueeze(-1), 0.0).transpose(1, 2)
        x = self.glu(self.pointwise1(x))
        x = self.act(self.bn(self.depthwise(x)))
        return self.pointwise2(x).transpose(1, 2)


class FeedForward(nn.Sequential):
    def __init__(self, d_model, mult=4, dropout=0.0):
        super().__init__(nn.LayerNorm(d_model), nn.Linear(d_model, mult * d_model), nn.SiLU(),
                         nn.Dropout(dropout), nn.Linear(mult * d_model, d_model))


class ConformerBlock(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.ff1 = FeedForward(d_model)
        self.attn_norm = nn.LayerNorm(d_model)
        self.attn = RelMultiHeadAttention(d_model, n_heads)
        self.conv = ConvModule(d_model)
        self.ff2 = FeedForward(d_model)
        self.final_norm = nn.LayerNorm(d_model)

    def forward(self, x, pos_emb, pad_mask):
        x = x + 0.5 * self.ff1(x)
        a, attn = self.attn(self.attn_norm(x), pos_emb, pad_mask)
        x = x + a
        x = x + self.conv(x, pad_mask)
        x = x + 0.5 * self.ff2(x)
        return self.final_norm(x), attn


class Conformer(nn.Module):
    def __init__(self, n_mels=16, d_model=32, n_heads=4, n_layers=2, vocab=6):
        super().__init__()
        self.subsample = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2), nn.ReLU(),
                                       nn.Conv2d(8, 8, 3, stride=2), nn.ReLU())
        f = ((n_mels - 1) // 2 - 1) // 2
        self.proj = nn.Linear(8 * f, d_model)
        self.pos_enc = RelPositionalEncoding(d_model)
        self.blocks = nn.ModuleList([ConformerBlock(d_model, n_heads) for _ in range(n_layers)])
        self.head = nn.Linear(d_model, vocab)

    def forward(self, feats, lengths):
        x = self.subsample(feats.unsqueeze(1))               # (B, 8, T', F')
        B, C, T, Fq = x.shape
        x = self.proj(x.permute(0, 2, 1, 3).reshape(B, T, C * Fq))
        out_lengths = ((lengths - 1) // 2 - 1) // 2
        pad_mask = torch.arange(T).unsqueeze(0) >= out_lengths.unsqueeze(1)
        pos_emb = self.pos_enc(T)
        for block in self.blocks:
            x, attn = block(x, pos_emb, pad_mask)
        return self.head(x).log_softmax(-1), out_lengths, attn


# relative shift check: entry (i, j) must read relative position i - j
T = 4
rel = torch.arange(2 * T - 1, dtype=torch.float32).flip(0).sub(T - 1).expand(1, 1, T, -1)
print("rel_shift", rel_shift(rel.contiguous())[0, 0].tolist())

# toy "speech": each token is a burst of energy in its own band of filterbank channels
vocab, n_mels = 6, 16


def utterance(tokens):
    frames = []
    for tok in tokens:
        seg = 0.1 * torch.randn(8, n_mels)
        seg[:, 3 * (tok - 1):3 * (tok - 1) + 3] += 1.0
        frames.append(seg)
        frames.append(0.1 * torch.randn(4, n_mels))
    return torch.cat(frames)


batch_tokens = [torch.randint(1, vocab, (int(n),)) for n in torch.randint(2, 5, (24,))]
utts = [utterance(t.tolist()) for t in batch_tokens]
feat_lens = torch.tensor([u.shape[0] for u in utts])
feats = nn.utils.rnn.pad_sequence(utts, batch_first=True)
targets = torch.cat(batch_tokens)
target_lens = torch.tensor([len(t) for t in batch_tokens])
print("features", tuple(feats.shape), "lengths", feat_lens[:6].tolist())

model = Conformer(n_mels=n_mels, vocab=vocab)
print("parameters", sum(p.numel() for p in model.parameters()),
      "depthwise", tuple(model.blocks[0].conv.depthwise.weight.shape))
log_probs, out_lens, attn = model(feats[:3], feat_lens[:3])
print("encoder out", tuple(log_probs.shape), out_lens.tolist(),
      "attention rows sum to 1:", torch.allclose(attn.sum(-1), torch.ones(1), atol=1e-5),
      "padded keys get 0:", attn[2, :, :, out_lens[2]:].abs().max().item() == 0.0)

ctc = nn.CTCLoss(blank=0, zero_infinity=True)
opt = torch.optim.Adam(model.parameters(), lr=2e-3, betas=(0.9, 0.98), eps=1e-9)
for step in range(30):
    idx = torch.randperm(24)[:8]
    toks = [batch_tokens[i] for i in idx.tolist()]
    log_probs, out_lens, _ = model(feats[idx], feat_lens[idx])
    loss = ctc(log_probs.transpose(0, 1), torch.cat(toks), out_lens,
               torch.tensor([len(t) for t in toks]))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    if step % 10 == 0 or step == 29:
        print("step", step, "ctc loss", round(loss.item(), 3))

model.eval()
with torch.no_grad():
    log_probs, out_lens, _ = model(feats[:6], feat_lens[:6])
best = log_probs.argmax(-1)
for b in range(3):
    path = best[b, :out_lens[b]]
    collapsed = torch.unique_consecutive(path)
    hyp = collapsed[collapsed != 0].tolist()
    print("ref", batch_tokens[b].tolist(), "hyp", hyp)
print("bn running mean", round(model.blocks[0].conv.bn.running_mean.abs().mean().item(), 3))
