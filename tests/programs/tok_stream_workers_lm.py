"""Streaming language-model data the way GPT-style training repositories feed it: a word-level
tokenizer with special tokens, an IterableDataset that shards documents across DataLoader
workers with get_worker_info() (round-robin islice), shuffles each shard with a per-worker
torch.Generator and cuts the concatenated token stream into (input, target) blocks;
num_workers=2 with persistent_workers, worker_init_fn seeding NumPy and random from
torch.initial_seed(), prefetch_factor, a custom collate; then a small GRU language model
trained with AdamW + a warmup/cosine LambdaLR and evaluated for perplexity under
torch.inference_mode (with the errors inference tensors raise outside it), and sampled with
temperature through torch.multinomial."""
import itertools
import math
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

torch.manual_seed(0)
rng = np.random.default_rng(0)

# ---- a tiny synthetic corpus from a toy grammar ------------------------------------------
SUBJ = ["the cat", "a dog", "the bird", "my friend", "the old man"]
VERB = ["sees", "likes", "finds", "chases", "follows"]
OBJ = ["the ball", "a mouse", "the tree", "some bread", "the river"]
docs = []
for d in range(12):
    sents = [f"{SUBJ[rng.integers(5)]} {VERB[rng.integers(5)]} {OBJ[rng.integers(5)]} ."
             for _ in range(rng.integers(2, 5))]
    docs.append(" ".join(sents))
print(docs[0])


class WordTokenizer:
    SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]

    def __init__(self, texts, min_freq=1):
        counts = {}
        for t in texts:
            for w in t.split():
                counts[w] = counts.get(w, 0) + 1
        words = sorted(w for w, c in counts.items() if c >= min_freq)
        self.itos = self.SPECIALS + words
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def encode(self, text):
        unk = self.stoi["<unk>"]
        return [self.stoi["<bos>"]] + [self.stoi.get(w, unk) for w in text.split()] + [
            self.stoi["<eos>"]]

    def decode(self, ids):
        return " ".join(self.itos[i] for i in ids)


tok = WordTokenizer(docs[:10])
print("vocab:", len(tok.itos), "| unknown in held-out:",
      sum(i == tok.stoi["<unk>"] for d in docs[10:] for i in tok.encode(d)))
print(tok.encode("the cat sees a zebra ."))


# ---- an IterableDataset sharded across workers ---------------------------------------------
class DocumentStream(IterableDataset):
    def __init__(self, documents, block_size, shuffle=True):
        super().__init__()
        self.documents, self.block_size, self.shuffle = documents, block_size, shuffle
        self.epoch = 0

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (0, 1) if info is None else (info.id, info.num_workers)
        shard = list(itertools.islice(self.documents, wid, None, nw))
        if self.shuffle:
            g = torch.Generator().manual_seed(1000 * self.epoch + wid)
            shard = [shard[i] for i in torch.randperm(len(shard), generator=g).tolist()]
        self.epoch += 1  # a persistent worker keeps its copy, so this counts its epochs
        buf = []
        for doc in shard:
            buf.extend(tok.encode(doc))
            while len(buf) > self.block_size:
                block = torch.tensor(buf[:self.block_size + 1])
                buf = buf[self.block_size:]
                noise = np.random.randint(0, 100)  # seeded per worker by worker_init_fn
                yield block[:-1], block[1:], wid, noise


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    info = get_worker_info()
    assert info.id == worker_id and info.seed == torch.initial_seed()


def collate(items):
    x, y, wid, noise = zip(*items)
    return torch.stack(x), torch.stack(y), torch.tensor(wid), torch.tensor(noise)


BLOCK = 8
train_ds = DocumentStream(docs[:10], BLOCK)
print("main process blocks:", sum(1 for _ in train_ds))
train_ds.epoch = 0
g = torch.Generator().manual_seed(7)
loader = DataLoader(train_ds, batch_size=4, num_workers=2, persistent_workers=True,
                    worker_init_fn=seed_worker, collate_fn=collate, prefetch_factor=2,
                    generator=g)
for epoch in range(2):
    per_worker = {0: 0, 1: 0}
    shapes, noises, firsts = set(), [], []
    for x, y, wid, noise in loader:
        shapes.add(tuple(x.shape))
        for w in wid.tolist():
            per_worker[w] += 1
        assert torch.equal(x[:, 1:], y[:, :-1])
        noises.append(noise.tolist())
        firsts.append(x[0, :4].tolist())
    print(f"epoch {epoch}: blocks per worker {per_worker} shapes {sorted(shapes)}")
    print("  worker noise:", noises[:3], "| first tokens:", firsts[:2])
