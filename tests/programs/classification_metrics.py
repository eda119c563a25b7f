"""Evaluation metrics written with tensor ops, as in the classifier tutorials and
pytorch/examples' ImageNet `accuracy(output, target, topk=(1, 5))`: top-k accuracy, a
confusion matrix via bincount and via index_put_(accumulate=True), per-class precision,
recall and F1, class histograms with unique(return_counts=True), ROC-AUC from sorted scores,
calibration bins with bucketize, and a running AverageMeter over a DataLoader."""
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
num_classes, n = 5, 60
targets = torch.from_numpy(rng.integers(0, num_classes, n).astype(np.int64))
logits_np = rng.normal(size=(n, num_classes)).astype(np.float32)
logits_np[np.arange(n), targets.numpy()] += 1.2  # a somewhat accurate classifier
logits = torch.from_numpy(logits_np)


def accuracy(output, target, topk=(1,)):
    """pytorch/examples imagenet: the precision@k for the specified values of k."""
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


top1, top3 = accuracy(logits, targets, topk=(1, 3))
print(f"top1 {top1.item():.3f} top3 {top3.item():.3f}", top1.shape, top1.dtype)
values, indices = logits.topk(2, dim=1, largest=False, sorted=True)
print(indices[:3].tolist(), f"{values[:3].sum().item():.4f}")
pred = logits.argmax(dim=1)
print(pred[:10].tolist(), (pred == targets).sum().item(), pred.dtype)

# class frequencies
counts = torch.bincount(targets, minlength=num_classes)
print(counts.tolist(), counts.dtype, torch.bincount(targets, minlength=2).shape)
weighted = torch.bincount(targets, weights=torch.linspace(0, 1, n))
print(weighted.dtype, [f"{v:.3f}" for v in weighted.tolist()])
print(torch.bincount(torch.tensor([], dtype=torch.long), minlength=3).tolist())
uniq, inverse, cnt = torch.unique(pred, sorted=True, return_inverse=True, return_counts=True)
print(uniq.tolist(), cnt.tolist(), inverse[:8].tolist(), torch.equal(uniq[inverse], pred))
pairs = torch.stack([targets, pred], dim=1)
rows, row_counts = torch.unique(pairs, dim=0, return_counts=True)
print(rows.shape, rows[:4].tolist(), row_counts[:4].tolist())
cons, cons_counts = torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 2, 3, 1, 1]),
                                             return_counts=True)
print(cons.tolist(), cons_counts.tolist())
print(torch.histc(logits.max(dim=1).values, bins=4, min=0, max=4).tolist())

# confusion matrix three ways
cm1 = torch.bincount(targets * num_classes + pred, minlength=num_classes ** 2)
cm1 = cm1.reshape(num_classes, num_classes)
cm2 = torch.zeros(num_classes, num_classes, dtype=torch.long)
cm2.index_put_((targets, pred), torch.ones(n, dtype=torch.long), accumulate=True)
cm3 = torch.zeros(num_classes * num_classes).scatter_add_(
    0, targets * num_classes + pred, torch.ones(n)).view(num_classes, num_classes)
print(cm1)
print(torch.equal(cm1, cm2), torch.equal(cm1.float(), cm3), cm2.sum().item(), cm3.dtype)
cm4 = torch.zeros(num_classes, num_classes)
cm4[targets, pred] += 1  # not accumulated: repeated index pairs count once
print(int(cm4.sum().item()), int((cm1 > 0).sum().item()))
cm5 = torch.zeros(num_classes, num_classes).index_put((targets, pred), torch.tensor(1.0),
                                                      accumulate=True)
print(torch.equal(cm5, cm3))

# per-class precision / recall / F1, with classes that are never predicted
tp = cm1.diag().float()
precision = tp / cm1.sum(dim=0).clamp(min=1)
recall = tp / cm1.sum(dim=1).clamp(min=1)
f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall),
                 torch.zeros_like(precision))
print([f"{v:.4f}" for v in precision.tolist()])
print([f"{v:.4f}" for v in recall.tolist()])
print([f"{v:.4f}" for v in f1.tolist()], f"macro {f1.mean().item():.4f}")
support = cm1.sum(dim=1).float()
print(f"weighted {(f1 * support).sum().div(support.sum()).item():.4f}",
      f"micro {tp.sum().item() / cm1.sum().item():.4f}")
nan_ratio = torch.tensor([1.0, 0.0]) / torch.tensor([0.0, 0.0])
print(nan_ratio.tolist(), torch.nan_to_num(nan_ratio, nan=0.0, posinf=1.0).tolist(),
      torch.nanmean(torch.tensor([1.0, float("nan"), 3.0])).item())

