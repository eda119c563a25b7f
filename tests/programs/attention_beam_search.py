"""Seq2seq with attention in the style of the classic tutorials (Bahdanau et al. additive
attention and Luong's dot/general/concat scores): a bidirectional GRU encoder over packed
sequences whose final states are merged by a Linear + tanh, an attention decoder with
masked_fill + softmax and bmm, teacher forcing chosen by a fixed coin, Adam with
ReduceLROnPlateau, and both greedy and topk beam-search decoding (floor division of the
flattened index, index_select of the beams, repeat_interleave of the encoder outputs)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, SOS, EOS = 0, 1, 2
VOCAB, MAX_LEN = 10, 7
rng = np.random.default_rng(5)
# the target is the source sorted, a task that needs attention over the whole input
data = []
for _ in range(40):
    n = int(rng.integers(2, 6))
    src = [int(t) for t in rng.integers(3, VOCAB, n)]
    data.append((src, sorted(src) + [EOS]))


def batch(pairs):
    src_len = torch.tensor([len(s) for s, _ in pairs])
    src = torch.full((len(pairs), int(src_len.max())), PAD, dtype=torch.long)
    trg = torch.full((len(pairs), max(len(t) for _, t in pairs)), PAD, dtype=torch.long)
    for i, (s, t) in enumerate(pairs):
        src[i, :len(s)] = torch.as_tensor(s)
        trg[i, :len(t)] = torch.LongTensor(t)
    return src, src_len, trg


class Encoder(nn.Module):
    def __init__(self, vocab, emb_dim, enc_hid, dec_hid):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb_dim, padding_idx=PAD)
        self.rnn = nn.GRU(emb_dim, enc_hid, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(enc_hid * 2, dec_hid)

    def forward(self, src, src_len):
        embedded = self.embedding(src)
        packed = pack_padded_sequence(embedded, src_len.cpu(), batch_first=True,
                                      enforce_sorted=False)
        packed_outputs, hidden = self.rnn(packed)
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True)
        hidden = torch.tanh(self.fc(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)))
        return outputs, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, enc_hid, dec_hid):
        super().__init__()
        self.attn = nn.Linear(enc_hid * 2 + dec_hid, dec_hid)
        self.v = nn.Linear(dec_hid, 1, bias=False)

    def forward(self, hidden, encoder_outputs, mask):
        src_len = encoder_outputs.shape[1]
        hidden = hidden.unsqueeze(1).repeat(1, src_len, 1)
        energy = torch.tanh(self.attn(torch.cat((hidden, encoder_outputs), dim=2)))
        attention = self.v(energy).squeeze(2)
        attention = attention.masked_fill(mask == 0, -1e10)
        return F.softmax(attention, dim=1)


class LuongAttention(nn.Module):
    def __init__(self, method, hidden_size, enc_size):
        super().__init__()
        self.method = method
        if method not in ["dot", "general", "concat"]:
            raise ValueError(self.method, "is not an appropriate attention method.")
        if method == "general":
            self.attn = nn.Linear(enc_size, hidden_size, bias=False)
        elif method == "concat":
            self.attn = nn.Linear(hidden_size + enc_size, hidden_size)
            self.v = nn.Parameter(torch.zeros(hidden_size))
        else:
            self.proj = nn.Linear(enc_size, hidden_size, bias=False)

    def forward(self, hidden, encoder_outputs, mask):
        if self.method == "dot":
            scores = torch.bmm(self.proj(encoder_outputs), hidden.unsqueeze(2)).squeeze(2)
        elif self.method == "general":
            scores = torch.einsum("bh,bsh->bs", hidden, self.attn(encoder_outputs))
        else:
            h = hidden.unsqueeze(1).expand(-1, encoder_outputs.size(1), -1)
            energy = self.attn(torch.cat((h, encoder_outputs), 2)).tanh()
            scores = torch.sum(self.v * energy, dim=2)
        scores = scores.masked_fill(~mask, float("-inf"))
        return F.softmax(scores, dim=1)


class Decoder(nn.Module):
    def __init__(self, vocab, emb_dim, enc_hid, dec_hid, attention):
        super().__init__()
        self.output_dim = vocab
        self.attention = attention
        self.embedding = nn.Embedding(vocab, emb_dim)
        self.rnn = nn.GRU((enc_hid * 2) + emb_dim, dec_hid)
        self.fc_out = nn.Linear((enc_hid * 2) + dec_hid + emb_dim, vocab)

    def forward(self, input, hidden, encoder_outputs, mask):
        input = input.unsqueeze(0)
        embedded = self.embedding(input)
        a = self.attention(hidden, encoder_outputs, mask)
        a = a.unsqueeze(1)
        weighted = torch.bmm(a, encoder_outputs)
        weighted = weighted.permute(1, 0, 2)
        rnn_input = torch.cat((embedded, weighted), dim=2)
        output, hidden = self.rnn(rnn_input, hidden.unsqueeze(0))
        assert (output == hidden).all()
        embedded, output, weighted = embedded.squeeze(0), output.squeeze(0), weighted.squeeze(0)
        prediction = self.fc_out(torch.cat((output, weighted, embedded), dim=1))
        return prediction, hidden.squeeze(0), a.squeeze(1)


class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def create_mask(self, src):
        return src != PAD

    def forward(self, src, src_len, trg, coins):
        batch_size, trg_len = trg.shape
        outputs = torch.zeros(trg_len, batch_size, self.decoder.output_dim)
        encoder_outputs, hidden = self.encoder(src, src_len)
        input = torch.full((batch_size,), SOS, dtype=torch.long)
        mask = self.create_mask(src)
        for t in range(trg_len):
            output, hidden, _ = self.decoder(input, hidden, encoder_outputs, mask)
            outputs[t] = output
            teacher_force = coins[t] < 0.75  # random.random() < teacher_forcing_ratio
            top1 = output.argmax(1)
            input = trg[:, t] if teacher_force else top1
        return outputs


def init_weights(m):
    for name, param in m.named_parameters():
        if "weight" in name:
            w = rng.normal(0, 0.3, tuple(param.shape)).astype(np.float32)
            param.data.copy_(torch.from_numpy(w))  # nn.init.normal_(param.data, 0, 0.01)
        else:
            nn.init.constant_(param.data, 0)


def greedy(model, src, src_len):
    with torch.no_grad():
        enc_out, hidden = model.encoder(src, src_len)
        mask = model.create_mask(src)
        input = torch.tensor([SOS])
        tokens, attns = [], []
        for _ in range(MAX_LEN):
            out, hidden, a = model.decoder(input, hidden, enc_out, mask)
            input = out.argmax(1)
            attns.append(a)
            if input.item() == EOS:
                break
            tokens.append(input.item())
    return tokens, torch.cat(attns)


def beam_search(model, src, src_len, beam=3):
    with torch.no_grad():
        enc_out, hidden = model.encoder(src, src_len)
        mask = model.create_mask(src)
        enc_out = enc_out.repeat_interleave(beam, dim=0)
        mask = mask.expand(beam, -1)
        hidden = hidden.repeat(beam, 1)
        seqs = torch.full((beam, 1), SOS, dtype=torch.long)
        scores = torch.tensor([0.0] + [float("-inf")] * (beam - 1))
        finished = []
        for _ in range(MAX_LEN):
            out, hidden, _ = model.decoder(seqs[:, -1], hidden, enc_out, mask)
            logp = F.log_softmax(out, dim=-1)
            cand = (scores.unsqueeze(1) + logp).view(-1)
            top_scores, top_idx = cand.topk(beam, largest=True, sorted=True)
            beam_idx = torch.div(top_idx, VOCAB, rounding_mode="floor")
            tok = top_idx % VOCAB
            seqs = torch.cat([seqs.index_select(0, beam_idx), tok.unsqueeze(1)], dim=1)
            hidden = hidden[beam_idx]
            scores = top_scores.clone()
            done = tok == EOS
            for b in torch.nonzero(done, as_tuple=True)[0].tolist():
                finished.append((scores[b].item() / seqs.size(1), seqs[b, 1:-1].tolist()))
            scores = torch.where(done, torch.full_like(scores, float("-inf")), scores)
            if torch.isinf(scores).all():
                break
        best = max(finished) if finished else (scores.max().item(), seqs[0, 1:].tolist())
    return best


coin_rng = np.random.default_rng(11)
for method in ["bahdanau", "dot", "general", "concat"]:
    attn = (BahdanauAttention(8, 12) if method == "bahdanau"
            else LuongAttention(method, 12, 16))
    model = Seq2Seq(Encoder(VOCAB, 6, 8, 12), Decoder(VOCAB, 6, 8, 12, attn))
    model.apply(init_weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    for epoch in range(6):
        model.train()
        epoch_loss = 0
        for i in range(0, len(data), 8):
            src, src_len, trg = batch(data[i:i + 8])
            optimizer.zero_grad()
            output = model(src, src_len, trg, coin_rng.random(trg.shape[1]))
            output_dim = output.shape[-1]
            loss = criterion(output.view(-1, output_dim), trg.t().reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            epoch_loss += loss.item()
        scheduler.step(epoch_loss)
    model.eval()
    src, src_len, trg = batch(data[:1])
    tokens, attns = greedy(model, src, src_len)
    score, beam_tokens = beam_search(model, src, src_len)
    print(f"{method:8s} loss {epoch_loss / 5:.4f} lr {optimizer.param_groups[0]['lr']:.4f}",
          data[0][0], "greedy", tokens, "beam", beam_tokens, f"{score:.4f}")
    print("  attention", attns.shape, attns.argmax(1).tolist(),
          attns.sum(1).round(decimals=4).tolist())
