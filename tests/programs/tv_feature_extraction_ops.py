"""torchvision's feature-extraction tutorial and ``torchvision.ops`` building blocks: list a
ResNet-18's graph nodes with ``get_graph_node_names``, pull intermediate features (including
a node inside a residual block) with ``create_feature_extractor``, then assemble a small
ConvNeXt/MobileNet-style classifier from ``Conv2dNormActivation``, ``SqueezeExcitation``,
``Permute``, ``StochasticDepth`` and ``MLP`` and train it a few steps; finally the detection
post-processing helpers (``box_iou``, box clipping and filtering, ``sigmoid_focal_loss``,
``masks_to_boxes``, ``roi_align``, IoU losses) on toy boxes, as a detector's head uses them."""
import torch
import torch.nn as nn
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names
from torchvision.ops import (MLP, Conv2dNormActivation, Permute, SqueezeExcitation,
                             StochasticDepth)

torch.manual_seed(0)

# --- feature extraction ------------------------------------------------------------------
resnet = torchvision.models.resnet18(weights=None).eval()
train_nodes, eval_nodes = get_graph_node_names(resnet)
print("nodes", len(train_nodes), len(eval_nodes), train_nodes[:4], eval_nodes[-3:])
print("layer2 nodes", [n for n in eval_nodes if n.startswith("layer2.0")][:6])
return_nodes = {"layer1": "c2", "layer2.1.relu_1": "c3_relu", "layer4": "c5", "flatten": "vec"}
extractor = create_feature_extractor(resnet, return_nodes=return_nodes)
x = torch.rand(2, 3, 64, 64)
with torch.no_grad():
    feats = extractor(x)
    logits = resnet(x)
for k, v in feats.items():
    print(k, tuple(v.shape), round(v.mean().item(), 4), round(v.abs().max().item(), 4))
print("same pooled features", torch.allclose(resnet.fc(feats["vec"]), logits, atol=1e-5))


# --- ops building blocks --------------------------------------------------------------------
class Block(nn.Module):
    """A ConvNeXt block with an SE gate: depthwise conv, channels-last MLP, layer scale."""

    def __init__(self, dim, sd_prob):
        super().__init__()
        self.dw = Conv2dNormActivation(dim, dim, kernel_size=3, groups=dim,
                                       activation_layer=nn.Hardswish)
        self.se = SqueezeExcitation(dim, dim // 4, scale_activation=nn.Hardsigmoid)
        self.to_last = Permute([0, 2, 3, 1])
        self.norm = nn.LayerNorm(dim)
        self.mlp = MLP(dim, [4 * dim, dim], activation_layer=nn.GELU, dropout=0.0)
        self.to_first = Permute([0, 3, 1, 2])
        self.gamma = nn.Parameter(torch.full((dim, 1, 1), 0.5))
        self.drop = StochasticDepth(sd_prob, "row")

    def forward(self, x):
        y = self.to_first(self.mlp(self.norm(self.to_last(self.se(self.dw(x))))))
        return x + self.drop(self.gamma * y)


net = nn.Sequential(
    Conv2dNormActivation(3, 16, kernel_size=3, stride=2),
    Block(16, 0.0), Block(16, 0.2),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    MLP(16, [32, 3], norm_layer=nn.BatchNorm1d, dropout=0.1, inplace=False),
)
print(net[0], net[1].drop, sep="\n")
print("block params", sum(p.numel() for p in net[1].parameters()))
data = torch.rand(8, 3, 16, 16)
target = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for step in range(4):
    net.train()
    loss = nn.functional.cross_entropy(net(data), target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print("step", step, round(loss.item(), 4))
net.eval()
with torch.no_grad():
    print("eval logits", [round(v, 3) for v in net(data[:2]).flatten().tolist()])
sd = StochasticDepth(0.5, "batch")
print("batch-mode drop", sorted({round(v, 1) for v in sd(torch.ones(4, 2)).flatten().tolist()}))

# --- detection helpers ----------------------------------------------------------------------
boxes = torch.tensor([[10., 10., 50., 50.], [12., 12., 48., 52.], [60., 60., 90., 95.],
                      [11., 9., 49., 51.], [62., 58., 88., 96.], [0., 0., 20., 20.]])
print("iou\n", torchvision.ops.box_iou(boxes[:3], boxes).round(decimals=4))
print("giou", torchvision.ops.generalized_box_iou(boxes[:2], boxes[2:4]).round(decimals=4))
clipped = torchvision.ops.clip_boxes_to_image(boxes - 5.0, (80, 85))
print("clipped", clipped.tolist())
print("keep small", torchvision.ops.remove_small_boxes(clipped, min_size=20.0).tolist())
print("diou", torchvision.ops.distance_box_iou(boxes[:2], boxes[2:4]).round(decimals=4))
for loss_fn in [torchvision.ops.generalized_box_iou_loss, torchvision.ops.complete_box_iou_loss]:
    print(loss_fn.__name__, round(loss_fn(boxes[:3], boxes[3:], reduction="mean").item(), 4))
print("cxcywh", torchvision.ops.box_convert(boxes[:2], "xyxy", "cxcywh").tolist())
print("area", torchvision.ops.box_area(boxes).tolist())

logits = torch.randn(6, 4)
onehot = torch.zeros(6, 4)
onehot[torch.arange(6), torch.tensor([0, 3, 1, 1, 2, 0])] = 1.0
for reduction in ["none", "mean", "sum"]:
    fl = torchvision.ops.sigmoid_focal_loss(logits, onehot, alpha=0.25, gamma=2.0,
                                            reduction=reduction)
    print("focal", reduction, round(fl.sum().item(), 5), tuple(fl.shape))

masks = torch.zeros(3, 32, 32, dtype=torch.bool)
masks[0, 4:10, 6:20] = True
masks[1, 15:31, 2:5] = True
masks[2, 0, 0] = True
print("masks_to_boxes", torchvision.ops.masks_to_boxes(masks).tolist())

fmap = torch.rand(2, 3, 16, 16) + torch.arange(16.0)
rois = torch.tensor([[0, 1.0, 1.0, 9.0, 7.0], [1, 4.5, 2.25, 14.0, 15.5], [0, 0.0, 0.0, 3.0, 3.0]])
for aligned in [False, True]:
    pooled = torchvision.ops.roi_align(fmap, rois, output_size=(2, 3), spatial_scale=0.5,
                                       sampling_ratio=2, aligned=aligned)
    print("roi_align", aligned, tuple(pooled.shape),
          [round(v, 4) for v in pooled[:, 0, 0, :].flatten().tolist()])
per_image = [boxes[:2], boxes[2:5]]
# boxes in image pixels, the 16x16 map at stride 8: every box stays inside the map
pooled = torchvision.ops.roi_align(fmap, per_image, output_size=2, spatial_scale=0.125)
print("roi_align list", tuple(pooled.shape), round(pooled.sum().item(), 3))
pooled = torchvision.ops.RoIAlign(output_size=(2, 2), spatial_scale=0.125, sampling_ratio=-1)
print(pooled, round(pooled(fmap, per_image).mean().item(), 4))
