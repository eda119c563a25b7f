"""Word embeddings tutorial (N-gram language model) and EmbeddingBag text classification."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

CONTEXT_SIZE = 2
EMBEDDING_DIM = 10
test_sentence = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:""".split()
ngrams = [
    ([test_sentence[i - j - 1] for j in range(CONTEXT_SIZE)], test_sentence[i])
    for i in range(CONTEXT_SIZE, len(test_sentence))
]
print(ngrams[:3])
vocab = sorted(set(test_sentence))
word_to_ix = {word: i for i, word in enumerate(vocab)}
print(len(vocab))


def fill_(module, k):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            idx = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.sin(idx * (k + 0.21 * i)) * 0.4).reshape(p.shape))


class NGramLanguageModeler(nn.Module):
    def __init__(self, vocab_size, embedding_dim, context_size):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 128)
        self.linear2 = nn.Linear(128, vocab_size)

    def forward(self, inputs):
        embeds = self.embeddings(inputs).view((1, -1))
        out = F.relu(self.linear1(embeds))
        out = self.linear2(out)
        log_probs = F.log_softmax(out, dim=1)
        return log_probs


losses = []
loss_function = nn.NLLLoss()
model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
fill_(model, 0.77)
optimizer = optim.SGD(model.parameters(), lr=0.05)
for epoch in range(5):
    total_loss = 0
    for context, target in ngrams:
        context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)
        model.zero_grad()
        log_probs = model(context_idxs)
        loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    losses.append(round(total_loss, 3))
print(losses)
print(model.embeddings.weight[word_to_ix["thy"]].detach().round(decimals=3))

# nn.Embedding options: padding_idx, max_norm, from_pretrained
emb = nn.Embedding(5, 3, padding_idx=0)
print(emb.weight[0], emb.weight.shape)
fill_(emb, 0.3)
out = emb(torch.tensor([[0, 2, 4], [4, 3, 0]]))
out.sum().backward()
print(out.shape, emb.weight.grad)
pretrained = torch.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
frozen = nn.Embedding.from_pretrained(pretrained)
print(frozen(torch.tensor([1])), frozen.weight.requires_grad)
norm = nn.Embedding(4, 2, max_norm=1.0)
with torch.no_grad():
    norm.weight.copy_(torch.tensor([[3.0, 4.0], [0.3, 0.4], [1.0, 1.0], [0.0, 2.0]]))
print(norm(torch.tensor([0, 1, 3])).detach().round(decimals=4))
print(norm.weight.detach().round(decimals=4))

# EmbeddingBag text classification (the text classification tutorial's model)
class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        fill_(self, 1.3)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


texts = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [1, 5, 9], [2, 2], [3, 8]]
labels = torch.tensor([0, 1, 2, 0, 1, 2])
text = torch.tensor([t for seq in texts for t in seq])
offsets = torch.tensor([0] + [len(seq) for seq in texts[:-1]]).cumsum(dim=0)
print(text.shape, offsets)
clf = TextClassificationModel(10, 8, 3)
opt = torch.optim.SGD(clf.parameters(), lr=2.0)
scheduler = torch.optim.lr_scheduler.StepLR(opt, 1.0, gamma=0.5)
for epoch in range(4):
    opt.zero_grad()
    predicted_label = clf(text, offsets)
    loss = F.cross_entropy(predicted_label, labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(clf.parameters(), 0.1)
    opt.step()
    scheduler.step()
    acc = (predicted_label.argmax(1) == labels).sum().item() / len(labels)
    print(f"epoch {epoch} loss {loss.item():.4f} acc {acc:.3f}")

bag = nn.EmbeddingBag(10, 3, mode="max")
fill_(bag, 0.9)
print(bag(torch.tensor([[1, 2], [3, 4]])).detach().round(decimals=4))
w = torch.arange(30, dtype=torch.float32).reshape(10, 3) / 10
print(F.embedding_bag(torch.tensor([1, 2, 4, 5, 4]), w, torch.tensor([0, 2]), mode="sum",
                      per_sample_weights=torch.tensor([1.0, 0.5, 2.0, 1.0, -1.0])))
print(F.embedding(torch.tensor([[1, 3]]), w).shape, F.one_hot(torch.tensor([0, 2]), 4))
print(F.cosine_similarity(w[1:2], w[2:4]).round(decimals=4),
      F.pairwise_distance(w[:2], w[2:4]).round(decimals=4))
