"""Show-and-tell (Vinyals et al.) with a two-layer nn.LSTM whose initial (h0, c0) come from the
image, trained on unsorted ragged captions with pack_padded_sequence(enforce_sorted=False)
and pad_packed_sequence (checking unsorted_indices), then decoded with a batched beam search
as fairseq / OpenNMT write it: the beams flattened into the batch, hidden states reordered
with index_select on dim 1, finished beams frozen with masked_fill(-inf) except on <pad>, a
GNMT length penalty ((5 + len) / 6) ** alpha, and the best beam picked by argmax. The model
is saved to a BytesIO with torch.save and reloaded before decoding; corpus BLEU with
add-one smoothing is computed from n-gram matches done with broadcasting."""

import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(0)
PAD, BOS, EOS = 0, 1, 2
itos = [
    '<pad>',
    '<bos>',
    '<eos>',
    'small',
    'big',
    'bright',
    'dark',
    'blob',
    'in',
    'corner',
    'center',
]
V = len(itos)


def render(size, bright, corner, gen):
    img = torch.randn(3, 8, 8, generator=gen) * 0.05
    r = 2 if size == 'small' else 4
    y0 = 0 if corner else 2
    img[:, y0 : y0 + r, y0 : y0 + r] += 1.0 if bright else -1.0
    toks = [size] + (['bright'] if bright else ['dark']) + ['blob']
    if corner:
        toks += ['in', 'corner']
    return img, torch.tensor([BOS] + [itos.index(t) for t in toks] + [EOS])


gen = torch.Generator().manual_seed(2)
data = [
    render(s, b, c, gen) for s in ('small', 'big') for b in (True, False) for c in (True, False)
]
images = torch.stack([d[0] for d in data])
caps = [d[1] for d in data]
lengths = torch.tensor([len(c) for c in caps])
padded = pad_sequence(caps, batch_first=True, padding_value=PAD)
print('lengths', lengths.tolist(), 'padded', tuple(padded.shape))


class ShowAndTell(nn.Module):
    def __init__(self, emb=16, hid=32, layers=2):
        super().__init__()
        self.layers = layers
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1, groups=4),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.to_h = nn.Linear(16, hid * layers)
        self.to_c = nn.Linear(16, hid * layers)
        self.embed = nn.Embedding(V, emb, padding_idx=PAD)
        self.lstm = nn.LSTM(emb, hid, num_layers=layers, batch_first=True, dropout=0.1)
        self.proj = nn.Linear(hid, V)

    def init_state(self, images):
        f = self.encoder(images)
        b = f.size(0)
        h = torch.tanh(self.to_h(f)).view(b, self.layers, -1).transpose(0, 1).contiguous()
        c = self.to_c(f).view(b, self.layers, -1).permute(1, 0, 2).contiguous()
        return h, c

    def forward(self, images, captions, lengths):
        state = self.init_state(images)
        emb = self.embed(captions[:, :-1])
        packed = pack_padded_sequence(emb, lengths - 1, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed, state)
        return packed, self.proj(out.data), out


model = ShowAndTell()
opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
for step in range(40):
    model.train()
    packed_in, logits, packed_out = model(images, padded, lengths)
    targets = pack_padded_sequence(
        padded[:, 1:], lengths - 1, batch_first=True, enforce_sorted=False
    )
    loss = F.cross_entropy(logits, targets.data)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if step % 13 == 0:
        print(f'step {step:2d} loss {loss.item():.3f}')
print('batch_sizes', packed_in.batch_sizes.tolist())
print('sorted', packed_in.sorted_indices.tolist(), 'unsorted', packed_in.unsorted_indices.tolist())
unpacked, out_lens = pad_packed_sequence(
    packed_out, batch_first=True, total_length=padded.size(1) - 1
)
print(
    'unpacked',
    tuple(unpacked.shape),
    out_lens.tolist(),
    'zeros past end',
    bool((unpacked[1, 4:] == 0).all()),
)

buffer = io.BytesIO()
torch.save({'model': model.state_dict(), "step": 40}, buffer)
buffer.seek(0)
ckpt = torch.load(buffer, weights_only=True)
restored = ShowAndTell()
missing = restored.load_state_dict(ckpt['model'])
print('restored at step', ckpt['step'], missing)
restored.eval()

