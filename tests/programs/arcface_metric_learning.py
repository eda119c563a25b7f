"""Deep metric learning as face-recognition and retrieval repositories write it (insightface's
arcface_torch, ronghuaiyang/arcface-pytorch, pytorch-metric-learning style losses): an embedding
net trained with ArcFace (additive angular margin through acos/cos, easy_margin and the
th/mm fallback), CosFace (additive cosine margin via one_hot), sub-center ArcFace (amax over
sub-centres), a batch-hard triplet loss mined from a torch.cdist distance matrix with masks from
label equality (fill_diagonal_, masked_fill with inf, amax/amin), the batch-all variant,
nn.TripletMarginLoss(swap=True), TripletMarginWithDistanceLoss with a cosine distance, a
multi-similarity loss with logsumexp, center loss as KaiyangZhou/pytorch-center-loss writes
it (its deprecated distmat.addmm_(1, -2, x, centers.t()) overload included), and retrieval
evaluation: Recall@k from topk over a cosine similarity matrix and mean average precision
from a sorted ranking with cumsum."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
NUM_CLASSES, DIM, EMB = 6, 10, 8

class_means = torch.randn(NUM_CLASSES, DIM) * 1.5
y_train = torch.arange(NUM_CLASSES).repeat(20)
x_train = class_means[y_train] + torch.randn(len(y_train), DIM)
y_query = torch.arange(NUM_CLASSES).repeat(5)
x_query = class_means[y_query] + torch.randn(len(y_query), DIM)


class EmbeddingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(DIM, 32, bias=False), nn.BatchNorm1d(32), nn.PReLU(32),
                                  nn.Linear(32, EMB, bias=False))
        self.features = nn.BatchNorm1d(EMB, eps=1e-5, affine=False)

    def forward(self, x):
        return self.features(self.body(x))


class ArcMarginProduct(nn.Module):
    def __init__(self, in_features, out_features, s=16.0, m=0.30, easy_margin=False, k=1):
        super().__init__()
        self.out_features, self.k = out_features, k
        self.s, self.m, self.easy_margin = s, m, easy_margin
        self.weight = nn.Parameter(torch.empty(out_features * k, in_features))
        nn.init.xavier_uniform_(self.weight)
        self.cos_m, self.sin_m = math.cos(m), math.sin(m)
        self.th = math.cos(math.pi - m)
        self.mm = math.sin(math.pi - m) * m

    def forward(self, x, label):
        cosine = F.linear(F.normalize(x), F.normalize(self.weight))
        if self.k > 1:  # sub-center ArcFace: the closest of k centres per class
            cosine = torch.amax(cosine.view(-1, self.out_features, self.k), dim=2)
        sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
        phi = cosine * self.cos_m - sine * self.sin_m
        if self.easy_margin:
            phi = torch.where(cosine > 0, phi, cosine)
        else:
            phi = torch.where(cosine > self.th, phi, cosine - self.mm)
        one_hot = torch.zeros(cosine.size())
        one_hot.scatter_(1, label.view(-1, 1).long(), 1)
        output = (one_hot * phi) + ((1.0 - one_hot) * cosine)
        return output * self.s


class ArcFaceAcos(nn.Module):
    """insightface's formulation: add the margin to the angle itself."""

    def __init__(self, s=16.0, margin=0.3):
        super().__init__()
        self.s, self.margin = s, margin

    def forward(self, logits, labels):
        index = torch.where(labels != -1)[0]
        target_logit = logits[index, labels[index].view(-1)]
        with torch.no_grad():
            target_logit.arccos_()
            logits.arccos_()
            final_target_logit = target_logit + self.margin
            logits[index, labels[index].view(-1)] = final_target_logit
            logits.cos_()
        return logits * self.s


class AddMarginProduct(nn.Module):
    """CosFace: cos(theta) - m on the target class."""

    def __init__(self, in_features, out_features, s=16.0, m=0.35):
        super().__init__()
        self.s, self.m = s, m
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x, label):
        cosine = F.normalize(x) @ F.normalize(self.weight).t()
        one_hot = F.one_hot(label, num_classes=cosine.size(1)).to(cosine.dtype)
        return self.s * (cosine - one_hot * self.m)


