"""The FGSM adversarial-example tutorial: a LeNet-style net in eval mode, the loss gradient with
respect to the input image, x' = clamp(x + eps * sign(grad)), accuracy per epsilon; plus the
tutorial's denorm helper and an iterated (PGD-style) attack with a projection by clamp."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
n = 24
labels = rng.integers(0, 10, n)
images = rng.random((n, 1, 28, 28)) * 0.3
for i, c in enumerate(labels):
    r, col = divmod(int(c), 5)
    images[i, 0, 6 + 3 * r:14 + 3 * r, 4 + 4 * col:7 + 4 * col] = 1.0
test_loader = DataLoader(TensorDataset(torch.from_numpy(images), torch.from_numpy(labels)),
                         batch_size=1, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


model = Net()
state = {}
for name, p in model.state_dict().items():
    fan_in = p[0].numel() if p.dim() > 1 else p.numel()
    state[name] = torch.from_numpy(
        rng.standard_normal(tuple(p.shape)) / np.sqrt(fan_in))
print(model.load_state_dict(state))
# float64 throughout: the sign of a near-zero input gradient must not hang on rounding
model = model.double()
print(model.fc2.weight.dtype, images.dtype)
# "train" the net a few steps so that it classifies the clean images well
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
model.train()
for m in model.modules():  # dropout would draw from torch's generator: switch it off
    if isinstance(m, nn.Dropout):
        m.p = 0.0
for step in range(15):
    opt.zero_grad()
    loss = F.nll_loss(model(torch.from_numpy(images)), torch.from_numpy(labels))
    loss.backward()
    opt.step()
print(f"train loss {loss.item():.4f}")
model.eval()
print("training:", model.training, model.conv1.training)


def fgsm_attack(image, epsilon, data_grad):
    # Collect the element-wise sign of the data gradient
    sign_data_grad = data_grad.sign()
    # Create the perturbed image by adjusting each pixel of the input image
    perturbed_image = image + epsilon * sign_data_grad
    # Adding clipping to maintain [0,1] range
    perturbed_image = torch.clamp(perturbed_image, 0, 1)
    return perturbed_image


def denorm(batch, mean=[0.1307], std=[0.3081]):
    if isinstance(mean, list):
        mean = torch.tensor(mean)
    if isinstance(std, list):
        std = torch.tensor(std)
    return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)


def test(model, test_loader, epsilon):
    correct = 0
    adv_examples = []
    for data, target in test_loader:
        data.requires_grad = True
        output = model(data)
        init_pred = output.max(1, keepdim=True)[1]
        if init_pred.item() != target.item():
            continue
        loss = F.nll_loss(output, target)
        model.zero_grad()
        loss.backward()
        data_grad = data.grad.data
        data_denorm = denorm(data)
        perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)
        perturbed_data_normalized = (perturbed_data - 0.1307) / 0.3081
        output = model(perturbed_data_normalized)
        final_pred = output.max(1, keepdim=True)[1]
        if final_pred.item() == target.item():
            correct += 1
            if epsilon == 0 and len(adv_examples) < 2:
                adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
        else:
            if len(adv_examples) < 2:
                adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
    final_acc = correct / float(len(test_loader))
    print(f"Epsilon: {epsilon}\tTest Accuracy = {correct} / {len(test_loader)} = {final_acc:.4f}")
    return final_acc, adv_examples


accuracies = []
examples = []
for eps in [0, .05, .1, .2, .3]:
    acc, ex = test(model, test_loader, eps)
    accuracies.append(acc)
    examples.append(ex)
print([[(a, b, round(float(e.mean()), 4), e.shape) for a, b, e in ex] for ex in examples[:3]])

# an iterated attack (PGD): several signed steps, projected back into the eps-ball and [0, 1]
x = torch.from_numpy(images[:8]).clone()
y = torch.from_numpy(labels[:8])
eps, alpha = 0.1, 0.03
x_adv = x.clone().detach()
for it in range(5):
    x_adv.requires_grad_(True)
    loss = F.cross_entropy(model(x_adv), y)
    grad, = torch.autograd.grad(loss, [x_adv])
    with torch.no_grad():
        x_adv = x_adv + alpha * grad.sign()
        x_adv = torch.max(torch.min(x_adv, x + eps), x - eps).clamp(min=0.0, max=1.0)
    print(f"pgd {it} loss {loss.item():.4f}")
with torch.no_grad():
    delta = x_adv - x
    print(f"linf {delta.abs().amax().item():.4f} l2 {delta.flatten(1).norm(p=2, dim=1).mean():.4f}")
    pred = model(x_adv).argmax(dim=1)
    print("pred", pred.tolist(), "true", y.tolist(), "fooled", (pred != y).sum().item())
    probs = model(x_adv).exp()
    top = torch.topk(probs, 2, dim=1)
    print(top.values.sum(1).round(decimals=3), top.indices[:, 0].eq(pred).all())
