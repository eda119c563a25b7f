"""Action recognition on tiny synthetic videos in the manner of the R(2+1)D / TSM / SlowFast
reference code: moving-blob clips (N, C, T, H, W) whose class is the motion direction,
uniform and random clip sampling with ``torch.linspace(...).long()`` and
``torch.randint(generator=...)``, a (2+1)D factorised ``Conv3d`` stem (``(1, k, k)`` spatial
then ``(t, 1, 1)`` temporal kernels) with ``BatchNorm3d``, ``MaxPool3d((1, 2, 2))``, a
temporal-shift module built from slicing + ``torch.cat`` (and checked against ``torch.roll``
with a zeroed boundary), ``AdaptiveAvgPool3d(1)`` and ``flatten(1)``; SGD with Nesterov
momentum and ``MultiStepLR``; multi-clip test-time averaging; float64 (``.double()``)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(11)
T_FULL, T_CLIP, S = 12, 4, 10
DIRS = [(0, 1), (0, -1), (1, 0)]                   # right, left, down


def make_video(label):
    vid = 0.1 * rng.standard_normal((2, T_FULL, S, S))
    dy, dx = DIRS[label]
    y, x = rng.integers(2, S - 2, 2)
    yy, xx = np.mgrid[:S, :S]
    for t in range(T_FULL):
        cy, cx = (y + dy * t * 0.5) % S, (x + dx * t * 0.5) % S
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 2.0)
        vid[0, t] += blob
        vid[1, t] += 0.5 * blob
    return vid


labels = torch.tensor([i % 3 for i in range(18)])
videos = torch.from_numpy(np.stack([make_video(int(lab)) for lab in labels]))
print("videos", videos.shape, videos.dtype, torch.bincount(labels).tolist())


def uniform_clip(video, n):
    idx = torch.linspace(0, video.shape[1] - 1, n).long()
    return video.index_select(1, idx), idx


def random_clip(video, n, gen):
    start = int(torch.randint(0, video.shape[1] - n + 1, (1,), generator=gen))
    return video[:, start:start + n]


clip, idx = uniform_clip(videos[0], T_CLIP)
print("uniform indices", idx.tolist(), clip.shape)


def temporal_shift(x, n_segment, fold_div=4):
    nt, c, h, w = x.size()
    x = x.view(nt // n_segment, n_segment, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]                        # shift left
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]        # shift right
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


def shift_by_roll(x, n_segment, fold_div=4):
    nt, c, h, w = x.shape
    x = x.view(-1, n_segment, c, h, w)
    fold = c // fold_div
    left = torch.roll(x[:, :, :fold], shifts=-1, dims=1)
    left[:, -1] = 0
    right = torch.roll(x[:, :, fold:2 * fold], shifts=1, dims=1)
    right[:, 0] = 0
    return torch.cat([left, right, x[:, :, 2 * fold:]], dim=2).flatten(0, 1)


probe = torch.randn(2 * T_CLIP, 8, 3, 3, dtype=torch.float64)
print("tsm == roll version",
      torch.equal(temporal_shift(probe, T_CLIP), shift_by_roll(probe, T_CLIP)))


class Conv2Plus1D(nn.Sequential):
    def __init__(self, cin, cout, mid):
        super().__init__(
            nn.Conv3d(cin, mid, kernel_size=(1, 3, 3), padding=(0, 1, 1), bias=False),
            nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
            nn.Conv3d(mid, cout, kernel_size=(3, 1, 1), padding=(1, 0, 0), bias=False))


class TSMBlock(nn.Module):
    def __init__(self, ch, n_segment):
        super().__init__()
        self.n_segment = n_segment
        self.conv = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(ch)

    def forward(self, x):                              # (N, C, T, H, W)
        n, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        y = self.bn(self.conv(temporal_shift(frames, self.n_segment)))
        y = y.reshape(n, t, c, h, w).permute(0, 2, 1, 3, 4)
        return F.relu(x + y)


class VideoNet(nn.Module):
    def __init__(self, n_class=3, ch=8):
        super().__init__()
        self.stem = nn.Sequential(Conv2Plus1D(2, ch, 6), nn.BatchNorm3d(ch), nn.ReLU(inplace=True),
                                  nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2)))
        self.tsm = TSMBlock(ch, T_CLIP)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(ch, n_class)
        self.dropout = nn.Dropout(p=0.0)

    def forward(self, x):
        x = self.tsm(self.stem(x))
        return self.fc(self.dropout(self.pool(x).flatten(1)))


model = VideoNet().double()
for m in model.modules():
    if isinstance(m, nn.Conv3d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    elif isinstance(m, (nn.BatchNorm3d, nn.BatchNorm2d)):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
print(model.stem[0], model.stem[3])
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[5, 8], gamma=0.3)
gen = torch.Generator().manual_seed(2)

for epoch in range(10):
    model.train()
    clips = torch.stack([random_clip(v, T_CLIP, gen) for v in videos])
    loss = F.cross_entropy(model(clips), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if epoch % 3 == 0:
        print(f"epoch {epoch} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.4f}")

model.eval()
with torch.no_grad():
    views = [videos[:, :, s:s + T_CLIP] for s in range(0, T_FULL - T_CLIP + 1, 4)]
    probs = torch.stack([model(v).softmax(-1) for v in views]).mean(0)
    acc = (probs.argmax(-1) == labels).double().mean()
print("views", len(views), "acc", f"{acc.item():.3f}", probs[:3].round(decimals=3))
print("bn3d", model.stem[1].running_mean.round(decimals=4), model.stem[1].num_batches_tracked)
