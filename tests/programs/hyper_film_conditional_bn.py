"""Feature-wise conditioning: FiLM layers and conditional batch normalization, in the style of
FiLM (Perez et al.) visual-reasoning code and of class-conditional GAN generators (BigGAN /
projection-discriminator repositories).

A FiLM generator maps a conditioning vector (a question embedding) to per-channel ``gamma`` and
``beta`` that scale and shift a conv net's feature maps; a conditional BatchNorm layer normalizes
with ``affine=False`` and takes its affine parameters from an ``nn.Embedding`` indexed by class
label (initialised to the identity, as BigGAN does). Also: ``chunk``/``unsqueeze`` broadcasting,
forward hooks that record the FiLM statistics, running statistics and ``num_batches_tracked``,
``train()``/``eval()``, ``state_dict`` keys, an ``Adam`` loop with ``clip_grad_norm_``, and an
error caught from a mismatched conditioning shape. Weights come from ``torch.manual_seed``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_printoptions(precision=4)


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


class FiLM(nn.Module):
    """Feature-wise linear modulation: gamma * x + beta, per channel."""

    def forward(self, x, gamma, beta):
        gamma = gamma.view(x.size(0), x.size(1), 1, 1)
        beta = beta.view(x.size(0), x.size(1), 1, 1)
        return gamma * x + beta


class FiLMGenerator(nn.Module):
    """Question embedding -> (gamma, beta) for every FiLMed block."""

    def __init__(self, vocab, embed_dim, num_blocks, channels):
        super().__init__()
        self.embed = nn.EmbeddingBag(vocab, embed_dim, mode="mean")
        self.fc = nn.Linear(embed_dim, num_blocks * 2 * channels)
        self.num_blocks, self.channels = num_blocks, channels

    def forward(self, tokens, offsets):
        h = self.embed(tokens, offsets)
        film = self.fc(h).view(-1, self.num_blocks, 2, self.channels)
        # FiLM paper: gamma is predicted as a residual around 1
        gammas = 1 + film[:, :, 0]
        betas = film[:, :, 1]
        return gammas, betas


class FiLMedBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)  # BN follows
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.film = FiLM()

    def forward(self, x, gamma, beta):
        x = F.relu(self.conv1(x), inplace=True)
        residual = x
        out = self.bn(self.conv2(x))
        out = F.relu(self.film(out, gamma, beta))
        return out + residual


class FiLMedNet(nn.Module):
    def __init__(self, vocab=20, channels=8, num_blocks=2, num_answers=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU())
        self.gen = FiLMGenerator(vocab, 12, num_blocks, channels)
        self.blocks = nn.ModuleList(FiLMedBlock(channels) for _ in range(num_blocks))
        self.head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                                  nn.Linear(channels, num_answers))

    def forward(self, image, tokens, offsets):
        gammas, betas = self.gen(tokens, offsets)
        x = self.stem(image)
        for i, block in enumerate(self.blocks):
            x = block(x, gammas[:, i], betas[:, i])
        return self.head(x)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine; gamma/beta looked up per class (BigGAN style)."""

    def __init__(self, num_features, num_classes):
        super().__init__()
        self.num_features = num_features
        self.bn = nn.BatchNorm2d(num_features, affine=False, momentum=0.2)
        self.embed = nn.Embedding(num_classes, num_features * 2)
        self.embed.weight.data[:, :num_features].normal_(1, 0.02)
        self.embed.weight.data[:, num_features:].zero_()

    def forward(self, x, y):
        out = self.bn(x)
        gamma, beta = self.embed(y).chunk(2, 1)
        return gamma[:, :, None, None] * out + beta.unsqueeze(-1).unsqueeze(-1)


class CondGenerator(nn.Module):
    def __init__(self, z_dim=6, num_classes=3, ch=4):
        super().__init__()
        self.fc = nn.Linear(z_dim, ch * 4 * 4)
        self.cbn1 = ConditionalBatchNorm2d(ch, num_classes)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.cbn2 = ConditionalBatchNorm2d(ch, num_classes)
        self.to_img = nn.Conv2d(ch, 1, 3, padding=1)
        self.ch = ch

    def forward(self, z, y):
        h = self.fc(z).view(-1, self.ch, 4, 4)
        h = F.leaky_relu(self.cbn1(h, y), 0.2)
        h = self.conv(self.up(h))
        h = F.leaky_relu(self.cbn2(h, y), 0.2)
        return torch.tanh(self.to_img(h))


print("== FiLM on a toy visual question task ==")
net = FiLMedNet()
images = torch.randn(6, 3, 6, 6)
tokens = torch.randint(0, 20, (15,))
offsets = torch.tensor([0, 2, 5, 7, 9, 12])
answers = torch.randint(0, 4, (6,))

film_stats = {}


def record(name):
    def hook(module, inputs, output):
        x, gamma, beta = inputs
        film_stats[name] = (gamma.mean().item(), beta.std().item(), tuple(output.shape))
    return hook


handles = [blk.film.register_forward_hook(record(f"block{i}"))
           for i, blk in enumerate(net.blocks)]
