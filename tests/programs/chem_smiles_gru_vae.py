"""A character-level SMILES VAE in the style of Gomez-Bombarelli et al.'s chemical VAE and the
many "molecular VAE in PyTorch" repositories: a SMILES tokenizer that keeps two-letter atoms
(Cl, Br) as one token, padding with pad_sequence, a bidirectional GRU encoder fed a
PackedSequence (enforce_sorted=False), the reparameterization trick, a GRU decoder with
teacher forcing and the latent vector concatenated at every step, token cross-entropy with
ignore_index on padding, a cyclical KL annealing schedule, free bits with clamp, and
sampling with torch.multinomial under a temperature from a seeded torch.Generator; greedy
decoding with argmax and latent interpolation (torch.lerp) between two molecules."""
import re

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(0)
rng = np.random.default_rng(11)

SMILES = ["CCO", "CC(=O)O", "c1ccccc1", "CCN", "CC#N", "ClCCl", "CC(C)O", "OCCO",
          "c1ccncc1", "CBr", "C=CC=C", "CC(=O)N", "COC", "CCCl", "NC(=O)N", "C1CC1",
          "CS(C)=O", "c1ccoc1", "CC(C)(C)O", "OC(=O)CO"]
TOKEN_RE = re.compile(r"Cl|Br|[BCNOSPFI]|[cnos]|[()=#\d+\-\[\]]")


def tokenize(smi):
    tokens = TOKEN_RE.findall(smi)
    assert "".join(tokens) == smi, smi
    return tokens


PAD, SOS, EOS = "<pad>", "<sos>", "<eos>"
vocab = [PAD, SOS, EOS] + sorted({t for s in SMILES for t in tokenize(s)})
stoi = {t: i for i, t in enumerate(vocab)}
print("vocab size", len(vocab), vocab[3:])
print("tokens of ClCCl:", tokenize("ClCCl"))


def encode(smi):
    return torch.tensor([stoi[SOS]] + [stoi[t] for t in tokenize(smi)] + [stoi[EOS]])


def decode(ids):
    out = []
    for i in ids.tolist():
        if i == stoi[EOS]:
            break
        if i not in (stoi[PAD], stoi[SOS]):
            out.append(vocab[i])
    return "".join(out)


seqs = [encode(s) for s in SMILES]
lengths = torch.tensor([len(s) for s in seqs])
batch = pad_sequence(seqs, batch_first=True, padding_value=stoi[PAD])
print("padded batch", tuple(batch.shape), batch.dtype, "lengths", lengths[:6])
print(batch[:3])


class SmilesVAE(nn.Module):
    def __init__(self, vocab_size, emb=16, hidden=32, latent=8):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=stoi[PAD])
        self.encoder = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.to_mu = nn.Linear(2 * hidden, latent)
        self.to_logvar = nn.Linear(2 * hidden, latent)
        self.z_to_h = nn.Linear(latent, hidden)
        self.decoder = nn.GRU(emb + latent, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def encode(self, x, lengths):
        packed = pack_padded_sequence(self.embed(x), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, h = self.encoder(packed)                       # (2, B, hidden)
        h = torch.cat([h[0], h[1]], dim=-1)
        return self.to_mu(h), self.to_logvar(h)

    def reparameterize(self, mu, logvar):
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def decode_step(self, tokens, z, h):
        inp = torch.cat([self.embed(tokens), z.unsqueeze(1).expand(-1, tokens.size(1), -1)], -1)
        out, h = self.decoder(inp, h)
        return self.out(out), h

    def forward(self, x, lengths):
        mu, logvar = self.encode(x, lengths)
        z = self.reparameterize(mu, logvar)
        h0 = torch.tanh(self.z_to_h(z)).unsqueeze(0)
        logits, _ = self.decode_step(x[:, :-1], z, h0)    # teacher forcing
        return logits, mu, logvar


def kl_weight(step, cycle=40, ratio=0.5):
    """Cyclical annealing (Fu et al. 2019): ramp 0 -> 1 over the first half of each cycle."""
    t = (step % cycle) / cycle
    return min(1.0, t / ratio)


model = SmilesVAE(len(vocab))
print(model.encoder)
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
for step in range(80):
    idx = torch.randperm(len(SMILES))[:10]
    x, lens = batch[idx], lengths[idx]
    x = x[:, :int(lens.max())]
    logits, mu, logvar = model(x, lens)
    recon = F.cross_entropy(logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1),
                            ignore_index=stoi[PAD], reduction="sum") / x.size(0)
    kl_per_dim = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).mean(0)
    kl = kl_per_dim.clamp(min=0.05).sum()                 # free bits
    beta = kl_weight(step)
    loss = recon + beta * kl
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_value_(model.parameters(), 1.0)
    opt.step()
    if step % 20 == 19:
        print("step {:3d} recon {:.3f} kl {:.3f} beta {:.2f}".format(
            step + 1, recon.item(), kl.item(), beta))

