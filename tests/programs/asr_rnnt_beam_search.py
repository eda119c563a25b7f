"""Transducer and CTC decoding written out with tensors, the way speech tutorials and small
reference implementations do without torchaudio: an LSTM encoder over unbatched and batched
features, a prediction network (``nn.Embedding(padding_idx=...)`` + ``nn.LSTM`` with explicit
``(h0, c0)``), a joint network broadcast over (B, T, U + 1, V); the RNN-T loss computed by a
forward-variable recursion with ``torch.logaddexp`` and in-place writes into a preallocated
lattice, checked against a brute-force ``torch.logsumexp`` over all alignments and
differentiated end to end; CTC prefix beam search with ``torch.logaddexp``/``topk`` on
``log_softmax`` outputs, compared with greedy decoding and ``F.ctc_loss`` scores; float64."""
import itertools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(7)
V, BLANK, FEAT, H = 4, 0, 5, 8


class Transducer(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(FEAT, H, batch_first=True)
        self.embed = nn.Embedding(V + 1, H, padding_idx=V)          # index V = <sos>/pad
        self.predictor = nn.LSTM(H, H, batch_first=True)
        self.joint_enc = nn.Linear(H, H)
        self.joint_pred = nn.Linear(H, H, bias=False)
        self.out = nn.Linear(H, V)

    def forward(self, feats, labels):
        enc, _ = self.encoder(feats)                                 # (B, T, H)
        sos = labels.new_full((labels.shape[0], 1), V)
        pred_in = self.embed(torch.cat([sos, labels], dim=1))
        h0 = pred_in.new_zeros(1, labels.shape[0], H)
        pred, (h_n, c_n) = self.predictor(pred_in, (h0, torch.zeros_like(h0)))   # (B, U+1, H)
        joint = torch.tanh(self.joint_enc(enc).unsqueeze(2) + self.joint_pred(pred).unsqueeze(1))
        return self.out(joint).log_softmax(dim=-1)                   # (B, T, U+1, V)


def rnnt_loss_single(lp, y):
    T, U1, _ = lp.shape
    alpha = lp.new_full((T, U1), float("-inf"))
    alpha[0, 0] = 0.0
    for t in range(T):
        for u in range(U1):
            if t == 0 and u == 0:
                continue
            neg_inf = lp.new_tensor(float("-inf"))
            from_blank = alpha[t - 1, u] + lp[t - 1, u, BLANK] if t > 0 else neg_inf
            from_emit = alpha[t, u - 1] + lp[t, u - 1, y[u - 1]] if u > 0 else neg_inf
            alpha[t, u] = torch.logaddexp(from_blank, from_emit)
    return -(alpha[T - 1, U1 - 1] + lp[T - 1, U1 - 1, BLANK])


def rnnt_brute_force(lp, y):
    T, U1, _ = lp.shape
    U = U1 - 1
    scores = []
    for emit_times in itertools.combinations_with_replacement(range(T), U):
        s, u = lp.new_zeros(()), 0
        for t in range(T):
            while u < U and emit_times[u] == t:
                s = s + lp[t, u, y[u]]
                u += 1
            s = s + lp[t, u, BLANK]
        scores.append(s)
    return -torch.logsumexp(torch.stack(scores), dim=0)


model = Transducer().double()
feats = torch.from_numpy(rng.standard_normal((2, 4, FEAT)))
labels = torch.tensor([[1, 3, 2], [2, 2, V]])                        # second padded with V
label_len = torch.tensor([3, 2])
lp = model(feats, labels)
print("joint", lp.shape, lp.dtype, lp.exp().sum(-1).mean().item() == lp.exp().sum(-1).mean().item())
losses = [rnnt_loss_single(lp[b, :, :label_len[b] + 1], labels[b, :label_len[b]]) for b in range(2)]
brute = [rnnt_brute_force(lp[b, :, :label_len[b] + 1], labels[b, :label_len[b]]) for b in range(2)]
print("rnnt", [round(v.item(), 5) for v in losses], "brute force",
      [round(v.item(), 5) for v in brute], torch.allclose(torch.stack(losses), torch.stack(brute)))
loss = torch.stack(losses).mean()
loss.backward()
print("grad norms", {n: round(p.grad.norm().item(), 4) for n, p in model.named_parameters()
                     if "predictor" in n or n.startswith("embed")})
print("pad row of embedding grad stays zero", model.embed.weight.grad[V].abs().sum().item())

opt = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(8):
    lp = model(feats, labels)
    loss = torch.stack([rnnt_loss_single(lp[b, :, :label_len[b] + 1], labels[b, :label_len[b]])
                        for b in range(2)]).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 3 == 0:
        print(f"step {step} rnnt {loss.item():.4f}")


def greedy_rnnt(feat):
    enc, _ = model.encoder(feat)                                     # unbatched (T, H)
    hyp, state = [], None
    token = torch.tensor([V])
    pred, state = model.predictor(model.embed(token), state)
    for t in range(enc.shape[0]):
        for _ in range(3):                                          # max symbols per frame
            logits = model.out(torch.tanh(model.joint_enc(enc[t]) + model.joint_pred(pred[0])))
            k = int(logits.argmax())
            if k == BLANK:
                break
            hyp.append(k)
            pred, state = model.predictor(model.embed(torch.tensor([k])), state)
    return hyp


with torch.no_grad():
    print("rnnt greedy", greedy_rnnt(feats[0]), greedy_rnnt(feats[1]))


def ctc_prefix_beam_search(log_probs, beam=3):
    """log_probs: (T, C). Returns the best prefixes with their log scores."""
    beams = {(): (torch.tensor(0.0, dtype=log_probs.dtype),
                  torch.tensor(float("-inf"), dtype=log_probs.dtype))}
    for t in range(log_probs.shape[0]):
        nxt = {}
        topv, topi = log_probs[t].topk(beam)
        for prefix, (pb, pnb) in beams.items():
            for p, c in zip(topv, topi.tolist()):
                if c == BLANK:
                    b, nb = nxt.get(prefix, (p.new_tensor(float("-inf")),) * 2)
                    nxt[prefix] = (torch.logaddexp(b, torch.logaddexp(pb, pnb) + p), nb)
                    continue
                new = prefix + (c,)
                b, nb = nxt.get(new, (p.new_tensor(float("-inf")),) * 2)
                if prefix and prefix[-1] == c:
                    nxt[new] = (b, torch.logaddexp(nb, pb + p))
                    b2, nb2 = nxt.get(prefix, (p.new_tensor(float("-inf")),) * 2)
                    nxt[prefix] = (b2, torch.logaddexp(nb2, pnb + p))
                else:
                    nxt[new] = (b, torch.logaddexp(nb, torch.logaddexp(pb, pnb) + p))
        beams = dict(sorted(nxt.items(), key=lambda kv: -torch.logaddexp(*kv[1]).item())[:beam])
    return [(list(k), round(torch.logaddexp(*v).item(), 4)) for k, v in beams.items()]


ctc_logits = torch.from_numpy(rng.standard_normal((6, V)) * 2)
ctc_lp = ctc_logits.log_softmax(-1)
beams = ctc_prefix_beam_search(ctc_lp)
greedy = torch.unique_consecutive(ctc_lp.argmax(-1))
print("beam", beams, "greedy", greedy[greedy != BLANK].tolist())
best = torch.tensor(beams[0][0])
nll = F.ctc_loss(ctc_lp[:, None], best[None], torch.tensor([6]), torch.tensor([len(best)]),
                 reduction="sum")
print("ctc score of best beam", round(-nll.item(), 4), "matches",
      abs(-nll.item() - beams[0][1]) < 1e-9)
