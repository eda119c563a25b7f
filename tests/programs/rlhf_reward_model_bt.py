"""A Bradley-Terry reward model on a tiny character-level language, in the shape of TRL's
RewardTrainer and the InstructGPT reward-model recipe: a GRU backbone over padded
character sequences, a scalar value head read at the last real token (gather over the
sequence lengths, as in `sequence_lengths = attention_mask.sum(-1) - 1`), the pairwise
loss -logsigmoid(r_chosen - r_rejected - margin), a reward-centering auxiliary term, a
K-way ranking loss over several responses (InstructGPT's all-pairs comparison), and the
reward normalisation statistics that PPO later needs. The toy preference: polite strings
(containing "please"/"thanks") beat rude ones, and longer polite strings beat shorter."""
import itertools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

torch.manual_seed(0)
rng = np.random.default_rng(0)

VOCAB = ["<pad>", "<eos>"] + list("abcdefghijklmnopqrstuvwxyz !")
STOI = {c: i for i, c in enumerate(VOCAB)}
PAD, EOS = 0, 1
MAX_LEN = 24
POLITE = ["please", "thanks", "kindly"]
RUDE = ["now", "go away", "whatever", "no"]
FILLER = ["help me", "the door", "open it", "a map", "the code"]


def encode(text):
    ids = [STOI[c] for c in text][: MAX_LEN - 1] + [EOS]
    return ids + [PAD] * (MAX_LEN - len(ids))


def sample_text(polite):
    words = [FILLER[int(rng.integers(len(FILLER)))]]
    extra = POLITE if polite else RUDE
    for _ in range(int(rng.integers(1, 3))):
        words.append(extra[int(rng.integers(len(extra)))])
    return " ".join(words)


def make_pairs(n):
    chosen, rejected, margins = [], [], []
    for _ in range(n):
        good, bad = sample_text(True), sample_text(False)
        chosen.append(encode(good))
        rejected.append(encode(bad))
        margins.append(1.0 if "please" in good else 0.5)   # graded preference strength
    return (torch.tensor(chosen), torch.tensor(rejected),
            torch.tensor(margins, dtype=torch.float32))


class RewardModel(nn.Module):
    def __init__(self, vocab, dim=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=PAD)
        self.gru = nn.GRU(dim, dim, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.v_head = nn.Linear(dim, 1)
        nn.init.normal_(self.v_head.weight, std=1.0 / (dim + 1) ** 0.5)
        nn.init.zeros_(self.v_head.bias)

    def forward(self, ids):
        attention_mask = ids.ne(PAD).long()
        hidden, _ = self.gru(self.embed(ids))
        rewards = self.v_head(self.norm(hidden)).squeeze(-1)      # (B, T) per-token values
        sequence_lengths = attention_mask.sum(-1) - 1
        last = rewards.gather(1, sequence_lengths.unsqueeze(-1)).squeeze(-1)
        return last, rewards


train_c, train_r, train_m = make_pairs(96)
test_c, test_r, test_m = make_pairs(48)
print("pair shapes", tuple(train_c.shape), train_c.dtype, tuple(train_m.shape))
print("first chosen ", "".join(VOCAB[i] for i in train_c[0].tolist() if i > EOS))
print("first rejected", "".join(VOCAB[i] for i in train_r[0].tolist() if i > EOS))
print("lengths", train_c.ne(PAD).sum(1)[:8])

model = RewardModel(len(VOCAB))
print("params", sum(p.numel() for p in model.parameters() if p.requires_grad))
no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "norm" in n]
decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "norm" in n)]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                         {"params": no_decay, "weight_decay": 0.0}], lr=5e-3)
steps_per_epoch, epochs = 6, 5
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=steps_per_epoch * epochs,
                                            pct_start=0.3)
center_coeff = 0.01

