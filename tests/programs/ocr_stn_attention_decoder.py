"""Attention-based text recognition in the manner of ASTER / deep-text-recognition-benchmark:
a spatial transformer (localisation net regressing an affine ``theta`` initialised to the
identity, ``F.affine_grid`` + ``F.grid_sample(padding_mode="border")``) rectifies slanted
glyph strips, a conv encoder gives a sequence of column features, and a Bahdanau attention
decoder (``nn.GRUCell`` fed with a one-hot of the previous character built by
``torch.FloatTensor(...).zero_().scatter_(1, ..., 1)``, additive attention with ``torch.bmm``)
is trained with teacher forcing (ratio drawn with ``torch.rand``) and a padded
``cross_entropy(ignore_index=0)``; ``Adadelta`` like the reference, ``clip_grad_value_``;
greedy decoding until ``[s]``, attention maps' sharpness and accuracy; float64."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(1)
CHARS = "abc"
GO, EOS = "[GO]", "[s]"
ITOS = ["[PAD]", GO, EOS] + list(CHARS)
STOI = {s: i for i, s in enumerate(ITOS)}
MAX_LEN = 4
STROKES = {"a": np.array([[1, 1], [1, 1], [0, 1]]), "b": np.array([[1, 0], [1, 1], [1, 1]]),
           "c": np.array([[1, 1], [1, 0], [1, 1]])}


def render(text, h=8, w=14):
    img = np.zeros((h, w))
    x = 1
    for ch in text:
        img[2:5, x:x + 2] = STROKES[ch]
        x += 3
    shear = rng.uniform(-0.3, 0.3)
    rows = np.arange(h)[:, None]
    cols = np.clip(np.round(np.arange(w)[None, :] + shear * (rows - h / 2)).astype(int), 0, w - 1)
    return img[rows, cols] + 0.1 * rng.standard_normal((h, w))


texts = ["".join(rng.choice(list(CHARS), int(rng.integers(1, MAX_LEN)))) for _ in range(24)]
images = torch.from_numpy(np.stack([render(t) for t in texts]))[:, None]


def encode(batch):
    """[GO] + text + [s], padded with [PAD] to MAX_LEN + 2."""
    out = torch.LongTensor(len(batch), MAX_LEN + 2).fill_(STOI["[PAD]"])
    for i, t in enumerate(batch):
        ids = [STOI[GO]] + [STOI[c] for c in t] + [STOI[EOS]]
        out[i, :len(ids)] = torch.LongTensor(ids)
    return out


print("images", images.shape, images.dtype, texts[:3], encode(texts[:2]))


class STN(nn.Module):
    def __init__(self):
        super().__init__()
        self.loc = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(True),
                                 nn.Flatten(), nn.Linear(4 * 4 * 7, 16), nn.ReLU(True))
        self.fc_loc = nn.Linear(16, 6)
        self.fc_loc.weight.data.zero_()
        self.fc_loc.bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def forward(self, x):
        theta = self.fc_loc(self.loc(x)).view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        return F.grid_sample(x, grid, padding_mode="border", align_corners=False), theta


class Attention(nn.Module):
    def __init__(self, d_in, hidden, n_class):
        super().__init__()
        self.i2h = nn.Linear(d_in, hidden, bias=False)
        self.h2h = nn.Linear(hidden, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)
        self.rnn = nn.GRUCell(d_in + n_class, hidden)
        self.generator = nn.Linear(hidden, n_class)
        self.hidden, self.n_class = hidden, n_class

    def _one_hot(self, ids):
        one_hot = torch.FloatTensor(ids.size(0), self.n_class).zero_().to(ids.device)
        return one_hot.scatter_(1, ids.unsqueeze(1), 1).double()

    def step(self, prev_hidden, feats, prev_ids):
        proj = self.i2h(feats)                                              # (B, T, H)
        e = self.score(torch.tanh(proj + self.h2h(prev_hidden).unsqueeze(1)))  # (B, T, 1)
        alpha = F.softmax(e, dim=1)
        context = torch.bmm(alpha.permute(0, 2, 1), feats).squeeze(1)       # (B, d_in)
        h = self.rnn(torch.cat([context, self._one_hot(prev_ids)], 1), prev_hidden)
        return h, alpha.squeeze(2)

    def forward(self, feats, text, is_train=True, tf_ratio=1.0, steps=MAX_LEN + 1):
        b = feats.size(0)
        h = feats.new_zeros(b, self.hidden)
        probs, alphas = [], []
        ids = text[:, 0] if text is not None else torch.LongTensor(b).fill_(STOI[GO])
        for i in range(steps):
            h, alpha = self.step(h, feats, ids)
            logits = self.generator(h)
            probs.append(logits)
            alphas.append(alpha)
            use_tf = is_train and torch.rand(1).item() < tf_ratio
            ids = text[:, i + 1] if use_tf else logits.argmax(1)
        return torch.stack(probs, 1), torch.stack(alphas, 1)


class Recognizer(nn.Module):
    def __init__(self):
        super().__init__()
        self.stn = STN()
        self.cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(True),
                                 nn.MaxPool2d((2, 1)), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(True),
                                 nn.AdaptiveAvgPool2d((1, None)))
        self.decoder = Attention(8, 12, len(ITOS))

    def forward(self, x, text=None, is_train=True, tf_ratio=1.0):
        x, theta = self.stn(x)
        feats = self.cnn(x).squeeze(2).permute(0, 2, 1)                     # (B, W, C)
        return self.decoder(feats, text, is_train, tf_ratio), theta


model = Recognizer().double()
for name, p in model.named_parameters():
    if "fc_loc" in name or "bn" in name or p.dim() < 2:
        continue
    nn.init.kaiming_normal_(p)
warped, theta = model.stn(images[:2])
print("identity STN keeps the image", torch.allclose(warped, images[:2], atol=1e-6), theta[0])
optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.95, eps=1e-8)
criterion = nn.CrossEntropyLoss(ignore_index=0)

for epoch in range(6):
    model.train()
    total = 0.0
    for i in range(0, len(texts), 8):
        target = encode(texts[i:i + 8])
        (logits, _), _ = model(images[i:i + 8], target, tf_ratio=0.8)
        loss = criterion(logits.reshape(-1, logits.shape[-1]), target[:, 1:].reshape(-1))
        model.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 5.0)
        optimizer.step()
        total += loss.item()
    if epoch % 2 == 1:
        print(f"epoch {epoch} loss {total / 3:.4f}")

model.eval()
with torch.no_grad():
    (logits, alphas), theta = model(images, None, is_train=False)
    pred_ids = logits.argmax(2)
preds = []
for row in pred_ids.tolist():
    s = "".join(ITOS[k] for k in row)
    preds.append(s[:s.find(EOS)] if EOS in s else s)
acc = sum(p == t for p, t in zip(preds, texts)) / len(texts)
print("pred", preds[:5], "gt", texts[:5], f"acc {acc:.3f}")
print("attention", alphas.shape, alphas[0, 0].round(decimals=3), "entropy",
      round(float(-(alphas * alphas.clamp_min(1e-12).log()).sum(-1).mean()), 4))
print("theta", theta.mean(0).round(decimals=4))
