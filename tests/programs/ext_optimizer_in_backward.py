"""Fusing the optimizer step into backward, after the "How to save memory by fusing the
optimizer step into the backward pass" tutorial: one optimizer per parameter stepped from
Tensor.register_post_accumulate_grad_hook (each .grad freed as soon as it is used), checked
against the ordinary loss.backward(); opt.step() loop. Module backward hooks
(register_full_backward_pre_hook / register_full_backward_hook) scale and record gradients on
the way (and refuse an in-place module), and optimizer step hooks count the steps."""
import torch
import torch.nn as nn


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 16), nn.GELU(), nn.LayerNorm(16),
        nn.Linear(16, 16), nn.Tanh(),
        nn.Linear(16, 3),
    )


torch.manual_seed(1)
data = torch.randn(64, 6)
target = (data[:, :3] * torch.tensor([1.0, -2.0, 0.5])).sin()
loss_fn = nn.MSELoss()

# reference: a plain training loop
ref = make_model()
opt = torch.optim.AdamW(ref.parameters(), lr=1e-2, weight_decay=0.01)
for step in range(30):
    loss = loss_fn(ref(data[step % 4 * 16:(step % 4 + 1) * 16]), target[step % 4 * 16:
                                                                    (step % 4 + 1) * 16])
    opt.zero_grad()
    loss.backward()
    opt.step()
print("reference loss", round(loss.item(), 5))

# the same training with the step fused into backward
fused = make_model()
opt_dict = {p: torch.optim.AdamW([p], lr=1e-2, weight_decay=0.01) for p in fused.parameters()}
order = []


def optimizer_hook(parameter) -> None:
    order.append(tuple(parameter.shape))
    opt_dict[parameter].step()
    opt_dict[parameter].zero_grad(set_to_none=True)


handles = [p.register_post_accumulate_grad_hook(optimizer_hook) for p in fused.parameters()]
for step in range(30):
    loss = loss_fn(fused(data[step % 4 * 16:(step % 4 + 1) * 16]), target[step % 4 * 16:
                                                                      (step % 4 + 1) * 16])
    loss.backward()
print("fused loss    ", round(loss.item(), 5))
print("hook order in one backward:", order[:len(handles)])
print("grads freed:", all(p.grad is None for p in fused.parameters()))
diff = max((a - b).abs().max().item() for a, b in zip(ref.parameters(), fused.parameters()))
print("same weights as the reference:", diff < 1e-5)
for h in handles:
    h.remove()

# the hook sees the accumulated gradient, once per backward even with two uses of a weight
shared = nn.Linear(4, 4)
calls = []
h = shared.weight.register_post_accumulate_grad_hook(
    lambda p: calls.append(round(p.grad.abs().sum().item(), 4)))
x = torch.randn(2, 4)
shared(shared(x)).sum().backward()
print("post-accumulate calls:", len(calls), "grad sum", calls[0],
      "equals .grad:", calls[0] == round(shared.weight.grad.abs().sum().item(), 4))
h.remove()
try:
    (x * 2).register_post_accumulate_grad_hook(lambda p: None)
except RuntimeError as e:
    print("non-leaf:", e)

# module backward hooks: scale the incoming gradient, record the outgoing one
model = make_model()
seen = []


def pre_hook(module, grad_output):
    seen.append(("pre", type(module).__name__, tuple(grad_output[0].shape)))
    return (grad_output[0] * 0.5,)


def post_hook(module, grad_input, grad_output):
    seen.append(("post", type(module).__name__, round(grad_input[0].norm().item(), 4)))


hooks = [model[3].register_full_backward_pre_hook(pre_hook),
         model[3].register_full_backward_hook(post_hook),
         model[4].register_full_backward_hook(post_hook)]
inp = data[:8].clone().requires_grad_()
model(inp).pow(2).mean().backward()
for s in seen:
    print(" ", s)
g_halved = model[3].weight.grad.clone()
for h in hooks:
    h.remove()
model.zero_grad()
model(inp).pow(2).mean().backward()
print("pre-hook halved the weight grad:", torch.allclose(g_halved * 2, model[3].weight.grad))

# a full backward hook sees the module's inputs as they came in: an in-place module would
# change them behind the hook's back, which PyTorch refuses
inplace_relu = nn.ReLU(inplace=True)
inplace_relu.register_full_backward_hook(post_hook)
try:
    inplace_relu(inp * 1)
except RuntimeError as e:
    print("in-place under a full backward hook:", str(e).split(". ")[0])

# optimizer step hooks
steps = {"pre": 0, "post": 0}
sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
sgd.register_step_pre_hook(lambda o, a, k: steps.__setitem__("pre", steps["pre"] + 1))
sgd.register_step_post_hook(lambda o, a, k: steps.__setitem__("post", steps["post"] + 1))
for _ in range(3):
    sgd.zero_grad()
    loss = model(data).pow(2).mean()
    loss.backward()
    sgd.step()
print("step hooks:", steps, "loss", round(loss.item(), 5))
