"""Large-vocabulary embeddings with sparse gradients: nn.Embedding / nn.EmbeddingBag with
sparse=True, SGD on the sparse .grad, SparseAdam for the table next to Adam for the rest."""
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, DIM = 50, 4


def fill_(module, k):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            idx = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.sin(idx * (k + 0.3 * i)) * 0.5).view_as(p))


emb = nn.Embedding(VOCAB, DIM, sparse=True, padding_idx=0)
fill_(emb, 0.7)
print(emb)
tokens = torch.tensor([[3, 7, 0], [7, 9, 3]])
emb(tokens).pow(2).sum().backward()
g = emb.weight.grad
print(g.is_sparse, g.layout, g.shape, g._nnz(), g.is_coalesced())
print(g._indices(), g._values().round(decimals=4))
dense = g.to_dense()
print(dense.abs().sum(1).nonzero().flatten(), f"{dense.sum().item():.4f}")
print(g.coalesce().indices(), g.coalesce().values().shape)

before = emb.weight.detach().clone()
opt = torch.optim.SGD(emb.parameters(), lr=0.1)
opt.step()
changed = (emb.weight.detach() != before).any(1).nonzero().flatten()
print(changed, f"{(emb.weight.detach() - before).sum().item():.4f}")
emb(tokens).pow(2).sum().backward()  # accumulates into the sparse .grad
print(emb.weight.grad._nnz(), f"{emb.weight.grad.to_dense().sum().item():.4f}")
opt.zero_grad()
print(emb.weight.grad)

try:
    emb(tokens).sum().backward()
    torch.optim.Adam(emb.parameters(), lr=0.1).step()
except RuntimeError as err:
    print("RuntimeError:", err)


class BagClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.EmbeddingBag(VOCAB, DIM, mode="mean", sparse=True)
        self.fc = nn.Linear(DIM, 3)

    def forward(self, text, offsets):
        return self.fc(self.embedding(text, offsets))


model = BagClassifier()
fill_(model, 1.1)
text = torch.tensor([1, 2, 3, 10, 11, 20, 21, 22, 23, 1, 11, 21])
offsets = torch.tensor([0, 3, 5, 9])
labels = torch.tensor([0, 1, 2, 0])
sparse_opt = torch.optim.SparseAdam(list(model.embedding.parameters()), lr=0.05)
dense_opt = torch.optim.Adam(model.fc.parameters(), lr=0.05)
for step in range(8):
    sparse_opt.zero_grad()
    dense_opt.zero_grad()
    loss = F.cross_entropy(model(text, offsets), labels)
    loss.backward()
    sparse_opt.step()
    dense_opt.step()
    if step % 2 == 1:
        print(f"step {step} loss {loss.item():.4f}")
print(model.embedding.weight.grad.is_sparse, model.fc.weight.grad.is_sparse)
print(sorted(sparse_opt.state_dict()["state"][0]))
