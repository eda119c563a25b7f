"""The nn.Module API tour ("Build the Neural Network" and the nn.Module docs): reprs with
extra_repr, named_modules/named_children, apply(init_fn), get_submodule, ModuleDict /
ParameterList / ParameterDict, buffers (persistent or not), state_dict / load_state_dict with
strict=False and its returned keys, hooks with kwargs, dtype casts, requires_grad_ and
parameters_to_vector."""
from collections import OrderedDict

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

rng = np.random.default_rng(0)


class Scale(nn.Module):
    def __init__(self, features, init=1.0):
        super().__init__()
        self.features = features
        self.weight = nn.Parameter(torch.full((features,), init))
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("cache", torch.zeros(features), persistent=False)

    def extra_repr(self):
        return f"features={self.features}"

    def forward(self, x):
        self.calls += 1
        return x * self.weight


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.body = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(6, 5)),
            ("act", nn.ReLU()),
            ("drop", nn.Dropout(0.25)),
            ("fc2", nn.Linear(5, 4, bias=False)),
        ]))
        self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
        self.scale = Scale(4)
        self.extras = nn.ParameterList([nn.Parameter(torch.ones(2)), nn.Parameter(torch.zeros(3))])
        self.table = nn.ParameterDict({"alpha": nn.Parameter(torch.tensor(0.5))})
        self.norm = nn.LayerNorm(4)
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x, head="cls"):
        h = self.body(self.flatten(x))
        h = self.bn(self.norm(self.scale(h))) * self.table["alpha"]
        return self.heads[head](h) + self.extras[0].sum()


model = Net()
print(model)
print(model.scale, repr(model.heads), model.body.drop, model.bn, sep="\n")
print([name for name, _ in model.named_children()])
print([(name, type(m).__name__) for name, m in model.named_modules()])
print([name for name, _ in model.named_modules(prefix="net")][:4])
print([(name, tuple(p.shape)) for name, p in model.named_parameters()])
print([name for name, _ in model.named_parameters(recurse=False)])
print([name for name, _ in model.named_buffers()])
print(list(model.state_dict().keys()))
print(model.get_submodule("body.fc2"), model.get_parameter("body.fc1.bias").shape,
      model.get_buffer("scale.calls"))
print(len(list(model.modules())), len(list(model.children())), len(list(model.parameters())))
print(model.body[0], model.body[-1], len(model.body), model.body[1:3])
print("cls" in model.heads, list(model.heads.keys()), len(model.extras))


@torch.no_grad()
def init_weights(m):
    if isinstance(m, nn.Linear):
        m.weight.copy_(torch.from_numpy(
            rng.uniform(-0.5, 0.5, tuple(m.weight.shape)).astype(np.float32)))
        if m.bias is not None:
            m.bias.fill_(0.01)


seen = []
model.apply(init_weights)
model.apply(lambda m: seen.append(type(m).__name__))
print(seen)

x = torch.from_numpy(rng.standard_normal((8, 2, 3)).astype(np.float32))
model.eval()
out = model(x)
print(out.shape, out.dtype, f"{out.sum().item():.4f}", model.scale.calls.item())
print(model.training, model.body.training, model.train().body.drop.training)
model.eval()


def pre_hook(module, args, kwargs):
    print("pre-hook", type(module).__name__, [tuple(a.shape) for a in args], sorted(kwargs))
    return args, {**kwargs, "head": "reg"}


def fwd_hook(module, args, output):
    print("fwd-hook", tuple(output.shape))


grads = {}


def bwd_hook(module, grad_input, grad_output):
    grads["in"] = [None if g is None else tuple(g.shape) for g in grad_input]
    grads["out"] = [tuple(g.shape) for g in grad_output]


h1 = model.register_forward_pre_hook(pre_hook, with_kwargs=True)
h2 = model.register_forward_hook(fwd_hook)
h3 = model.body.fc1.register_full_backward_hook(bwd_hook)
out = model(x, head="cls")
out.sum().backward()
print(out.shape, grads)
h1.remove()
h2.remove()
h3.remove()
print(model(x).shape)

sd = model.state_dict()
print(type(sd).__name__, sd["scale.calls"], sd["body.fc1.bias"][:3])
sd2 = {k: v.clone() for k, v in sd.items() if not k.startswith("heads.reg")}
sd2["unexpected.weight"] = torch.zeros(1)
result = model.load_state_dict(sd2, strict=False)
print(result.missing_keys, result.unexpected_keys)
print(result)
try:
    model.load_state_dict(sd2)
except RuntimeError as e:
    print(type(e).__name__, str(e).splitlines()[0])
bad = dict(sd)
bad["body.fc1.weight"] = torch.zeros(3, 3)
try:
    model.load_state_dict(bad)
except RuntimeError as e:
    print(type(e).__name__, str(e).replace("\t", " ").splitlines()[1])

vec = parameters_to_vector(model.parameters())
print(vec.shape, f"{vec.sum().item():.4f}")
vector_to_parameters(vec * 2, model.parameters())
print(f"{parameters_to_vector(model.parameters()).sum().item():.4f}")
print(sum(p.numel() for p in model.parameters() if p.requires_grad))

