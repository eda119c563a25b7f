"""Sequence models tutorial: an LSTM part-of-speech tagger, plus nn.LSTM's shapes and options."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


def fill_(module, k=0.9):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            idx = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.sin(idx * (k + 0.13 * i)) * 0.3).reshape(p.shape))


lstm = nn.LSTM(3, 3)
fill_(lstm)
inputs = [torch.linspace(-1, 1, 3) * (i + 1) / 5 for i in range(5)]
hidden = (torch.zeros(1, 1, 3), torch.zeros(1, 1, 3))
for i in inputs:
    out, hidden = lstm(i.view(1, 1, -1), hidden)
print(out.detach().round(decimals=4), hidden[1].shape)
inputs = torch.cat(inputs).view(len(inputs), 1, -1)
hidden = (torch.zeros(1, 1, 3), torch.zeros(1, 1, 3))
out, hidden = lstm(inputs, hidden)
print(out[-1].detach().round(decimals=4), out.shape)


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


training_data = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
]
word_to_ix = {}
for sent, tags in training_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
print(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
EMBEDDING_DIM = 6
HIDDEN_DIM = 6


class LSTMTagger(nn.Module):
    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
fill_(model, 2.3)
with torch.no_grad():
    model.word_embeddings.weight.mul_(4)
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.5)

with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores.round(decimals=4))

for epoch in range(60):
    for sentence, tags in training_data:
        model.zero_grad()
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = prepare_sequence(tags, tag_to_ix)
        tag_scores = model(sentence_in)
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()
    if epoch % 20 == 19:
        print(f"epoch {epoch + 1} loss {loss.item():.4f}")

with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores.argmax(1), tag_scores.exp().sum(1).round(decimals=3))

# batch_first, bidirectional, two layers, LSTMCell, GRU and proj_size shapes
lstm2 = nn.LSTM(input_size=4, hidden_size=5, num_layers=2, batch_first=True,
                bidirectional=True)
fill_(lstm2, 0.4)
x = torch.linspace(-1, 1, 2 * 7 * 4).reshape(2, 7, 4)
out, (h, c) = lstm2(x)
print(out.shape, h.shape, c.shape, f"{out.sum().item():.4f}", f"{h.abs().sum().item():.4f}")
print([n for n, _ in lstm2.named_parameters()][:5])
cell = nn.LSTMCell(4, 5)
fill_(cell, 0.6)
hx, cx = torch.zeros(2, 5), torch.zeros(2, 5)
for t in range(x.size(1)):
    hx, cx = cell(x[:, t], (hx, cx))
print(hx.detach().round(decimals=4))
gru = nn.GRU(4, 3, batch_first=True)
fill_(gru, 0.2)
out, h = gru(x)
print(out.shape, h.detach().round(decimals=4))
proj = nn.LSTM(4, 6, proj_size=2)
fill_(proj, 0.3)
out, (h, c) = proj(x.transpose(0, 1))
print(out.shape, h.shape, c.shape, f"{out.sum().item():.4f}")
