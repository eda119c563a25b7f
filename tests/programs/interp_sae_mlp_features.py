"""A sparse autoencoder on a small transformer's MLP activations, following Anthropic's
"Towards Monosemanticity" and the SAELens / dictionary_learning reference code: a two-layer
pre-norm ``nn.TransformerEncoder`` is trained on a toy sequence task, a forward hook on the
second layer's ``linear1`` (with the activation applied) captures the MLP neurons, and an
untied SAE (pre-encoder bias, ReLU codes, decoder columns kept at unit norm under no_grad and
their parallel gradient component removed) is trained with an L1 penalty. Dead features are
resampled from badly reconstructed inputs. A tied-decoder variant, feature statistics (L0,
dead fraction, explained variance, top activating tokens) and the spliced-in loss recovered
are printed."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
VOCAB, SEQ, D, FF = 12, 10, 32, 64

# toy task: predict whether each token has appeared earlier in the sequence
tokens = torch.from_numpy(rng.integers(0, VOCAB, size=(384, SEQ))).long()
seen = torch.zeros_like(tokens)
for t in range(1, SEQ):
    seen[:, t] = (tokens[:, :t] == tokens[:, t:t + 1]).any(dim=1).long()
print("task balance", f"{seen.float().mean().item():.4f}")


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D)
        self.pos = nn.Parameter(torch.randn(1, SEQ, D) * 0.1)
        layer = nn.TransformerEncoderLayer(D, nhead=4, dim_feedforward=FF, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(D)
        self.unembed = nn.Linear(D, 2)
        mask = nn.Transformer.generate_square_subsequent_mask(SEQ)
        self.register_buffer("causal", mask, persistent=False)

    def forward(self, x):
        h = self.embed(x) + self.pos
        h = self.encoder(h, mask=self.causal, is_causal=True)
        return self.unembed(self.ln_f(h))


model = TinyTransformer()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(TensorDataset(tokens, seen), batch_size=64, shuffle=True,
                    generator=torch.Generator().manual_seed(1))
for epoch in range(5):
    total = 0.0
    for xb, yb in loader:
        logits = model(xb)
        loss = F.cross_entropy(logits.reshape(-1, 2), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * xb.shape[0]
    print(f"model epoch {epoch} loss {total / len(tokens):.4f}")
model.eval()
for p in model.parameters():
    p.requires_grad_(False)
with torch.no_grad():
    acc = (model(tokens).argmax(-1) == seen).float().mean()
print("model acc", f"{acc.item():.4f}")

# capture the second layer's MLP hidden activations (post-GELU) with a forward hook
mlp = model.encoder.layers[1]
cache = {}


def capture(module, inputs, output):
    cache["mlp"] = F.gelu(output).detach()


handle = mlp.linear1.register_forward_hook(capture)
with torch.no_grad():
    base_logits = model(tokens)
handle.remove()
acts = cache["mlp"].reshape(-1, FF).double()  # the SAE trains in float64
print("activations", tuple(acts.shape), acts.dtype, f"mean {acts.mean().item():.4f}",
      f"std {acts.std().item():.4f}")


class SparseAutoencoder(nn.Module):
    def __init__(self, d_in, d_sae, tied=False):
        super().__init__()
        self.tied = tied
        self.b_dec = nn.Parameter(torch.zeros(d_in))
        self.W_enc = nn.Parameter(torch.empty(d_in, d_sae))
        nn.init.kaiming_uniform_(self.W_enc, a=5 ** 0.5)
        self.b_enc = nn.Parameter(torch.zeros(d_sae))
        if not tied:
            self.W_dec = nn.Parameter(self.W_enc.detach().t().clone())
            self.normalize_decoder()

    def decoder_weight(self):
        return self.W_enc.t() if self.tied else self.W_dec

    @torch.no_grad()
    def normalize_decoder(self):
        self.W_dec.data = F.normalize(self.W_dec.data, dim=1)

    @torch.no_grad()
    def remove_parallel_grad(self):
        w = self.W_dec
        parallel = torch.einsum("fd,fd->f", w.grad, w)
        w.grad -= torch.einsum("f,fd->fd", parallel, w)

    def encode(self, x):
        return F.relu((x - self.b_dec) @ self.W_enc + self.b_enc)

    def forward(self, x):
        f = self.encode(x)
        return f @ self.decoder_weight() + self.b_dec, f


def sae_stats(sae, x):
    with torch.no_grad():
        recon, f = sae(x)
        l0 = (f > 0).float().sum(-1).mean()
        dead = (f.sum(0) == 0).float().mean()
        resid = (x - recon).pow(2).sum(-1)
        total = (x - x.mean(0)).pow(2).sum(-1)
        ev = 1 - resid.mean() / total.mean()
    return l0.item(), dead.item(), ev.item()


def train_sae(sae, x, steps, l1_coeff, resample_at=()):
    opt = torch.optim.Adam(sae.parameters(), lr=2e-3, betas=(0.9, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20))
    g = torch.Generator().manual_seed(3)
    fired = torch.zeros(sae.b_enc.shape[0])
    for step in range(steps):
        idx = torch.randint(0, x.shape[0], (128,), generator=g)
        batch = x[idx]
        recon, f = sae(batch)
        mse = F.mse_loss(recon, batch, reduction="none").sum(-1).mean()
        dec_norms = sae.decoder_weight().norm(dim=1)
        l1 = (f * dec_norms).sum(-1).mean()
        loss = mse + l1_coeff * l1
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if not sae.tied:
            sae.remove_parallel_grad()
        torch.nn.utils.clip_grad_norm_(sae.parameters(), 1.0)
        opt.step()
        sched.step()
        if not sae.tied:
            sae.normalize_decoder()
        fired += (f > 0).float().mean(0)
        if step in resample_at:
            resample(sae, x, fired / (step + 1) < 0.02, opt, g)
        if step % 25 == 0 or step == steps - 1:
            print(f"  step {step:3d} mse {mse.item():.4f} l1 {l1.item():.4f}")


@torch.no_grad()
def resample(sae, x, dead, opt, g):
    n_dead = int(dead.sum())
    print("  resampling", n_dead, "dead features")
    if n_dead == 0:
        return
    recon, _ = sae(x)
    losses = (x - recon).pow(2).sum(-1)
    picks = torch.multinomial(losses.square(), n_dead, replacement=False, generator=g)
    new_dirs = F.normalize(x[picks] - sae.b_dec, dim=-1)
    alive_norm = sae.W_enc[:, ~dead].norm(dim=0).mean() if (~dead).any() else 1.0
    dead_idx = dead.nonzero().squeeze(1)
    sae.W_dec.data[dead_idx] = new_dirs
    sae.W_enc.data[:, dead_idx] = new_dirs.t() * alive_norm * 0.2
    sae.b_enc.data[dead_idx] = 0.0
    for p in (sae.W_enc, sae.W_dec, sae.b_enc):
        state = opt.state[p]
        if "exp_avg" in state:
            state["exp_avg"].zero_()
            state["exp_avg_sq"].zero_()


torch.manual_seed(7)
sae = SparseAutoencoder(FF, 2 * FF).double()
with torch.no_grad():
    sae.b_dec.copy_(acts.median(dim=0).values)
print("untied SAE", sum(p.numel() for p in sae.parameters()), "params", sae.W_dec.dtype)
train_sae(sae, acts, 151, l1_coeff=0.3, resample_at=(75,))
l0, dead, ev = sae_stats(sae, acts)
print(f"untied L0 {l0:.2f} dead {dead:.4f} explained var {ev:.4f}")
print("decoder norms", f"{sae.W_dec.norm(dim=1).min().item():.4f}",
      f"{sae.W_dec.norm(dim=1).max().item():.4f}")

torch.manual_seed(7)
tied = SparseAutoencoder(FF, 2 * FF, tied=True).to(torch.float64)
print("tied SAE", sum(p.numel() for p in tied.parameters()), "params")
train_sae(tied, acts, 76, l1_coeff=0.3)
l0, dead, ev = sae_stats(tied, acts)
print(f"tied L0 {l0:.2f} dead {dead:.4f} explained var {ev:.4f}")

# feature analysis on the untied SAE
with torch.no_grad():
    _, feats = sae(acts)
freq = (feats > 0).float().mean(0)
top_freq = freq.topk(5)
print("most frequent features", top_freq.indices.tolist(),
      [f"{v:.3f}" for v in top_freq.values.tolist()])
log_freq = torch.log10(freq.clamp(min=1e-6))
hist = torch.histc(log_freq, bins=6, min=-3.0, max=0.0)
print("log10 frequency histogram", hist.long().tolist())
feat = int(top_freq.indices[0])
vals, where = feats[:, feat].topk(8)
pos = where % SEQ
tok = tokens.reshape(-1)[where]
print("feature", feat, "top acts", [f"{v:.3f}" for v in vals.tolist()])
print("  positions", pos.tolist(), "tokens", tok.tolist(),
      "seen", seen.reshape(-1)[where].tolist())
corr = torch.corrcoef(torch.stack([feats[:, feat], seen.reshape(-1).float()]))[0, 1]
print("corr with 'seen' label", f"{corr.item():.4f}")
dirs = F.normalize(sae.W_dec, dim=1)
cos = dirs @ dirs.t()
cos.fill_diagonal_(0)
print("max decoder cosine", f"{cos.max().item():.4f}",
      "pairs > 0.9", int((cos.triu(1) > 0.9).sum()))
u, s, vh = torch.linalg.svd(acts - acts.mean(0), full_matrices=False)
print("activation spectrum top5", [f"{v:.3f}" for v in (s[:5] / s.sum()).tolist()])
align = (dirs @ vh[:3].t()).abs().amax(0)
print("best feature alignment with top PCs", [f"{v:.3f}" for v in align.tolist()])

# splice the SAE reconstruction into linear2's input with a pre-hook that replaces it
def splice_pre(module, args):
    recon, _ = sae(args[0].double())
    return (recon.to(args[0].dtype),)


def zero_ablate_pre(module, args):
    return (torch.zeros_like(args[0]),)


def mean_ablate_pre(module, args):
    return (acts.mean(0).float().expand_as(args[0]),)


def eval_loss():
    with torch.no_grad():
        out = model(tokens)
    return F.cross_entropy(out.reshape(-1, 2), seen.reshape(-1)).item()


clean = eval_loss()
results = {}
for name, fn in [("sae", splice_pre), ("zero", zero_ablate_pre), ("mean", mean_ablate_pre)]:
    h = mlp.linear2.register_forward_pre_hook(fn)
    results[name] = eval_loss()
    h.remove()
print(f"clean {clean:.4f}", " ".join(f"{k} {v:.4f}" for k, v in results.items()))
recovered = (results["zero"] - results["sae"]) / (results["zero"] - clean)
print(f"loss recovered {recovered:.4f}", "hooks left", len(mlp.linear2._forward_pre_hooks))
