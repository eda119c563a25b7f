"""Seq2seq translation tutorial in miniature: GRU encoder over packed padded batches,
attention decoder with teacher forcing, greedy decoding."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

SOS_token, EOS_token, PAD = 1, 2, 0
MAX_LENGTH = 6

# a toy "translation": reverse the token sequence and shift every token by one
rng = np.random.default_rng(3)
pairs = []
for _ in range(24):
    n = int(rng.integers(2, 5))
    src = [int(t) for t in rng.integers(3, 9, n)]
    pairs.append((src, [t + 1 for t in reversed(src)]))
VOCAB = 11


def fill_(module, k):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            idx = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.cos(idx * (k + 0.19 * i)) * 0.3).reshape(p.shape))


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size, padding_idx=PAD)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)

    def forward(self, input, lengths):
        embedded = self.embedding(input)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True,
                                      enforce_sorted=False)
        output, hidden = self.gru(packed)
        output, out_lengths = pad_packed_sequence(output, batch_first=True,
                                                  total_length=input.size(1))
        return output, hidden, out_lengths


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys, mask):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, encoder_outputs, encoder_hidden, mask, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs, attentions = [], []
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs, mask)
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)
            if target_tensor is not None:
                decoder_input = target_tensor[:, i].unsqueeze(1)  # teacher forcing
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()
        decoder_outputs = F.log_softmax(torch.cat(decoder_outputs, dim=1), dim=-1)
        return decoder_outputs, decoder_hidden, torch.cat(attentions, dim=1)

    def forward_step(self, input, hidden, encoder_outputs, mask):
        embedded = self.embedding(input)
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs, mask)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        return self.out(output), hidden, attn_weights


def batchify(batch):
    src = [torch.tensor(s) for s, _ in batch]
    tgt = [torch.tensor(t + [EOS_token] + [PAD] * (MAX_LENGTH - len(t) - 1)) for _, t in batch]
    lengths = torch.tensor([len(s) for s in src])
    return pad_sequence(src, batch_first=True), lengths, torch.stack(tgt)


src, lengths, tgt = batchify(pairs[:4])
print(src, lengths, tgt.shape)
emb = nn.Embedding(VOCAB, 3)
fill_(emb, 0.5)
packed = pack_padded_sequence(emb(src), lengths, batch_first=True, enforce_sorted=False)
print(packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices, packed.data.shape)
sorted_lengths, _ = lengths.sort(descending=True)
packed_sorted = pack_padded_sequence(emb(src)[lengths.argsort(descending=True)], sorted_lengths,
                                     batch_first=True)
print(packed_sorted.batch_sizes, packed_sorted.sorted_indices)

hidden_size = 16
encoder = EncoderRNN(VOCAB, hidden_size)
decoder = AttnDecoderRNN(hidden_size, VOCAB)
fill_(encoder, 0.7)
fill_(decoder, 1.1)
encoder_optimizer = optim.Adam(encoder.parameters(), lr=0.01)
decoder_optimizer = optim.Adam(decoder.parameters(), lr=0.01)
criterion = nn.NLLLoss(ignore_index=PAD)

for epoch in range(1, 31):
    total = 0.0
    for i in range(0, len(pairs), 8):
        input_tensor, lengths, target_tensor = batchify(pairs[i:i + 8])
        mask = input_tensor != PAD
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        encoder_outputs, encoder_hidden, _ = encoder(input_tensor, lengths)
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, mask, target_tensor)
        loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)),
                         target_tensor.view(-1))
        loss.backward()
        encoder_optimizer.step()
        decoder_optimizer.step()
        total += loss.item()
    if epoch % 10 == 0:
        print(f"epoch {epoch} loss {total / 3:.4f}")

encoder.eval()
decoder.eval()
with torch.no_grad():
    input_tensor, lengths, target_tensor = batchify(pairs[:3])
    mask = input_tensor != PAD
    encoder_outputs, encoder_hidden, out_lengths = encoder(input_tensor, lengths)
    print(encoder_outputs.shape, out_lengths, encoder_outputs[0, -1].abs().sum() == 0)
    decoder_outputs, _, attentions = decoder(encoder_outputs, encoder_hidden, mask)
    decoded = decoder_outputs.argmax(-1)
    print(attentions.shape, attentions.sum(-1)[0].round(decimals=4))
    for (src_words, tgt_words), row in zip(pairs[:3], decoded.tolist()):
        words = row[:row.index(EOS_token)] if EOS_token in row else row
        print(src_words, "->", words, "expected", tgt_words)
