"""Efficient-CapsNet (Mazzia et al., 2021) as its PyTorch ports write it: a BatchNorm'd conv
stem, primary capsules from a *depthwise* convolution (``groups=channels``) reshaped into
capsules, the paper's squash ``(1 - 1/e^|s|) s/|s|`` written as an ``autograd.Function`` with
its own backward (checked by ``gradcheck`` in float64 and against the autograd version with
``torch.func.jacrev`` under ``vmap``), and the fully-connected capsule layer with
*self-attention routing*: the votes ``einsum('...ji,kjiz->...kjz')``, agreement scores from an
``einsum`` of the votes with themselves scaled by ``sqrt(d)``, a softmax over the output
capsules plus a learned log-prior, no routing iterations. Weights come from ``model.apply``
with ``kaiming_normal_``; training is AdamW with OneCycleLR and ``clip_grad_norm_``; the model
is saved to a ``BytesIO`` and reloaded; accuracy is by capsule length; a wrongly shaped input
is caught and its error printed."""

import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import jacrev, vmap

torch.manual_seed(11)
torch.set_printoptions(precision=4)
EPS = 1e-20


class SquashFn(torch.autograd.Function):
    """v = (1 - exp(-|s|)) s / |s|, with the Jacobian written out by hand; torch.func-ready
    (a separate ``setup_context`` and a generated vmap rule)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(s):
        n = torch.linalg.vector_norm(s, dim=-1, keepdim=True)
        return s * ((1 - torch.exp(-n)) / (n + EPS))

    @staticmethod
    def setup_context(ctx, inputs, output):
        (s,) = inputs
        n = torch.linalg.vector_norm(s, dim=-1, keepdim=True)
        ctx.save_for_backward(s, n, (1 - torch.exp(-n)) / (n + EPS))

    @staticmethod
    def backward(ctx, grad_out):
        s, n, scale = ctx.saved_tensors
        # d scale / d n = (n e^-n - (1 - e^-n)) / n^2 ; d n / d s = s / n
        dscale_dn = (n * torch.exp(-n) - (1 - torch.exp(-n))) / (n * n + EPS)
        g_dot_s = (grad_out * s).sum(-1, keepdim=True)
        return grad_out * scale + g_dot_s * dscale_dn * s / (n + EPS)


def squash_autograd(s):
    n = s.norm(dim=-1, keepdim=True)
    return (1 - 1 / (torch.exp(n) + EPS)) * (s / (n + EPS))


s64 = torch.randn(3, 5, dtype=torch.double, requires_grad=True)
print('gradcheck custom squash:', torch.autograd.gradcheck(SquashFn.apply, (s64,)))
jac_custom = vmap(jacrev(SquashFn.apply))(s64.detach())
jac_auto = vmap(jacrev(squash_autograd))(s64.detach())
print('per-sample jacobians', tuple(jac_custom.shape), 'agree:',
      torch.allclose(jac_custom, jac_auto, atol=1e-10))
print('squash of [3,4] ->', SquashFn.apply(torch.tensor([[3.0, 4.0]])))


class PrimaryCaps(nn.Module):
    def __init__(self, channels, kernel_size, num_capsules, dim_capsules):
        super().__init__()
        self.num_capsules, self.dim_capsules = num_capsules, dim_capsules
        self.dw_conv2d = nn.Conv2d(channels, num_capsules * dim_capsules, kernel_size,
                                   groups=channels, padding='valid')

    def forward(self, x):
        x = self.dw_conv2d(x)
        x = x.view(x.size(0), self.num_capsules, self.dim_capsules)
        return SquashFn.apply(x)


class FCCaps(nn.Module):
    def __init__(self, n_in, d_in, n_out, d_out):
        super().__init__()
        self.d_out = d_out
        self.W = nn.Parameter(torch.empty(n_out, n_in, d_in, d_out))
        self.b = nn.Parameter(torch.zeros(n_out, n_in, 1))
        nn.init.kaiming_normal_(self.W)

    def forward(self, inputs):
        u = torch.einsum('...ji,kjiz->...kjz', inputs, self.W)           # B, n_out, n_in, d
        c = torch.einsum('...ij,...kj->...i', u, u)[..., None]            # B, n_out, n_in, 1
        c = c / torch.sqrt(torch.tensor(self.d_out, dtype=torch.float32))
        c = torch.softmax(c, dim=1)
        c = c + self.b
        s = torch.sum(torch.mul(u, c), dim=-2)                            # B, n_out, d
        return SquashFn.apply(s), c.squeeze(-1)


class EfficientCapsNet(nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 8, 5, padding='valid'), nn.ReLU(), nn.BatchNorm2d(8),
            nn.Conv2d(8, 16, 3, stride=2), nn.ReLU(), nn.BatchNorm2d(16))
        self.primary = PrimaryCaps(16, 4, 16, 8)
        self.digit = FCCaps(16, 8, n_classes, 6)

    def forward(self, x):
        caps, coupling = self.digit(self.primary(self.stem(x)))
        return caps, torch.linalg.norm(caps, dim=-1), coupling


def init_weights(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
        nn.init.zeros_(m.bias)


def marginal_loss(y_true, y_pred, m=0.9, lam=0.5):
    t = F.one_hot(y_true, y_pred.shape[-1]).to(y_pred.dtype)
    l = t * torch.square(torch.maximum(torch.zeros_like(y_pred), m - y_pred)) + \
        lam * (1 - t) * torch.square(torch.maximum(torch.zeros_like(y_pred), y_pred - (1 - m)))
    return torch.mean(torch.sum(l, dim=-1))


def make_data(n):
    y = torch.randint(0, 3, (n,))
    x = 0.1 * torch.rand(n, 1, 14, 14)
    rows = torch.arange(14)
    for i in range(n):
        k = int(y[i])
        if k == 0:
            x[i, 0, 7] += 1.0
        elif k == 1:
            x[i, 0, :, 7] += 1.0
        else:
            x[i, 0, rows, rows] += 1.0
    return x, y


model = EfficientCapsNet()
model.apply(init_weights)
votes = torch.einsum('...ji,kjiz->...kjz', torch.ones(1, 16, 8), model.digit.W)
print('votes', tuple(votes.shape), votes[0, 0, 0, :3])
first_two = votes[:, :, :2]
print('agreement', torch.einsum('...ij,...kj->...i', first_two, first_two))
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print('trainable parameters', n_params)
print('depthwise groups', model.primary.dw_conv2d.groups,
      'weight', tuple(model.primary.dw_conv2d.weight.shape))

x_train, y_train = make_data(60)
decay = [p for n, p in model.named_parameters() if n.endswith('W') or 'weight' in n]
no_decay = [p for n, p in model.named_parameters() if not (n.endswith('W') or 'weight' in n)]
optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 1e-2},
                               {'params': no_decay, 'weight_decay': 0.0}], lr=5e-3)
steps_per_epoch, epochs = 4, 6
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-2, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch)
for epoch in range(epochs):
    model.train()
    perm = torch.randperm(60)
    losses, norms = [], []
    for step in range(steps_per_epoch):
        idx = perm[step * 15:(step + 1) * 15]
        _, lengths, _ = model(x_train[idx])
        loss = marginal_loss(y_train[idx], lengths)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0).item())
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    print(f'epoch {epoch}: loss {sum(losses) / len(losses):.4f} '
          f'grad-norm {max(norms):.3f} lr {scheduler.get_last_lr()[0]:.6f}')

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
restored = EfficientCapsNet()
missing = restored.load_state_dict(torch.load(buffer, weights_only=True))
print('reload:', missing)
print('running_mean after training', restored.stem[2].running_mean[:4])

restored.eval()
x_test, y_test = make_data(24)
with torch.no_grad():
    caps, lengths, coupling = restored(x_test)
    pred = lengths.argmax(-1)
    print('test acc', f'{(pred == y_test).float().mean().item():.4f}')
    print('lengths[:2]', lengths[:2])
    print('coupling shape', tuple(coupling.shape),
          'prior mean', f'{restored.digit.b.mean().item():.5f}')
    top2 = lengths.topk(2, dim=-1)
    margin = (top2.values[:, 0] - top2.values[:, 1])
    print('decision margin min/median', f'{margin.min().item():.4f}',
          f'{margin.median().item():.4f}')
    print('caps norm <= 1:', bool((lengths <= 1).all()),
          'max', f'{lengths.max().item():.4f}', 'sqrt2', f'{math.sqrt(2):.4f}')
    print('class capsule means', torch.stack([caps[pred == k].norm(dim=-1).mean(0)
                                               for k in range(3)]))

try:
    restored(torch.randn(2, 1, 12, 12))
except RuntimeError as e:
    print('RuntimeError:', e)
