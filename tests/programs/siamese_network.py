"""pytorch/examples siamese_network plus metric learning: a small ResNet-style backbone built by
hand (its children()[:-1] kept), two embeddings concatenated into a Sigmoid head under BCELoss,
Adadelta + StepLR; then a triplet embedding net with TripletMarginLoss,
TripletMarginWithDistanceLoss, CosineEmbeddingLoss, MarginRankingLoss, HingeEmbeddingLoss, a
contrastive loss from F.pairwise_distance, and hard-negative mining with torch.cdist."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset

rng = np.random.default_rng(0)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class TinyResNet(nn.Module):
    def __init__(self, widths=(8, 16)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = BasicBlock(widths[0], widths[0])
        self.layer2 = BasicBlock(widths[0], widths[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[1], 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def numpy_init(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() > 1:
                p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)
                                         * np.float32(np.sqrt(2.0 / p[0].numel()))))
            elif "bn" in name or "downsample.1" in name:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:
                p.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, tuple(p.shape)).astype(np.float32)))


class SiameseNetwork(nn.Module):
    """
        Siamese network for image similarity estimation.
        The network is composed of two identical networks, one for each input.
        The output of each network is concatenated and passed to a linear layer.
        The output of the linear layer passed through a sigmoid function.
    """

    def __init__(self):
        super(SiameseNetwork, self).__init__()
        self.resnet = TinyResNet()
        # over-write the first conv layer to be able to read grayscale images
        # as the backbone reads (3,x,x) where 3 is RGB channels
        # whereas images here are (1,x,x) where 1 is a gray-scale channel
        self.resnet.conv1 = nn.Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1),
                                      bias=False)
        self.fc_in_features = self.resnet.fc.in_features

        # remove the last layer of resnet18 (linear layer which is before avgpool layer)
        self.resnet = torch.nn.Sequential(*(list(self.resnet.children())[:-1]))

        # add linear layers to compare between the features of the two images
        self.fc = nn.Sequential(
            nn.Linear(self.fc_in_features * 2, 32),
            nn.ReLU(inplace=True),
            nn.Linear(32, 1),
        )

        self.sigmoid = nn.Sigmoid()

        # initialize the weights
        self.resnet.apply(self.init_weights)
        self.fc.apply(self.init_weights)

    def init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            m.bias.data.fill_(0.01)

    def forward_once(self, x):
        output = self.resnet(x)
        output = output.view(output.size()[0], -1)
        return output

    def forward(self, input1, input2):
        # get two images' features
        output1 = self.forward_once(input1)
        output2 = self.forward_once(input2)

        # concatenate both images' features
        output = torch.cat((output1, output2), 1)

        # pass the concatenation to the linear layers
        output = self.fc(output)

        # pass the out of the linear layers to sigmoid layer
        output = self.sigmoid(output)

        return output


# ten "digit" classes: a bar pattern per class on noise, 1 x 12 x 12
def digit(c, noise):
    img = rng.random((1, 12, 12)).astype(np.float32) * noise
    r, col = divmod(int(c), 5)
    img[0, 1 + 5 * r:6 + 5 * r, 1 + 2 * col:3 + 2 * col] += 1.0
    return img


labels = rng.integers(0, 10, 40)
images = np.stack([digit(c, 0.4) for c in labels])


class APP_MATCHER(Dataset):
    """Pairs: even index -> an image of the same class, odd -> of another class."""

    def __init__(self, images, labels):
        super(APP_MATCHER, self).__init__()
        self.images = torch.from_numpy(images)
        self.labels = torch.from_numpy(labels)
        self.group = {int(c): torch.nonzero(self.labels == c).flatten().tolist()
                      for c in self.labels.unique()}
        self.pick = np.random.default_rng(1)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image_1 = self.images[index]
        class_1 = int(self.labels[index])
        if index % 2 == 0:
            index_2 = int(self.pick.choice(self.group[class_1]))
            target = torch.tensor(1, dtype=torch.float)
        else:
            others = [c for c in self.group if c != class_1]
            index_2 = int(self.pick.choice(self.group[int(self.pick.choice(others))]))
            target = torch.tensor(0, dtype=torch.float)
        return image_1, self.images[index_2], target


train_loader = DataLoader(APP_MATCHER(images, labels), batch_size=8, shuffle=False)
model = SiameseNetwork()
print(model.resnet[0], len(model.resnet), type(model.resnet[-1]).__name__)
gain_ok = all(m.weight.abs().max() <= (6 / sum(m.weight.shape)) ** 0.5
              for m in model.fc if isinstance(m, nn.Linear))
print("xavier bound holds:", gain_ok, model.fc[0].bias[:3])
numpy_init(model)
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
criterion = nn.BCELoss()

for epoch in range(1, 4):
    model.train()
    for batch_idx, (images_1, images_2, targets) in enumerate(train_loader):
        optimizer.zero_grad()
        outputs = model(images_1, images_2).squeeze()
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        if batch_idx % 2 == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(images_1), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for (images_1, images_2, targets) in train_loader:
            outputs = model(images_1, images_2).squeeze()
            test_loss += criterion(outputs, targets).sum().item()  # sum up batch loss
            pred = torch.where(outputs > 0.5, 1, 0)  # get the index of the max log-probability
            correct += pred.eq(targets.view_as(pred)).sum().item()
    test_loss /= len(train_loader.dataset)
    print('Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)'.format(
        test_loss, correct, len(train_loader.dataset),
        100. * correct / len(train_loader.dataset)))
    scheduler.step()
print(scheduler.get_last_lr(), pred.dtype)


# --- triplet / metric learning on the same backbone ---
class EmbeddingNet(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.convnet = nn.Sequential(nn.Conv2d(1, 8, 3), nn.PReLU(), nn.MaxPool2d(2, stride=2),
                                     nn.Conv2d(8, 16, 3), nn.PReLU(), nn.AdaptiveMaxPool2d(2))
        self.fc = nn.Sequential(nn.Linear(16 * 2 * 2, 32), nn.PReLU(), nn.Linear(32, dim))

    def forward(self, x):
        output = self.convnet(x)
        output = output.view(output.size()[0], -1)
        return F.normalize(self.fc(output), p=2, dim=1)


# hardest-negative mining amplifies float32 rounding step by step: this part runs in float64
embed = EmbeddingNet().double()
numpy_init(embed)
triplet = nn.TripletMarginLoss(margin=0.5, p=2)
cos_triplet = nn.TripletMarginWithDistanceLoss(
    distance_function=lambda a, b: 1.0 - F.cosine_similarity(a, b), margin=0.3, swap=True)
opt = optim.SGD(embed.parameters(), lr=0.1, momentum=0.9, nesterov=True)
x_all = torch.from_numpy(images).double()
y_all = torch.from_numpy(labels)
for step in range(4):
    emb = embed(x_all)
    dist = torch.cdist(emb, emb)
    same = y_all[:, None] == y_all[None, :]
    # hardest positive and hardest negative for each anchor
    pos_idx = torch.where(same, dist, torch.full_like(dist, -1.0)).argmax(dim=1)
    neg_idx = torch.where(same, torch.full_like(dist, float("inf")), dist).argmin(dim=1)
    loss = triplet(emb, emb[pos_idx], emb[neg_idx]) + cos_triplet(emb, emb[pos_idx],
                                                                    emb[neg_idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    active = dist.gather(1, pos_idx[:, None]) + 0.5 > dist.gather(1, neg_idx[:, None])
    print(f"triplet step {step}: {loss.item():.4f}", f"active {active.sum().item()}")

with torch.no_grad():
    emb = embed(x_all)
a, b = emb[0::2], emb[1::2]
pair_target = torch.where(y_all[0::2] == y_all[1::2], 1, -1)
print(pair_target.tolist())
d = F.pairwise_distance(a, b, p=2.0, eps=1e-6, keepdim=True)
print(d.shape, f"{d.mean().item():.4f}",
      torch.allclose(nn.PairwiseDistance()(a, b), d.squeeze(1)),
      f"{nn.CosineSimilarity(dim=1, eps=1e-8)(a, b).mean().item():.4f}")
y01 = (pair_target > 0).float()
margin = 1.0
contrastive = (y01 * d.squeeze(1).pow(2) +
               (1 - y01) * torch.clamp(margin - d.squeeze(1), min=0.0).pow(2)).mean() / 2
print(f"contrastive {contrastive.item():.4f}")
for name, fn in [("cosine_embedding", nn.CosineEmbeddingLoss(margin=0.2)),
                 ("cosine_embedding_sum", nn.CosineEmbeddingLoss(reduction="sum"))]:
    print(name, f"{fn(a, b, pair_target).item():.4f}")
print("cosine_embedding_none", F.cosine_embedding_loss(a[:4], b[:4], pair_target[:4].float(),
                                                       reduction="none").round(decimals=4))
print("hinge", f"{nn.HingeEmbeddingLoss(margin=1.0)(d.squeeze(1), pair_target).item():.4f}")
s1, s2 = (a * b).sum(1), (a * b.roll(1, 0)).sum(1)
print("ranking", f"{nn.MarginRankingLoss(margin=0.1)(s1, s2, pair_target).item():.4f}",
      f"{F.margin_ranking_loss(s1, s2, torch.ones_like(s1), reduction='sum').item():.4f}")
print("triplet none", F.triplet_margin_loss(a[:3], b[:3], b.flip(0)[:3], margin=1.0, p=1,
                                            swap=True, reduction="none").round(decimals=4))
print("triplet distance", F.triplet_margin_with_distance_loss(
    a[:3], b[:3], b.flip(0)[:3], distance_function=nn.PairwiseDistance(p=1)).item() > 0)
print(nn.TripletMarginLoss(margin=0.5), nn.CosineEmbeddingLoss(), nn.PairwiseDistance(),
      cos_triplet)
