"""Pointer Networks (Vinyals et al., 2015) learning to sort variable-length lists of numbers, as
the popular PyTorch re-implementations write them: an nn.LSTM encoder over
pack_padded_sequence(enforce_sorted=False), an nn.LSTMCell decoder whose additive attention
(v^T tanh(W1 e_j + W2 d_i)) is itself the output distribution over input positions, padding
and already-chosen positions masked with masked_fill(-inf), the next decoder input gathered
with torch.gather (teacher forcing while training), F.nll_loss(ignore_index=-100) over the
steps past each list's end, Adam with clip_grad_norm_; then greedy decoding, sampling from
torch.distributions.Categorical (log_prob, entropy), sortedness checked with torch.cummax, and
a small beam search over pointer sequences."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(0)
MIN_LEN, MAX_LEN = 3, 7


def make_batch(n):
    lengths = torch.randint(MIN_LEN, MAX_LEN + 1, (n,))
    seqs = [torch.rand(int(L)) for L in lengths]
    inputs = pad_sequence(seqs, batch_first=True)  # (n, T), zero padded
    targets = pad_sequence([s.argsort() for s in seqs], batch_first=True, padding_value=-100)
    return inputs, lengths, targets


class PointerNet(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.embed = nn.Linear(1, hidden)
        self.encoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.decoder = nn.LSTMCell(hidden, hidden)
        self.W1 = nn.Linear(hidden, hidden, bias=False)
        self.W2 = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)
        self.start = nn.Parameter(torch.zeros(hidden).uniform_(-0.1, 0.1))

    def encode(self, inputs, lengths):
        emb = self.embed(inputs.unsqueeze(-1))
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        out, (h, c) = self.encoder(packed)
        enc, _ = pad_packed_sequence(out, batch_first=True, total_length=inputs.size(1))
        return emb, enc, (h[0], c[0])

    def scores(self, enc_proj, dec_h, mask):
        u = self.v(torch.tanh(enc_proj + self.W2(dec_h).unsqueeze(1))).squeeze(-1)
        return u.masked_fill(mask, float("-inf"))

    def forward(self, inputs, lengths, targets=None, sample=False):
        """Log-probabilities of each pointer step; the chosen pointers (targets when given)."""
        emb, enc, state = self.encode(inputs, lengths)
        n, T = inputs.shape
        enc_proj = self.W1(enc)
        pad = torch.arange(T)[None, :] >= lengths[:, None]
        chosen = torch.zeros(n, T, dtype=torch.bool)
        dec_in = self.start.expand(n, -1)
        log_probs, pointers = [], []
        for t in range(T):
            state = self.decoder(dec_in, state)
            finished = lengths <= t
            # a finished list points at position 0 (its loss is ignored) so no row is all -inf
            mask = (pad | chosen) & ~(finished[:, None] & (torch.arange(T) == 0))
            logp = F.log_softmax(self.scores(enc_proj, state[0], mask), dim=-1)
            if targets is not None:
                ptr = targets[:, t].clamp(min=0)
            elif sample:
                ptr = Categorical(logits=logp).sample()
            else:
                ptr = logp.argmax(-1)
            log_probs.append(logp)
            pointers.append(ptr)
            chosen = chosen | F.one_hot(ptr, T).bool()
            dec_in = torch.gather(emb, 1, ptr.view(n, 1, 1).expand(-1, 1, emb.size(-1)))
            dec_in = dec_in.squeeze(1)
        return torch.stack(log_probs, 1), torch.stack(pointers, 1)


model = PointerNet()
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
inputs, lengths, targets = make_batch(4)
print(inputs.round(decimals=3), lengths.tolist(), targets.tolist(), sep="\n")

for step in range(1, 81):
    inputs, lengths, targets = make_batch(32)
    log_probs, _ = model(inputs, lengths, targets)
    loss = F.nll_loss(log_probs.reshape(-1, log_probs.size(-1)), targets.reshape(-1),
                      ignore_index=-100)
    optimizer.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
    optimizer.step()
    if step % 20 == 0:
        print("step {} loss {:.4f} grad norm {:.4f}".format(step, loss.item(), norm.item()))


def sorted_output(inputs, pointers, lengths):
    values = torch.gather(inputs, 1, pointers)
    valid = torch.arange(inputs.size(1))[None, :] < lengths[:, None]
    values = values.masked_fill(~valid, float("inf"))  # padding never breaks the order
    running_max, _ = torch.cummax(values, dim=1)
    return values, (values == running_max).all(1)


model.eval()
with torch.no_grad():
    inputs, lengths, targets = make_batch(64)
    log_probs, pointers = model(inputs, lengths)
    valid = targets != -100
    print("greedy pointer accuracy {:.3f}".format(
        (pointers == targets)[valid].float().mean().item()))
    values, ok = sorted_output(inputs, pointers, lengths)
    print("fully sorted lists", int(ok.sum()), "of", len(ok))
    print("example", [round(v, 3) for v in inputs[0, :lengths[0]].tolist()], "->",
          [round(v, 3) for v in values[0, :lengths[0]].tolist()])
    # permutations: every position of each list is pointed at exactly once
    counts = F.one_hot(pointers, inputs.size(1)).masked_fill(~valid.unsqueeze(-1), 0).sum(1)
    print("each position once", torch.equal(counts, valid.long()))

    # sampling several decodes per list and keeping the best, as in neural combinatorial opt.
    torch.manual_seed(1)
    best = torch.zeros(len(ok), dtype=torch.bool)
    for k in range(4):
        logp, ptrs = model(inputs, lengths, sample=True)
        dist = Categorical(logits=logp)
        seq_logp = dist.log_prob(ptrs).masked_fill(~valid, 0).sum(1)
        ent = dist.entropy().masked_fill(~valid, 0).sum(1) / lengths
        best |= sorted_output(inputs, ptrs, lengths)[1]
        print("sample {} mean log-prob {:.4f} mean entropy {:.4f} sorted {}".format(
            k, seq_logp.mean().item(), ent.mean().item(), int(sorted_output(
                inputs, ptrs, lengths)[1].sum())))
    print("sorted by best-of-4 or greedy", int((best | ok).sum()))


def beam_search(x, beam=3):
    """Beam search over pointer sequences for one list (no padding)."""
    L = x.size(0)
    emb, enc, (h, c) = model.encode(x[None], torch.tensor([L]))
    enc_proj = model.W1(enc)
    beams = [(0.0, [], model.start[None], (h, c))]
    for t in range(L):
        cands = []
        for score, ptrs, dec_in, state in beams:
            state = model.decoder(dec_in, state)
            mask = torch.zeros(1, L, dtype=torch.bool)
            mask[0, ptrs] = True
            logp = F.log_softmax(model.scores(enc_proj, state[0], mask), dim=-1)[0]
            top = logp.topk(min(beam, L - t))
            for lp, j in zip(top.values.tolist(), top.indices.tolist()):
                cands.append((score + lp, ptrs + [j], emb[:, j], state))
        cands.sort(key=lambda b: -b[0])
        beams = cands[:beam]
    return [(round(s, 3), p) for s, p, _, _ in beams]


with torch.no_grad():
    x = torch.tensor([0.61, 0.05, 0.9, 0.33, 0.34, 0.7])
    for score, ptrs in beam_search(x):
        print("beam", score, ptrs, [round(v, 2) for v in x[ptrs].tolist()])
    print("argsort", x.argsort().tolist())
