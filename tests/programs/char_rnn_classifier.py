"""Classifying names with a character-level RNN (the NLP-from-scratch tutorial, tiny data)."""
import string

import numpy as np
import torch
import torch.nn as nn

allowed_characters = string.ascii_letters + " .,;'"
n_letters = len(allowed_characters)


def letterToIndex(letter):
    return allowed_characters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


print(f"The letter 'a' becomes {lineToTensor('a').nonzero().tolist()}")
print(f"The name 'Ahn' becomes {lineToTensor('Ahn').shape}")

data = {
    "English": ["Smith", "Brown", "Wilson", "Taylor", "Walker"],
    "Italian": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi"],
    "Japanese": ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe"],
}
all_categories = list(data)
pairs = [(name, all_categories.index(lang)) for lang in data for name in data[lang]]


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output


n_hidden = 32
rnn = CharRNN(n_letters, n_hidden, len(all_categories))
print(rnn)
with torch.no_grad():
    for i, p in enumerate(rnn.parameters()):
        v = np.sin(np.arange(p.numel()) * (1.3 + 0.17 * i)).astype(np.float32) * 0.2
        p.copy_(torch.from_numpy(v.reshape(tuple(p.shape))))


def label_from_output(output, output_labels):
    top_n, top_i = output.topk(1)
    label_i = top_i[0].item()
    return output_labels[label_i], label_i


output = rnn(lineToTensor("Albert"))
print(output.shape, label_from_output(output, all_categories))

criterion = nn.NLLLoss()
optimizer = torch.optim.SGD(rnn.parameters(), lr=0.05)
order = np.random.default_rng(0).permutation(len(pairs))
for epoch in range(12):
    total = 0.0
    for idx in order:
        name, label = pairs[idx]
        rnn.zero_grad()
        output = rnn(lineToTensor(name))
        loss = criterion(output, torch.tensor([label]))
        loss.backward()
        nn.utils.clip_grad_norm_(rnn.parameters(), 3)
        optimizer.step()
        total += loss.item()
    if epoch % 3 == 2:
        print(f"epoch {epoch}: average loss {total / len(pairs):.4f}")

rnn.eval()
with torch.no_grad():
    correct = 0
    confusion = torch.zeros(len(all_categories), len(all_categories))
    for name, label in pairs:
        guess, guess_i = label_from_output(rnn(lineToTensor(name)), all_categories)
        confusion[label][guess_i] += 1
        correct += int(guess_i == label)
print(f"train accuracy {correct}/{len(pairs)}")
print(confusion / confusion.sum(1, keepdim=True))
for name in ["Sanchez", "Ito", "Green"]:
    with torch.no_grad():
        out = rnn(lineToTensor(name))
    values, indexes = out.topk(2, 1, True)
    print(name, [all_categories[i] for i in indexes[0].tolist()])

# the hand-written RNN cell of the original tutorial, driven step by step
class RNNCell(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = torch.tanh(self.i2h(combined))
        output = self.softmax(self.i2o(combined))
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


cell = RNNCell(n_letters, 16, 3)
with torch.no_grad():
    for i, p in enumerate(cell.parameters()):
        p.copy_(torch.linspace(-0.3, 0.3, p.numel()).reshape(p.shape) * (i + 1))
hidden = cell.initHidden()
line = lineToTensor("Tanaka")
for i in range(line.size(0)):
    output, hidden = cell(line[i], hidden)
loss = criterion(output, torch.tensor([2]))
loss.backward()
print(f"{loss.item():.4f}", cell.i2h.weight.grad.abs().sum().item() > 0, hidden.shape)
