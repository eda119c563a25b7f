"""Three basic recipes in one program: "Defining a Neural Network" (the MNIST Net with
Conv2d, Dropout2d, max_pool2d, flatten and log_softmax), "What is a state_dict" (printing the
model's and the optimizer's state_dict, SGD's default options included) and "Zeroing out
gradients" (a CIFAR-style Net, gradients accumulating until optimizer.zero_grad(), and the
parameters listed with named_parameters)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

rng = np.random.default_rng(2)


def fill_(model, scale=0.1):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            idx = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.cos(idx * (0.37 + 0.05 * i)) * scale).reshape(p.shape))


# -- Defining a Neural Network ---------------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()

        # First 2D convolutional layer, taking in 1 input channel (image),
        # outputting 32 convolutional features, with a square kernel size of 3
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        # Second 2D convolutional layer, taking in the 32 input layers,
        # outputting 64 convolutional features, with a square kernel size of 3
        self.conv2 = nn.Conv2d(32, 64, 3, 1)

        # Designed to ensure that adjacent pixels are either all 0s or all active
        # with an input probability
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)

        # First fully connected layer
        self.fc1 = nn.Linear(9216, 128)
        # Second fully connected layer that outputs our 10 labels
        self.fc2 = nn.Linear(128, 10)

    # x represents our data
    def forward(self, x):
        # Pass data through conv1
        x = self.conv1(x)
        # Use the rectified-linear activation function over x
        x = F.relu(x)

        x = self.conv2(x)
        x = F.relu(x)

        # Run max pooling over x
        x = F.max_pool2d(x, 2)
        # Pass data through dropout1
        x = self.dropout1(x)
        # Flatten x with start_dim=1
        x = torch.flatten(x, 1)
        # Pass data through ``fc1``
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)

        # Apply softmax to x
        output = F.log_softmax(x, dim=1)
        return output


my_nn = Net()
fill_(my_nn, scale=0.05)
print(my_nn)
# Equates to one random 28x28 image
random_data = torch.from_numpy(rng.random((1, 1, 28, 28)).astype(np.float32))
my_nn.eval()  # the dropout layers are off, so the output is the same in both libraries
result = my_nn(random_data)
print(result.detach().round(decimals=4))
print("probabilities sum to", round(result.exp().sum().item(), 5))


# -- What is a state_dict --------------------------------------------------------------------
class TheModelClass(nn.Module):
    def __init__(self):
        super(TheModelClass, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = TheModelClass()
fill_(net)
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

# Print model's state_dict
print("Model's state_dict:")
for param_tensor in net.state_dict():
    print(param_tensor, "\t", net.state_dict()[param_tensor].size())

print()

# Print optimizer's state_dict
print("Optimizer's state_dict:")
for var_name in optimizer.state_dict():
    print(var_name, "\t", optimizer.state_dict()[var_name])

# -- Zeroing out gradients -------------------------------------------------------------------
images = torch.from_numpy(rng.normal(size=(8, 3, 32, 32)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, 10, 8))
criterion = nn.CrossEntropyLoss()

# gradients accumulate when they are not zeroed: two backward passes give twice the gradient
outputs = net(images)
criterion(outputs, labels).backward()
g1 = net.conv1.weight.grad.clone()
outputs = net(images)
criterion(outputs, labels).backward()
print("accumulated / single gradient:",
      round((net.conv1.weight.grad.norm() / g1.norm()).item(), 4))
optimizer.zero_grad()
print("after zero_grad():", net.conv1.weight.grad)
criterion(net(images), labels).backward()
net.zero_grad(set_to_none=False)
print("after zero_grad(set_to_none=False):", net.conv1.weight.grad.abs().sum())

for epoch in range(2):  # loop over the dataset multiple times

    running_loss = 0.0
    for i in range(4):
        # get the inputs; data is a list of [inputs, labels]
        inputs, targets = images[2 * i:2 * i + 2], labels[2 * i:2 * i + 2]

        # zero the parameter gradients
        optimizer.zero_grad()

        # forward + backward + optimize
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()

        # print statistics
        running_loss += loss.item()
        if i % 2 == 1:    # print every 2 mini-batches
            print('[%d, %5d] loss: %.3f' % (epoch + 1, i + 1, running_loss / 2))
            running_loss = 0.0

print('Finished Training')
for name, param in net.named_parameters():
    print("{:<14s} {!s:<28s} requires_grad={} grad norm {:.4f}".format(
        name, param.shape, param.requires_grad, param.grad.norm().item()))
print("momentum buffers:", len(optimizer.state_dict()["state"]),
      sorted(optimizer.state_dict()["state"][0]))
print("parameter count:", sum(p.numel() for p in net.parameters()),
      "trainable:", sum(p.numel() for p in net.parameters() if p.requires_grad))
