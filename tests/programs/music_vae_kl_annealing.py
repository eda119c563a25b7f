"""A MusicVAE-style recurrent VAE on two-bar monophonic melodies (as in Magenta's MusicVAE and
its PyTorch ports): melodies as token sequences (note-on pitches, HOLD and REST events), a
bidirectional GRU encoder whose final states give mu and log-variance, the reparameterisation
trick through torch.distributions.Normal.rsample, a conductor-free GRU decoder initialised from
z with teacher forcing under an inverse-sigmoid scheduled-sampling probability, the KL term
from torch.distributions.kl_divergence with free bits and a cyclical (then sigmoid) KL
annealing schedule, and afterwards: reconstruction accuracy, prior samples decoded greedily
and with Gumbel sampling, spherical interpolation (slerp) between two melodies' codes, and
the active units of the latent space."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal, Independent, kl_divergence

torch.manual_seed(0)
rng = np.random.default_rng(4)
REST, HOLD, N_PITCH = 0, 1, 12
V = N_PITCH + 2
T = 16
SCALE = [0, 2, 4, 5, 7, 9, 11]


def make_melody():
    tokens, prev = [], int(rng.choice(SCALE))
    while len(tokens) < T:
        step = int(rng.choice([-2, -1, 0, 1, 2]))
        idx = min(max(SCALE.index(prev) + step, 0), len(SCALE) - 1)
        prev = SCALE[idx]
        dur = int(rng.choice([1, 2, 2, 4]))
        tokens += [prev + 2] + [HOLD] * (dur - 1)
        if rng.random() < 0.15:
            tokens.append(REST)
    return tokens[:T]


data = torch.tensor([make_melody() for _ in range(64)])
print("melodies", tuple(data.shape), "token counts", torch.bincount(data.flatten(),
                                                                   minlength=V).tolist())
print("example", data[0].tolist())


class MelodyVAE(nn.Module):
    def __init__(self, emb=16, hidden=32, z_dim=8):
        super().__init__()
        self.embed = nn.Embedding(V + 1, emb)            # extra start token
        self.encoder = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.to_stats = nn.Linear(2 * hidden, 2 * z_dim)
        self.z_to_h = nn.Linear(z_dim, hidden)
        self.decoder = nn.GRUCell(emb + z_dim, hidden)
        self.out = nn.Linear(hidden, V)
        self.start = V

    def encode(self, x):
        _, h = self.encoder(self.embed(x))                # h: (2, B, hidden)
        h = torch.cat([h[0], h[1]], dim=-1)
        mu, logvar = self.to_stats(h).chunk(2, dim=-1)
        return mu, logvar.clamp(-6, 4)

    def decode(self, z, target=None, teacher_prob=1.0, gen=None, greedy=True, tau=1.0):
        B = z.shape[0]
        h = torch.tanh(self.z_to_h(z))
        tok = torch.full((B,), self.start, dtype=torch.long)
        logits_all, tokens = [], []
        for t in range(T):
            h = self.decoder(torch.cat([self.embed(tok), z], dim=-1), h)
            logits = self.out(h)
            logits_all.append(logits)
            if greedy:
                pred = logits.argmax(-1)
            else:
                u = torch.rand(logits.shape, generator=gen).clamp(1e-9, 1 - 1e-9)
                pred = (logits / tau - torch.log(-torch.log(u))).argmax(-1)
            tokens.append(pred)
            if target is not None:
                use_teacher = torch.rand(B, generator=gen) < teacher_prob
                tok = torch.where(use_teacher, target[:, t], pred.detach())
            else:
                tok = pred
        return torch.stack(logits_all, 1), torch.stack(tokens, 1)


model = MelodyVAE()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.12, size=tuple(p.shape)).astype(np.float32)))
print("encoder", model.encoder)
print("parameters", sum(p.numel() for p in model.parameters()))
prior = Independent(Normal(torch.zeros(8), torch.ones(8)), 1)
print("prior", prior, "event shape", prior.event_shape)


def kl_weight(step, cycle=20, ratio=0.5):
    """Cyclical annealing (Fu et al. 2019): ramp 0 -> 1 over half a cycle, then hold."""
    return min(1.0, (step % cycle) / (cycle * ratio))


def teacher_forcing(step, k=15.0):
    return k / (k + math.exp(step / k))               # inverse sigmoid decay


opt = torch.optim.Adam(model.parameters(), lr=5e-3)
gen = torch.Generator().manual_seed(0)
free_bits = 0.25
for step in range(40):
    idx = torch.randperm(64, generator=gen)[:16]
    x = data[idx]
    mu, logvar = model.encode(x)
    q = Normal(mu, (0.5 * logvar).exp())
    z = q.rsample()
    logits, _ = model.decode(z, x, teacher_forcing(step), gen)
    recon = F.cross_entropy(logits.reshape(-1, V), x.reshape(-1), reduction="sum") / 16
    kl_per_dim = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).mean(0)
    kl = torch.clamp(kl_per_dim, min=free_bits).sum()
    beta = kl_weight(step)
    loss = recon + beta * kl
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 8 == 7:
        print("step {:2d} recon {:.3f} kl {:.3f} beta {:.2f} teacher {:.3f}".format(
            step, recon.item(), kl_per_dim.sum().item(), beta, teacher_forcing(step)))

model.eval()
with torch.no_grad():
    mu, logvar = model.encode(data)
    _, recon_tokens = model.decode(mu)
    acc = (recon_tokens == data).float().mean()
    print("reconstruction accuracy (greedy, z = mu) {:.4f}".format(acc.item()))
    kl_dims = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).mean(0)
    print("KL per dim", torch.round(kl_dims, decimals=3))
    active = (mu.var(0) > 1e-2).sum()
    print("active units", active.item(), "of", mu.shape[1])
    print("prior log prob of codes {:.3f}".format(prior.log_prob(mu).mean().item()))

    samples_gen = torch.Generator().manual_seed(3)
    z = torch.randn(4, 8, generator=samples_gen)
    _, greedy = model.decode(z)
    _, sampled = model.decode(z, greedy=False, gen=samples_gen, tau=0.8)
    print("prior samples (greedy)\n", greedy)
    print("sampled differ from greedy", (sampled != greedy).float().mean().item() > 0)

    def slerp(a, b, t):
        omega = torch.acos((F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)
                           .clamp(-1, 1))
        so = torch.sin(omega)
        return (torch.sin((1 - t) * omega) / so)[..., None] * a + \
            (torch.sin(t * omega) / so)[..., None] * b

    ts = torch.linspace(0, 1, 5)
    path = slerp(mu[0].expand(5, -1), mu[1].expand(5, -1), ts)
    lin = torch.lerp(mu[0], mu[1], ts[:, None])
    print("slerp norms", torch.round(path.norm(dim=-1), decimals=3))
    print("lerp norms ", torch.round(lin.norm(dim=-1), decimals=3))
    _, interp = model.decode(path)
    changes = (interp[1:] != interp[:-1]).sum(1)
    print("token changes between interpolation steps", changes.tolist())
    print("endpoints decode like the originals:",
          (interp[0] == recon_tokens[0]).all().item(), (interp[-1] == recon_tokens[1]).all().item())
