"""Sequential recommendation, in the style of the SASRec PyTorch port (pmixer/SASRec.pytorch)
and BERT4Rec re-implementations:

* synthetic user histories with a Markov "next item" habit, a ``Dataset`` of variable-length
  sequences and a custom ``collate_fn`` that left-pads them into ``(input, pos, neg)`` batches,
  negatives redrawn with ``torch.randint`` until they miss the user's history (``torch.isin``);
* SASRec: item embeddings with ``padding_idx=0`` scaled by ``sqrt(d)``, learned positions,
  ``nn.MultiheadAttention(batch_first=True)`` with a boolean causal ``attn_mask`` from
  ``torch.triu``, the timeline mask zeroing padded steps, point-wise feed-forward blocks and
  ``BCEWithLogitsLoss`` on the (pos, neg) logits picked with ``torch.where``;
* BERT4Rec: cloze masking with ``torch.bernoulli`` (a ``[MASK]`` id, ``-100`` labels elsewhere),
  ``nn.TransformerEncoder`` with ``src_key_padding_mask`` and ``F.cross_entropy(ignore_index=)``;
* Adam(betas=(0.9, 0.98)), ``clip_grad_norm_`` and leave-one-out evaluation against 20 sampled
  negatives: the target's rank by a double ``argsort``, HR@10 and NDCG@10; cold-start rows
  (all padding: NaN on the fused inference path) falling back to popularity.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
N_ITEMS, N_USERS, MAXLEN, D = 40, 64, 8, 16


def make_history(n):
    """A walk where item i is usually followed by (3 i + 1) mod N (ids 1..N, 0 is padding)."""
    cur = int(torch.randint(1, N_ITEMS + 1, (1,)))
    seq = [cur]
    for _ in range(n - 1):
        if torch.rand(()) < 0.8:
            cur = (3 * cur + 1) % N_ITEMS + 1
        else:
            cur = int(torch.randint(1, N_ITEMS + 1, (1,)))
        seq.append(cur)
    return torch.tensor(seq)


lengths = torch.randint(4, 13, (N_USERS,))
histories = [make_history(int(n)) for n in lengths]
print("lengths", lengths[:10].tolist(), "first", histories[0].tolist())


class TrainSeqs(Dataset):
    """Everything but the last item (held out for the test) of each user's history."""

    def __init__(self, hist):
        self.hist = hist

    def __len__(self):
        return len(self.hist)

    def __getitem__(self, u):
        return u, self.hist[u][:-1]


def collate(batch):
    users = torch.tensor([u for u, _ in batch])
    inp = torch.zeros(len(batch), MAXLEN, dtype=torch.long)
    pos = torch.zeros_like(inp)
    for row, (_, s) in enumerate(batch):
        s = s[-(MAXLEN + 1):]
        inp[row, MAXLEN - len(s) + 1:] = s[:-1]
        pos[row, MAXLEN - len(s) + 1:] = s[1:]
    neg = torch.randint(1, N_ITEMS + 1, pos.shape)
    for row, (u, _) in enumerate(batch):
        seen = histories[u]
        bad = torch.isin(neg[row], seen)
        while bad.any():
            neg[row][bad] = torch.randint(1, N_ITEMS + 1, (int(bad.sum()),))
            bad = torch.isin(neg[row], seen)
    neg = neg.masked_fill(pos == 0, 0)
    return users, inp, pos, neg


loader = DataLoader(TrainSeqs(histories), batch_size=16, shuffle=True, collate_fn=collate,
                    generator=torch.Generator().manual_seed(3))
u0, i0, p0, n0 = next(iter(loader))
print("batch", tuple(i0.shape), i0.dtype, "users", u0[:4].tolist())
print("input ", i0[0].tolist(), "\npos   ", p0[0].tolist(), "\nneg   ", n0[0].tolist())


