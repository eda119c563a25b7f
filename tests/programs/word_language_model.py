"""pytorch/examples word_language_model in miniature: Dictionary/Corpus over a toy text,
batchify, RNNModel for RNN_TANH/RNN_RELU/LSTM/GRU with tied weights, repackage_hidden on
tensors and tuples, clip_grad_norm_, manual SGD (p.data.add_(p.grad, alpha=-lr)), learning
rate annealing, perplexity with math.exp, save/load of the best model, and generation."""
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(0)
WORDS = "the cat dog sat on a mat rug and ran to big small red".split()
sentences = []
for _ in range(60):
    n = int(rng.integers(3, 8))
    sentences.append(" ".join(WORDS[int(i)] for i in rng.integers(0, len(WORDS), n)))


class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus(object):
    def __init__(self, lines):
        self.dictionary = Dictionary()
        self.train = self.tokenize(lines[:40])
        self.valid = self.tokenize(lines[40:50])
        self.test = self.tokenize(lines[50:])

    def tokenize(self, lines):
        for line in lines:
            for word in line.split() + ["<eos>"]:
                self.dictionary.add_word(word)
        idss = []
        for line in lines:
            ids = []
            for word in line.split() + ["<eos>"]:
                ids.append(self.dictionary.word2idx[word])
            idss.append(torch.tensor(ids).type(torch.int64))
        return torch.cat(idss)


class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            try:
                nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            except KeyError as e:
                raise ValueError("An invalid option for `--model` was supplied") from e
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight
        self.init_weights()
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        with torch.no_grad():
            # nn.init.uniform_ in the example; NumPy numbers here so both libraries agree
            self.encoder.weight.copy_(torch.from_numpy(
                rng.uniform(-initrange, initrange, tuple(self.encoder.weight.shape))
            ).float())
            nn.init.zeros_(self.decoder.bias)
            self.decoder.weight.copy_(torch.from_numpy(
                rng.uniform(-initrange, initrange, tuple(self.decoder.weight.shape))
            ).float())
            for name, p in self.rnn.named_parameters():
                p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape))).to(p.dtype))

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        else:
            return weight.new_zeros(self.nlayers, bsz, self.nhid)


corpus = Corpus(sentences)
device = torch.device("cpu")


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).t().contiguous()
    return data.to(device)


eval_batch_size = 4
train_data = batchify(corpus.train, 5)
val_data = batchify(corpus.valid, eval_batch_size)
test_data = batchify(corpus.test, eval_batch_size)
print(len(corpus.dictionary), train_data.shape, val_data.shape, test_data.is_contiguous())
bptt = 6


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


criterion = nn.NLLLoss()


def evaluate(model, data_source):
    model.eval()
    total_loss = 0.
    hidden = model.init_hidden(eval_batch_size)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


def train(model, lr, clip):
    model.train()
    total_loss = 0.
    hidden = model.init_hidden(5)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total_loss += loss.item()
    return total_loss / (batch + 1), total_norm


ntokens = len(corpus.dictionary)
for rnn_type, tied in [("LSTM", True), ("GRU", False), ("RNN_TANH", True), ("RNN_RELU", False)]:
    model = RNNModel(rnn_type, ntokens, 12, 12, 2, dropout=0.0, tie_weights=tied).to(device)
    print(rnn_type, model.rnn, model.decoder.weight is model.encoder.weight,
          sum(p.numel() for p in model.parameters()))
    lr, best_val_loss = 2.0, None
    path = f"model_{rnn_type}.pt"
    for epoch in range(1, 5):
        train_loss, norm = train(model, lr, 0.25)
        val_loss = evaluate(model, val_data)
        print("| end of epoch {:3d} | train loss {:5.2f} | norm {:6.3f} | valid loss {:5.2f} | "
              "valid ppl {:8.2f}".format(epoch, train_loss, norm, val_loss, math.exp(val_loss)))
        if not best_val_loss or val_loss < best_val_loss:
            with open(path, "wb") as f:
                torch.save(model, f)
            best_val_loss = val_loss
        else:
            lr /= 4.0
    with open(path, "rb") as f:
        model = torch.load(f, weights_only=False)
        if rnn_type in ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]:
            model.rnn.flatten_parameters()
    os.remove(path)
    test_loss = evaluate(model, test_data)
    print("| End of training | test loss {:5.2f} | test ppl {:8.2f}".format(
        test_loss, math.exp(test_loss)))

# generate.py: feed the argmax back in (torch.multinomial would draw from torch's RNG)
model.eval()
hidden = model.init_hidden(1)
input = torch.tensor([[corpus.dictionary.word2idx["the"]]], dtype=torch.long)
words = []
with torch.no_grad():
    for i in range(8):
        output, hidden = model(input, hidden)
        word_weights = output.squeeze().div(0.8).exp().cpu()
        word_idx = torch.argmax(word_weights)
        input.fill_(word_idx)
        words.append(corpus.dictionary.idx2word[word_idx])
print(" ".join(words), round(word_weights.sum().item(), 4))
