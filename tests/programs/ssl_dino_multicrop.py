"""DINO self-distillation with multi-crop, after the DINO repository (``main_dino.py``,
``vision_transformer.DINOHead``, ``utils.MultiCropWrapper``/``cosine_scheduler``), then the
Barlow Twins and VICReg losses written as in their repositories.

Toy 1-d "images" (class-specific waves) give two global and four local crops; a conv backbone
with adaptive pooling takes both sizes, and the multi-crop wrapper groups crops by size with
``torch.unique_consecutive(..., return_counts=True)`` and ``torch.cumsum``. The head ends in a
weight-normalised layer (``nn.utils.weight_norm``, ``weight_g`` frozen at 1). The teacher loads
the student's ``state_dict`` and follows it by EMA (``mul_``/``add_``); the loss centres the
teacher's output with a momentum buffer and sharpens it with a NumPy temperature schedule; the
learning rate and weight decay come from NumPy cosine schedules written into the param groups;
gradients are clipped per parameter and the last layer's are cancelled in the first epoch.
"""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)
n_classes, per_class, length = 3, 16, 32
labels = torch.arange(n_classes).repeat_interleave(per_class)
t = torch.arange(length, dtype=torch.float32)
phase = torch.rand(len(labels), 1) * 2 * math.pi
freq = (labels.float() + 1.0).unsqueeze(1) * (2 * math.pi / 16)
signals = torch.sin(freq * t + phase) + 0.3 * (torch.rand(len(labels), length) - 0.5)
signals = signals.unsqueeze(1)  # (N, 1, L)


def random_crop(x, size):
    start = torch.randint(0, x.shape[-1] - size + 1, (x.shape[0],))
    idx = start.unsqueeze(1) + torch.arange(size)
    return torch.gather(x, 2, idx.unsqueeze(1).expand(-1, x.shape[1], -1))


def multi_crop(x, n_local=4):
    crops = [random_crop(x, 24) for _ in range(2)]
    crops += [random_crop(x, 12) * torch.empty(x.shape[0], 1, 1).uniform_(0.8, 1.2)
              for _ in range(n_local)]
    return crops


class Backbone(nn.Module):
    def __init__(self, width=16, embed_dim=24):
        super().__init__()
        self.conv1 = nn.Conv1d(1, width, 5, padding=2)
        self.conv2 = nn.Conv1d(width, width, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(width, embed_dim)

    def forward(self, x):
        x = F.gelu(self.conv1(x))
        x = F.gelu(self.conv2(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class DINOHead(nn.Module):
    def __init__(self, in_dim, out_dim, hidden_dim=32, bottleneck_dim=16, norm_last_layer=True):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.GELU(),
                                 nn.Linear(hidden_dim, hidden_dim), nn.GELU(),
                                 nn.Linear(hidden_dim, bottleneck_dim))
        self.apply(self._init_weights)
        self.last_layer = nn.utils.weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        self.last_layer.weight_g.data.fill_(1)
        if norm_last_layer:
            self.last_layer.weight_g.requires_grad = False

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.mlp(x)
        x = nn.functional.normalize(x, dim=-1, p=2)
        return self.last_layer(x)


class MultiCropWrapper(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x):
        if not isinstance(x, list):
            x = [x]
        idx_crops = torch.cumsum(torch.unique_consecutive(
            torch.tensor([inp.shape[-1] for inp in x]), return_counts=True)[1], 0)
        start_idx, output = 0, torch.empty(0)
        for end_idx in idx_crops:
            _out = self.backbone(torch.cat(x[start_idx: end_idx]))
            output = torch.cat((output, _out))
            start_idx = end_idx
        return self.head(output)


class DINOLoss(nn.Module):
    def __init__(self, out_dim, ncrops, warmup_teacher_temp, teacher_temp,
                 warmup_teacher_temp_epochs, nepochs, student_temp=0.1, center_momentum=0.9):
        super().__init__()
        self.student_temp = student_temp
        self.center_momentum = center_momentum
        self.ncrops = ncrops
        self.register_buffer("center", torch.zeros(1, out_dim))
        self.teacher_temp_schedule = np.concatenate((
            np.linspace(warmup_teacher_temp, teacher_temp, warmup_teacher_temp_epochs),
            np.ones(nepochs - warmup_teacher_temp_epochs) * teacher_temp))

    def forward(self, student_output, teacher_output, epoch):
        student_out = student_output / self.student_temp
        student_out = student_out.chunk(self.ncrops)
        temp = self.teacher_temp_schedule[epoch]
        teacher_out = F.softmax((teacher_output - self.center) / temp, dim=-1)
        teacher_out = teacher_out.detach().chunk(2)
        total_loss, n_loss_terms = 0, 0
        for iq, q in enumerate(teacher_out):
            for v in range(len(student_out)):
                if v == iq:
                    continue
                loss = torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1)
                total_loss += loss.mean()
                n_loss_terms += 1
        total_loss /= n_loss_terms
        self.update_center(teacher_output)
        return total_loss

    @torch.no_grad()
    def update_center(self, teacher_output):
        batch_center = torch.sum(teacher_output, dim=0, keepdim=True)
        batch_center = batch_center / len(teacher_output)
        self.center = self.center * self.center_momentum + batch_center * (1 - self.center_momentum)


def cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs=0,
                     start_warmup_value=0):
    warmup_schedule = np.array([])
    warmup_iters = warmup_epochs * niter_per_ep
    if warmup_epochs > 0:
        warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)
    iters = np.arange(epochs * niter_per_ep - warmup_iters)
    schedule = final_value + 0.5 * (base_value - final_value) * (
        1 + np.cos(np.pi * iters / len(iters)))
    schedule = np.concatenate((warmup_schedule, schedule))
    assert len(schedule) == epochs * niter_per_ep
    return schedule


