"""A GRU captioner with Bahdanau attention trained two ways, after ruotianluo's
self-critical.pytorch: first cross-entropy with label smoothing, ignore_index on padding and
scheduled sampling (feeding the model's own argmax back with a growing probability), then
self-critical sequence training (SCST): captions sampled with torch.distributions.Categorical,
the greedy decode as the baseline, a reward from a sentence-level BLEU with tensor n-gram
matching, a mask built with cumsum after the first <end>, and the policy-gradient loss on
gathered log-probabilities. The optimizer is Adam with a StepLR schedule; grads are clipped
by norm and the norm is printed."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

torch.manual_seed(7)
PAD, BOS, EOS = 0, 1, 2
words = ['<pad>', '<bos>', '<eos>', 'one', 'two', 'stripe', 'stripes', 'vertical', 'horizontal']
V, T = len(words), 5


def make_batch(n, gen):
    count = torch.randint(1, 3, (n,), generator=gen)
    vertical = torch.randint(0, 2, (n,), generator=gen).bool()
    imgs = torch.randn(n, 1, 10, 10, generator=gen) * 0.1
    caps = torch.full((n, T + 1), PAD, dtype=torch.long)
    for i in range(n):
        for j in range(int(count[i])):
            if vertical[i]:
                imgs[i, 0, :, 2 + 4 * j] += 1
            else:
                imgs[i, 0, 2 + 4 * j, :] += 1
        toks = [
            BOS,
            3 if count[i] == 1 else 4,
            7 if vertical[i] else 8,
            5 if count[i] == 1 else 6,
            EOS,
        ]
        caps[i, : len(toks)] = torch.tensor(toks)
    return imgs, caps


gen = torch.Generator().manual_seed(1)
train_imgs, train_caps = make_batch(24, gen)
print('caption 0:', ' '.join(words[t] for t in train_caps[0].tolist() if t != PAD))


class BahdanauAttention(nn.Module):
    def __init__(self, feat_dim, hid_dim, att_dim):
        super().__init__()
        self.W_a = nn.Linear(feat_dim, att_dim, bias=False)
        self.U_a = nn.Linear(hid_dim, att_dim)
        self.v_a = nn.Parameter(torch.empty(att_dim).normal_(0, 0.1))

    def forward(self, feats, hidden):
        energy = torch.tanh(self.W_a(feats) + self.U_a(hidden)[:, None, :])
        scores = torch.einsum('bla,a->bl', energy, self.v_a)
        weights = F.softmax(scores, dim=-1)
        return torch.bmm(weights.unsqueeze(1), feats).squeeze(1), weights


class Captioner(nn.Module):
    def __init__(self, feat=16, hid=32, emb=12):
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(8, feat, 3, stride=2, padding=1),
            nn.GELU(),
        )
        self.embed = nn.Embedding(V, emb, padding_idx=PAD)
        self.att = BahdanauAttention(feat, hid, 16)
        self.gru = nn.GRUCell(emb + feat, hid)
        self.init_fc = nn.Linear(feat, hid)
        self.out = nn.Linear(hid, V)

    def encode(self, imgs):
        f = self.cnn(imgs)
        return f.flatten(2).transpose(1, 2)  # (B, L, C)

    def step(self, feats, tok, h):
        ctx, w = self.att(feats, h)
        h = self.gru(torch.cat([self.embed(tok), ctx], -1), h)
        return self.out(h), h, w

    def forward(self, imgs, caps, ss_prob=0.0):
        feats = self.encode(imgs)
        h = torch.tanh(self.init_fc(feats.mean(1)))
        logits = []
        tok = caps[:, 0]
        for t in range(caps.size(1) - 1):
            out, h, _ = self.step(feats, tok, h)
            logits.append(out)
            tok = caps[:, t + 1].clone()
            if ss_prob > 0:
                use_pred = torch.rand(tok.shape) < ss_prob
                tok[use_pred] = out.detach().argmax(-1)[use_pred]
        return torch.stack(logits, 1)

    def sample(self, imgs, greedy=True):
        feats = self.encode(imgs)
        h = torch.tanh(self.init_fc(feats.mean(1)))
        tok = torch.full((imgs.size(0),), BOS, dtype=torch.long)
        seqs, logps = [], []
        for t in range(T):
            out, h, _ = self.step(feats, tok, h)
            logp = F.log_softmax(out, -1)
            if greedy:
                tok = logp.argmax(-1)
            else:
                tok = Categorical(logits=logp).sample()
            seqs.append(tok)
            logps.append(logp.gather(1, tok.unsqueeze(1)).squeeze(1))
        return torch.stack(seqs, 1), torch.stack(logps, 1)


def eos_mask(seqs):
    """1 up to and including the first <eos>, 0 after it."""
    is_eos = (seqs == EOS).long()
    after = (is_eos.cumsum(1) - is_eos) > 0
    return (~after).float()


def bleu2(hyp, ref):
    hyp = hyp[(eos_mask(hyp[None])[0] > 0) & (hyp != EOS)]
    ref = ref[(ref != PAD) & (ref != BOS) & (ref != EOS)]
    if hyp.numel() == 0:
        return 0.0
    p1 = torch.isin(hyp, ref).float().mean()
    if hyp.numel() < 2:
        return 0.5 * p1.item()
    hb, rb = hyp.unfold(0, 2, 1), ref.unfold(0, 2, 1)
    p2 = (hb[:, None, :] == rb[None]).all(-1).any(1).float().mean()
    bp = torch.exp(torch.clamp(torch.tensor(1.0 - ref.numel() / hyp.numel()), max=0.0))
    return (bp * torch.sqrt(p1 * p2 + 1e-12)).item()


model = Captioner()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
for it in range(45):
    ss = min(0.25, it / 120)
    logits = model(train_imgs, train_caps, ss_prob=ss)
    loss = F.cross_entropy(
        logits.reshape(-1, V), train_caps[:, 1:].reshape(-1), ignore_index=PAD, label_smoothing=0.1
    )
    opt.zero_grad()
    loss.backward()
    gnorm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if it % 11 == 0:
        print(
            f'xe it {it:2d} loss {loss.item():.4f} grad-norm {gnorm.item():.3f} ss {ss:.3f} '
            f'lr {sched.get_last_lr()[0]:.4f}'
        )

model.eval()
with torch.no_grad():
    greedy, _ = model.sample(train_imgs[:4])
for row in greedy:
    print('greedy:', ' '.join(words[t] for t in row.tolist()))

# self-critical fine-tuning
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
model.train()
for it in range(12):
    with torch.no_grad():
        base_seq, _ = model.sample(train_imgs, greedy=True)
    samp_seq, samp_logp = model.sample(train_imgs, greedy=False)
    r_samp = torch.tensor([bleu2(s, c) for s, c in zip(samp_seq, train_caps)])
    r_base = torch.tensor([bleu2(s, c) for s, c in zip(base_seq, train_caps)])
    advantage = (r_samp - r_base).unsqueeze(1)
    mask = eos_mask(samp_seq)
    loss = -(advantage * samp_logp * mask).sum() / mask.sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 4 == 0:
        print(
            f'scst it {it:2d} reward {r_samp.mean():.3f} baseline {r_base.mean():.3f} '
            f'loss {loss.item():.4f} tokens {int(mask.sum())}'
        )

model.eval()
with torch.no_grad():
    test_imgs, test_caps = make_batch(8, torch.Generator().manual_seed(5))
    seqs, logps = model.sample(test_imgs)
    scores = torch.tensor([bleu2(s, c) for s, c in zip(seqs, test_caps)])
print('test BLEU-2 per caption', scores.numpy().round(2).tolist())
print(
    'mean',
    round(scores.mean().item(), 3),
    'log-prob',
    (logps * eos_mask(seqs)).sum(1).mean().item().__round__(3),
)
print(eos_mask(seqs)[:3])
