"""Knowledge distillation and compression of the student, as Hinton's KD recipe, the PyTorch
"Knowledge Distillation" tutorial and the pruning/dynamic-quantization tutorials write it: a
teacher MLP is trained, a smaller student learns from ``F.kl_div(F.log_softmax(s/T),
F.softmax(t/T), reduction='batchmean') * T*T`` (and the ``log_target=True`` form) mixed with the
hard-label loss, a FitNets-style feature loss taken from ``register_forward_hook`` outputs
through a learned ``nn.Linear`` regressor, then the student is pruned
(``prune.global_unstructured`` with ``L1Unstructured``, ``prune.ln_structured``,
``prune.remove``) and dynamically quantized (``torch.ao.quantization.quantize_dynamic``).
Prints parameter counts, sparsity, ``state_dict`` byte sizes via ``torch.save`` to a
``BytesIO``, the ``QConfig``-free module repr, and accuracies along the way."""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune

rng = np.random.default_rng(0)
torch.manual_seed(0)
n, dim, n_cls = 600, 10, 5
centers = rng.normal(0, 1.0, size=(n_cls, dim))
y_np = rng.integers(0, n_cls, size=n)
x_np = centers[y_np] + rng.normal(0, 0.9, size=(n, dim))
X = torch.tensor(x_np, dtype=torch.float32)
Y = torch.from_numpy(y_np)
Xtr, Ytr, Xte, Yte = X[:480], Y[:480], X[480:], Y[480:]


def mlp(width, depth):
    layers, d = [], dim
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, n_cls))


def count(model, trainable=False):
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


def state_bytes(model):
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def accuracy(model, x=Xte, y=Yte):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def train(model, loss_fn, epochs=8, lr=3e-3, extra=()):
    opt = torch.optim.Adam(list(model.parameters()) + list(extra), lr=lr)
    g = torch.Generator().manual_seed(1)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(Xtr), generator=g)
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = loss_fn(model, Xtr[idx], Ytr[idx])
            loss.backward()
            opt.step()
    return loss.item()


teacher = mlp(64, 3)
train(teacher, lambda m, x, y: F.cross_entropy(m(x), y), epochs=10)
teacher.eval()
for p in teacher.parameters():
    p.requires_grad_(False)
print("teacher params", count(teacher), "trainable", count(teacher, True),
      "acc", round(accuracy(teacher), 3))

T, alpha = 4.0, 0.7
kl = nn.KLDivLoss(reduction="batchmean", log_target=True)


def kd_loss(student, x, y):
    s = student(x)
    with torch.no_grad():
        t = teacher(x)
    soft = F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1),
                    reduction="batchmean") * T * T
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


torch.manual_seed(1)
scratch = mlp(16, 1)
torch.manual_seed(1)
student = mlp(16, 1)
print("student params", count(student), f"compression {count(teacher) / count(student):.2f}x")
train(scratch, lambda m, x, y: F.cross_entropy(m(x), y))
last = train(student, kd_loss)
print("scratch acc", round(accuracy(scratch), 3), "kd acc", round(accuracy(student), 3),
      "last kd loss", round(last, 4))
s, t = student(Xte[:4]), teacher(Xte[:4])
a = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean")
b = kl(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1))
print("kl forms agree", torch.allclose(a, b), round(a.item(), 5),
      "none shape", tuple(F.kl_div(s.log_softmax(1), t.softmax(1), reduction="none").shape))

# FitNets: match a hidden feature of the teacher through a regressor
feats = {}


def save(name):
    def hook(module, inputs, output):
        feats[name] = output
    return hook


torch.manual_seed(2)
hinted = mlp(16, 1)
handles = [teacher[3].register_forward_hook(save("teacher")),
           hinted[1].register_forward_hook(save("student"))]
regressor = nn.Linear(16, 64)


def hint_loss(student, x, y):
    base = kd_loss(student, x, y)
    return base + 0.1 * F.mse_loss(regressor(feats["student"]), feats["teacher"])


train(hinted, hint_loss, extra=regressor.parameters())
for h in handles:
    h.remove()
print("hint acc", round(accuracy(hinted), 3), "hooks left", len(teacher[3]._forward_hooks),
      "feature shapes", {k: tuple(v.shape) for k, v in feats.items()})

# ---------------------------------------------------------------- pruning
to_prune = [(student[0], "weight"), (student[2], "weight")]
prune.global_unstructured(to_prune, pruning_method=prune.L1Unstructured, amount=0.5)
zeros = sum(int((m.weight == 0).sum()) for m, _ in to_prune)
total = sum(m.weight.nelement() for m, _ in to_prune)
print(f"global sparsity {100.0 * zeros / total:.2f}%", "per layer",
      [round(float((m.weight == 0).float().mean()), 3) for m, _ in to_prune])
print("buffers", [n for n, _ in student.named_buffers()], "is_pruned", prune.is_pruned(student))
print("pruned acc", round(accuracy(student), 3))
prune.l1_unstructured(student[0], name="bias", amount=0.25)
prune.ln_structured(student[2], name="weight", amount=0.4, n=2, dim=1)
print("structured cols kept", (student[2].weight_mask.sum(0) > 0).int().tolist())
print("bias mask", student[0].bias_mask.int().tolist())
train(student, kd_loss, epochs=3)
print("finetuned acc", round(accuracy(student), 3), "sparsity kept",
      round(float((student[0].weight == 0).float().mean()), 3))
for m, name in to_prune + [(student[0], "bias")]:  # student[2].weight holds both masks
    prune.remove(m, name)
print("after remove", list(student.state_dict().keys()), "bytes", state_bytes(student))

# ---------------------------------------------------------------- dynamic quantization
qstudent = torch.ao.quantization.quantize_dynamic(student, {nn.Linear}, dtype=torch.qint8)
print(qstudent)
print("fp32 bytes", state_bytes(student), "int8 smaller",
      state_bytes(qstudent) < state_bytes(student))
print("quant acc", round(accuracy(qstudent), 3))
with torch.no_grad():
    diff = (qstudent(Xte) - student(Xte)).abs().max().item()
print("max |int8 - fp32| < 0.1", diff < 0.1)
w = qstudent[0].weight()
print("int8 weight", w.dtype, w.qscheme(), "zero point", w.q_zero_point(),
      "zeros kept", int((w.int_repr() == 0).sum()) >= zeros // 2)
