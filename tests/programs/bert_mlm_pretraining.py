"""BERT-style masked-language-model pretraining, in the manner of the Hugging Face
run_mlm example and the original BERT recipe, written with plain torch.nn: a toy corpus
tokenised to ids with [PAD]/[CLS]/[SEP]/[MASK], batches padded with pad_sequence and an
attention (key padding) mask, the 80/10/10 masking rule drawn with torch.bernoulli, an
encoder of nn.TransformerEncoder layers (GELU, pre-norm) with token, position and segment
embeddings (padding_idx), an MLM head whose decoder weight is tied to the word embeddings,
CrossEntropyLoss with ignore_index=-100 and label smoothing, AdamW with no weight decay on
biases and LayerNorms, a linear warmup/decay LambdaLR, gradient accumulation and
clip_grad_norm_, then fill-in-the-blank predictions and a saved/reloaded state_dict."""
import io

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(11)

corpus = [
    "the cat sat on the mat", "the dog sat on the rug", "a cat chased a mouse",
    "a dog chased a cat", "the mouse ate the cheese", "the cat ate the fish",
    "the dog ate the bone", "a bird sang on the tree", "the bird ate the seed",
    "a cat sat on the tree", "the mouse sat on the cheese", "a dog sang on the mat",
]
specials = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]
vocab = specials + sorted({w for s in corpus for w in s.split()})
stoi = {w: i for i, w in enumerate(vocab)}
PAD, CLS, SEP, MASK = range(4)
print("vocab size", len(vocab))


def encode_pair(a, b):
    ids = [CLS] + [stoi[w] for w in a.split()] + [SEP] + [stoi[w] for w in b.split()] + [SEP]
    seg = [0] * (len(a.split()) + 2) + [1] * (len(b.split()) + 1)
    return torch.tensor(ids), torch.tensor(seg)


pairs = [encode_pair(corpus[i], corpus[(i + 1) % len(corpus)]) for i in range(len(corpus))]
pairs += [(ids[: 2 + len(corpus[i].split())], seg[: 2 + len(corpus[i].split())])
          for i, (ids, seg) in enumerate(pairs[:6])]


def collate(batch):
    ids = pad_sequence([b[0] for b in batch], batch_first=True, padding_value=PAD)
    seg = pad_sequence([b[1] for b in batch], batch_first=True)
    attention_mask = (ids != PAD).long()
    return ids, seg, attention_mask


def mask_tokens(ids, mlm_probability=0.15):
    labels = ids.clone()
    prob = torch.full(ids.shape, mlm_probability)
    special = (ids == PAD) | (ids == CLS) | (ids == SEP)
    prob.masked_fill_(special, 0.0)
    masked = torch.bernoulli(prob).bool()
    labels[~masked] = -100
    replace = torch.bernoulli(torch.full(ids.shape, 0.8)).bool() & masked
    inputs = ids.clone()
    inputs[replace] = MASK
    rand = torch.bernoulli(torch.full(ids.shape, 0.5)).bool() & masked & ~replace
    inputs[rand] = torch.randint(len(specials), len(vocab), ids.shape)[rand]
    return inputs, labels


class BertEmbeddings(nn.Module):
    def __init__(self, vocab_size, d, max_len=32):
        super().__init__()
        self.word = nn.Embedding(vocab_size, d, padding_idx=PAD)
        self.position = nn.Embedding(max_len, d)
        self.token_type = nn.Embedding(2, d)
        self.norm = nn.LayerNorm(d, eps=1e-12)
        self.dropout = nn.Dropout(0.1)
        self.register_buffer("position_ids", torch.arange(max_len).expand(1, -1),
                             persistent=False)

    def forward(self, ids, seg):
        pos = self.position_ids[:, : ids.shape[1]]
        x = self.word(ids) + self.position(pos) + self.token_type(seg)
        return self.dropout(self.norm(x))


