"""MoCo v2 and MoCo v3 on toy vectors, after the MoCo repositories' ``builder.py`` and their
kNN-monitor notebooks.

MoCo v2 keeps a queue of negative keys as a registered buffer (random normal columns made unit
length with ``nn.functional.normalize(..., dim=0)``) and a ``long`` pointer buffer; each step
enqueues the keys by in-place slice assignment and moves the key encoder by momentum
(``param_k.data = param_k.data * m + param_q.data * (1. - m)``). Batch-norm shuffling uses a
random permutation and its ``argsort`` inverse. Logits come from ``torch.einsum``. MoCo v3 then
uses in-batch keys with a symmetrised InfoNCE scaled by ``2 * T`` and a momentum update with
``Tensor.lerp_``. A weighted kNN classifier (``topk``, ``gather``, ``scatter``) monitors both.
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)
n_classes, per_class, dim = 5, 20, 12
# uniform draws (and float64 normals) only: float32 randn of 16+ values differs in its last
# bit between PyTorch's own CPU kernels, so it would not make a portable record
centers = torch.empty(n_classes, dim).uniform_(-1.2, 1.2)
train_labels = torch.arange(n_classes).repeat_interleave(per_class)
train_x = centers[train_labels] + torch.empty(len(train_labels), dim).uniform_(-1.5, 1.5)
test_labels = torch.arange(n_classes).repeat(6)
test_x = centers[test_labels] + torch.empty(len(test_labels), dim).uniform_(-1.5, 1.5)


def augment(x):
    scale = torch.empty(x.shape[0], 1).uniform_(0.8, 1.2)
    drop = torch.bernoulli(torch.full_like(x, 0.8))
    return x * scale * drop + 0.5 * (torch.rand_like(x) - 0.5)


def make_encoder(out_dim):
    # no bias before a batch norm, here or in MoCo v3's predictor (as MoCo v3's MLPs): its
    # gradient is rounding noise, which AdamW would blow up to full-size steps
    return nn.Sequential(nn.Linear(dim, 32, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
                         nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, out_dim, bias=False))


class MoCo(nn.Module):
    def __init__(self, base_encoder, dim=16, K=80, m=0.99, T=0.2):
        super().__init__()
        self.K, self.m, self.T = K, m, T
        self.encoder_q = base_encoder(dim)
        self.encoder_k = base_encoder(dim)
        for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            param_k.data.copy_(param_q.data)
            param_k.requires_grad = False
        self.register_buffer("queue", torch.randn(dim, K, dtype=torch.float64).float())
        self.queue = nn.functional.normalize(self.queue, dim=0)
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def _momentum_update_key_encoder(self):
        for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            param_k.data = param_k.data * self.m + param_q.data * (1. - self.m)

    @torch.no_grad()
    def _dequeue_and_enqueue(self, keys):
        batch_size = keys.shape[0]
        ptr = int(self.queue_ptr)
        assert self.K % batch_size == 0
        self.queue[:, ptr:ptr + batch_size] = keys.T
        ptr = (ptr + batch_size) % self.K
        self.queue_ptr[0] = ptr

    @torch.no_grad()
    def _batch_shuffle(self, x):
        idx_shuffle = torch.randperm(x.shape[0])
        idx_unshuffle = torch.argsort(idx_shuffle)
        return x[idx_shuffle], idx_unshuffle

    def forward(self, im_q, im_k):
        q = nn.functional.normalize(self.encoder_q(im_q), dim=1)
        with torch.no_grad():
            self._momentum_update_key_encoder()
            im_k, idx_unshuffle = self._batch_shuffle(im_k)
            k = nn.functional.normalize(self.encoder_k(im_k), dim=1)
            k = k[idx_unshuffle]
        l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", [q, self.queue.clone().detach()])
        logits = torch.cat([l_pos, l_neg], dim=1)
        logits /= self.T
        labels = torch.zeros(logits.shape[0], dtype=torch.long)
        self._dequeue_and_enqueue(k)
        return logits, labels


def knn_predict(feature, feature_bank, feature_labels, classes, knn_k, knn_t):
    sim_matrix = torch.mm(feature, feature_bank)
    sim_weight, sim_indices = sim_matrix.topk(k=knn_k, dim=-1)
    sim_labels = torch.gather(feature_labels.expand(feature.size(0), -1), dim=-1,
                              index=sim_indices)
    sim_weight = (sim_weight / knn_t).exp()
    one_hot_label = torch.zeros(feature.size(0) * knn_k, classes)
    one_hot_label = one_hot_label.scatter(dim=-1, index=sim_labels.view(-1, 1), value=1.0)
    pred_scores = torch.sum(one_hot_label.view(feature.size(0), -1, classes)
                            * sim_weight.unsqueeze(dim=-1), dim=1)
    return pred_scores.argsort(dim=-1, descending=True)


@torch.no_grad()
def knn_accuracy(encoder):
    encoder.eval()
    bank = F.normalize(encoder(train_x), dim=1).t().contiguous()
    feats = F.normalize(encoder(test_x), dim=1)
    pred = knn_predict(feats, bank, train_labels, n_classes, knn_k=7, knn_t=0.1)
    encoder.train()
    return (pred[:, 0] == test_labels).float().mean().item()


model = MoCo(make_encoder)
print("queue", tuple(model.queue.shape), model.queue.dtype, "ptr", model.queue_ptr.dtype,
      "column norms", round(model.queue.norm(dim=0).mean().item(), 4))
print("buffers:", [name for name, _ in model.named_buffers()][:3], "...")
print("kNN accuracy before training: {:.3f}".format(knn_accuracy(model.encoder_q)))
optimizer = torch.optim.SGD(model.encoder_q.parameters(), lr=0.06, momentum=0.9,
                            weight_decay=5e-4)
criterion = nn.CrossEntropyLoss()
batch_size = 16
for epoch in range(8):
    perm = torch.randperm(len(train_x))
    total, correct = 0.0, 0
    for i in range(0, len(train_x) - batch_size + 1, batch_size):
        x = train_x[perm[i:i + batch_size]]
        logits, labels = model(im_q=augment(x), im_k=augment(x))
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        correct += (logits.argmax(dim=1) == labels).sum().item()
    if epoch % 2 == 1:
        # (3 digits: float32 summation-order differences grow to 1e-4 by epoch 7 through the
        # temperature-0.2 softmax over the queue)
        print("moco v2 epoch {} loss {:.3f} pos-top1 {:3d} ptr {} knn {:.3f}".format(
            epoch, total / 6, correct, model.queue_ptr.item(), knn_accuracy(model.encoder_q)))
print("queue still unit columns:", torch.allclose(model.queue.norm(dim=0), torch.ones(model.K),
                                                  atol=1e-5))
print("key encoder frozen:", not any(p.requires_grad for p in model.encoder_k.parameters()),
      "no grads:", all(p.grad is None for p in model.encoder_k.parameters()))
sd = model.state_dict()
print("state_dict has queue:", "queue" in sd, "queue_ptr" in sd, sd["queue_ptr"].tolist())


class MoCoV3(nn.Module):
    """In-batch negatives, a predictor on the query branch, symmetric loss."""

    def __init__(self, dim=16, T=0.5):
        super().__init__()
        self.T = T
        self.base_encoder = make_encoder(dim)
        self.predictor = nn.Sequential(nn.Linear(dim, 32, bias=False), nn.BatchNorm1d(32),
                                       nn.ReLU(),
                                       nn.Linear(32, dim))
        self.momentum_encoder = copy.deepcopy(self.base_encoder)
        self.momentum_encoder.requires_grad_(False)

    def contrastive_loss(self, q, k):
        q = F.normalize(q, dim=1)
        k = F.normalize(k, dim=1)
        logits = torch.einsum('nc,mc->nm', [q, k]) / self.T
        labels = torch.arange(logits.shape[0], dtype=torch.long)
        return nn.CrossEntropyLoss()(logits, labels) * (2 * self.T)

    @torch.no_grad()
    def _update_momentum_encoder(self, m):
        for param_b, param_m in zip(self.base_encoder.parameters(),
                                    self.momentum_encoder.parameters()):
            param_m.lerp_(param_b, 1. - m)

    def forward(self, x1, x2, m):
        q1 = self.predictor(self.base_encoder(x1))
        q2 = self.predictor(self.base_encoder(x2))
        with torch.no_grad():
            self._update_momentum_encoder(m)
            k1 = self.momentum_encoder(x1)
            k2 = self.momentum_encoder(x2)
        return self.contrastive_loss(q1, k2) + self.contrastive_loss(q2, k1)


v3 = MoCoV3()
opt = torch.optim.AdamW(v3.parameters(), lr=3e-3, weight_decay=0.1)
print("v3 trainable:", sum(p.numel() for p in v3.parameters() if p.requires_grad),
      "momentum params trainable:", any(p.requires_grad for p in v3.momentum_encoder.parameters()))
for epoch in range(6):
    perm = torch.randperm(len(train_x))
    total = 0.0
    for i in range(0, len(train_x) - 20 + 1, 20):
        x = train_x[perm[i:i + 20]]
        m = 1. - 0.5 * (1. + torch.cos(torch.tensor(torch.pi * epoch / 6))).item() * (1 - 0.9)
        loss = v3(augment(x), augment(x), m)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item()
    if epoch % 2 == 1:
        print("moco v3 epoch {} m {:.4f} loss {:.4f} knn {:.3f}".format(
            epoch, m, total / 5, knn_accuracy(v3.base_encoder)))
diff = max((a - b).abs().max().item() for a, b in zip(v3.base_encoder.parameters(),
                                                      v3.momentum_encoder.parameters()))
print("base vs momentum max diff {:.4f}".format(diff))
