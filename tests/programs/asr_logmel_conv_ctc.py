"""A keyword-sequence recogniser in the style of the torchaudio speech-recognition tutorials and
small Jasper/QuartzNet reference code: synthetic "words" are tone bursts, the front end is
``torch.stft`` with a Hann window, a power spectrogram, a triangular mel filterbank applied by
``torch.matmul``, log-mel features with per-utterance CMVN and SpecAugment masks drawn from a
seeded ``torch.Generator``; the acoustic model is 1-D depthwise-separable convolutions
(``groups=``, ``dilation``, ``padding="same"``) with BatchNorm1d and residual connections,
trained with ``nn.CTCLoss`` on time-major ``log_softmax``; greedy decoding with
``unique_consecutive`` and a word error rate by edit distance; a ``state_dict`` round trip
through ``torch.save``/``torch.load`` and ``ReduceLROnPlateau``; float64 throughout via
``torch.set_default_dtype``."""
import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)      # tiny float32 differences would steer training
rng = np.random.default_rng(0)
SR, N_FFT, HOP, N_MELS = 4000, 128, 32, 16
VOCAB = ["_", "a", "b", "c", "d"]                  # 0 is the CTC blank
FREQS = {1: 300.0, 2: 650.0, 3: 1100.0, 4: 1600.0}


def synth(labels):
    """Each label is a 0.05-0.08 s tone burst, with short silences between."""
    pieces = []
    for lab in labels:
        n = int(rng.integers(200, 320))
        t = np.arange(n) / SR
        env = np.hanning(n)
        pieces.append(env * np.sin(2 * math.pi * FREQS[lab] * t + rng.uniform(0, 6.28)))
        pieces.append(0.02 * rng.standard_normal(int(rng.integers(60, 120))))
    wave = np.concatenate([0.02 * rng.standard_normal(80)] + pieces)
    return torch.from_numpy(wave.astype(np.float64))


def hz_to_mel(f):
    return 2595.0 * math.log10(1.0 + f / 700.0)


def mel_filterbank(n_freqs, n_mels, sr):
    all_freqs = torch.linspace(0, sr // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2)
    f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)          # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.max(torch.zeros(1), torch.min(down, up))          # (n_freqs, n_mels)


fb = mel_filterbank(N_FFT // 2 + 1, N_MELS, SR)
window = torch.hann_window(N_FFT)
print("filterbank", tuple(fb.shape), fb.sum(0)[:4].round(decimals=3), window.dtype)


def log_mel(wave):
    spec = torch.stft(wave, N_FFT, hop_length=HOP, window=window, return_complex=True)
    power = spec.abs().pow(2.0)                                   # (freq, time)
    mel = torch.matmul(power.transpose(-1, -2), fb).transpose(-1, -2)
    feats = torch.log(mel + 1e-6)
    return (feats - feats.mean(-1, keepdim=True)) / (feats.std(-1, keepdim=True) + 1e-5)


def spec_augment(feats, gen, F_=3, T_=4):
    feats = feats.clone()
    n_mels, n_frames = feats.shape
    f = int(torch.randint(0, F_ + 1, (1,), generator=gen))
    f0 = int(torch.randint(0, n_mels - f + 1, (1,), generator=gen))
    feats[f0:f0 + f, :] = 0.0
    t = int(torch.randint(0, T_ + 1, (1,), generator=gen))
    t0 = int(torch.randint(0, max(1, n_frames - t), (1,), generator=gen))
    feats[:, t0:t0 + t].fill_(0.0)
    return feats


data = []
for _ in range(30):
    labels = [int(v) for v in rng.integers(1, 5, int(rng.integers(2, 4)))]
    data.append((log_mel(synth(labels)), labels))
print("utterance", tuple(data[0][0].shape), data[0][1], f"{data[0][0].std().item():.4f}",
      data[0][0].dtype)


class SepConvBlock(nn.Module):
    def __init__(self, ch, k, dilation):
        super().__init__()
        self.dw = nn.Conv1d(ch, ch, k, padding="same", dilation=dilation, groups=ch, bias=False)
        self.pw = nn.Conv1d(ch, ch, 1, bias=False)
        self.bn = nn.BatchNorm1d(ch)
        self.drop = nn.Dropout(0.0)

    def forward(self, x):
        return x + self.drop(F.relu(self.bn(self.pw(self.dw(x)))))


class AcousticModel(nn.Module):
    def __init__(self, n_in, ch, n_class):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(n_in, ch, 5, padding=2), nn.BatchNorm1d(ch), nn.ReLU())
        self.blocks = nn.Sequential(*[SepConvBlock(ch, 3, d) for d in (1, 2, 4)])
        self.head = nn.Conv1d(ch, n_class, 1)

    def forward(self, x):                       # x: (N, n_mels, T)
        return self.head(self.blocks(self.stem(x)))      # (N, C, T)


