"""A word-level language model with an adaptive softmax head (Grave et al.), as in the
fairseq/transformer-XL style: frequent words in the head, rare words in tail clusters with
smaller projections (div_value), nn.AdaptiveLogSoftmaxWithLoss for training, log_prob for
full distributions and predict for argmax, perplexity on held-out text."""
import math
from collections import Counter

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(9)

# a Zipf-like vocabulary: a Markov chain over 60 words with a skewed stationary distribution
vocab_size = 60
ranks = np.arange(1, vocab_size + 1)
unigram = (1.0 / ranks) / (1.0 / ranks).sum()
transition = np.zeros((vocab_size, vocab_size))
for w in range(vocab_size):
    # each word strongly prefers a few successors, otherwise falls back to unigram frequencies
    favourites = [(w * 7 + 1) % vocab_size, (w * 3 + 2) % 20, 0]
    transition[w] = 0.3 * unigram
    transition[w, favourites] += np.array([0.4, 0.2, 0.1])
    transition[w] /= transition[w].sum()
tokens = [0]
for _ in range(3000):
    tokens.append(int(rng.choice(vocab_size, p=transition[tokens[-1]])))
counts = Counter(tokens)
# sort the vocabulary by frequency, as adaptive softmax requires
order = [w for w, _ in counts.most_common()] + [w for w in range(vocab_size) if w not in counts]
remap = {w: i for i, w in enumerate(order)}
ids = torch.tensor([remap[w] for w in tokens])
train_ids, valid_ids = ids[:2500], ids[2500:]
print("tokens: train {} valid {}; most frequent id counts {}".format(
    len(train_ids), len(valid_ids), [counts[w] for w in order[:5]]))


class AdaptiveLM(nn.Module):
    def __init__(self, ntoken, ninp, nhid, cutoffs):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.GRU(ninp, nhid, batch_first=True)
        self.crit = nn.AdaptiveLogSoftmaxWithLoss(nhid, ntoken, cutoffs=cutoffs, div_value=2.0)

    def forward(self, x, target=None, hidden=None):
        out, hidden = self.rnn(self.encoder(x), hidden)
        flat = out.reshape(-1, out.size(-1))
        if target is None:
            return flat, hidden
        return self.crit(flat, target.reshape(-1)), hidden


model = AdaptiveLM(vocab_size, 16, 32, cutoffs=[8, 24])
g = np.random.default_rng(0)
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(g.uniform(-0.15, 0.15, tuple(p.shape)).astype(np.float32)))
print(model.crit)
print("head size:", model.crit.head_size, "shortlist:", model.crit.shortlist_size,
      "clusters:", model.crit.n_clusters, "cutoffs:", model.crit.cutoffs)
print("tail projections:", [tuple(m[0].weight.shape) for m in model.crit.tail])


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data[:nbatch * bsz].view(bsz, -1)


bptt = 20
train_data = batchify(train_ids, 10)
valid_data = batchify(valid_ids, 5)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)


def evaluate(data):
    model.eval()
    total, n = 0.0, 0
    hidden = None
    with torch.no_grad():
        for i in range(0, data.size(1) - 1, bptt):
            seq_len = min(bptt, data.size(1) - 1 - i)
            x, y = data[:, i:i + seq_len], data[:, i + 1:i + 1 + seq_len]
            res, hidden = model(x, y, hidden)
            total += res.loss.item() * y.numel()
            n += y.numel()
    return total / n


print("initial valid ppl {:.1f} (uniform {})".format(math.exp(evaluate(valid_data)), vocab_size))
for epoch in range(1, 5):
    model.train()
    hidden = None
    for i in range(0, train_data.size(1) - 1, bptt):
        seq_len = min(bptt, train_data.size(1) - 1 - i)
        x, y = train_data[:, i:i + seq_len], train_data[:, i + 1:i + 1 + seq_len]
        hidden = hidden.detach() if hidden is not None else None
        res, hidden = model(x, y, hidden)
        optimizer.zero_grad()
        res.loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
    val = evaluate(valid_data)
    print("epoch {} train loss {:.2f} valid loss {:.2f} ppl {:.1f}".format(
        epoch, res.loss.item(), val, math.exp(val)))

model.eval()
with torch.no_grad():
    h, _ = model(valid_data[:, :10])
    logp = model.crit.log_prob(h)
    print("log_prob shape", tuple(logp.shape), "rows sum to 1:",
          torch.allclose(logp.exp().sum(1), torch.ones(len(h)), atol=1e-5))
    target = valid_data[:, 1:11].reshape(-1)
    out = model.crit(h, target)
    print("output equals gathered log_prob:",
          torch.allclose(out.output, logp.gather(1, target.unsqueeze(1)).squeeze(1), atol=1e-5))
    pred = model.crit.predict(h)
    print("predict equals argmax:", torch.equal(pred, logp.argmax(1)))
    print("prediction in head (shortlist):", "{:.2f}".format(
        (pred < model.crit.shortlist_size).float().mean().item()))
    print("next-word accuracy {:.2f}".format((pred == target).float().mean().item()))
    # greedy generation from word 0
    word = torch.tensor([[0]])
    hidden, generated = None, []
    for _ in range(12):
        h, hidden = model(word, hidden=hidden)
        word = model.crit.predict(h).view(1, 1)
        generated.append(word.item())
print("generated:", generated)
