"""Prototypical networks and matching networks on synthetic episodic few-shot tasks, the way
the reference implementations (Snell et al.'s protonets, Vinyals et al.'s matching nets) are
written in plain PyTorch: a ``torch.utils.data.Sampler`` yields N-way K-shot episodes as index
batches for a ``DataLoader(batch_sampler=...)``, a small conv encoder embeds support and query
images, prototypes are class means (``index_add_`` / ``scatter_reduce``) and logits are negative
squared euclidean distances (``torch.cdist`` checked against the expanded formula); matching
nets use cosine attention over the support set (``F.normalize``, ``F.one_hot``, ``bmm``). Also:
``F.cross_entropy(label_smoothing=...)``, ``StepLR``, ``inference_mode``, a ``state_dict``
round trip through ``torch.save``/``torch.load`` on a ``BytesIO`` and episode accuracy with a
95% confidence interval."""
import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

torch.manual_seed(0)
rng = np.random.default_rng(0)

# ---------------------------------------------------------------- synthetic "omniglot"
# every class is a random 12x12 template; samples are noisy, shifted copies of it
n_classes, per_class, side = 40, 12, 12
templates = (rng.random((n_classes, side, side)) > 0.6).astype(np.float32)
images, labels = [], []
for c in range(n_classes):
    for _ in range(per_class):
        dy, dx = rng.integers(-1, 2, size=2)
        img = np.roll(templates[c], (dy, dx), axis=(0, 1))
        img = img + 0.3 * rng.standard_normal((side, side)).astype(np.float32)
        images.append(img)
        labels.append(c)
images = np.stack(images)[:, None].astype(np.float32)
labels = np.array(labels, dtype=np.int64)
train_classes, test_classes = list(range(28)), list(range(28, 40))


class GlyphDataset(Dataset):
    def __init__(self, x, y):
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class EpisodeSampler(Sampler):
    """Yields index lists: n_way classes, each with k_shot support then n_query query items."""

    def __init__(self, labels, classes, n_way, k_shot, n_query, n_episodes, seed):
        self.by_class = {c: np.flatnonzero(labels == c) for c in classes}
        self.classes = np.array(classes)
        self.n_way, self.k_shot, self.n_query = n_way, k_shot, n_query
        self.n_episodes = n_episodes
        self.seed = seed

    def __len__(self):
        return self.n_episodes

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        for _ in range(self.n_episodes):
            order = torch.randperm(len(self.classes), generator=g)
            chosen = self.classes[order[:self.n_way].numpy()]
            batch = []
            for c in chosen:
                pool = self.by_class[int(c)]
                pick = torch.randperm(len(pool), generator=g)[:self.k_shot + self.n_query]
                batch.extend(pool[pick.numpy()].tolist())
            yield batch


def split_episode(x, n_way, k_shot, n_query):
    x = x.view(n_way, k_shot + n_query, *x.shape[1:])
    support = x[:, :k_shot].reshape(n_way * k_shot, *x.shape[2:])
    query = x[:, k_shot:].reshape(n_way * n_query, *x.shape[2:])
    return support, query


def conv_block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(), nn.MaxPool2d(2))


