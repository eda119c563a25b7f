"""An ELMo-style bidirectional language model in miniature, the way the allennlp / bilm-tf
re-implementations build it: each word spelled as characters between begin/end-of-word marks,
a character CNN (filters of several widths, max over characters, tanh), a highway layer
(one Linear split with torch.chunk into a carry gate and a transform), a projection, then two
separate two-layer LSTM language models (nn.LSTM layers with proj_size and a residual
connection between them) running forward and backward over
variable-length sentences held in PackedSequences: pack_sequence(enforce_sorted=False), the
character CNN applied straight to PackedSequence.data and a PackedSequence rebuilt around its
output, pad_packed_sequence(total_length=), unpad_sequence and unpack_sequence to reverse each
sentence inside its own length, CrossEntropyLoss(ignore_index=, reduction="sum") for
per-token perplexity, Adagrad with clip_grad_value_, and a learned scalar mix of the layers
(softmax over an nn.ParameterList of scalars times gamma) learned, with the biLM frozen by
requires_grad_(False), under a small word-role tagger."""
import math
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import (PackedSequence, pack_sequence, pad_packed_sequence,
                                pad_sequence, unpack_sequence, unpad_sequence)

torch.manual_seed(0)

# ---- a toy corpus from a tiny grammar -------------------------------------------------------
SUBJ = ["the cat", "a dog", "my sister", "the old man", "she", "he"]
VERB = ["sees", "likes", "chased", "found", "watches"]
OBJ = ["the ball", "a bird", "the red car", "it", "my friend", "the small cat"]
ADV = ["", "today", "again", "quickly", "in the park"]


def sentence():
    """Words and their role tags (0 subject, 1 verb, 2 object, 3 adverbial)."""
    words, tags = [], []
    for role, options in enumerate([SUBJ, VERB, OBJ, ADV]):
        part = options[int(torch.randint(0, len(options), ()))].split()
        words += part
        tags += [role] * len(part)
    return words, tags


corpus, roles = zip(*[sentence() for _ in range(64)])
print(corpus[:2], "lengths", [len(s) for s in corpus[:10]])

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
word_counts = Counter(w for s in corpus for w in s)
itos = [PAD, UNK, BOS, EOS] + sorted(word_counts, key=lambda w: (-word_counts[w], w))
stoi = {w: i for i, w in enumerate(itos)}
chars = sorted(set("".join(itos[4:])))
# char ids: 0 pad, 1 begin-of-word, 2 end-of-word, 3 <s>, 4 </s>, then the letters
char_ids = {c: i + 5 for i, c in enumerate(chars)}
MAX_CHARS = 8
print("vocab", len(itos), "chars", len(chars) + 5, word_counts.most_common(3))


def spell(word):
    if word in (BOS, EOS):
        inner = [3 if word == BOS else 4]
    else:
        inner = [char_ids[c] for c in word[:MAX_CHARS - 2]]
    ids = [1] + inner + [2]
    return ids + [0] * (MAX_CHARS - len(ids))


def encode(words):
    words = [BOS] + words + [EOS]
    return (torch.tensor([stoi.get(w, 1) for w in words]),
            torch.tensor([spell(w) for w in words]))


encoded = [encode(s) for s in corpus]
print(encoded[0][0].tolist(), encoded[0][1][:3].tolist())


class Highway(nn.Module):
    def __init__(self, dim, layers=1):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(dim, 2 * dim) for _ in range(layers)])
        for layer in self.layers:
            layer.bias.data[dim:].fill_(1.0)  # start by carrying the input through

    def forward(self, x):
        for layer in self.layers:
            nonlinear, gate = layer(x).chunk(2, dim=-1)
            gate = torch.sigmoid(gate)
            x = gate * x + (1 - gate) * F.relu(nonlinear)
        return x


class CharCNNEncoder(nn.Module):
    def __init__(self, n_chars, char_dim=8, filters=((1, 4), (2, 8), (3, 8)), out_dim=16):
        super().__init__()
        self.embed = nn.Embedding(n_chars, char_dim, padding_idx=0)
        self.convs = nn.ModuleList([nn.Conv1d(char_dim, n, w) for w, n in filters])
        n_filters = sum(n for _, n in filters)
        self.highway = Highway(n_filters)
        self.proj = nn.Linear(n_filters, out_dim)

    def forward(self, char_ids):  # (tokens, MAX_CHARS) -> (tokens, out_dim)
        x = self.embed(char_ids).transpose(1, 2)
        feats = [torch.tanh(torch.max(conv(x), dim=-1)[0]) for conv in self.convs]
        return self.proj(self.highway(torch.cat(feats, dim=-1)))


