"""Replay baselines for class-incremental learning, after the public mammoth / Avalanche style
implementations:

* a reservoir buffer ``nn.Module`` whose examples, labels, logits and task ids are registered
  buffers, written a batch at a time with ``index_copy_`` (the slot count is a non-persistent
  buffer, so it stays out of the ``state_dict``);
* DER++ (Buzzega et al.): MSE between current and stored logits plus cross-entropy on a second
  replay batch;
* ER-ACE (Caccia et al.): asymmetric cross-entropy, logits of classes absent from the incoming
  batch are masked with ``masked_fill(-inf)``;
* weight aligning (Zhao et al.): after each task the new classes' head rows are rescaled so their
  mean norm equals the old rows';
* GDumb (Prabhu et al.): a fresh model (``reset_parameters`` through ``Module.apply``) trained
  only on the buffer with a class-balanced ``WeightedRandomSampler``, ``LinearLR`` warm-up then
  ``CosineAnnealingLR`` in a ``SequentialLR`` and ``clip_grad_norm_``.

Prints losses, accuracy per task after each task, the buffer's class histogram, prediction
entropy (``torch.distributions.Categorical``) on old and new classes and the head's row norms.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

rng = np.random.default_rng(9)
dim, n_classes, classes_per_task, per_class = 10, 6, 2, 40
n_tasks = n_classes // classes_per_task
means = rng.normal(scale=1.3, size=(n_classes, dim)).astype(np.float32)


def draw(n_each):
    y = np.repeat(np.arange(n_classes), n_each)
    x = means[y] + rng.normal(size=(len(y), dim)).astype(np.float32)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y).long()


train_x, train_y = draw(per_class)
test_x, test_y = draw(15)
task_of = torch.arange(n_classes) // classes_per_task


class ReservoirBuffer(nn.Module):
    def __init__(self, capacity, generator):
        super().__init__()
        self.capacity, self.generator = capacity, generator
        self.register_buffer("examples", torch.zeros(capacity, dim))
        self.register_buffer("labels", torch.full((capacity,), -1, dtype=torch.long))
        self.register_buffer("logits", torch.zeros(capacity, n_classes))
        self.register_buffer("task_ids", torch.full((capacity,), -1, dtype=torch.long))
        self.register_buffer("seen", torch.tensor(0), persistent=False)

    def __len__(self):
        return min(int(self.seen), self.capacity)

    @torch.no_grad()
    def add(self, x, y, logits, task_id):
        slots = []
        for _ in range(len(x)):
            n = int(self.seen)
            if n < self.capacity:
                slots.append(n)
            else:
                j = int(torch.randint(0, n + 1, (1,), generator=self.generator))
                slots.append(j if j < self.capacity else -1)
            self.seen += 1
        slots = torch.tensor(slots)
        keep = slots >= 0
        idx = slots[keep]
        self.examples.index_copy_(0, idx, x[keep])
        self.labels.index_copy_(0, idx, y[keep])
        self.logits.index_copy_(0, idx, logits.detach()[keep])
        self.task_ids.index_copy_(0, idx, torch.full((int(keep.sum()),), task_id))

    def sample(self, k):
        idx = torch.randperm(len(self), generator=self.generator)[:k]
        return self.examples[idx], self.labels[idx], self.logits[idx]


def make_model():
    return nn.Sequential(nn.Linear(dim, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                         nn.Linear(32, n_classes))


@torch.no_grad()
def task_accuracies(model, upto, mask_unseen=True):
    model.eval()
    logits = model(test_x)
    if mask_unseen:
        unseen = torch.arange(n_classes) >= (upto + 1) * classes_per_task
        logits = logits.masked_fill(unseen, float("-inf"))
    pred = logits.argmax(1)
    model.train()
    tasks = task_of[test_y]
    return [(pred[tasks == t] == test_y[tasks == t]).float().mean().item()
            for t in range(upto + 1)], logits


def weight_align(head, n_old, n_new):
    with torch.no_grad():
        norms = head.weight[:n_old + n_new].norm(p=2, dim=1)
        gamma = norms[:n_old].mean() / norms[n_old:n_old + n_new].mean()
        head.weight[n_old:n_old + n_new] *= gamma
    return gamma.item()


def run(method, alpha=0.3, beta=0.5):
    torch.manual_seed(6)
    g = torch.Generator().manual_seed(21)
    model = make_model()
    buffer = ReservoirBuffer(30, g)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for t in range(n_tasks):
        in_task = task_of[train_y] == t
        loader = DataLoader(TensorDataset(train_x[in_task], train_y[in_task]), batch_size=10,
                            shuffle=True, generator=g)
        seen_classes = (t + 1) * classes_per_task
        for epoch in range(5):
            total = 0.0
            for xb, yb in loader:
                logits = model(xb)
                if method == "er_ace" and t > 0:
                    present = torch.zeros(n_classes, dtype=torch.bool)
                    present[yb.unique()] = True
                    loss = F.cross_entropy(logits.masked_fill(~present, float("-inf")), yb)
                else:
                    loss = F.cross_entropy(logits[:, :seen_classes], yb)
                if len(buffer) > 0 and method in ("derpp", "er_ace"):
                    bx, by, blogits = buffer.sample(10)
                    if method == "derpp":
                        loss = loss + alpha * F.mse_loss(model(bx), blogits)
                        bx2, by2, _ = buffer.sample(10)
                        loss = loss + beta * F.cross_entropy(model(bx2), by2)
                    else:
                        loss = loss + F.cross_entropy(model(bx)[:, :seen_classes], by)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if method != "finetune":
                    buffer.add(xb, yb, logits, t)
                total += loss.item()
        accs, _ = task_accuracies(model, t)
        print(f"{method:8s} task {t} loss {total / len(loader):.4f} acc "
              + " ".join(f"{a:.3f}" for a in accs) + f" mean {np.mean(accs):.3f}")
    return model, buffer


for method in ["finetune", "er_ace", "derpp"]:
    model, buffer = run(method)

labels, counts = buffer.labels.unique(return_counts=True)
print("buffer classes", labels.tolist(), "counts", counts.tolist(), "seen", int(buffer.seen),
      "| state_dict keys", sorted(buffer.state_dict().keys()))
print("buffer tasks", torch.bincount(buffer.task_ids, minlength=n_tasks).tolist())

_, logits = task_accuracies(model, n_tasks - 1)
probs_entropy = Categorical(logits=logits).entropy()
old = task_of[test_y] < n_tasks - 1
print(f"entropy old {probs_entropy[old].mean().item():.4f} "
      f"new {probs_entropy[~old].mean().item():.4f}")
norms = model[-1].weight.norm(dim=1)
print("head row norms before WA", " ".join(f"{v:.3f}" for v in norms.tolist()))
gamma = weight_align(model[-1], (n_tasks - 1) * classes_per_task, classes_per_task)
accs, _ = task_accuracies(model, n_tasks - 1)
print(f"WA gamma {gamma:.4f} acc " + " ".join(f"{a:.3f}" for a in accs)
      + f" mean {np.mean(accs):.3f}")
top2 = logits.topk(2, dim=1).indices
print("top-2 accuracy", f"{(top2 == test_y[:, None]).any(1).float().mean().item():.4f}")

# GDumb: retrain from scratch on the buffer alone, class-balanced
gdumb = make_model()
torch.manual_seed(13)
gdumb.apply(lambda m: m.reset_parameters() if isinstance(m, nn.Linear) else None)
class_counts = torch.bincount(buffer.labels, minlength=n_classes).float()
weights = 1.0 / class_counts[buffer.labels]
sampler = WeightedRandomSampler(weights, num_samples=60, replacement=True,
                                generator=torch.Generator().manual_seed(5))
loader = DataLoader(TensorDataset(buffer.examples, buffer.labels), batch_size=12,
                    sampler=sampler)
opt = torch.optim.SGD(gdumb.parameters(), lr=0.1, momentum=0.9)
sched = torch.optim.lr_scheduler.SequentialLR(
    opt, [torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=2),
          torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.001)],
    milestones=[2])
drawn = torch.zeros(n_classes, dtype=torch.long)
for epoch in range(10):
    total, norm_sum = 0.0, 0.0
    for xb, yb in loader:
        drawn += torch.bincount(yb, minlength=n_classes)
        loss = F.cross_entropy(gdumb(xb), yb)
        opt.zero_grad()
        loss.backward()
        norm_sum += nn.utils.clip_grad_norm_(gdumb.parameters(), max_norm=1.0).item()
        opt.step()
        total += loss.item()
    sched.step()
    if epoch % 3 == 0 or epoch == 9:
        print(f"gdumb epoch {epoch} loss {total / len(loader):.4f} "
              f"grad norm {norm_sum / len(loader):.4f} lr {sched.get_last_lr()[0]:.5f}")
accs, _ = task_accuracies(gdumb, n_tasks - 1)
print("gdumb acc " + " ".join(f"{a:.3f}" for a in accs) + f" mean {np.mean(accs):.3f}",
      "| drawn per class", drawn.tolist())