class Encoder(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.net = nn.Sequential(conv_block(1, hidden), conv_block(hidden, hidden),
                                 conv_block(hidden, hidden), nn.Flatten())

    def forward(self, x):
        return self.net(x)


def prototypes(z_support, n_way, k_shot):
    return z_support.view(n_way, k_shot, -1).mean(1)


def euclidean_logits(z_query, protos):
    n, m = z_query.size(0), protos.size(0)
    a = z_query.unsqueeze(1).expand(n, m, -1)
    b = protos.unsqueeze(0).expand(n, m, -1)
    return -torch.pow(a - b, 2).sum(2)


n_way, k_shot, n_query = 5, 3, 4
dataset = GlyphDataset(images, labels)
train_loader = DataLoader(dataset, batch_sampler=EpisodeSampler(
    labels, train_classes, n_way, k_shot, n_query, n_episodes=20, seed=1))
print("episodes per epoch", len(train_loader))
xb, yb = next(iter(train_loader))
print("episode batch", tuple(xb.shape), xb.dtype, tuple(yb.shape), yb.dtype)

encoder = Encoder()
print("encoder params", sum(p.numel() for p in encoder.parameters()))
# SGD, not Adam: squared-distance logits are blind to a common shift of all embeddings, so
# some BatchNorm shifts get (numerically) zero gradients that Adam would blow up to full steps
opt = torch.optim.SGD(encoder.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
target = torch.arange(n_way).repeat_interleave(n_query)

for epoch in range(3):
    encoder.train()
    tot_loss, tot_acc = 0.0, 0.0
    for x, y in train_loader:
        support, query = split_episode(x, n_way, k_shot, n_query)
        z = encoder(torch.cat([support, query]))
        zs, zq = z[:n_way * k_shot], z[n_way * k_shot:]
        logits = euclidean_logits(zq, prototypes(zs, n_way, k_shot))
        loss = F.cross_entropy(logits, target, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        tot_loss += loss.item()
        tot_acc += (logits.argmax(1) == target).float().mean().item()
    sched.step()
    print(f"epoch {epoch} loss {tot_loss / len(train_loader):.4f} "
          f"acc {tot_acc / len(train_loader):.4f} lr {sched.get_last_lr()[0]:.5f}")
print("last episode loss", loss)  # label smoothing shows in the node: grad_fn=<AddBackward0>

# ---------------------------------------------------------------- the same logits, three ways
x, y = next(iter(train_loader))
support, query = split_episode(x, n_way, k_shot, n_query)
encoder.eval()
with torch.no_grad():
    zs, zq = encoder(support), encoder(query)
protos = prototypes(zs, n_way, k_shot)
l1 = euclidean_logits(zq, protos)
l2 = -torch.cdist(zq, protos).pow(2)
l3 = -(zq.pow(2).sum(1, keepdim=True) - 2 * zq @ protos.t() + protos.pow(2).sum(1))
print("cdist agrees", torch.allclose(l1, l2, rtol=1e-4, atol=1e-3),
      "expanded agrees", torch.allclose(l1, l3, rtol=1e-4, atol=1e-3))
# class means by index_add_ and scatter_reduce (labels in shuffled order)
support_y = torch.arange(n_way).repeat_interleave(k_shot)
perm = torch.randperm(len(support_y))
zs_p, ys_p = zs[perm], support_y[perm]
sums = torch.zeros(n_way, zs.size(1)).index_add_(0, ys_p, zs_p)
counts = torch.bincount(ys_p, minlength=n_way).unsqueeze(1).float()
means2 = torch.zeros(n_way, zs.size(1)).scatter_reduce(
    0, ys_p.unsqueeze(1).expand_as(zs_p), zs_p, reduce="mean", include_self=False)
print("index_add_ means", torch.allclose(sums / counts, protos, atol=1e-5),
      "scatter_reduce means", torch.allclose(means2, protos, atol=1e-5))
print("proto norms", [f"{v:.3f}" for v in protos.norm(dim=1).tolist()])
probs = F.softmax(l1, dim=1)
print("query 0 probs", [f"{v:.3f}" for v in probs[0].tolist()])


# ---------------------------------------------------------------- matching networks
class MatchingNet(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.log_temp = nn.Parameter(torch.tensor(math.log(10.0)))

    def forward(self, support, support_y, query, n_way):
        zs = F.normalize(self.encoder(support), dim=-1)
        zq = F.normalize(self.encoder(query), dim=-1)
        scores = self.log_temp.exp() * zq @ zs.t()  # (q, s) cosine attention logits
        # log sum_s a(q, s) [y_s = c], stably: logsumexp over each class's support items
        onehot = F.one_hot(support_y, n_way).bool()  # (s, c)
        masked = scores.unsqueeze(-1).masked_fill(~onehot, float("-inf"))  # (q, s, c)
        return torch.logsumexp(masked, dim=1) - torch.logsumexp(scores, dim=1, keepdim=True)

    def attention(self, support, query):
        zs = F.normalize(self.encoder(support), dim=-1)
        zq = F.normalize(self.encoder(query), dim=-1)
        return F.softmax(self.log_temp.exp() * zq @ zs.t(), dim=-1)


torch.manual_seed(1)
matcher = MatchingNet(Encoder())
mopt = torch.optim.SGD(matcher.parameters(), lr=0.02, momentum=0.9, nesterov=True)
for epoch in range(2):
    matcher.train()
    tot = 0.0
    for x, y in train_loader:
        support, query = split_episode(x, n_way, k_shot, n_query)
        logp = matcher(support, support_y, query, n_way)
        loss = F.nll_loss(logp, target)
        mopt.zero_grad()
        loss.backward()
        mopt.step()
        tot += loss.item()
    print(f"matching epoch {epoch} nll {tot / len(train_loader):.4f} "
          f"temp {matcher.log_temp.exp().item():.3f}")
with torch.no_grad():
    attn = matcher.attention(support, query)
    probs = torch.bmm(attn.unsqueeze(0), F.one_hot(support_y, n_way).float().unsqueeze(0))[0]
    logp = matcher(support, support_y, query, n_way)
print("attention sums to one", torch.allclose(attn.sum(-1), torch.ones(len(query))),
      "logsumexp form agrees", torch.allclose(probs.log(), logp, atol=1e-4))


# ---------------------------------------------------------------- evaluation on novel classes
def evaluate(model_fn, n_episodes, seed):
    loader = DataLoader(dataset, batch_sampler=EpisodeSampler(
        labels, test_classes, n_way, k_shot, n_query, n_episodes=n_episodes, seed=seed))
    accs = []
    with torch.inference_mode():
        for x, _ in loader:
            support, query = split_episode(x, n_way, k_shot, n_query)
            accs.append((model_fn(support, query).argmax(1) == target).float().mean())
    accs = torch.stack(accs)
    ci = 1.96 * accs.std() / math.sqrt(len(accs))
    return accs.mean().item(), ci.item(), accs.is_inference()


def proto_fn(support, query):
    return -torch.cdist(encoder(query), prototypes(encoder(support), n_way, k_shot)).pow(2)


matcher.eval()
for name, fn in (("protonet", proto_fn),
                 ("matching", lambda s, q: matcher(s, support_y, q, n_way))):
    mean, ci, inf = evaluate(fn, 20, seed=7)
    print(f"{name:9s} novel-class acc {mean:.4f} +- {ci:.4f} inference tensor {inf}")

# ---------------------------------------------------------------- checkpoint round trip
buf = io.BytesIO()
torch.save({"encoder": encoder.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict()}, buf)
buf.seek(0)
ckpt = torch.load(buf)
restored = Encoder()
missing = restored.load_state_dict(ckpt["encoder"])
print("load_state_dict", missing)
print("state keys", len(ckpt["encoder"]), list(ckpt["encoder"].keys())[:4])
print("bn running stats", f"{restored.net[0][1].running_mean.sum().item():.4f}",
      int(restored.net[0][1].num_batches_tracked))
print("scheduler state", ckpt["scheduler"]["last_epoch"], ckpt["scheduler"]["_last_lr"])
restored.eval()
mean_a = evaluate(proto_fn, 10, seed=11)[0]
encoder_backup = encoder
encoder = restored
mean_b = evaluate(proto_fn, 10, seed=11)[0]
print("restored model agrees", mean_a == mean_b, f"{mean_b:.4f}")