def get_params_groups(model):
    regularized, not_regularized = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.endswith(".bias") or len(param.shape) == 1:
            not_regularized.append(param)
        else:
            regularized.append(param)
    return [{'params': regularized}, {'params': not_regularized, 'weight_decay': 0.}]


def clip_gradients(model, clip):
    norms = []
    for name, p in model.named_parameters():
        if p.grad is not None:
            param_norm = p.grad.data.norm(2)
            norms.append(param_norm.item())
            clip_coef = clip / (param_norm + 1e-6)
            if clip_coef < 1:
                p.grad.data.mul_(clip_coef)
    return np.array(norms)


def cancel_gradients_last_layer(epoch, model, freeze_last_layer):
    if epoch >= freeze_last_layer:
        return
    for n, p in model.named_parameters():
        if "last_layer" in n:
            p.grad = None


out_dim, epochs, batch_size = 32, 6, 16
student = MultiCropWrapper(Backbone(), DINOHead(24, out_dim))
teacher = MultiCropWrapper(Backbone(), DINOHead(24, out_dim))
teacher.load_state_dict(student.state_dict())
for p in teacher.parameters():
    p.requires_grad = False
print("head state keys:", [k for k in student.state_dict() if "last_layer" in k])
print("weight_g", tuple(student.head.last_layer.weight_g.shape), "trainable:",
      student.head.last_layer.weight_g.requires_grad, "| weight norms",
      round(student.head.last_layer.weight.norm(dim=1).mean().item(), 4))
print("trunc_normal std {:.4f} max |w| {:.4f}".format(
    student.head.mlp[0].weight.std().item(), student.head.mlp[0].weight.abs().max().item()))

dino_loss = DINOLoss(out_dim, 6, warmup_teacher_temp=0.04, teacher_temp=0.07,
                     warmup_teacher_temp_epochs=3, nepochs=epochs)
params_groups = get_params_groups(student)
print("param groups:", [len(g['params']) for g in params_groups])
optimizer = torch.optim.AdamW(params_groups)
niter = len(signals) // batch_size
lr_schedule = cosine_scheduler(5e-3, 1e-5, epochs, niter, warmup_epochs=1)
wd_schedule = cosine_scheduler(0.04, 0.4, epochs, niter)
momentum_schedule = cosine_scheduler(0.99, 1, epochs, niter)
print("teacher temps:", np.round(dino_loss.teacher_temp_schedule, 3).tolist())

for epoch in range(epochs):
    perm = torch.randperm(len(signals))
    stats = []
    for it_in_epoch in range(niter):
        it = niter * epoch + it_in_epoch
        for i, param_group in enumerate(optimizer.param_groups):
            param_group["lr"] = lr_schedule[it]
            if i == 0:
                param_group["weight_decay"] = wd_schedule[it]
        images = multi_crop(signals[perm[it_in_epoch * batch_size:(it_in_epoch + 1) * batch_size]])
        teacher_output = teacher(images[:2])
        student_output = student(images)
        loss = dino_loss(student_output, teacher_output, epoch)
        if not math.isfinite(loss.item()):
            raise SystemExit("Loss is {}, stopping training".format(loss.item()))
        optimizer.zero_grad()
        loss.backward()
        param_norms = clip_gradients(student, 3.0)
        cancel_gradients_last_layer(epoch, student, 1)
        optimizer.step()
        with torch.no_grad():
            m = momentum_schedule[it]
            for param_q, param_k in zip(student.parameters(), teacher.parameters()):
                param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)
        stats.append((loss.item(), float(param_norms.max())))
    teacher_probs = F.softmax((teacher(signals) - dino_loss.center)
                              / dino_loss.teacher_temp_schedule[epoch], dim=-1)
    entropy = -(teacher_probs * torch.log(teacher_probs + 1e-12)).sum(dim=1).mean()
    print("epoch {} loss {:.4f} max grad norm {:.4g} lr {:.5f} wd {:.4f} center norm {:.4f} "
          "teacher entropy {:.3f}".format(epoch, np.mean([s[0] for s in stats]),
                                          max(s[1] for s in stats),
                                          optimizer.param_groups[0]["lr"],
                                          optimizer.param_groups[0]["weight_decay"],
                                          dino_loss.center.norm().item(), entropy.item()))

