"""User-interest and multi-task CTR/CVR models, in the style of the DIN / DIEN reference code
(Alibaba's x-deeplearning ports, DeepCTR-Torch) and MMoE / ESMM implementations:

* behaviour histories of different lengths bucketed by a custom ``Sampler`` that yields whole
  batches of similar length (``DataLoader(batch_sampler=)``), padded by ``pad_sequence`` in a
  ``collate_fn`` that also returns the lengths;
* DIN: a local activation unit on ``[q, k, q - k, q * k]`` with the Dice activation
  (``BatchNorm1d(affine=False)`` inside a sigmoid gate, a learned ``alpha``), no softmax, padded
  steps masked out, next to a softmax variant with ``masked_fill(-inf)``;
* DIEN: a GRU interest extractor over ``pack_padded_sequence(enforce_sorted=False)`` with
  ``pad_packed_sequence(total_length=)`` and an attention-gated GRU (AUGRU) unrolled from
  ``torch.chunk``-ed gate pre-activations;
* MMoE experts with per-task softmax gates (``torch.bmm``) and ESMM's
  ``pCTCVR = pCTR * pCVR`` trained with ``nn.BCELoss`` on clicks and conversions, task weights by
  homoscedastic uncertainty (learned ``log_var``);
* ``Adagrad(initial_accumulator_value=)``, ``clip_grad_value_``, ``nn.PReLU``; group AUC (GAUC)
  over users with ``torch.unique(return_counts=True)`` and ``index_add_``.
"""
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader, Dataset, Sampler

torch.manual_seed(0)
N_ITEMS, N_CATS, N_USERS, N = 60, 6, 20, 480
D = 8
item_cat = torch.randint(0, N_CATS, (N_ITEMS + 1,))
user_taste = torch.randint(0, N_CATS, (N_USERS,))


class Impressions(Dataset):
    def __init__(self):
        self.user = torch.randint(0, N_USERS, (N,))
        self.target = torch.randint(1, N_ITEMS + 1, (N,))
        self.hist = []
        for u in self.user.tolist():
            n = int(torch.randint(1, 11, ()))
            likes = torch.nonzero(item_cat[1:] == user_taste[u]).squeeze(1) + 1
            mix = torch.where(torch.rand(n) < 0.7, likes[torch.randint(0, len(likes), (n,))],
                              torch.randint(1, N_ITEMS + 1, (n,)))
            self.hist.append(mix)
        match = torch.stack([(item_cat[h] == item_cat[t]).float().mean()
                             for h, t in zip(self.hist, self.target)])
        self.click = torch.bernoulli(torch.sigmoid(4 * match - 2))
        self.conv = self.click * torch.bernoulli(torch.sigmoid(3 * match - 2.5))

    def __len__(self):
        return N

    def __getitem__(self, i):
        return self.user[i], self.target[i], self.hist[i], self.click[i], self.conv[i]


class LengthBuckets(Sampler):
    """Batches of histories with similar length (fewer pad steps), batch order shuffled."""

    def __init__(self, lengths, batch_size, generator):
        self.lengths, self.bs, self.gen = lengths, batch_size, generator

    def __iter__(self):
        noisy = self.lengths.float() + torch.rand(len(self.lengths), generator=self.gen)
        order = torch.argsort(noisy)
        batches = list(order.split(self.bs))
        for j in torch.randperm(len(batches), generator=self.gen).tolist():
            yield batches[j].tolist()

    def __len__(self):
        return (len(self.lengths) + self.bs - 1) // self.bs


def collate(rows):
    user, tgt, hist, click, conv = zip(*rows)
    lengths = torch.tensor([len(h) for h in hist])
    return (torch.stack(user), torch.stack(tgt), pad_sequence(hist, batch_first=True),
            lengths, torch.stack(click), torch.stack(conv))


ds = Impressions()
lens = torch.tensor([len(h) for h in ds.hist])
print("clicks", int(ds.click.sum()), "conversions", int(ds.conv.sum()),
      "lengths", torch.bincount(lens).tolist())
loader = DataLoader(ds, batch_sampler=LengthBuckets(lens, 48, torch.Generator().manual_seed(1)),
                    collate_fn=collate)
b = next(iter(loader))
print("batch", [tuple(t.shape) for t in b], "lengths", b[3][:8].tolist(), len(loader))


