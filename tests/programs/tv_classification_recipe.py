"""torchvision classification reference recipe, shrunk: FakeData through a transforms.v2 training
pipeline (RandomResizedCrop, TrivialAugmentWide, RandomErasing), MixUp/CutMix chosen per batch in
the collate function, label-smoothed cross entropy on soft targets, a ResNet-18 with a replaced
head, linear LR warmup chained into cosine decay, and an EMA copy of the weights kept with
``torch.optim.swa_utils.AveragedModel`` (as the reference's ``--model-ema`` does)."""
import torch
import torch.nn as nn
import torchvision
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, default_collate
from torchvision.transforms import v2

torch.manual_seed(0)
NUM_CLASSES = 4
mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

train_tf = v2.Compose([
    v2.ToImage(),
    v2.RandomResizedCrop(32, antialias=True),
    v2.RandomHorizontalFlip(0.5),
    v2.TrivialAugmentWide(),
    v2.ToDtype(torch.float32, scale=True),
    v2.Normalize(mean, std),
    v2.RandomErasing(p=0.25),
])
eval_tf = v2.Compose([v2.ToImage(), v2.Resize(36, antialias=True), v2.CenterCrop(32),
                      v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])

train_set = torchvision.datasets.FakeData(size=16, image_size=(3, 40, 40),
                                          num_classes=NUM_CLASSES, transform=train_tf,
                                          random_offset=3)
val_set = torchvision.datasets.FakeData(size=8, image_size=(3, 40, 40),
                                        num_classes=NUM_CLASSES, transform=eval_tf,
                                        random_offset=99)
img, label = train_set[0]
print("sample", type(img).__name__, tuple(img.shape), img.dtype, label)
print("sample stats", round(img.mean().item(), 3), round(img.std().item(), 3))

mix = v2.RandomChoice([v2.MixUp(alpha=0.2, num_classes=NUM_CLASSES),
                       v2.CutMix(alpha=1.0, num_classes=NUM_CLASSES)])


def collate_fn(batch):
    return mix(*default_collate(batch))


loader = DataLoader(train_set, batch_size=8, shuffle=True, collate_fn=collate_fn)
val_loader = DataLoader(val_set, batch_size=8)

model = torchvision.models.resnet18(weights=None)
model.fc = nn.Linear(model.fc.in_features, NUM_CLASSES)
print("params", sum(p.numel() for p in model.parameters()))

criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
params_bn = [p for n, p in model.named_parameters() if p.ndim <= 1]
params_w = [p for n, p in model.named_parameters() if p.ndim > 1]
optimizer = torch.optim.SGD([{"params": params_w, "weight_decay": 1e-4},
                             {"params": params_bn, "weight_decay": 0.0}],
                            lr=0.01, momentum=0.9, nesterov=True)
epochs, warmup = 3, 1
warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs - warmup,
                                                    eta_min=1e-3)
scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warm, cosine],
                                                  milestones=[warmup])
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)


def evaluate(net):
    net.eval()
    correct, total, loss = 0, 0, 0.0
    with torch.inference_mode():
        for x, y in val_loader:
            out = net(x)
            loss += nn.functional.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
            total += y.numel()
    return round(loss / total, 3), correct


for epoch in range(epochs):
    model.train()
    for step, (x, y) in enumerate(loader):
        if epoch == 0 and step == 0:
            print("batch", tuple(x.shape), tuple(y.shape), y.dtype,
                  [round(v, 3) for v in y.sum(0).tolist()])
        out = model(x)
        loss = criterion(out, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        ema.update_parameters(model)
        print(f"epoch {epoch} step {step} loss {loss.item():.3f}")
    scheduler.step()
    print("lr", [round(g["lr"], 5) for g in optimizer.param_groups])

print("n_averaged", ema.n_averaged.item())
print("model eval", evaluate(model))
print("ema eval", evaluate(ema.module))
diff = max((a - b).abs().max().item()
           for a, b in zip(model.state_dict().values(), ema.module.state_dict().values())
           if a.is_floating_point())
print("ema differs", diff > 1e-4)
