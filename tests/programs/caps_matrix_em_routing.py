"""Matrix capsules with EM routing (Hinton, Sabour & Frosst, 2018) in the shape of
yl-1993/Matrix-Capsules-EM-PyTorch: primary capsules as a 4x4 pose conv plus a sigmoid
activation conv, convolutional capsules gathered with ``Tensor.unfold`` twice over a B,H,W,C map
(and ``F.unfold``), votes from ``torch.matmul`` of 4x4 poses with per-kernel-position
transforms, the class capsules' coordinate addition (scaled ``arange`` added to two pose
entries), and the EM loop: an M-step of weighted means/variances, costs from ``log(sigma)`` and
``beta_u``/``beta_a`` parameters and a ``sigmoid(lambda * ...)`` activation, an E-step of
Gaussian log-likelihoods (checked once against ``torch.distributions.Normal.log_prob``)
normalised by ``softmax``. The spread loss's margin grows on a schedule; SGD with Nesterov
momentum and ReduceLROnPlateau train it; a tensor hook watches the gradient reaching the primary
poses."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal

torch.manual_seed(5)
torch.set_printoptions(precision=3)


class PrimaryCaps(nn.Module):
    def __init__(self, A=8, B=4, K=1, P=4, stride=1):
        super(PrimaryCaps, self).__init__()
        self.pose = nn.Conv2d(in_channels=A, out_channels=B * P * P, kernel_size=K, stride=stride)
        self.a = nn.Conv2d(in_channels=A, out_channels=B, kernel_size=K, stride=stride)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        p = self.pose(x)
        a = self.sigmoid(self.a(x))
        out = torch.cat([p, a], dim=1)
        return out.permute(0, 2, 3, 1)


class ConvCaps(nn.Module):
    def __init__(self, B=4, C=5, K=3, P=4, stride=1, iters=3, coor_add=False, w_shared=False):
        super(ConvCaps, self).__init__()
        self.B, self.C, self.K, self.P, self.psize = B, C, K, P, P * P
        self.stride, self.iters = stride, iters
        self.coor_add, self.w_shared = coor_add, w_shared
        self.eps = 1e-8
        self._lambda = 1e-03
        self.ln_2pi = torch.FloatTensor(1).fill_(math.log(2 * math.pi))
        self.beta_u = nn.Parameter(torch.zeros(C))
        self.beta_a = nn.Parameter(torch.zeros(C))
        self.weights = nn.Parameter(torch.randn(1, K * K * B, C, P, P))
        self.sigmoid = nn.Sigmoid()
        self.softmax = nn.Softmax(dim=2)

    def m_step(self, a_in, r, v, eps, b, B, C, psize):
        r = r * a_in
        r = r / (r.sum(dim=2, keepdim=True) + eps)
        r_sum = r.sum(dim=1, keepdim=True)
        coeff = r / (r_sum + eps)
        coeff = coeff.view(b, B, C, 1)
        mu = torch.sum(coeff * v, dim=1, keepdim=True)
        sigma_sq = torch.sum(coeff * (v - mu) ** 2, dim=1, keepdim=True) + eps
        r_sum = r_sum.view(b, 1, C, 1)
        sigma_sq = sigma_sq.view(b, 1, C, psize)
        cost_h = (self.beta_u.view(C, 1) + torch.log(sigma_sq.sqrt())) * r_sum
        a_out = self.sigmoid(self._lambda * (self.beta_a - cost_h.sum(dim=3).view(b, C)))
        return a_out, mu, sigma_sq

    def e_step(self, mu, sigma_sq, a_out, v, eps, b, C):
        ln_p_j_h = -1. * (v - mu) ** 2 / (2 * sigma_sq) - torch.log(sigma_sq.sqrt()) \
            - 0.5 * self.ln_2pi
        ln_ap = ln_p_j_h.sum(dim=3) + torch.log(a_out.view(b, 1, C))
        return self.softmax(ln_ap)

    def caps_em_routing(self, v, a_in, C, eps):
        b, B, c, psize = v.shape
        assert c == C
        assert (b, B, 1) == a_in.shape
        r = torch.FloatTensor(b, B, C).fill_(1. / C)
        for iter_ in range(self.iters):
            self._lambda = 1e-2 * (iter_ + 1)  # inverse temperature grows each iteration
            a_out, mu, sigma_sq = self.m_step(a_in, r, v, eps, b, B, C, psize)
            if iter_ < self.iters - 1:
                r = self.e_step(mu, sigma_sq, a_out, v, eps, b, C)
        return mu, a_out

    def add_pathes(self, x, B, K, psize, stride):
        b, h, w, c = x.shape
        assert h == w
        assert c == B * (psize + 1)
        oh = ow = int((h - K) / stride) + 1
        idxs = [[(h_idx + k_idx) for k_idx in range(0, K)]
                for h_idx in range(0, h - K + 1, stride)]
        x = x[:, idxs, :, :]
        x = x[:, :, :, idxs, :]
        x = x.permute(0, 1, 3, 2, 4, 5).contiguous()
        return x, oh, ow

    def transform_view(self, x, w, C, P, w_shared=False):
        b, B, psize = x.shape
        assert psize == P * P
        x = x.view(b, B, 1, P, P)
        if w_shared:
            hw = int(B / w.size(1))
            w = w.repeat(1, hw, 1, 1, 1)
        w = w.repeat(b, 1, 1, 1, 1)
        x = x.repeat(1, 1, C, 1, 1)
        v = torch.matmul(x, w)
        return v.view(b, B, C, P * P)

    def add_coord(self, v, b, h, w, B, C, psize):
        assert h == w
        v = v.view(b, h, w, B, C, psize)
        coor = torch.arange(h, dtype=torch.float32) / h
        coor_h = torch.FloatTensor(1, h, 1, 1, 1, self.psize).fill_(0.)
        coor_w = torch.FloatTensor(1, 1, w, 1, 1, self.psize).fill_(0.)
        coor_h[0, :, 0, 0, 0, 0] = coor
        coor_w[0, 0, :, 0, 0, 1] = coor
        v = v + coor_h + coor_w
        return v.view(b, h * w * B, C, psize)

    def forward(self, x):
        b, h, w, c = x.shape
        if not self.w_shared:
            # patches by advanced indexing, as the repo does; checked against Tensor.unfold
            patches, oh, ow = self.add_pathes(x, self.B, self.K, self.psize, self.stride)
            unfolded = x.unfold(1, self.K, self.stride).unfold(2, self.K, self.stride)
            cols = F.unfold(x.permute(0, 3, 1, 2), self.K, stride=self.stride)
            self.patch_check = torch.equal(patches, unfolded.permute(0, 1, 2, 4, 5, 3)) and \
                torch.equal(cols, patches.permute(0, 5, 3, 4, 1, 2).reshape(b, c * self.K ** 2, -1))
            p_in = patches[:, :, :, :, :, :self.B * self.psize].contiguous()
            a_in = patches[:, :, :, :, :, self.B * self.psize:].contiguous()
            p_in = p_in.view(b * oh * ow, self.K * self.K * self.B, self.psize)
            a_in = a_in.view(b * oh * ow, self.K * self.K * self.B, 1)
            v = self.transform_view(p_in, self.weights, self.C, self.P)
            p_out, a_out = self.caps_em_routing(v, a_in, self.C, self.eps)
            p_out = p_out.view(b, oh, ow, self.C * self.psize)
            a_out = a_out.view(b, oh, ow, self.C)
            return torch.cat([p_out, a_out], dim=3)
        assert c == self.B * (self.psize + 1)
        assert 1 == self.K
        assert 1 == self.stride
        p_in = x[:, :, :, :self.B * self.psize].contiguous()
        p_in = p_in.view(b, h * w * self.B, self.psize)
        a_in = x[:, :, :, self.B * self.psize:].contiguous()
        a_in = a_in.view(b, h * w * self.B, 1)
        v = self.transform_view(p_in, self.weights, self.C, self.P, self.w_shared)
        if self.coor_add:
            v = self.add_coord(v, b, h, w, self.B, self.C, self.psize)
        _, out = self.caps_em_routing(v, a_in, self.C, self.eps)
        return out


class CapsNet(nn.Module):
    def __init__(self, A=8, B=4, C=4, D=4, E=3, K=3, P=4, iters=2):
        super(CapsNet, self).__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=A, kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(num_features=A, eps=0.001, momentum=0.1, affine=True)
        self.relu1 = nn.ReLU(inplace=False)
        self.primary_caps = PrimaryCaps(A, B, 1, P, stride=1)
        self.conv_caps1 = ConvCaps(B, C, K, P, stride=1, iters=iters)
        self.class_caps = ConvCaps(C, E, 1, P, stride=1, iters=iters, coor_add=True,
                                   w_shared=True)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.primary_caps(x)
        if x.requires_grad or self.training:
            self.primary_out = x
            if x.requires_grad:
                x.register_hook(lambda g: self.primary_grads.append(g.norm().item()))
        x = self.conv_caps1(x)
        return self.class_caps(x)


class SpreadLoss(nn.Module):
    def __init__(self, m_min=0.2, m_max=0.9, num_class=3):
        super(SpreadLoss, self).__init__()
        self.m_min, self.m_max, self.num_class = m_min, m_max, num_class

    def forward(self, x, target, r):
        b, E = x.shape
        assert E == self.num_class
        margin = self.m_min + (self.m_max - self.m_min) * r
        at = torch.FloatTensor(b).fill_(0)
        for i, lb in enumerate(target):
            at[i] = x[i][lb]
        at = at.view(b, 1).repeat(1, E)
        zeros = x.new_zeros(x.shape)
        loss = torch.max(margin - (at - x), zeros)
        loss = loss ** 2
        loss = loss.sum() / b - margin ** 2
        return loss


def make_data(n):
    y = torch.randint(0, 3, (n,))
    x = torch.empty(n, 1, 10, 10).uniform_(0, 0.2)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, 2:8, 2:8] += torch.eye(6)
        elif y[i] == 1:
            x[i, 0, 2:8, 2:8] += torch.eye(6).flip(0)
        else:
            x[i, 0, 4:6, 1:9] += 1.0
    return x, y


# one E-step term against torch.distributions
v, mu, sig2 = torch.randn(2, 3, 4), torch.randn(1, 3, 4), torch.rand(1, 3, 4) + 0.5
caps = ConvCaps(B=3, C=3, K=1)
manual = -1. * (v - mu) ** 2 / (2 * sig2) - torch.log(sig2.sqrt()) - 0.5 * caps.ln_2pi
print('E-step matches Normal.log_prob:', torch.allclose(manual, Normal(mu, sig2.sqrt()).log_prob(v),
                                                       atol=1e-6))

model = CapsNet()
model.primary_grads = []
print('params', sum(p.numel() for p in model.parameters()),
      [n for n, _ in model.named_parameters() if 'beta' in n])
x, y = make_data(36)
out = model(x[:4])
print('class activations', out)
print('unfold agrees with index patches:', model.conv_caps1.patch_check)

criterion = SpreadLoss(num_class=3)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                            weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='max', patience=1,
                                                       factor=0.5)
epochs, batch = 5, 12
for epoch in range(epochs):
    model.train()
    correct, total_loss = 0, 0.0
    for k in range(0, 36, batch):
        data, target = x[k:k + batch], y[k:k + batch]
        r = (1. * k / 36 + epoch) / epochs
        output = model(data)
        loss = criterion(output, target, r)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        correct += output.max(1)[1].eq(target).sum().item()
    acc = correct / 36
    scheduler.step(acc)
    print('epoch {} loss {:.4f} acc {:.3f} lr {:.4f} |grad primary| {:.4f}'.format(
        epoch, total_loss / 3, acc, optimizer.param_groups[0]['lr'], model.primary_grads[-1]))

model.eval()
with torch.no_grad():
    xt, yt = make_data(15)
    out = model(xt)
    pred = out.argmax(dim=1)
    print('test acc', (pred == yt).sum().item(), '/', len(yt))
    print('beta_a', model.class_caps.beta_a)
    print('mean activation per class', torch.stack([out[yt == k].mean(0) for k in range(3)]))
    print('poses finite:', torch.isfinite(model.conv_caps1(model.primary_caps(
        model.relu1(model.bn1(model.conv1(xt)))))).all())
