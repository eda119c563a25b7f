"""A CapsNet written the way gram-ai/capsule-networks and its many forks write it: one
``CapsuleLayer`` class that is either a bank of convolutional capsules (a ``ModuleList`` of
convs whose outputs are ``view``-ed and ``torch.cat``-ed) or a routing layer whose priors come
from broadcast ``@`` of ``x[None, :, :, None, :]`` with ``route_weights[:, None]``. Routing by
agreement keeps its logits as a tensor of the priors' shape and adds ``(priors * outputs).sum``
each iteration. Classes are capsule lengths pushed through a softmax; the decoder is fed the
capsules masked by ``torch.sparse.torch.eye(C).index_select`` of the argmax (or of the labels in
training); ``CapsuleLoss`` is the margin loss with in-place ReLUs plus a summed MSE
reconstruction. Data are tiny synthetic digits augmented with the repos' random shift (``F.pad``
+ random crop), fed by a ``DataLoader`` over a ``TensorDataset`` with a seeded generator. A
forward hook records the primary capsule lengths; a hand-written meter replaces torchnet's."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
NUM_CLASSES = 4
NUM_ROUTING_ITERATIONS = 3
torch.set_printoptions(precision=4, sci_mode=False)


def softmax(input, dim=1):
    # the repo's own softmax: transpose the dim to the end, softmax on 2-D, transpose back
    transposed_input = input.transpose(dim, len(input.size()) - 1)
    softmaxed_output = F.softmax(transposed_input.contiguous().view(-1, transposed_input.size(-1)),
                                 dim=-1)
    return softmaxed_output.view(*transposed_input.size()).transpose(dim, len(input.size()) - 1)


def augmentation(x, max_shift=2):
    _, _, height, width = x.size()
    h_shift, w_shift = torch.randint(-max_shift, max_shift + 1, (2,)).tolist()
    source_height_slice = slice(max(0, h_shift), h_shift + height)
    source_width_slice = slice(max(0, w_shift), w_shift + width)
    target_height_slice = slice(max(0, -h_shift), -h_shift + height)
    target_width_slice = slice(max(0, -w_shift), -w_shift + width)
    shifted_image = torch.zeros(*x.size())
    shifted_image[:, :, source_height_slice, source_width_slice] = \
        x[:, :, target_height_slice, target_width_slice]
    return shifted_image.float()


def pad_crop(x, pad=2):
    padded = F.pad(x, (pad, pad, pad, pad))
    i, j = torch.randint(0, 2 * pad + 1, (2,)).tolist()
    return padded[..., i:i + x.size(-2), j:j + x.size(-1)]


class CapsuleLayer(nn.Module):
    def __init__(self, num_capsules, num_route_nodes, in_channels, out_channels, kernel_size=None,
                 stride=None, num_iterations=NUM_ROUTING_ITERATIONS):
        super(CapsuleLayer, self).__init__()
        self.num_route_nodes = num_route_nodes
        self.num_iterations = num_iterations
        self.num_capsules = num_capsules
        if num_route_nodes != -1:
            self.route_weights = nn.Parameter(
                0.1 * torch.randn(num_capsules, num_route_nodes, in_channels, out_channels))
        else:
            self.capsules = nn.ModuleList(
                [nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                           padding=0) for _ in range(num_capsules)])

    @staticmethod
    def squash(tensor, dim=-1):
        squared_norm = (tensor ** 2).sum(dim=dim, keepdim=True)
        scale = squared_norm / (1 + squared_norm)
        return scale * tensor / torch.sqrt(squared_norm)

    def forward(self, x):
        if self.num_route_nodes != -1:
            priors = x[None, :, :, None, :] @ self.route_weights[:, None, :, :, :]
            logits = Variable(torch.zeros(*priors.size()))
            for i in range(self.num_iterations):
                probs = softmax(logits, dim=2)
                outputs = self.squash((probs * priors).sum(dim=2, keepdim=True))
                if i != self.num_iterations - 1:
                    delta_logits = (priors * outputs).sum(dim=-1, keepdim=True)
                    logits = logits + delta_logits
        else:
            outputs = [capsule(x).view(x.size(0), -1, 1) for capsule in self.capsules]
            outputs = torch.cat(outputs, dim=-1)
            outputs = self.squash(outputs)
        return outputs


class CapsuleNet(nn.Module):
    def __init__(self):
        super(CapsuleNet, self).__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=16, kernel_size=5, stride=1)
        self.primary_capsules = CapsuleLayer(num_capsules=6, num_route_nodes=-1, in_channels=16,
                                             out_channels=4, kernel_size=3, stride=2)
        self.digit_capsules = CapsuleLayer(num_capsules=NUM_CLASSES, num_route_nodes=4 * 3 * 3,
                                           in_channels=6, out_channels=8)
        self.decoder = nn.Sequential(
            nn.Linear(8 * NUM_CLASSES, 48),
            nn.ReLU(inplace=True),
            nn.Linear(48, 144),
            nn.Sigmoid()
        )

    def forward(self, x, y=None):
        x = F.relu(self.conv1(x), inplace=True)
        x = self.primary_capsules(x)
        x = self.digit_capsules(x).squeeze().transpose(0, 1)

        classes = (x ** 2).sum(dim=-1) ** 0.5
        classes = F.softmax(classes, dim=-1)

        if y is None:
            # In all batches, get the most active capsule.
            _, max_length_indices = classes.max(dim=1)
            y = torch.sparse.torch.eye(NUM_CLASSES).index_select(
                dim=0, index=max_length_indices.data)

        reconstructions = self.decoder((x * y[:, :, None]).contiguous().view(x.size(0), -1))
        return classes, reconstructions


class CapsuleLoss(nn.Module):
    def __init__(self):
        super(CapsuleLoss, self).__init__()
        self.reconstruction_loss = nn.MSELoss(reduction='sum')

    def forward(self, images, labels, classes, reconstructions):
        left = F.relu(0.9 - classes, inplace=True) ** 2
        right = F.relu(classes - 0.1, inplace=True) ** 2
        margin_loss = labels * left + 0.5 * (1. - labels) * right
        margin_loss = margin_loss.sum()
        assert torch.numel(images) == torch.numel(reconstructions)
        images = images.view(reconstructions.size()[0], -1)
        reconstruction_loss = self.reconstruction_loss(reconstructions, images)
        return (margin_loss + 0.0005 * reconstruction_loss) / images.size(0)


class AverageValueMeter:
    def __init__(self):
        self.sum, self.n = 0.0, 0

    def add(self, value, n=1):
        self.sum += value * n
        self.n += n

    def value(self):
        return self.sum / max(self.n, 1)


def make_digits(n):
    """Four 12x12 glyphs: '-', '|', '/', 'o', with noise."""
    labels = torch.randint(0, NUM_CLASSES, (n,))
    imgs = torch.zeros(n, 1, 12, 12)
    eye = torch.eye(8)
    for k in range(n):
        c = labels[k].item()
        if c == 0:
            imgs[k, 0, 6, 2:10] = 1
        elif c == 1:
            imgs[k, 0, 2:10, 6] = 1
        elif c == 2:
            imgs[k, 0, 2:10, 2:10] = eye.flip(1)
        else:
            imgs[k, 0, 3:9, 3:9] = 1
            imgs[k, 0, 4:8, 4:8] = 0
    imgs.add_(0.05 * torch.randn_like(imgs)).clamp_(0, 1)
    return imgs, labels


images, labels = make_digits(64)
print('class counts', torch.bincount(labels, minlength=NUM_CLASSES))
print(augmentation(images[:1], 2).sum().round(decimals=3), pad_crop(images[:1]).shape)

model = CapsuleNet()
print('# parameters:', sum(param.numel() for param in model.parameters()))

primary_lengths = []
handle = model.primary_capsules.register_forward_hook(
    lambda mod, inp, out: primary_lengths.append(out.detach().norm(dim=-1).mean().item()))

optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
capsule_loss = CapsuleLoss()
loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True,
                    generator=torch.Generator().manual_seed(0))

for epoch in range(8):
    meter_loss = AverageValueMeter()
    correct = 0
    model.train()
    for data, target in loader:
        data = augmentation(data, 1)
        onehot = torch.sparse.torch.eye(NUM_CLASSES).index_select(dim=0, index=target)
        classes, reconstructions = model(data, onehot)
        loss = capsule_loss(data, onehot, classes, reconstructions)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        meter_loss.add(loss.item(), data.size(0))
        correct += classes.data.max(1)[1].eq(target).sum().item()
    scheduler.step()
    print('[Epoch %d] Training Loss: %.4f (Accuracy: %.2f%%) lr %.5f primary |u| %.4f' % (
        epoch, meter_loss.value(), 100. * correct / len(images), scheduler.get_last_lr()[0],
        primary_lengths[-1]))
handle.remove()

model.eval()
with torch.no_grad():
    test_images, test_labels = make_digits(20)
    classes, reconstructions = model(test_images)
    print(classes[:3])
    pred = classes.argmax(dim=1)
    print('test accuracy', (pred == test_labels).float().mean())
    confusion = torch.zeros(NUM_CLASSES, NUM_CLASSES, dtype=torch.int64)
    for t, p in zip(test_labels.view(-1), pred.view(-1)):
        confusion[t.long(), p.long()] += 1
    print(confusion)
    ground_truth = test_images[:4].view(4, -1)
    print('recon err per image', (reconstructions[:4] - ground_truth).pow(2).sum(1))
    print('hook calls after remove', len(primary_lengths))

try:
    model.digit_capsules(torch.randn(2, 10, 6))
except RuntimeError as e:
    print('RuntimeError:', str(e).split('\n')[0])
