"""CRNN text recognition in the manner of the crnn.pytorch / deep-text-recognition-benchmark
reference code: synthetic glyph strips are rendered from 5x3 bitmaps with NumPy, a VGG-ish conv
backbone uses ``MaxPool2d((2, 1), (2, 1))`` to keep width, ``AdaptiveAvgPool2d((1, None))``
collapses height, the feature map goes to a sequence with ``squeeze``/``permute``, a stacked
bidirectional ``nn.LSTM`` (``batch_first=False``) and a ``Linear`` head give per-column
classes; a ``strLabelConverter``-style encoder/decoder, ``nn.CTCLoss(reduction="sum")`` divided
by batch size, Adadelta-then-Adam style training with ``StepLR``, greedy decoding with
``torch.unique_consecutive(..., return_counts=True)``, character and sequence accuracy,
``torch.no_grad`` evaluation, float64 throughout (``model.double()``)."""
import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(3)
ALPHABET = "0123456789"
GLYPHS = {
    "0": ["111", "101", "101", "101", "111"], "1": ["010", "110", "010", "010", "111"],
    "2": ["111", "001", "111", "100", "111"], "3": ["111", "001", "011", "001", "111"],
    "4": ["101", "101", "111", "001", "001"], "5": ["111", "100", "111", "001", "111"],
    "6": ["111", "100", "111", "101", "111"], "7": ["111", "001", "010", "010", "010"],
    "8": ["111", "101", "111", "101", "111"], "9": ["111", "101", "111", "001", "111"],
}


def render(text, width=20):
    img = np.zeros((8, width))
    x = 1 + int(rng.integers(0, 3))
    for ch in text:
        g = np.array([[int(c) for c in row] for row in GLYPHS[ch]], dtype=np.float64)
        img[1 + int(rng.integers(0, 3)):, x:x + 3][:5] += g
        x += 3 + int(rng.integers(1, 3))
    img += 0.15 * rng.standard_normal(img.shape)
    return img


class StrLabelConverter:
    def __init__(self, alphabet):
        self.alphabet = alphabet
        self.dict = {c: i + 1 for i, c in enumerate(alphabet)}     # 0 = blank

    def encode(self, texts):
        lengths = [len(t) for t in texts]
        flat = [self.dict[c] for t in texts for c in t]
        return torch.IntTensor(flat), torch.IntTensor(lengths)

    def decode(self, t, length):
        ids, counts = torch.unique_consecutive(t[:length], return_counts=True)
        return "".join(self.alphabet[i - 1] for i in ids.tolist() if i != 0)


texts = ["".join(rng.choice(list(ALPHABET), int(rng.integers(2, 4)))) for _ in range(32)]
images = torch.from_numpy(np.stack([render(t) for t in texts])).unsqueeze(1)
converter = StrLabelConverter(ALPHABET)
print("images", images.shape, images.dtype, texts[:4], converter.encode(texts[:2]))


class BidirectionalLSTM(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.rnn = nn.LSTM(n_in, n_hidden, bidirectional=True)
        self.embedding = nn.Linear(n_hidden * 2, n_out)

    def forward(self, x):
        recurrent, _ = self.rnn(x)
        T, b, h = recurrent.size()
        out = self.embedding(recurrent.view(T * b, h))
        return out.view(T, b, -1)


class CRNN(nn.Module):
    def __init__(self, n_class, nh=12):
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(1, 8, 3, 1, 1), nn.ReLU(True), nn.MaxPool2d((2, 1), (2, 1)),
            nn.Conv2d(8, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU(True),
            nn.MaxPool2d((2, 2), (2, 1), (0, 1)),
            nn.Conv2d(16, 16, (2, 1)), nn.LeakyReLU(0.2, inplace=True),
            nn.AdaptiveAvgPool2d((1, None)))
        self.rnn = nn.Sequential(BidirectionalLSTM(16, nh, nh), BidirectionalLSTM(nh, nh, n_class))

    def forward(self, x):
        conv = self.cnn(x)
        b, c, h, w = conv.size()
        assert h == 1, "the height of conv must be 1"
        conv = conv.squeeze(2).permute(2, 0, 1)      # [w, b, c]
        return self.rnn(conv)


def weights_init(m):
    name = m.__class__.__name__
    if name.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02 * 10)
    elif name.find("BatchNorm") != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


model = CRNN(len(ALPHABET) + 1)
model.apply(weights_init)
with torch.no_grad():
    for p in model.rnn.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.25, 0.25, tuple(p.shape))))
model = model.double()
print(model.cnn[6], model.cnn[9], model.rnn[0].rnn)
T = model(images[:2]).shape[0]
print("sequence length", T, next(model.parameters()).dtype)
criterion = nn.CTCLoss(reduction="sum", zero_infinity=True)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.999))
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)

for epoch in range(14):
    model.train()
    perm = torch.randperm(len(texts))
    total = 0.0
    for i in range(0, len(texts), 8):
        idx = perm[i:i + 8]
        batch_texts = [texts[j] for j in idx.tolist()]
        targets, lengths = converter.encode(batch_texts)
        preds = model(images[idx]).log_softmax(2)
        preds_size = torch.IntTensor([preds.size(0)] * len(batch_texts))
        cost = criterion(preds, targets, preds_size, lengths) / len(batch_texts)
        model.zero_grad()
        cost.backward()
        optimizer.step()
        total += cost.item()
    scheduler.step()
    if epoch % 6 == 0 or epoch == 13:
        print(f"epoch {epoch} loss {total / 4:.4f} lr {scheduler.get_last_lr()[0]:.4g}")

model.eval()
with torch.no_grad():
    preds = model(images)
    _, best = preds.max(2)
    best = best.transpose(1, 0).contiguous()
    decoded = [converter.decode(best[i], best.size(1)) for i in range(len(texts))]
    raw = ["".join("-" if k == 0 else ALPHABET[k - 1] for k in best[i].tolist()) for i in range(2)]
n_correct = sum(d == t for d, t in zip(decoded, texts))
char_hits = sum(sum(a == b for a, b in zip(d, t)) for d, t in zip(decoded, texts))
print("raw", raw, "->", decoded[:2], "gt", texts[:2])
print(f"seq acc {n_correct / len(texts):.3f} char acc {char_hits / sum(map(len, texts)):.3f}")
probs = preds.softmax(2).max(2).values
print("confidence", probs.prod(0)[:4].round(decimals=3), math.isfinite(preds.sum().item()))
