"""SpikingJelly-style multi-step spiking networks in plain torch: a MemoryModule base whose
membrane state lives beside the parameters (__getattr__/__setattr__ overrides, reset_net), a
TorchScript-decorated heaviside with a sigmoid surrogate Function, multi-step LIF and parametric
PLIF nodes (hard and soft reset, detach_reset), SeqToANNContainer folding time into the batch
for Conv2d/BatchNorm2d, a Poisson encoder, a spike monitor built on forward hooks, firing-rate
MSE training, and an unsupervised STDP update with in-place traces on a second layer."""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)


@torch.jit.script
def heaviside(x: torch.Tensor):
    return (x >= 0).to(x)


class SigmoidSurrogate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        if x.requires_grad:
            ctx.save_for_backward(x)
            ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output):
        grad_x = None
        if ctx.needs_input_grad[0]:
            sgax = (ctx.saved_tensors[0] * ctx.alpha).sigmoid_()
            grad_x = grad_output * (1.0 - sgax) * sgax * ctx.alpha
        return grad_x, None


class Sigmoid(nn.Module):
    def __init__(self, alpha=4.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return SigmoidSurrogate.apply(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class MemoryModule(nn.Module):
    """Stateful module: memories are reset to their registered initial values by reset()."""

    def __init__(self):
        super().__init__()
        self._memories = {}
        self._memories_rv = {}

    def register_memory(self, name, value):
        assert not hasattr(self, name), f"{name} has been set as a member variable!"
        self._memories[name] = value
        self._memories_rv[name] = copy.deepcopy(value)

    def reset(self):
        for key in self._memories.keys():
            self._memories[key] = copy.deepcopy(self._memories_rv[key])

    def __getattr__(self, name):
        if "_memories" in self.__dict__:
            memories = self.__dict__["_memories"]
            if name in memories:
                return memories[name]
        return super().__getattr__(name)

    def __setattr__(self, name, value):
        _memories = self.__dict__.get("_memories")
        if _memories is not None and name in _memories:
            _memories[name] = value
        else:
            super().__setattr__(name, value)

    def detach(self):
        for key in self._memories.keys():
            if isinstance(self._memories[key], torch.Tensor):
                self._memories[key].detach_()


def reset_net(net):
    for m in net.modules():
        if hasattr(m, "reset"):
            m.reset()


class MultiStepLIFNode(MemoryModule):
    def __init__(self, tau=2.0, v_threshold=1.0, v_reset=0.0, surrogate_function=None,
                 detach_reset=False, decay_input=True):
        super().__init__()
        self.tau = tau
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.detach_reset = detach_reset
        self.decay_input = decay_input
        self.surrogate_function = surrogate_function or Sigmoid()
        self.register_memory("v", 0.0 if v_reset is None else v_reset)
        self.register_memory("v_seq", None)

    def neuronal_charge(self, x):
        v_reset = 0.0 if self.v_reset is None else self.v_reset
        if self.decay_input:
            self.v = self.v + (x - (self.v - v_reset)) / self.tau
        else:
            self.v = self.v - (self.v - v_reset) / self.tau + x

    def neuronal_reset(self, spike):
        spike_d = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:  # soft reset: subtract the threshold
            self.v = self.v - spike_d * self.v_threshold
        else:  # hard reset
            self.v = (1.0 - spike_d) * self.v + spike_d * self.v_reset

    def single_step_forward(self, x):
        if not isinstance(self.v, torch.Tensor):
            self.v = torch.full_like(x, self.v)
        self.neuronal_charge(x)
        spike = self.surrogate_function(self.v - self.v_threshold)
        self.neuronal_reset(spike)
        return spike

    def forward(self, x_seq):
        spike_seq, v_seq = [], []
        for t in range(x_seq.shape[0]):
            spike_seq.append(self.single_step_forward(x_seq[t]))
            v_seq.append(self.v)
        self.v_seq = torch.stack(v_seq)
        return torch.stack(spike_seq)

    def extra_repr(self):
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, "
                f"detach_reset={self.detach_reset}, tau={self.tau}")


class MultiStepParametricLIFNode(MultiStepLIFNode):
    """PLIF: 1/tau = sigmoid(w) is learned."""

    def __init__(self, init_tau=2.0, **kwargs):
        super().__init__(tau=init_tau, **kwargs)
        init_w = -math.log(init_tau - 1.0)
        self.w = nn.Parameter(torch.as_tensor(init_w))

    def neuronal_charge(self, x):
        v_reset = 0.0 if self.v_reset is None else self.v_reset
        self.v = self.v + (x - (self.v - v_reset)) * self.w.sigmoid()

    def extra_repr(self):
        return super().extra_repr() + f", tau={1.0 / self.w.sigmoid().item():.4f}"


class SeqToANNContainer(nn.Module):
    def __init__(self, *args):
        super().__init__()
        self.module = args[0] if len(args) == 1 else nn.Sequential(*args)

    def forward(self, x_seq):
        y_shape = [x_seq.shape[0], x_seq.shape[1]]
        y_seq = self.module(x_seq.flatten(0, 1).contiguous())
        y_shape.extend(y_seq.shape[1:])
        return y_seq.view(y_shape)


class PoissonEncoder(nn.Module):
    def forward(self, x):
        return torch.rand_like(x).le(x).to(x)


class Monitor:
    """Records the output of every module of the given type through forward hooks."""

    def __init__(self, net, instance):
        self.records, self.names, self.handles = [], [], []
        for name, m in net.named_modules():
            if isinstance(m, instance):
                self.names.append(name)
                self.handles.append(m.register_forward_hook(self.hook(name)))

    def hook(self, name):
        def record(module, inputs, output):
            self.records.append((name, output.detach().clone()))
        return record

    def clear_recorded_data(self):
        self.records.clear()

    def remove_hooks(self):
        for h in self.handles:
            h.remove()


class CSNN(nn.Module):
    def __init__(self, channels=4, num_classes=3):
        super().__init__()
        self.conv_fc = nn.Sequential(
            SeqToANNContainer(nn.Conv2d(1, channels, 3, padding=1, bias=False),
                              nn.BatchNorm2d(channels)),
            MultiStepParametricLIFNode(init_tau=2.0, surrogate_function=Sigmoid(alpha=4.0),
                                       detach_reset=True),
            SeqToANNContainer(nn.AvgPool2d(2)),
            SeqToANNContainer(nn.Flatten(), nn.Linear(channels * 4 * 4, num_classes * 4),
                              nn.BatchNorm1d(num_classes * 4)),
            MultiStepLIFNode(tau=2.0, v_reset=None, detach_reset=True),
            SeqToANNContainer(nn.Linear(num_classes * 4, num_classes), nn.BatchNorm1d(num_classes)),
            MultiStepLIFNode(tau=2.0, detach_reset=True),
        )

    def forward(self, x_seq):
        return self.conv_fc(x_seq)


def make_digits(n, side=8):
    """Three template glyphs (|, -, o) with jitter and pixel noise, intensities in [0, 1]."""
    base = torch.zeros(3, side, side)
    base[0, 1:-1, 3:5] = 1.0
    base[1, 3:5, 1:-1] = 1.0
    base[2, 1:-1, 1:-1] = 1.0
    base[2, 3:-3, 3:-3] = 0.0
    labels = torch.randint(0, 3, (n,))
    shifts = torch.randint(-1, 2, (n, 2))
    imgs = torch.stack([torch.roll(base[c], tuple(s.tolist()), dims=(0, 1))
                        for c, s in zip(labels, shifts)])
    imgs = (0.85 * imgs + 0.2 * torch.rand(n, side, side)).clamp(0.0, 1.0)
    return imgs.unsqueeze(1), labels


lif = MultiStepLIFNode(tau=2.0, v_reset=None)
print(lif)
print("memories:", sorted(lif._memories), "v before:", lif.v)
x_seq = torch.full((6, 2), 0.6)
x_seq[:, 1] = 1.5
print("spikes:", lif(x_seq).T.tolist())
print("v_seq:", lif.v_seq.T.tolist())
reset_net(lif)
print("after reset:", lif.v, lif.v_seq)

x = torch.linspace(-1, 1, 5, requires_grad=True)
Sigmoid(alpha=4.0)(x).sum().backward()
print("surrogate grad:", x.grad)
try:
    heaviside(0.5)
except RuntimeError as e:
    print("RuntimeError:", str(e).splitlines()[0])

T = 6
encoder = PoissonEncoder()
x_train, y_train = make_digits(48)
x_test, y_test = make_digits(24)
net = CSNN()
print(net)
optimizer = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
for epoch in range(6):
    net.train()
    train_loss, train_acc = 0.0, 0
    for xb, yb in zip(x_train.split(12), y_train.split(12)):
        x_seq = torch.stack([encoder(xb) for _ in range(T)])
        out_fr = net(x_seq).mean(0)
        loss = F.mse_loss(out_fr, F.one_hot(yb, 3).float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        reset_net(net)
        train_loss += loss.item() * yb.numel()
        train_acc += (out_fr.argmax(1) == yb).float().sum().item()
    scheduler.step()
    plif = net.conv_fc[1]
    print("epoch {} loss {:.4f} acc {:.3f} plif tau {:.4f} lr {:.3f}".format(
        epoch, train_loss / 48, train_acc / 48, 1.0 / plif.w.sigmoid().item(),
        optimizer.param_groups[0]["lr"]))

net.eval()
monitor = Monitor(net, MultiStepLIFNode)
print("monitored:", monitor.names)
with torch.no_grad():
    x_seq = torch.stack([encoder(x_test) for _ in range(T)])
    out_fr = net(x_seq).mean(0)
    reset_net(net)
    print("test acc {:.3f}".format((out_fr.argmax(1) == y_test).float().mean().item()))
    for name, s_seq in monitor.records:
        fr = s_seq.flatten(2).mean(dim=(0, 2))
        print("layer {} shape {} firing rate {:.4f} max {:.4f} dead {}".format(
            name, list(s_seq.shape), fr.mean().item(), fr.max().item(),
            int((s_seq.sum(dim=(0, 1)) == 0).sum())))
monitor.clear_recorded_data()
monitor.remove_hooks()
print("records after clear:", len(monitor.records))

# unsupervised STDP on a fresh fully connected layer fed with the first layer's spikes
fc = nn.Linear(16, 4, bias=False)
nn.init.uniform_(fc.weight, 0.0, 0.3)
stdp_lif = MultiStepLIFNode(tau=2.0, v_threshold=0.6)
tau_pre, tau_post, lr_stdp = 2.0, 2.0, 0.01
trace_pre = torch.zeros(4, 16)
trace_post = torch.zeros(4, 4)
pre_seq = (torch.rand(20, 4, 16) < torch.linspace(0.05, 0.6, 16)).float()
w0 = fc.weight.detach().clone()
with torch.no_grad():
    for t in range(pre_seq.shape[0]):
        in_spike = pre_seq[t]
        out_spike = stdp_lif.single_step_forward(fc(in_spike))
        trace_pre.mul_(1.0 - 1.0 / tau_pre).add_(in_spike)
        trace_post.mul_(1.0 - 1.0 / tau_post).add_(out_spike)
        delta_w = (out_spike.unsqueeze(2) * trace_pre.unsqueeze(1)).sum(0) \
            - (trace_post.unsqueeze(2) * in_spike.unsqueeze(1)).sum(0)
        fc.weight.add_(lr_stdp * delta_w).clamp_(0.0, 1.0)
dw = fc.weight - w0
print("stdp dw row sums:", dw.sum(1))
print("stdp dw vs input rate corr: {:.4f}".format(
    torch.corrcoef(torch.stack([dw.mean(0), torch.linspace(0.05, 0.6, 16)]))[0, 1].item()))
print("weights in [0, 1]:", bool(((fc.weight >= 0) & (fc.weight <= 1)).all()))