def batch_hard_triplet_loss(embeddings, labels, margin=0.3):
    dist = torch.cdist(embeddings, embeddings, p=2)
    same = labels.unsqueeze(0).eq(labels.unsqueeze(1))
    pos_mask = same.clone()
    pos_mask.fill_diagonal_(False)
    hardest_pos = (dist * pos_mask.float()).amax(dim=1)
    hardest_neg = dist.masked_fill(same, float("inf")).amin(dim=1)
    return F.relu(hardest_pos - hardest_neg + margin).mean(), hardest_pos, hardest_neg


def batch_all_triplet_loss(embeddings, labels, margin=0.3):
    dist = torch.cdist(embeddings, embeddings)
    same = labels[None, :] == labels[:, None]
    eye = torch.eye(len(labels), dtype=torch.bool)
    valid = (same & ~eye).unsqueeze(2) & (~same).unsqueeze(1)
    losses = F.relu(dist.unsqueeze(2) - dist.unsqueeze(1) + margin) * valid
    positive = (losses > 1e-16).float()
    return losses.sum() / (positive.sum() + 1e-16), positive.sum() / valid.sum()


def multi_similarity_loss(embeddings, labels, alpha=2.0, beta=50.0, base=0.5):
    sim = F.normalize(embeddings) @ F.normalize(embeddings).T
    same = labels[None, :] == labels[:, None]
    eye = torch.eye(len(labels), dtype=torch.bool)
    pos = same & ~eye
    neg = ~same
    pos_term = torch.logsumexp(
        torch.where(pos, -alpha * (sim - base), torch.full_like(sim, -float("inf"))), dim=1)
    neg_term = torch.logsumexp(
        torch.where(neg, beta * (sim - base), torch.full_like(sim, -float("inf"))), dim=1)
    zero = torch.zeros(len(labels), 1)
    pos_loss = torch.logsumexp(torch.cat([zero, pos_term[:, None]], dim=1), dim=1) / alpha
    neg_loss = torch.logsumexp(torch.cat([zero, neg_term[:, None]], dim=1), dim=1) / beta
    return (pos_loss + neg_loss).mean()


class CenterLoss(nn.Module):
    def __init__(self, num_classes=NUM_CLASSES, feat_dim=EMB):
        super().__init__()
        self.num_classes = num_classes
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))

    def forward(self, x, labels):
        batch_size = x.size(0)
        distmat = torch.pow(x, 2).sum(dim=1, keepdim=True).expand(batch_size, self.num_classes) + \
            torch.pow(self.centers, 2).sum(dim=1, keepdim=True).expand(self.num_classes,
                                                                        batch_size).t()
        distmat.addmm_(1, -2, x, self.centers.t())
        classes = torch.arange(self.num_classes).long()
        labels = labels.unsqueeze(1).expand(batch_size, self.num_classes)
        mask = labels.eq(classes.expand(batch_size, self.num_classes))
        dist = distmat * mask.float()
        return dist.clamp(min=1e-12, max=1e+12).sum() / batch_size


def pk_batch(p=3, k=4):
    classes = torch.randperm(NUM_CLASSES)[:p]
    idx = []
    for c in classes.tolist():
        members = torch.nonzero(y_train == c, as_tuple=True)[0]
        idx.append(members[torch.randperm(len(members))[:k]])
    return torch.cat(idx)


@torch.no_grad()
def retrieval_metrics(net):
    net.eval()
    gallery = F.normalize(net(x_train), dim=1)
    queries = F.normalize(net(x_query), dim=1)
    sim = queries @ gallery.t()
    _, top = sim.topk(5, dim=1)
    hits = y_train[top] == y_query[:, None]
    r1 = hits[:, 0].float().mean().item()
    r5 = hits.any(dim=1).float().mean().item()
    order = sim.argsort(dim=1, descending=True)
    rel = (y_train[order] == y_query[:, None]).float()
    precision = rel.cumsum(dim=1) / torch.arange(1, rel.size(1) + 1)
    ap = (precision * rel).sum(1) / rel.sum(1)
    net.train()
    return r1, r5, ap.mean().item()


