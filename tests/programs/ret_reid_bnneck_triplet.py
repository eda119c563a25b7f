"""Person re-identification the way michuanhaohao/reid-strong-baseline writes it: a
RandomIdentitySampler (P identities x K instances, a torch.utils.data.Sampler subclass fed to
DataLoader), a BNNeck head (BatchNorm1d with its bias frozen by requires_grad_(False)),
CrossEntropyLabelSmooth built with scatter_ on a one-hot, the batch-hard TripletLoss with the
euclidean_dist helper (addmm_ with beta/alpha keywords, clamp(min=1e-12).sqrt()), positive
and negative masks from expand/eq/ne and the hardest pairs through boolean indexing, view and
max/min with keepdim, nn.MarginRankingLoss (or nn.SoftMarginLoss without a margin),
a WarmupMultiStepLR subclassing torch.optim.lr_scheduler._LRScheduler, and the
market1501 evaluation: query/gallery with camera ids, same-camera same-id gallery entries
removed, CMC curve and mAP from argsort rankings."""

import copy
from bisect import bisect_right
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

torch.manual_seed(2)
rng = np.random.default_rng(8)
NUM_IDS, PER_ID, FEAT = 10, 6, 24
prototypes = rng.normal(size=(NUM_IDS, FEAT)).astype(np.float32)
cam_shift = rng.normal(scale=0.6, size=(3, FEAT)).astype(np.float32)


class ToyReID(Dataset):
    def __init__(self, ids, per_id):
        self.items = []
        for pid in ids:
            for k in range(per_id):
                camid = k % 3
                x = (
                    prototypes[pid]
                    + cam_shift[camid]
                    + rng.normal(scale=0.9, size=FEAT).astype(np.float32)
                )
                self.items.append((x, pid, camid))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        x, pid, camid = self.items[i]
        return torch.from_numpy(x), pid, camid


class RandomIdentitySampler(Sampler):
    def __init__(self, data_source, batch_size, num_instances):
        self.data_source = data_source
        self.batch_size = batch_size
        self.num_instances = num_instances
        self.num_pids_per_batch = self.batch_size // self.num_instances
        self.index_dic = defaultdict(list)
        for index, (_, pid, _) in enumerate(self.data_source.items):
            self.index_dic[pid].append(index)
        self.pids = list(self.index_dic.keys())
        self.length = 0
        for pid in self.pids:
            num = len(self.index_dic[pid])
            if num < self.num_instances:
                num = self.num_instances
            self.length += num - num % self.num_instances

    def __iter__(self):
        batch_idxs_dict = defaultdict(list)
        for pid in self.pids:
            idxs = copy.deepcopy(self.index_dic[pid])
            rng.shuffle(idxs)
            batch_idxs = []
            for idx in idxs:
                batch_idxs.append(idx)
                if len(batch_idxs) == self.num_instances:
                    batch_idxs_dict[pid].append(batch_idxs)
                    batch_idxs = []
        avai_pids = copy.deepcopy(self.pids)
        final_idxs = []
        while len(avai_pids) >= self.num_pids_per_batch:
            selected_pids = rng.choice(avai_pids, self.num_pids_per_batch, replace=False).tolist()
            for pid in selected_pids:
                batch_idxs = batch_idxs_dict[pid].pop(0)
                final_idxs.extend(batch_idxs)
                if len(batch_idxs_dict[pid]) == 0:
                    avai_pids.remove(pid)
        self.length = len(final_idxs)
        return iter(final_idxs)

    def __len__(self):
        return self.length


def euclidean_dist(x, y):
    m, n = x.size(0), y.size(0)
    xx = torch.pow(x, 2).sum(1, keepdim=True).expand(m, n)
    yy = torch.pow(y, 2).sum(1, keepdim=True).expand(n, m).t()
    dist = xx + yy
    dist.addmm_(x, y.t(), beta=1, alpha=-2)
    return dist.clamp(min=1e-12).sqrt()


