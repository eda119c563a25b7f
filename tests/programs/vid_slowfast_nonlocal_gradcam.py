"""A two-pathway (SlowFast-style) video classifier in the manner of PySlowFast / X3D reference
code, with its data pipeline: a map-style ``Dataset`` of clips with a custom ``Sampler``
(repeat each video over several clip offsets), a ``collate_fn`` that stacks dicts, and
``DataLoader(generator=...)``; the slow path takes every 4th frame (``index_select`` with
``torch.arange``), the fast path all frames with fewer channels, a time-strided lateral
``Conv3d(kernel=(5, 1, 1), stride=(4, 1, 1))`` fuses fast into slow; X3D-style depthwise
``Conv3d(groups=C)`` with squeeze-excitation (``AdaptiveAvgPool3d(1)``), a non-local block
(``view``/``permute``/``matmul``/``softmax`` over T*H*W), video mixup with
``torch.distributions.Beta``, label-smoothed soft targets, and Grad-CAM from
``register_forward_hook`` + ``register_full_backward_hook`` averaged over time; float64."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

torch.manual_seed(0)
rng = np.random.default_rng(21)
T, S, ALPHA = 8, 8, 4


class ToyVideos(Dataset):
    """Class 0: a blob that flickers fast; class 1: one that drifts slowly; class 2: static."""

    def __init__(self, n):
        self.videos, self.labels = [], []
        yy, xx = np.mgrid[:S, :S]
        for i in range(n):
            label = i % 3
            cy, cx = rng.uniform(2, S - 2, 2)
            frames = []
            for t in range(T + 4):
                amp = (1.0 if t % 2 == 0 else 0.2) if label == 0 else 1.0
                x0 = cx + (0.4 * t if label == 1 else 0.0)
                blob = amp * np.exp(-((yy - cy) ** 2 + (xx - x0) ** 2) / 3.0)
                frames.append(np.stack([blob, 0.5 * blob]) + 0.05 * rng.standard_normal((2, S, S)))
            self.videos.append(torch.from_numpy(np.stack(frames, axis=1)))   # (C, T+4, H, W)
            self.labels.append(label)

    def __len__(self):
        return len(self.videos) * 2

    def __getitem__(self, key):
        vid, offset = divmod(key, 2)
        clip = self.videos[vid][:, offset * 2:offset * 2 + T]
        return {"clip": clip, "label": self.labels[vid], "vid": vid}


class ClipSampler(Sampler):
    def __init__(self, n_videos, clips_per_video, generator):
        self.n, self.k, self.generator = n_videos, clips_per_video, generator

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator).tolist()
        return iter([v * self.k + c for v in order for c in range(self.k)])

    def __len__(self):
        return self.n * self.k


def collate(items):
    return {"clip": torch.stack([it["clip"] for it in items]),
            "label": torch.tensor([it["label"] for it in items]),
            "vid": [it["vid"] for it in items]}


ds = ToyVideos(12)
g = torch.Generator().manual_seed(3)
loader = DataLoader(ds, batch_size=8, sampler=ClipSampler(12, 2, g), collate_fn=collate)
first = next(iter(loader))
print("batch", first["clip"].shape, first["clip"].dtype, first["label"].tolist(), first["vid"])


class SE3d(nn.Module):
    def __init__(self, ch, r=2):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Sequential(nn.Conv3d(ch, ch // r, 1), nn.SiLU(), nn.Conv3d(ch // r, ch, 1),
                                nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(self.pool(x))


class NonLocal(nn.Module):
    def __init__(self, ch, inner):
        super().__init__()
        self.theta, self.phi, self.g = (nn.Conv3d(ch, inner, 1) for _ in range(3))
        self.out = nn.Conv3d(inner, ch, 1)
        self.bn = nn.BatchNorm3d(ch)
        nn.init.zeros_(self.bn.weight)

    def forward(self, x):
        n, c, t, h, w = x.shape
        theta = self.theta(x).view(n, -1, t * h * w).permute(0, 2, 1)
        phi = self.phi(x).view(n, -1, t * h * w)
        attn = torch.matmul(theta, phi) / theta.shape[-1] ** 0.5
        attn = attn.softmax(dim=-1)
        y = torch.matmul(attn, self.g(x).view(n, -1, t * h * w).permute(0, 2, 1))
        y = y.permute(0, 2, 1).reshape(n, -1, t, h, w)
        return x + self.bn(self.out(y))


class SlowFast(nn.Module):
    def __init__(self, n_class=3, cs=8, cf=4):
        super().__init__()
        self.slow_stem = nn.Sequential(nn.Conv3d(2, cs, (1, 3, 3), padding=(0, 1, 1), bias=False),
                                       nn.BatchNorm3d(cs), nn.ReLU(inplace=True))
        self.fast_stem = nn.Sequential(nn.Conv3d(2, cf, (3, 3, 3), padding=1, bias=False),
                                       nn.BatchNorm3d(cf), nn.ReLU(inplace=True))
        self.lateral = nn.Conv3d(cf, cf, (5, 1, 1), stride=(ALPHA, 1, 1), padding=(2, 0, 0))
        self.x3d = nn.Sequential(nn.Conv3d(cs + cf, cs + cf, 3, padding=1, groups=cs + cf),
                                 nn.BatchNorm3d(cs + cf), SE3d(cs + cf), nn.SiLU())
        self.pool = nn.MaxPool3d((1, 2, 2))
        self.nonlocal_block = NonLocal(cs + cf, 4)
        self.head = nn.Linear(cs + cf + cf, n_class)

    def forward(self, clip):
        slow_idx = torch.arange(0, clip.shape[2], ALPHA)
        slow = self.slow_stem(clip.index_select(2, slow_idx))
        fast = self.fast_stem(clip)
        slow = torch.cat([slow, self.lateral(fast)], dim=1)
        slow = self.nonlocal_block(self.pool(self.x3d(slow)))
        feats = torch.cat([slow.mean(dim=(2, 3, 4)), fast.amax(dim=(2, 3, 4))], dim=1)
        return self.head(feats)


model = SlowFast().double()
print(model.lateral, model.x3d[0])
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
beta = torch.distributions.Beta(torch.tensor(0.4), torch.tensor(0.4))
for epoch in range(3):
    model.train()
    for batch in loader:
        x, y = batch["clip"], batch["label"]
        lam = beta.sample().item()
        perm = torch.randperm(x.shape[0])
        x = lam * x + (1 - lam) * x[perm]
        soft = F.one_hot(y, 3).double() * 0.9 + 0.1 / 3
        soft = lam * soft + (1 - lam) * soft[perm]
        loss = torch.sum(-soft * F.log_softmax(model(x), dim=-1), dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"epoch {epoch} mixup loss {loss.item():.4f} lam {lam:.3f}")

model.eval()
acts, grads = {}, {}
h1 = model.x3d.register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
h2 = model.x3d.register_full_backward_hook(lambda m, gi, go: grads.__setitem__("g", go[0]))
clips = torch.stack([ds[2 * i]["clip"] for i in range(3)])
logits = model(clips)
logits.gather(1, logits.argmax(1, keepdim=True)).sum().backward()
h1.remove()
h2.remove()
weights = grads["g"].mean(dim=(2, 3, 4), keepdim=True)
cam = F.relu((weights * acts["a"]).sum(1)).mean(1)             # average over time
cam = cam / cam.flatten(1).amax(1).clamp(min=1e-12).view(-1, 1, 1)
print("pred", logits.argmax(1).tolist(), "cam", cam.shape, cam[0].round(decimals=3)[0].tolist())
with torch.no_grad():
    correct = sum((model(b["clip"]).argmax(1) == b["label"]).sum().item() for b in loader)
print("clip accuracy", correct, "/", len(ds), "hooks left", len(model.x3d._forward_hooks))