class BiLM(nn.Module):
    def __init__(self, n_chars, vocab, dim=16, hidden=32, layers=2):
        super().__init__()
        self.chars = CharCNNEncoder(n_chars, out_dim=dim)
        # one single-layer LSTM per layer and direction, so each layer's states are visible
        self.forward_lm = nn.ModuleList([nn.LSTM(dim, hidden, batch_first=True, proj_size=dim)
                                         for _ in range(layers)])
        self.backward_lm = nn.ModuleList([nn.LSTM(dim, hidden, batch_first=True, proj_size=dim)
                                          for _ in range(layers)])
        self.softmax = nn.Linear(dim, vocab)  # shared by both directions, as in ELMo
        self.mix = nn.ParameterList([nn.Parameter(torch.zeros(())) for _ in range(layers + 1)])
        self.gamma = nn.Parameter(torch.ones(()))

    def token_embeddings(self, packed_chars):
        # run the char CNN on the packed tokens only (no work on padding), then re-wrap
        data = self.chars(packed_chars.data)
        return PackedSequence(data, packed_chars.batch_sizes, packed_chars.sorted_indices,
                              packed_chars.unsorted_indices)

    def run_lm(self, lstms, packed):
        outs, h = [], packed
        for i, lstm in enumerate(lstms):
            out, _ = lstm(h)
            if i > 0:  # ELMo's residual connection between the LSTM layers
                out = PackedSequence(out.data + h.data, out.batch_sizes, out.sorted_indices,
                                     out.unsorted_indices)
            outs.append(out)
            h = out
        return outs

    def forward(self, char_seqs):
        lengths = torch.tensor([len(s) for s in char_seqs])
        packed = pack_sequence(char_seqs, enforce_sorted=False)
        tokens = self.token_embeddings(packed)
        fwd = self.run_lm(self.forward_lm, tokens)
        # the backward LM reads each sentence reversed within its own length
        rev = pack_sequence([t.flip(0) for t in unpack_sequence(tokens)], enforce_sorted=False)
        bwd = self.run_lm(self.backward_lm, rev)
        total = int(lengths.max())
        tok_pad, _ = pad_packed_sequence(tokens, batch_first=True, total_length=total)
        layers = [torch.cat([tok_pad, tok_pad], -1)]
        for f, b in zip(fwd, bwd):
            f_pad, _ = pad_packed_sequence(f, batch_first=True, total_length=total)
            b_pad, _ = pad_packed_sequence(b, batch_first=True, total_length=total)
            b_pad = pad_sequence([t.flip(0) for t in unpad_sequence(b_pad, lengths, True)],
                                 batch_first=True)
            b_pad = F.pad(b_pad, (0, 0, 0, total - b_pad.size(1)))
            layers.append(torch.cat([f_pad, b_pad], -1))
        return layers, lengths


model = BiLM(len(chars) + 5, len(itos))
print(model.chars)
print(model.forward_lm[0], [tuple(p.shape) for p in model.forward_lm[0].parameters()])
print("parameters", sum(p.numel() for p in model.parameters()))
criterion = nn.CrossEntropyLoss(ignore_index=stoi[PAD], reduction="sum")
optimizer = torch.optim.Adagrad(model.parameters(), lr=0.5, initial_accumulator_value=0.1)


def lm_loss(batch):
    words = pad_sequence([w for w, _ in batch], batch_first=True, padding_value=stoi[PAD])
    layers, lengths = model([c for _, c in batch])
    top = layers[-1]
    d = top.size(-1) // 2
    fwd_logits = model.softmax(top[:, :-1, :d])  # predicts the next word
    bwd_logits = model.softmax(top[:, 1:, d:])  # predicts the previous word
    fwd_target = words[:, 1:]
    bwd_target = words[:, :-1].masked_fill(words[:, 1:] == stoi[PAD], stoi[PAD])
    f = criterion(fwd_logits.reshape(-1, len(itos)), fwd_target.reshape(-1))
    b = criterion(bwd_logits.reshape(-1, len(itos)), bwd_target.reshape(-1))
    n = int((lengths - 1).sum())
    return f, b, n


