"""A byte-level BPE tokenizer (GPT-2 / minbpe style: text -> UTF-8 bytes, repeatedly merge the
most frequent adjacent pair, ids >= 256 are merges) trained on a tiny corpus, then the data
pipeline text models put in front of an RNN classifier: a Dataset of token-id tensors, a
length-bucketing BatchSampler subclass (sort a pool of indices by length, cut it into batches,
shuffle the batches with a seeded Generator), a collate_fn that pads right and left with
pad_sequence(padding_side=...), builds attention masks and position ids the way Hugging Face
generation does (cumsum of the mask, masked_fill_ on padding), and the nn.utils.rnn packing
family: pack_sequence / pack_padded_sequence(enforce_sorted=False) / pad_packed_sequence
(total_length) / unpad_sequence / unpack_sequence, printed directly; then an LSTM classifier
over packed batches trained a few steps."""
import re
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import (pack_padded_sequence, pack_sequence, pad_packed_sequence,
                                pad_sequence, unpack_sequence, unpad_sequence)
from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler

torch.manual_seed(0)

CORPUS = [
    "the cat sat on the mat", "the dog sat on the log", "a cat and a dog",
    "cats chase mice", "dogs chase cats", "the mat is flat", "the log is old",
    "mice hide under the mat", "an old dog sleeps", "a flat cat naps on a mat",
    "the café is open", "naïve cats nap", "dogs dig logs", "the cat naps",
]
LABELS = [int("dog" in s) for s in CORPUS]


# ---- byte-level BPE (minbpe's BasicTokenizer) ---------------------------------------------
def get_stats(ids, counts=None):
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids, pair, idx):
    out, i = [], 0
    while i < len(ids):
        if i < len(ids) - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class BPETokenizer:
    SPLIT = re.compile(r" ?[^\s]+|\s+")  # GPT-2's idea: never merge across word starts

    def __init__(self):
        self.merges = {}
        self.vocab = {i: bytes([i]) for i in range(256)}
        self.special = {"<pad>": 0}  # byte 0 never occurs in text: reuse it for padding

    def train(self, texts, vocab_size):
        chunks = [list(c.encode("utf-8")) for t in texts for c in self.SPLIT.findall(t)]
        for k in range(vocab_size - 256):
            stats = {}
            for ids in chunks:
                get_stats(ids, stats)
            if not stats:
                break
            pair = max(stats, key=stats.get)
            idx = 256 + k
            chunks = [merge(ids, pair, idx) for ids in chunks]
            self.merges[pair] = idx
            self.vocab[idx] = self.vocab[pair[0]] + self.vocab[pair[1]]
        return self

    def encode(self, text):
        out = []
        for chunk in self.SPLIT.findall(text):
            ids = list(chunk.encode("utf-8"))
            while len(ids) >= 2:
                stats = get_stats(ids)
                pair = min(stats, key=lambda p: self.merges.get(p, float("inf")))
                if pair not in self.merges:
                    break
                ids = merge(ids, pair, self.merges[pair])
            out.extend(ids)
        return out

    def decode(self, ids):
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")


tok = BPETokenizer().train(CORPUS, vocab_size=256 + 40)
print("merges:", len(tok.merges), "| first five:",
      [tok.vocab[i].decode("utf-8", "replace") for i in range(256, 261)])
encoded = [tok.encode(s) for s in CORPUS]
print("round trip ok:", all(tok.decode(e) == s for e, s in zip(encoded, CORPUS)))
print("compression:", sum(len(s.encode()) for s in CORPUS), "bytes ->",
      sum(map(len, encoded)), "tokens")
freq = Counter(i for e in encoded for i in e)
print("most common:", [(tok.decode([i]), n) for i, n in freq.most_common(4)])


# ---- Dataset, bucketing sampler, collate ---------------------------------------------------
class TokenDataset(Dataset):
    def __init__(self, seqs, labels):
        self.seqs = [torch.tensor(s, dtype=torch.long) for s in seqs]
        self.labels = torch.tensor(labels)

    def __len__(self):
        return len(self.seqs)

    def __getitem__(self, i):
        return self.seqs[i], self.labels[i]


