"""Two classic CNN sentence classifiers, as the popular re-implementations write them: Kim
(2014)'s CNN for sentence classification, multichannel variant (a frozen "static" embedding
from nn.Embedding.from_pretrained(freeze=True) next to a fine-tuned copy, stacked as two
Conv2d input channels, filter widths 3/4/5 spanning the whole embedding, ReLU and
max-over-time pooling with F.max_pool1d(x, x.size(2)), dropout, Adadelta with rho=0.95 and
the l2 max-norm constraint on the output layer applied with torch.renorm after each step);
and Zhang et al. (2015)'s character-level CNN (a quantized alphabet as F.one_hot channels,
Conv1d + nn.MaxPool1d(3) stacks with a dilated padding='same' layer,
nn.AdaptiveMaxPool1d(1, return_indices=True) to see which character window fired, Adam and
MultiStepLR). The labels come from a toy sentiment task with negation."""
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)

POS = ["good", "great", "fun", "superb", "lovely"]
NEG = ["bad", "dull", "awful", "boring", "weak"]
FILL = ["the", "movie", "plot", "was", "really", "acting", "quite", "and"]


def make_sentence():
    n = int(torch.randint(3, 8, ()).item())
    words = [FILL[int(i)] for i in torch.randint(0, len(FILL), (n,))]
    positive = bool(torch.rand(()) < 0.5)
    word = (POS if positive else NEG)[int(torch.randint(0, 5, ()).item())]
    negate = bool(torch.rand(()) < 0.3)
    at = int(torch.randint(0, n + 1, ()).item())
    words[at:at] = (["not"] if negate else []) + [word]
    return " ".join(words), int(positive != negate)


data = [make_sentence() for _ in range(160)]
train, test = data[:128], data[128:]
print(train[0], train[1], "positives", sum(y for _, y in train))

# ---- word-level vocabulary and padded batches --------------------------------------------
counter = Counter(w for s, _ in train for w in s.split())
itos = ["<pad>", "<unk>"] + [w for w, _ in counter.most_common()]
stoi = {w: i for i, w in enumerate(itos)}
MAX_LEN = 10


def to_ids(sentence):
    ids = [stoi.get(w, 1) for w in sentence.split()][:MAX_LEN]
    return ids + [0] * (MAX_LEN - len(ids))


Xw_train = torch.tensor([to_ids(s) for s, _ in train])
Xw_test = torch.tensor([to_ids(s) for s, _ in test])
y_train = torch.tensor([y for _, y in train])
y_test = torch.tensor([y for _, y in test])
print(len(itos), Xw_train.shape, Xw_train[0].tolist())

EMB = 12
pretrained = torch.randn(len(itos), EMB) * 0.5  # stands in for word2vec vectors
pretrained[0] = 0.0


class KimCNN(nn.Module):
    def __init__(self, vectors, n_filters=8, widths=(3, 4, 5), n_classes=2, dropout=0.5):
        super().__init__()
        self.static = nn.Embedding.from_pretrained(vectors, freeze=True, padding_idx=0)
        self.non_static = nn.Embedding.from_pretrained(vectors.clone(), freeze=False,
                                                       padding_idx=0)
        dim = vectors.size(1)
        self.convs = nn.ModuleList([nn.Conv2d(2, n_filters, (w, dim)) for w in widths])
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(n_filters * len(widths), n_classes)

    def forward(self, x):
        x = torch.stack([self.static(x), self.non_static(x)], dim=1)  # (N, 2, L, D)
        pooled = []
        for conv in self.convs:
            h = F.relu(conv(x)).squeeze(3)  # (N, C, L - w + 1)
            pooled.append(F.max_pool1d(h, h.size(2)).squeeze(2))
        return self.fc(self.dropout(torch.cat(pooled, 1)))


