"""A 1-D CNN motif finder on DNA, in the manner of DeepBind/Basset-style genomics scripts:
integer-encoded sequences one-hot encoded with F.one_hot and permuted to (N, 4, L), a planted
motif as the positive class, reverse-complement augmentation with flip and index lookup,
a Conv1d scanner with global max pooling, BCEWithLogitsLoss with pos_weight for class
imbalance, a WeightedRandomSampler, StepLR, and afterwards motif recovery: filter weights
turned into position weight matrices with softmax, the best-scoring offsets with topk,
in-silico mutagenesis with advanced-index assignment and index_put_, and information content
in bits."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

torch.manual_seed(0)
rng = np.random.default_rng(7)
ALPHABET = "ACGT"
COMPLEMENT = torch.tensor([3, 2, 1, 0])        # A<->T, C<->G
MOTIF = "TGACTCA"                              # an AP-1 site
L, N = 40, 240


def encode(s):
    return torch.tensor([ALPHABET.index(c) for c in s], dtype=torch.long)


def decode(idx):
    return "".join(ALPHABET[i] for i in idx.tolist())


seqs = torch.from_numpy(rng.integers(0, 4, size=(N, L)))
labels = torch.from_numpy((rng.random(N) < 0.3).astype(np.float32))
motif = encode(MOTIF)
starts = torch.from_numpy(rng.integers(0, L - len(MOTIF), size=N))
for i in torch.nonzero(labels, as_tuple=True)[0].tolist():
    s = int(starts[i])
    seqs[i, s:s + len(MOTIF)] = motif
print("dtype", seqs.dtype, "positives", int(labels.sum()), "of", N)
print("first sequence", decode(seqs[0][:20]), "...")

onehot = F.one_hot(seqs, num_classes=4).permute(0, 2, 1).float()   # (N, 4, L)
print("one-hot", tuple(onehot.shape), onehot.dtype, "contiguous", onehot.is_contiguous())
gc = onehot[:, 1:3].sum(dim=(1, 2)) / L
print("GC content mean {:.4f} std {:.4f}".format(gc.mean().item(), gc.std().item()))


def reverse_complement(idx):
    return COMPLEMENT[idx.flip(-1)]


rc = reverse_complement(motif)
print("motif", MOTIF, "revcomp", decode(rc), "palindromic", bool(torch.equal(rc, motif)))

try:
    F.one_hot(torch.tensor([0, 4]), num_classes=4)
except RuntimeError as e:
    print("one_hot error:", str(e).split("\n")[0])


class MotifCNN(nn.Module):
    def __init__(self, n_filters=8, width=9):
        super().__init__()
        self.conv = nn.Conv1d(4, n_filters, width, padding=width // 2)
        self.bn = nn.BatchNorm1d(n_filters)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(n_filters, 1)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x)))
        h = F.adaptive_max_pool1d(h, 1).squeeze(-1)
        return self.fc(self.drop(h)).squeeze(-1)


model = MotifCNN()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
print(model)
print("params", sum(p.numel() for p in model.parameters()))
try:  # a 6-channel input (say, one-hot with N and gap symbols) fed to the 8-filter batch norm
    model.bn(torch.randn(2, 6, L))
except RuntimeError as e:
    print("batch norm refused it:", type(e).__name__, "running_mean" in str(e))

n_pos = labels.sum()
pos_weight = (len(labels) - n_pos) / n_pos
print("pos_weight {:.4f}".format(pos_weight.item()))
weights = torch.where(labels > 0, 1.0 / n_pos, 1.0 / (len(labels) - n_pos))
sampler = WeightedRandomSampler(weights.double(), num_samples=N, replacement=True,
                                generator=torch.Generator().manual_seed(3))
train = TensorDataset(seqs, labels)
loader = DataLoader(train, batch_size=32, sampler=sampler)
criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
opt = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
flip_gen = torch.Generator().manual_seed(11)

for epoch in range(6):
    model.train()
    total, seen = 0.0, 0
    for xb, yb in loader:
        flip = torch.rand(xb.shape[0], generator=flip_gen) < 0.5
        xb = torch.where(flip[:, None], reverse_complement(xb), xb)
        x = F.one_hot(xb, 4).transpose(1, 2).to(torch.float32)
        loss = criterion(model(x), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * xb.shape[0]
        seen += xb.shape[0]
    sched.step()
    print("epoch {} loss {:.4f} lr {:.4f}".format(epoch, total / seen, sched.get_last_lr()[0]))

model.eval()
with torch.no_grad():
    logits = model(onehot)
    logits_rc = model(F.one_hot(reverse_complement(seqs), 4).permute(0, 2, 1).float())
    probs = torch.sigmoid((logits + logits_rc) / 2)
pred = (probs > 0.5).float()
acc = (pred == labels).float().mean()
tp = ((pred == 1) & (labels == 1)).sum().item()
print("accuracy {:.4f} precision {:.4f} recall {:.4f}".format(
    acc.item(), tp / max(pred.sum().item(), 1), tp / labels.sum().item()))
order = probs.argsort(descending=True)
ranks = torch.empty_like(order)
ranks[order] = torch.arange(N)
auc_pos = ranks[labels == 1].float()
print("mean rank of positives {:.2f}".format(auc_pos.mean().item()))

# --- motif recovery: which filter fires, and where --------------------------------------
with torch.no_grad():
    acts = model.conv(onehot)                                 # (N, F, L)
    best_filter = model.fc.weight[0].argmax().item()
    scores, where = acts[labels == 1, best_filter].max(dim=1)
offset = (where - starts[labels == 1] - len(MOTIF) // 2)
print("best filter", best_filter, "hit offsets (mode)", int(offset.mode().values))
print("offset counts", torch.bincount((offset + 10).clamp(0, 20), minlength=21)[7:14])
pwm = F.softmax(model.conv.weight[best_filter].detach() * 2.0, dim=0)    # (4, width)
consensus = decode(pwm.argmax(dim=0))
ic = 2 + (pwm * torch.log2(pwm)).sum(dim=0)
print("consensus", consensus, "IC bits", torch.round(ic, decimals=2))
top_vals, top_idx = scores.topk(3)
print("top scores", [round(v, 3) for v in top_vals.tolist()], top_idx.tolist())

# --- in-silico mutagenesis of one positive --------------------------------------------------
i = int(torch.nonzero(labels)[0])
x0 = onehot[i:i + 1]
with torch.no_grad():
    base = model(x0)
    muts = x0.repeat(4 * L, 1, 1)
    pos = torch.arange(4 * L) // 4
    base_idx = torch.arange(4 * L) % 4
    muts[torch.arange(4 * L), :, pos] = 0.0
    rows = torch.arange(4 * L)
    muts[rows, :, pos] = 0.0                                  # clear the column, then
    muts.index_put_((rows, base_idx, pos), torch.ones(4 * L))  # set the substituted base
    delta = (model(muts) - base).view(L, 4)
effect = delta.abs().amax(dim=1)
s = int(starts[i])
inside = effect[s:s + len(MOTIF)].mean()
outside = torch.cat([effect[:s], effect[s + len(MOTIF):]]).mean()
print("ISM mean |effect| inside motif {:.4f} outside {:.4f}".format(inside.item(),
                                                                     outside.item()))
print("most sensitive positions", effect.topk(4).indices.sort().values.tolist(), "motif at", s)
