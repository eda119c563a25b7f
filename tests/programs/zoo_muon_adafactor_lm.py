"""Optimizer zoo on a tiny character language model, as the Muon README and the
modded-nanogpt speedrun recipe set it up: the 2-D hidden weight matrices go to ``torch.optim.Muon``
(Newton-Schulz orthogonalised momentum, ``adjust_lr_fn="match_rms_adamw"``), while embeddings,
the output head, biases and norm gains go to ``AdamW``; both optimizers share a warmup-then-cosine
schedule (``SequentialLR`` of ``LinearLR`` and ``CosineAnnealingLR``) whose ``get_last_lr`` is
printed. The same model is then trained with ``torch.optim.Adafactor`` (factored second moments,
the T5 recipe's memory-light optimizer), and the optimizers' ``state_dict()`` layouts are
printed: param-group keys, per-parameter state keys and state shapes."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

torch.manual_seed(0)

text = "the quick brown fox jumps over the lazy dog " * 12
vocab = sorted(set(text))
stoi = {c: i for i, c in enumerate(vocab)}
data = torch.tensor([stoi[c] for c in text])
context = 4


def batches(n_steps, batch_size=32):
    """Random windows of ``context`` characters and the character that follows each."""
    for _ in range(n_steps):
        idx = torch.randint(0, len(data) - context - 1, (batch_size,))
        x = torch.stack([data[i:i + context] for i in idx.tolist()])
        y = data[idx + context]
        yield x, y


class CharMLP(nn.Module):
    def __init__(self, vocab_size, dim=16, hidden=48):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.fc1 = nn.Linear(context * dim, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.fc2 = nn.Linear(hidden, hidden, bias=False)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x):
        h = self.embed(x).flatten(1)
        h = F.gelu(self.norm(self.fc1(h)))
        h = h + F.relu(self.fc2(h)).square()
        return self.head(h)


def evaluate(model):
    with torch.no_grad():
        x = torch.stack([data[i:i + context] for i in range(0, 200)])
        y = data[context:200 + context]
        return F.cross_entropy(model(x), y).item()


# --- Muon for hidden matrices, AdamW for everything else -------------------------------------
model = CharMLP(len(vocab))
init_state = {k: v.clone() for k, v in model.state_dict().items()}
muon_params = [p for n, p in model.named_parameters()
               if p.ndim == 2 and not n.startswith(("embed", "head"))]
adamw_params = [p for n, p in model.named_parameters()
                if not (p.ndim == 2 and not n.startswith(("embed", "head")))]
print("muon params", [tuple(p.shape) for p in muon_params])
print("adamw params", [tuple(p.shape) for p in adamw_params])
opt_muon = torch.optim.Muon(muon_params, lr=0.02, momentum=0.95, weight_decay=0.01,
                            adjust_lr_fn="match_rms_adamw")
opt_adamw = torch.optim.AdamW(adamw_params, lr=3e-3, betas=(0.9, 0.95), weight_decay=0.01)
optimizers = [opt_muon, opt_adamw]
total = 60
schedulers = [SequentialLR(o, [LinearLR(o, start_factor=0.1, total_iters=5),
                               CosineAnnealingLR(o, T_max=total - 5, eta_min=1e-4)],
                           milestones=[5]) for o in optimizers]
print("initial eval loss", round(evaluate(model), 4))
for step, (x, y) in enumerate(batches(total)):
    loss = F.cross_entropy(model(x), y)
    for o in optimizers:
        o.zero_grad(set_to_none=True)
    loss.backward()
    for o in optimizers:
        o.step()
    for s in schedulers:
        s.step()
    if step % 10 == 0 or step == total - 1:
        lrs = [round(s.get_last_lr()[0], 6) for s in schedulers]
        # two decimals: Newton-Schulz amplifies float32 rounding, and torch's own third
        # decimal differs between AVX2 and AVX-512 machines by step 20
        print(f"muon step {step:2d} loss {loss.item():.2f} lr muon/adamw {lrs}")
print("muon+adamw eval loss", round(evaluate(model), 2))
w = model.fc2.weight.detach()
sv = torch.linalg.svdvals(w)
print("fc2 spectral norm", round(sv[0].item(), 2),
      "mean singular value", round(sv.mean().item(), 2))

sd = opt_muon.state_dict()
print("muon param_groups keys", sorted(sd["param_groups"][0].keys()))
print("muon state keys", sorted(sd["state"][0].keys()), "ids", sorted(sd["state"].keys()))
print("muon momentum_buffer shape", tuple(sd["state"][0]["momentum_buffer"].shape))
sd = opt_adamw.state_dict()
print("adamw state keys", sorted(sd["state"][0].keys()), "step", sd["state"][0]["step"].item())

# --- Adafactor: factored second moments for matrices, a full one for vectors -----------------
model.load_state_dict(init_state)
opt = torch.optim.Adafactor(model.parameters(), lr=1e-2, beta2_decay=-0.8, weight_decay=0.0)
sched = CosineAnnealingLR(opt, T_max=total, eta_min=1e-3)
for step, (x, y) in enumerate(batches(total)):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 15 == 0 or step == total - 1:
        print(f"adafactor step {step:2d} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.6f}")
print("adafactor eval loss", round(evaluate(model), 3))
sd = opt.state_dict()
print("adafactor param_groups keys", sorted(sd["param_groups"][0].keys()))
for pid in (0, 1, 2):
    st = sd["state"][pid]
    print("adafactor state", pid, sorted(st.keys()),
          {k: tuple(v.shape) for k, v in sorted(st.items()) if k != "step"},
          "step", st["step"].item())
row = sd["state"][1]["row_var"]
print("fc1 row_var mean", round(row.mean().item(), 6), "shape", tuple(row.shape))
