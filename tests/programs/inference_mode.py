"""Inference mode as the autograd notes describe it: tensors made inside are inference
tensors (no version counter, no grad), what they may and may not do afterwards."""
import torch
import torch.nn as nn

model = nn.Linear(3, 2)
with torch.no_grad():
    model.weight.copy_(torch.tensor([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]))
    model.bias.fill_(0.1)
x = torch.tensor([[1.0, 2.0, 3.0]])

with torch.inference_mode():
    y = model(x)
    print(torch.is_inference_mode_enabled(), y.requires_grad, y.is_inference())
    z = y * 2
    z.add_(1)  # in-place inside inference mode is fine
print(torch.is_inference_mode_enabled(), z, z.is_inference(), x.is_inference())


@torch.inference_mode()
def predict(inp):
    return model(inp).argmax(1)


print(predict(x), predict(x).is_inference())
with torch.inference_mode(mode=False):
    w = model(x)
print(w.requires_grad, w.is_inference())
with torch.no_grad():
    nz = model(x)
print(nz.requires_grad, nz.is_inference())
try:
    z.add_(1)
except RuntimeError as err:
    print("RuntimeError:", err)
try:
    (model(x) * z).sum().backward()
except RuntimeError as err:
    print("RuntimeError:", str(err).split(".")[0])
print((z.clone() + 1).is_inference())
