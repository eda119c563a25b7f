"""WordPiece (BERT's greedy longest-match-first with ``##`` continuations) over a vocabulary
learned from a tiny corpus, and the Hugging Face-style collators written by hand: truncation
with a stride into overflowing windows, special-token masks, token_type_ids for sentence
pairs, padding to a multiple of 8 with F.pad, and the masked-language-model collator (15%
of tokens chosen by torch.bernoulli over a probability matrix, 80% [MASK] / 10% random /
10% kept, labels -100 elsewhere); length statistics with torch.bucketize, unique(return_counts),
bincount, repeat_interleave and split by lengths; datasets combined with ConcatDataset,
random_split and a WeightedRandomSampler; then a tiny nn.TransformerEncoder MLM trained a few
steps and scored under torch.inference_mode."""
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (ConcatDataset, DataLoader, Dataset, WeightedRandomSampler,
                              random_split)

torch.manual_seed(0)

CORPUS = [
    "unbelievable results were reported", "the runner was running quickly",
    "quickly the unhappy runner returned", "reported results were unbelievable",
    "happy runners return quickly", "the results returned were happy",
    "running and returning were reported", "unhappy reports were returned",
]
QUESTIONS = ["were the results reported", "who was running", "was the runner happy"]

# ---- WordPiece vocabulary: whole frequent words, frequent prefixes and ## suffixes ----------
words = Counter(w for s in CORPUS + QUESTIONS for w in s.split())
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
pieces = set()
for w, n in words.items():
    pieces.update(w[i] for i in range(len(w)))
    pieces.update("##" + w[i] for i in range(1, len(w)))
    if n >= 2:
        pieces.add(w)
for affix in ["un", "run", "return", "report", "happy", "quick"]:
    pieces.add(affix)
for suffix in ["ing", "ed", "er", "ers", "ly", "able", "s"]:
    pieces.add("##" + suffix)
VOCAB = SPECIAL + sorted(pieces)
STOI = {p: i for i, p in enumerate(VOCAB)}
PAD, UNK, CLS, SEP, MASK = (STOI[s] for s in SPECIAL)
print("vocab size:", len(VOCAB))