model.eval()
with torch.no_grad():
    # encoder output shapes on the packed path, and pad_packed_sequence's lengths
    packed = pack_padded_sequence(model.embed(batch[:4]), lengths[:4], batch_first=True,
                                  enforce_sorted=False)
    out, _ = model.encoder(packed)
    unpacked, out_lens = pad_packed_sequence(out, batch_first=True)
    print("packed batch_sizes", packed.batch_sizes, "unpacked", tuple(unpacked.shape), out_lens)
    print("padding positions are zero:", bool((unpacked[1, out_lens[1]:] == 0).all()))

    mu, logvar = model.encode(batch, lengths)
    print("posterior std mean {:.4f}".format(logvar.mul(0.5).exp().mean().item()))

    def greedy(z, max_len=12):
        h = torch.tanh(model.z_to_h(z)).unsqueeze(0)
        tok = torch.full((z.size(0), 1), stoi[SOS], dtype=torch.long)
        out = []
        for _ in range(max_len):
            logits, h = model.decode_step(tok, z, h)
            tok = logits[:, -1].argmax(-1, keepdim=True)
            out.append(tok)
        return torch.cat(out, 1)

    recon_ids = greedy(mu)
    exact = sum(decode(r) == s for r, s in zip(recon_ids, SMILES))
    print("greedy reconstructions exact: {}/{}".format(exact, len(SMILES)))
    for r, s in list(zip(recon_ids, SMILES))[:4]:
        print("  {:10s} -> {}".format(s, decode(r)))

    def sample(z, gen, temperature=0.8, max_len=12):
        h = torch.tanh(model.z_to_h(z)).unsqueeze(0)
        tok = torch.full((z.size(0), 1), stoi[SOS], dtype=torch.long)
        done = torch.zeros(z.size(0), dtype=torch.bool)
        out = []
        for _ in range(max_len):
            logits, h = model.decode_step(tok, z, h)
            probs = F.softmax(logits[:, -1] / temperature, dim=-1)
            tok = torch.multinomial(probs, 1, generator=gen)
            tok = tok.masked_fill(done.unsqueeze(1), stoi[PAD])
            done |= tok.squeeze(1) == stoi[EOS]
            out.append(tok)
            if done.all():
                break
        return torch.cat(out, 1)

    gen = torch.Generator().manual_seed(123)
    z = torch.randn(6, mu.size(1), generator=gen)
    samples = [decode(s) for s in sample(z, gen)]
    balanced = [s.count("(") == s.count(")") for s in samples]
    print("samples", samples)
    print("balanced parentheses", sum(balanced), "novel", sum(s not in SMILES for s in samples))

    za, zb = mu[0], mu[2]                                 # ethanol -> benzene
    ws = torch.linspace(0, 1, 5)
    path = torch.lerp(za.expand(5, -1), zb.expand(5, -1), ws.unsqueeze(1))
    print("interpolation", [decode(r) for r in greedy(path)])
    print("latent distance {:.4f}".format(torch.dist(za, zb).item()))

    top = torch.topk(F.softmax(model.decode_step(
        torch.tensor([[stoi[SOS]]]), mu[:1], torch.tanh(model.z_to_h(mu[:1])).unsqueeze(0))[0]
        [0, -1], -1), 3)
    print("first-token top-3", [vocab[i] for i in top.indices.tolist()],
          torch.round(top.values, decimals=3))

try:
    torch.multinomial(torch.tensor([0.5, -0.1, 0.2]), 1)
except RuntimeError as e:
    print("multinomial error:", str(e).split("\n")[0])
try:
    pack_padded_sequence(torch.zeros(2, 3, 1), torch.tensor([2, 3]), batch_first=True)
except RuntimeError as e:
    print("pack error:", str(e).split("\n")[0][:60])
