"""First-order DARTS with PC-DARTS' partial channel connections, as the DARTS / PC-DARTS code
writes them: candidate ops (none, skip, pooling, separable and dilated convs with affine-free
BatchNorm), a MixedOp over a channel slice followed by channel_shuffle, edge-normalization
betas, architecture parameters kept apart from the weights by name, SubsetRandomSampler train
and valid splits of one dataset, alternating updates with two optimizers (momentum SGD with
cosine annealing for weights, Adam for alphas/betas), drop-path via bernoulli_, and the genotype
read off with topk while excluding 'none'."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, SubsetRandomSampler, TensorDataset

torch.manual_seed(0)
torch.set_printoptions(precision=3)
rng = np.random.default_rng(4)

PRIMITIVES = ["none", "max_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3"]


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.)
        return x[:, :, ::self.stride, ::self.stride].mul(0.)


class SepConv(nn.Module):
    def __init__(self, C_in, C_out, kernel_size, stride, padding, affine=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride, padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    def __init__(self, C_in, C_out, kernel_size, stride, padding, dilation, affine=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride, padding, dilation=dilation, groups=C_in,
                      bias=False),
            nn.Conv2d(C_in, C_out, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x):
        return self.op(x)


OPS = {
    "none": lambda C, stride, affine: Zero(stride),
    "max_pool_3x3": lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    "skip_connect": lambda C, stride, affine: nn.Identity(),
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine=affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine=affine),
}


def channel_shuffle(x, groups):
    batchsize, num_channels, height, width = x.data.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    x = x.view(batchsize, -1, height, width)
    return x


def drop_path(x, drop_prob):
    if drop_prob > 0.:
        keep_prob = 1. - drop_prob
        mask = x.new_empty(x.size(0), 1, 1, 1).bernoulli_(keep_prob)
        x.div_(keep_prob)
        x.mul_(mask)
    return x


class MixedOp(nn.Module):
    def __init__(self, C, stride, k=2):
        super().__init__()
        self.k = k
        self.mp = nn.MaxPool2d(2, 2)
        self._ops = nn.ModuleList()
        for primitive in PRIMITIVES:
            op = OPS[primitive](C // k, stride, False)
            if "pool" in primitive:
                op = nn.Sequential(op, nn.BatchNorm2d(C // k, affine=False))
            self._ops.append(op)

    def forward(self, x, weights):
        dim_2 = x.shape[1]
        xtemp = x[:, :dim_2 // self.k, :, :]
        xtemp2 = x[:, dim_2 // self.k:, :, :]
        temp1 = sum(w * op(xtemp) for w, op in zip(weights, self._ops))
        ans = torch.cat([temp1, xtemp2], dim=1)
        return channel_shuffle(ans, self.k)


class Cell(nn.Module):
    def __init__(self, steps, C):
        super().__init__()
        self._steps = steps
        self._ops = nn.ModuleList()
        for i in range(self._steps):
            for j in range(2 + i):
                self._ops.append(MixedOp(C, 1))

    def forward(self, s0, s1, weights, weights2, drop_prob=0.0):
        states = [s0, s1]
        offset = 0
        for i in range(self._steps):
            s = sum(weights2[offset + j] * self._ops[offset + j](h, weights[offset + j])
                    for j, h in enumerate(states))
            if self.training and drop_prob > 0:
                s = drop_path(s, drop_prob)
            offset += len(states)
            states.append(s)
        return torch.cat(states[-self._steps:], dim=1)


class Network(nn.Module):
    def __init__(self, C=4, num_classes=3, steps=2):
        super().__init__()
        self._steps = steps
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        self.cell = Cell(steps, C)
        self.classifier = nn.Linear(C * steps, num_classes)
        k = sum(1 for i in range(self._steps) for n in range(2 + i))
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(k, len(PRIMITIVES)))
        self.betas_normal = nn.Parameter(1e-3 * torch.randn(k))

    def arch_parameters(self):
        return [self.alphas_normal, self.betas_normal]

    def weight_parameters(self):
        return [p for n, p in self.named_parameters() if "alphas" not in n and "betas" not in n]

    def edge_weights(self):
        n, start, parts = 3, 2, [F.softmax(self.betas_normal[0:2], dim=-1)]
        for i in range(self._steps - 1):
            end = start + n
            parts.append(F.softmax(self.betas_normal[start:end], dim=-1))
            start = end
            n += 1
        return torch.cat(parts, dim=0)

    def forward(self, x, drop_prob=0.0):
        s0 = s1 = self.stem(x)
        weights = F.softmax(self.alphas_normal, dim=-1)
        out = self.cell(s0, s1, weights, self.edge_weights(), drop_prob)
        return self.classifier(F.adaptive_avg_pool2d(out, 1).view(out.size(0), -1))

    def genotype(self):
        weights = (F.softmax(self.alphas_normal, dim=-1) * self.edge_weights()[:, None]).detach()
        gene, start, n = [], 0, 2
        for i in range(self._steps):
            W = weights[start:start + n]
            best = W[:, 1:].max(dim=1)  # 'none' never wins an edge
            edges = torch.topk(best.values, 2).indices.sort().values
            for j in edges.tolist():
                gene.append((PRIMITIVES[1 + best.indices[j].item()], j))
            start += n
            n += 1
        return gene


# a toy 3-class dataset: which third of the image carries a bright bar
images = rng.normal(0, .3, (48, 3, 8, 8)).astype(np.float32)
labels = rng.integers(0, 3, 48)
for i, c in enumerate(labels):
    images[i, :, :, 2 * c:2 * c + 3] += 1.0
data = TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
indices = list(range(len(data)))
split = 24
g = torch.Generator().manual_seed(1)
train_queue = DataLoader(data, batch_size=8, sampler=SubsetRandomSampler(indices[:split],
                                                                         generator=g))
valid_queue = DataLoader(data, batch_size=8, sampler=SubsetRandomSampler(indices[split:],
                                                                         generator=g))

model = Network()
w_params, a_params = model.weight_parameters(), model.arch_parameters()
print("weights/arch tensors:", len(w_params), len(a_params),
      "arch numel:", sum(p.numel() for p in a_params))
optimizer = torch.optim.SGD(w_params, 0.05, momentum=0.9, weight_decay=3e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 3, eta_min=0.001)
arch_optimizer = torch.optim.Adam(a_params, lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3)
criterion = nn.CrossEntropyLoss()

for epoch in range(3):
    model.train()
    lr = scheduler.get_last_lr()[0]
    valid_iter = iter(valid_queue)
    total, correct = 0.0, 0
    for step, (x, target) in enumerate(train_queue):
        x_search, target_search = next(valid_iter)
        # first-order architecture step on a validation batch
        arch_optimizer.zero_grad()
        criterion(model(x_search), target_search).backward()
        arch_optimizer.step()
        # weight step on a training batch
        optimizer.zero_grad()
        logits = model(x, drop_prob=0.1 if epoch > 0 else 0.0)
        loss = criterion(logits, target)
        loss.backward()
        nn.utils.clip_grad_norm_(w_params, 5.0)
        optimizer.step()
        total += loss.item() * x.size(0)
        correct += (logits.argmax(1) == target).sum().item()
    scheduler.step()
    probs = F.softmax(model.alphas_normal, dim=-1)
    entropy = -(probs * probs.log()).sum(-1).mean()
    print(f"epoch {epoch} lr {lr:.5f} loss {total / split:.4f} acc {correct}/{split} "
          f"alpha entropy {entropy.item():.5f}")

print("alphas:", F.softmax(model.alphas_normal, dim=-1)[:2])
print("betas:", model.edge_weights().detach())
print("genotype:", model.genotype())
in_weight_opt = {id(p) for group in optimizer.param_groups for p in group["params"]}
print("arch params kept out of the weight optimizer:",
      not any(id(p) in in_weight_opt for p in a_params), len(arch_optimizer.state))

model.eval()
with torch.no_grad():
    correct = sum((model(x).argmax(1) == t).sum().item() for x, t in valid_queue)
print("valid acc:", correct, "/", len(indices) - split)
x = torch.ones(2, 4, 1, 1) * torch.arange(4.).view(1, 4, 1, 1)
print("channel_shuffle:", channel_shuffle(x, 2).flatten(1))