def hard_example_mining(dist_mat, labels):
    assert len(dist_mat.size()) == 2
    assert dist_mat.size(0) == dist_mat.size(1)
    N = dist_mat.size(0)
    is_pos = labels.expand(N, N).eq(labels.expand(N, N).t())
    is_neg = labels.expand(N, N).ne(labels.expand(N, N).t())
    dist_ap, relative_p_inds = torch.max(dist_mat[is_pos].contiguous().view(N, -1), 1, keepdim=True)
    dist_an, relative_n_inds = torch.min(dist_mat[is_neg].contiguous().view(N, -1), 1, keepdim=True)
    return dist_ap.squeeze(1), dist_an.squeeze(1)


class TripletLoss(object):
    def __init__(self, margin=None):
        self.margin = margin
        if margin is not None:
            self.ranking_loss = nn.MarginRankingLoss(margin=margin)
        else:
            self.ranking_loss = nn.SoftMarginLoss()

    def __call__(self, global_feat, labels, normalize_feature=False):
        if normalize_feature:
            global_feat = F.normalize(global_feat, dim=-1)
        dist_mat = euclidean_dist(global_feat, global_feat)
        dist_ap, dist_an = hard_example_mining(dist_mat, labels)
        y = dist_an.new().resize_as_(dist_an).fill_(1)
        if self.margin is not None:
            loss = self.ranking_loss(dist_an, dist_ap, y)
        else:
            loss = self.ranking_loss(dist_an - dist_ap, y)
        return loss, dist_ap, dist_an


class CrossEntropyLabelSmooth(nn.Module):
    def __init__(self, num_classes, epsilon=0.1):
        super().__init__()
        self.num_classes = num_classes
        self.epsilon = epsilon
        self.logsoftmax = nn.LogSoftmax(dim=1)

    def forward(self, inputs, targets):
        log_probs = self.logsoftmax(inputs)
        targets = torch.zeros(log_probs.size()).scatter_(1, targets.unsqueeze(1).data, 1)
        targets = (1 - self.epsilon) * targets + self.epsilon / self.num_classes
        return (-targets * log_probs).mean(0).sum()


class Baseline(nn.Module):
    def __init__(self, num_classes, in_planes=32):
        super().__init__()
        self.base = nn.Sequential(
            nn.Linear(FEAT, 48, bias=False), nn.BatchNorm1d(48), nn.ReLU(), nn.Linear(48, in_planes)
        )
        self.bottleneck = nn.BatchNorm1d(in_planes)
        self.bottleneck.bias.requires_grad_(False)  # no shift
        self.classifier = nn.Linear(in_planes, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)
        nn.init.constant_(self.bottleneck.weight, 1)
        nn.init.constant_(self.bottleneck.bias, 0)

    def forward(self, x):
        global_feat = self.base(x)
        feat = self.bottleneck(global_feat)
        if self.training:
            return self.classifier(feat), global_feat
        return feat


class WarmupMultiStepLR(torch.optim.lr_scheduler._LRScheduler):
    def __init__(
        self,
        optimizer,
        milestones,
        gamma=0.1,
        warmup_factor=1.0 / 3,
        warmup_iters=500,
        warmup_method="linear",
        last_epoch=-1,
    ):
        if not list(milestones) == sorted(milestones):
            raise ValueError(
                "Milestones should be a list of increasing integers. Got {}", milestones
            )
        self.milestones = milestones
        self.gamma = gamma
        self.warmup_factor = warmup_factor
        self.warmup_iters = warmup_iters
        self.warmup_method = warmup_method
        super(WarmupMultiStepLR, self).__init__(optimizer, last_epoch)

    def get_lr(self):
        warmup_factor = 1
        if self.last_epoch < self.warmup_iters:
            if self.warmup_method == "constant":
                warmup_factor = self.warmup_factor
            elif self.warmup_method == "linear":
                alpha = self.last_epoch / self.warmup_iters
                warmup_factor = self.warmup_factor * (1 - alpha) + alpha
        return [
            base_lr * warmup_factor * self.gamma ** bisect_right(self.milestones, self.last_epoch)
            for base_lr in self.base_lrs
        ]


