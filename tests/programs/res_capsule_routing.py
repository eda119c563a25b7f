"""A capsule network with dynamic routing between capsules (Sabour, Frosst & Hinton, 2017), as
the CapsNet research repositories write it: a conv stem, primary capsules reshaped out of a conv
map, the ``squash`` non-linearity, per-pair transformation matrices applied with ``einsum`` /
broadcast ``matmul``, routing-by-agreement over a few iterations where the coupling updates use
``.detach()``'d predictions (gradient flows only through the last iteration), the margin loss,
and a reconstruction decoder fed the masked correct capsule. A second routing head follows the
matrix-capsule (EM-routing-lite) repositories' ``torch.addcmul``/``logsumexp`` bookkeeping.
Data: tiny synthetic 12x12 images of three shape classes. Everything comes from
``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


def squash(s, dim=-1, eps=1e-8):
    """Shrinks short vectors to ~0 and long ones to just under unit length."""
    sq = torch.linalg.vector_norm(s, dim=dim, keepdim=True).pow(2)
    return sq / (1.0 + sq) * s / torch.sqrt(sq + eps)


v = torch.tensor([[3.0, 4.0], [0.03, 0.04]])
print("squash lengths", r(squash(v).norm(dim=-1)))


def make_images(n):
    """Class 0: a horizontal bar, 1: a vertical bar, 2: a square outline; jittered, noisy."""
    imgs = torch.zeros(n, 1, 12, 12)
    labels = torch.randint(0, 3, (n,))
    offs = torch.randint(2, 8, (n, 2))
    for i in range(n):
        a, b = offs[i].tolist()
        if labels[i] == 0:
            imgs[i, 0, a, 1:11] = 1.0
        elif labels[i] == 1:
            imgs[i, 0, 1:11, b] = 1.0
        else:
            imgs[i, 0, a - 2:a + 3, b - 2:b + 3] = 1.0
            imgs[i, 0, a - 1:a + 2, b - 1:b + 2] = 0.0
    return (imgs + 0.1 * torch.randn_like(imgs)).clamp_(0, 1), labels


class PrimaryCaps(nn.Module):
    def __init__(self, in_ch, n_maps=4, caps_dim=6):
        super().__init__()
        self.caps_dim = caps_dim
        self.conv = nn.Conv2d(in_ch, n_maps * caps_dim, kernel_size=3, stride=2)

    def forward(self, x):
        u = self.conv(x)                                    # B, maps*D, H, W
        b, _, h, w = u.shape
        u = u.view(b, -1, self.caps_dim, h, w).permute(0, 1, 3, 4, 2)
        return squash(u.reshape(b, -1, self.caps_dim))      # B, N_in, D


class RoutingCaps(nn.Module):
    """Digit-caps layer: u_hat[j|i] = W_ij u_i, then routing-by-agreement."""

    def __init__(self, n_in, d_in, n_out, d_out, iters=3):
        super().__init__()
        self.iters = iters
        self.W = nn.Parameter(0.05 * torch.randn(1, n_in, n_out, d_out, d_in))

    def forward(self, u):
        # matmul broadcasts W over the batch: (1,N,J,Do,Di) @ (B,N,1,Di,1)
        u_hat = (self.W @ u[:, :, None, :, None]).squeeze(-1)        # B, N_in, N_out, D_out
        u_hat_d = u_hat.detach()
        logits = u_hat.new_zeros(u_hat.shape[:3])
        for it in range(self.iters):
            c = F.softmax(logits, dim=2)
            if it == self.iters - 1:
                return squash(torch.einsum("bij,bijd->bjd", c, u_hat)), c
            out = squash(torch.einsum("bij,bijd->bjd", c, u_hat_d))
            logits = logits + torch.einsum("bijd,bjd->bij", u_hat_d, out)


class CapsNet(nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, kernel_size=3)          # 12 -> 10
        self.primary = PrimaryCaps(8)                        # 10 -> 4: 4*4*4 = 64 capsules
        self.digits = RoutingCaps(64, 6, n_classes, 8)
        self.decoder = nn.Sequential(nn.Linear(8 * n_classes, 64), nn.ReLU(),
                                     nn.Linear(64, 144), nn.Sigmoid())

    def forward(self, x, y=None):
        caps, coupling = self.digits(self.primary(F.relu(self.stem(x))))
        lengths = caps.norm(dim=-1)
        if y is None:
            y = lengths.argmax(dim=1)
        mask = F.one_hot(y, caps.shape[1]).unsqueeze(-1).to(caps.dtype)
        recon = self.decoder((caps * mask).flatten(1)).view(-1, 1, 12, 12)
        return lengths, recon, coupling


def margin_loss(lengths, y, m_pos=0.9, m_neg=0.1, lam=0.5):
    t = F.one_hot(y, lengths.shape[1]).float()
    pos = t * F.relu(m_pos - lengths).pow(2)
    neg = lam * (1.0 - t) * (lengths - m_neg).clamp_min(0).pow(2)
    return (pos + neg).sum(dim=1).mean()


net = CapsNet()
print("params", sum(p.numel() for p in net.parameters()))
x, y = make_images(48)
print("data", tuple(x.shape), "labels", torch.bincount(y, minlength=3).tolist(),
      "pixel mean", round(x.mean().item(), 4))

lengths, recon, coupling = net(x[:4], y[:4])
print("capsule lengths", r(lengths, 4))
print("coupling rows sum to 1:", torch.allclose(coupling.sum(2), torch.ones(4, 64)))
print("coupling spread", f"{coupling.std().item():.3e}")

opt = torch.optim.Adam(net.parameters(), lr=5e-3)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.97)
for epoch in range(12):
    perm = torch.randperm(48)
    total = 0.0
    for k in range(0, 48, 16):
        idx = perm[k:k + 16]
        lengths, recon, _ = net(x[idx], y[idx])
        loss = margin_loss(lengths, y[idx]) + 0.0005 * F.mse_loss(recon, x[idx], reduction="sum")
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    sched.step()
    acc = (lengths.argmax(1) == y[idx]).float().mean().item()
    if epoch % 2 == 1:
        print(f"epoch {epoch} loss {total / 3:.4f} last-batch acc {acc:.3f} "
              f"lr {sched.get_last_lr()[0]:.5f}")

# the routing loop works on detached predictions, so gradients reach the primary capsules
# only through the final iteration's weighted sum
u = net.primary(F.relu(net.stem(x[:2]))).detach().requires_grad_()
caps, c = net.digits(u)
(g_u,) = torch.autograd.grad(caps.norm(dim=-1).sum(), u)
print("grad wrt primary caps", tuple(g_u.shape), round(g_u.abs().sum().item(), 3))

with torch.no_grad():
    xt, yt = make_images(30)
    lengths, recon, coupling = net(xt)
    pred = lengths.argmax(1)
    print("test acc", round((pred == yt).float().mean().item(), 4))
    print("recon mse", round(F.mse_loss(recon, xt).item(), 4))
    # which primary capsules route most strongly to the predicted class
    route = coupling.gather(2, pred.view(-1, 1, 1).expand(-1, 64, 1)).squeeze(2)
    top = route.topk(3, dim=1)
    print("top routing weights", r(top.values[:2], 4))
    conf = torch.zeros(3, 3, dtype=torch.long)
    conf.index_put_((yt, pred), torch.ones_like(yt), accumulate=True)
    print("confusion", conf.tolist())
    # capsule perturbation: nudge one dimension of the winning capsule and decode
    caps, _ = net.digits(net.primary(F.relu(net.stem(xt[:1]))))
    deltas = torch.linspace(-0.2, 0.2, 5)
    tweaked = caps.repeat(5, 1, 1)
    tweaked[:, pred[0], 2] += deltas
    mask = F.one_hot(pred[:1].expand(5), 3).unsqueeze(-1).float()
    outs = net.decoder((tweaked * mask).flatten(1))
    print("perturbed recon means", r(outs.mean(1), 4))

# an EM-routing-style head: Gaussian votes, log-domain responsibilities via logsumexp
torch.manual_seed(1)
votes = torch.randn(2, 10, 3, 4)                      # B, N_in, N_out, D
a_in = torch.sigmoid(torch.randn(2, 10))
R = torch.full((2, 10, 3), 1.0 / 3)
for it in range(3):
    Ra = R * a_in.unsqueeze(-1)                         # B, N_in, N_out
    denom = Ra.sum(1, keepdim=True) + 1e-6
    mu = (Ra.unsqueeze(-1) * votes).sum(1, keepdim=True) / denom.unsqueeze(-1)
    var = (Ra.unsqueeze(-1) * (votes - mu).pow(2)).sum(1, keepdim=True) / denom.unsqueeze(-1)
    var = torch.addcmul(torch.full_like(var, 1e-4), var, torch.ones_like(var))
    log_p = -0.5 * ((votes - mu).pow(2) / var + torch.log(2 * torch.pi * var)).sum(-1)
    log_r = log_p - torch.logsumexp(log_p, dim=2, keepdim=True)
    R = log_r.exp()
print("EM routing R", r(R[0, :3], 4))
print("EM mu", r(mu[0, 0, :, :2], 4))