kim = KimCNN(pretrained)
print(kim)
print("trainable", [n for n, p in kim.named_parameters() if p.requires_grad])
MAX_NORM = 0.65  # 3 in the paper; smaller here so that it binds within a few epochs
opt = torch.optim.Adadelta(kim.parameters(), lr=1.0, rho=0.95, eps=1e-6)
for epoch in range(12):
    kim.train()
    perm = torch.randperm(len(train))
    total = 0.0
    for b in range(0, len(train), 32):
        idx = perm[b:b + 32]
        loss = F.cross_entropy(kim(Xw_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():  # Kim's constraint on each class row of the output layer
            kim.fc.weight.copy_(torch.renorm(kim.fc.weight, p=2, dim=0, maxnorm=MAX_NORM))
        total += loss.item() * len(idx)
    kim.eval()
    with torch.no_grad():
        acc = (kim(Xw_test).argmax(1) == y_test).float().mean().item()
    print("kim epoch {} loss {:.4f} test acc {:.3f} fc row norms {}".format(
        epoch, total / len(train), acc, [round(v, 3) for v in kim.fc.weight.norm(dim=1).tolist()]))
print("static unchanged", torch.equal(kim.static.weight, pretrained),
      "non-static moved", round((kim.non_static.weight - pretrained).abs().sum().item(), 3),
      "pad row", kim.non_static.weight[0].abs().sum().item())

# ---- character-level CNN ---------------------------------------------------------------------
ALPHABET = "abcdefghijklmnopqrstuvwxyz "
char_index = {c: i + 1 for i, c in enumerate(ALPHABET)}  # 0: padding / unknown
CHAR_LEN = 48


def quantize(sentence):
    ids = [char_index.get(c, 0) for c in sentence.lower()[:CHAR_LEN]]
    return ids + [0] * (CHAR_LEN - len(ids))


Xc_train = torch.tensor([quantize(s) for s, _ in train])
Xc_test = torch.tensor([quantize(s) for s, _ in test])


class CharCNN(nn.Module):
    def __init__(self, n_chars=len(ALPHABET) + 1, channels=16, n_classes=2):
        super().__init__()
        self.n_chars = n_chars
        self.features = nn.Sequential(
            nn.Conv1d(n_chars, channels, kernel_size=7), nn.ReLU(), nn.MaxPool1d(3),
            nn.Conv1d(channels, channels, kernel_size=3), nn.ReLU(),
            nn.Conv1d(channels, channels, kernel_size=3, padding="same", dilation=2), nn.ReLU(),
        )
        self.pool = nn.AdaptiveMaxPool1d(1, return_indices=True)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(channels, n_classes))

    def forward(self, chars):
        x = F.one_hot(chars, self.n_chars).to(self.classifier[1].weight.dtype)
        x[..., 0] = 0.0  # padding is an all-zero column, as in the paper
        h = self.features(x.transpose(1, 2))
        pooled, where = self.pool(h)
        return self.classifier(pooled.squeeze(2)), where.squeeze(2)


# float64: with one-hot inputs a conv output can sit within float32 rounding of zero, and
# ReLU's choice there would then hang on the summation order of the conv kernel
char_cnn = CharCNN().double()
print(char_cnn.features, F.one_hot(Xc_train[:1, :3], 28).shape)
opt = torch.optim.Adam(char_cnn.parameters(), lr=0.01)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[6, 9], gamma=0.5)
for epoch in range(10):
    char_cnn.train()
    total = 0.0
    for b in range(0, len(train), 16):
        logits, _ = char_cnn(Xc_train[b:b + 16])
        loss = F.cross_entropy(logits, y_train[b:b + 16])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    sched.step()
    if epoch % 3 == 0 or epoch == 9:
        print("char epoch {} loss {:.4f} lr {}".format(epoch, total / 8, sched.get_last_lr()))
char_cnn.eval()
with torch.no_grad():
    logits, where = char_cnn(Xc_test)
    print("char test acc", (logits.argmax(1) == y_test).float().mean().item())
    print("argmax window of sentence 0 per channel", where[0].tolist())
    probs = logits.softmax(1)
    top = probs[:, 1].topk(3)
    for p, i in zip(top.values.tolist(), top.indices.tolist()):
        print("most positive: {!r} p={:.3f}".format(test[i][0], p))

# the two pooling spellings agree, and F.max_pool1d also has return_indices
h = torch.randn(2, 3, 7)
a = F.max_pool1d(h, h.size(2)).squeeze(2)
b, arg = F.adaptive_max_pool1d(h, 1, return_indices=True)
print(torch.equal(a, b.squeeze(2)), torch.equal(arg.squeeze(2), h.argmax(2)),
      F.max_pool1d(h, 3, stride=2, return_indices=True)[1].tolist()[0])
