"""A CTC toy in the style of the speech-recognition tutorials: a bidirectional GRU over
packed padded "audio" frames, log_softmax over (T, N, C), nn.CTCLoss with input/target
lengths (padded and concatenated targets, every reduction, zero_infinity), AdamW with
OneCycleLR, greedy CTC decoding with unique_consecutive, and F.ctc_loss's gradients."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

rng = np.random.default_rng(0)
BLANK, NUM_CLASSES, FEATS = 0, 5, 6
# each label (1..4) is "spoken" as 2-3 frames of its own noisy feature pattern
patterns = rng.standard_normal((NUM_CLASSES, FEATS)).astype(np.float32)
utterances = []
for _ in range(24):
    labels = [int(t) for t in rng.integers(1, NUM_CLASSES, int(rng.integers(2, 5)))]
    frames = []
    for lab in labels:
        for _ in range(int(rng.integers(2, 4))):
            frames.append(patterns[lab] + 0.3 * rng.standard_normal(FEATS))
        frames.append(patterns[BLANK] + 0.3 * rng.standard_normal(FEATS))
    utterances.append((np.stack(frames).astype(np.float32), labels))


def collate(batch):
    batch = sorted(batch, key=lambda b: -len(b[0]))
    feats = [torch.from_numpy(f) for f, _ in batch]
    input_lengths = torch.tensor([len(f) for f in feats], dtype=torch.long)
    x = nn.utils.rnn.pad_sequence(feats)  # (T, N, F)
    target_lengths = torch.tensor([len(t) for _, t in batch], dtype=torch.long)
    targets = torch.zeros(len(batch), int(target_lengths.max()), dtype=torch.long)
    for i, (_, t) in enumerate(batch):
        targets[i, :len(t)] = torch.tensor(t)
    return x, targets, input_lengths, target_lengths


class SpeechModel(nn.Module):
    def __init__(self, n_feats, hidden, n_class):
        super().__init__()
        self.norm = nn.LayerNorm(n_feats)
        self.rnn = nn.GRU(n_feats, hidden, num_layers=1, bidirectional=True)
        self.classifier = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(),
                                        nn.Linear(hidden, n_class))

    def forward(self, x, lengths):
        x = self.norm(x)
        packed = pack_padded_sequence(x, lengths)
        out, h_n = self.rnn(packed)
        out, out_lengths = pad_packed_sequence(out)
        return F.log_softmax(self.classifier(out), dim=2), out_lengths


model = SpeechModel(FEATS, 12, NUM_CLASSES)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "norm" not in name:
            p.copy_(torch.from_numpy(rng.uniform(-0.35, 0.35, tuple(p.shape)).astype(np.float32)))
loader = torch.utils.data.DataLoader(utterances, batch_size=6, collate_fn=collate)
criterion = nn.CTCLoss(blank=BLANK, zero_infinity=True)
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=1e-2)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-2, epochs=10,
                                                steps_per_epoch=len(loader),
                                                anneal_strategy="linear")
print(criterion, model.rnn)


def greedy_decode(log_probs, lengths):
    best = log_probs.argmax(dim=2).transpose(0, 1)
    decoded = []
    for seq, n in zip(best, lengths):
        collapsed = torch.unique_consecutive(seq[:n])
        decoded.append([int(c) for c in collapsed if c != BLANK])
    return decoded


for epoch in range(10):
    model.train()
    total = 0.0
    for x, targets, input_lengths, target_lengths in loader:
        optimizer.zero_grad()
        log_probs, out_lengths = model(x, input_lengths)
        loss = criterion(log_probs, targets, out_lengths, target_lengths)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item()
    if epoch % 3 == 0 or epoch == 9:
        print(f"epoch {epoch} loss {total / len(loader):.4f} lr {scheduler.get_last_lr()[0]:.5f}")

model.eval()
correct = 0
with torch.no_grad():
    for x, targets, input_lengths, target_lengths in loader:
        log_probs, out_lengths = model(x, input_lengths)
        hyps = greedy_decode(log_probs, out_lengths)
        refs = [t[:n].tolist() for t, n in zip(targets, target_lengths)]
        correct += sum(h == r for h, r in zip(hyps, refs))
print("exact matches", correct, "of", len(utterances), hyps[0], refs[0])

# nn.CTCLoss itself: reductions, concatenated targets, tuple lengths, float64, gradients
T, N, C, S = 7, 3, 4, 3
logits = torch.from_numpy(rng.standard_normal((T, N, C))).requires_grad_()
lp = logits.log_softmax(2)
tg = torch.tensor([[1, 2, 2], [3, 1, 0], [2, 0, 0]])
in_len = torch.tensor([7, 6, 4])
tg_len = torch.tensor([3, 2, 1])
for reduction in ["mean", "sum", "none"]:
    loss = nn.CTCLoss(reduction=reduction)(lp, tg, in_len, tg_len)
    print(reduction, loss.dtype, loss.detach().numpy().round(5))
flat = torch.cat([tg[i, :n] for i, n in enumerate(tg_len)])
loss_flat = F.ctc_loss(lp, flat, tuple(in_len.tolist()), tuple(tg_len.tolist()))
print("concatenated", f"{loss_flat.item():.5f}", flat.tolist())
loss_flat.backward()
print(logits.grad.sum().item() < 1e-9, logits.grad[:, 0].round(decimals=4))
# an impossible alignment: inf, or 0 with zero_infinity
short = F.ctc_loss(lp.detach(), torch.tensor([[1, 1, 1, 1]]).expand(N, 4).contiguous(),
                   torch.tensor([3, 3, 3]), torch.tensor([4, 4, 4]), reduction="none")
print(short, F.ctc_loss(lp.detach(), torch.tensor([[1, 1, 1, 1]] * N),
                        torch.tensor([3, 3, 3]), torch.tensor([4, 4, 4]), zero_infinity=True))
# blank other than 0, unbatched (T, C) input
un = F.ctc_loss(lp[:, 0].float(), torch.tensor([0, 1]), torch.tensor(7), torch.tensor(2),
                blank=3)
print("unbatched", un.shape, un.dtype, f"{un.item():.5f}")
