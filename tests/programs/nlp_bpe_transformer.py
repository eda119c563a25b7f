"""BPE tokenizer training (Sennrich et al.'s merge loop: Counter of symbol pairs, merges applied
with a regex over space-separated symbols, words ending in ``</w>``) followed by a small
nn.Transformer seq2seq model over the learned subwords, the way minimal NMT repositories write
it: batch_first=True, norm_first=True, bias=False, activation given as a callable (F.gelu),
src/tgt/memory key padding masks, a causal mask from generate_square_subsequent_mask with
tgt_is_causal, xavier_uniform_ init, CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1),
AdamW with a Noam warmup in LambdaLR, gradient clipping by value; then greedy decoding,
top-k and nucleus (top-p) sampling with torch.sort + cumsum masks and torch.multinomial from a
seeded Generator, and per-token perplexity."""
import math
import re
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)

# ---- a toy parallel corpus: the target is each source word spelled backwards ------------
STEMS = ["low", "lower", "newest", "widest", "slow", "new", "wide", "lowest", "show", "shower"]
pick = torch.randint(0, len(STEMS), (48, 3)).tolist()
src_sents = [" ".join(STEMS[i] for i in row) for row in pick]
tgt_sents = [" ".join(w[::-1] for w in s.split()) for s in src_sents]
print(src_sents[0], "->", tgt_sents[0])


# ---- BPE training ------------------------------------------------------------------------
def get_vocab(lines):
    vocab = Counter()
    for line in lines:
        for word in line.split():
            vocab[" ".join(word) + " </w>"] += 1
    return vocab


def get_stats(vocab):
    pairs = Counter()
    for word, freq in vocab.items():
        symbols = word.split()
        for i in range(len(symbols) - 1):
            pairs[symbols[i], symbols[i + 1]] += freq
    return pairs


def merge_vocab(pair, v_in):
    bigram = re.escape(" ".join(pair))
    p = re.compile(r"(?<!\S)" + bigram + r"(?!\S)")
    return {p.sub("".join(pair), word): freq for word, freq in v_in.items()}


vocab = get_vocab(src_sents + tgt_sents)
merges = []
for i in range(30):
    pairs = get_stats(vocab)
    if not pairs:
        break
    best = max(pairs, key=lambda kv: (pairs[kv], kv))  # ties broken by the pair itself
    vocab = merge_vocab(best, vocab)
    merges.append(best)
print("first merges", merges[:6])
ranks = {pair: i for i, pair in enumerate(merges)}


def bpe_word(word):
    symbols = list(word) + ["</w>"]
    while len(symbols) > 1:
        cands = [(ranks.get((a, b), math.inf), j) for j, (a, b) in
                 enumerate(zip(symbols, symbols[1:]))]
        rank, j = min(cands)
        if rank == math.inf:
            break
        symbols = symbols[:j] + [symbols[j] + symbols[j + 1]] + symbols[j + 2:]
    return symbols


SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
PAD_IDX, BOS_IDX, EOS_IDX, UNK_IDX = 0, 1, 2, 3
counts = Counter(tok for line in src_sents + tgt_sents for w in line.split()
                 for tok in bpe_word(w))
itos = SPECIALS + sorted(counts, key=lambda t: (-counts[t], t))
stoi = {t: i for i, t in enumerate(itos)}
print("subword vocab", len(itos), "most common", counts.most_common(4))


def encode(line):
    ids = [stoi.get(t, UNK_IDX) for w in line.split() for t in bpe_word(w)]
    return torch.tensor([BOS_IDX] + ids + [EOS_IDX])


def decode(ids):
    toks = [itos[i] for i in ids if i not in (PAD_IDX, BOS_IDX, EOS_IDX)]
    return "".join(toks).replace("</w>", " ").strip()


print(bpe_word("lowest"), bpe_word("tsewol"), encode(src_sents[0]).tolist())
src_data = [encode(s) for s in src_sents]
tgt_data = [encode(s) for s in tgt_sents]
print("lengths", [len(t) for t in src_data[:8]], [len(t) for t in tgt_data[:8]])


# ---- the model -----------------------------------------------------------------------------
class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[:, :x.size(1)]


class Seq2Seq(nn.Module):
    def __init__(self, vocab_size, d_model=32, nhead=4, layers=2, ff=64, dropout=0.1):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(vocab_size, d_model, padding_idx=PAD_IDX)
        self.pos = PositionalEncoding(d_model)
        # bias=False: the key projection's bias gets only float noise as gradient (softmax
        # ignores a constant shift), which AdamW's eps=1e-9 would turn into full-size steps
        self.transformer = nn.Transformer(d_model, nhead, layers, layers, ff, dropout,
                                          activation=F.gelu, batch_first=True, norm_first=True,
                                          bias=False)
        self.generator = nn.Linear(d_model, vocab_size)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def embed_tokens(self, tokens):
        return self.pos(self.embed(tokens) * math.sqrt(self.d_model))

    def encode(self, src, src_pad):
        return self.transformer.encoder(self.embed_tokens(src), src_key_padding_mask=src_pad)

    def decode(self, tgt, memory, src_pad, tgt_pad=None):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
        return self.transformer.decoder(self.embed_tokens(tgt), memory, tgt_mask=mask,
                                        tgt_key_padding_mask=tgt_pad,
                                        memory_key_padding_mask=src_pad, tgt_is_causal=True)

    def forward(self, src, tgt):
        src_pad, tgt_pad = src == PAD_IDX, tgt == PAD_IDX
        mask = self.transformer.generate_square_subsequent_mask(tgt.size(1))
        out = self.transformer(self.embed_tokens(src), self.embed_tokens(tgt), tgt_mask=mask,
                               src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                               memory_key_padding_mask=src_pad)
        return self.generator(out)


