"""Module and tensor hooks, buffers and state: forward/pre/backward hooks to capture
activations and gradients, removable handles, register_buffer (persistent or not)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("running", torch.zeros(3))
        self.register_buffer("scratch", torch.ones(2), persistent=False)
        self.register_buffer("nothing", None)

    def forward(self, x):
        h = self.act(self.fc1(x))
        with torch.no_grad():
            self.running.mul_(0.9).add_(0.1 * h.mean(0))
        return self.fc2(h) * self.scratch


net = Net()
with torch.no_grad():
    for i, p in enumerate(net.parameters()):
        p.copy_(torch.linspace(-0.5, 0.5, p.numel()).view_as(p) * (i + 1))
print([n for n, _ in net.named_buffers()], list(net.state_dict().keys()))

activations = {}


def get_activation(name):
    def hook(model, input, output):
        activations[name] = output.detach()
    return hook


h1 = net.fc1.register_forward_hook(get_activation("fc1"))
h2 = net.act.register_forward_hook(get_activation("act"))
pre_calls = []


def pre_hook(module, args):
    pre_calls.append(tuple(args[0].shape))
    return (args[0] * 2,)  # a pre-hook may replace the input


h3 = net.fc2.register_forward_pre_hook(pre_hook)
grads = {}


def backward_hook(module, grad_input, grad_output):
    grads[type(module).__name__] = (grad_input[0].shape, grad_output[0].shape)


h4 = net.fc2.register_full_backward_hook(backward_hook)
x = torch.linspace(-1, 1, 8).view(2, 4)
out = net(x)
out.sum().backward()
print(activations["fc1"], activations["act"], pre_calls, grads)
print(out.detach(), net.running)

tensor_grads = []
y = x.clone().requires_grad_()
hidden = net.fc1(y)
handle = hidden.register_hook(lambda g: tensor_grads.append(g.clone()))
hidden.register_hook(lambda g: g * 0)  # a hook can change the gradient flowing back
hidden.sum().backward()
print(tensor_grads[0], y.grad.abs().sum())
handle.remove()

for h in (h1, h2, h3, h4):
    h.remove()
activations.clear()
net(x)
print(activations, len(pre_calls))


def forward_hook_with_kwargs(module, args, kwargs, output):
    return output + 100


hk = net.fc1.register_forward_hook(forward_hook_with_kwargs, with_kwargs=True)
print(net.fc1(x[:1]).detach().round(decimals=3))
hk.remove()

# state_dict round trip and buffers follow .to(dtype)
sd = net.state_dict()
print({k: tuple(v.shape) for k, v in sd.items()})
fresh = Net()
fresh.load_state_dict(sd)
print(torch.equal(fresh.running, net.running), fresh.scratch)
net.double()
print(net.running.dtype, net.scratch.dtype, net.fc1.weight.dtype)
print([name for name, m in net.named_modules()], len(list(net.children())))

# parameters() / register_parameter / apply / zero_grad
net.register_parameter("extra", nn.Parameter(torch.tensor([1.0], dtype=torch.float64)))
print([n for n, _ in net.named_parameters()])
counts = []
net.apply(lambda m: counts.append(type(m).__name__))
print(counts)
net.zero_grad()
print(net.fc1.weight.grad)
print(F.relu(torch.tensor([-1.0, 1.0])), net.fc1.extra_repr())

# a gradient-norm hook on every parameter (a common debugging trick)
norms = {}
for name, p in net.named_parameters():
    p.register_hook(lambda g, name=name: norms.__setitem__(name, round(g.norm().item(), 4)))
net(x.double()).pow(2).sum().backward()
print(sorted(norms.items()))
