"""AWD-LSTM language model, after salesforce/awd-lstm-lm ("Regularizing and Optimizing LSTM
Language Models"), on a toy corpus: embedding dropout (whole word vectors dropped with a
bernoulli_ mask on weight.new_empty), locked/variational dropout (one mask per sequence,
expand_as over time), DropConnect on the hidden-to-hidden weights written as a
torch.nn.utils.parametrize weight-drop, a stack of single-layer LSTMs, activation and temporal
activation regularisation (AR/TAR), variable-length BPTT windows, hidden states detached
between batches, gradient clipping, and the switch from SGD to averaged SGD (torch.optim.ASGD)
when validation stops improving; perplexity with math.exp."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize

torch.manual_seed(4)

words = ("the cat sat on the mat . the dog sat on the log . a cat saw a dog . "
         "the dog saw the cat on the mat . a bird sat on the log .").split()
vocab = sorted(set(words))
stoi = {w: i for i, w in enumerate(vocab)}
data = torch.tensor([stoi[w] for w in words * 20])
split = int(len(data) * 0.8)
train_data, valid_data = data[:split], data[split:]
print("vocab", len(vocab), "train tokens", len(train_data), "valid tokens", len(valid_data))


def batchify(d, bsz):
    nbatch = d.size(0) // bsz
    return d.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


train_b, valid_b = batchify(train_data, 4), batchify(valid_data, 2)
print("batched", tuple(train_b.shape), tuple(valid_b.shape))


def embedded_dropout(embed, words, dropout=0.1):
    mask = embed.weight.new_empty((embed.weight.size(0), 1)).bernoulli_(1 - dropout)
    mask = mask.expand_as(embed.weight) / (1 - dropout)
    return F.embedding(words, mask * embed.weight, embed.padding_idx, embed.max_norm,
                       embed.norm_type, embed.scale_grad_by_freq, embed.sparse)


class LockedDropout(nn.Module):
    def forward(self, x, dropout=0.5):
        if not self.training or not dropout:
            return x
        m = x.new_empty(1, x.size(1), x.size(2)).bernoulli_(1 - dropout)
        return m.div_(1 - dropout).expand_as(x) * x


class WeightDrop(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, w):
        return F.dropout(w, self.p, self.training)


class AWDLSTM(nn.Module):
    def __init__(self, ntoken, ninp=16, nhid=24, nlayers=2, dropout=0.3, dropouth=0.2,
                 dropouti=0.2, dropoute=0.1, wdrop=0.3):
        super().__init__()
        self.lockdrop = LockedDropout()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnns = nn.ModuleList([nn.LSTM(ninp if i == 0 else nhid,
                                           nhid if i != nlayers - 1 else ninp, 1)
                                   for i in range(nlayers)])
        for rnn in self.rnns:
            parametrize.register_parametrization(rnn, "weight_hh_l0", WeightDrop(wdrop))
        self.decoder = nn.Linear(ninp, ntoken)
        self.decoder.weight = self.encoder.weight                      # tied
        self.encoder.weight.data.uniform_(-1.0, 1.0)
        self.decoder.bias.data.zero_()
        self.dropout, self.dropouth, self.dropouti, self.dropoute = (dropout, dropouth,
                                                                     dropouti, dropoute)

    def forward(self, inp, hidden):
        emb = embedded_dropout(self.encoder, inp, self.dropoute if self.training else 0)
        raw_output = self.lockdrop(emb, self.dropouti)
        new_hidden, raw_outputs, outputs = [], [], []
        for i, rnn in enumerate(self.rnns):
            raw_output, new_h = rnn(raw_output, hidden[i])
            new_hidden.append(new_h)
            raw_outputs.append(raw_output)
            if i != len(self.rnns) - 1:
                raw_output = self.lockdrop(raw_output, self.dropouth)
                outputs.append(raw_output)
        output = self.lockdrop(raw_output, self.dropout)
        outputs.append(output)
        return self.decoder(output), new_hidden, raw_outputs, outputs

    def init_hidden(self, bsz):
        return [(torch.zeros(1, bsz, r.hidden_size), torch.zeros(1, bsz, r.hidden_size))
                for r in self.rnns]


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h) if isinstance(h, tuple) else \
        [repackage_hidden(v) for v in h]


def get_batch(source, i, seq_len):
    seq_len = min(seq_len, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)


model = AWDLSTM(len(vocab))
print("parametrized:", [parametrize.is_parametrized(r, "weight_hh_l0") for r in model.rnns],
      "tied:", model.decoder.weight is model.encoder.weight)
print("parameters", sum(p.numel() for p in model.parameters()))
criterion = nn.CrossEntropyLoss()
bptt, alpha, beta, clip = 8, 2.0, 1.0, 1.0
optimizer = torch.optim.SGD(model.parameters(), lr=4.0, weight_decay=1.2e-6)


def evaluate(source, bsz=2):
    model.eval()
    total, hidden = 0.0, model.init_hidden(bsz)
    with torch.no_grad():
        for i in range(0, source.size(0) - 1, bptt):
            x, y = get_batch(source, i, bptt)
            out, hidden, _, _ = model(x, hidden)
            total += len(x) * criterion(out.view(-1, len(vocab)), y).item()
            hidden = repackage_hidden(hidden)
    return total / (len(source) - 1)


best_val, stored_loss = [], 1e9
for epoch in range(1, 7):
    model.train()
    hidden = model.init_hidden(4)
    i, total = 0, 0.0
    while i < train_b.size(0) - 2:
        base = bptt if torch.rand(1).item() < 0.95 else bptt / 2.0
        seq_len = max(5, int(torch.normal(torch.tensor(float(base)), torch.tensor(2.0)).item()))
        lr2 = optimizer.param_groups[0]["lr"]
        optimizer.param_groups[0]["lr"] = lr2 * seq_len / bptt
        x, y = get_batch(train_b, i, seq_len)
        hidden = repackage_hidden(hidden)
        optimizer.zero_grad()
        out, hidden, rnn_hs, dropped_rnn_hs = model(x, hidden)
        raw_loss = criterion(out.view(-1, len(vocab)), y)
        loss = raw_loss + alpha * dropped_rnn_hs[-1].pow(2).mean() \
            + beta * (rnn_hs[-1][1:] - rnn_hs[-1][:-1]).pow(2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        optimizer.param_groups[0]["lr"] = lr2
        total += raw_loss.item()
        i += seq_len
    if isinstance(optimizer, torch.optim.ASGD):
        # evaluate with the averaged weights, then put the raw ones back
        tmp = {}
        for prm in model.parameters():
            tmp[prm] = prm.data.clone()
            prm.data = optimizer.state[prm]["ax"].clone()
        val_loss = evaluate(valid_b)
        for prm in model.parameters():
            prm.data = tmp[prm].clone()
    else:
        val_loss = evaluate(valid_b)
        if len(best_val) > 2 and val_loss > min(best_val[:-1]) or epoch == 4:
            print("switching to ASGD")
            optimizer = torch.optim.ASGD(model.parameters(), lr=4.0, t0=0, lambd=0.0,
                                         weight_decay=1.2e-6)
        best_val.append(val_loss)
    print("epoch", epoch, "train loss", round(total, 1), "valid loss", round(val_loss, 3),
          "valid ppl", round(math.exp(val_loss), 2))

model.eval()
with torch.no_grad():
    hidden = model.init_hidden(1)
    word = torch.tensor([[stoi["the"]]])
    out_words = ["the"]
    for _ in range(8):
        logits, hidden, _, _ = model(word, hidden)
        word = logits[-1].argmax(-1, keepdim=True).view(1, 1)
        out_words.append(vocab[word.item()])
print("generated:", " ".join(out_words))
