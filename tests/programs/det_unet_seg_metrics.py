"""A small U-Net trained for semantic segmentation of synthetic shapes, in the manner of the
many "U-Net / DeepLab from scratch" repositories and the torchvision segmentation reference's
metrics: encoder blocks of ``torchvision.ops.Conv2dNormActivation`` with ``SqueezeExcitation``,
``DropBlock2d`` and ``StochasticDepth`` on a residual branch, cross-entropy plus a multi-class
dice loss written with ``F.one_hot(...).permute(0, 3, 1, 2)``, a Lovasz-softmax loss (sorting
errors with ``torch.sort(descending=True)`` and ``cumsum``), and evaluation with a
``torch.bincount`` confusion matrix (pixel accuracy, per-class IoU, mean IoU). The predicted
masks are turned into boxes with ``masks_to_boxes``, drawn with ``draw_segmentation_masks`` and
tiled with ``make_grid``. Everything is drawn from ``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import (
    Conv2dNormActivation,
    DropBlock2d,
    SqueezeExcitation,
    StochasticDepth,
    masks_to_boxes,
)
from torchvision.utils import draw_segmentation_masks, make_grid

torch.manual_seed(0)
IMG, NUM_CLASSES = 32, 3  # background, squares, discs


def make_batch(n):
    images = 0.2 * torch.randn(n, 3, IMG, IMG)
    masks = torch.zeros(n, IMG, IMG, dtype=torch.long)
    yy, xx = torch.meshgrid(torch.arange(IMG), torch.arange(IMG), indexing="ij")
    for i in range(n):
        x0, y0 = torch.randint(2, 14, (2,)).tolist()
        s = int(torch.randint(6, 12, ()).item())
        masks[i, y0:y0 + s, x0:x0 + s] = 1
        cx, cy = torch.randint(18, 28, (2,)).tolist()
        r = int(torch.randint(3, 6, ()).item())
        masks[i][(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = 2
    images[:, 0] += (masks == 1).float()
    images[:, 1] += (masks == 2).float()
    return images, masks


class Block(nn.Module):
    def __init__(self, cin, cout, p_drop):
        super().__init__()
        self.conv = nn.Sequential(
            Conv2dNormActivation(cin, cout, kernel_size=3),
            Conv2dNormActivation(cout, cout, kernel_size=3, activation_layer=None),
            SqueezeExcitation(cout, max(cout // 4, 1)),
        )
        self.skip = (nn.Identity() if cin == cout else
                     Conv2dNormActivation(cin, cout, kernel_size=1, activation_layer=None))
        self.drop = DropBlock2d(p=p_drop, block_size=3)
        self.depth = StochasticDepth(p=p_drop, mode="row")

    def forward(self, x):
        return F.relu(self.skip(x) + self.depth(self.drop(self.conv(x))))


class UNet(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.enc1, self.enc2 = Block(3, c, 0.1), Block(c, 2 * c, 0.1)
        self.mid = Block(2 * c, 4 * c, 0.2)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
        self.dec2 = Block(4 * c, 2 * c, 0.0)
        self.up1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.dec1 = Block(2 * c, c, 0.0)
        self.out = nn.Conv2d(c, NUM_CLASSES, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.out(d1)


def dice_loss(logits, target, eps=1.0):
    probs = logits.softmax(dim=1)
    one_hot = F.one_hot(target, NUM_CLASSES).permute(0, 3, 1, 2).float()
    dims = (0, 2, 3)
    inter = torch.sum(probs * one_hot, dims)
    card = torch.sum(probs + one_hot, dims)
    return 1 - ((2 * inter + eps) / (card + eps)).mean()


def lovasz_grad(gt_sorted):
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.float().cumsum(0)
    union = gts + (1 - gt_sorted).float().cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def lovasz_softmax(logits, target):
    probs = logits.softmax(1).permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES)
    labels = target.view(-1)
    losses = []
    for c in range(NUM_CLASSES):
        fg = (labels == c).float()
        if fg.sum() == 0:
            continue
        errors = (fg - probs[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
    return torch.stack(losses).mean()


class ConfusionMatrix:
    """Like the segmentation reference's ConfusionMatrix: bincount of target * n + pred."""

    def __init__(self, n):
        self.n, self.mat = n, None

    def update(self, target, pred):
        n = self.n
        if self.mat is None:
            self.mat = torch.zeros((n, n), dtype=torch.int64)
        with torch.inference_mode():
            k = (target >= 0) & (target < n)
            inds = n * target[k].to(torch.int64) + pred[k]
            self.mat += torch.bincount(inds, minlength=n ** 2).reshape(n, n)

    def compute(self):
        h = self.mat.float()
        acc_global = torch.diag(h).sum() / h.sum()
        acc = torch.diag(h) / h.sum(1)
        iu = torch.diag(h) / (h.sum(1) + h.sum(0) - torch.diag(h))
        return acc_global, acc, iu