print("last layer weight_g unchanged:",
      torch.equal(student.head.last_layer.weight_g, torch.ones_like(
          student.head.last_layer.weight_g)))
print("center is a buffer:", [n for n, _ in dino_loss.named_buffers()])
with torch.no_grad():
    feats = F.normalize(teacher.backbone(signals), dim=1)
sim = feats @ feats.T
same = labels[:, None] == labels[None, :]
print("teacher cosine same class {:.3f} other {:.3f}".format(
    sim[same & ~torch.eye(len(labels), dtype=torch.bool)].mean().item(), sim[~same].mean().item()))
pred = sim.fill_diagonal_(-2).argmax(dim=1)
print("1-NN accuracy {:.3f}".format((labels[pred] == labels).float().mean().item()))


# Barlow Twins and VICReg losses on two views of the backbone's embedding
def off_diagonal(x):
    n, m = x.shape
    assert n == m
    return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


class BarlowTwins(nn.Module):
    def __init__(self, backbone, sizes=(24, 32, 16), lambd=0.0051):
        super().__init__()
        self.backbone = backbone
        self.lambd = lambd
        layers = []
        for i in range(len(sizes) - 2):
            layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=False))
            layers.append(nn.BatchNorm1d(sizes[i + 1]))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
        self.projector = nn.Sequential(*layers)
        self.bn = nn.BatchNorm1d(sizes[-1], affine=False)

    def forward(self, y1, y2):
        z1 = self.projector(self.backbone(y1))
        z2 = self.projector(self.backbone(y2))
        c = self.bn(z1).T @ self.bn(z2)
        c.div_(y1.shape[0])
        on_diag = torch.diagonal(c).add_(-1).pow_(2).sum()
        off_diag = off_diagonal(c).pow_(2).sum()
        return on_diag + self.lambd * off_diag, on_diag, off_diag


def vicreg_loss(x, y, sim_coeff=25.0, std_coeff=25.0, cov_coeff=1.0):
    batch_size, num_features = x.shape
    repr_loss = F.mse_loss(x, y)
    x = x - x.mean(dim=0)
    y = y - y.mean(dim=0)
    std_x = torch.sqrt(x.var(dim=0) + 0.0001)
    std_y = torch.sqrt(y.var(dim=0) + 0.0001)
    std_loss = torch.mean(F.relu(1 - std_x)) / 2 + torch.mean(F.relu(1 - std_y)) / 2
    cov_x = (x.T @ x) / (batch_size - 1)
    cov_y = (y.T @ y) / (batch_size - 1)
    cov_loss = off_diagonal(cov_x).pow_(2).sum().div(num_features) + \
        off_diagonal(cov_y).pow_(2).sum().div(num_features)
    return sim_coeff * repr_loss + std_coeff * std_loss + cov_coeff * cov_loss, std_loss, cov_loss


c = torch.arange(16.).view(4, 4)
print("off_diagonal:", off_diagonal(c).tolist())
bt = BarlowTwins(copy.deepcopy(student.backbone))
bt_opt = torch.optim.SGD(bt.parameters(), lr=0.02, momentum=0.9)
for step in range(12):
    x = signals[torch.randperm(len(signals))[:24]]
    y1, y2 = random_crop(x, 24), random_crop(x, 24)
    loss, on_diag, off_diag = bt(y1, y2)
    bt_opt.zero_grad()
    loss.backward()
    bt_opt.step()
    if step % 4 == 3:
        print("barlow step {:2d} loss {:.4f} on-diag {:.4f} off-diag {:.1f}".format(
            step, loss.item(), on_diag.item(), off_diag.item()))
print("bn affine:", bt.bn.affine, "weight:", bt.bn.weight, "running var mean {:.4f}".format(
    bt.bn.running_var.mean().item()))

expander = nn.Sequential(nn.Linear(24, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 32))
vic_backbone = copy.deepcopy(student.backbone)
vic_opt = torch.optim.Adam(list(vic_backbone.parameters()) + list(expander.parameters()),
                           lr=1e-3)
for step in range(12):
    x = signals[torch.randperm(len(signals))[:24]]
    za = expander(vic_backbone(random_crop(x, 24)))
    zb = expander(vic_backbone(random_crop(x, 24)))
    loss, std_loss, cov_loss = vicreg_loss(za, zb)
    vic_opt.zero_grad()
    loss.backward()
    vic_opt.step()
    if step % 4 == 3:
        print("vicreg step {:2d} loss {:.4f} std {:.4f} cov {:.4f}".format(
            step, loss.item(), std_loss.item(), cov_loss.item()))
