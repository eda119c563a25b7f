"""Hinton's forward-forward algorithm, after the mnist_forward_forward example: each layer is
trained on its own (Adam per layer, no backprop between layers) to give high "goodness"
(mean squared activation) to positive data -- an image with its true label overlaid on the
first pixels -- and low goodness to negative data with a wrong label. Prediction overlays every
label and picks the one with the largest summed goodness. Small synthetic digits stand in for
MNIST."""
import numpy as np
import torch
import torch.nn as nn
from torch.optim import Adam

rng = np.random.default_rng(5)
N_CLASSES = 10
N_PIX = 64  # 8x8 "digits"
prototypes = rng.random((N_CLASSES, N_PIX)).astype(np.float32) < 0.35


def make_digits(n):
    y = rng.integers(0, N_CLASSES, n)
    x = prototypes[y].astype(np.float32)
    flip = rng.random(x.shape) < 0.08
    x = np.abs(x - flip) * (0.8 + 0.2 * rng.random(x.shape))
    # Normalize((0.1307,), (0.3081,)) as for MNIST, then Lambda(lambda x: torch.flatten(x))
    x = (x - 0.1307) / 0.3081
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)


def overlay_y_on_x(x, y):
    """Replace the first 10 pixels of data [x] with one-hot-encoded label [y]
    """
    x_ = x.clone()
    x_[:, :10] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


class Net(torch.nn.Module):

    def __init__(self, dims):
        super().__init__()
        self.layers = []
        for d in range(len(dims) - 1):
            self.layers += [Layer(dims[d], dims[d + 1], seed=d)]

    def predict(self, x):
        goodness_per_label = []
        for label in range(10):
            h = overlay_y_on_x(x, label)
            goodness = []
            for layer in self.layers:
                h = layer(h)
                goodness += [h.pow(2).mean(1)]
            goodness_per_label += [sum(goodness).unsqueeze(1)]
        goodness_per_label = torch.cat(goodness_per_label, 1)
        return goodness_per_label.argmax(1)

    def train(self, x_pos, x_neg):
        h_pos, h_neg = x_pos, x_neg
        for i, layer in enumerate(self.layers):
            print('training layer', i, '...')
            h_pos, h_neg = layer.train(h_pos, h_neg)


class Layer(nn.Linear):
    def __init__(self, in_features, out_features,
                 bias=True, device=None, dtype=None, seed=0):
        super().__init__(in_features, out_features, bias, device, dtype)
        with torch.no_grad():  # fixed weights in place of nn.Linear's random init
            bound = 1 / in_features ** 0.5
            w_rng = np.random.default_rng(100 + seed)
            self.weight.copy_(torch.from_numpy(
                w_rng.uniform(-bound, bound, (out_features, in_features)).astype(np.float32)))
            self.bias.copy_(torch.from_numpy(
                w_rng.uniform(-bound, bound, out_features).astype(np.float32)))
        self.relu = torch.nn.ReLU()
        self.opt = Adam(self.parameters(), lr=0.03)
        self.threshold = 2.0
        self.num_epochs = 300

    def forward(self, x):
        x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return self.relu(
            torch.mm(x_direction, self.weight.T) +
            self.bias.unsqueeze(0))

    def train(self, x_pos, x_neg):
        for i in range(self.num_epochs):
            g_pos = self.forward(x_pos).pow(2).mean(1)
            g_neg = self.forward(x_neg).pow(2).mean(1)
            # The following loss pushes pos (neg) samples to
            # values larger (smaller) than the self.threshold.
            loss = torch.log(1 + torch.exp(torch.cat([
                -g_pos + self.threshold,
                g_neg - self.threshold]))).mean()
            self.opt.zero_grad()
            # this backward just compute the derivative and hence
            # is not considered backpropagation.
            loss.backward()
            self.opt.step()
            if i % 100 == 99:
                print('  epoch {:2d}  loss {:.4f}  goodness pos {:.3f} neg {:.3f}'.format(
                    i + 1, loss.item(), g_pos.mean().item(), g_neg.mean().item()))
        return self.forward(x_pos).detach(), self.forward(x_neg).detach()


x, y = make_digits(200)
x_te, y_te = make_digits(100)
net = Net([N_PIX, 48, 48])
x_pos = overlay_y_on_x(x, y)
rnd = torch.from_numpy(rng.permutation(x.size(0)))  # torch.randperm in the example
x_neg = overlay_y_on_x(x, y[rnd])
print("wrong labels among negatives:", (y[rnd] != y).sum().item(), "of", len(y))
print("overlay of sample 0 (label {}):".format(y[0].item()), x_pos[0, :10].round(decimals=2))

net.train(x_pos, x_neg)

print('train error:', round(1.0 - net.predict(x).eq(y).float().mean().item(), 4))
print('test error:', round(1.0 - net.predict(x_te).eq(y_te).float().mean().item(), 4))

# the goodness of every label for three test samples, summed over the layers
with torch.no_grad():
    for i in range(3):
        goods = []
        for label in range(10):
            h = overlay_y_on_x(x_te[i:i + 1], label)
            g = 0.0
            for layer in net.layers:
                h = layer(h)
                g += h.pow(2).mean().item()
            goods.append(g)
        goods = torch.tensor(goods)
        print("sample {} label {} best {} goodness {}".format(
            i, y_te[i].item(), goods.argmax().item(), [round(g, 2) for g in goods.tolist()[:5]]))
print("layers are nn.Linear:", all(isinstance(layer, nn.Linear) for layer in net.layers),
      [tuple(layer.weight.shape) for layer in net.layers])
