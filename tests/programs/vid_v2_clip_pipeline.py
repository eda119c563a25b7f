"""A video-classification input pipeline with torchvision's transforms v2, as in the
torchvision video-classification reference and PyTorchVideo recipes: uint8 ``tv_tensors.Video``
clips ``(T, C, H, W)``, ``UniformTemporalSubsample``, ``Resize`` with antialias on uint8 frames
(torch's integer resampling kernel), ``RandomResizedCrop``, ``RandomHorizontalFlip``,
``ToDtype(float32, scale=True)`` and ``Normalize`` with Kinetics statistics, all under one
seeded draw per clip; ``F.get_num_frames``; the batch permuted to ``(N, C, T, H, W)`` for a tiny
``Conv3d`` classifier trained a few steps with label smoothing."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms.v2 as T
import torchvision.transforms.v2.functional as TF
from torchvision import tv_tensors

torch.manual_seed(0)
rng = np.random.default_rng(3)


def make_clip(label, frames=21, h=18, w=22):
    yy, xx = np.mgrid[:h, :w]
    clip = np.zeros((frames, 3, h, w))
    for t in range(frames):
        cx = (3 + t * (1.0 if label == 0 else -1.0 if label == 1 else 0.0)) % w
        blob = np.exp(-((yy - h / 2) ** 2 + (xx - cx) ** 2) / 6.0)
        clip[t] = 200 * blob[None] * np.array([1.0, 0.6, 0.3])[:, None, None]
    clip += rng.uniform(0, 40, clip.shape)
    return tv_tensors.Video(torch.from_numpy(np.clip(clip, 0, 255).astype(np.uint8)))


clips = [make_clip(i % 3) for i in range(12)]
labels = torch.tensor([i % 3 for i in range(12)])
print("clip", type(clips[0]).__name__, tuple(clips[0].shape), clips[0].dtype,
      TF.get_num_frames(clips[0]))

train_tf = T.Compose([
    T.UniformTemporalSubsample(8),
    T.Resize((14, 16), antialias=True),
    T.RandomResizedCrop((12, 12), scale=(0.6, 1.0), antialias=True),
    T.RandomHorizontalFlip(),
    T.ToDtype(torch.float32, scale=True),
    T.Normalize(mean=[0.43216, 0.394666, 0.37645], std=[0.22803, 0.22145, 0.216989]),
])
eval_tf = T.Compose([T.UniformTemporalSubsample(8), T.Resize((12, 12), antialias=True),
                     T.ToDtype(torch.float32, scale=True),
                     T.Normalize(mean=[0.43216, 0.394666, 0.37645],
                                 std=[0.22803, 0.22145, 0.216989])])
print(train_tf.transforms[0], train_tf.transforms[1])

resized = T.Resize((14, 16), antialias=True)(T.UniformTemporalSubsample(8)(clips[0]))
print("uint8 resize", resized.dtype, tuple(resized.shape), int(resized.sum()),
      resized[0, 0, 0, :6].tolist())
sample = train_tf(clips[1])
print("train clip", type(sample).__name__, tuple(sample.shape), sample.dtype,
      round(sample.mean().item(), 4), round(sample.std().item(), 4))

model = nn.Sequential(nn.Conv3d(3, 6, (3, 3, 3), padding=1), nn.BatchNorm3d(6), nn.ReLU(),
                      nn.AdaptiveAvgPool3d((2, 1, 1)), nn.Flatten(), nn.Linear(12, 3)).double()
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for epoch in range(4):
    batch = torch.stack([train_tf(c) for c in clips]).permute(0, 2, 1, 3, 4).double()
    loss = F.cross_entropy(model(batch), labels, label_smoothing=0.1)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"epoch {epoch} batch {tuple(batch.shape)} loss {loss.item():.4f}")

model.eval()
with torch.no_grad():
    batch = torch.stack([eval_tf(c) for c in clips]).permute(0, 2, 1, 3, 4).double()
    probs = model(batch).softmax(-1)
print("eval acc", (probs.argmax(-1) == labels).double().mean().item(), probs[:2].round(decimals=3))