gammas, betas = net.gen(tokens, offsets)
print("gammas", tuple(gammas.shape), "betas", tuple(betas.shape))
print(gammas[0])
logits = net(images, tokens, offsets)
for name, (gm, bs, shape) in film_stats.items():
    print(name, f"gamma mean {gm:.4f} beta std {bs:.4f}", shape)
for h in handles:
    h.remove()

opt = torch.optim.Adam(net.parameters(), lr=1e-2)
for step in range(8):
    opt.zero_grad()
    loss = F.cross_entropy(net(images, tokens, offsets), answers)
    loss.backward()
    norm = nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
    opt.step()
    if step % 3 == 0:
        print(f"step {step} loss {loss.item():.4f} grad norm {norm.item():.4f}")
net.eval()
with torch.no_grad():
    pred = net(images, tokens, offsets).argmax(1)
print("pred", pred, "acc", (pred == answers).float().mean().item())
print("film stats after removal:", len(film_stats), "hooks left",
      len(net.blocks[0].film._forward_hooks))
bn = net.blocks[0].bn
print("bn affine", bn.affine, "weight", bn.weight, "tracked", bn.num_batches_tracked)
print("running_var", r(bn.running_var))

# FiLM with a conditioning batch that does not match the image batch
try:
    net.blocks[0].film(torch.randn(2, 8, 3, 3), torch.randn(3, 8), torch.randn(3, 8))
except RuntimeError as e:
    print("RuntimeError:", str(e).split("\n")[0][:60])

print("== conditional BatchNorm generator ==")
gen = CondGenerator()
keys = [k for k in gen.state_dict().keys() if k.startswith("cbn1")]
print(keys)
z = torch.randn(9, 6)
y = torch.arange(3).repeat_interleave(3)
print("labels", y)
out = gen(z, y)
print("image", tuple(out.shape), f"mean {out.mean().item():.4f} std {out.std().item():.4f}")
print("cbn1 running_mean", gen.cbn1.bn.running_mean)
print("cbn1 gamma rows", r(gen.cbn1.embed.weight[:, :4].mean(1)))

# fit per-class targets: class c should produce mean intensity (c - 1) / 2
target = ((y.float() - 1) / 2).view(-1, 1, 1, 1).expand_as(out)
opt = torch.optim.SGD(gen.parameters(), lr=0.2, momentum=0.9, nesterov=True)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
for step in range(12):
    opt.zero_grad(set_to_none=True)
    out = gen(z, y)
    loss = F.smooth_l1_loss(out, target, beta=0.5)
    loss.backward()
    opt.step()
    sched.step()
    if step % 4 == 3:
        print(f"step {step} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.3f}")
print("embedding grad is None:", gen.cbn2.embed.weight.grad is None)
gen.eval()
with torch.no_grad():
    per_class = torch.stack([gen(z[y == c], y[y == c]).mean() for c in range(3)])
print("class means", per_class)
print("num_batches_tracked", gen.cbn2.bn.num_batches_tracked.item(),
      gen.cbn2.bn.num_batches_tracked.dtype)

# embedding lookup with an out-of-range class label
try:
    gen(z[:1], torch.tensor([3]))
except IndexError as e:
    print("IndexError:", e)

print("== adaLN-Zero (DiT) and conditional instance norm ==")


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class AdaLNBlock(nn.Module):
    def __init__(self, dim, cond_dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(approximate="tanh"),
                                 nn.Linear(2 * dim, dim))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 3 * dim))
        nn.init.zeros_(self.adaLN_modulation[-1].weight)
        nn.init.constant_(self.adaLN_modulation[-1].bias, 0)

    def forward(self, x, c):
        shift, scale, gate = self.adaLN_modulation(c).chunk(3, dim=1)
        return x + gate.unsqueeze(1) * self.mlp(modulate(self.norm(x), shift, scale))


block = AdaLNBlock(6, 5)
x = torch.randn(2, 3, 6)
c = torch.randn(2, 5)
print("zero-init block is identity:", torch.equal(block(x, c), x))
out = block(x, c).pow(2).mean()
out.backward()
g = block.adaLN_modulation[-1].weight.grad
print("grad on modulation", tuple(g.shape), "nonzero rows", g.abs().sum(1).nonzero().flatten())
print("mlp grad is None:", block.mlp[0].weight.grad is None)

# conditional instance norm (style transfer with N styles): per-style affine from a table
styles = nn.Parameter(torch.randn(3, 2, 4))
feat = torch.randn(2, 4, 5, 5)
idx = torch.tensor([2, 0])
normed = F.instance_norm(feat, eps=1e-5)
gamma, beta = styles[idx].unbind(1)
styled = torch.addcmul(beta[..., None, None], gamma[..., None, None], normed)
print("styled mean per channel", styled.mean((2, 3)))
styled.sum().backward()
print("style grad rows used", styles.grad.abs().sum((1, 2)) > 0)
mix = torch.lerp(styles[0], styles[1], 0.25)
print("interpolated style", mix.detach())

# bilinear conditioning (feature x condition interactions), an alternative to FiLM
fuse = nn.Bilinear(4, 3, 2)
print(fuse(torch.randn(2, 4), torch.randn(2, 3)))
