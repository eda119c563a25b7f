"""Arbitrary style transfer with AdaIN (Huang & Belongie), after the popular pytorch-AdaIN code: a
frozen encoder split into slices (enc_1..enc_3) via list(children()), calc_mean_std with
var(dim) + eps, adaptive_instance_normalization, a decoder of ReflectionPad2d + Conv + nearest
Upsample trained with Adam and a content loss on the AdaIN target plus a mean/std style loss,
a learning-rate decay set by hand in param_groups, then inference with content-style alpha
blending and style interpolation, and the errors a wrong call raises."""
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(3)


def calc_mean_std(feat, eps=1e-5):
    size = feat.size()
    assert len(size) == 4
    N, C = size[:2]
    feat_var = feat.view(N, C, -1).var(dim=2) + eps
    feat_std = feat_var.sqrt().view(N, C, 1, 1)
    feat_mean = feat.view(N, C, -1).mean(dim=2).view(N, C, 1, 1)
    return feat_mean, feat_std


def adaptive_instance_normalization(content_feat, style_feat):
    assert content_feat.size()[:2] == style_feat.size()[:2]
    size = content_feat.size()
    style_mean, style_std = calc_mean_std(style_feat)
    content_mean, content_std = calc_mean_std(content_feat)
    normalized_feat = (content_feat - content_mean.expand(size)) / content_std.expand(size)
    return normalized_feat * style_std.expand(size) + style_mean.expand(size)


vgg = nn.Sequential(
    nn.Conv2d(3, 3, (1, 1)),
    nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(3, 8, (3, 3)), nn.ReLU(),  # relu1_1
    nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(8, 8, (3, 3)), nn.ReLU(),
    nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True),
    nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(8, 16, (3, 3)), nn.ReLU(),  # relu2_1
    nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(16, 16, (3, 3)), nn.ReLU(),
    nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True),
    nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(16, 16, (3, 3)), nn.ReLU(),  # relu3_1
)
# a "pretrained" encoder: fixed weights drawn once from NumPy
with torch.no_grad():
    for conv in (m for m in vgg.modules() if isinstance(m, nn.Conv2d)):
        fan_in = conv.weight[0].numel()
        conv.weight.copy_(torch.from_numpy(
            rng.normal(0, (2 / fan_in) ** .5, conv.weight.shape).astype(np.float32)))
        conv.bias.fill_(0.05)

decoder = nn.Sequential(
    nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(16, 16, (3, 3)), nn.ReLU(),
    nn.Upsample(scale_factor=2, mode="nearest"),
    nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(16, 8, (3, 3)), nn.ReLU(),
    nn.Upsample(scale_factor=2, mode="nearest"),
    nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(8, 8, (3, 3)), nn.ReLU(),
    nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(8, 3, (3, 3)),
)


