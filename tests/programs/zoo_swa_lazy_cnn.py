"""A multi-label image tagger built from lazy layers and trained with stochastic weight
averaging, following the PyTorch SWA recipe ("Stochastic Weight Averaging in PyTorch" blog and
the ``torch.optim.swa_utils`` docs): ``AveragedModel`` collects the weights from ``swa_start`` on,
``SWALR`` anneals to a constant SWA learning rate, and ``update_bn`` recomputes the BatchNorm
statistics of the averaged network at the end. ``nn.LazyConv2d``/``nn.LazyLinear`` infer their
input sizes on a dry run (shapes printed before and after materialisation). The network uses
``CircularPad2d`` (periodic images), ``RReLU`` (random slopes in training, fixed in eval) and a
``Softmax2d`` spatial attention map; the loss is ``MultiLabelSoftMarginLoss``. A
``ReflectionPad3d`` smoothing of a small volume and a ``CircularPad2d`` whose negative pad crops
before it wraps end the program."""
import torch
import torch.nn as nn
from torch.optim.swa_utils import SWALR, AveragedModel, update_bn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# periodic 12x12 images; tag k is present when pattern k (a stripe orientation) is drawn
n, size, n_tags = 96, 12, 3
coords = torch.arange(size).float()
yy, xx = torch.meshgrid(coords, coords, indexing="ij")
patterns = torch.stack([torch.sin(xx * 2.0944), torch.sin(yy * 2.0944),
                        torch.sin((xx + yy) * 1.5708)])
tags = (torch.rand(n, n_tags) < 0.5).float()
images = (tags[:, :, None, None] * patterns).sum(1, keepdim=True) + 0.3 * torch.randn(n, 1, 12, 12)
loader = DataLoader(TensorDataset(images, tags), batch_size=16, shuffle=True)


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.CircularPad2d(1), nn.LazyConv2d(8, 3), nn.BatchNorm2d(8), nn.RReLU(0.1, 0.3),
            nn.CircularPad2d((1, 1, 1, 1)), nn.LazyConv2d(8, 3), nn.BatchNorm2d(8),
            nn.RReLU(0.1, 0.3),
        )
        self.attend = nn.Sequential(nn.Conv2d(8, 2, 1), nn.Softmax2d())
        self.head = nn.LazyLinear(n_tags)

    def forward(self, x):
        h = self.features(x)
        att = self.attend(h)[:, :1]  # softmax over the two maps at every pixel
        pooled = (h * att).flatten(2).mean(-1)
        return self.head(torch.cat([pooled, h.mean(dim=(2, 3))], 1))


model = Tagger()
print("before dry run", model.features[1].weight.__class__.__name__, model.head.in_features,
      model.features[1].in_channels)
model(images[:2])  # the dry run materialises every lazy module
print("after dry run", type(model.features[1]).__name__, tuple(model.features[1].weight.shape),
      type(model.head).__name__, tuple(model.head.weight.shape))
print("parameters", sum(p.numel() for p in model.parameters()))

rrelu = nn.RReLU(0.1, 0.3)
probe = -torch.ones(6)
print("rrelu train slopes", [round(v, 4) for v in (-rrelu(probe)).tolist()])
rrelu.eval()
print("rrelu eval slope", round(-rrelu(probe)[0].item(), 4), "=", (0.1 + 0.3) / 2)
sm = nn.Softmax2d()(torch.randn(1, 3, 2, 2))
print("softmax2d channel sums", [round(v, 4) for v in sm.sum(1).flatten().tolist()])

criterion = nn.MultiLabelSoftMarginLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
swa_model = AveragedModel(model)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
swa_start = 6
swa_scheduler = SWALR(optimizer, swa_lr=0.02, anneal_epochs=3, anneal_strategy="linear")
for epoch in range(10):
    model.train()
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    if epoch >= swa_start:
        swa_model.update_parameters(model)
        swa_scheduler.step()
        which = "swa"
    else:
        scheduler.step()
        which = "cos"
    print(f"epoch {epoch} loss {total / n:.4f} {which} lr {optimizer.param_groups[0]['lr']:.5f}",
          "averaged", swa_model.n_averaged.item())

bn = swa_model.module.features[2]
print("swa bn mean before update_bn", [round(v, 4) for v in bn.running_mean[:3].tolist()])
update_bn(loader, swa_model)
print("swa bn mean after update_bn", [round(v, 4) for v in bn.running_mean[:3].tolist()],
      "batches tracked", bn.num_batches_tracked.item())


def accuracy(net):
    net.eval()
    with torch.no_grad():
        logits = net(images)
    return ((logits > 0).float() == tags).float().mean().item()


print("accuracy last", round(accuracy(model), 4), "swa", round(accuracy(swa_model), 4))
with torch.no_grad():
    swa_loss = criterion(swa_model(images), tags).item()
print("swa eval loss", round(swa_loss, 4))
print("swa state keys", list(swa_model.state_dict().keys())[:3])

# a reflection-padded 3-D box filter keeps the volume's edges from fading
volume = torch.arange(27.0).reshape(1, 1, 3, 3, 3)
pad = nn.ReflectionPad3d(1)
padded = pad(volume)
print("reflection pad3d", tuple(padded.shape), padded[0, 0, 0, 0].tolist())
smooth = nn.functional.avg_pool3d(padded, 3, stride=1)
print("smoothed corner", round(smooth[0, 0, 0, 0, 0].item(), 4), "centre",
      round(smooth[0, 0, 1, 1, 1].item(), 4))
print("circular pad2d", nn.CircularPad2d((1, 0, 0, 1))(torch.arange(4.0).reshape(1, 1, 2, 2))
      .squeeze().tolist())
# a negative pad crops first, and the wrap-around reads the cropped image
tile = torch.arange(12.0).reshape(1, 1, 3, 4)
print("circular crop+wrap", nn.CircularPad2d((-1, 1, 0, 2))(tile).squeeze().tolist())