def collate(batch, gen=None):
    feats = [spec_augment(f, gen) if gen is not None else f for f, _ in batch]
    lengths = torch.tensor([f.shape[1] for f in feats])
    x = nn.utils.rnn.pad_sequence([f.t() for f in feats], batch_first=True).transpose(1, 2)
    targets = torch.cat([torch.tensor(lab) for _, lab in batch])
    target_lengths = torch.tensor([len(lab) for _, lab in batch], dtype=torch.int32)
    return x, lengths, targets, target_lengths


model = AcousticModel(N_MELS, 24, len(VOCAB))
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() > 1:
            p.copy_(torch.from_numpy(rng.normal(0, 1 / math.sqrt(p[0].numel()), tuple(p.shape))
                                     .astype(np.float64)))
print("params", sum(p.numel() for p in model.parameters()), model.blocks[1].dw)
ctc = nn.CTCLoss(blank=0, zero_infinity=True)
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
gen = torch.Generator().manual_seed(1)

for epoch in range(8):
    model.train()
    total = 0.0
    order = torch.randperm(len(data), generator=gen).tolist()
    for i in range(0, len(order), 10):
        x, lengths, targets, target_lengths = collate([data[j] for j in order[i:i + 10]], gen)
        logits = model(x)
        log_probs = logits.permute(2, 0, 1).log_softmax(dim=-1)      # (T, N, C)
        loss = ctc(log_probs, targets, lengths, target_lengths)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        opt.step()
        total += loss.item()
    plateau.step(total)
    if epoch % 2 == 1:
        print(f"epoch {epoch} ctc {total / 3:.4f} lr {opt.param_groups[0]['lr']:.4g}")


def edit_distance(ref, hyp):
    d = torch.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d = d, torch.empty_like(d)
        d[0] = i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return int(d[-1])


def greedy(log_probs, lengths):
    out = []
    for seq, n in zip(log_probs.argmax(-1).t(), lengths):
        ids = torch.unique_consecutive(seq[:n])
        out.append(ids[ids != 0].tolist())
    return out


buf = io.BytesIO()
torch.save({"model": model.state_dict(), "vocab": VOCAB}, buf)
buf.seek(0)
ckpt = torch.load(buf)
restored = AcousticModel(N_MELS, 24, len(VOCAB))
print(restored.load_state_dict(ckpt["model"]), list(ckpt["model"])[:3])
restored.eval()
errors = words = 0
with torch.inference_mode():
    x, lengths, targets, target_lengths = collate(data)
    lp = restored(x).permute(2, 0, 1).log_softmax(-1)
    hyps = greedy(lp, lengths)
    refs = [t.tolist() for t in torch.split(targets, target_lengths.tolist())]
    for r, h in zip(refs, hyps):
        errors += edit_distance(r, h)
        words += len(r)
    eval_loss = F.ctc_loss(lp, targets, lengths, target_lengths, reduction="none")
print("eval ctc", eval_loss[:4].round(decimals=3), "WER", f"{errors / words:.3f}")
print("decoded", ["".join(VOCAB[i] for i in h) for h in hyps[:4]],
      ["".join(VOCAB[i] for i in r) for r in refs[:4]])
print("bn", restored.stem[1].running_mean[:3].round(decimals=3),
      restored.stem[1].num_batches_tracked)