for epoch in range(epochs):
    perm = torch.randperm(len(train_c))
    running = torch.zeros(3)
    for idx in perm.chunk(steps_per_epoch):
        both = torch.cat([train_c[idx], train_r[idx]])
        rewards, _ = model(both)
        r_c, r_r = rewards.split(len(idx))
        loss = -F.logsigmoid(r_c - r_r - train_m[idx]).mean()
        loss = loss + center_coeff * torch.mean((r_c + r_r) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        sched.step()
        running += torch.stack([loss.detach(), (r_c > r_r).float().mean().detach(), grad_norm])
    mean = running / steps_per_epoch
    print(f"epoch {epoch} loss {mean[0]:.4f} acc {mean[1]:.4f} gnorm {mean[2]:.4f} "
          f"lr {sched.get_last_lr()[0]:.6f}")

# the same last-token state from a packed batch, where the GRU skips the padding altogether
lengths = test_c[:4].ne(PAD).sum(1)
packed = pack_padded_sequence(model.embed(test_c[:4]), lengths, batch_first=True,
                              enforce_sorted=False)
_, h_n = model.gru(packed)
hidden, _ = model.gru(model.embed(test_c[:4]))
last_hidden = hidden[torch.arange(4), lengths - 1]
print("packed final state matches gather", torch.allclose(h_n[0], last_hidden, atol=1e-6),
      h_n.grad_fn.name(), packed.sorted_indices.tolist())
print(h_n[0, :2, :4])

model.eval()
with torch.inference_mode():
    r_c, per_tok_c = model(test_c)
    r_r, _ = model(test_r)
    acc = (r_c > r_r).float().mean()
    print(f"test acc {acc.item():.4f} mean margin {(r_c - r_r).mean().item():.4f}")
    print("per-token rewards of one sequence", per_tok_c[0, :6].round(decimals=3))
    print("inference tensor", r_c.is_inference(), r_c.requires_grad)

# --- K-way ranking (InstructGPT): all C(K, 2) pairs of K ranked responses per prompt -----
K = 4
texts = [["thanks please help me please", "help me please", "help me", "help me go away no"],
         ["kindly open it thanks", "open it thanks", "open it now", "go away whatever"]]
ranked = torch.tensor([[encode(t) for t in group] for group in texts])     # (P, K, T)
with torch.no_grad():
    scores, _ = model(ranked.flatten(0, 1))
    scores = scores.view(-1, K)
pairs = torch.tensor(list(itertools.combinations(range(K), 2)))            # better, worse
diff = scores[:, pairs[:, 0]] - scores[:, pairs[:, 1]]
rank_loss = -F.logsigmoid(diff).mean()
print("pairs", pairs.shape[0], "rank loss", f"{rank_loss.item():.4f}")
print("predicted order", scores.argsort(dim=1, descending=True))
kendall = (diff > 0).float().mean(1) * 2 - 1
print("kendall tau", kendall.round(decimals=4))

# --- reward normalisation statistics for the RL stage --------------------------------------
with torch.no_grad():
    all_r, _ = model(torch.cat([train_c, train_r]))
mean, std = all_r.mean(), all_r.std(unbiased=False)
normed = (all_r - mean) / (std + 1e-8)
print(f"reward mean {mean.item():.4f} std {std.item():.4f} "
      f"normed mean {normed.mean().abs().item() < 1e-5} "
      f"std {normed.std(unbiased=False).item():.4f}")
q = torch.quantile(all_r, torch.tensor([0.1, 0.5, 0.9]))
print("quantiles", q.round(decimals=3))
hist = torch.histc(normed, bins=5, min=-2.5, max=2.5)
print("histogram", hist)
print("top-3 chosen", torch.topk(r_c, 3).indices.tolist(), "min", r_c.min(dim=0).indices.item())

# --- a bad batch is caught: mismatched chosen/rejected batch sizes --------------------------
try:
    bad = -F.logsigmoid(r_c[:5] - r_r[:4]).mean()
except RuntimeError as err:
    print("RuntimeError:", str(err).split("\n")[0])