# two classic mistakes, as PyTorch reports them
try:
    pack_padded_sequence(padded, lengths, batch_first=True)
except RuntimeError as e:
    print('RuntimeError:', str(e).split('.')[0])
try:
    h0, c0 = restored.init_state(images[:3])
    restored.lstm(restored.embed(padded), (h0, c0))
except RuntimeError as e:
    print('RuntimeError:', e)


@torch.no_grad()
def beam_search(model, images, beam=3, max_len=7, alpha=0.6):
    bsz = images.size(0)
    h, c = model.init_state(images)
    # repeat each image's state beam times: (layers, bsz * beam, hid)
    order = torch.arange(bsz).view(-1, 1).repeat(1, beam).view(-1)
    h, c = h.index_select(1, order), c.index_select(1, order)
    tokens = torch.full((bsz * beam, 1), BOS, dtype=torch.long)
    scores = torch.zeros(bsz, beam)
    scores[:, 1:] = float('-inf')  # only the first beam is live at the start
    scores = scores.view(-1)
    finished = torch.zeros(bsz * beam, dtype=torch.bool)
    for t in range(max_len):
        out, (h, c) = model.lstm(model.embed(tokens[:, -1:]), (h, c))
        logp = F.log_softmax(model.proj(out[:, -1]), dim=-1)
        pad_row = torch.full((V,), float('-inf'))
        pad_row[PAD] = 0.0
        logp = torch.where(finished.unsqueeze(1), pad_row.expand_as(logp), logp)
        cand = (scores.unsqueeze(1) + logp).view(bsz, beam * V)
        top_scores, top_idx = cand.topk(beam, dim=1)
        beam_idx = top_idx // V
        tok_idx = top_idx % V
        base = (torch.arange(bsz) * beam).unsqueeze(1)
        flat = (base + beam_idx).view(-1)
        tokens = torch.cat([tokens[flat], tok_idx.view(-1, 1)], dim=1)
        h, c = h.index_select(1, flat), c.index_select(1, flat)
        finished = finished[flat] | (tok_idx.view(-1) == EOS)
        scores = top_scores.view(-1)
        if finished.all():
            break
    gen_len = ((tokens != PAD) & (tokens != BOS)).sum(1).float()
    penalty = ((5.0 + gen_len) / 6.0) ** alpha
    normed = (scores / penalty).view(bsz, beam)
    best = normed.argmax(dim=1)
    return tokens.view(bsz, beam, -1)[torch.arange(bsz), best], normed.max(dim=1).values


def strip(seq):
    out = []
    for t in seq.tolist():
        if t == EOS:
            break
        if t not in (PAD, BOS):
            out.append(t)
    return out


def corpus_bleu(hyps, refs, max_n=4):
    match = torch.zeros(max_n)
    total = torch.zeros(max_n)
    hyp_len = sum(len(h) for h in hyps)
    ref_len = sum(len(r) for r in refs)
    for hyp, ref in zip(hyps, refs):
        h, r = torch.tensor(hyp), torch.tensor(ref)
        for n in range(1, max_n + 1):
            if len(hyp) < n:
                continue
            hg = h.unfold(0, n, 1)
            rg = r.unfold(0, n, 1) if len(ref) >= n else r.new_zeros(0, n)
            eq = (hg[:, None] == rg[None]).all(-1)  # (hyp grams, ref grams)
            # clip: each reference n-gram may be matched at most once
            used = torch.zeros(rg.size(0), dtype=torch.bool)
            for row in eq:
                free = row & ~used
                if free.any():
                    used[free.nonzero()[0, 0]] = True
            match[n - 1] += used.sum()
            total[n - 1] += hg.size(0)
    prec = (match + 1) / (total + 1)
    bp = min(1.0, torch.exp(torch.tensor(1 - ref_len / hyp_len)).item())
    return bp * prec.log().mean().exp().item(), prec


seqs, best_scores = beam_search(restored, images)
hyps = [strip(s) for s in seqs]
refs = [strip(c) for c in caps]
for i in range(0, 8, 3):
    print(f'{i}: {" ".join(itos[t] for t in hyps[i]):28s} | {" ".join(itos[t] for t in refs[i])}')
print("beam scores", best_scores.round(decimals=3))
bleu, prec = corpus_bleu(hyps, refs)
print('precisions', prec)
print(f'BLEU {bleu:.4f}')