class Net(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        enc_layers = list(encoder.children())
        self.enc_1 = nn.Sequential(*enc_layers[:4])
        self.enc_2 = nn.Sequential(*enc_layers[4:11])
        self.enc_3 = nn.Sequential(*enc_layers[11:18])
        self.decoder = decoder
        self.mse_loss = nn.MSELoss()
        for name in ["enc_1", "enc_2", "enc_3"]:
            for param in getattr(self, name).parameters():
                param.requires_grad = False

    def encode_with_intermediate(self, input):
        results = [input]
        for i in range(3):
            func = getattr(self, "enc_{:d}".format(i + 1))
            results.append(func(results[-1]))
        return results[1:]

    def encode(self, input):
        for i in range(3):
            input = getattr(self, "enc_{:d}".format(i + 1))(input)
        return input

    def calc_content_loss(self, input, target):
        assert input.size() == target.size()
        assert target.requires_grad is False
        return self.mse_loss(input, target)

    def calc_style_loss(self, input, target):
        input_mean, input_std = calc_mean_std(input)
        target_mean, target_std = calc_mean_std(target)
        return self.mse_loss(input_mean, target_mean) + self.mse_loss(input_std, target_std)

    def forward(self, content, style, alpha=1.0):
        assert 0 <= alpha <= 1
        style_feats = self.encode_with_intermediate(style)
        content_feat = self.encode(content)
        t = adaptive_instance_normalization(content_feat, style_feats[-1])
        t = alpha * t + (1 - alpha) * content_feat
        g_t = self.decoder(t)
        g_t_feats = self.encode_with_intermediate(g_t)
        loss_c = self.calc_content_loss(g_t_feats[-1], t)
        loss_s = self.calc_style_loss(g_t_feats[0], style_feats[0])
        for i in range(1, 3):
            loss_s += self.calc_style_loss(g_t_feats[i], style_feats[i])
        return loss_c, loss_s


network = Net(vgg, decoder)
network.train()
trainable = [n for n, p in network.named_parameters() if p.requires_grad]
print("trainable tensors:", len(trainable), trainable[:2])
print("frozen params:", sum(p.numel() for p in network.parameters() if not p.requires_grad))

contents = torch.from_numpy(rng.uniform(0, 1, (6, 3, 12, 12)).astype(np.float32))
styles = torch.from_numpy(rng.uniform(0, 1, (6, 3, 12, 12)).astype(np.float32)) ** 2

lr, lr_decay = 1e-3, 5e-2
optimizer = torch.optim.Adam(network.decoder.parameters(), lr=lr)


def adjust_learning_rate(optimizer, iteration_count):
    """Imitating the original implementation"""
    lr_now = lr / (1.0 + lr_decay * iteration_count)
    for param_group in optimizer.param_groups:
        param_group["lr"] = lr_now


for i in range(6):
    adjust_learning_rate(optimizer, iteration_count=i)
    idx = torch.randperm(6)[:2]
    content_images, style_images = contents[idx], styles[idx]
    loss_c, loss_s = network(content_images, style_images)
    loss = 1.0 * loss_c + 10.0 * loss_s
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"iter {i} idx {idx.tolist()} lr {optimizer.param_groups[0]['lr']:.6f} "
          f"content {loss_c.item():.4f} style {loss_s.item():.4f}")

state_dict = network.decoder.state_dict()
for key in list(state_dict.keys())[:2]:
    state_dict[key] = state_dict[key].to(torch.device("cpu"))
print("decoder keys:", list(state_dict)[:3], len(state_dict))


def style_transfer(vgg, decoder, content, style, alpha=1.0, interpolation_weights=None):
    assert (0.0 <= alpha <= 1.0)
    content_f = vgg(content)
    style_f = vgg(style)
    if interpolation_weights:
        _, C, H, W = content_f.size()
        feat = torch.FloatTensor(1, C, H, W).zero_().to(content_f.device)
        base_feat = adaptive_instance_normalization(content_f, style_f)
        for i, w in enumerate(interpolation_weights):
            feat = feat + w * base_feat[i:i + 1]
        content_f = content_f[0:1]
    else:
        feat = adaptive_instance_normalization(content_f, style_f)
    feat = feat * alpha + content_f * (1 - alpha)
    return decoder(feat)


vgg.eval()
decoder.eval()
with torch.no_grad():
    for alpha in (1.0, 0.5, 0.0):
        out = style_transfer(vgg, decoder, contents[:1], styles[1:2], alpha)
        print(f"alpha {alpha}: {tuple(out.shape)} mean {out.mean().item():.4f} "
              f"std {out.std().item():.4f}")
    style_batch = torch.stack([styles[2], styles[3], styles[4]])
    content_batch = contents[:1].expand_as(style_batch)
    out = style_transfer(vgg, decoder, content_batch, style_batch, 1.0, [0.5, 0.3, 0.2])
    print("interpolated:", tuple(out.shape), f"{out.abs().sum().item():.3f}")
    out = out.clamp(0, 1).squeeze(0)
    print("pixel corner:", out[:, :2, :2])
    m, s = calc_mean_std(vgg(styles[:2]))
    print("style stats:", m.shape, s.flatten()[:3])

# the mistakes this code meets: a 3-D feature map, a mismatched pair, an alpha out of range
for bad in (lambda: calc_mean_std(torch.ones(3, 4, 4)),
            lambda: adaptive_instance_normalization(torch.ones(1, 4, 2, 2), torch.ones(1, 3, 2, 2)),
            lambda: network(contents[:1], styles[:1], alpha=1.5),
            lambda: decoder(torch.ones(1, 8, 4, 4)),
            lambda: nn.ReflectionPad2d(3)(torch.ones(1, 1, 2, 2))):
    try:
        bad()
    except (AssertionError, RuntimeError) as e:
        print(type(e).__name__ + ":", str(e)[:90])
