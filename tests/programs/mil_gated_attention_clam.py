"""Attention-based deep MIL (Ilse et al. 2018) with the gated attention head, trained on bags
of varying size padded into one batch with a boolean mask (``pad_sequence`` +
``masked_fill(-inf)`` before the softmax over instances), plus the CLAM instance-level
clustering loss: the top-k and bottom-k attended instances (``torch.topk`` + ``gather``) get
pseudo-labels 1/0 and a smooth-SVM-free cross-entropy. Bag loss is BCE with logits with
``pos_weight``; the ROC curve and AUC are computed with torch ops (argsort, cumsum,
``torch.trapezoid``), and a bag-size collate error is caught and printed."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)
rng = np.random.default_rng(0)

# A bag is positive when it contains at least one "key" instance (shifted mean in dims 0..2).
D = 8


def make_bag(positive):
    n = int(rng.integers(4, 11))
    x = rng.standard_normal((n, D))
    labels = np.zeros(n)
    if positive:
        k = int(rng.integers(1, 3))
        idx = rng.choice(n, size=k, replace=False)
        x[idx, :3] += 3.0
        labels[idx] = 1
    return torch.from_numpy(x).float(), torch.from_numpy(labels).float()


bags, inst_labels, bag_labels = [], [], []
for i in range(48):
    pos = i % 3 == 0
    x, y = make_bag(pos)
    bags.append(x)
    inst_labels.append(y)
    bag_labels.append(float(pos))
bag_labels = torch.tensor(bag_labels)
print("bags", len(bags), "positives", int(bag_labels.sum().item()),
      "sizes", [b.shape[0] for b in bags[:6]])

try:
    torch.stack(bags[:2])
except RuntimeError as e:
    print("stack of ragged bags fails:", type(e).__name__)


class GatedAttentionMIL(nn.Module):
    def __init__(self, d_in, d_hid=16, d_att=8, k_sample=2):
        super().__init__()
        self.feature = nn.Sequential(nn.Linear(d_in, d_hid), nn.ReLU())
        self.attention_V = nn.Sequential(nn.Linear(d_hid, d_att), nn.Tanh())
        self.attention_U = nn.Sequential(nn.Linear(d_hid, d_att), nn.Sigmoid())
        self.attention_w = nn.Linear(d_att, 1)
        self.classifier = nn.Linear(d_hid, 1)
        self.instance_classifier = nn.Linear(d_hid, 2)
        self.k_sample = k_sample

    def forward(self, x, mask):
        h = self.feature(x)  # (B, N, H)
        a = self.attention_w(self.attention_V(h) * self.attention_U(h)).squeeze(-1)
        a = a.masked_fill(~mask, float("-inf"))
        attn = torch.softmax(a, dim=1)  # (B, N)
        z = torch.bmm(attn.unsqueeze(1), h).squeeze(1)  # (B, H)
        return self.classifier(z).squeeze(-1), attn, h

    def instance_loss(self, attn, h, mask):
        # CLAM: top-k attended instances are pseudo-positive, bottom-k pseudo-negative
        k = self.k_sample
        top_idx = torch.topk(attn, k, dim=1).indices
        low_scores = attn.masked_fill(~mask, 2.0)
        bot_idx = torch.topk(low_scores, k, dim=1, largest=False).indices
        idx = torch.cat([top_idx, bot_idx], dim=1)  # (B, 2k)
        sel = torch.gather(h, 1, idx.unsqueeze(-1).expand(-1, -1, h.size(-1)))
        pseudo = torch.cat([torch.ones_like(top_idx), torch.zeros_like(bot_idx)], dim=1)
        logits = self.instance_classifier(sel)
        return F.cross_entropy(logits.reshape(-1, 2), pseudo.reshape(-1)), idx


def collate(indices):
    xs = [bags[i] for i in indices]
    lengths = torch.tensor([x.shape[0] for x in xs])
    padded = pad_sequence(xs, batch_first=True)
    mask = torch.arange(padded.size(1))[None, :] < lengths[:, None]
    return padded, mask, bag_labels[indices]


model = GatedAttentionMIL(D)
opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
pos_weight = (bag_labels == 0).sum() / (bag_labels == 1).sum()
print("pos_weight", pos_weight)

train_idx = torch.arange(32)
test_idx = torch.arange(32, 48)
g = torch.Generator().manual_seed(1)
for epoch in range(30):
    perm = train_idx[torch.randperm(len(train_idx), generator=g)]
    total = 0.0
    for chunk in perm.split(8):
        x, mask, y = collate(chunk.tolist())
        logit, attn, h = model(x, mask)
        bag_loss = F.binary_cross_entropy_with_logits(logit, y, pos_weight=pos_weight)
        inst_loss, _ = model.instance_loss(attn, h, mask)
        loss = 0.7 * bag_loss + 0.3 * inst_loss
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        opt.step()
        total += loss.item() * len(chunk)
    sched.step()
    if epoch % 5 == 4:
        lr = sched.get_last_lr()[0]
        print(f"epoch {epoch + 1} loss {total / len(train_idx):.4f} lr {lr:.5f}")

model.eval()
with torch.no_grad():
    x, mask, y = collate(test_idx.tolist())
    logit, attn, h = model(x, mask)
    prob = torch.sigmoid(logit)
print("padded attention rows sum to", attn.sum(1)[:4])
print("masked positions all zero:", bool((attn[~mask] == 0).all()))


def roc_auc(scores, labels):
    order = torch.argsort(scores, descending=True)
    y_sorted = labels[order]
    tps = torch.cumsum(y_sorted, 0)
    fps = torch.cumsum(1 - y_sorted, 0)
    tpr = torch.cat([torch.zeros(1), tps / tps[-1]])
    fpr = torch.cat([torch.zeros(1), fps / fps[-1]])
    return torch.trapezoid(tpr, fpr), fpr, tpr


auc, fpr, tpr = roc_auc(prob, y)
print(f"bag AUC {auc.item():.4f}")
print("acc", ((prob > 0.5).float() == y).float().mean().item())

# how well does attention localize key instances in positive test bags?
hits = 0
n_pos = 0
for b, i in enumerate(test_idx.tolist()):
    if bag_labels[i] == 1:
        n_pos += 1
        top = attn[b].argmax().item()
        hits += int(inst_labels[i][top].item() == 1)
print(f"top-attended instance is a key instance in {hits}/{n_pos} positive bags")
inst_scores = torch.cat([attn[b, : bags[i].shape[0]] for b, i in enumerate(test_idx.tolist())])
inst_truth = torch.cat([inst_labels[i] for i in test_idx.tolist()])
inst_auc, _, _ = roc_auc(inst_scores, inst_truth)
print(f"instance AUC from attention {inst_auc.item():.4f}")
print(torch.round(attn[0], decimals=3))
