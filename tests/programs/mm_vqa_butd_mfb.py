"""Visual question answering in the style of hengyuan-hu/bottom-up-attention-vqa and the MFB
paper's code: a question encoder (nn.Embedding with padding_idx, an nn.GRU over
pack_padded_sequence with enforce_sorted=False, the last hidden state), region features from
a small CNN grid, top-down attention built from weight-normed FCNets (nn.utils.weight_norm
with dim=None), a Hadamard-product fusion or MFB (a factorised bilinear pooling: sum-pool with
view/sum, power normalisation sqrt(relu(z)) - sqrt(relu(-z)) and F.normalize), soft VQA
targets min(count * 0.3, 1) built with scatter_add_, binary_cross_entropy_with_logits times
the number of answers, Adamax with clip_grad_norm_ at 0.25, and the VQA score computed with
scatter_ of the argmax into one-hot rows."""

import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm
from torch.nn.utils.rnn import pack_padded_sequence

warnings.filterwarnings('ignore')
torch.manual_seed(5)
qwords = [
    '<pad>',
    'what',
    'color',
    'is',
    'the',
    'shape',
    'how',
    'many',
    'things',
    'are',
    'there',
    '?',
]
answers = ['red', 'green', 'blue', 'square', 'plus', 'one', 'two']
NUM_ANS = len(answers)


def make_example(g):
    colour = int(torch.randint(0, 3, (1,), generator=g))
    shape = int(torch.randint(0, 2, (1,), generator=g))
    count = int(torch.randint(1, 3, (1,), generator=g))
    img = torch.randn(3, 12, 12, generator=g) * 0.1
    for k in range(count):
        x0 = 1 + 6 * k
        if shape == 0:
            img[colour, 3:8, x0 : x0 + 4] += 1
        else:
            img[colour, 5, x0 : x0 + 5] += 1
            img[colour, 3:8, x0 + 2] += 1
    kind = int(torch.randint(0, 3, (1,), generator=g))
    if kind == 0:
        q, a = 'what color is the shape ?', colour
    elif kind == 1:
        q, a = 'what is the shape ?', 3 + shape
    else:
        q, a = 'how many things are there ?', 5 + count - 1
    # ten annotators: most give the right answer, a few another one
    votes = torch.full((10,), a)
    noise = torch.randint(0, NUM_ANS, (10,), generator=g)
    flip = torch.rand(10, generator=g) < 0.2
    votes = torch.where(flip, noise, votes)
    return img, [qwords.index(w) for w in q.split()], votes


g = torch.Generator().manual_seed(0)
examples = [make_example(g) for _ in range(48)]
images = torch.stack([e[0] for e in examples])
qlens = torch.tensor([len(e[1]) for e in examples])
questions = torch.zeros(len(examples), int(qlens.max()), dtype=torch.long)
for i, e in enumerate(examples):
    questions[i, : len(e[1])] = torch.tensor(e[1])
votes = torch.stack([e[2] for e in examples])
counts = torch.zeros(len(examples), NUM_ANS).scatter_add_(
    1, votes, torch.ones_like(votes, dtype=torch.float)
)
targets = torch.clamp(counts * 0.3, max=1.0)
print('targets[0]', targets[0], 'question lengths', torch.bincount(qlens).tolist())


class FCNet(nn.Module):
    def __init__(self, dims):
        super().__init__()
        layers = []
        for i in range(len(dims) - 1):
            layers.append(weight_norm(nn.Linear(dims[i], dims[i + 1]), dim=None))
            layers.append(nn.ReLU())
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x)