class SASRec(nn.Module):
    def __init__(self, blocks=2, heads=2):
        super().__init__()
        self.item = nn.Embedding(N_ITEMS + 1, D, padding_idx=0)
        self.posn = nn.Embedding(MAXLEN, D)
        self.drop = nn.Dropout(0.1)
        self.attn_norm = nn.ModuleList(nn.LayerNorm(D, eps=1e-8) for _ in range(blocks))
        self.attn = nn.ModuleList(nn.MultiheadAttention(D, heads, dropout=0.1, batch_first=True)
                                  for _ in range(blocks))
        self.ff_norm = nn.ModuleList(nn.LayerNorm(D, eps=1e-8) for _ in range(blocks))
        self.ff = nn.ModuleList(nn.Sequential(nn.Conv1d(D, D, 1), nn.Dropout(0.1), nn.ReLU(),
                                              nn.Conv1d(D, D, 1), nn.Dropout(0.1))
                                for _ in range(blocks))
        self.last_norm = nn.LayerNorm(D, eps=1e-8)
        self.register_buffer("causal", torch.triu(torch.ones(MAXLEN, MAXLEN, dtype=torch.bool),
                                                  diagonal=1))

    def features(self, seq):
        x = self.item(seq) * math.sqrt(D)
        x = x + self.posn(torch.arange(seq.shape[1]).unsqueeze(0))
        x = self.drop(x)
        keep = (seq != 0).unsqueeze(-1)
        x = x * keep
        for ln1, att, ln2, ff in zip(self.attn_norm, self.attn, self.ff_norm, self.ff):
            q = ln1(x)
            out, _ = att(q, x, x, attn_mask=self.causal, need_weights=False)
            x = q + out
            x = ln2(x)
            x = x + ff(x.transpose(1, 2)).transpose(1, 2)
            x = x * keep
        return self.last_norm(x)

    def forward(self, seq, pos, neg):
        h = self.features(seq)
        return (h * self.item(pos)).sum(-1), (h * self.item(neg)).sum(-1)

    def score(self, seq, cands):
        h = self.features(seq)[:, -1]
        return torch.einsum("bd,bcd->bc", h, self.item(cands))


def eval_candidates(gen):
    """Per user: the held-out last item first, then 20 unseen negatives."""
    rows = []
    for h in histories:
        cand = torch.randperm(N_ITEMS, generator=gen) + 1
        cand = cand[~torch.isin(cand, h)][:20]
        rows.append(torch.cat([h[-1:], cand]))
    return torch.stack(rows)


def left_pad(seqs, value=0):
    out = torch.full((len(seqs), MAXLEN), value, dtype=torch.long)
    for r, s in enumerate(seqs):
        s = s[-MAXLEN:]
        out[r, MAXLEN - len(s):] = s
    return out


CANDS = eval_candidates(torch.Generator().manual_seed(7))
TEST_IN = left_pad([h[:-1] for h in histories])
print("eval candidates", tuple(CANDS.shape), CANDS[0, :6].tolist())


def hr_ndcg(scores, k=10):
    rank = (-scores).argsort(dim=1).argsort(dim=1)[:, 0]
    hit = rank < k
    ndcg = torch.where(hit, 1.0 / torch.log2(rank.float() + 2.0), torch.zeros(()))
    return hit.float().mean().item(), ndcg.mean().item(), rank


model = SASRec()
for name, p in model.named_parameters():
    if p.dim() > 1:
        nn.init.xavier_normal_(p)
with torch.no_grad():
    model.item.weight[0].zero_()
print("params", sum(p.numel() for p in model.parameters()),
      [n for n, _ in model.named_parameters()][:6])
opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.98))
bce = nn.BCEWithLogitsLoss()
for epoch in range(6):
    model.train()
    total, norms = 0.0, []
    for _, seq, pos, neg in loader:
        pl, nl = model(seq, pos, neg)
        idx = torch.where(pos != 0)
        loss = bce(pl[idx], torch.ones_like(pl[idx])) + bce(nl[idx], torch.zeros_like(nl[idx]))
        for p in model.item.parameters():
            loss = loss + 1e-4 * p.norm()
        opt.zero_grad()
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), 5.0).item())
        opt.step()
        total += loss.item()
    if epoch % 2 == 1:
        model.eval()
        with torch.no_grad():
            hr, nd, rank = hr_ndcg(model.score(TEST_IN, CANDS))
        print(f"sasrec epoch {epoch} loss {total / len(loader):.4f} max-norm {max(norms):.3f} "
              f"HR@10 {hr:.4f} NDCG@10 {nd:.4f}")
