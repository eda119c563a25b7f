"""A Tacotron 2 style decoder step loop on toy data, written the way NVIDIA's Tacotron 2 and
the ESPnet/Coqui reference code do: a prenet whose dropout stays on at inference
(``F.dropout(training=True)``), location-sensitive attention (``nn.Conv1d`` over the previous
and cumulative attention weights, ``masked_fill`` of padded encoder steps with ``-inf``,
``F.softmax``, ``torch.bmm`` context), an ``LSTMCell`` decoder, a mel projection and a stop
token trained with ``BCEWithLogitsLoss(pos_weight=...)``; masking by
``torch.arange(max_len) < lengths[:, None]``, ``nn.Embedding(padding_idx=0)``,
``pack_padded_sequence`` for the encoder BiLSTM, guided-attention loss, teacher forcing and a
short greedy inference with ``torch.sigmoid(stop) > 0.5``."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)
rng = np.random.default_rng(0)
n_symbols, emb_dim, enc_dim, att_dim, n_mels, dec_dim = 20, 16, 16, 12, 8, 24
B = 3
text_lens = torch.tensor([7, 5, 4])
mel_lens = torch.tensor([10, 8, 6])
T_text, T_mel = int(text_lens.max()), int(mel_lens.max())
text = torch.from_numpy(rng.integers(1, n_symbols, size=(B, T_text)))
text = text.masked_fill(torch.arange(T_text)[None, :] >= text_lens[:, None], 0)
mels = torch.from_numpy(rng.normal(0, 1, size=(B, T_mel, n_mels)).astype(np.float32))
mel_mask = torch.arange(T_mel)[None, :] < mel_lens[:, None]
mels = mels * mel_mask.unsqueeze(-1)
stop_target = torch.zeros(B, T_mel)
stop_target[torch.arange(B), mel_lens - 1] = 1.0
print("text", text.tolist())
print("stop targets per row", stop_target.sum(1).tolist(), stop_target.dtype)


class Prenet(nn.Module):
    def __init__(self, in_dim, sizes):
        super().__init__()
        dims = [in_dim] + sizes
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(dims, dims[1:]))

    def forward(self, x):
        for lin in self.layers:
            x = F.dropout(F.relu(lin(x)), p=0.5, training=True)
        return x


class LocationLayer(nn.Module):
    def __init__(self, n_filters=4, kernel=5):
        super().__init__()
        self.conv = nn.Conv1d(2, n_filters, kernel, padding=(kernel - 1) // 2, bias=False)
        self.dense = nn.Linear(n_filters, att_dim, bias=False)

    def forward(self, cat_weights):
        return self.dense(self.conv(cat_weights).transpose(1, 2))


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(dec_dim, att_dim, bias=False)
        self.memory = nn.Linear(enc_dim, att_dim, bias=False)
        self.v = nn.Linear(att_dim, 1, bias=False)
        self.location = LocationLayer()
        self.score_mask_value = -float("inf")

    def forward(self, query, memory, processed_memory, cat_weights, mask):
        energies = self.v(torch.tanh(self.query(query).unsqueeze(1)
                                     + self.location(cat_weights) + processed_memory)).squeeze(-1)
        energies = energies.masked_fill(~mask, self.score_mask_value)
        weights = F.softmax(energies, dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights


class Tacotron(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, emb_dim, padding_idx=0)
        self.encoder = nn.LSTM(emb_dim, enc_dim // 2, batch_first=True, bidirectional=True)
        self.prenet = Prenet(n_mels, [16, 16])
        self.attention_rnn = nn.LSTMCell(16 + enc_dim, dec_dim)
        self.attention = Attention()
        self.decoder_rnn = nn.LSTMCell(dec_dim + enc_dim, dec_dim)
        self.proj = nn.Linear(dec_dim + enc_dim, n_mels)
        self.gate = nn.Linear(dec_dim + enc_dim, 1)

    def encode(self, text, lens):
        x = self.embedding(text)
        packed = pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        out, _ = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=text.size(1))
        return out

    def forward(self, text, lens, mels):
        memory = self.encode(text, lens)
        mask = torch.arange(memory.size(1))[None, :] < lens[:, None]
        processed = self.attention.memory(memory)
        b = memory.size(0)
        h_att = c_att = memory.new_zeros(b, dec_dim)
        h_dec = c_dec = memory.new_zeros(b, dec_dim)
        w = memory.new_zeros(b, memory.size(1))
        w_cum = torch.zeros_like(w)
        ctx = memory.new_zeros(b, enc_dim)
        go = memory.new_zeros(b, 1, n_mels)
        dec_in = self.prenet(torch.cat([go, mels[:, :-1]], dim=1))
        outs, gates, aligns = [], [], []
        for t in range(mels.size(1)):
            h_att, c_att = self.attention_rnn(torch.cat([dec_in[:, t], ctx], -1), (h_att, c_att))
            cat_w = torch.cat((w.unsqueeze(1), w_cum.unsqueeze(1)), dim=1)
            ctx, w = self.attention(h_att, memory, processed, cat_w, mask)
            w_cum = w_cum + w
            h_dec, c_dec = self.decoder_rnn(torch.cat([h_att, ctx], -1), (h_dec, c_dec))
            hc = torch.cat((h_dec, ctx), dim=1)
            outs.append(self.proj(hc))
            gates.append(self.gate(hc).squeeze(1))
            aligns.append(w)
        return torch.stack(outs, 1), torch.stack(gates, 1), torch.stack(aligns, 1)


def guided_attention_loss(align, text_lens, mel_lens, g=0.2):
    n = torch.arange(align.size(2)).float()[None, None, :] / text_lens[:, None, None]
    t = torch.arange(align.size(1)).float()[None, :, None] / mel_lens[:, None, None]
    weight = 1.0 - torch.exp(-((n - t) ** 2) / (2 * g * g))
    m = (torch.arange(align.size(1))[None, :, None] < mel_lens[:, None, None]) & \
        (torch.arange(align.size(2))[None, None, :] < text_lens[:, None, None])
    return (align * weight).masked_select(m).mean()


model = Tacotron()
print("params", sum(p.numel() for p in model.parameters()),
      "embedding pad row zero", bool((model.embedding.weight[0] == 0).all()))
stop_loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(5.0))
opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-6)
for step in range(6):
    torch.manual_seed(100 + step)
    mel_out, gate_out, align = model(text, text_lens, mels)
    mel_loss = F.mse_loss(mel_out.masked_select(mel_mask.unsqueeze(-1)),
                          mels.masked_select(mel_mask.unsqueeze(-1)))
    gate_loss = stop_loss_fn(gate_out[mel_mask], stop_target[mel_mask])
    ga = guided_attention_loss(align, text_lens, mel_lens)
    loss = mel_loss + gate_loss + ga
    opt.zero_grad()
    loss.backward()
    gn = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    print(f"step {step} mel {mel_loss.item():.4f} gate {gate_loss.item():.4f} "
          f"guided {ga.item():.4f} grad norm {gn.item():.4f}")

print("align rows sum to 1", torch.allclose(align.sum(-1), torch.ones(B, T_mel), atol=1e-5))
print("padded text gets zero weight", align[1, :, 5:].abs().max().item() == 0.0)
print("peak text position per frame (row 0)", align[0].argmax(-1).tolist())
print("pos-weighted loss by hand", round(F.binary_cross_entropy_with_logits(
    gate_out[mel_mask], stop_target[mel_mask], pos_weight=torch.tensor([5.0])).item(), 4))

# greedy inference with the dropout still on in the prenet
model.eval()
with torch.no_grad():
    torch.manual_seed(7)
    memory = model.encode(text[:1], text_lens[:1])
    mask = torch.ones(1, memory.size(1), dtype=torch.bool)
    processed = model.attention.memory(memory)
    h_att = c_att = h_dec = c_dec = torch.zeros(1, dec_dim)
    w = torch.zeros(1, memory.size(1))
    w_cum = w.clone()
    ctx = torch.zeros(1, enc_dim)
    frame = torch.zeros(1, n_mels)
    frames = []
    for t in range(12):
        p = model.prenet(frame)
        h_att, c_att = model.attention_rnn(torch.cat([p, ctx], -1), (h_att, c_att))
        ctx, w = model.attention(h_att, memory, processed,
                                 torch.stack([w, w_cum], dim=1), mask)
        w_cum += w
        h_dec, c_dec = model.decoder_rnn(torch.cat([h_att, ctx], -1), (h_dec, c_dec))
        hc = torch.cat((h_dec, ctx), dim=1)
        frame = model.proj(hc)
        frames.append(frame)
        if torch.sigmoid(model.gate(hc)).item() > 0.5:
            break
    out = torch.cat(frames)
print("generated frames", out.shape[0], "mean", round(out.mean().item(), 4),
      "cumulative attention", [round(v, 3) for v in w_cum[0].tolist()])
