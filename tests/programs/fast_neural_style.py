"""pytorch/examples fast_neural_style: TransformerNet (ReflectionPad2d convs, InstanceNorm2d with
affine=True, residual blocks, nearest-upsample convs), a small fixed "VGG" whose slices return a
namedtuple of features, normalize_batch with new_tensor, bmm Gram matrices, content + style
loss under Adam, and the stylize path that deletes old InstanceNorm running stats by regex."""
import re
from collections import namedtuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim import Adam

rng = np.random.default_rng(0)


class TransformerNet(torch.nn.Module):
    def __init__(self, ch=8, n_res=2):
        super(TransformerNet, self).__init__()
        # Initial convolution layers
        self.conv1 = ConvLayer(3, ch, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(ch, affine=True)
        self.conv2 = ConvLayer(ch, ch * 2, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(ch * 2, affine=True)
        self.conv3 = ConvLayer(ch * 2, ch * 4, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(ch * 4, affine=True)
        # Residual layers
        self.res = torch.nn.Sequential(*[ResidualBlock(ch * 4) for _ in range(n_res)])
        # Upsampling Layers
        self.deconv1 = UpsampleConvLayer(ch * 4, ch * 2, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(ch * 2, affine=True)
        self.deconv2 = UpsampleConvLayer(ch * 2, ch, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(ch, affine=True)
        self.deconv3 = ConvLayer(ch, 3, kernel_size=9, stride=1)
        # Non-linearities
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        return y


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    """ResidualBlock
    introduced in: https://arxiv.org/abs/1512.03385
    recommended architecture: http://torch.ch/blog/2016/02/04/resnets.html
    """

    def __init__(self, channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    """UpsampleConvLayer
    Upsamples the input and then does a convolution. This method gives better results
    compared to ConvTranspose2d.
    ref: http://distill.pub/2016/deconv-checkerboard/
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode='nearest', scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


class Vgg16(torch.nn.Module):
    """Four slices of a small VGG-shaped stack with fixed weights (the example loads VGG16)."""

    def __init__(self, requires_grad=False):
        super(Vgg16, self).__init__()
        c = [3, 8, 8, 16, 16, 16]
        self.slice1 = torch.nn.Sequential()
        self.slice2 = torch.nn.Sequential()
        self.slice3 = torch.nn.Sequential()
        self.slice4 = torch.nn.Sequential()
        layers = [torch.nn.Conv2d(c[0], c[1], 3, padding=1), torch.nn.ReLU(inplace=True),
                  torch.nn.Conv2d(c[1], c[2], 3, padding=1), torch.nn.ReLU(inplace=True),
                  torch.nn.MaxPool2d(kernel_size=2, stride=2),
                  torch.nn.Conv2d(c[2], c[3], 3, padding=1), torch.nn.ReLU(inplace=True),
                  torch.nn.Conv2d(c[3], c[4], 3, padding=1), torch.nn.ReLU(inplace=True),
                  torch.nn.MaxPool2d(kernel_size=2, stride=2),
                  torch.nn.Conv2d(c[4], c[5], 3, padding=1), torch.nn.ReLU(inplace=True)]
        for x in range(2):
            self.slice1.add_module(str(x), layers[x])
        for x in range(2, 5):
            self.slice2.add_module(str(x), layers[x])
        for x in range(5, 9):
            self.slice3.add_module(str(x), layers[x])
        for x in range(9, 12):
            self.slice4.add_module(str(x), layers[x])
        if not requires_grad:
            for param in self.parameters():
                param.requires_grad = False

    def forward(self, X):
        h = self.slice1(X)
        h_relu1_2 = h
        h = self.slice2(h)
        h_relu2_2 = h
        h = self.slice3(h)
        h_relu3_3 = h
        h = self.slice4(h)
        h_relu4_3 = h
        vgg_outputs = namedtuple("VggOutputs", ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3'])
        out = vgg_outputs(h_relu1_2, h_relu2_2, h_relu3_3, h_relu4_3)
        return out


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def normalize_batch(batch):
    # normalize using imagenet mean and std
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    batch = batch.div_(255.0)
    return (batch - mean) / std


def load_numpy_weights(module, scale=1.0):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.from_numpy(rng.uniform(-0.05, 0.05, tuple(p.shape))))
            elif p.dim() == 1:  # InstanceNorm2d affine weight
                p.copy_(torch.from_numpy(rng.uniform(0.8, 1.2, tuple(p.shape))))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) * scale
                                         * np.sqrt(2.0 / fan_in)))


device = torch.device("cpu")
transformer = TransformerNet().to(device)
load_numpy_weights(transformer, 0.5)
vgg = Vgg16(requires_grad=False).to(device)
load_numpy_weights(vgg)
print(transformer.in1, transformer.res[0].conv1.reflection_pad)
print(sum(p.numel() for p in transformer.parameters()),
      [n for n, _ in transformer.named_buffers()][:2],
      all(not p.requires_grad for p in vgg.parameters()))

optimizer = Adam(transformer.parameters(), 1e-3)
mse_loss = torch.nn.MSELoss()

# a style image and a tiny "dataset" of content images, 0..255 as the example's loaders give
yy, xx = np.mgrid[0:16, 0:16] / 16
style = np.stack([128 + 120 * np.sin(10 * xx), 128 + 120 * np.sin(10 * yy),
                  128 + 100 * np.cos(7 * (xx + yy))]).astype(np.float32)
style = torch.from_numpy(style).repeat(2, 1, 1, 1).to(device)
features_style = vgg(normalize_batch(style))
gram_style = [gram_matrix(y) for y in features_style]
print(type(features_style).__name__, features_style._fields,
      [tuple(g.shape) for g in gram_style])
content = torch.from_numpy((rng.random((4, 3, 16, 16)) * 255).astype(np.float32))
train_loader = torch.utils.data.DataLoader(content, batch_size=2)

content_weight, style_weight = 1.0, 10.0  # (1e5, 1e10 for VGG16's features)
for e in range(2):
    transformer.train()
    agg_content_loss = 0.
    agg_style_loss = 0.
    count = 0
    for batch_id, x in enumerate(train_loader):
        n_batch = len(x)
        count += n_batch
        optimizer.zero_grad()

        x = x.to(device)
        y = transformer(x)

        y = normalize_batch(y)
        x = normalize_batch(x)

        features_y = vgg(y)
        features_x = vgg(x)

        content_loss = content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)

        style_loss = 0.
        for ft_y, gm_s in zip(features_y, gram_style):
            gm_y = gram_matrix(ft_y)
            style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
        style_loss *= style_weight

        total_loss = content_loss + style_loss
        total_loss.backward()
        optimizer.step()

        agg_content_loss += content_loss.item()
        agg_style_loss += style_loss.item()

        mesg = "Epoch {}:\t[{}/{}]\tcontent: {:.4f}\tstyle: {:.4f}\ttotal: {:.4f}".format(
            e + 1, count, len(train_loader.dataset),
            agg_content_loss / (batch_id + 1),
            agg_style_loss / (batch_id + 1),
            (agg_content_loss + agg_style_loss) / (batch_id + 1)
        )
        print(mesg)

# save: eval() and back to the CPU first, as the example does
transformer.eval().cpu()
torch.save(transformer.state_dict(), "style.model")

# stylize: old checkpoints hold InstanceNorm running stats; drop them before loading
with torch.no_grad():
    style_model = TransformerNet()
    state_dict = torch.load("style.model")
    state_dict["in1.running_mean"] = torch.zeros(8)
    state_dict["res.0.in2.running_var"] = torch.ones(32)
    try:
        style_model.load_state_dict(state_dict)
    except RuntimeError as err:
        print(type(err).__name__, str(err).splitlines()[-1].strip())
    for k in list(state_dict.keys()):
        if re.search(r'in\d+\.running_(mean|var)$', k):
            del state_dict[k]
    print(style_model.load_state_dict(state_dict))
    style_model.to(device)
    style_model.eval()
    content_image = content[:1].clone()
    output = style_model(content_image).cpu()
img = output[0].clone().mul(40).add(128).clamp(0, 255).numpy()  # an untrained net's range
img = img.transpose(1, 2, 0).astype("uint8")
print(output.shape, img.shape, img.dtype, int(img.sum()))

# InstanceNorm2d by hand, and with track_running_stats the buffers it keeps
x = torch.from_numpy(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
norm = torch.nn.InstanceNorm2d(3, affine=True)
mean = x.mean(dim=(2, 3), keepdim=True)
var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
print(torch.allclose(norm(x), (x - mean) / torch.sqrt(var + norm.eps), atol=1e-5))
tracked = torch.nn.InstanceNorm2d(3, momentum=0.5, track_running_stats=True)
tracked(x)
print(tracked, tracked.running_mean.round(decimals=4), tracked.running_var.round(decimals=4))
tracked.eval()
print(f"{tracked(x).std().item():.4f}", torch.nn.ReflectionPad2d((1, 0, 2, 0))(x).shape,
      torch.nn.ReplicationPad2d(1)(x).shape, torch.nn.ZeroPad2d((0, 1, 0, 1))(x).shape)
print(F.pad(torch.arange(4.).view(1, 1, 4), (2, 2), mode="reflect"),
      F.pad(torch.arange(4.).view(1, 1, 4), (2, 1), mode="replicate"),
      F.pad(torch.arange(4.).view(1, 1, 4), (1, 2), mode="circular"))