print("ranks", rank[:12].tolist())
print("padding row stays zero", bool((model.item.weight[0] == 0).all()),
      "grad at pad", model.item.weight.grad[0].abs().sum().item())

# ---- BERT4Rec: bidirectional encoder trained on the cloze task ----
MASK = N_ITEMS + 1


class Bert4Rec(nn.Module):
    def __init__(self):
        super().__init__()
        self.item = nn.Embedding(N_ITEMS + 2, D, padding_idx=0)
        self.posn = nn.Parameter(torch.randn(1, MAXLEN, D) * 0.02)
        layer = nn.TransformerEncoderLayer(D, 2, dim_feedforward=4 * D, dropout=0.1,
                                           activation="gelu", batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(D)
        self.out_bias = nn.Parameter(torch.zeros(N_ITEMS + 2))

    def forward(self, seq):
        x = self.item(seq) + self.posn[:, :seq.shape[1]]
        h = self.norm(self.enc(x, src_key_padding_mask=seq == 0))
        return h @ self.item.weight.t() + self.out_bias


def cloze(seq, p=0.3):
    real = seq != 0
    pick = torch.bernoulli(torch.full(seq.shape, p)).bool() & real
    pick[:, -1] |= real[:, -1] & ~pick.any(1)  # at least one target per row
    labels = torch.where(pick, seq, torch.full_like(seq, -100))
    return seq.masked_fill(pick, MASK), labels


bert = Bert4Rec()
train_seqs = left_pad([h[:-1] for h in histories])
masked, labels = cloze(train_seqs[:2])
print("cloze", masked[0].tolist(), labels[0].tolist())
opt = torch.optim.AdamW(bert.parameters(), lr=2e-3, weight_decay=0.01)
for step in range(40):
    bert.train()
    batch = train_seqs[torch.randint(0, N_USERS, (16,))]
    inp, lab = cloze(batch)
    logits = bert(inp)
    loss = F.cross_entropy(logits.reshape(-1, N_ITEMS + 2), lab.reshape(-1), ignore_index=-100)
    opt.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(bert.parameters(), 1.0)
    opt.step()
    if step % 10 == 9:
        print(f"bert4rec step {step + 1} loss {loss.item():.4f} grad-norm {norm.item():.4f} "
              f"targets {int((lab != -100).sum())}")

bert.eval()
with torch.no_grad():
    # predict the held-out item: append [MASK] after the (shifted) history
    test_in = left_pad([torch.cat([h[:-1], torch.tensor([MASK])]) for h in histories])
    last = bert(test_in)[:, -1]
    hr, nd, rank = hr_ndcg(last.gather(1, CANDS))
    top = last[:, 1:N_ITEMS + 1].topk(3, dim=1)
print(f"bert4rec HR@10 {hr:.4f} NDCG@10 {nd:.4f} ranks {rank[:12].tolist()}")
print("top-3 next items", (top.indices[:4] + 1).tolist())

# cold-start users: a row that is all padding has every key masked, which PyTorch's fused
# inference path turns into NaN; such rows fall back to item popularity
cold = torch.zeros(3, MAXLEN, dtype=torch.long)
cold[1, -1] = MASK
cold[2, -2:] = torch.tensor([histories[0][-1], MASK])
with torch.no_grad():
    h = bert(cold)[:, -1, 1:N_ITEMS + 1]
popularity = torch.bincount(torch.cat(histories), minlength=N_ITEMS + 1)[1:].float()
no_signal = torch.isnan(h).any(dim=1)
scores = torch.where(no_signal.unsqueeze(1), popularity, h)
print("cold start NaN rows", no_signal.tolist(), "top-3", (scores.topk(3).indices + 1).tolist())
