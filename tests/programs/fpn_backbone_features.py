"""Multi-scale features for a two-stage detector, in the manner of torchvision's
``resnet_fpn_backbone`` and the detection tutorials: a ``torchvision.models.resnet18``
(``weights=None``) whose ``layer1``..``layer4`` outputs are caught with forward hooks, a
``torchvision.ops.FeaturePyramidNetwork`` with a ``LastLevelMaxPool`` extra level, and
``MultiScaleRoIAlign`` pooling proposals from the levels their size maps to; then a
``mobilenet_v2`` feature trunk feeding a light RoI head, one SGD step on a box-regression
loss, and ``box_iou`` between proposals. Everything is drawn from ``torch.manual_seed``."""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign, box_iou
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

torch.manual_seed(0)

backbone = torchvision.models.resnet18(weights=None)
backbone.eval()
captured = OrderedDict()


def keep_output(name):
    def hook(module, inputs, output):
        captured[name] = output
    return hook


for i, layer in enumerate(["layer1", "layer2", "layer3", "layer4"]):
    getattr(backbone, layer).register_forward_hook(keep_output(f"feat{i}"))

images = torch.rand(2, 3, 128, 96)
with torch.no_grad():
    logits = backbone(images)
print("classifier logits", tuple(logits.shape), round(logits.std().item(), 4))
for name, f in captured.items():
    print(name, tuple(f.shape), round(f.mean().item(), 4))

fpn = FeaturePyramidNetwork([64, 128, 256, 512], out_channels=32,
                            extra_blocks=LastLevelMaxPool())
with torch.no_grad():
    pyramid = fpn(OrderedDict(captured))
for name, f in pyramid.items():
    print("fpn", name, tuple(f.shape), round(f.abs().mean().item(), 4))

proposals = [torch.tensor([[4.0, 4.0, 36.0, 40.0], [10.0, 20.0, 90.0, 120.0],
                           [0.0, 0.0, 16.0, 16.0]]),
             torch.tensor([[30.0, 30.0, 60.0, 90.0], [5.0, 50.0, 95.0, 127.0]])]
pooler = MultiScaleRoIAlign(["feat0", "feat1", "feat2", "feat3"], output_size=7,
                            sampling_ratio=2)
with torch.no_grad():
    pooled = pooler(pyramid, proposals, [(128, 96), (128, 96)])
print("pooled", tuple(pooled.shape), [round(v, 4) for v in pooled.mean(dim=(1, 2, 3)).tolist()])
print("proposal IoU\n", box_iou(proposals[0], proposals[1]).round(decimals=4))

# A second trunk: MobileNetV2 features (stride 32) and a small RoI box head trained one step.
mobile = torchvision.models.mobilenet_v2(weights=None).features
mobile.train()  # batch statistics: the freshly initialised trunk is not calibrated
single = MultiScaleRoIAlign(["0"], output_size=4, sampling_ratio=2)
head = nn.Sequential(nn.Flatten(), nn.Linear(1280 * 16, 64), nn.ReLU(), nn.Linear(64, 4))
opt = torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9)
with torch.no_grad():
    trunk = mobile(images)
print("mobilenet features", tuple(trunk.shape), round(trunk.mean().item(), 4))
targets = torch.cat(proposals) + torch.tensor([2.0, -2.0, 3.0, 1.0])
for step in range(3):
    rois = single(OrderedDict([("0", trunk)]), proposals, [(128, 96), (128, 96)])
    deltas = head(rois)
    loss = F.smooth_l1_loss(torch.cat(proposals) + deltas, targets, beta=1.0)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"head step {step} loss {loss.item():.4f}")
