"""A survey of torchvision's model zoo as its "models and pre-trained weights" docs show it:
``list_models`` (all, per module, with include/exclude patterns), ``get_model_weights`` and the
weight enums' metadata (parameter counts, metrics, GFLOPS, categories, preset transforms),
parameter counts of several families built on the ``meta`` device (no memory, no init),
``get_graph_node_names`` and ``create_feature_extractor`` on Swin, ConvNeXt and
EfficientNetV2, and a video classifier on a tiny clip. ``weights=None`` throughout."""
import warnings

import torch
import torchvision
from torchvision.models import get_model, get_model_weights, get_weight, list_models
from torchvision.models.feature_extraction import (create_feature_extractor,
                                                   get_graph_node_names)

torch.manual_seed(0)
warnings.filterwarnings("ignore", category=FutureWarning)

every = list_models()
print("models", len(every), every[:3])
for module in [torchvision.models.quantization, torchvision.models.segmentation,
               torchvision.models.video, torchvision.models.optical_flow,
               torchvision.models.detection]:
    names = list_models(module=module)
    print(module.__name__.split(".")[-1], len(names), names[:3])
print("vit-ish", list_models(include="vit_*"), "no b16",
      list_models(include="vit_*", exclude=["*_16", "*_14"]))
print("efficientnet_v2", list_models(include="efficientnet_v2*"))

for name in ["resnet50", "swin_v2_t", "efficientnet_v2_s", "maxvit_t", "mnasnet0_5"]:
    enum = get_model_weights(name)
    best = enum.DEFAULT
    meta = best.meta
    print(name, enum.__name__, [w.name for w in enum], "default", best.name)
    print("  params", meta["num_params"], "min size", meta.get("min_size"))
w = get_weight("ResNet50_Weights.IMAGENET1K_V2")
print("get_weight", w is torchvision.models.ResNet50_Weights.IMAGENET1K_V2,
      w.url.rsplit("/", 1)[-1])

with torch.device("meta"):
    for name in ["resnet18", "convnext_tiny", "swin_t", "efficientnet_v2_s", "maxvit_t",
                 "googlenet", "inception_v3", "mnasnet1_0", "r3d_18",
                 "raft_small", "mvit_v2_s"]:
        model = get_model(name, weights=None)
        count = sum(p.numel() for p in model.parameters())
        device = next(model.parameters()).device
        print("meta", name, count, device.type)

x = torch.rand(1, 3, 64, 64)
extractors = {
    "swin_t": (torchvision.models.swin_t, {"features.1": "stage1", "features.3": "stage2",
                                           "norm": "final"}),
    "convnext_tiny": (torchvision.models.convnext_tiny, ["features.1", "features.3",
                                                         "features.5"]),
    "efficientnet_v2_s": (torchvision.models.efficientnet_v2_s, {"features.2": "c2",
                                                                 "features.4": "c4",
                                                                 "avgpool": "pool"}),
}
for name, (build, nodes) in extractors.items():
    model = build(weights=None).eval()
    train_nodes, eval_nodes = get_graph_node_names(model)
    print(name, "nodes", len(train_nodes), len(eval_nodes), train_nodes[:3], eval_nodes[-2:])
    extractor = create_feature_extractor(model, return_nodes=nodes)
    with torch.no_grad():
        feats = extractor(x)
    for key, value in feats.items():
        print("  ", key, tuple(value.shape), round(value.float().std().item(), 3))

video = torchvision.models.video.r3d_18(weights=None, num_classes=5).eval()
clip = torch.rand(1, 3, 4, 32, 32)
with torch.no_grad():
    logits = video(clip)
print("r3d_18 logits", tuple(logits.shape), [round(v, 3) for v in logits[0].tolist()])
print("video weights", [w.name for w in torchvision.models.video.R3D_18_Weights],
      torchvision.models.video.R3D_18_Weights.DEFAULT.meta["_metrics"])
