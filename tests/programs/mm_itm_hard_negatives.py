"""Image-text matching with hard negatives, after VSE++ (fartashf/vsepp) and ALBEF: region
features and a GRU caption encoder (packed, enforce_sorted=False) embedded in a joint space
with l2norm; VSE++'s ContrastiveLoss with max_violation (the diagonal masked with torch.eye
and masked_fill_, hardest negatives by max over each axis); a LambdaLR warm-up; then ALBEF's
image-text-matching head: a cross-attention fusion (nn.MultiheadAttention with a
key_padding_mask) scored by a 2-way classifier on positives and on hard negatives drawn with
torch.multinomial from softmax similarities whose diagonals are filled with 0 by
fill_diagonal_. Evaluation: i2t and t2i Recall@1/5/10 and median rank with five captions per
image, as VSE++'s evaluation.py computes them, but with torch ops."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(21)
N_IMG, N_REG, REG_DIM, EMB = 12, 6, 20, 16
VOCAB = 30
# each image has a latent "content" vector; its regions and its five captions both derive from it
content = torch.randn(N_IMG, 8)
region_map = torch.randn(8, REG_DIM)
regions = torch.einsum('nc,cd->nd', content, region_map)[:, None, :] + 0.5 * torch.randn(
    N_IMG, N_REG, REG_DIM
)
word_table = torch.randn(VOCAB, 8)
captions, lengths = [], []
for i in range(N_IMG):
    scores = word_table @ content[i]
    for j in range(5):
        L = 4 + (i + j) % 4
        noisy = scores + 1.5 * torch.randn(VOCAB)
        captions.append(noisy.topk(L).indices + 1)  # 0 is padding
        lengths.append(L)
lengths = torch.tensor(lengths)
caps = torch.zeros(len(captions), int(lengths.max()), dtype=torch.long)
for k, c in enumerate(captions):
    caps[k, : len(c)] = c
print(
    'regions', tuple(regions.shape), 'captions', tuple(caps.shape), 'lengths', lengths[:8].tolist()
)


def l2norm(X, dim=-1, eps=1e-8):
    norm = torch.pow(X, 2).sum(dim=dim, keepdim=True).sqrt() + eps
    return torch.div(X, norm)


class EncoderImagePrecomp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(REG_DIM, EMB)
        r = (6.0**0.5) / ((self.fc.in_features + self.fc.out_features) ** 0.5)
        self.fc.weight.data.uniform_(-r, r)
        self.fc.bias.data.fill_(0)

    def forward(self, images):
        feats = self.fc(images)  # (B, regions, EMB)
        return feats, l2norm(feats.mean(1))


class EncoderText(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB + 1, 12, padding_idx=0)
        self.rnn = nn.GRU(12, EMB, num_layers=1, batch_first=True)
        self.embed.weight.data.uniform_(-0.1, 0.1)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(
            self.embed(x), lengths, batch_first=True, enforce_sorted=False
        )
        out, _ = self.rnn(packed)
        padded, cap_len = pad_packed_sequence(out, batch_first=True)
        I = (cap_len - 1).view(-1, 1, 1).expand(x.size(0), 1, EMB)
        last = torch.gather(padded, 1, I).squeeze(1)
        return padded, l2norm(last)


class ContrastiveLoss(nn.Module):
    def __init__(self, margin=0.2, max_violation=False):
        super().__init__()
        self.margin = margin
        self.max_violation = max_violation

    def forward(self, im, s):
        scores = im.mm(s.t())
        diagonal = scores.diag().view(im.size(0), 1)
        d1 = diagonal.expand_as(scores)
        d2 = diagonal.t().expand_as(scores)
        cost_s = (self.margin + scores - d1).clamp(min=0)
        cost_im = (self.margin + scores - d2).clamp(min=0)
        mask = torch.eye(scores.size(0)) > 0.5
        cost_s = cost_s.masked_fill_(mask, 0)
        cost_im = cost_im.masked_fill_(mask, 0)
        if self.max_violation:
            cost_s = cost_s.max(1)[0]
            cost_im = cost_im.max(0)[0]
        return cost_s.sum() + cost_im.sum()


img_enc, txt_enc = EncoderImagePrecomp(), EncoderText()
params = list(img_enc.parameters()) + list(txt_enc.parameters())
optimizer = torch.optim.Adam(params, lr=5e-3)
warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 10))
for epoch in range(24):
    max_violation = epoch >= 8  # VSE++ warms up with the sum of violations first
    criterion = ContrastiveLoss(margin=0.2, max_violation=max_violation)
    order = torch.randperm(N_IMG)
    for b in order.split(6):
        cap_idx = b * 5 + torch.randint(0, 5, (b.numel(),))
        _, img_emb = img_enc(regions[b])
        _, cap_emb = txt_enc(caps[cap_idx], lengths[cap_idx])
        loss = criterion(img_emb, cap_emb)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 2.0)
        optimizer.step()
        warmup.step()
    if epoch % 6 == 5:
        print(
            f'epoch {epoch:2d} max_violation={max_violation!s:5s} loss {loss.item():.3f} '
            f'lr {optimizer.param_groups[0]["lr"]:.4f}'
        )


@torch.no_grad()
def evaluate():
    _, img_embs = img_enc(regions)
    _, cap_embs = txt_enc(caps, lengths)
    sims = img_embs @ cap_embs.t()  # (N_IMG, 5 * N_IMG)
    # i2t: rank of the best of an image's five captions
    order = sims.argsort(dim=1, descending=True)
    gt = (order // 5) == torch.arange(N_IMG).unsqueeze(1)
    ranks_i2t = gt.float().argmax(dim=1)
    # t2i: rank of the caption's own image
    order_t = sims.t().argsort(dim=1, descending=True)
    ranks_t2i = (order_t == (torch.arange(5 * N_IMG) // 5).unsqueeze(1)).nonzero()[:, 1]

    def recalls(ranks):
        r = [100.0 * (ranks < k).float().mean().item() for k in (1, 5, 10)]
        return r, torch.floor(ranks.float().median()).item() + 1

    return recalls(ranks_i2t), recalls(ranks_t2i)


(r_i2t, med_i2t), (r_t2i, med_t2i) = evaluate()
print('Image to text: R@1 %.1f R@5 %.1f R@10 %.1f medr %.1f' % (*r_i2t, med_i2t))
print('Text to image: R@1 %.1f R@5 %.1f R@10 %.1f medr %.1f' % (*r_t2i, med_t2i))
print('rsum %.1f' % (sum(r_i2t) + sum(r_t2i)))


class ITMHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.cross = nn.MultiheadAttention(EMB, 2, batch_first=True)
        self.norm = nn.LayerNorm(EMB)
        self.itm = nn.Linear(EMB, 2)

    def forward(self, txt_tokens, txt_pad, img_regions):
        fused, attn = self.cross(txt_tokens, img_regions, img_regions)
        fused = self.norm(fused + txt_tokens)
        fused = fused.masked_fill(txt_pad.unsqueeze(-1), 0.0)
        pooled = fused.sum(1) / (~txt_pad).sum(1, keepdim=True)
        return self.itm(pooled), attn


itm = ITMHead()
itm_opt = torch.optim.AdamW(itm.parameters(), lr=1e-2, weight_decay=0.02)
generator = torch.Generator().manual_seed(3)
for step in range(30):
    b = torch.randperm(N_IMG, generator=generator)[:6]
    cap_idx = b * 5
    with torch.no_grad():
        img_regions, img_emb = img_enc(regions[b])
        txt_tokens, cap_emb = txt_enc(caps[cap_idx], lengths[cap_idx])
        sim_i2t = img_emb @ cap_emb.t() / 0.1
        weights_i2t = F.softmax(sim_i2t, dim=1) + 1e-5
        weights_i2t.fill_diagonal_(0)
        weights_t2i = F.softmax(sim_i2t.t(), dim=1) + 1e-5
        weights_t2i.fill_diagonal_(0)
    neg_txt = torch.multinomial(weights_i2t, 1, generator=generator).squeeze(1)
    neg_img = torch.multinomial(weights_t2i, 1, generator=generator).squeeze(1)
    txt_pad = torch.arange(txt_tokens.size(1))[None, :] >= lengths[cap_idx][:, None]
    all_txt = torch.cat([txt_tokens, txt_tokens[neg_txt], txt_tokens], dim=0)
    all_pad = torch.cat([txt_pad, txt_pad[neg_txt], txt_pad], dim=0)
    all_img = torch.cat([img_regions, img_regions, img_regions[neg_img]], dim=0)
    itm_labels = torch.cat(
        [torch.ones(6, dtype=torch.long), torch.zeros(12, dtype=torch.long)], dim=0
    )
    logits, attn = itm(all_txt, all_pad, all_img)
    loss_itm = F.cross_entropy(logits, itm_labels)
    itm_opt.zero_grad()
    loss_itm.backward()
    itm_opt.step()
    if step % 10 == 9:
        acc = (logits.argmax(1) == itm_labels).float().mean()
        print(
            f'itm step {step} loss {loss_itm.item():.3f} acc {acc.item():.3f} '
            f'negatives {neg_txt.tolist()}'
        )
print('attention', tuple(attn.shape), 'rows sum to', attn.sum(-1).mean().item().__round__(4))
try:  # a (batch, length) padding mask applied to (length, batch) tokens
    all_txt.transpose(0, 1).masked_fill(all_pad.unsqueeze(-1), 0.0)
except RuntimeError as e:
    print('RuntimeError:', e)