class BucketBatchSampler(BatchSampler):
    """Groups indices of similar length so batches carry little padding."""

    def __init__(self, sampler, lengths, batch_size, drop_last=False, pool=8, generator=None):
        super().__init__(sampler, batch_size, drop_last)
        self.lengths, self.pool, self.generator = lengths, pool, generator

    def __iter__(self):
        indices = list(self.sampler)
        batches = []
        for start in range(0, len(indices), self.pool):
            pool = sorted(indices[start:start + self.pool], key=lambda i: self.lengths[i])
            for b in range(0, len(pool), self.batch_size):
                batch = pool[b:b + self.batch_size]
                if len(batch) == self.batch_size or not self.drop_last:
                    batches.append(batch)
        order = torch.randperm(len(batches), generator=self.generator).tolist()
        yield from (batches[k] for k in order)


PAD = tok.special["<pad>"]


def collate(batch, padding_side="right"):
    seqs, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in seqs])
    input_ids = pad_sequence(seqs, batch_first=True, padding_value=PAD,
                             padding_side=padding_side)
    attention_mask = (input_ids != PAD).long()
    position_ids = attention_mask.cumsum(-1) - 1
    position_ids.masked_fill_(attention_mask == 0, 1)
    return {"input_ids": input_ids, "attention_mask": attention_mask,
            "position_ids": position_ids, "lengths": lengths, "labels": torch.stack(labels)}


ds = TokenDataset(encoded, LABELS)
lengths = [len(s) for s in encoded]
sampler = BucketBatchSampler(SequentialSampler(ds), lengths, batch_size=3, drop_last=True,
                             generator=torch.Generator().manual_seed(1))
print("batches per epoch:", len(sampler), "| isinstance:", isinstance(sampler, BatchSampler))
print("bucketed:", list(sampler))
loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate)
first = next(iter(loader))
for key in ("input_ids", "attention_mask", "position_ids"):
    print(key, first[key].shape, first[key].dtype)
print(first["attention_mask"])
left = collate([ds[0], ds[2], ds[11]], padding_side="left")
print("left-padded positions:\n", left["position_ids"])
print("pad fraction bucketed vs plain:",
      f"{1 - first['attention_mask'].float().mean():.3f}",
      f"{1 - collate([ds[i] for i in range(3)])['attention_mask'].float().mean():.3f}")
try:
    pad_sequence([torch.ones(2)], padding_side="middle")
except RuntimeError as e:
    print("RuntimeError:", e)

# ---- the packing family -------------------------------------------------------------------
a, b, c = torch.tensor([1, 2, 3]), torch.tensor([4, 5]), torch.tensor([6])
packed = pack_sequence([a, b, c])
print(packed)
print(pack_sequence([b, a, c], enforce_sorted=False))
try:
    pack_sequence([b, a, c])
except RuntimeError as e:
    print("RuntimeError:", str(e).split(".")[0])
padded, lens = pad_packed_sequence(packed, batch_first=True, padding_value=-1, total_length=5)
print(padded, lens)
print([t.tolist() for t in unpack_sequence(pack_sequence([b, a, c], enforce_sorted=False))])
print([t.tolist() for t in unpad_sequence(padded, lens, batch_first=True)])
try:
    pad_packed_sequence(packed, total_length=2)
except ValueError as e:
    print("ValueError:", str(e).split("\n")[0][:60])


# ---- an LSTM classifier over packed batches -------------------------------------------------
class PackedLSTMClassifier(nn.Module):
    def __init__(self, vocab, dim=16, hidden=24):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim, padding_idx=PAD)
        self.rnn = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, 2)

    def forward(self, input_ids, lengths):
        x = self.emb(input_ids)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, (h, c) = self.rnn(packed)
        unpacked, out_lens = pad_packed_sequence(out, batch_first=True)
        mask = (torch.arange(unpacked.size(1))[None] < out_lens[:, None]).unsqueeze(-1)
        mean = (unpacked * mask).sum(1) / out_lens[:, None]
        final = torch.cat([h[-2], h[-1]], dim=-1)
        return self.head(final + mean)


model = PackedLSTMClassifier(len(tok.vocab))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sampler.drop_last = False
for epoch in range(3):
    total, n = 0.0, 0
    for batch in loader:
        logits = model(batch["input_ids"], batch["lengths"])
        loss = F.cross_entropy(logits, batch["labels"])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        total, n = total + loss.item() * len(batch["labels"]), n + len(batch["labels"])
    print(f"epoch {epoch} loss {total / n:.4f}")
print("padding row of the embedding stays zero:", model.emb.weight[PAD].abs().sum().item())
with torch.no_grad():
    full = collate([ds[i] for i in range(len(ds))])
    pred = model(full["input_ids"], full["lengths"]).argmax(-1)
print("train accuracy:", f"{(pred == full['labels']).float().mean():.3f}")
