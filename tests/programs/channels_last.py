"""PyTorch's "Channels Last Memory Format" tutorial: the memory format of a tensor is read from
its strides; converting tensors and a model, checking is_contiguous, what keeps the format
(clone, empty_like, pointwise ops, conv, batch norm, pooling) and training a few steps."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

N, C, H, W = 10, 3, 32, 32
x = torch.empty(N, C, H, W)
print(x.stride())  # (3072, 1024, 32, 1)

# Conversion operator
x = x.to(memory_format=torch.channels_last)
print(x.shape)  # outputs: (10, 3, 32, 32) as dimensions order preserved
print(x.stride())  # outputs: (3072, 1, 96, 3)

# Back to contiguous
x = x.to(memory_format=torch.contiguous_format)
print(x.stride())  # outputs: (3072, 1024, 32, 1)

# Alternative option
x = x.contiguous(memory_format=torch.channels_last)
print(x.stride())  # outputs: (3072, 1, 96, 3)

# Format checks
print(x.is_contiguous(memory_format=torch.channels_last))  # outputs: True
print(x.is_contiguous(), x.is_contiguous(memory_format=torch.channels_last_3d))

# to and contiguous return self when the tensor is already in the format
print(x.contiguous(memory_format=torch.channels_last) is x,
      x.to(memory_format=torch.channels_last) is x)

# Special case: a size-1 channel dim makes both formats fit (and strides ambiguous)
special_x = torch.empty(4, 1, 4, 4)
print(special_x.is_contiguous(memory_format=torch.channels_last),
      special_x.is_contiguous(memory_format=torch.contiguous_format))
special_x = torch.empty(4, 1, 4, 4).to(memory_format=torch.channels_last)
print(special_x.stride())

# Create as channels last
x = torch.empty(N, C, H, W, memory_format=torch.channels_last)
print(x.stride())  # (3072, 1, 96, 3)

# clone, empty_like and friends preserve the format
y = x.clone()
print(y.stride())  # (3072, 1, 96, 3)
print(torch.empty_like(x).stride(), torch.zeros_like(x).stride())
print(torch.ones_like(x, memory_format=torch.contiguous_format).stride())

# to, to device and dtype preserve it
if torch.cuda.is_available():
    y = x.cuda()
    print(y.stride())
y = x.to("cpu", dtype=torch.float64)
print(y.stride(), y.dtype)

# empty_strided and the raw strides
z = torch.empty_strided((2, 3, 4, 5), (60, 1, 15, 3))
print(z.is_contiguous(memory_format=torch.channels_last))

# Pointwise ops preserve it
rng = np.random.default_rng(0)
values = torch.from_numpy(rng.standard_normal((N, C, H, W)).astype(np.float32))
x = values.to(memory_format=torch.channels_last)
y = (x ** 2).relu() + 1
print(y.stride(), torch.sigmoid(x).is_contiguous(memory_format=torch.channels_last))
print(torch.equal(y, (values ** 2).relu() + 1))  # same values, another layout

# Conv, batch norm and pooling keep channels last
conv = nn.Conv2d(C, 8, 3, padding=1)
with torch.no_grad():
    conv.weight.copy_(torch.from_numpy(rng.uniform(-0.2, 0.2, (8, C, 3, 3)).astype(np.float32)))
    conv.bias.zero_()
out = conv(x)
print(out.stride(), out.is_contiguous(memory_format=torch.channels_last))
out = nn.BatchNorm2d(8)(out)
print(out.is_contiguous(memory_format=torch.channels_last))
print(F.max_pool2d(out, 2).stride(), F.adaptive_avg_pool2d(out, (4, 4)).stride())
# ... but a 5-D tensor uses channels_last_3d
v = torch.zeros(2, 3, 4, 5, 6).to(memory_format=torch.channels_last_3d)
print(v.stride(), v.is_contiguous(memory_format=torch.channels_last_3d))
try:
    torch.zeros(2, 3).to(memory_format=torch.channels_last)
except RuntimeError as err:
    print("RuntimeError:", err)


# Converting a model
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        return self.fc(torch.flatten(self.pool(x), 1))


model = Net()
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.from_numpy(
            np.random.default_rng(i).uniform(-0.3, 0.3, p.shape).astype(np.float32)))
model = model.to(memory_format=torch.channels_last)  # Replace with your model
print(model.conv1.weight.stride(), model.fc.weight.stride())
print(model.conv1.weight.is_contiguous(memory_format=torch.channels_last))

images = rng.standard_normal((16, 3, 16, 16)).astype(np.float32)
labels = rng.integers(0, 4, 16)
for i, c in enumerate(labels):
    images[i, c % 3] += c * 0.5
input = torch.from_numpy(images).to(memory_format=torch.channels_last)  # Replace with your input
target = torch.from_numpy(labels)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for step in range(5):
    output = model(input)
    loss = F.cross_entropy(output, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step}: loss {loss.item():.4f}")
print(model.conv1.weight.grad.stride(), model.conv1.weight.stride())
print(model.conv1.weight.is_contiguous(memory_format=torch.channels_last))

# Saving and loading keep the strides
torch.save(model.state_dict(), "channels_last.pt")
state = torch.load("channels_last.pt")
print(state["conv1.weight"].stride(), state["bn1.running_mean"].round(decimals=3))
