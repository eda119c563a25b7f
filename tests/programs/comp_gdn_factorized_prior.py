"""Learned image compression after CompressAI's FactorizedPrior (Ballé et al. 2017): GDN / IGDN
layers whose beta and gamma are reparametrized to stay non-negative (a LowerBound custom
autograd.Function that lets gradients through when they push the value back up), an
EntropyBottleneck with a learned per-channel CDF (softplus matrices, tanh factors), additive
uniform noise in training and median-centred rounding at test time, a likelihood lower bound,
the rate-distortion loss in bits per pixel, the auxiliary quantile loss with its own optimizer,
and the parameter split into main and aux groups."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(5)


class LowerBoundFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input_, bound):
        ctx.save_for_backward(input_, bound)
        return torch.max(input_, bound)

    @staticmethod
    def backward(ctx, grad_output):
        input_, bound = ctx.saved_tensors
        pass_through_if = (input_ >= bound) | (grad_output < 0)
        return pass_through_if * grad_output, None


class LowerBound(nn.Module):
    bound: torch.Tensor

    def __init__(self, bound: float):
        super().__init__()
        self.register_buffer("bound", torch.Tensor([float(bound)]))

    @torch.jit.unused
    def lower_bound(self, x):
        return LowerBoundFunction.apply(x, self.bound)

    def forward(self, x):
        if torch.jit.is_scripting():
            return torch.max(x, self.bound)
        return self.lower_bound(x)


class NonNegativeParametrizer(nn.Module):
    pedestal: torch.Tensor

    def __init__(self, minimum: float = 0, reparam_offset: float = 2**-18):
        super().__init__()
        self.minimum = float(minimum)
        self.reparam_offset = float(reparam_offset)
        pedestal = self.reparam_offset**2
        self.register_buffer("pedestal", torch.Tensor([pedestal]))
        bound = (self.minimum + self.reparam_offset**2) ** 0.5
        self.lower_bound = LowerBound(bound)

    def init(self, x):
        return torch.sqrt(torch.max(x + self.pedestal, self.pedestal))

    def forward(self, x):
        out = self.lower_bound(x)
        out = out**2 - self.pedestal
        return out


class GDN(nn.Module):
    def __init__(self, in_channels, inverse=False, beta_min=1e-6, gamma_init=0.1):
        super().__init__()
        beta_min = float(beta_min)
        gamma_init = float(gamma_init)
        self.inverse = bool(inverse)
        self.beta_reparam = NonNegativeParametrizer(minimum=beta_min)
        beta = torch.ones(in_channels)
        beta = self.beta_reparam.init(beta)
        self.beta = nn.Parameter(beta)
        self.gamma_reparam = NonNegativeParametrizer()
        gamma = gamma_init * torch.eye(in_channels)
        gamma = self.gamma_reparam.init(gamma)
        self.gamma = nn.Parameter(gamma)

    def forward(self, x):
        _, C, _, _ = x.size()
        beta = self.beta_reparam(self.beta)
        gamma = self.gamma_reparam(self.gamma)
        gamma = gamma.reshape(C, C, 1, 1)
        norm = F.conv2d(x**2, gamma, beta)
        if self.inverse:
            norm = torch.sqrt(norm)
        else:
            norm = torch.rsqrt(norm)
        return x * norm


class EntropyBottleneck(nn.Module):
    def __init__(self, channels, tail_mass=1e-9, init_scale=10, filters=(3, 3)):
        super().__init__()
        self.channels = int(channels)
        self.filters = tuple(int(f) for f in filters)
        self.init_scale = float(init_scale)
        self.tail_mass = float(tail_mass)
        self.likelihood_lower_bound = LowerBound(1e-9)
        filters = (1,) + self.filters + (1,)
        scale = self.init_scale ** (1 / (len(self.filters) + 1))
        channels = self.channels
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(self.filters) + 1):
            init = np.log(np.expm1(1 / scale / filters[i + 1]))
            matrix = torch.Tensor(channels, filters[i + 1], filters[i])
            matrix.data.fill_(init)
            self.matrices.append(nn.Parameter(matrix))
            bias = torch.Tensor(channels, filters[i + 1], 1)
            nn.init.uniform_(bias, -0.5, 0.5)
            self.biases.append(nn.Parameter(bias))
            if i < len(self.filters):
                factor = torch.Tensor(channels, filters[i + 1], 1)
                nn.init.zeros_(factor)
                self.factors.append(nn.Parameter(factor))
        self.quantiles = nn.Parameter(torch.Tensor(channels, 1, 3))
        init = torch.Tensor([-self.init_scale, 0, self.init_scale])
        self.quantiles.data = init.repeat(self.quantiles.size(0), 1, 1)
        target = np.log(2 / self.tail_mass - 1)
        self.register_buffer("target", torch.Tensor([-target, 0, target]))

    def _get_medians(self):
        return self.quantiles[:, :, 1:2]

    def _logits_cumulative(self, inputs, stop_gradient):
        logits = inputs
        for i in range(len(self.filters) + 1):
            matrix = self.matrices[i]
            if stop_gradient:
                matrix = matrix.detach()
            logits = torch.matmul(F.softplus(matrix), logits)
            bias = self.biases[i]
            if stop_gradient:
                bias = bias.detach()
            logits = logits + bias
            if i < len(self.factors):
                factor = self.factors[i]
                if stop_gradient:
                    factor = factor.detach()
                logits = logits + torch.tanh(factor) * torch.tanh(logits)
        return logits

    def loss(self):
        logits = self._logits_cumulative(self.quantiles, stop_gradient=True)
        return torch.abs(logits - self.target).sum()

    def _likelihood(self, inputs, stop_gradient=False):
        half = float(0.5)
        lower = self._logits_cumulative(inputs - half, stop_gradient=stop_gradient)
        upper = self._logits_cumulative(inputs + half, stop_gradient=stop_gradient)
        sign = -torch.sign(lower + upper)
        likelihood = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        return likelihood

    def quantize(self, inputs, mode, means=None):
        if mode == "noise":
            half = float(0.5)
            noise = torch.empty_like(inputs).uniform_(-half, half)
            return inputs + noise
        outputs = inputs.clone()
        if means is not None:
            outputs -= means
        outputs = torch.round(outputs)
        if mode == "dequantize":
            if means is not None:
                outputs += means
            return outputs
        assert mode == "symbols", mode
        return outputs.int()

    def forward(self, x, training=None):
        if training is None:
            training = self.training
        # x from B x C x ... to C x B x ...
        perm = torch.cat((torch.tensor([1, 0], dtype=torch.long),
                          torch.arange(2, x.ndim, dtype=torch.long)))
        inv_perm = perm
        x = x.permute(*perm).contiguous()
        shape = x.size()
        values = x.reshape(x.size(0), 1, -1)
        outputs = self.quantize(values, "noise" if training else "dequantize",
                                self._get_medians())
        likelihood = self._likelihood(outputs)
        likelihood = self.likelihood_lower_bound(likelihood)
        outputs = outputs.reshape(shape).permute(*inv_perm).contiguous()
        likelihood = likelihood.reshape(shape).permute(*inv_perm).contiguous()
        return outputs, likelihood


def conv(in_ch, out_ch, k=5, s=2):
    return nn.Conv2d(in_ch, out_ch, kernel_size=k, stride=s, padding=k // 2)


def deconv(in_ch, out_ch, k=5, s=2):
    return nn.ConvTranspose2d(in_ch, out_ch, kernel_size=k, stride=s, output_padding=s - 1,
                              padding=k // 2)


class FactorizedPrior(nn.Module):
    def __init__(self, N, M):
        super().__init__()
        self.entropy_bottleneck = EntropyBottleneck(M)
        self.g_a = nn.Sequential(conv(3, N), GDN(N), conv(N, M))
        self.g_s = nn.Sequential(deconv(M, N), GDN(N, inverse=True), deconv(N, 3))

    def forward(self, x):
        y = self.g_a(x)
        y_hat, y_likelihoods = self.entropy_bottleneck(y)
        x_hat = self.g_s(y_hat)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods}}

    def aux_loss(self):
        return sum(m.loss() for m in self.modules() if isinstance(m, EntropyBottleneck))


class RateDistortionLoss(nn.Module):
    def __init__(self, lmbda=1e-2):
        super().__init__()
        self.mse = nn.MSELoss()
        self.lmbda = lmbda

    def forward(self, output, target):
        N, _, H, W = target.size()
        out = {}
        num_pixels = N * H * W
        out["bpp_loss"] = sum(
            (torch.log(likelihoods).sum() / (-math.log(2) * num_pixels))
            for likelihoods in output["likelihoods"].values()
        )
        out["mse_loss"] = self.mse(output["x_hat"], target)
        out["loss"] = self.lmbda * 255**2 * out["mse_loss"] + out["bpp_loss"]
        return out


# the custom Function's backward against autograd's own gradient of torch.max
x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
bound = torch.tensor([1.0])
(LowerBoundFunction.apply(x, bound) * torch.tensor([1.0, -1.0, 1.0])).sum().backward()
print("lower bound grad:", x.grad)
print("gdn init:", GDN(2).beta.data, GDN(2).gamma.data[0])

net = FactorizedPrior(N=8, M=6)
parameters = {n for n, p in net.named_parameters() if not n.endswith(".quantiles")
              and p.requires_grad}
aux_parameters = {n for n, p in net.named_parameters() if n.endswith(".quantiles")
                  and p.requires_grad}
params_dict = dict(net.named_parameters())
inter_params = parameters & aux_parameters
union_params = parameters | aux_parameters
assert len(inter_params) == 0
assert len(union_params) - len(params_dict.keys()) == 0
optimizer = torch.optim.Adam((params_dict[n] for n in sorted(parameters)), lr=1e-3)
aux_optimizer = torch.optim.Adam((params_dict[n] for n in sorted(aux_parameters)), lr=1e-2)
print("main/aux tensors:", len(parameters), len(aux_parameters))

yy, xx = np.mgrid[0:16, 0:16] / 16.0
base = np.stack([np.sin(4 * xx), np.cos(3 * yy), xx * yy]) * 0.5 + 0.5
images = torch.from_numpy((base[None] + rng.normal(0, .05, (4, 3, 16, 16))).astype(np.float32))
criterion = RateDistortionLoss(lmbda=0.01)

net.train()
for step in range(6):
    optimizer.zero_grad()
    aux_optimizer.zero_grad()
    out_net = net(images)
    out_criterion = criterion(out_net, images)
    out_criterion["loss"].backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    optimizer.step()
    aux_loss = net.aux_loss()
    aux_loss.backward()
    aux_optimizer.step()
    # the float32 loss (~300) is printed to 3 decimals: its 4th moves with summation order
    print(f"step {step} loss {out_criterion['loss'].item():.3f} "
          f"mse {out_criterion['mse_loss'].item():.5f} bpp {out_criterion['bpp_loss'].item():.4f} "
          f"aux {aux_loss.item():.3f}")

gdn = net.g_a[1]
print("beta stays >= bound:", bool((gdn.beta_reparam(gdn.beta) >= 1e-6 - 1e-12).all()))
net.eval()
with torch.no_grad():
    out = net(images)
    y_hat = out["x_hat"].clamp_(0, 1)
    lik = out["likelihoods"]["y"]
    print("eval likelihood range:", f"{lik.min().item():.3e} {lik.max().item():.4f}")
    bpp = criterion(out, images)["bpp_loss"]
    mse = F.mse_loss(y_hat, images)
    print(f"eval bpp {bpp.item():.4f} psnr {(-10 * torch.log10(mse)).item():.3f}")
    y = net.g_a(images)
    symbols = net.entropy_bottleneck.quantize(
        y.permute(1, 0, 2, 3).reshape(6, 1, -1), "symbols",
        net.entropy_bottleneck._get_medians())
    print("symbols:", symbols.dtype, symbols.shape, symbols[0, 0, :8].tolist())
    print("medians:", net.entropy_bottleneck._get_medians().flatten())
    print("noise vs round:", torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5])))
