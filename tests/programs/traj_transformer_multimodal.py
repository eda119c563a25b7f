"""Transformer trajectory forecaster over agent histories of different lengths, in the style of
AgentFormer/mmTransformer-like repositories: histories are padded with
``nn.utils.rnn.pad_sequence`` and the padded steps are hidden from attention with
``src_key_padding_mask``; a sinusoidal positional encoding is registered as a buffer; a masked
mean pools the encoder output; a multimodal head predicts M trajectories plus mode logits and is
trained winner-takes-all (``argmin`` over modes, ``gather`` of the best, ``F.cross_entropy`` on
the mode logits) with a Gaussian NLL on the best mode; evaluation reports minADE/minFDE, miss
rate, and the mixture's log-likelihood via ``torch.distributions.MixtureSameFamily``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

torch.manual_seed(1)

MAX_OBS, PRED, MODES, D = 8, 6, 3, 32


def make_agent():
    """One agent: a random-length history and its future, both as displacements."""
    length = int(torch.randint(3, MAX_OBS + 1, ()).item())
    heading = torch.rand(()) * 2 * math.pi
    speed = 0.2 + 0.3 * torch.rand(())
    turn = 0.15 * torch.randn(()) if torch.rand(()) < 0.5 else torch.tensor(0.0)
    angles = heading + turn * torch.arange(length + PRED)
    steps = speed * torch.stack([angles.cos(), angles.sin()], dim=-1)
    steps = steps + 0.02 * torch.randn_like(steps)
    return steps[:length], steps[length:]


def batch(n):
    hist, fut = zip(*(make_agent() for _ in range(n)))
    lengths = torch.tensor([len(h) for h in hist])
    padded = nn.utils.rnn.pad_sequence(list(hist), batch_first=True)
    pad_mask = torch.arange(padded.shape[1]).unsqueeze(0) >= lengths.unsqueeze(1)
    return padded, pad_mask, torch.stack(fut), lengths


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=32):
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(2, D)
        self.pos = PositionalEncoding(D)
        layer = nn.TransformerEncoderLayer(D, nhead=4, dim_feedforward=64, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.traj_head = nn.Linear(D, MODES * PRED * 4)
        self.mode_head = nn.Linear(D, MODES)

    def forward(self, hist, pad_mask):
        x = self.encoder(self.pos(self.embed(hist)), src_key_padding_mask=pad_mask)
        keep = (~pad_mask).unsqueeze(-1).float()
        pooled = (x * keep).sum(1) / keep.sum(1)
        out = self.traj_head(pooled).view(-1, MODES, PRED, 4)
        mean_rel, log_std = out[..., :2], out[..., 2:].clamp(-4.0, 2.0)
        return mean_rel.cumsum(dim=2), log_std.exp(), self.mode_head(pooled)


def wta_loss(mean, std, logits, fut_abs):
    dist = torch.linalg.norm(mean - fut_abs.unsqueeze(1), dim=-1).mean(-1)
    best = dist.argmin(dim=1)
    index = best.view(-1, 1, 1, 1).expand(-1, 1, PRED, 2)
    best_mean = mean.gather(1, index).squeeze(1)
    best_std = std.gather(1, index).squeeze(1)
    nll = F.gaussian_nll_loss(best_mean, fut_abs, best_std.pow(2))
    return nll + F.cross_entropy(logits, best), best


hist, pad_mask, fut, lengths = batch(32)
fut_abs = fut.cumsum(dim=1)
print("lengths:", lengths[:10].tolist(), "padded:", tuple(hist.shape))
print("padding fraction:", f"{pad_mask.float().mean():.4f}")

model = Forecaster()
print("parameters:", sum(p.numel() for p in model.parameters()))
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=20)
for step in range(20):
    mean, std, logits = model(hist, pad_mask)
    loss, best = wta_loss(mean, std, logits, fut_abs)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_value_(model.parameters(), 0.5)
    opt.step()
    sched.step()
    if step % 5 == 0 or step == 19:
        counts = torch.bincount(best, minlength=MODES).tolist()
        print(f"step {step:2d} loss {loss.item():.3f} modes {counts}")

# Padding must not leak: changing padded steps leaves the prediction unchanged.
model.eval()
noisy = hist.masked_fill(pad_mask.unsqueeze(-1), 99.0)
with torch.no_grad():
    clean_pred = model(hist, pad_mask)[0]
    print("padding ignored:", torch.allclose(clean_pred, model(noisy, pad_mask)[0], atol=1e-5))

test_hist, test_mask, test_fut, _ = batch(16)
test_abs = test_fut.cumsum(1)
with torch.no_grad():
    mean, std, logits = model(test_hist, test_mask)
err = torch.linalg.norm(mean - test_abs.unsqueeze(1), dim=-1)
min_ade = err.mean(-1).min(1).values
min_fde = err[..., -1].min(1).values
print(f"minADE@{MODES} {min_ade.mean():.3f} minFDE@{MODES} {min_fde.mean():.3f} "
      f"miss-rate(2m) {(min_fde > 2.0).float().mean():.3f}")
mixture = MixtureSameFamily(Categorical(logits=logits),
                            Independent(Normal(mean.flatten(2), std.flatten(2)), 1))
print(f"mixture NLL {-mixture.log_prob(test_abs.flatten(1)).mean():.2f}")
print("mode probabilities, agent 0:", F.softmax(logits[0], dim=-1).round(decimals=2))
try:
    model(test_hist, test_mask[:, :4])
except Exception as exc:
    print("bad mask:", type(exc).__name__, exc)
