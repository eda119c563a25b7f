"""Fine-tuning torchvision model-zoo builders with a replaced head, as the transfer-learning
tutorial and the classification reference do for each family: build with ``weights=None``
(a ViT from its class, small), swap the last layer for a 5-class one (``fc``,
``classifier[-1]``, ``heads.head``, squeezenet's 1x1 conv), freeze the backbone for a
linear probe, then take one AdamW step on label-smoothed cross entropy.
The images come through ``RandAugment``/``AutoAugment`` on uint8 batches."""
import torch
import torch.nn as nn
import torchvision
from torchvision.transforms import v2

torch.manual_seed(0)
NUM_CLASSES = 5

images = torch.randint(0, 256, (4, 3, 40, 40), dtype=torch.uint8)
labels = torch.tensor([0, 3, 1, 4])
augment = v2.Compose([v2.RandomChoice([v2.RandAugment(num_ops=2, magnitude=9),
                                       v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)]),
                      v2.CenterCrop(32), v2.ToDtype(torch.float32, scale=True),
                      v2.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])])
batch = torch.stack([augment(img) for img in images])
print("batch", tuple(batch.shape), round(batch.mean().item(), 4), round(batch.std().item(), 4))


def replace_head(name, model):
    if name.startswith(("resnet", "regnet", "shufflenet")):
        model.fc = nn.Linear(model.fc.in_features, NUM_CLASSES)
        return model.fc
    if name.startswith("squeezenet"):
        model.classifier[1] = nn.Conv2d(512, NUM_CLASSES, kernel_size=1)
        model.num_classes = NUM_CLASSES
        return model.classifier[1]
    if name.startswith("vit"):
        model.heads.head = nn.Linear(model.heads.head.in_features, NUM_CLASSES)
        return model.heads.head
    last = model.classifier[-1]
    model.classifier[-1] = nn.Linear(last.in_features, NUM_CLASSES)
    return model.classifier[-1]


builders = {
    "resnet18": {},
    "mobilenet_v3_small": {},
    "efficientnet_b0": {},
    "regnet_y_400mf": {},
    "shufflenet_v2_x0_5": {},
    "squeezenet1_1": {},
    "convnext_tiny": {"stochastic_depth_prob": 0.1},
}
# vit_b_16's builder takes image_size, but its 86M weights are too slow to initialise here: the
# same VisionTransformer class, narrower and shallower
vit_config = dict(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64,
                  mlp_dim=128, attention_dropout=0.1)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
for name, kwargs in [*builders.items(), ("vit_small", vit_config)]:
    torch.manual_seed(1)
    if name == "vit_small":
        model = torchvision.models.VisionTransformer(**kwargs)
    else:
        model = torchvision.models.get_model(name, weights=None, **kwargs)
    total = sum(p.numel() for p in model.parameters())
    head = replace_head(name, model)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in head.parameters():
        p.requires_grad_(True)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    model.eval()  # linear probe: BatchNorm statistics and dropout stay frozen
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2,
                            weight_decay=0.05)
    out = model(batch)
    loss = criterion(out, labels)
    opt.zero_grad()
    loss.backward()
    grad_norm = head.weight.grad.norm().item()
    opt.step()
    with torch.no_grad():
        after = criterion(model(batch), labels).item()
    print(f"{name:20s} params {total:9d} trainable {trainable:5d} out {tuple(out.shape)} "
          f"loss {loss.item():.4f} -> {after:.4f} grad {grad_norm:.4f}")