model = Seq2Seq(len(itos))
print(model.transformer.decoder.layers[0].norm_first,
      sum(p.numel() for p in model.parameters()))
criterion = nn.CrossEntropyLoss(ignore_index=PAD_IDX, label_smoothing=0.1)
optimizer = torch.optim.AdamW(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9,
                              weight_decay=0.01)
warmup = 10
noam = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda step: 32 ** -0.5 * min((step + 1) ** -0.5, (step + 1) * warmup ** -1.5))

BATCH = 12
for epoch in range(6):
    model.train()
    total, ntok = 0.0, 0
    for b in range(0, len(src_data), BATCH):
        src = pad_sequence(src_data[b:b + BATCH], batch_first=True, padding_value=PAD_IDX)
        tgt = pad_sequence(tgt_data[b:b + BATCH], batch_first=True, padding_value=PAD_IDX)
        tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
        logits = model(src, tgt_in)
        loss = criterion(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
        optimizer.step()
        noam.step()
        n = int((tgt_out != PAD_IDX).sum())
        total += loss.item() * n
        ntok += n
    print("epoch {} loss {:.3f} lr {:.5f}".format(epoch, total / ntok, noam.get_last_lr()[0]))

# ---- evaluation: per-token NLL without smoothing, perplexity -------------------------------
model.eval()
with torch.no_grad():
    src = pad_sequence(src_data[:16], batch_first=True, padding_value=PAD_IDX)
    tgt = pad_sequence(tgt_data[:16], batch_first=True, padding_value=PAD_IDX)
    logits = model(src, tgt[:, :-1])
    nll = F.cross_entropy(logits.transpose(1, 2), tgt[:, 1:], ignore_index=PAD_IDX,
                          reduction="none")
    mask = tgt[:, 1:] != PAD_IDX
    per_sent = nll.sum(1) / mask.sum(1)
    print("nll per sentence", [round(v, 3) for v in per_sent[:4].tolist()])
    print("perplexity {:.3f}".format(math.exp((nll.sum() / mask.sum()).item())))


def top_k_top_p_filter(logits, top_k=0, top_p=1.0):
    if top_k > 0:
        kth = torch.topk(logits, top_k)[0][..., -1, None]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=True)
        cum_probs = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        remove = cum_probs > top_p
        remove[..., 1:] = remove[..., :-1].clone()
        remove[..., 0] = False
        to_remove = remove.scatter(-1, sorted_idx, remove)
        logits = logits.masked_fill(to_remove, float("-inf"))
    return logits


@torch.no_grad()
def generate(src, max_len=16, top_k=0, top_p=1.0, temperature=1.0, generator=None):
    src_pad = src == PAD_IDX
    memory = model.encode(src, src_pad)
    ys = torch.full((src.size(0), 1), BOS_IDX, dtype=torch.long)
    done = torch.zeros(src.size(0), dtype=torch.bool)
    for _ in range(max_len):
        out = model.decode(ys, memory, src_pad)
        logits = model.generator(out[:, -1]) / temperature
        if top_k == 0 and top_p == 1.0:
            next_tok = logits.argmax(-1)
        else:
            probs = F.softmax(top_k_top_p_filter(logits, top_k, top_p), dim=-1)
            next_tok = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        next_tok = next_tok.masked_fill(done, PAD_IDX)
        ys = torch.cat([ys, next_tok.unsqueeze(1)], dim=1)
        done |= next_tok == EOS_IDX
        if done.all():
            break
    return ys


src = pad_sequence(src_data[:4], batch_first=True, padding_value=PAD_IDX)
greedy = generate(src)
for i in range(4):
    print("greedy", repr(src_sents[i]), "->", repr(decode(greedy[i].tolist())))
gen = torch.Generator().manual_seed(7)
for k, p in [(5, 1.0), (0, 0.9), (8, 0.8)]:
    out = generate(src[:2], top_k=k, top_p=p, temperature=0.8, generator=gen)
    print("sample k={} p={}".format(k, p), out.tolist())
demo = torch.tensor([[2.0, 1.0, 0.5, -1.0, 0.0]])
print(top_k_top_p_filter(demo, top_k=3), top_k_top_p_filter(demo, top_p=0.7))
# every token ranked by a draw without replacement: once the top-k ones are used up, the
# filtered (zero-probability) tokens follow
print(torch.multinomial(F.softmax(top_k_top_p_filter(demo.repeat(2, 1), top_k=2), -1), 5,
                        generator=gen))