class Dice(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.bn = nn.BatchNorm1d(dim, eps=1e-9, affine=False)
        self.alpha = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        flat = x.reshape(-1, x.shape[-1])
        p = torch.sigmoid(self.bn(flat)).reshape(x.shape)
        return p * x + (1 - p) * self.alpha * x


class ActivationUnit(nn.Module):
    def __init__(self, dim, hidden=16):
        super().__init__()
        self.fc1 = nn.Linear(4 * dim, hidden)
        self.act = Dice(hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, q, keys):
        q = q.unsqueeze(1).expand_as(keys)
        z = torch.cat([q, keys, q - keys, q * keys], -1)
        return self.fc2(self.act(self.fc1(z))).squeeze(-1)


class Embeds(nn.Module):
    def __init__(self):
        super().__init__()
        self.item = nn.Embedding(N_ITEMS + 1, D, padding_idx=0)
        self.cat = nn.Embedding(N_CATS, D)
        self.user = nn.Embedding(N_USERS, D)

    def forward(self, ids):
        return torch.cat([self.item(ids), self.cat(item_cat[ids])], -1)


class DIN(nn.Module):
    def __init__(self, softmax=False):
        super().__init__()
        self.softmax = softmax
        self.emb = Embeds()
        self.att = ActivationUnit(2 * D)
        self.mlp = nn.Sequential(nn.Linear(7 * D, 32), nn.PReLU(), nn.Linear(32, 1))

    def forward(self, user, tgt, hist, lengths):
        q, keys = self.emb(tgt), self.emb(hist)
        mask = torch.arange(hist.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        w = self.att(q, keys)
        if self.softmax:
            w = torch.softmax(w.masked_fill(~mask, float("-inf")), dim=1)
        else:
            w = w * mask
        interest = torch.bmm(w.unsqueeze(1), keys).squeeze(1)
        self.weights = w
        x = torch.cat([self.emb.user(user), q, interest, q * interest], 1)
        return torch.sigmoid(self.mlp(x).squeeze(1))


class AUGRU(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.x2h = nn.Linear(dim, 3 * dim)
        self.h2h = nn.Linear(dim, 3 * dim, bias=False)

    def forward(self, xs, att, mask):
        h = xs.new_zeros(xs.shape[0], xs.shape[2])
        for t in range(xs.shape[1]):
            xr, xz, xn = self.x2h(xs[:, t]).chunk(3, dim=1)
            hr, hz, hn = self.h2h(h).chunk(3, dim=1)
            r = torch.sigmoid(xr + hr)
            z = torch.sigmoid(xz + hz) * att[:, t:t + 1]
            n = torch.tanh(xn + r * hn)
            new = (1 - z) * h + z * n
            h = torch.where(mask[:, t:t + 1], new, h)
        return h


class DIEN(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = Embeds()
        self.gru = nn.GRU(2 * D, 2 * D, batch_first=True)
        self.att = ActivationUnit(2 * D)
        self.augru = AUGRU(2 * D)
        self.mlp = nn.Sequential(nn.Linear(5 * D, 32), nn.PReLU(32), nn.Linear(32, 1))

    def forward(self, user, tgt, hist, lengths):
        q, keys = self.emb(tgt), self.emb(hist)
        packed = pack_padded_sequence(keys, lengths, batch_first=True, enforce_sorted=False)
        out, last = self.gru(packed)
        states, out_len = pad_packed_sequence(out, batch_first=True, total_length=hist.shape[1])
        mask = torch.arange(hist.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        att = torch.softmax(self.att(q, states).masked_fill(~mask, float("-inf")), dim=1)
        final = self.augru(states, att, mask)
        self.check = (out_len.tolist() == lengths.tolist(),
                      torch.allclose(last[0], states[torch.arange(len(lengths)), lengths - 1]))
        x = torch.cat([self.emb.user(user), q, final], 1)
        return torch.sigmoid(self.mlp(x).squeeze(1))


def auc(score, y):
    ranks = torch.empty_like(score)
    ranks[score.argsort()] = torch.arange(1, len(score) + 1, dtype=score.dtype)
    npos, nneg = y.sum(), (1 - y).sum()
    if npos == 0 or nneg == 0:
        return None
    return ((ranks[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg)).item()


def gauc(score, y, users):
    ids, counts = torch.unique(users, return_counts=True)
    total, weight = 0.0, 0.0
    for u, c in zip(ids.tolist(), counts.tolist()):
        sel = users == u
        a = auc(score[sel], y[sel])
        if a is not None:
            total, weight = total + c * a, weight + c
    clicks = torch.zeros(len(ids)).index_add_(0, torch.searchsorted(ids, users), y)
    return total / weight, clicks


def train_ctr(model, epochs=4):
    opt = torch.optim.Adagrad(model.parameters(), lr=0.05, initial_accumulator_value=0.1)
    bce = nn.BCELoss()
    for _ in range(epochs):
        model.train()
        for user, tgt, hist, lengths, click, _ in loader:
            loss = bce(model(user, tgt, hist, lengths), click)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_value_(model.parameters(), 0.5)
            opt.step()
    model.eval()
    with torch.no_grad():
        hist = pad_sequence(ds.hist, batch_first=True)
        p = model(ds.user, ds.target, hist, lens)
    g, clicks = gauc(p, ds.click, ds.user)
    return loss.item(), p, g, clicks


for name, model in (("DIN", DIN()), ("DIN-softmax", DIN(softmax=True)), ("DIEN", DIEN())):
    torch.manual_seed(2)
    last, p, g, clicks = train_ctr(model)
    print(f"{name:11s} loss {last:.4f} AUC {auc(p, ds.click):.4f} GAUC {g:.4f} "
          f"p[:4] {[round(v, 3) for v in p[:4].tolist()]}")
    print("   weights row 0", [round(v, 3) for v in model.weights[0].tolist()]
          if hasattr(model, "weights") else model.check)
print("clicks per user", clicks[:10].tolist())
print("dice alpha", [round(v, 4) for v in model.att.act.alpha[:4].tolist()],
      "bn running var", [round(v, 3) for v in model.att.act.bn.running_var[:3].tolist()])


class MMoE(nn.Module):
    def __init__(self, n_exp=3, tasks=2):
        super().__init__()
        self.emb = Embeds()
        inp = 3 * D
        self.experts = nn.ModuleList(nn.Sequential(nn.Linear(inp, 16), nn.ReLU())
                                     for _ in range(n_exp))
        self.gates = nn.ModuleList(nn.Linear(inp, n_exp) for _ in range(tasks))
        self.towers = nn.ModuleList(nn.Linear(16, 1) for _ in range(tasks))
        self.log_var = nn.Parameter(torch.zeros(tasks))

    def forward(self, user, tgt, hist, lengths):
        mask = (hist != 0).unsqueeze(-1).float()
        pooled = (self.emb(hist) * mask).sum(1) / lengths.unsqueeze(1)
        x = torch.cat([self.emb.user(user), pooled[:, D:] + self.emb(tgt)[:, D:],
                       self.emb(tgt)[:, :D]], 1)
        experts = torch.stack([e(x) for e in self.experts], 1)
        outs, gates = [], []
        for gate, tower in zip(self.gates, self.towers):
            g = torch.softmax(gate(x), dim=-1)
            gates.append(g)
            outs.append(tower(torch.bmm(g.unsqueeze(1), experts).squeeze(1)).squeeze(1))
        self.gate_values = torch.stack(gates, 1)
        p_ctr = torch.sigmoid(outs[0])
        p_cvr = torch.sigmoid(outs[1])
        return p_ctr, p_ctr * p_cvr


torch.manual_seed(3)
mt = MMoE()
opt = torch.optim.Adam(mt.parameters(), lr=0.01)
bce = nn.BCELoss()
for epoch in range(5):
    for user, tgt, hist, lengths, click, conv in loader:
        p_ctr, p_ctcvr = mt(user, tgt, hist, lengths)
        losses = torch.stack([bce(p_ctr, click), bce(p_ctcvr.clamp(1e-7, 1 - 1e-7), conv)])
        loss = (torch.exp(-mt.log_var) * losses + mt.log_var).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"esmm epoch {epoch} ctr-loss {losses[0].item():.4f} ctcvr-loss {losses[1].item():.4f} "
          f"log_var {[round(v, 4) for v in mt.log_var.tolist()]}")
with torch.no_grad():
    p_ctr, p_ctcvr = mt(ds.user, ds.target, pad_sequence(ds.hist, batch_first=True), lens)
print(f"CTR AUC {auc(p_ctr, ds.click):.4f} CTCVR AUC {auc(p_ctcvr, ds.conv):.3f} "
      f"pCVR<=1 {bool((p_ctcvr <= p_ctr).all())}")
print("gates", [[round(v, 3) for v in row] for row in mt.gate_values[0].tolist()])
