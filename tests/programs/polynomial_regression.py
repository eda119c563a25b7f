"""The "regression" example: fit a degree-4 polynomial with one nn.Linear on polynomial
features, by hand-written SGD on param.data until the smooth-L1 loss drops below 1e-3, then
print the learned and the actual function (0-d tensors formatted with '{:+.2f}')."""
from itertools import count

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(1)

POLY_DEGREE = 4
# torch.randn(POLY_DEGREE, 1) * 5 and torch.randn(1) * 5 in the example
W_target = torch.from_numpy(rng.standard_normal((POLY_DEGREE, 1)).astype(np.float32)) * 5
b_target = torch.from_numpy(rng.standard_normal(1).astype(np.float32)) * 5


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def f(x):
    """Approximated function."""
    return x.mm(W_target) + b_target.item()


def poly_desc(W, b):
    """Creates a string description of a polynomial."""
    result = 'y = '
    for i, w in enumerate(W):
        result += '{:+.2f} x^{} '.format(w, i + 1)
    result += '{:+.2f}'.format(b[0])
    return result


def get_batch(batch_size=32):
    """Builds a batch i.e. (x, f(x)) pair."""
    random = torch.from_numpy(rng.standard_normal(batch_size).astype(np.float32))
    x = make_features(random)
    y = f(x)
    return x, y


# Define model
fc = torch.nn.Linear(W_target.size(0), 1)
with torch.no_grad():
    fc.weight.copy_(torch.tensor([[0.3, -0.2, 0.1, -0.4]]))
    fc.bias.fill_(0.05)
print(fc, "starts as", poly_desc(fc.weight.view(-1), fc.bias))

for batch_idx in count(1):
    # Get data
    batch_x, batch_y = get_batch()

    # Reset gradients
    fc.zero_grad()

    # Forward pass
    output = F.smooth_l1_loss(fc(batch_x), batch_y)
    loss = output.item()

    # Backward pass
    output.backward()

    # Apply gradients
    for param in fc.parameters():
        param.data.add_(-0.1 * param.grad)

    if batch_idx % 100 == 0:
        print('batch {:4d}  loss {:.4f}'.format(batch_idx, loss))
    # Stop criterion
    if loss < 1e-3 or batch_idx >= 3000:
        break

print('Loss: {:.4f} after {} batches'.format(loss, batch_idx))
print('==> Learned function:\t' + poly_desc(fc.weight.view(-1), fc.bias))
print('==> Actual function:\t' + poly_desc(W_target.view(-1), b_target))

# the same features solved in closed form, and the fitted curve at a few points
x = make_features(torch.linspace(-1, 1, 5))
with torch.no_grad():
    print("fit at x = -1 .. 1:", [round(v, 2) for v in fc(x).view(-1).tolist()])
print("true at x = -1 .. 1:", [round(v, 2) for v in f(x).view(-1).tolist()])
X = torch.cat([make_features(torch.linspace(-2, 2, 41)), torch.ones(41, 1)], 1)
sol = torch.linalg.lstsq(X, f(X[:, :4])).solution
print("least squares:", poly_desc(sol[:4].view(-1), sol[4]))
# comparing with NumPy arrays: NumPy's ufuncs hand tensors back (float64 here)
W_np = W_target.view(-1).numpy().astype(np.float64)
err = fc.weight.detach().view(-1) - W_np
print("weight error vs NumPy:", type(err).__name__, err.dtype, err.abs().max().round(decimals=2))
print("np.abs of a tensor:", np.abs(fc.bias.detach() - b_target).round(decimals=2),
      "np.isclose:", np.isclose(fc.weight.detach().view(-1), W_np, atol=0.1))
print("format of a 0-d tensor: {:.3f} {:>8.2e} {}".format(
    torch.tensor(3.14159), torch.tensor(-0.00123), torch.tensor(2)))