train_set = ToyReID(range(6), PER_ID)
sampler = RandomIdentitySampler(train_set, batch_size=12, num_instances=3)
loader = DataLoader(train_set, batch_size=12, sampler=sampler, num_workers=0)
model = Baseline(num_classes=6)
xent = CrossEntropyLabelSmooth(num_classes=6)
triplet = TripletLoss(margin=0.3)
soft_triplet = TripletLoss()
params = [
    {"params": [p], "lr": 3.5e-3, "weight_decay": 5e-4}
    for p in model.parameters()
    if p.requires_grad
]
optimizer = torch.optim.Adam(params)
scheduler = WarmupMultiStepLR(optimizer, [12, 20], 0.1, 0.01, 5, "linear")
print('trainable', len(params), 'of', len(list(model.parameters())), 'batches', len(loader))
for epoch in range(24):
    model.train()
    for img, pid, camid in loader:
        score, feat = model(img)
        t_loss, dist_ap, dist_an = triplet(feat, pid)
        loss = xent(score, pid) + t_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    if epoch % 6 == 0 or epoch == 23:
        acc = (score.max(1)[1] == pid).float().mean()
        s_loss = soft_triplet(feat, pid, normalize_feature=True)[0]
        print(
            f'epoch {epoch:2d} loss {loss.item():.3f} acc {acc.item():.3f} '
            f'ap {dist_ap.mean().item():.3f} an {dist_an.mean().item():.3f} '
            f'soft {s_loss.item():.3f} lr {scheduler.get_last_lr()[0]:.2e}'
        )
print(
    'bnneck bias still zero:', bool((model.bottleneck.bias == 0).all()), model.bottleneck.bias.grad
)


def eval_func(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=5):
    num_q, num_g = distmat.shape
    indices = torch.argsort(distmat, dim=1, stable=True)
    matches = (g_pids[indices] == q_pids[:, None]).int()
    all_cmc, all_AP = [], []
    for q_idx in range(num_q):
        order = indices[q_idx]
        remove = (g_pids[order] == q_pids[q_idx]) & (g_camids[order] == q_camids[q_idx])
        keep = ~remove
        orig_cmc = matches[q_idx][keep]
        if not torch.any(orig_cmc):
            continue
        cmc = orig_cmc.cumsum(0)
        cmc[cmc > 1] = 1
        all_cmc.append(cmc[:max_rank])
        num_rel = orig_cmc.sum()
        tmp_cmc = orig_cmc.cumsum(0).float() / torch.arange(1, orig_cmc.numel() + 1)
        tmp_cmc = tmp_cmc * orig_cmc
        all_AP.append(tmp_cmc.sum() / num_rel)
    all_cmc = torch.stack(all_cmc).float().sum(0) / len(all_cmc)
    return all_cmc, torch.stack(all_AP).mean()


test_set = ToyReID(range(6, 10), PER_ID)
feats = torch.stack([test_set[i][0] for i in range(len(test_set))])
pids = torch.tensor([it[1] for it in test_set.items])
camids = torch.tensor([it[2] for it in test_set.items])
is_query = (torch.arange(len(test_set)) % PER_ID) < 2
model.eval()
with torch.no_grad():
    for name, norm in (('raw', False), ('bnneck+norm', True)):
        f = model(feats)
        if norm:
            f = F.normalize(f, dim=1, p=2)
        qf, gf = f[is_query], f[~is_query]
        distmat = torch.cdist(qf, gf).pow(2)
        cmc, mAP = eval_func(
            distmat, pids[is_query], pids[~is_query], camids[is_query], camids[~is_query]
        )
        print(f'{name:12s} mAP {mAP.item():.4f} CMC', cmc.numpy().round(4).tolist())
