"""M5 raw-waveform classifier, as in PyTorch's speech-command tutorial, without torchaudio.

Synthetic "words" (chirps, tones and noise bursts) at 16 kHz are resampled to 8 kHz with
F.interpolate, reflect-padded to a fixed length, batched by a collate_fn through a DataLoader,
and classified by the tutorial's M5 1-D CNN trained with Adam + StepLR and waveform mixup.
Per-class accuracy is computed with bincount.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
rng = np.random.default_rng(7)
labels = ["tone", "chirp", "burst", "pulse"]
SR = 16000


def synth(kind, n):
    t = np.arange(n) / SR
    f0 = rng.uniform(300, 900)
    if kind == 0:
        wav = np.sin(2 * np.pi * f0 * t)
    elif kind == 1:
        wav = np.sin(2 * np.pi * (f0 * t + 2000 * t**2))
    elif kind == 2:
        wav = rng.normal(0, 0.5, n) * np.exp(-((t - t.mean()) ** 2) / 0.002)
    else:
        wav = np.sign(np.sin(2 * np.pi * 40 * t)) * np.sin(2 * np.pi * f0 * t)
    return (wav + rng.normal(0, 0.05, n)).astype(np.float32)


class SyntheticSpeech(Dataset):
    def __init__(self, size):
        self.items = []
        for i in range(size):
            label = i % len(labels)
            n = int(rng.integers(1400, 1600))  # variable length clips of ~0.09 s
            self.items.append((torch.from_numpy(synth(label, n)).unsqueeze(0), SR, labels[label]))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self.items[idx]


def resample(waveform, orig_freq, new_freq):
    new_len = int(math.ceil(waveform.shape[-1] * new_freq / orig_freq))
    return F.interpolate(waveform.unsqueeze(0), size=new_len, mode="linear",
                         align_corners=False).squeeze(0)


def label_to_index(word):
    return torch.tensor(labels.index(word))


def pad_sequence(batch, length=800):
    out = []
    for w in batch:
        w = w.t()  # time first, as the tutorial's pad_sequence wants
        if w.shape[0] < length:
            w = F.pad(w.t().unsqueeze(0), (0, length - w.shape[0]), mode="reflect")[0].t()
        out.append(w[:length])
    batch = torch.nn.utils.rnn.pad_sequence(out, batch_first=True, padding_value=0.0)
    return batch.permute(0, 2, 1)


def collate_fn(batch):
    tensors, targets = [], []
    for waveform, sample_rate, label in batch:
        tensors += [resample(waveform, sample_rate, 8000)]
        targets += [label_to_index(label)]
    return pad_sequence(tensors), torch.stack(targets)


class M5(nn.Module):
    def __init__(self, n_input=1, n_output=4, stride=4, n_channel=8):
        super().__init__()
        self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=20, stride=stride)
        self.bn1 = nn.BatchNorm1d(n_channel)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
        self.bn2 = nn.BatchNorm1d(n_channel)
        self.pool2 = nn.MaxPool1d(4)
        self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
        self.bn3 = nn.BatchNorm1d(2 * n_channel)
        self.pool3 = nn.MaxPool1d(2)
        self.fc1 = nn.Linear(2 * n_channel, n_output)

    def forward(self, x):
        x = self.pool1(F.relu(self.bn1(self.conv1(x))))
        x = self.pool2(F.relu(self.bn2(self.conv2(x))))
        x = self.pool3(F.relu(self.bn3(self.conv3(x))))
        x = F.avg_pool1d(x, x.shape[-1])
        x = x.permute(0, 2, 1)
        x = self.fc1(x)
        return F.log_softmax(x, dim=2)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


train_set, test_set = SyntheticSpeech(32), SyntheticSpeech(16)
g = torch.Generator().manual_seed(3)
train_loader = DataLoader(train_set, batch_size=8, shuffle=True, collate_fn=collate_fn,
                          generator=g, drop_last=True)
test_loader = DataLoader(test_set, batch_size=8, shuffle=False, collate_fn=collate_fn)

waveform, sample_rate, label = train_set[1]
print(f"Shape of waveform: {waveform.size()}  sample rate {sample_rate}  label {label}")
small = resample(waveform, sample_rate, 8000)
print(f"resampled: {tuple(small.shape)} mean {small.mean().item():.4f}")
xb, yb = next(iter(test_loader))
print("batch:", tuple(xb.shape), yb.dtype, yb.tolist())
try:
    F.pad(torch.zeros(1, 1, 3), (0, 5), mode="reflect")
except RuntimeError as e:
    print("RuntimeError:", str(e)[:70])

model = M5()
print(model)
print("Number of parameters:", count_parameters(model))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.0001)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
beta = torch.distributions.Beta(torch.tensor([0.4]), torch.tensor([0.4]))

for epoch in range(1, 5):
    model.train()
    total = 0.0
    for data, target in train_loader:
        lam = beta.sample().item()
        index = torch.randperm(data.size(0))
        mixed = lam * data + (1 - lam) * data[index, :]
        output = model(mixed).squeeze()
        loss = lam * F.nll_loss(output, target) + (1 - lam) * F.nll_loss(output, target[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    scheduler.step()

    model.eval()
    correct = torch.zeros(len(labels), dtype=torch.long)
    seen = torch.zeros(len(labels), dtype=torch.long)
    with torch.no_grad():
        for data, target in test_loader:
            pred = model(data).argmax(dim=-1).squeeze()
            seen += torch.bincount(target, minlength=len(labels))
            correct += torch.bincount(target[pred.eq(target)], minlength=len(labels))
    per_class = correct.float() / seen.clamp(min=1)
    print(f"epoch {epoch} lr {scheduler.get_last_lr()[0]:.4f} loss {total / 4:.4f} "
          f"acc {correct.sum().item()}/{seen.sum().item()} per-class {per_class.tolist()}")

print("running_var bn1:", model.bn1.running_var.round(decimals=3))
print("batches tracked:", model.bn1.num_batches_tracked)
