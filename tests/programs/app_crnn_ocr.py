"""Text-line OCR with a CRNN, as the CRNN/"captcha solver" tutorials and repositories write it:
digit strings rendered from a tiny bitmap font onto a noisy canvas, torchvision v2 augmentation
(``RandomAffine``, ``GaussianBlur``) inside a Dataset, a conv stack that halves the height more
than the width (``MaxPool2d((2, 1))``) and collapses it with ``AdaptiveAvgPool2d((1, None))``, a
bidirectional LSTM over the columns, and ``F.ctc_loss`` with the blank as the *last*
class, padded targets and ``zero_infinity=True`` for a few noisy labels too long for the line.
Decoding: greedy (argmax, ``unique_consecutive``, drop blanks) and a small CTC prefix beam search
in log space (``torch.logaddexp``); scored by character error rate (edit distance)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

torch.manual_seed(0)
# CTC training sits on an all-blank plateau before it learns the glyphs, and leaving it
# magnifies float32 rounding differences between BLAS builds; float64 keeps runs comparable.
torch.set_default_dtype(torch.float64)

# 3x5 bitmaps of the digits 0-9 (rows top to bottom)
FONT = ["111101101101111", "010110010010111", "111001111100111", "111001111001111",
        "101101111001001", "111100111001111", "111100111101111", "111001010010010",
        "111101111101111", "111101111001111"]
GLYPHS = torch.tensor([[int(c) for c in g] for g in FONT], dtype=torch.float).view(10, 1, 5, 3)
H, W = 8, 32
NUM_CLASSES = 10
BLANK = NUM_CLASSES                     # blank is the last output, as in many CRNN repos


def render(label):
    """Draw a digit string left to right with random gaps and a random baseline."""
    img = torch.zeros(1, H, W)
    x0 = int(torch.randint(1, 4, ()).item())
    y0 = int(torch.randint(0, H - 5, ()).item())
    for d in label:
        img[:, y0:y0 + 5, x0:x0 + 3] = torch.maximum(img[:, y0:y0 + 5, x0:x0 + 3], GLYPHS[d])
        x0 += 3 + int(torch.randint(1, 3, ()).item())
    return img


class SyntheticLines(Dataset):
    def __init__(self, n, noisy_labels=0):
        self.labels = [torch.randint(0, 10, (int(torch.randint(2, 6, ()).item()),)).tolist()
                       for _ in range(n)]
        self.images = torch.stack([render(lab) for lab in self.labels])
        # a few annotation errors: labels far longer than the line can hold
        for i in range(noisy_labels):
            self.labels[i] = self.labels[i] + torch.randint(0, 10, (20,)).tolist()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = self.images[i]
        img = (img + 0.1 * torch.randn_like(img)).clamp(0, 1)
        return img, torch.tensor(self.labels[i])


def make_collate(transform=None):
    """Stack a batch, pad its labels with the blank, and augment the stacked batch (v2
    transforms draw one set of parameters for a batched tensor, as GPU pipelines use them)."""
    def collate(batch):
        imgs, labels = zip(*batch)
        imgs = torch.stack(imgs)
        if transform is not None:
            imgs = transform(imgs)
        lengths = torch.tensor([len(t) for t in labels])
        padded = nn.utils.rnn.pad_sequence(labels, batch_first=True, padding_value=BLANK)
        return imgs, padded, lengths
    return collate


augment = v2.Compose([
    v2.RandomAffine(degrees=2, translate=(0.02, 0.06), scale=(0.95, 1.05)),
    v2.GaussianBlur(kernel_size=3, sigma=(0.1, 0.7)),
])
train_set = SyntheticLines(128, noisy_labels=3)
test_set = SyntheticLines(64)
print("train", len(train_set), "test", len(test_set), "first label", train_set.labels[5],
      "ink", round(train_set.images[5].sum().item(), 1))


class CRNN(nn.Module):
    def __init__(self, n_out, hidden=32):
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                                   # 4 x 16
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.MaxPool2d((2, 1)),                              # 2 x 16: keep the columns
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, None)),                   # 1 x 16
        )
        self.rnn = nn.LSTM(32, hidden, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, n_out)

    def forward(self, x):
        f = self.cnn(x).squeeze(2)              # N, C, T
        f = f.permute(2, 0, 1)                  # T, N, C
        out, _ = self.rnn(f)
        return self.fc(out).log_softmax(2)      # T, N, classes


model = CRNN(NUM_CLASSES + 1)
print("parameters", sum(p.numel() for p in model.parameters()))
loader = DataLoader(train_set, batch_size=8, shuffle=True, collate_fn=make_collate(augment))
opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
epochs = 20
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=epochs * len(loader),
                                            pct_start=0.2)

for epoch in range(epochs):
    model.train()
    total, inf_count = 0.0, 0
    for imgs, targets, tlen in loader:
        log_probs = model(imgs)
        T, N = log_probs.shape[:2]
        in_len = torch.full((N,), T, dtype=torch.long)
        with torch.no_grad():
            per = F.ctc_loss(log_probs, targets, in_len, tlen, blank=BLANK, reduction="none")
            inf_count += int(torch.isinf(per).sum())
        loss = F.ctc_loss(log_probs, targets, in_len, tlen, blank=BLANK, zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        total += loss.item()
    if epoch % 4 == 3:
        print(f"epoch {epoch + 1} ctc {total / len(loader):.3f} impossible targets {inf_count}")


def greedy_decode(log_probs):
    """Best path: argmax per column, merge repeats, drop blanks."""
    best = log_probs.argmax(2).T                # N, T
    out = []
    for path in best:
        merged = torch.unique_consecutive(path)
        out.append(merged[merged != BLANK].tolist())
    return out


def extend(beams, prefix, pb, pnb):
    """Add probability mass (ending in blank, ending in the last symbol) to a prefix."""
    neg_inf = torch.tensor(float("-inf"))
    ob, onb = beams.get(prefix, (neg_inf, neg_inf))
    beams[prefix] = (torch.logaddexp(ob, pb), torch.logaddexp(onb, pnb))


def prefix_beam_search(log_probs, beam=4):
    """CTC prefix beam search over one sequence's (T, C) log-probabilities: each prefix keeps
    the log-probability of ending in a blank and of ending in its last symbol."""
    neg_inf = torch.tensor(float("-inf"))
    beams = {(): (torch.tensor(0.0), neg_inf)}
    for t in range(log_probs.shape[0]):
        lp = log_probs[t]
        nxt = {}
        for prefix, (pb, pnb) in beams.items():
            total = torch.logaddexp(pb, pnb)
            extend(nxt, prefix, total + lp[BLANK], neg_inf)
            for c in torch.topk(lp[:BLANK], 3).indices.tolist():
                if prefix and prefix[-1] == c:
                    extend(nxt, prefix, neg_inf, pnb + lp[c])        # repeat, no blank between
                    extend(nxt, prefix + (c,), neg_inf, pb + lp[c])  # repeat after a blank
                else:
                    extend(nxt, prefix + (c,), neg_inf, total + lp[c])
        ranked = sorted(nxt.items(), key=lambda kv: -torch.logaddexp(*kv[1]).item())
        beams = dict(ranked[:beam])
    best, (pb, pnb) = next(iter(beams.items()))
    return list(best), torch.logaddexp(pb, pnb).item()


def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


model.eval()
test_loader = DataLoader(test_set, batch_size=64, collate_fn=make_collate())
imgs, targets, tlen = next(iter(test_loader))
with torch.no_grad():
    log_probs = model(imgs)
truth = [t[:n].tolist() for t, n in zip(targets, tlen)]
greedy = greedy_decode(log_probs)
errors = sum(edit_distance(p, t) for p, t in zip(greedy, truth))
exact = sum(p == t for p, t in zip(greedy, truth))
print(f"greedy CER {errors / tlen.sum().item():.4f} exact lines {exact}/{len(truth)}")
T = log_probs.shape[0]
test_loss = F.ctc_loss(log_probs, torch.cat([t[:n] for t, n in zip(targets, tlen)]),
                       torch.full((len(truth),), T), tlen, blank=BLANK)
print("test ctc (concatenated targets)", round(test_loss.item(), 3))
for i in range(4):
    seq, score = prefix_beam_search(log_probs[:, i])
    print("truth", "".join(map(str, truth[i])), "greedy", "".join(map(str, greedy[i])),
          "beam", "".join(map(str, seq)), f"logp {score:.2f}")

# zero_infinity zeroes both the loss and the gradient of an impossible alignment
lp = log_probs[:, :2].clone().requires_grad_(True)
tg = torch.tensor([[1, 2], [3] * 2]).repeat(1, 10)      # 20 labels, more than T columns
loss = F.ctc_loss(lp, tg, torch.tensor([T, T]), torch.tensor([2, 20]), blank=BLANK,
                  reduction="sum", zero_infinity=True)
loss.backward()
print("sum loss", round(loss.item(), 3), "grad norm per sample",
      [round(v, 4) for v in lp.grad.norm(dim=(0, 2)).tolist()])