for epoch in range(5):
    model.train()
    tot_f = tot_b = tot_n = 0
    for i in range(0, len(encoded), 16):
        f, b, n = lm_loss(encoded[i:i + 16])
        optimizer.zero_grad()
        ((f + b) / (2 * n)).backward()
        nn.utils.clip_grad_value_(model.parameters(), 1.0)
        optimizer.step()
        tot_f, tot_b, tot_n = tot_f + f.item(), tot_b + b.item(), tot_n + n
    print("epoch {} forward ppl {:.3f} backward ppl {:.3f}".format(
        epoch, math.exp(tot_f / tot_n), math.exp(tot_b / tot_n)))

# ---- the packed-sequence machinery on its own --------------------------------------------
model.eval()
batch = encoded[:4]
packed = pack_sequence([c for _, c in batch], enforce_sorted=False)
print("batch_sizes", packed.batch_sizes.tolist(), "sorted", packed.sorted_indices.tolist(),
      "unsorted", packed.unsorted_indices.tolist(), "data", tuple(packed.data.shape))
padded, lens = pad_packed_sequence(packed, batch_first=True, padding_value=0, total_length=12)
print(padded.shape, lens.tolist(), [t.shape[0] for t in unpad_sequence(padded, lens, True)])
print(all(torch.equal(a, c) for a, (_, c) in zip(unpack_sequence(packed), batch)))

# ---- ELMo as features: freeze the biLM, learn the scalar mix and a role tagger on top -------
def elmo_embeddings(char_seqs):
    layers, lengths = model(char_seqs)
    weights = F.softmax(torch.stack(list(model.mix)), dim=0)
    return model.gamma * sum(w * h for w, h in zip(weights, layers)), lengths, weights


model.requires_grad_(False)
for p in [*model.mix, model.gamma]:
    p.requires_grad_(True)
tagger = nn.Linear(32, 4)
tag_opt = torch.optim.Adam([*model.mix, model.gamma, *tagger.parameters()], lr=0.05)
# role targets padded with -100, CrossEntropyLoss's default ignore_index (covers <s> and </s>)
tag_targets = pad_sequence([torch.tensor([-100] + list(r) + [-100]) for r in roles],
                           batch_first=True, padding_value=-100)
print("trainable now", [n for n, p in model.named_parameters() if p.requires_grad])
for step in range(30):
    i = (step % 4) * 16
    feats, lengths, _ = elmo_embeddings([c for _, c in encoded[i:i + 16]])
    target = tag_targets[i:i + 16, :feats.size(1)]
    loss = F.cross_entropy(tagger(feats).transpose(1, 2), target)
    tag_opt.zero_grad()
    loss.backward()
    tag_opt.step()
    if step % 10 == 9:
        acc = (tagger(feats).argmax(-1) == target)[target != -100].float().mean()
        print("tagger step {} loss {:.4f} acc {:.3f}".format(step, loss.item(), acc.item()))

with torch.no_grad():
    elmo, lengths, weights = elmo_embeddings([c for _, c in batch])
    mask = (torch.arange(elmo.size(1))[None, :] < lengths[:, None]).unsqueeze(-1)
    print("elmo", tuple(elmo.shape), "mix", [round(w, 4) for w in weights.tolist()],
          "gamma", round(model.gamma.item(), 4))
    print("padding stays zero", bool((elmo * ~mask).abs().sum() == 0))
    # the same word in two contexts: its char-CNN vector is the same, its ELMo vector is not
    s0, s1 = corpus[0], corpus[1]
    print(s0, s1)
    norms = elmo.norm(dim=-1)
    print("token norms", [[round(v, 3) for v in row[:L].tolist()]
                          for row, L in zip(norms[:2], lengths[:2].tolist())])
    sims = F.cosine_similarity(elmo[0, 1:lengths[0] - 1, None], elmo[1, None, 1:lengths[1] - 1],
                               dim=-1)
    print("cross-sentence cosine", sims.round(decimals=3))
