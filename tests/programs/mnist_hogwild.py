"""Hogwild training (PyTorch's mnist_hogwild example): the model lives in shared memory and
several processes train it. Here each process trains on its own fixed shard of a synthetic
digit-like dataset and they run one after another, so the final weights do not depend on
timing; the parent, which never trains, prints weights that only the children changed."""
import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
        self.fc1 = nn.Linear(4 * 3 * 3, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def make_data(n, seed):
    """Three 8x8 "digits" (a bar, a cross, a box) with fixed noise."""
    rng = np.random.default_rng(seed)
    protos = np.zeros((3, 8, 8), np.float32)
    protos[0, :, 3:5] = 1
    protos[1, 3:5, :] = 1
    protos[1, :, 3:5] = 1
    protos[2, 1:7, 1] = protos[2, 1:7, 6] = protos[2, 1, 1:7] = protos[2, 6, 1:7] = 1
    labels = np.arange(n) % 3
    images = protos[labels] + 0.3 * rng.standard_normal((n, 8, 8)).astype(np.float32)
    return torch.from_numpy(images[:, None]), torch.from_numpy(labels)


def init_weights(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            values = np.sin(np.arange(p.numel(), dtype=np.float32) * 0.7 + i) * 0.3
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape))))


def train(rank, model, images, labels):
    loader = DataLoader(TensorDataset(images, labels), batch_size=8, shuffle=False)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    model.train()
    for epoch in range(2):
        total = 0.0
        for data, target in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            total += loss.item()
        print(f"process {rank} epoch {epoch} loss {total / len(loader):.4f}", flush=True)


def test(model, images, labels):
    model.eval()
    with torch.no_grad():
        output = model(images)
        loss = F.nll_loss(output, labels).item()
        correct = (output.argmax(1) == labels).sum().item()
    print(f"test loss {loss:.4f} accuracy {correct}/{len(labels)}")


if __name__ == "__main__":
    model = Net()
    init_weights(model)
    model.share_memory()  # gradients are allocated lazily, so they are not shared
    print("shared:", all(p.is_shared() for p in model.parameters()))
    before = model.fc2.weight.detach().clone()

    images, labels = make_data(96, seed=0)
    num_processes = 2
    shard = len(labels) // num_processes
    for rank in range(num_processes):
        # one after another, so the run is deterministic; the example starts them all at once
        p = mp.Process(target=train, args=(rank, model, images[rank * shard:(rank + 1) * shard],
                                           labels[rank * shard:(rank + 1) * shard]))
        p.start()
        p.join()
        print("exit code", p.exitcode)

    print("parent's weights changed:", not torch.equal(before, model.fc2.weight.detach()))
    print("fc2.weight", [round(v, 3) for v in model.fc2.weight.detach().flatten().tolist()[:6]])
    test(model, *make_data(48, seed=1))
