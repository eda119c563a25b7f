"""SimCLR-style contrastive learning on toy vectors: two augmented views per sample, an encoder
plus projection head, the NT-Xent loss written as in popular SimCLR repositories (normalized
embeddings, a 2N x 2N similarity matrix with the diagonal masked out, cross-entropy against the
positive pair's index), then a linear probe on the frozen encoder."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(11)
n_classes, per_class, dim = 4, 16, 12
centers = rng.normal(scale=2.0, size=(n_classes, dim)).astype(np.float32)
labels_np = np.repeat(np.arange(n_classes), per_class)
x_np = (centers[labels_np] + rng.normal(scale=0.7, size=(len(labels_np), dim))).astype(np.float32)
n_epochs, batch_size = 30, 32
# augmentations drawn up front: feature dropout masks and additive jitter for each view
masks_np = (rng.random(size=(n_epochs, 2, len(x_np), dim)) > 0.2).astype(np.float32)
jitter_np = rng.normal(scale=0.3, size=(n_epochs, 2, len(x_np), dim)).astype(np.float32)
perms = [rng.permutation(len(x_np)) for _ in range(n_epochs)]

X = torch.from_numpy(x_np)
y = torch.from_numpy(labels_np).long()


def augment(x, epoch, view, idx):
    mask = torch.from_numpy(masks_np[epoch, view])[idx]
    noise = torch.from_numpy(jitter_np[epoch, view])[idx]
    return x * mask + noise


class SimCLR(nn.Module):
    def __init__(self, in_dim, hidden, feat_dim, proj_dim):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, feat_dim))
        self.projector = nn.Sequential(nn.Linear(feat_dim, feat_dim), nn.ReLU(inplace=True),
                                       nn.Linear(feat_dim, proj_dim, bias=False))

    def forward(self, x):
        h = self.encoder(x)
        return h, self.projector(h)


def info_nce_loss(features, temperature=0.5):
    """NT-Xent: features is (2N, d) with views stacked as [view1; view2]."""
    n = features.shape[0] // 2
    labels = torch.cat([torch.arange(n) for _ in range(2)], dim=0)
    labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
    features = F.normalize(features, dim=1)
    similarity_matrix = torch.matmul(features, features.T)
    # discard the main diagonal: a view is not its own positive
    mask = torch.eye(labels.shape[0], dtype=torch.bool)
    labels = labels[~mask].view(labels.shape[0], -1)
    similarity_matrix = similarity_matrix[~mask].view(similarity_matrix.shape[0], -1)
    positives = similarity_matrix[labels.bool()].view(labels.shape[0], -1)
    negatives = similarity_matrix[~labels.bool()].view(similarity_matrix.shape[0], -1)
    logits = torch.cat([positives, negatives], dim=1) / temperature
    targets = torch.zeros(logits.shape[0], dtype=torch.long)
    return F.cross_entropy(logits, targets), logits


def nt_xent_direct(z1, z2, temperature=0.5):
    """The same loss written with masked_fill on the full similarity matrix."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.t() / temperature
    n = z1.shape[0]
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float('-inf'))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def set_weights(module, seed):
    g = np.random.default_rng(seed)
    with torch.no_grad():
        for p in module.parameters():
            bound = 1.0 / np.sqrt(p.shape[-1])
            p.copy_(torch.from_numpy(g.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))


model = SimCLR(dim, 32, 16, 8)
set_weights(model, 0)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_epochs, eta_min=0)

for epoch in range(n_epochs):
    model.train()
    total, top1_hits, count = 0.0, 0, 0
    perm = torch.from_numpy(perms[epoch])
    for start in range(0, len(X), batch_size):
        idx = perm[start:start + batch_size]
        xb = X[idx]
        v1, v2 = augment(xb, epoch, 0, idx), augment(xb, epoch, 1, idx)
        _, z = model(torch.cat([v1, v2], dim=0))
        loss, logits = info_nce_loss(z)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
        top1_hits += (logits.argmax(dim=1) == 0).sum().item()
        count += len(idx)
    scheduler.step()
    if epoch % 5 == 0 or epoch == n_epochs - 1:
        print("epoch {:2d} loss {:.3f} top1 {:.1f}% lr {:.5f}".format(
            epoch, total / count, 100.0 * top1_hits / (2 * count), scheduler.get_last_lr()[0]))

# the two formulations agree
model.eval()
with torch.no_grad():
    idx = torch.arange(16)
    _, z1 = model(augment(X[idx], 0, 0, idx))
    _, z2 = model(augment(X[idx], 0, 1, idx))
    a, _ = info_nce_loss(torch.cat([z1, z2]))
    b = nt_xent_direct(z1, z2)
print("loss forms agree:", torch.allclose(a, b, atol=1e-5), round(a.item(), 3))

# linear evaluation: freeze the encoder, train a classifier on its features
for p in model.encoder.parameters():
    p.requires_grad_(False)
with torch.no_grad():
    feats = model.encoder(X)
probe = nn.Linear(feats.shape[1], n_classes)
set_weights(probe, 1)
probe_opt = torch.optim.SGD(probe.parameters(), lr=0.1, momentum=0.9)
for step in range(60):
    probe_opt.zero_grad()
    loss = F.cross_entropy(probe(feats), y)
    loss.backward()
    probe_opt.step()
acc = (probe(feats).argmax(1) == y).float().mean().item()
print("probe loss {:.3f} accuracy {:.3f}".format(loss.item(), acc))
print("trainable:", sum(p.numel() for p in model.parameters() if p.requires_grad),
      "frozen:", sum(p.numel() for p in model.parameters() if not p.requires_grad))
# cosine similarity of representations: same class vs different class
fn = F.normalize(feats, dim=1)
sim = fn @ fn.T
same = (y[:, None] == y[None, :]) & ~torch.eye(len(y), dtype=torch.bool)
print("mean cosine same class {:.2f} other class {:.2f}".format(
    sim[same].mean().item(), sim[~same & ~torch.eye(len(y), dtype=torch.bool)].mean().item()))
print("cosine_similarity check:", round(F.cosine_similarity(feats[0:1], feats[1:2]).item(), 2))