heads = {
    "arcface": lambda: ArcMarginProduct(EMB, NUM_CLASSES),
    "arcface_easy": lambda: ArcMarginProduct(EMB, NUM_CLASSES, easy_margin=True),
    "subcenter": lambda: ArcMarginProduct(EMB, NUM_CLASSES, k=3),
    "cosface": lambda: AddMarginProduct(EMB, NUM_CLASSES),
}
for name, make_head in heads.items():
    torch.manual_seed(1)
    net, head = EmbeddingNet(), make_head()
    optimizer = torch.optim.SGD([{"params": net.parameters()},
                                 {"params": head.parameters(), "weight_decay": 5e-4}],
                                lr=0.05, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(25):
        perm = torch.randperm(len(y_train))
        for i in range(0, len(perm), 40):
            b = perm[i:i + 40]
            loss = criterion(head(net(x_train[b]), y_train[b]), y_train[b])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    r1, r5, mAP = retrieval_metrics(net)
    print(f"{name:12s} loss {loss.item():.3f} R@1 {r1:.3f} R@5 {r5:.3f} mAP {mAP:.3f}")

# insightface-style margin on the angle, checked against the closed form
torch.manual_seed(2)
cos_logits = F.normalize(torch.randn(4, EMB)) @ F.normalize(torch.randn(NUM_CLASSES, EMB)).T
labels = torch.tensor([0, 3, -1, 5])
out = ArcFaceAcos()(cos_logits.clone(), labels)
print("acos margin logits", out[[0, 1, 3], [0, 3, 5]].numpy().round(3))
print("closed form       ", (16 * torch.cos(torch.acos(cos_logits[[0, 1, 3], [0, 3, 5]])
                                            + 0.3)).numpy().round(3))
print("ignored row kept  ", torch.allclose(out[2], 16 * cos_logits[2], atol=1e-5))

# triplet-based training with PK sampling
for loss_name in ["batch_hard", "batch_all", "triplet_swap", "cosine_triplet", "ms"]:
    torch.manual_seed(3)
    net = EmbeddingNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    triplet = nn.TripletMarginLoss(margin=0.5, p=2, swap=True)
    cos_triplet = nn.TripletMarginWithDistanceLoss(
        distance_function=lambda a, b: 1.0 - F.cosine_similarity(a, b), margin=0.2)
    for step in range(40):
        idx = pk_batch()
        emb, lab = net(x_train[idx]), y_train[idx]
        if loss_name == "batch_hard":
            loss, hp, hn = batch_hard_triplet_loss(emb, lab)
        elif loss_name == "batch_all":
            loss, frac = batch_all_triplet_loss(emb, lab)
        elif loss_name == "ms":
            loss = multi_similarity_loss(emb, lab)
        else:
            # hardest negative per anchor, random positive of the same class
            dist = torch.cdist(emb, emb).detach()
            same = lab[:, None] == lab[None, :]
            neg = dist.masked_fill(same, float("inf")).argmin(dim=1)
            pos = torch.roll(torch.arange(len(lab)).view(-1, 4), 1, dims=1).flatten()
            fn = triplet if loss_name == "triplet_swap" else cos_triplet
            loss = fn(emb, emb[pos], emb[neg])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    r1, r5, mAP = retrieval_metrics(net)
    extra = f" active {frac.item():.3f}" if loss_name == "batch_all" else ""
    print(f"{loss_name:14s} loss {loss.item():.3f} R@1 {r1:.3f} R@5 {r5:.3f} "
          f"mAP {mAP:.3f}{extra}")
# softmax + center loss, the centres on their own SGD with the loss weight undone in the grads
torch.manual_seed(4)
net, fc = EmbeddingNet(), nn.Linear(EMB, NUM_CLASSES)
center_loss, weight_cent = CenterLoss(), 0.01
opt_model = torch.optim.SGD(list(net.parameters()) + list(fc.parameters()), lr=0.05,
                            momentum=0.9, weight_decay=5e-4)
opt_cent = torch.optim.SGD(center_loss.parameters(), lr=0.5)
for epoch in range(15):
    perm = torch.randperm(len(y_train))
    for i in range(0, len(perm), 40):
        b = perm[i:i + 40]
        feats = net(x_train[b])
        loss_xent = F.cross_entropy(fc(feats), y_train[b])
        loss_cent = center_loss(feats, y_train[b]) * weight_cent
        opt_model.zero_grad()
        opt_cent.zero_grad()
        (loss_xent + loss_cent).backward()
        opt_model.step()
        for param in center_loss.parameters():
            param.grad.data *= (1. / weight_cent)
        opt_cent.step()
r1, r5, mAP = retrieval_metrics(net)
print(f"center_loss    xent {loss_xent.item():.3f} cent {loss_cent.item():.3f} R@1 {r1:.3f} "
      f"R@5 {r5:.3f} mAP {mAP:.3f}")
print("hardest pos/neg (last batch_hard batch)", hp[:4].detach().numpy().round(2),
      hn[:4].detach().numpy().round(2))
