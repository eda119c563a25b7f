"""Quantization-aware training of a distilled student, as the PyTorch static-quantization / QAT
tutorials and compression recipes write it: the student wraps its body in ``QuantStub`` /
``DeQuantStub``, ``fuse_modules_qat`` fuses Linear+ReLU, ``get_default_qat_qconfig('x86')``
and ``prepare_qat`` insert fake-quantize modules, the student trains on a temperature-scaled
``F.kl_div(..., log_target=True)`` distillation loss from a frozen teacher, observers are frozen
with ``apply(disable_observer)`` and ``convert`` yields int8 ``QuantizedLinearReLU`` modules.
Prints the fused/prepared/converted module types, fake-quant scales, int8 weights, the size of
the state_dict, and teacher/student/int8 agreement."""
import io

import numpy as np
import torch
import torch.ao.quantization as tq
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(1)
n, dim, n_cls = 384, 12, 4
means = rng.normal(0, 1.2, size=(n_cls, dim))
y_np = rng.integers(0, n_cls, size=n)
X = torch.tensor(means[y_np] + rng.normal(0, 1.0, size=(n, dim)), dtype=torch.float32)
Y = torch.from_numpy(y_np)

teacher = nn.Sequential(nn.Linear(dim, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                        nn.Linear(64, n_cls))
opt = torch.optim.Adam(teacher.parameters(), lr=1e-2)
for epoch in range(60):
    opt.zero_grad()
    F.cross_entropy(teacher(X), Y).backward()
    opt.step()
teacher.eval().requires_grad_(False)


class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.fc1 = nn.Linear(dim, 16)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(16, n_cls)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.fc2(self.relu1(self.fc1(self.quant(x)))))


def kd(student_logits, teacher_logits, T=3.0):
    return F.kl_div(F.log_softmax(student_logits / T, -1), F.log_softmax(teacher_logits / T, -1),
                    reduction="batchmean", log_target=True) * T * T


def agree(a, b):
    return round((a.argmax(1) == b.argmax(1)).float().mean().item(), 3)


torch.manual_seed(1)
student = Student().train()
student = tq.fuse_modules_qat(student, [["fc1", "relu1"]])
print("fused", type(student.fc1).__name__, type(student.relu1).__name__)
student.qconfig = tq.get_default_qat_qconfig("x86")
tq.prepare_qat(student, inplace=True)
print("prepared", type(student.fc1).__name__, type(student.fc1.weight_fake_quant).__name__,
      type(student.quant.activation_post_process).__name__)
opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9)
gen = torch.Generator().manual_seed(2)
with torch.no_grad():
    t_all = teacher(X)
for epoch in range(6):
    perm = torch.randperm(n, generator=gen)
    for i in range(0, n, 64):
        idx = perm[i:i + 64]
        opt.zero_grad()
        s = student(X[idx])
        loss = 0.8 * kd(s, t_all[idx]) + 0.2 * F.cross_entropy(s, Y[idx])
        loss.backward()
        opt.step()
    if epoch == 3:
        student.apply(tq.disable_observer)
        student.apply(nn.intrinsic.qat.freeze_bn_stats)
    if epoch % 2 == 1:
        print(f"epoch {epoch}: loss {loss.item():.3f} fc1 act scale "
              f"{student.fc1.activation_post_process.scale.item():.4f} "
              f"observer on {bool(student.fc1.activation_post_process.observer_enabled.item())}")
student.eval()
with torch.no_grad():
    fake_q = student(X)
print("fake-quant student vs teacher agreement", agree(fake_q, t_all),
      "accuracy", round((fake_q.argmax(1) == Y).float().mean().item(), 3))
wq = student.fc1.weight_fake_quant
print("weight fake-quant", wq.qscheme, wq.dtype, tuple(wq.scale.shape), "zero points",
      sorted(set(wq.zero_point.tolist())))

int8 = tq.convert(student.eval(), inplace=False)
print(int8)
with torch.no_grad():
    q_out = int8(X)
print("int8 vs fake-quant agreement", agree(q_out, fake_q), "max diff < 0.2",
      (q_out - fake_q).abs().max().item() < 0.2)
w = int8.fc1.weight()
print("int8 weight", w.dtype, w.qscheme(), tuple(w.q_per_channel_scales().shape),
      "axis", w.q_per_channel_axis(), "range ok", int(w.int_repr().min()) >= -128)
print("quant stub", int8.quant.scale.numel(), int8.quant.zero_point.dtype, int8.quant.dtype)
buf = io.BytesIO()
torch.save(int8.state_dict(), buf)
keys = list(int8.state_dict().keys())
print("int8 keys", keys)
fresh = tq.fuse_modules_qat(Student().train(), [["fc1", "relu1"]])
fresh.qconfig = tq.get_default_qat_qconfig("x86")
reloaded = tq.convert(tq.prepare_qat(fresh).eval())
buf.seek(0)
reloaded.load_state_dict(torch.load(buf))
with torch.no_grad():
    print("reloaded identical", torch.equal(reloaded(X), q_out))