model = UNet()
opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=10, power=0.9)
train_x, train_y = make_batch(8)
for step in range(10):
    model.train()
    logits = model(train_x)
    ce = F.cross_entropy(logits, train_y)
    dl = dice_loss(logits, train_y)
    lv = lovasz_softmax(logits, train_y)
    loss = ce + dl + 0.5 * lv
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 3 == 0 or step == 9:
        print(f"step {step} ce {ce.item():.3f} dice {dl.item():.4f} lovasz {lv.item():.4f} "
              f"lr {sched.get_last_lr()[0]:.5f}")

# the regularisers: identity in eval mode, random in train mode
x = torch.ones(2, 4, 8, 8)
db = DropBlock2d(p=0.3, block_size=3)
sd = StochasticDepth(p=0.5, mode="batch")
print(db, sd)
db.eval()
print("eval identity", bool(torch.equal(db(x), x)))
db.train()
y = db(x)
print("dropblock zeros", int((y == 0).sum()), "scale", round(y.max().item(), 4))
print("stochastic depth batch", [round(v, 4) for v in sd(x).flatten()[:1].tolist()],
      "row", StochasticDepth(0.5, "row")(x).sum(dim=(1, 2, 3)).tolist())

model.eval()
test_x, test_y = make_batch(4)
cm = ConfusionMatrix(NUM_CLASSES)
with torch.no_grad():
    out = model(test_x)
    pred = out.argmax(1)
    cm.update(test_y.flatten(), pred.flatten())
acc_global, acc, iu = cm.compute()
print("confusion", cm.mat.tolist())
print(f"pixel acc {acc_global.item() * 100:.2f}", "per-class acc",
      [f"{v:.1f}" for v in (acc * 100).tolist()], "IoU", [f"{v:.1f}" for v in (iu * 100).tolist()],
      f"mIoU {iu.mean().item() * 100:.2f}")

# boxes around each predicted object, skipping classes absent from an image
for i in range(2):
    masks = F.one_hot(pred[i], NUM_CLASSES).permute(2, 0, 1)[1:].bool()
    present = masks.flatten(1).any(1)
    boxes = masks_to_boxes(masks[present])
    gt_boxes = masks_to_boxes(F.one_hot(test_y[i], NUM_CLASSES).permute(2, 0, 1)[1:])
    print("image", i, "pred boxes", boxes.tolist(), "gt", gt_boxes.tolist(), boxes.dtype)

img = ((test_x[0, :3] - test_x[0, :3].min()) / (test_x[0, :3].max() - test_x[0, :3].min())
       * 255).to(torch.uint8)
all_masks = pred[0] == torch.arange(NUM_CLASSES)[:, None, None]
drawn = draw_segmentation_masks(img, all_masks, alpha=0.6, colors=["black", "red", (0, 0, 255)])
print("overlay", drawn.dtype, tuple(drawn.shape), drawn.float().mean(dim=(1, 2)).round().tolist())
grid = make_grid([drawn, img], nrow=2, padding=1, pad_value=255)
print("grid", tuple(grid.shape), int(grid.sum()))
