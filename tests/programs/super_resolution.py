"""pytorch/examples super_resolution: the ESPCN net (Conv2d stack + PixelShuffle), orthogonal
init scaled by calculate_gain('relu'), Y channel of an RGB -> YCbCr conversion, a low-resolution
input made by antialiased bicubic (and area) downsampling, MSE training with Adam,
PSNR = 10 log10(1 / MSE), whole-model checkpoints by torch.save / torch.load, and
super_resolve's Y + upsampled CbCr."""
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.init as init
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

rng = np.random.default_rng(0)


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


upscale_factor = 3
model = Net(upscale_factor=upscale_factor)
print(model)
# orthogonal_ draws from torch's generator; what it guarantees does not depend on the draw
gain = init.calculate_gain('relu')
for conv in (model.conv1, model.conv2, model.conv3):
    w = conv.weight.detach().flatten(1)
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    print(conv.weight.shape, torch.allclose(gram, gain ** 2 * torch.eye(min(rows, cols)),
                                            atol=1e-4))
print([round(init.calculate_gain(nl, *a), 4) for nl, *a in
       [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu", 0.2),
        ("selu",)]])
# ... and then weights from NumPy, orthogonal by QR, so that both libraries start the same
with torch.no_grad():
    for i, conv in enumerate([model.conv1, model.conv2, model.conv3, model.conv4]):
        rows, cols = conv.weight.shape[0], conv.weight[0].numel()
        q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
        q = q * np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        g = gain if i < 3 else 1.0
        conv.weight.copy_(torch.from_numpy(g * q.reshape(conv.weight.shape)))
        conv.bias.zero_()


def rgb_to_ycbcr(img):
    r, g, b = img.unbind(0)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 0.5 + (b - y) * 0.564
    cr = 0.5 + (r - y) * 0.713
    return torch.stack([y, cb, cr])


def ycbcr_to_rgb(img):
    y, cb, cr = img[0], img[1] - 0.5, img[2] - 0.5
    return torch.stack([y + 1.403 * cr, y - 0.344 * cb - 0.714 * cr, y + 1.773 * cb]).clamp(0, 1)


class DatasetFromArrays(Dataset):
    def __init__(self, images, upscale_factor):
        super(DatasetFromArrays, self).__init__()
        self.images = images
        self.upscale_factor = upscale_factor

    def __getitem__(self, index):
        img = torch.from_numpy(self.images[index])
        y = rgb_to_ycbcr(img)[:1]  # the Y channel, shape (1, H, W)
        crop = y.shape[-1] - (y.shape[-1] % self.upscale_factor)
        target = y[:, :crop, :crop]  # CenterCrop to a multiple of the factor
        # Resize(crop_size // upscale_factor) on a tensor: bicubic with antialias
        input = F.interpolate(target[None], size=crop // self.upscale_factor,
                              mode="bicubic", align_corners=False, antialias=True)[0]
        return input, target

    def __len__(self):
        return len(self.images)


yy, xx = np.mgrid[0:20, 0:20] / 20
images = []
for k in range(12):
    f1, f2, ph = rng.uniform(2, 8), rng.uniform(2, 8), rng.uniform(0, 6)
    images.append(np.stack([0.5 + 0.5 * np.sin(f1 * xx + ph), 0.5 + 0.5 * np.cos(f2 * yy),
                            0.5 + 0.25 * np.sin(f1 * xx + f2 * yy)]).astype(np.float32))
train_set = DatasetFromArrays(images[:8], upscale_factor)
test_set = DatasetFromArrays(images[8:], upscale_factor)
training_data_loader = DataLoader(dataset=train_set, num_workers=0, batch_size=4, shuffle=False)
testing_data_loader = DataLoader(dataset=test_set, num_workers=0, batch_size=2, shuffle=False)
inp, tgt = train_set[0]
print(inp.shape, tgt.shape, inp.dtype, f"{inp.mean().item():.4f} {tgt.mean().item():.4f}")

model = model.float()
criterion = nn.MSELoss()
optimizer = optim.Adam(model.parameters(), lr=0.001)


def train(epoch):
    epoch_loss = 0
    for iteration, batch in enumerate(training_data_loader, 1):
        input, target = batch[0].to("cpu"), batch[1].to("cpu")

        optimizer.zero_grad()
        loss = criterion(model(input), target)
        epoch_loss += loss.item()
        loss.backward()
        optimizer.step()

    print("===> Epoch {} Complete: Avg. Loss: {:.4f}".format(
        epoch, epoch_loss / len(training_data_loader)))


def test():
    avg_psnr = 0
    with torch.no_grad():
        for batch in testing_data_loader:
            input, target = batch[0], batch[1]

            prediction = model(input)
            mse = criterion(prediction, target)
            psnr = 10 * math.log10(1 / mse.item())
            avg_psnr += psnr
    print("===> Avg. PSNR: {:.2f} dB".format(avg_psnr / len(testing_data_loader)))


def checkpoint(epoch):
    model_out_path = "model_epoch_{}.pth".format(epoch)
    torch.save(model, model_out_path)
    print("Checkpoint saved to {}".format(model_out_path))


for epoch in range(1, 4):
    train(epoch)
    test()
    checkpoint(epoch)

# super_resolve.py: the net upsamples Y; Cb and Cr are upsampled bicubically; back to RGB
model = torch.load("model_epoch_3.pth", weights_only=False)
print(type(model).__name__, model.pixel_shuffle, model.training)
img = torch.from_numpy(images[9][:, :18, :18])
lowres = F.interpolate(img[None], scale_factor=1 / 3, mode="area")[0]
ycbcr = rgb_to_ycbcr(lowres)
y, cb, cr = ycbcr.split(1)
input = y.view(1, -1, y.size(1), y.size(2))
out = model(input)
out_y = out[0].detach().numpy()
out_y *= 255.0
out_y = out_y.clip(0, 255)
print(out.shape, out_y.shape, out_y.dtype, f"{out_y.mean():.2f}")
out_cbcr = F.interpolate(torch.cat([cb, cr])[None], size=out.shape[-2:], mode="bicubic")[0]
out_img = ycbcr_to_rgb(torch.cat([torch.from_numpy(out_y / 255.0).float(), out_cbcr]))
sr_mse = F.mse_loss(out_img, img)
bicubic = F.interpolate(lowres[None], scale_factor=3, mode='bicubic')[0].clamp(0, 1)
print(out_img.shape, f"PSNR {10 * math.log10(1 / sr_mse.item()):.2f} dB",
      f"bicubic {-10 * torch.log10(F.mse_loss(bicubic, img)).item():.2f} dB")

# the shuffle is a reshape: PixelUnshuffle undoes it, and pixel_shuffle matches by hand
x = torch.arange(2 * 18 * 2 * 3, dtype=torch.float32).view(2, 18, 2, 3)
ps = F.pixel_shuffle(x, 3)
by_hand = x.view(2, 2, 3, 3, 2, 3).permute(0, 1, 4, 2, 5, 3).reshape(2, 2, 6, 9)
print(ps.shape, torch.equal(ps, by_hand), torch.equal(nn.PixelUnshuffle(3)(ps), x))
state = model.state_dict()
torch.save(state, "sr.pt")
fresh = Net(upscale_factor)
print(fresh.load_state_dict(torch.load("sr.pt")),
      sorted(f for f in os.listdir(".") if f.endswith((".pt", ".pth"))))
vec = torch.nn.utils.parameters_to_vector(fresh.parameters())
print(vec.shape, f"{vec.abs().sum().item():.3f}")