def wordpiece(word, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    out, start = [], 0
    while start < len(word):
        end, cur = len(word), None
        while start < end:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in STOI:
                cur = sub
                break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        out.append(cur)
        start = end
    return out


def tokenize(text):
    return [p for w in text.lower().split() for p in wordpiece(w)]


print(tokenize("Unbelievable runners were returning unhappily"))
print(tokenize("the zebra ran"))


def encode(a, b=None, max_length=12, stride=4):
    """[CLS] a [SEP] (b [SEP]); a too-long first segment overflows into strided windows."""
    ta, tb = tokenize(a), tokenize(b) if b else []
    room = max_length - 2 - (len(tb) + 1 if tb else 0)
    windows, start = [], 0
    while True:
        windows.append(ta[start:start + room])
        if start + room >= len(ta):
            break
        start += room - stride
    out = []
    for win in windows:
        toks = ["[CLS]"] + win + ["[SEP]"] + (tb + ["[SEP]"] if tb else [])
        ids = [STOI[t] for t in toks]
        types = [0] * (len(win) + 2) + [1] * (len(tb) + 1 if tb else 0)
        special = [int(t in SPECIAL) for t in toks]
        out.append({"input_ids": ids, "token_type_ids": types, "special_tokens_mask": special})
    return out


long_text = " ".join(CORPUS[:3])
enc = encode(long_text, max_length=12, stride=4)
print("overflowing windows:", len(enc), [len(e["input_ids"]) for e in enc])
print("window overlap ok:", enc[0]["input_ids"][-5:-1] == enc[1]["input_ids"][1:5])
pair = encode(QUESTIONS[0], CORPUS[0], max_length=32)[0]
print("pair types:", pair["token_type_ids"])


# ---- datasets ----------------------------------------------------------------------------
class Encoded(Dataset):
    def __init__(self, texts, pair_with=None):
        self.items = []
        for i, t in enumerate(texts):
            b = None if pair_with is None else pair_with[i % len(pair_with)]
            self.items.extend(encode(t, b, max_length=16, stride=4))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


single, paired = Encoded(CORPUS), Encoded(QUESTIONS, pair_with=CORPUS)
full = ConcatDataset([single, paired])
print("concat sizes:", len(single), len(paired), len(full), full.cumulative_sizes)
train_ds, val_ds = random_split(full, [0.75, 0.25], generator=torch.Generator().manual_seed(0))
print("split:", len(train_ds), len(val_ds), sorted(val_ds.indices))

lengths = torch.tensor([len(full[i]["input_ids"]) for i in range(len(full))])
bounds = torch.tensor([8, 10, 12, 14])
bucket = torch.bucketize(lengths, bounds)
ids, counts = torch.unique(bucket, return_counts=True)
print("lengths:", lengths.tolist())
print("buckets:", bucket.tolist(), ids.tolist(), counts.tolist(),
      torch.bincount(bucket, minlength=5))
seg = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
flat = torch.cat([torch.tensor(full[i]["input_ids"]) for i in range(len(full))])
parts = torch.split(flat, lengths.tolist())
print("flat:", flat.shape, "| segment ids tail:", seg[-6:].tolist(),
      "| split back ok:", all(p[0].item() == CLS for p in parts))


# ---- collators ---------------------------------------------------------------------------
def pad_collate(features, pad_to_multiple_of=8):
    longest = max(len(f["input_ids"]) for f in features)
    target = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    batch = {}
    for key, value in [("input_ids", PAD), ("token_type_ids", 0), ("special_tokens_mask", 1)]:
        rows = [F.pad(torch.tensor(f[key]), (0, target - len(f[key])), value=value)
                for f in features]
        batch[key] = torch.stack(rows)
    batch["attention_mask"] = (batch["input_ids"] != PAD).to(torch.int64)
    return batch


def mlm_collate(features, mlm_probability=0.15, generator=None):
    batch = pad_collate(features)
    inputs = batch["input_ids"].clone()
    labels = inputs.clone()
    probability = torch.full(labels.shape, mlm_probability)
    probability.masked_fill_(batch.pop("special_tokens_mask").bool(), value=0.0)
    masked = torch.bernoulli(probability, generator=generator).bool()
    labels[~masked] = -100
    replaced = torch.bernoulli(torch.full(labels.shape, 0.8), generator=generator).bool() & masked
    inputs[replaced] = MASK
    random_ = (torch.bernoulli(torch.full(labels.shape, 0.5), generator=generator).bool()
               & masked & ~replaced)
    words_ = torch.randint(len(SPECIAL), len(VOCAB), labels.shape, dtype=torch.long,
                           generator=generator)
    inputs[random_] = words_[random_]
    batch["input_ids"], batch["labels"] = inputs, labels
    return batch


demo = mlm_collate([full[0], full[9]], generator=torch.Generator().manual_seed(5))
print({k: tuple(v.shape) for k, v in demo.items()})
print(demo["input_ids"])
print(demo["labels"])

# oversample the paired (question) examples 3:1 with a WeightedRandomSampler
weights = [3.0 if i >= len(single) else 1.0 for i in train_ds.indices]
sampler = WeightedRandomSampler(weights, num_samples=len(weights), replacement=True,
                                generator=torch.Generator().manual_seed(2))
drawn = list(sampler)
paired_share = sum(train_ds.indices[i] >= len(single) for i in drawn) / len(drawn)
print("sampled paired share:", f"{paired_share:.3f}")
mlm_gen = torch.Generator().manual_seed(11)
loader = DataLoader(train_ds, batch_size=4, sampler=sampler,
                    collate_fn=lambda f: mlm_collate(f, 0.25, mlm_gen))


# ---- a tiny masked LM ---------------------------------------------------------------------
class TinyBert(nn.Module):
    def __init__(self, vocab, dim=32, max_len=32):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim, padding_idx=PAD)
        self.pos = nn.Embedding(max_len, dim)
        self.typ = nn.Embedding(2, dim)
        self.norm = nn.LayerNorm(dim, eps=1e-12)
        layer = nn.TransformerEncoderLayer(dim, nhead=4, dim_feedforward=64, dropout=0.0,
                                           activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.LayerNorm(dim))
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, input_ids, token_type_ids, attention_mask):
        pos = torch.arange(input_ids.size(1)).expand_as(input_ids)
        h = self.norm(self.tok(input_ids) + self.pos(pos) + self.typ(token_type_ids))
        h = self.encoder(h, src_key_padding_mask=attention_mask == 0)
        return self.head(h) @ self.tok.weight.T + self.bias


def init_weights(module):
    """BERT's initializer: N(0, 0.02) weights, zero biases, a zero padding embedding."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        module.weight.data.normal_(mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        module.bias.data.zero_()
    if isinstance(module, nn.Embedding) and module.padding_idx is not None:
        module.weight.data[module.padding_idx].zero_()
    if isinstance(module, nn.LayerNorm):
        module.weight.data.fill_(1.0)
        module.bias.data.zero_()


model = TinyBert(len(VOCAB))
model.apply(init_weights)
opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
for epoch in range(6):
    losses = []
    for batch in loader:
        logits = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # a batch with no masked token has a NaN loss (0 / 0) but a zero gradient: skip it here
    losses = torch.tensor(losses)
    print(f"epoch {epoch} mlm loss {losses.nanmean():.4f} nan batches {losses.isnan().sum()}")

eval_gen = torch.Generator().manual_seed(99)
with torch.inference_mode():
    model.eval()
    batch = mlm_collate([val_ds[i] for i in range(len(val_ds))], 0.3, eval_gen)
    logits = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
    target = batch["labels"] != -100
    top = logits.topk(3, dim=-1).indices
    hit1 = (top[..., 0] == batch["labels"])[target].float().mean()
    hit3 = (top == batch["labels"].unsqueeze(-1)).any(-1)[target].float().mean()
    nll = F.cross_entropy(logits[target], batch["labels"][target])
print("masked tokens:", int(target.sum()), f"| top1 {hit1:.3f} top3 {hit3:.3f}",
      f"| ppl {nll.exp():.2f}")
