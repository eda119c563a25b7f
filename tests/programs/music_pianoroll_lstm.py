"""Symbolic music generation from piano rolls, in the manner of the classic polyphonic
"music LSTM" tutorials: a synthetic corpus of chord progressions with a melody rendered to
a binary piano roll (time x 24 pitches), variable-length songs packed with
pack_padded_sequence for a 2-layer LSTM trained with multi-label BCE on the next frame, then
generation frame by frame with the LSTM state carried along: note-on probabilities tempered
by a temperature, a melody voice drawn with torch.multinomial under a seeded Generator (with
top-k filtering), and polyphony drawn with torch.bernoulli; finally some music statistics
(note density, pitch-class histogram, a transposition-invariant chroma via torch.roll)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(0)
rng = np.random.default_rng(2)
P = 24                                    # two octaves starting at C3 (MIDI 48)
CHORDS = {"C": [0, 4, 7], "F": [5, 9, 12], "G": [7, 11, 14], "Am": [9, 12, 16]}
PROGRESSIONS = [["C", "F", "G", "C"], ["Am", "F", "C", "G"], ["C", "Am", "F", "G"]]


def render_song(n_bars, steps_per_bar=4):
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    roll = torch.zeros(n_bars * steps_per_bar, P)
    for bar in range(n_bars):
        chord = CHORDS[prog[bar % 4]]
        t0 = bar * steps_per_bar
        roll[t0:t0 + steps_per_bar, chord] = 1.0
        melody = torch.tensor(chord) + 12
        for s in range(steps_per_bar):
            roll[t0 + s, int(melody[rng.integers(3)]) % P] = 1.0
    return roll


songs = [render_song(int(rng.integers(3, 7))) for _ in range(16)]
lengths = torch.tensor([len(s) for s in songs])
rolls = pad_sequence(songs, batch_first=True)
print("songs", len(songs), "padded", tuple(rolls.shape), "lengths", lengths[:6].tolist())
print("notes per frame mean {:.3f}".format((rolls.sum(-1).sum() / lengths.sum()).item()))
names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
first = rolls[0, 0].nonzero().flatten().tolist()
print("first frame:", [names[p % 12] + str(3 + p // 12) for p in first])


class RollLSTM(nn.Module):
    def __init__(self, hidden=48):
        super().__init__()
        self.inp = nn.Linear(P, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=2, batch_first=True, dropout=0.1)
        self.out = nn.Linear(hidden, P)

    def forward(self, x, lengths=None, state=None):
        h = torch.tanh(self.inp(x))
        if lengths is not None:
            packed = pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
            out, state = self.lstm(packed, state)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        else:
            out, state = self.lstm(h, state)
        return self.out(out), state


model = RollLSTM()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.15, size=tuple(p.shape)).astype(np.float32)))
print(model.lstm)
print("lstm weights", [n for n, _ in model.lstm.named_parameters()][:4])

inputs, targets = rolls[:, :-1], rolls[:, 1:]
in_lengths = lengths - 1
mask = (torch.arange(inputs.shape[1])[None] < in_lengths[:, None]).float()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(30):
    model.train()
    logits, _ = model(inputs, in_lengths)
    loss = (F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)
            * mask).sum() / mask.sum()
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    if epoch % 6 == 5:
        with torch.no_grad():
            pred = (logits.sigmoid() > 0.5).float()
            tp = (pred * targets * mask[..., None]).sum()
            f1 = 2 * tp / ((pred + targets) * mask[..., None]).sum()
        print("epoch {:2d} loss/frame {:.4f} F1 {:.4f}".format(epoch, loss.item(), f1.item()))


def sample_song(n_steps, temperature, top_k, gen):
    model.eval()
    frame = torch.zeros(1, 1, P)
    frame[0, 0, CHORDS["C"]] = 1.0
    frames, state = [frame[0, 0]], None
    with torch.no_grad():
        for _ in range(n_steps):
            logits, state = model(frame, state=state)
            logits = logits[0, -1] / temperature
            # melody voice: one note from the top octave
            mel = logits[12:]
            kth = mel.topk(top_k).values[-1]
            mel = mel.masked_fill(mel < kth, float("-inf"))
            melody = torch.multinomial(F.softmax(mel, -1), 1, generator=gen) + 12
            # accompaniment: independent Bernoulli per pitch in the low octave
            low = torch.bernoulli(torch.sigmoid(logits[:12]), generator=gen)
            nxt = torch.cat([low, torch.zeros(12)])
            nxt[melody] = 1.0
            frames.append(nxt)
            frame = nxt.view(1, 1, P)
    return torch.stack(frames), state


for temperature in (0.5, 1.0, 1.5):
    gen = torch.Generator().manual_seed(42)
    song, (h, c) = sample_song(16, temperature, top_k=4, gen=gen)
    density = song.sum(1).mean()
    chroma = song.view(-1, 2, 12).sum(1).sum(0)
    print("T={} density {:.3f} pitch classes {} state {}".format(
        temperature, density.item(), (chroma > 0).sum().item(), tuple(h.shape)))
print("chroma of last sample", chroma.long())
mel_line = song[:, 12:].argmax(1)
print("melody", " ".join(names[p] for p in mel_line.tolist()))
intervals = mel_line.diff()
print("interval histogram", torch.histc(intervals.float(), bins=5, min=-10, max=10).long())

# transposition-invariant chroma: roll each song to its most common pitch class
corpus_chroma = rolls.view(16, -1, 2, 12).sum((1, 2))
tonic = corpus_chroma.argmax(1)
aligned = torch.stack([torch.roll(c, -int(t)) for c, t in zip(corpus_chroma, tonic)])
profile = aligned / aligned.sum(1, keepdim=True)
print("tonic counts", torch.bincount(tonic, minlength=12).tolist())
print("mean aligned profile", torch.round(profile.mean(0), decimals=3))

# the generator state makes sampling reproducible
g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
a, _ = sample_song(8, 1.0, 4, g1)
b, _ = sample_song(8, 1.0, 4, g2)
print("reproducible", torch.equal(a, b), "generator state bytes", g1.get_state().numel())
try:
    torch.multinomial(torch.tensor([0.0, 0.0]), 1)
except RuntimeError as e:
    print("multinomial error:", e)
try:
    torch.empty(12).bernoulli_(1.25)               # a velocity scale mistaken for a probability
except RuntimeError as e:
    print("bernoulli_ error:", e)
