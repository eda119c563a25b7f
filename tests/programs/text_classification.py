"""The "Text classification with the torchtext library" tutorial in miniature (no torchtext):
a vocab built by hand, text_pipeline/label_pipeline, the tutorial's collate_batch with offsets
from torch.tensor(...).cumsum(dim=0), TextClassificationModel over nn.EmbeddingBag, SGD with
StepLR and clip_grad_norm_, accuracy bookkeeping, predict(); plus EmbeddingBag's modes,
per_sample_weights, padding_idx, 2-D input, from_pretrained, max_norm and F.embedding_bag."""
import time
from collections import Counter, OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

rng = np.random.default_rng(0)
TOPICS = {
    1: "goal match team score league coach win player".split(),
    2: "market stock price bank trade profit share fund".split(),
    3: "chip software robot data cloud code phone model".split(),
}
FILLER = "the a of in on today new says after".split()


def make_line(label):
    n = int(rng.integers(4, 9))
    words = [TOPICS[label][int(i)] if rng.random() < 0.6 else FILLER[int(i) % len(FILLER)]
             for i in rng.integers(0, 8, n)]
    return label, " ".join(words)


train_iter = [make_line(int(rng.integers(1, 4))) for _ in range(96)]
test_iter = [make_line(int(rng.integers(1, 4))) for _ in range(30)]


def tokenizer(line):
    return line.lower().split()


# build_vocab_from_iterator(yield_tokens(train_iter), specials=["<unk>"]) by hand
counter = Counter(tok for _, text in train_iter for tok in tokenizer(text))
ordered = OrderedDict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
itos = ["<unk>"] + list(ordered)
stoi = {w: i for i, w in enumerate(itos)}


def vocab(tokens):
    return [stoi.get(t, 0) for t in tokens]


def text_pipeline(x):
    return vocab(tokenizer(x))


def label_pipeline(x):
    return int(x) - 1


print(len(itos), text_pipeline("the team bank unknownword"), label_pipeline("3"))
device = torch.device("cpu")


def collate_batch(batch):
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(label_pipeline(_label))
        processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
        text_list.append(processed_text)
        offsets.append(processed_text.size(0))
    label_list = torch.tensor(label_list, dtype=torch.int64)
    offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
    text_list = torch.cat(text_list)
    return label_list.to(device), text_list.to(device), offsets.to(device)


class ListDataset(Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self.items[idx]


dataloader = DataLoader(train_iter, batch_size=8, shuffle=False, collate_fn=collate_batch)
label, text, offsets = next(iter(dataloader))
print(label, text.shape, offsets, offsets.dtype)


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super(TextClassificationModel, self).__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        with torch.no_grad():  # uniform_(-initrange, initrange) from NumPy's numbers
            self.embedding.weight.copy_(torch.from_numpy(
                rng.uniform(-initrange, initrange, self.embedding.weight.shape)).float())
            self.fc.weight.copy_(torch.from_numpy(
                rng.uniform(-initrange, initrange, self.fc.weight.shape)).float())
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


num_class = len(set([label for (label, text) in train_iter]))
vocab_size = len(itos)
emsize = 16
model = TextClassificationModel(vocab_size, emsize, num_class).to(device)
print(model)


def train(dataloader):
    model.train()
    total_acc, total_count = 0, 0
    for idx, (label, text, offsets) in enumerate(dataloader):
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        total_acc += (predicted_label.argmax(1) == label).sum().item()
        total_count += label.size(0)
    return total_acc / total_count


def evaluate(dataloader):
    model.eval()
    total_acc, total_count, total_loss = 0, 0, 0.0
    with torch.no_grad():
        for idx, (label, text, offsets) in enumerate(dataloader):
            predicted_label = model(text, offsets)
            total_loss += criterion(predicted_label, label).item() * label.size(0)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / total_count, total_loss / total_count


EPOCHS, LR, BATCH_SIZE = 6, 5, 8
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LR)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
total_accu = None
train_dataloader = DataLoader(ListDataset(train_iter), batch_size=BATCH_SIZE, shuffle=False,
                              collate_fn=collate_batch)
valid_dataloader = DataLoader(ListDataset(test_iter), batch_size=BATCH_SIZE,
                              collate_fn=collate_batch)
for epoch in range(1, EPOCHS + 1):
    epoch_start_time = time.time()
    train_acc = train(train_dataloader)
    accu_val, loss_val = evaluate(valid_dataloader)
    if total_accu is not None and total_accu > accu_val:
        scheduler.step()
    else:
        total_accu = accu_val
    print("| end of epoch {:3d} | train acc {:8.3f} | valid accuracy {:8.3f} | valid loss "
          "{:8.4f} | lr {}".format(epoch, train_acc, accu_val, loss_val,
                                   scheduler.get_last_lr()))

ag_news_label = {1: "Sports", 2: "Business", 3: "Sci/Tec"}


def predict(text, text_pipeline):
    with torch.no_grad():
        text = torch.tensor(text_pipeline(text))
        output = model(text, torch.tensor([0]))
        return output.argmax(1).item() + 1


for line in ["the coach says the team will win", "bank profit and share price",
             "new robot code in the cloud"]:
    print("This is a %s news" % ag_news_label[predict(line, text_pipeline)])

# nn.EmbeddingBag on its own: modes, weights, padding, 2-D bags, pretrained, max_norm
table = torch.from_numpy(rng.standard_normal((10, 3)).astype(np.float32))
inp = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])
offs = torch.tensor([0, 4])
for mode in ["sum", "mean", "max"]:
    bag = nn.EmbeddingBag.from_pretrained(table, mode=mode, freeze=False)
    out = bag(inp, offs)
    out.pow(2).sum().backward()
    print(mode, out.round(decimals=4), bag.weight.grad.abs().sum(1).round(decimals=3))
bag = nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2)
with torch.no_grad():
    bag.weight.copy_(table)
print(bag, bag.weight[2])
psw = torch.tensor([0.5, 1.0, 2.0, -1.0, 1.5, 0.25, 3.0, 1.0])
print(bag(inp, offs, per_sample_weights=psw).round(decimals=4))
print(bag(torch.tensor([[1, 2, 2], [2, 2, 2]])).round(decimals=4))
print(F.embedding_bag(inp, table, offs, mode="mean", include_last_offset=False).round(decimals=4))
print(F.embedding_bag(inp, table, torch.tensor([0, 3, 8]), mode="sum",
                      include_last_offset=True).round(decimals=4))
norm_bag = nn.EmbeddingBag(10, 3, max_norm=1.0, mode="mean")
with torch.no_grad():
    norm_bag.weight.copy_(table * 3)
out = norm_bag(inp, offs)
print(out.round(decimals=4), norm_bag.weight.norm(dim=1).round(decimals=3))
# empty bag: sum/mean give zeros
print(F.embedding_bag(inp, table, torch.tensor([0, 0, 5]), mode="mean").round(decimals=4))
