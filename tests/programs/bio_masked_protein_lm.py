"""A masked amino-acid language model (ESM/ProtBERT in miniature): a 25-token vocabulary with
special tokens, variable-length proteins padded with pad_sequence, BERT-style 15% masking
with the 80/10/10 rule drawn from a seeded Generator via torch.bernoulli, a pre-norm
nn.TransformerEncoder with a key padding mask and learned positions, tied input/output
embeddings, cross_entropy with ignore_index and label smoothing, AdamW with parameter
groups (no decay on norms and biases), linear warmup through LambdaLR, clip_grad_norm_,
perplexity, per-residue embeddings mean-pooled under the mask, attention maps from
nn.MultiheadAttention with need_weights, and pseudo-log-likelihood scoring of a mutation."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)
rng = np.random.default_rng(3)
AMINO = "ACDEFGHIKLMNPQRSTVWY"
SPECIALS = ["<pad>", "<cls>", "<eos>", "<mask>", "<unk>"]
vocab = {t: i for i, t in enumerate(SPECIALS + list(AMINO))}
PAD, CLS, EOS, MASK = (vocab[t] for t in SPECIALS[:4])
V = len(vocab)
print("vocab size", V, "pad", PAD, "mask", MASK)

# proteins with a repeated hydrophobic/polar pattern, so context is predictive
hydrophobic, polar = "AILMFVW", "DEKNQRST"
proteins = []
for _ in range(48):
    n = int(rng.integers(12, 28))
    pattern = rng.integers(0, 2, size=4)
    seq = [hydrophobic[rng.integers(0, 7)] if pattern[i % 4] else polar[rng.integers(0, 8)]
           for i in range(n)]
    proteins.append("".join(seq))
print("example", proteins[0], "len", len(proteins[0]))


def tokenize(seq):
    return torch.tensor([CLS] + [vocab.get(a, vocab["<unk>"]) for a in seq] + [EOS])


tokens = pad_sequence([tokenize(p) for p in proteins], batch_first=True, padding_value=PAD)
lengths = torch.tensor([len(p) + 2 for p in proteins])
print("batch", tuple(tokens.shape), "lengths min/max", lengths.min().item(), lengths.max().item(),
      "mean", lengths.mean(dtype=torch.float64))
try:
    lengths.mean(dtype=torch.long)                 # an integer mean is not defined
except RuntimeError as e:
    print("mean error:", e)
pad_mask = tokens.eq(PAD)


def mask_tokens(tok, gen, p=0.15):
    labels = tok.clone()
    special = (tok == PAD) | (tok == CLS) | (tok == EOS)
    prob = torch.full(tok.shape, p).masked_fill(special, 0.0)
    chosen = torch.bernoulli(prob, generator=gen).bool()
    labels[~chosen] = -100
    inputs = tok.clone()
    to_mask = torch.bernoulli(torch.full(tok.shape, 0.8), generator=gen).bool() & chosen
    inputs[to_mask] = MASK
    to_random = (torch.bernoulli(torch.full(tok.shape, 0.5), generator=gen).bool()
                 & chosen & ~to_mask)
    random_aa = torch.randint(len(SPECIALS), V, tok.shape, generator=gen)
    inputs[to_random] = random_aa[to_random]
    return inputs, labels


class ProteinLM(nn.Module):
    def __init__(self, d=32, heads=4, layers=2, max_len=64):
        super().__init__()
        self.embed = nn.Embedding(V, d, padding_idx=PAD)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d))
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=64, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, V, bias=False)
        self.head.weight = self.embed.weight                      # tied embeddings
        self.register_buffer("scale", torch.tensor(math.sqrt(d)), persistent=False)

    def forward(self, tok, pad_mask):
        h = self.embed(tok) * self.scale + self.pos[:, :tok.shape[1]]
        h = self.encoder(h, src_key_padding_mask=pad_mask)
        return self.norm(h)

    def logits(self, tok, pad_mask):
        return self.head(self(tok, pad_mask))


model = ProteinLM()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.08, size=tuple(p.shape)).astype(np.float32)))
    model.embed.weight[PAD].zero_()
print("parameters", sum(p.numel() for p in model.parameters()),
      "tied", model.head.weight is model.embed.weight)
print("state_dict keys", len(model.state_dict()), "buffers", [n for n, _ in model.named_buffers()])

decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim < 2 or "norm" in name else decay).append(p)
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                         {"params": no_decay, "weight_decay": 0.0}], lr=3e-3, betas=(0.9, 0.98))
warmup, total_steps = 5, 30
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / (total_steps - warmup))))
gen = torch.Generator().manual_seed(1234)

for step in range(total_steps):
    idx = torch.randperm(len(proteins), generator=gen)[:16]
    inputs, labels = mask_tokens(tokens[idx], gen)
    logits = model.logits(inputs, pad_mask[idx])
    loss = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100,
                           label_smoothing=0.05)
    opt.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
    sched.step()
    if step % 6 == 0 or step == total_steps - 1:
        print("step {:2d} loss {:.4f} grad_norm {:.4f} lr {:.5f} masked {}".format(
            step, loss.item(), norm.item(), sched.get_last_lr()[0], int((labels >= 0).sum())))

model.eval()
with torch.no_grad():
    inputs, labels = mask_tokens(tokens, torch.Generator().manual_seed(99))
    logits = model.logits(inputs, pad_mask)
    nll = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none")
    sel = labels != -100
    print("eval masked tokens", int(sel.sum()), "perplexity {:.3f}".format(
        nll[sel].mean().exp().item()))
    acc = (logits.argmax(-1) == labels)[sel].float().mean()
    print("masked accuracy {:.4f}".format(acc.item()))
    hyd = torch.tensor([vocab[a] for a in hydrophobic])
    pred_hyd = torch.isin(logits.argmax(-1)[sel], hyd)
    true_hyd = torch.isin(labels[sel], hyd)
    print("hydrophobicity class agreement {:.4f}".format(
        (pred_hyd == true_hyd).float().mean().item()))

    # mean-pooled protein embeddings (exclude pad, cls, eos)
    h = model(tokens, pad_mask)
    keep = (~pad_mask & (tokens != CLS) & (tokens != EOS)).unsqueeze(-1).float()
    emb = (h * keep).sum(1) / keep.sum(1)
    sim = F.cosine_similarity(emb[:, None], emb[None], dim=-1)
    print("embedding", tuple(emb.shape), "mean off-diagonal cosine {:.4f}".format(
        (sim.sum() - sim.diagonal().sum()).item() / (48 * 47)))

    # attention map of the first layer's first head
    layer0 = model.encoder.layers[0]
    x0 = layer0.norm1(model.embed(tokens[:2]) * model.scale + model.pos[:, :tokens.shape[1]])
    _, attn = layer0.self_attn(x0, x0, x0, key_padding_mask=pad_mask[:2], need_weights=True,
                               average_attn_weights=False)
    print("attention", tuple(attn.shape), "rows sum to 1",
          torch.allclose(attn.sum(-1)[:, :, :lengths[0]], torch.ones(1)))
    print("attention to padding", attn[1, :, :, lengths[1]:].sum().item())
    print("head entropies", torch.round(
        -(attn[0] * attn[0].clamp_min(1e-9).log()).sum(-1).mean(-1), decimals=3))


# pseudo-log-likelihood of wild type vs a point mutant
def pseudo_log_likelihood(seq):
    tok = tokenize(seq)
    n = len(seq)
    batch = tok.repeat(n, 1)
    pos = torch.arange(1, n + 1)
    batch[torch.arange(n), pos] = MASK
    with torch.inference_mode():
        lp = model.logits(batch, torch.zeros_like(batch, dtype=torch.bool)).log_softmax(-1)
    return lp[torch.arange(n), pos, tok[pos]].sum()


wt = proteins[0]
mutant = wt[:5] + ("W" if wt[5] in polar else "D") + wt[6:]
pll_wt, pll_mut = pseudo_log_likelihood(wt), pseudo_log_likelihood(mutant)
print("PLL wild type {:.3f} mutant {:.3f} delta {:.3f}".format(
    pll_wt.item(), pll_mut.item(), (pll_mut - pll_wt).item()))
print("inference tensor", pll_wt.is_inference(), "requires_grad", pll_wt.requires_grad)