try:
    len(loader)
except TypeError as e:
    print("TypeError:", e)
try:
    DataLoader(train_ds, shuffle=True)
except ValueError as e:
    print("ValueError:", str(e)[:70])
try:
    DataLoader(train_ds, num_workers=0, persistent_workers=True)
except ValueError as e:
    print("ValueError:", e)


# ---- a GRU language model ------------------------------------------------------------------
class GRULM(nn.Module):
    def __init__(self, vocab, dim=32):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.rnn = nn.GRU(dim, dim, num_layers=2, batch_first=True, dropout=0.1)
        self.drop = nn.Dropout(0.1)
        self.out = nn.Linear(dim, vocab)
        self.out.weight = self.emb.weight  # weight tying

    def forward(self, x, h=None):
        y, h = self.rnn(self.drop(self.emb(x)), h)
        return self.out(self.drop(y)), h


model = GRULM(len(tok.itos))
print("parameters:", sum(p.numel() for p in model.parameters()),
      "| tied:", model.out.weight is model.emb.weight)
decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                         {"params": no_decay, "weight_decay": 0.0}], lr=3e-3, betas=(0.9, 0.95))
TOTAL, WARM = 40, 5


def lr_lambda(step):
    if step < WARM:
        return (step + 1) / WARM
    return 0.5 * (1 + math.cos(math.pi * (step - WARM) / (TOTAL - WARM)))


sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
val_stream = DocumentStream(docs[10:], BLOCK, shuffle=False)
val_loader = DataLoader(val_stream, batch_size=4, collate_fn=collate)


def evaluate():
    model.eval()
    nll, count = 0.0, 0
    with torch.inference_mode():
        for x, y, _, _ in val_loader:
            logits, _ = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                                   reduction="sum")
            nll += loss.item()
            count += y.numel()
    model.train()
    return math.exp(nll / count), logits


step = 0
while step < TOTAL:
    for x, y, _, _ in loader:
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        sched.step()
        step += 1
        if step % 10 == 0:
            ppl, _ = evaluate()
            print(f"step {step:2d} loss {loss.item():.3f} |g| {norm:.3f} "
                  f"lr {sched.get_last_lr()[0]:.5f} val ppl {ppl:.2f}")
        if step == TOTAL:
            break

# ---- inference tensors ----------------------------------------------------------------------
ppl, logits = evaluate()
print("uniform ppl:", len(tok.itos), "| model ppl:", f"{ppl:.2f}")
print("is_inference:", logits.is_inference(), "| requires_grad:", logits.requires_grad,
      "| mode now:", torch.is_inference_mode_enabled())
try:
    (logits * model.out.bias).sum().backward()
except RuntimeError as e:
    print("RuntimeError:", str(e)[:60])
try:
    logits.add_(1)
except RuntimeError as e:
    print("RuntimeError:", str(e)[:60])
safe = logits.clone()
print("clone is_inference:", safe.is_inference(), safe.add_(1).shape)


@torch.enable_grad()
def probe_grad(x):
    """A helper that asks for gradients: inside inference mode it still records nothing."""
    out, _ = model(x)
    return torch.is_grad_enabled(), out.requires_grad, out.is_inference()


with torch.inference_mode():
    print("enable_grad inside inference_mode:", probe_grad(x[:1]))
print("enable_grad outside:", probe_grad(x[:1]))


# ---- sampling ------------------------------------------------------------------------------
@torch.inference_mode()
def generate(prefix, n, temperature=0.8, generator=None):
    model.eval()
    ids = torch.tensor([tok.encode(prefix)[:-1]])
    logits, h = model(ids)
    for _ in range(n):
        probs = F.softmax(logits[:, -1] / temperature, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=generator)
        ids = torch.cat([ids, nxt], dim=1)
        if nxt.item() == tok.stoi["<eos>"]:
            break
        logits, h = model(nxt, h)
    return tok.decode(ids[0].tolist())


print(generate("the cat", 8, generator=torch.Generator().manual_seed(3)))
print(generate("a dog", 8, temperature=0.5, generator=torch.Generator().manual_seed(4)))
