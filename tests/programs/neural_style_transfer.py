"""The Neural Style Transfer tutorial: a small fixed-weight VGG-like feature net, a Normalization
module, ContentLoss / StyleLoss modules spliced in after named conv layers (Gram matrices by
view + mm, and a batched bmm variant), the net truncated after the last loss, and L-BFGS on the
input image with a closure that clamps the image in place under no_grad."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

# L-BFGS on a 1e6-weighted style loss amplifies float32 rounding from step to step; float64
# keeps the two libraries' runs together
torch.set_default_dtype(torch.float64)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
rng = np.random.default_rng(0)
imsize = 24

# two synthetic "images": horizontal stripes (style) and a soft blob (content)
yy, xx = np.mgrid[0:imsize, 0:imsize] / imsize
style_np = np.stack([0.5 + 0.5 * np.sin(12 * yy), 0.5 + 0.5 * np.cos(9 * xx + 3 * yy),
                     np.full_like(yy, 0.3)])
content_np = np.stack([np.exp(-((xx - 0.5) ** 2 + (yy - 0.4) ** 2) * 8), xx, 1 - yy])
style_img = torch.tensor(style_np, dtype=torch.float32).unsqueeze(0).to(device, torch.double)
content_img = torch.from_numpy(content_np).unsqueeze(0).to(device)
assert style_img.size() == content_img.size(), \
    "we need to import style and content images of the same size"
print(style_img.shape, content_img.dtype, content_img.device)


class ContentLoss(nn.Module):

    def __init__(self, target,):
        super(ContentLoss, self).__init__()
        # we 'detach' the target content from the tree used
        # to dynamically compute the gradient: this is a stated value,
        # not a variable. Otherwise the forward method of the criterion
        # will throw an error.
        self.target = target.detach()

    def forward(self, input):
        self.loss = F.mse_loss(input, self.target)
        return input


def gram_matrix(input):
    a, b, c, d = input.size()  # a=batch size(=1)
    features = input.view(a * b, c * d)  # resize F_XL into \hat F_XL
    G = torch.mm(features, features.t())  # compute the gram product
    return G.div(a * b * c * d)


def gram_matrix_batched(input):
    a, b, c, d = input.shape
    features = input.reshape(a, b, c * d)
    return torch.bmm(features, features.transpose(1, 2)) / (b * c * d)


class StyleLoss(nn.Module):

    def __init__(self, target_feature):
        super(StyleLoss, self).__init__()
        self.target = gram_matrix(target_feature).detach()

    def forward(self, input):
        G = gram_matrix(input)
        self.loss = F.mse_loss(G, self.target)
        return input


# the tutorial loads a pretrained VGG19; here a small VGG-shaped stack with fixed weights
def make_features():
    cfg = [8, 8, "M", 16, 16, "M", 16]
    layers, in_ch = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_ch = v
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * 9
            m.weight.data = torch.from_numpy(
                rng.standard_normal(tuple(m.weight.shape))) * (2 / fan_in) ** 0.5
            nn.init.constant_(m.bias, 0.01)
    return net


cnn = make_features().to(device).eval()
print(cnn)
cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406]).to(device)
cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225]).to(device)


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super(Normalization, self).__init__()
        # .view the mean and std to make them [C x 1 x 1] so that they can
        # directly work with image Tensor of shape [B x C x H x W].
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


content_layers_default = ['conv_4']
style_layers_default = ['conv_1', 'conv_2', 'conv_3', 'conv_4', 'conv_5']


def get_style_model_and_losses(cnn, normalization_mean, normalization_std,
                               style_img, content_img,
                               content_layers=content_layers_default,
                               style_layers=style_layers_default):
    normalization = Normalization(normalization_mean, normalization_std)
    content_losses = []
    style_losses = []
    model = nn.Sequential(normalization)

    i = 0  # increment every time we see a conv
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = 'conv_{}'.format(i)
        elif isinstance(layer, nn.ReLU):
            name = 'relu_{}'.format(i)
            # The in-place version doesn't play very nicely with the ``ContentLoss``
            # and ``StyleLoss`` we insert below. So we replace with out-of-place
            # ones here.
            layer = nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = 'pool_{}'.format(i)
        elif isinstance(layer, nn.BatchNorm2d):
            name = 'bn_{}'.format(i)
        else:
            raise RuntimeError('Unrecognized layer: {}'.format(layer.__class__.__name__))

        model.add_module(name, layer)

        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module("content_loss_{}".format(i), content_loss)
            content_losses.append(content_loss)

        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module("style_loss_{}".format(i), style_loss)
            style_losses.append(style_loss)

    # now we trim off the layers after the last content and style losses
    for i in range(len(model) - 1, -1, -1):
        if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
            break

    model = model[:(i + 1)]

    return model, style_losses, content_losses


input_img = content_img.clone()


def get_input_optimizer(input_img):
    # this line to show that input is a parameter that requires a gradient
    optimizer = optim.LBFGS([input_img])
    return optimizer


def run_style_transfer(cnn, normalization_mean, normalization_std,
                       content_img, style_img, input_img, num_steps=30,
                       style_weight=1000000, content_weight=1):
    """Run the style transfer."""
    print('Building the style transfer model..')
    model, style_losses, content_losses = get_style_model_and_losses(
        cnn, normalization_mean, normalization_std, style_img, content_img)

    # We want to optimize the input and not the model parameters so we
    # update all the requires_grad fields accordingly
    input_img.requires_grad_(True)
    # We also put the model in evaluation mode, so that specific layers
    # such as dropout or batch normalization layers behave correctly.
    model.eval()
    model.requires_grad_(False)
    print(model)
    print(sum(p.requires_grad for p in model.parameters()), "trainable parameters")

    optimizer = get_input_optimizer(input_img)

    print('Optimizing..')
    run = [0]
    while run[0] <= num_steps:

        def closure():
            # correct the values of updated input image
            with torch.no_grad():
                input_img.clamp_(0, 1)

            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0

            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss

            style_score *= style_weight
            content_score *= content_weight

            loss = style_score + content_score
            loss.backward()

            run[0] += 1
            if run[0] % 10 == 0:
                print("run {}:".format(run))
                print('Style Loss : {:4f} Content Loss: {:4f}'.format(
                    style_score.item(), content_score.item()))
                print()

            return style_score + content_score

        optimizer.step(closure)

    # a last correction...
    with torch.no_grad():
        input_img.clamp_(0, 1)

    return input_img


output = run_style_transfer(cnn, cnn_normalization_mean, cnn_normalization_std,
                            content_img, style_img, input_img)
print(output.shape, output.requires_grad, f"{output.min().item():.4f} {output.max().item():.4f}")
print(output.detach().mean(dim=(0, 2, 3)).round(decimals=3))

# the Gram matrix, batched and plain, agree; the gradient of a style loss reaches the image
feats = cnn[:4](style_img)
print(torch.allclose(gram_matrix(feats), gram_matrix_batched(feats)[0], atol=1e-6))
probe = content_img.clone().requires_grad_()
layer = StyleLoss(cnn[:2](style_img))
layer(cnn[:2](probe))
layer.loss.backward()
print(f"style grad norm {probe.grad.norm().item():.6f}", probe.grad.shape)

# LBFGS with the strong-Wolfe line search, on a copy of the network
model2 = copy.deepcopy(cnn[:4])
img2 = content_img.clone().requires_grad_(True)
target = gram_matrix(model2(style_img)).detach()
opt2 = optim.LBFGS([img2], lr=1, max_iter=10, history_size=5, line_search_fn="strong_wolfe")


def closure2():
    opt2.zero_grad()
    loss = 1e4 * F.mse_loss(gram_matrix(model2(img2)), target)
    loss.backward()
    return loss


for step in range(3):
    loss = opt2.step(closure2)
    print(f"wolfe step {step}: {loss.item():.6f}")
print(sorted(opt2.state_dict()["state"][0].keys()))
print(opt2.state_dict()["state"][0]["func_evals"], opt2.state_dict()["state"][0]["n_iter"])