# binary ROC-AUC from scores (positive class 0 vs rest), trapezoid rule
probs = F.softmax(logits, dim=1)
scores, labels = probs[:, 0], (targets == 0).long()
order = torch.argsort(scores, descending=True, stable=True)
sorted_labels = labels[order]
tps = torch.cumsum(sorted_labels, dim=0).float()
fps = torch.cumsum(1 - sorted_labels, dim=0).float()
tpr = torch.cat([torch.zeros(1), tps / tps[-1]])
fpr = torch.cat([torch.zeros(1), fps / fps[-1]])
print(f"auc {torch.trapezoid(tpr, fpr).item():.4f} {torch.trapz(tpr, fpr).item():.4f}")
ranks = torch.empty(n)
ranks[torch.argsort(scores)] = torch.arange(1, n + 1, dtype=torch.float32)
npos = labels.sum()
u_auc = (ranks[labels.bool()].sum() - npos * (npos + 1) / 2) / (npos * (n - npos))
print(f"rank auc {u_auc.item():.4f}", npos.item(), u_auc.dtype)
sorted_scores, sort_idx = torch.sort(scores, descending=True)
print(torch.equal(scores[sort_idx], sorted_scores), f"{sorted_scores[:3].sum().item():.4f}")
print(f"{torch.kthvalue(scores, 30).values.item():.4f}", f"{scores.median().item():.4f}",
      torch.mode(pred).values.item())

# calibration: confidence bins with bucketize, accuracy and confidence per bin
conf, hit = probs.max(dim=1).values, (pred == targets).float()
edges = torch.linspace(0, 1, 6)
bin_ids = torch.bucketize(conf, edges[1:-1], right=False)
print(bin_ids[:10].tolist(), torch.searchsorted(edges, torch.tensor([0.1, 0.5, 0.95])).tolist())
bin_count = torch.zeros(5).index_add_(0, bin_ids, torch.ones(n))
bin_conf = torch.zeros(5).index_add_(0, bin_ids, conf)
bin_acc = torch.zeros(5).scatter_reduce(0, bin_ids, hit, reduce="sum")
mask = bin_count > 0
ece = ((bin_acc[mask] - bin_conf[mask]).abs()).sum() / n
print(bin_count.tolist(), f"ece {ece.item():.4f}")
bin_max = torch.zeros(5).scatter_reduce(0, bin_ids, conf, reduce="amax", include_self=False)
print([f"{v:.4f}" for v in bin_max.tolist()])

# multi-label metrics with a threshold
ml_targets = torch.from_numpy(rng.random((n, 3)) < 0.4)
ml_probs = torch.sigmoid(torch.from_numpy(rng.normal(size=(n, 3)).astype(np.float32)) +
                         ml_targets.float())
ml_pred = ml_probs > 0.5
inter = (ml_pred & ml_targets).sum(dim=0)
union = (ml_pred | ml_targets).sum(dim=0)
print(inter.tolist(), union.tolist(), inter.dtype, (inter.float() / union).tolist() == (
    inter / union).tolist())
print(f"exact match {(ml_pred == ml_targets).all(dim=1).float().mean().item():.4f}",
      f"hamming {(ml_pred ^ ml_targets).float().mean().item():.4f}")
print(F.binary_cross_entropy(ml_probs, ml_targets.float()).item() > 0,
      torch.count_nonzero(ml_pred, dim=0).tolist(), torch.any(ml_pred, dim=1).sum().item())


class AverageMeter:
    """Computes and stores the average and current value (pytorch/examples)."""

    def __init__(self, name, fmt=":f"):
        self.name, self.fmt = name, fmt
        self.reset()

    def reset(self):
        self.val = self.avg = self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        fmtstr = "{name} {val" + self.fmt + "} ({avg" + self.fmt + "})"
        return fmtstr.format(**self.__dict__)


loader = DataLoader(TensorDataset(logits, targets), batch_size=16)
losses, acc1, acc3 = AverageMeter("Loss", ":.4e"), AverageMeter("Acc@1", ":6.2f"), \
    AverageMeter("Acc@3", ":6.2f")
running_cm = torch.zeros(num_classes, num_classes, dtype=torch.int64)
for out, tgt in loader:
    loss = F.cross_entropy(out, tgt)
    a1, a3 = accuracy(out, tgt, topk=(1, 3))
    losses.update(loss.item(), out.size(0))
    acc1.update(a1[0], out.size(0))
    acc3.update(a3[0], out.size(0))
    running_cm.index_put_((tgt, out.argmax(1)), torch.ones_like(tgt), accumulate=True)
    print(losses, acc1, acc3)
print(f"{acc1.avg.item():.4f}", type(acc1.avg).__name__, torch.equal(running_cm, cm1))
per_sample = F.cross_entropy(logits, targets, reduction="none")
hardest = per_sample.topk(3).indices
print(hardest.tolist(), f"{per_sample.mean().item():.4f}",
      f"{F.nll_loss(F.log_softmax(logits, 1), targets).item():.4f}")
