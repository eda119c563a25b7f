"""Video action recognition with torchvision's video models, after torchvision's video
classification reference scripts (``references/video_classification``) and the "Video
classification" section of its model-zoo documentation.

The reference builds a model by name (``torchvision.models.get_model``), feeds clips shaped
(N, C, T, H, W), and fine-tunes with SGD; the model-zoo page shows the ``*_Weights`` enums and
their metadata. Nothing can be downloaded here, so the backbones keep their seeded random
initialisation: an R(2+1)D-18 is frozen as a feature extractor and only a new head learns to
tell a square moving right from one moving left in synthetic clips. S3D and MViT v2 run one
clip each in eval mode.
"""

import torch
import torchvision
from torch import nn

torch.manual_seed(0)

video = torchvision.models.video
print("video models:", [n for n in torchvision.models.list_models(module=video)
                        if not n.startswith("swin3d")])
weights = torchvision.models.get_model_weights("r2plus1d_18").DEFAULT
print("r2plus1d_18 default:", weights, "params", weights.meta["num_params"],
      "min_size", weights.meta["min_size"])
print("mvit_v2_s min frames:", video.MViT_V2_S_Weights.DEFAULT.meta["min_temporal_size"])


def make_clips(n, frames=4, size=32):
    """Clips of a bright 8x8 square crossing the frame; label 0 moves right, 1 moves left."""
    clips = torch.zeros(n, 3, frames, size, size)
    labels = torch.randint(0, 2, (n,))
    rows = torch.randint(0, size - 8, (n,))
    for i in range(n):
        for t in range(frames):
            step = 6 * t if labels[i] == 0 else 6 * (frames - 1 - t)
            r = int(rows[i])
            clips[i, :, t, r:r + 8, step:step + 8] = 1.0
    return clips + 0.1 * torch.randn_like(clips), labels


model = torchvision.models.get_model("r2plus1d_18", weights=None)
model.fc = nn.Linear(model.fc.in_features, 2)
for name, param in model.named_parameters():
    param.requires_grad = name.startswith("fc.")
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("trainable parameters:", trainable)

clips, labels = make_clips(8)
# the frozen backbone runs once in eval mode; the head trains on its pooled features
model.eval()
backbone = nn.Sequential(model.stem, model.layer1, model.layer2, model.layer3, model.layer4,
                         model.avgpool, nn.Flatten())
with torch.no_grad():
    features = backbone(clips)
print("features:", tuple(features.shape), "mean", round(features.mean().item(), 4))

optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.5, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(30):
    optimizer.zero_grad()
    loss = loss_fn(model.fc(features), labels)
    loss.backward()
    optimizer.step()
    if epoch % 10 == 0 or epoch == 29:
        print(f"epoch {epoch:2d} loss {loss.item():.4f}")
with torch.no_grad():
    accuracy = (model(clips).argmax(1) == labels).float().mean().item()
print("train accuracy:", round(accuracy, 3))

# S3D needs 13+ frames of 224 x 224; its head averages the per-position scores
s3d = video.s3d(num_classes=2).eval()
with torch.no_grad():
    scores = s3d(torch.randn(1, 3, 13, 224, 224))
print("s3d scores:", [round(v, 3) for v in scores[0].tolist()])

# MViT v2 (pooling attention, relative positions) accepts exactly 16 x 224 x 224 clips
mvit = video.mvit_v2_s(num_classes=2).eval()
print("mvit blocks:", len(mvit.blocks), "rel_pos_h", tuple(mvit.blocks[0].attn.rel_pos_h.shape))
