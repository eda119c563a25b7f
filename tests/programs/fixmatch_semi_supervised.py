"""FixMatch semi-supervised training as kekmodel/FixMatch-pytorch writes it, shrunk to a toy:
a few labelled points per class and many unlabelled ones; weak augmentation (random flip and
padded random crop on image tensors), strong augmentation (flip, crop, per-channel contrast,
noise, cutout with masked_fill); labelled and unlabelled batches interleaved through the model
in one pass (interleave/de_interleave by reshape and transpose), pseudo-labels from
softmax(...).max(dim=-1) over the weak view with a confidence threshold, a masked mean
cross-entropy on the strong view, SGD with Nesterov and weight decay off for biases and
BatchNorm, the "7/16 pi" cosine schedule through LambdaLR, and an EMA copy of the model."""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR

torch.manual_seed(0)
NUM_CLASSES, LABELED_PER_CLASS, UNLABELED, MU = 3, 4, 96, 3
THRESHOLD, LAMBDA_U, T = 0.80, 1.0, 1.0


def make_images(n, labels):
    # each class is a differently placed bright square on noise, 2 channels of 8x8
    x = 0.3 * torch.randn(n, 2, 8, 8)
    for i, c in enumerate(labels.tolist()):
        r = 1 + 2 * c
        x[i, :, r:r + 3, 1:4] += 1.5
        x[i, c % 2, :, 5:] -= 0.5
    return x


labels_l = torch.arange(NUM_CLASSES).repeat_interleave(LABELED_PER_CLASS)
x_l = make_images(len(labels_l), labels_l)
labels_u = torch.randint(0, NUM_CLASSES, (UNLABELED,))
x_u = make_images(UNLABELED, labels_u)
labels_test = torch.randint(0, NUM_CLASSES, (60,))
x_test = make_images(60, labels_test)


def weak_augment(x):
    flip = torch.rand(x.size(0)) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    dy, dx = torch.randint(0, 3, (2,)).tolist()
    return padded[:, :, dy:dy + 8, dx:dx + 8].contiguous()


def strong_augment(x):
    x = weak_augment(x)
    scale = torch.empty(x.size(0), x.size(1), 1, 1).uniform_(0.6, 1.4)
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * scale + mean + 0.1 * torch.randn_like(x)
    # cutout: a 3x3 hole at a random place per image
    ys = torch.randint(0, 6, (x.size(0),))
    xs = torch.randint(0, 6, (x.size(0),))
    rows = torch.arange(8)
    in_y = (rows[None, :] >= ys[:, None]) & (rows[None, :] < ys[:, None] + 3)
    in_x = (rows[None, :] >= xs[:, None]) & (rows[None, :] < xs[:, None] + 3)
    hole = in_y[:, :, None] & in_x[:, None, :]
    return x.masked_fill(hole.unsqueeze(1), 0.0)


def interleave(x, size):
    s = list(x.shape)
    return x.reshape([-1, size] + s[1:]).transpose(0, 1).reshape([-1] + s[1:])


def de_interleave(x, size):
    s = list(x.shape)
    return x.reshape([size, -1] + s[1:]).transpose(0, 1).reshape([-1] + s[1:])


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(2, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8, momentum=0.1),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(16, momentum=0.1), nn.LeakyReLU(0.1, inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(16, NUM_CLASSES)

    def forward(self, x):
        return self.fc(self.features(x))


class ModelEMA:
    def __init__(self, model, decay):
        self.ema = copy.deepcopy(model)
        self.ema.eval()
        self.decay = decay
        self.param_keys = [k for k, _ in self.ema.named_parameters()]
        self.buffer_keys = [k for k, _ in self.ema.named_buffers()]
        for p in self.ema.parameters():
            p.requires_grad_(False)

    def update(self, model):
        with torch.no_grad():
            msd = model.state_dict()
            esd = self.ema.state_dict()
            for k in self.param_keys:
                esd[k].copy_(esd[k] * self.decay + (1.0 - self.decay) * msd[k].detach())
            for k in self.buffer_keys:
                esd[k].copy_(msd[k])


def get_cosine_schedule_with_warmup(optimizer, warmup, total, num_cycles=7.0 / 16.0):
    def _lr_lambda(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        return max(0.0, math.cos(math.pi * num_cycles * progress))
    return LambdaLR(optimizer, _lr_lambda)


model = SmallNet()
no_decay = ["bias", "bn"]
grouped = [
    {"params": [p for n, p in model.named_parameters()
                if not any(nd in n for nd in no_decay) and p.ndim > 1], "weight_decay": 5e-4},
    {"params": [p for n, p in model.named_parameters()
                if any(nd in n for nd in no_decay) or p.ndim == 1], "weight_decay": 0.0},
]
print("param groups:", [len(g["params"]) for g in grouped])
optimizer = torch.optim.SGD(grouped, lr=0.1, momentum=0.9, nesterov=True)
STEPS, B = 60, 6
scheduler = get_cosine_schedule_with_warmup(optimizer, 5, STEPS)
ema = ModelEMA(model, decay=0.9)

for step in range(STEPS):
    model.train()
    idx_l = torch.randint(0, len(x_l), (B,))
    idx_u = torch.randperm(UNLABELED)[:B * MU]
    inputs_x, targets_x = weak_augment(x_l[idx_l]), labels_l[idx_l]
    u_weak, u_strong = weak_augment(x_u[idx_u]), strong_augment(x_u[idx_u])
    inputs = interleave(torch.cat((inputs_x, u_weak, u_strong)), 2 * MU + 1)
    logits = de_interleave(model(inputs), 2 * MU + 1)
    logits_x = logits[:B]
    logits_u_w, logits_u_s = logits[B:].chunk(2)
    loss_x = F.cross_entropy(logits_x, targets_x, reduction="mean")
    pseudo_label = torch.softmax(logits_u_w.detach() / T, dim=-1)
    max_probs, targets_u = torch.max(pseudo_label, dim=-1)
    mask = max_probs.ge(THRESHOLD).float()
    loss_u = (F.cross_entropy(logits_u_s, targets_u, reduction="none") * mask).mean()
    loss = loss_x + LAMBDA_U * loss_u
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    ema.update(model)
    if step % 10 == 9:
        correct_pl = (targets_u == labels_u[idx_u]).float()
        pl_acc = (correct_pl * mask).sum() / mask.sum().clamp_min(1.0)
        print(f"step {step + 1:2d} lr {scheduler.get_last_lr()[0]:.5f} "
              f"Lx {loss_x.item():.3f} Lu {loss_u.item():.3f} "
              f"mask {mask.mean().item():.3f} pl_acc {pl_acc.item():.3f}")


def evaluate(net):
    net.eval()
    with torch.no_grad():
        out = net(x_test)
        loss = F.cross_entropy(out, labels_test).item()
        prec1 = (out.argmax(1) == labels_test).float().mean().item() * 100
    return loss, prec1


for name, net in [("model", model), ("ema", ema.ema)]:
    loss, prec1 = evaluate(net)
    print(f"{name}: test loss {loss:.3f} top-1 {prec1:.1f}")
print("ema bn running_mean", ema.ema.features[1].running_mean[:3].numpy().round(3))
print("ema requires grad:", any(p.requires_grad for p in ema.ema.parameters()))