class BertForMLM(nn.Module):
    def __init__(self, vocab_size, d=32, heads=4, layers=2):
        super().__init__()
        self.embeddings = BertEmbeddings(vocab_size, d)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.1,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d),
                                             enable_nested_tensor=False)
        self.transform = nn.Sequential(nn.Linear(d, d), nn.GELU(approximate="tanh"),
                                       nn.LayerNorm(d, eps=1e-12))
        self.decoder = nn.Linear(d, vocab_size)
        self.apply(self._init_weights)
        self.decoder.weight = self.embeddings.word.weight            # tied after init

    @staticmethod
    def _init_weights(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.trunc_normal_(m.weight, std=0.02, a=-0.04, b=0.04)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].zero_()

    def forward(self, ids, seg, attention_mask):
        h = self.encoder(self.embeddings(ids, seg), src_key_padding_mask=attention_mask == 0)
        return self.decoder(self.transform(h))


model = BertForMLM(len(vocab))
n_params = sum(p.numel() for p in model.parameters())
print("parameters", n_params, "tied:", model.decoder.weight is model.embeddings.word.weight,
      "pad row zero:", model.embeddings.word.weight[PAD].abs().sum().item() == 0.0)
print("buffers", [n for n, _ in model.named_buffers()],
      "position_ids in state_dict:", "embeddings.position_ids" in model.state_dict())

no_decay = ("bias", "norm")
groups = [
    {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
     "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
     "weight_decay": 0.0},
]
print("param groups", [len(g["params"]) for g in groups])
optimizer = torch.optim.AdamW(groups, lr=3e-3, betas=(0.9, 0.999), eps=1e-6)
total_steps, warmup = 40, 6


def lr_lambda(step):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    return max(0.0, float(total_steps - step) / float(max(1, total_steps - warmup)))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
loss_fn = nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=0.1)
accum = 2
model.train()
for step in range(total_steps):
    for micro in range(accum):
        idx = torch.randint(0, len(pairs), (6,))
        ids, seg, attn = collate([pairs[i] for i in idx.tolist()])
        inputs, labels = mask_tokens(ids, mlm_probability=0.25)
        logits = model(inputs, seg, attn)
        loss = loss_fn(logits.view(-1, len(vocab)), labels.view(-1)) / accum
        loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    if step % 10 == 0 or step == total_steps - 1:
        print("step", step, "loss", round(loss.item() * accum, 3), "grad norm",
              round(norm.item(), 3), "lr", round(scheduler.get_last_lr()[0], 6))

# padding_idx stops the embedding's gradient, but the tied decoder still trains that row
print("pad row after training", round(model.embeddings.word.weight[PAD].abs().max().item(), 4))

model.eval()
with torch.no_grad():
    for sentence in ["the cat [MASK] on the mat", "a dog chased a [MASK]"]:
        ids = torch.tensor([[CLS] + [stoi[w] for w in sentence.split()] + [SEP]])
        logits = model(ids, torch.zeros_like(ids), torch.ones_like(ids))
        pos = (ids[0] == MASK).nonzero().item()
        probs = logits[0, pos].softmax(-1)
        top = probs.topk(3)
        print(sentence, "->", [vocab[i] for i in top.indices.tolist()],
              [round(p, 2) for p in top.values.tolist()])
    ids, seg, attn = collate(pairs[:4])
    full = model(ids, seg, attn)
    # padding must not change the logits of real tokens
    alone = model(pairs[3][0][None], pairs[3][1][None], torch.ones(1, len(pairs[3][0])).long())
    n = len(pairs[3][0])
    print("padding invariant:", torch.allclose(full[3, :n], alone[0], atol=1e-4))

buf = io.BytesIO()
torch.save(model.state_dict(), buf)
buf.seek(0)
clone = BertForMLM(len(vocab))
missing = clone.load_state_dict(torch.load(buf, weights_only=True))
clone.eval()
with torch.no_grad():
    print("reloaded", missing, "same logits:", torch.equal(clone(ids, seg, attn), full))
