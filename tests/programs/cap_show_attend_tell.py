"""Show, attend and tell, as sgrvinod's a-PyTorch-Tutorial-to-Image-Captioning writes it: a
CNN encoder whose feature map is permuted to (batch, pixels, channels), a decoder built on
nn.LSTMCell with soft (Bahdanau) attention, a sigmoid gate on the context (f_beta), initial
states from the mean encoding, teacher forcing over captions sorted by length where each step
runs on only the first ``batch_size_t`` rows, the loss on pack_padded_sequence(...).data,
the doubly stochastic attention regularisation, clip_grad_value_ on each param group, and
beam search that keeps the k best sequences through topk on flattened scores, integer
division to recover the previous word, and torch.cat of the survivors. BLEU-4 with brevity
penalty is computed from n-gram counts with tensor ops."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

torch.manual_seed(3)
vocab = ['<pad>', '<start>', '<end>', 'a', 'red', 'blue', 'dot', 'bar', 'top', 'bottom']
w2i = {w: i for i, w in enumerate(vocab)}


def make_sample(color, shape, where, g):
    img = torch.rand(3, 12, 12, generator=g) * 0.1
    ch = 0 if color == 'red' else 2
    r0 = 1 if where == 'top' else 7
    if shape == 'dot':
        img[ch, r0 : r0 + 3, 4:7] += 1.0
    else:
        img[ch, r0 : r0 + 2, 1:11] += 1.0
    words = ['a', color, shape] + (['top'] if where == 'top' else ['bottom'])
    if color == 'red' and shape == 'bar':
        words = words[:3]  # some captions are shorter, so the batch is ragged
    return img, [w2i['<start>']] + [w2i[w] for w in words] + [w2i['<end>']]


g = torch.Generator().manual_seed(11)
samples = [
    make_sample(c, s, w, g)
    for c in ('red', 'blue')
    for s in ('dot', 'bar')
    for w in ('top', 'bottom')
]
images = torch.stack([im for im, _ in samples])
max_len = max(len(c) for _, c in samples)
captions = torch.zeros(len(samples), max_len, dtype=torch.long)
for i, (_, cap) in enumerate(samples):
    captions[i, : len(cap)] = torch.tensor(cap)
caplens = torch.tensor([[len(c)] for _, c in samples])
print(
    'images',
    tuple(images.shape),
    'captions',
    tuple(captions.shape),
    'lens',
    caplens.squeeze(1).tolist(),
)


class Encoder(nn.Module):
    def __init__(self, enc_size=4):
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 24, 3, padding=1),
            nn.ReLU(inplace=True),
        )
        self.adaptive_pool = nn.AdaptiveAvgPool2d((enc_size, enc_size))

    def forward(self, images):
        out = self.adaptive_pool(self.cnn(images))
        return out.permute(0, 2, 3, 1)  # (batch, enc, enc, channels)


class Attention(nn.Module):
    def __init__(self, encoder_dim, decoder_dim, attention_dim):
        super().__init__()
        self.encoder_att = nn.Linear(encoder_dim, attention_dim)
        self.decoder_att = nn.Linear(decoder_dim, attention_dim)
        self.full_att = nn.Linear(attention_dim, 1)
        self.relu = nn.ReLU()
        self.softmax = nn.Softmax(dim=1)

    def forward(self, encoder_out, decoder_hidden):
        att1 = self.encoder_att(encoder_out)
        att2 = self.decoder_att(decoder_hidden)
        att = self.full_att(self.relu(att1 + att2.unsqueeze(1))).squeeze(2)
        alpha = self.softmax(att)
        return (encoder_out * alpha.unsqueeze(2)).sum(dim=1), alpha


class DecoderWithAttention(nn.Module):
    def __init__(
        self, attention_dim, embed_dim, decoder_dim, vocab_size, encoder_dim=24, dropout=0.2
    ):
        super().__init__()
        self.vocab_size = vocab_size
        self.attention = Attention(encoder_dim, decoder_dim, attention_dim)
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.dropout = nn.Dropout(p=dropout)
        self.decode_step = nn.LSTMCell(embed_dim + encoder_dim, decoder_dim, bias=True)
        self.init_h = nn.Linear(encoder_dim, decoder_dim)
        self.init_c = nn.Linear(encoder_dim, decoder_dim)
        self.f_beta = nn.Linear(decoder_dim, encoder_dim)
        self.sigmoid = nn.Sigmoid()
        self.fc = nn.Linear(decoder_dim, vocab_size)
        self.embedding.weight.data.uniform_(-0.1, 0.1)
        self.fc.bias.data.fill_(0)
        self.fc.weight.data.uniform_(-0.1, 0.1)

    def init_hidden_state(self, encoder_out):
        mean_encoder_out = encoder_out.mean(dim=1)
        return self.init_h(mean_encoder_out), self.init_c(mean_encoder_out)

    def forward(self, encoder_out, encoded_captions, caption_lengths):
        batch_size = encoder_out.size(0)
        encoder_dim = encoder_out.size(-1)
        encoder_out = encoder_out.view(batch_size, -1, encoder_dim)
        num_pixels = encoder_out.size(1)
        caption_lengths, sort_ind = caption_lengths.squeeze(1).sort(dim=0, descending=True)
        encoder_out = encoder_out[sort_ind]
        encoded_captions = encoded_captions[sort_ind]
        embeddings = self.embedding(encoded_captions)
        h, c = self.init_hidden_state(encoder_out)
        decode_lengths = (caption_lengths - 1).tolist()
        predictions = torch.zeros(batch_size, max(decode_lengths), self.vocab_size)
        alphas = torch.zeros(batch_size, max(decode_lengths), num_pixels)
        for t in range(max(decode_lengths)):
            batch_size_t = sum([l > t for l in decode_lengths])
            attention_weighted_encoding, alpha = self.attention(
                encoder_out[:batch_size_t], h[:batch_size_t]
            )
            gate = self.sigmoid(self.f_beta(h[:batch_size_t]))
            attention_weighted_encoding = gate * attention_weighted_encoding
            h, c = self.decode_step(
                torch.cat([embeddings[:batch_size_t, t, :], attention_weighted_encoding], dim=1),
                (h[:batch_size_t], c[:batch_size_t]),
            )
            preds = self.fc(self.dropout(h))
            predictions[:batch_size_t, t, :] = preds
            alphas[:batch_size_t, t, :] = alpha
        return predictions, encoded_captions, decode_lengths, alphas, sort_ind


encoder = Encoder()
decoder = DecoderWithAttention(
    attention_dim=20, embed_dim=12, decoder_dim=24, vocab_size=len(vocab)
)
decoder_optimizer = torch.optim.Adam(
    params=filter(lambda p: p.requires_grad, decoder.parameters()), lr=1e-2
)
encoder_optimizer = torch.optim.Adam(
    params=filter(lambda p: p.requires_grad, encoder.parameters()), lr=1e-3
)
criterion = nn.CrossEntropyLoss()
alpha_c = 1.0


def clip_gradient(optimizer, grad_clip):
    for group in optimizer.param_groups:
        for param in group['params']:
            if param.grad is not None:
                param.grad.data.clamp_(-grad_clip, grad_clip)


def accuracy(scores, targets, k):
    batch_size = targets.size(0)
    _, ind = scores.topk(k, 1, True, True)
    correct = ind.eq(targets.view(-1, 1).expand_as(ind))
    return correct.view(-1).float().sum().item() * (100.0 / batch_size)


for epoch in range(40):
    encoder.train()
    decoder.train()
    imgs = encoder(images)
    scores, caps_sorted, decode_lengths, alphas, sort_ind = decoder(imgs, captions, caplens)
    targets = caps_sorted[:, 1:]
    scores_packed = pack_padded_sequence(scores, decode_lengths, batch_first=True).data
    targets_packed = pack_padded_sequence(targets, decode_lengths, batch_first=True).data
    loss = criterion(scores_packed, targets_packed)
    loss += alpha_c * ((1.0 - alphas.sum(dim=1)) ** 2).mean()
    decoder_optimizer.zero_grad()
    encoder_optimizer.zero_grad()
    loss.backward()
    clip_gradient(decoder_optimizer, 5.0)
    clip_gradient(encoder_optimizer, 5.0)
    decoder_optimizer.step()
    encoder_optimizer.step()
    if epoch % 13 == 0:
        top5 = accuracy(scores_packed, targets_packed, 5)
        print(
            f'epoch {epoch:2d} loss {loss.item():.3f} top5 {top5:.2f} '
            f'packed {tuple(scores_packed.shape)}'
        )


def beam_search(encoder_out, k=3, max_steps=8):
    enc_image_size = encoder_out.size(1)
    encoder_dim = encoder_out.size(3)
    encoder_out = encoder_out.view(1, -1, encoder_dim)
    num_pixels = encoder_out.size(1)
    encoder_out = encoder_out.expand(k, num_pixels, encoder_dim)
    k_prev_words = torch.LongTensor([[w2i['<start>']]] * k)
    seqs = k_prev_words
    top_k_scores = torch.zeros(k, 1)
    seqs_alpha = torch.ones(k, 1, enc_image_size, enc_image_size)
    complete_seqs, complete_seqs_alpha, complete_seqs_scores = [], [], []
    step = 1
    h, c = decoder.init_hidden_state(encoder_out)
    while True:
        embeddings = decoder.embedding(k_prev_words).squeeze(1)
        awe, alpha = decoder.attention(encoder_out, h)
        alpha = alpha.view(-1, enc_image_size, enc_image_size)
        gate = decoder.sigmoid(decoder.f_beta(h))
        awe = gate * awe
        h, c = decoder.decode_step(torch.cat([embeddings, awe], dim=1), (h, c))
        scores = F.log_softmax(decoder.fc(h), dim=1)
        scores = top_k_scores.expand_as(scores) + scores
        if step == 1:
            top_k_scores, top_k_words = scores[0].topk(k, 0, True, True)
        else:
            top_k_scores, top_k_words = scores.view(-1).topk(k, 0, True, True)
        prev_word_inds = torch.div(top_k_words, len(vocab), rounding_mode='floor')
        next_word_inds = top_k_words % len(vocab)
        seqs = torch.cat([seqs[prev_word_inds], next_word_inds.unsqueeze(1)], dim=1)
        seqs_alpha = torch.cat(
            [seqs_alpha[prev_word_inds], alpha[prev_word_inds].unsqueeze(1)], dim=1
        )
        incomplete_inds = [
            ind for ind, next_word in enumerate(next_word_inds) if next_word != w2i['<end>']
        ]
        complete_inds = list(set(range(len(next_word_inds))) - set(incomplete_inds))
        if len(complete_inds) > 0:
            complete_seqs.extend(seqs[complete_inds].tolist())
            complete_seqs_alpha.extend(seqs_alpha[complete_inds].tolist())
            complete_seqs_scores.extend(top_k_scores[complete_inds])
        k -= len(complete_inds)
        if k == 0 or step > max_steps:
            break
        seqs = seqs[incomplete_inds]
        seqs_alpha = seqs_alpha[incomplete_inds]
        h = h[prev_word_inds[incomplete_inds]]
        c = c[prev_word_inds[incomplete_inds]]
        encoder_out = encoder_out[prev_word_inds[incomplete_inds]]
        top_k_scores = top_k_scores[incomplete_inds].unsqueeze(1)
        k_prev_words = next_word_inds[incomplete_inds].unsqueeze(1)
        step += 1
    if not complete_seqs:
        return seqs[0].tolist(), top_k_scores[0], seqs_alpha[0]
    i = complete_seqs_scores.index(max(complete_seqs_scores))
    return complete_seqs[i], complete_seqs_scores[i], torch.tensor(complete_seqs_alpha[i])


def ngram_counts(tokens, n):
    t = torch.tensor(tokens)
    if t.numel() < n:
        return {}
    grams, counts = torch.unique(t.unfold(0, n, 1), dim=0, return_counts=True)
    return {tuple(gr.tolist()): int(ct) for gr, ct in zip(grams, counts)}


def corpus_bleu(references, hypotheses, max_n=4):
    clipped = torch.zeros(max_n)
    totals = torch.zeros(max_n)
    ref_len = hyp_len = 0
    for ref, hyp in zip(references, hypotheses):
        ref_len += len(ref)
        hyp_len += len(hyp)
        for n in range(1, max_n + 1):
            h, r = ngram_counts(hyp, n), ngram_counts(ref, n)
            clipped[n - 1] += sum(min(c, r.get(gram, 0)) for gram, c in h.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    precisions = (clipped + 1e-9) / totals.clamp(min=1)
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / max(hyp_len, 1))
    return bp * torch.exp(torch.log(precisions).mean()).item(), precisions


try:  # the LSTMCell needs (h, c); passing h alone is a classic slip
    decoder.decode_step(torch.zeros(2, 12 + 24), torch.zeros(2, 24))
except TypeError as e:
    print('TypeError:', e)
encoder.eval()
decoder.eval()
refs, hyps = [], []
with torch.no_grad():
    feats = encoder(images)
    for i in range(len(samples)):
        seq, score, alphas_i = beam_search(feats[i : i + 1], k=3)
        words = [vocab[w] for w in seq if w not in (w2i['<start>'], w2i['<end>'], w2i['<pad>'])]
        ref = [w for w in samples[i][1] if w not in (w2i['<start>'], w2i['<end>'])]
        refs.append(ref)
        hyps.append([w2i[w] for w in words])
        if i < 4:
            print(
                f'img {i} beam: {" ".join(words):24s} score {float(score):.2f} '
                f'alpha {tuple(alphas_i.shape)}'
            )
bleu, precisions = corpus_bleu(refs, hyps)
print('n-gram precisions', [round(p, 3) for p in precisions.tolist()])
print(f'BLEU-4 {bleu:.4f}')
