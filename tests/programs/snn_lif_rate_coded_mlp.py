"""A spiking MLP in the style of snntorch's tutorials, written in plain torch: rate-coded inputs
(torch.rand < p and torch.bernoulli), leaky integrate-and-fire neurons with a fast-sigmoid
surrogate gradient (a torch.autograd.Function with save_for_backward), reset by subtraction with
a detached reset signal, BPTT over the time steps, spike-count cross-entropy and MSE count loss,
membrane traces stacked over time, forward hooks collecting firing rates, firing statistics, and
one LIF step under torch.compile whose surrogate gradients must equal eager's."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import gradcheck

torch.manual_seed(0)
torch.set_printoptions(precision=3)


class FastSigmoid(torch.autograd.Function):
    """Heaviside spike in the forward pass, fast-sigmoid derivative 1 / (1 + k|U|)^2 backward."""

    @staticmethod
    def forward(ctx, mem, slope=25.0):
        ctx.save_for_backward(mem)
        ctx.slope = slope
        return (mem > 0).type_as(mem)

    @staticmethod
    def backward(ctx, grad_output):
        (mem,) = ctx.saved_tensors
        grad = grad_output / (ctx.slope * torch.abs(mem) + 1.0) ** 2
        return grad, None


spike_grad = FastSigmoid.apply


class Leaky(nn.Module):
    """First-order LIF neuron: U[t+1] = beta U[t] + I[t+1] - S[t] * U_thr (reset by subtraction)."""

    def __init__(self, beta, threshold=1.0, learn_beta=False):
        super().__init__()
        beta = torch.as_tensor(beta, dtype=torch.float32)
        if learn_beta:
            self.beta = nn.Parameter(beta)
        else:
            self.register_buffer("beta", beta)
        self.threshold = threshold

    def init_leaky(self):
        return torch.zeros(1)

    def forward(self, input_, mem):
        beta = self.beta.clamp(0, 1)
        reset = (mem - self.threshold > 0).float().detach()
        mem = beta * mem + input_ - reset * self.threshold
        spk = spike_grad(mem - self.threshold)
        return spk, mem

    def extra_repr(self):
        return "threshold={}".format(self.threshold)


class Net(nn.Module):
    def __init__(self, num_inputs, num_hidden, num_outputs, beta):
        super().__init__()
        self.fc1 = nn.Linear(num_inputs, num_hidden)
        self.lif1 = Leaky(beta=beta, learn_beta=True)
        self.fc2 = nn.Linear(num_hidden, num_outputs)
        self.lif2 = Leaky(beta=beta)

    def forward(self, x):
        mem1 = self.lif1.init_leaky()
        mem2 = self.lif2.init_leaky()
        spk2_rec, mem2_rec = [], []
        for step in range(x.size(0)):
            cur1 = self.fc1(x[step])
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = self.fc2(spk1)
            spk2, mem2 = self.lif2(cur2, mem2)
            spk2_rec.append(spk2)
            mem2_rec.append(mem2)
        return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)


def rate(data, num_steps):
    """snntorch.spikegen.rate: each step fires with probability equal to the pixel intensity."""
    data = data.clamp(0, 1)
    return (torch.rand(num_steps, *data.shape) < data).float()


def make_patterns(n, num_classes=3, side=6):
    """Noisy bars: class 0 horizontal, class 1 vertical, class 2 diagonal; intensities in [0, 1]."""
    images = torch.zeros(n, side, side)
    labels = torch.randint(0, num_classes, (n,))
    pos = torch.randint(1, side - 1, (n,))
    rows = torch.arange(side)
    for i in range(n):
        if labels[i] == 0:
            images[i, pos[i], :] = 1.0
        elif labels[i] == 1:
            images[i, :, pos[i]] = 1.0
        else:
            images[i, rows, rows] = 1.0
    images = (images * 0.8 + 0.15 * torch.rand(n, side, side)).clamp_(0, 1)
    return images.flatten(1), labels


def ce_count_loss(spk_out, targets):
    """snntorch.functional.ce_count_loss: cross-entropy of the spike counts over all steps."""
    return F.cross_entropy(spk_out.sum(0), targets)


def mse_count_loss(spk_out, targets, correct_rate=0.8, incorrect_rate=0.2):
    num_steps, _, num_classes = spk_out.shape
    on = torch.full_like(spk_out[0], incorrect_rate * num_steps)
    on.scatter_(1, targets.unsqueeze(1), correct_rate * num_steps)
    return F.mse_loss(spk_out.sum(0), on)


# the surrogate itself: forward is a step, backward the fast sigmoid (checked in float64)
u = torch.linspace(-0.2, 0.2, 5, requires_grad=True)
s = spike_grad(u)
s.sum().backward()
print("spikes:", s.detach())
print("surrogate grad:", u.grad)
u64 = torch.tensor([0.3, -0.4, 0.7], dtype=torch.double, requires_grad=True)


def smooth_sigmoid(x):
    return torch.sigmoid(5 * x)


print("gradcheck sigmoid:", gradcheck(smooth_sigmoid, (u64,)))

# rate coding two ways, same expected spike rate
num_steps = 12
x_train, y_train = make_patterns(96)
x_test, y_test = make_patterns(48)
coded = rate(x_train[:4], num_steps)
bern = torch.bernoulli(x_train[:4].unsqueeze(0).expand(num_steps, -1, -1))
print("coded shape:", tuple(coded.shape), coded.dtype)
print("rate vs intensity: {:.3f} {:.3f} {:.3f}".format(
    coded.mean().item(), bern.mean().item(), x_train[:4].mean().item()))
print("class counts:", torch.bincount(y_train, minlength=3).tolist())

net = Net(36, 24, 3, beta=0.9)
print(net)
firing = {}


def record_rate(name):
    def hook(module, inputs, outputs):
        spk, _ = outputs
        firing.setdefault(name, []).append(spk.detach().mean().item())
    return hook


handles = [net.lif1.register_forward_hook(record_rate("lif1")),
           net.lif2.register_forward_hook(record_rate("lif2"))]
optimizer = torch.optim.Adam(net.parameters(), lr=5e-3, betas=(0.9, 0.999))
batch_size = 32
for epoch in range(4):
    perm = torch.randperm(x_train.size(0))
    epoch_loss = 0.0
    for start in range(0, x_train.size(0), batch_size):
        idx = perm[start:start + batch_size]
        spikes_in = rate(x_train[idx], num_steps)
        spk_rec, mem_rec = net(spikes_in)
        loss = ce_count_loss(spk_rec, y_train[idx]) + 0.5 * mse_count_loss(spk_rec, y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item() * idx.numel()
    print("epoch {} loss {:.4f} beta1 {:.4f} rate1 {:.3f} rate2 {:.3f}".format(
        epoch, epoch_loss / x_train.size(0), net.lif1.beta.item(),
        sum(firing["lif1"]) / len(firing["lif1"]), sum(firing["lif2"]) / len(firing["lif2"])))
    firing.clear()

for h in handles:
    h.remove()

with torch.no_grad():
    spk_rec, mem_rec = net(rate(x_test, num_steps))
    counts = spk_rec.sum(dim=0)
    _, predicted = counts.max(1)
    acc = (predicted == y_test).float().mean()
    print("test accuracy: {:.3f}".format(acc.item()))
    print("spike counts (first 4):")
    print(counts[:4].int())
    print("membrane trace, sample 0, neuron", y_test[0].item())
    print(mem_rec[:, 0, y_test[0]])
    rates = spk_rec.mean(dim=(0, 1))
    print("output rates:", rates)
    print("silent outputs: {} of {}".format(int((counts == 0).sum()), counts.numel()))
    per_step = spk_rec.sum(dim=(1, 2))
    print("spikes per step:", per_step.long().tolist())
    first_spike = torch.where(spk_rec.any(0), spk_rec.argmax(0), torch.full_like(counts, -1).long())
    print("first spike times:", first_spike[:3].tolist())
    confusion = torch.zeros(3, 3, dtype=torch.long)
    confusion.index_put_((y_test, predicted), torch.ones_like(y_test), accumulate=True)
    print(confusion)
print("grad of beta is None after no_grad:", net.lif1.beta.grad is None)

# one LIF step compiled (as a speed-up would be tried): values and surrogate gradients of the
# compiled step equal eager's over a short BPTT window
step_fc = nn.Linear(36, 3)
step_lif = Leaky(beta=0.9)


def lif_step(x, mem):
    return step_lif(step_fc(x), mem)


compiled_step = torch.compile(lif_step, backend="aot_eager")
window = rate(x_test[:4], 6)
grads = []
for fn in (lif_step, compiled_step):
    step_fc.zero_grad()
    mem = torch.zeros(4, 3)
    spikes = []
    for t in range(window.size(0)):
        spk, mem = fn(window[t] * 3.0, mem)
        spikes.append(spk)
    total = torch.stack(spikes).sum() + mem.sum()
    total.backward()
    grads.append((total.item(), step_fc.weight.grad.clone()))
same_grads = torch.allclose(grads[0][1], grads[1][1])
print("compiled step: same total {} same grads {} grad norm {:.4f}".format(
    grads[0][0] == grads[1][0], same_grads, grads[0][1].norm().item()))