class QuestionEmbedding(nn.Module):
    def __init__(self, ntoken, emb_dim, num_hid):
        super().__init__()
        self.emb = nn.Embedding(ntoken, emb_dim, padding_idx=0)
        self.rnn = nn.GRU(emb_dim, num_hid, batch_first=True)

    def forward(self, q, lengths):
        packed = pack_padded_sequence(self.emb(q), lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.rnn(packed)
        return h_n[-1]


class Attention(nn.Module):
    def __init__(self, v_dim, q_dim, num_hid):
        super().__init__()
        self.v_proj = FCNet([v_dim, num_hid])
        self.q_proj = FCNet([q_dim, num_hid])
        self.linear = weight_norm(nn.Linear(num_hid, 1), dim=None)

    def forward(self, v, q):
        v_proj = self.v_proj(v)
        q_proj = self.q_proj(q).unsqueeze(1).repeat(1, v.size(1), 1)
        logits = self.linear(v_proj * q_proj)
        return F.softmax(logits, 1)


class MFB(nn.Module):
    def __init__(self, v_dim, q_dim, out_dim, k=3):
        super().__init__()
        self.k, self.out_dim = k, out_dim
        self.proj_v = nn.Linear(v_dim, out_dim * k)
        self.proj_q = nn.Linear(q_dim, out_dim * k)
        self.dropout = nn.Dropout(0.1)

    def forward(self, v, q):
        z = self.dropout(self.proj_v(v) * self.proj_q(q))
        z = z.view(-1, self.out_dim, self.k).sum(2)
        z = torch.sqrt(F.relu(z)) - torch.sqrt(F.relu(-z))
        return F.normalize(z)


class VQAModel(nn.Module):
    def __init__(self, fusion='hadamard', num_hid=32, v_dim=16):
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3))
        self.q_emb = QuestionEmbedding(len(qwords), 12, num_hid)
        self.v_att = Attention(v_dim, num_hid, num_hid)
        self.fusion = fusion
        if fusion == 'mfb':
            self.mfb = MFB(v_dim, num_hid, num_hid)
        else:
            self.q_net = FCNet([num_hid, num_hid])
            self.v_net = FCNet([v_dim, num_hid])
        self.classifier = nn.Sequential(
            weight_norm(nn.Linear(num_hid, 2 * num_hid), dim=None),
            nn.ReLU(),
            nn.Dropout(0.2),
            weight_norm(nn.Linear(2 * num_hid, NUM_ANS), dim=None),
        )

    def forward(self, img, q, qlen):
        v = self.cnn(img).flatten(2).transpose(1, 2)  # (B, regions, v_dim)
        q_emb = self.q_emb(q, qlen)
        att = self.v_att(v, q_emb)
        v_emb = (att * v).sum(1)
        if self.fusion == 'mfb':
            joint = self.mfb(v_emb, q_emb)
        else:
            joint = self.q_net(q_emb) * self.v_net(v_emb)
        return self.classifier(joint), att


def instance_bce_with_logits(logits, labels):
    assert logits.dim() == 2
    loss = F.binary_cross_entropy_with_logits(logits, labels)
    loss *= labels.size(1)
    return loss


def compute_score_with_logits(logits, labels):
    logits = torch.max(logits, 1)[1].data
    one_hots = torch.zeros(*labels.size())
    one_hots.scatter_(1, logits.view(-1, 1), 1)
    return one_hots * labels


for fusion in ('hadamard', 'mfb'):
    torch.manual_seed(1)
    model = VQAModel(fusion)
    lin = model.classifier[0]
    if fusion == 'hadamard':
        print(
            'weight_norm params',
            sorted(n for n, _ in lin.named_parameters()),
            tuple(lin.weight_g.shape),
        )
    optim = torch.optim.Adamax(model.parameters(), lr=2e-2)
    epochs = 25 if fusion == 'hadamard' else 4  # the signed sqrt makes MFB's training sensitive
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(examples))
        total_loss = train_score = 0
        for b in perm.split(16):
            pred, _ = model(images[b], questions[b], qlens[b])
            loss = instance_bce_with_logits(pred, targets[b])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            optim.step()
            optim.zero_grad()
            total_loss += loss.item() * b.numel()
            train_score += compute_score_with_logits(pred, targets[b]).sum().item()
        if epoch % 8 == 0 or epoch == epochs - 1:
            print(
                f'{fusion:8s} epoch {epoch:2d} loss {total_loss / len(examples):.3f} '
                f'score {100 * train_score / len(examples):.1f}'
            )
    model.eval()
    with torch.no_grad():
        logits, att = model(images[:3], questions[:3], qlens[:3])
    for i in range(3):
        q = ' '.join(qwords[t] for t in questions[i, : qlens[i]].tolist())
        print(
            f'  {q:28s} -> {answers[logits[i].argmax().item()]:6s} '
            f'att max {att[i].max().item():.3f} at region {att[i].argmax().item()}'
        )
try:
    torch.zeros(2, NUM_ANS).scatter_add_(1, votes[:2], torch.ones(2, 10, dtype=torch.float64))
except RuntimeError as e:
    print('RuntimeError:', e)
