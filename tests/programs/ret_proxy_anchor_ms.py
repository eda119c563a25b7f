"""Deep metric learning with the losses' official code (tjddus9597/Proxy-Anchor-CVPR2020 and
MalongTech/research-ms-loss), on toy clustered embeddings: Proxy-Anchor (kaiming_normal_ proxies
with mode='fan_out', the hand-written l2_norm with add_(1e-12), F.linear between normalised
embeddings and proxies, torch.where sums over positive and negative masks, proxies with
positives found by nonzero().squeeze), the Multi-Similarity loss with its per-anchor pair
mining (boolean indexing, Python's min/max over tensors), training with AdamW where the
proxies get lr x 100 in their own param group, a warm-up epoch with the backbone frozen
through requires_grad, clip_grad_value_, and StepLR. Evaluation as those repositories do it:
Recall@K from F.linear(X, X).topk(1 + K) dropping the query itself and ``t in y[:k]`` on
tensors, then NMI from a k-means (torch.cdist, argmin, index_add_, bincount) and a
contingency table built with bincount."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(42)
N_CLASSES, PER_CLASS, IN_DIM, EMB = 8, 10, 20, 12
centres = torch.randn(N_CLASSES, IN_DIM) * 0.45
X_all = centres.repeat_interleave(PER_CLASS, 0) + torch.randn(N_CLASSES * PER_CLASS, IN_DIM)
T_all = torch.arange(N_CLASSES).repeat_interleave(PER_CLASS)
train_cls = T_all < 5  # classes 0-4 train, 5-7 are unseen at test time (zero-shot retrieval)
X_tr, T_tr, X_te, T_te = X_all[train_cls], T_all[train_cls], X_all[~train_cls], T_all[~train_cls]
print('train', tuple(X_tr.shape), 'test', tuple(X_te.shape), 'test classes', T_te.unique().tolist())


def l2_norm(input):
    input_size = input.size()
    buffer = torch.pow(input, 2)
    normp = torch.sum(buffer, 1).add_(1e-12)
    norm = torch.sqrt(normp)
    _output = torch.div(input, norm.view(-1, 1).expand_as(input))
    output = _output.view(input_size)
    return output


def binarize(T, nb_classes):
    return F.one_hot(T, nb_classes).float()


class Proxy_Anchor(torch.nn.Module):
    def __init__(self, nb_classes, sz_embed, mrg=0.1, alpha=32):
        torch.nn.Module.__init__(self)
        self.proxies = torch.nn.Parameter(torch.randn(nb_classes, sz_embed))
        nn.init.kaiming_normal_(self.proxies, mode='fan_out')
        self.nb_classes = nb_classes
        self.sz_embed = sz_embed
        self.mrg = mrg
        self.alpha = alpha

    def forward(self, X, T):
        P = self.proxies
        cos = F.linear(l2_norm(X), l2_norm(P))
        P_one_hot = binarize(T=T, nb_classes=self.nb_classes)
        N_one_hot = 1 - P_one_hot
        pos_exp = torch.exp(-self.alpha * (cos - self.mrg))
        neg_exp = torch.exp(self.alpha * (cos + self.mrg))
        with_pos_proxies = torch.nonzero(P_one_hot.sum(dim=0) != 0).squeeze(dim=1)
        num_valid_proxies = len(with_pos_proxies)
        P_sim_sum = torch.where(P_one_hot == 1, pos_exp, torch.zeros_like(pos_exp)).sum(dim=0)
        N_sim_sum = torch.where(N_one_hot == 1, neg_exp, torch.zeros_like(neg_exp)).sum(dim=0)
        pos_term = torch.log(1 + P_sim_sum).sum() / num_valid_proxies
        neg_term = torch.log(1 + N_sim_sum).sum() / self.nb_classes
        return pos_term + neg_term


class MultiSimilarityLoss(nn.Module):
    def __init__(self, thresh=0.5, margin=0.1, scale_pos=2.0, scale_neg=40.0):
        super().__init__()
        self.thresh = thresh
        self.margin = margin
        self.scale_pos = scale_pos
        self.scale_neg = scale_neg

    def forward(self, feats, labels):
        assert feats.size(0) == labels.size(0), (
            f"feats.size(0): {feats.size(0)} is not equal to labels.size(0): {labels.size(0)}"
        )
        batch_size = feats.size(0)
        sim_mat = torch.matmul(feats, torch.t(feats))
        epsilon = 1e-5
        loss = list()
        for i in range(batch_size):
            pos_pair_ = sim_mat[i][labels == labels[i]]
            pos_pair_ = pos_pair_[pos_pair_ < 1 - epsilon]
            neg_pair_ = sim_mat[i][labels != labels[i]]
            neg_pair = neg_pair_[neg_pair_ + self.margin > min(pos_pair_)]
            pos_pair = pos_pair_[pos_pair_ - self.margin < max(neg_pair_)]
            if len(neg_pair) < 1 or len(pos_pair) < 1:
                continue
            pos_loss = (
                1.0
                / self.scale_pos
                * torch.log(1 + torch.sum(torch.exp(-self.scale_pos * (pos_pair - self.thresh))))
            )
            neg_loss = (
                1.0
                / self.scale_neg
                * torch.log(1 + torch.sum(torch.exp(self.scale_neg * (neg_pair - self.thresh))))
            )
            loss.append(pos_loss + neg_loss)
        if len(loss) == 0:
            return torch.zeros([], requires_grad=True)
        return sum(loss) / batch_size


class Embedder(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(IN_DIM, 32), nn.LayerNorm(32), nn.GELU())
        self.embedding = nn.Linear(32, EMB)
        nn.init.orthogonal_(self.embedding.weight)
        nn.init.constant_(self.embedding.bias, 0)

    def forward(self, x):
        return self.embedding(self.model(x))


def calc_recall_at_k(T, Y, k):
    s = 0
    for t, y in zip(T, Y):
        if t in torch.Tensor(y).long()[:k]:
            s += 1
    return s / (1.0 * len(T))


@torch.no_grad()
def evaluate(model, X, T, ks=(1, 2, 4, 8)):
    model.eval()
    X = l2_norm(model(X))
    K = 32 if len(X) > 32 else len(X) - 1
    cos_sim = F.linear(X, X)
    Y = T[cos_sim.topk(1 + K)[1][:, 1:]]
    Y = Y.float().cpu()
    recall = []
    for k in ks:
        r_at_k = calc_recall_at_k(T, Y, k)
        recall.append(r_at_k)
    model.train()
    return recall, X


def run(name, criterion, epochs=12, warm=1):
    torch.manual_seed(0)
    model = Embedder()
    param_groups = [
        {'params': model.model.parameters()},
        {'params': model.embedding.parameters(), 'lr': 1e-3 * 1},
    ]
    if name == 'proxy_anchor':
        param_groups.append({'params': criterion.proxies, 'lr': 1e-3 * 100})
    opt = torch.optim.AdamW(param_groups, lr=1e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    for epoch in range(epochs):
        model.train()
        if warm > 0:
            unfreeze_model_param = list(model.embedding.parameters()) + list(criterion.parameters())
            if epoch == 0:
                for param in list(set(model.parameters()).difference(set(unfreeze_model_param))):
                    param.requires_grad = False
            if epoch == warm:
                for param in list(set(model.parameters()).difference(set(unfreeze_model_param))):
                    param.requires_grad = True
        losses_per_epoch = []
        perm = torch.randperm(len(X_tr))
        for idx in perm.split(25):
            m = model(X_tr[idx])
            if name == 'multi_similarity':
                m = F.normalize(m, p=2, dim=1)
            loss = criterion(m, T_tr[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), 10)
            if name == 'proxy_anchor':
                torch.nn.utils.clip_grad_value_(criterion.parameters(), 10)
            losses_per_epoch.append(loss.data.cpu().numpy())
            opt.step()
        scheduler.step()
        if epoch % 4 == 0 or epoch == epochs - 1:
            frozen = sum(not p.requires_grad for p in model.parameters())
            print(
                f'{name} epoch {epoch:2d} loss {sum(losses_per_epoch) / len(losses_per_epoch):.4f} '
                f'frozen {frozen} lrs {[round(g["lr"], 5) for g in opt.param_groups]}'
            )
    recall, emb = evaluate(model, X_te, T_te)
    print(f'{name} R@1,2,4,8', [round(r, 4) for r in recall])
    return emb


def kmeans(X, k, iters=10):
    centroids = X[torch.linspace(0, len(X) - 1, k).long()].clone()
    for _ in range(iters):
        assign = torch.cdist(X, centroids).argmin(dim=1)
        sums = torch.zeros_like(centroids).index_add_(0, assign, X)
        counts = torch.bincount(assign, minlength=k).clamp(min=1).unsqueeze(1)
        centroids = sums / counts
    return assign


def nmi(labels, clusters):
    labels = labels - labels.min()
    n_l, n_c = int(labels.max()) + 1, int(clusters.max()) + 1
    joint = torch.bincount(labels * n_c + clusters, minlength=n_l * n_c).view(n_l, n_c).double()
    p = joint / joint.sum()
    pl, pc = p.sum(1, keepdim=True), p.sum(0, keepdim=True)
    nz = p > 0
    mi = (p[nz] * torch.log(p[nz] / (pl @ pc)[nz])).sum()
    h = lambda q: -(q[q > 0] * q[q > 0].log()).sum()
    return (2 * mi / (h(pl) + h(pc))).item()


proxy_anchor = Proxy_Anchor(nb_classes=5, sz_embed=EMB, mrg=0.1, alpha=32)
print(
    'proxy norm mean',
    round(proxy_anchor.proxies.norm(dim=1).mean().item(), 4),
    'std',
    round(math.sqrt(2.0 / 5), 4),
)
for name, crit in (('proxy_anchor', proxy_anchor), ('multi_similarity', MultiSimilarityLoss())):
    emb = run(name, crit)
    print(f'{name} NMI {nmi(T_te, kmeans(emb, 3)):.4f}')
try:
    MultiSimilarityLoss()(torch.randn(4, 3), torch.arange(3))
except AssertionError as e:
    print('AssertionError:', e)