model.body.requires_grad_(False)
print([n for n, p in model.named_parameters() if not p.requires_grad])
model.zero_grad()
print([n for n, p in model.named_parameters() if p.grad is not None])

double = model.to(torch.float64)
print(double is model, model.body.fc1.weight.dtype, model.scale.calls.dtype,
      model.bn.num_batches_tracked.dtype)
print(model(x.double()).dtype)
model.half()
print(model.heads.cls.weight.dtype, model.scale.cache.dtype)
model.float()
print(model.table.alpha.dtype, model.bn.running_mean.dtype)
print(model.to(dtype=torch.bfloat16).norm.weight.dtype)
model.to("cpu", torch.float32)
print(model.body.fc2.weight.device, model.body.fc2.weight.dtype)

del model.heads["reg"]
model.heads.update({"aux": nn.Identity()})
model.extras.append(nn.Parameter(torch.full((1,), 3.0)))
print(model.heads, model.extras, sep="\n")
model.register_module("tail", nn.Tanh())
model.add_module("tail2", None)
print([n for n, _ in model.named_children()][-3:], model.tail2)
try:
    model.get_submodule("body.fc9")
except AttributeError as e:
    print(type(e).__name__, e)
try:
    model.register_buffer("weight.x", torch.zeros(1))
except KeyError as e:
    print(type(e).__name__, e)
try:
    model.scale.weight = torch.zeros(4)
except TypeError as e:
    print(type(e).__name__, e)

# tied weights, duplicates and keep_vars
tied = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 5, bias=False))
tied[1].weight = tied[0].weight
with torch.no_grad():
    tied[0].weight.copy_(torch.linspace(-1, 1, 15).view(5, 3))
print(len(list(tied.parameters())), [n for n, _ in tied.named_parameters(remove_duplicate=False)])
print(list(tied.state_dict().keys()), tied.state_dict(keep_vars=True)["0.weight"].requires_grad,
      tied.state_dict()["0.weight"].requires_grad)
print(list(tied.state_dict(prefix="model.").keys()))
tied.register_parameter("temperature", nn.Parameter(torch.tensor(2.0)))
tied.register_parameter("unused", None)
print([n for n, _ in tied.named_parameters()], tied.unused)
ids = torch.tensor([[0, 4], [2, 2]])
loss = tied(ids).sum() * tied.temperature
loss.backward()
print(tied[0].weight.grad.shape, f"{tied.temperature.grad.item():.4f}")
tied.zero_grad(set_to_none=False)
print(tied.temperature.grad, tied[0].weight.grad.abs().sum().item())
tied.zero_grad()
print(tied.temperature.grad)

# state_dict hooks and global forward hooks
calls = []
handle = nn.modules.module.register_module_forward_hook(
    lambda m, i, o: calls.append(type(m).__name__))
nn.Sequential(nn.Linear(2, 2), nn.Sigmoid())(torch.ones(1, 2))
handle.remove()
print(calls)
lin = nn.Linear(2, 2)
lin.register_load_state_dict_post_hook(
    lambda module, keys: print("post-load", type(module).__name__, keys.missing_keys))
lin.load_state_dict(nn.Linear(2, 2).state_dict())
print(lin.load_state_dict({"weight": torch.eye(2)}, strict=False))
print(lin.weight.tolist(), lin.weight.is_leaf, lin.weight.requires_grad)
lin.load_state_dict({"weight": torch.ones(2, 2), "bias": torch.zeros(2)}, assign=True)
print(lin.weight, lin.bias)
print(dir(lin).count("weight"), hasattr(lin, "in_features"), lin.__class__.__name__)
lin.weight.data.mul_(2)
print(lin.weight.grad_fn, lin.weight.data.requires_grad, lin.weight.detach().requires_grad)

# global hooks for every module: a profiler-style tracer
trace = []
handles = [
    nn.modules.module.register_module_forward_pre_hook(
        lambda m, args: trace.append(("pre", type(m).__name__))),
    nn.modules.module.register_module_full_backward_hook(
        lambda m, gin, gout: trace.append(("bwd", type(m).__name__, len(gin)))),
    nn.modules.module.register_module_buffer_registration_hook(
        lambda m, name, b: None if b is None else b + 1),
]
probe = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
probe.register_buffer("offset", torch.zeros(2))
with torch.no_grad():
    probe[0].weight.fill_(0.5)
    probe[0].bias.zero_()
probe(torch.ones(4, 2, requires_grad=True)).sum().backward()
for h in handles:
    h.remove()
print(trace, probe.offset)
bad_lin = nn.Linear(2, 2)
always = bad_lin.register_forward_hook(
    lambda m, args, out: print("always_call sees", out), always_call=True)
try:
    bad_lin(torch.ones(3))  # the always_call hook still runs when forward raises
except RuntimeError as e:
    print(type(e).__name__)  # ember's message names the layer and the fix
