"""The mnist_rnn example: an LSTM reads an image one row at a time (batch_first), the last
step's output goes through BatchNorm1d, Linear layers and log_softmax; Adadelta with StepLR,
the example's train/test printing, then the same classifier with nn.GRU and nn.RNN cells.
Synthetic 12x12 images stand in for MNIST."""
import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

SIDE = 12
rng = np.random.default_rng(11)
strokes = rng.random((10, SIDE, SIDE)) < 0.3


def synthetic_digits(n):
    y = rng.integers(0, 10, n)
    x = strokes[y].astype(np.float32) * rng.uniform(0.6, 1.0, (n, SIDE, SIDE))
    x += rng.normal(scale=0.15, size=x.shape)
    x = (x - 0.1307) / 0.3081  # transforms.Normalize((0.1307,), (0.3081,))
    return TensorDataset(torch.from_numpy(x[:, None].astype(np.float32)), torch.from_numpy(y))


class Net(nn.Module):
    def __init__(self, rnn_type="lstm"):
        super(Net, self).__init__()
        if rnn_type == "lstm":
            self.rnn = nn.LSTM(input_size=SIDE, hidden_size=32, batch_first=True)
        elif rnn_type == "gru":
            self.rnn = nn.GRU(input_size=SIDE, hidden_size=32, batch_first=True)
        else:
            self.rnn = nn.RNN(input_size=SIDE, hidden_size=32, batch_first=True,
                              nonlinearity="tanh")
        self.batchnorm = nn.BatchNorm1d(32)
        # p=0.0: the two libraries' dropout masks come from different generators
        self.dropout1 = nn.Dropout2d(0.0)
        self.dropout2 = nn.Dropout(0.0)
        self.fc1 = nn.Linear(32, 24)
        self.fc2 = nn.Linear(24, 10)

    def forward(self, input):
        # Shape of input is (batch_size,1, 12, 12)
        # Shape of input should be (batch_size, 12, 12), one row per time step
        input = input.reshape(-1, SIDE, SIDE)

        # Note: the sequence length is 12 (rows) and each step reads 12 pixels
        output, hidden = self.rnn(input)

        output = output[:, -1, :]
        output = self.batchnorm(output)
        output = self.dropout1(output)
        output = self.fc1(output)
        output = F.relu(output)
        output = self.dropout2(output)
        output = self.fc2(output)
        output = F.log_softmax(output, dim=1)
        return output


def fill_(model, seed):
    w_rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "batchnorm" in name:
                continue
            bound = 1 / (p.shape[-1] if p.dim() > 1 else p.shape[0]) ** 0.5
            p.copy_(torch.from_numpy(w_rng.uniform(-bound, bound, tuple(p.shape))
                                     .astype(np.float32)))


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.4f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            if args.dry_run:
                break


def test(args, model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)

    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return correct


def main(argv):
    # Training settings
    parser = argparse.ArgumentParser(description='PyTorch MNIST Example using RNN')
    parser.add_argument('--batch-size', type=int, default=32, metavar='N',
                        help='input batch size for training (default: 32)')
    parser.add_argument('--test-batch-size', type=int, default=100, metavar='N',
                        help='input batch size for testing (default: 100)')
    parser.add_argument('--epochs', type=int, default=4, metavar='N',
                        help='number of epochs to train (default: 4)')
    parser.add_argument('--lr', type=float, default=1.0, metavar='LR',
                        help='learning rate (default: 1.0)')
    parser.add_argument('--gamma', type=float, default=0.7, metavar='M',
                        help='learning rate step gamma (default: 0.7)')
    parser.add_argument('--no-cuda', action='store_true', default=False,
                        help='disables CUDA training')
    parser.add_argument('--dry-run', action='store_true', default=False,
                        help='quickly check a single pass')
    parser.add_argument('--seed', type=int, default=1, metavar='S',
                        help='random seed (default: 1)')
    parser.add_argument('--log-interval', type=int, default=3, metavar='N',
                        help='how many batches to wait before logging training status')
    parser.add_argument('--save-model', action='store_true', default=False,
                        help='for Saving the current Model')
    parser.add_argument('--rnn', default='lstm', choices=['lstm', 'gru', 'rnn'])
    args = parser.parse_args(argv)
    use_cuda = not args.no_cuda and torch.cuda.is_available()

    torch.manual_seed(args.seed)

    device = torch.device("cuda" if use_cuda else "cpu")

    kwargs = {'num_workers': 1, 'pin_memory': True} if use_cuda else {}
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=False, **kwargs)
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size, shuffle=False, **kwargs)

    model = Net(args.rnn).to(device)
    fill_(model, args.seed)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        correct = test(args, model, device, test_loader)
        scheduler.step()

    if args.save_model:
        torch.save(model.state_dict(), "mnist_rnn.pt")
    return model, correct


train_set = synthetic_digits(192)
test_set = synthetic_digits(100)
model, _ = main(["--save-model"])
print(model)
state = torch.load("mnist_rnn.pt")
print("saved:", list(state)[:4], "...", len(state), "tensors;",
      "num_batches_tracked", state["batchnorm.num_batches_tracked"].item())
for rnn in ["gru", "rnn"]:
    _, correct = main(["--rnn", rnn, "--epochs", "2", "--log-interval", "100"])
    print(rnn, "test accuracy after 2 epochs:", correct)

# the shapes an LSTM returns for a batch of images read row by row
lstm = model.rnn
x = torch.stack([test_set[i][0] for i in range(3)]).reshape(-1, SIDE, SIDE)
output, (h_n, c_n) = lstm(x)
print(tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape),
      torch.allclose(output[:, -1], h_n[0]))
