"""The nn.Transformer language-modeling tutorial in miniature: PositionalEncoding as a
buffer, nn.TransformerEncoder with a square subsequent mask, batchify/get_batch, gradient
clipping, and evaluation perplexity; plus nn.MultiheadAttention on its own."""
import math

import torch
from torch import Tensor, nn
from torch.nn import TransformerEncoder, TransformerEncoderLayer


def fill_(module, k):
    """Fixed weights in place of the random init (LayerNorm keeps its ones and zeros)."""
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            idx = torch.arange(p.numel(), dtype=torch.float32)
            if p.dim() > 1:
                p.copy_((torch.sin(idx * (k + 0.31 * i)) * 0.15).view_as(p))
            elif "norm" not in name:
                p.copy_(torch.cos(idx * (k + 0.31 * i)) * 0.02)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.pe[:x.size(0)]
        return self.dropout(x)


class TransformerModel(nn.Module):
    def __init__(self, ntoken, d_model, nhead, d_hid, nlayers, dropout=0.5):
        super().__init__()
        self.model_type = "Transformer"
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
        self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers,
                                                      enable_nested_tensor=False)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)
        self.init_weights()

    def init_weights(self) -> None:
        fill_(self, 0.61)
        self.linear.bias.data.zero_()

    def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        if src_mask is None:
            src_mask = nn.Transformer.generate_square_subsequent_mask(len(src))
        output = self.transformer_encoder(src, src_mask)
        return self.linear(output)


print(nn.Transformer.generate_square_subsequent_mask(3))
text = "the cat sat on the mat and the dog sat on the log while the cat ran " * 6
vocab = {w: i for i, w in enumerate(sorted(set(text.split())))}
data = torch.tensor([vocab[w] for w in text.split()], dtype=torch.long)


def batchify(data: Tensor, bsz: int) -> Tensor:
    seq_len = data.size(0) // bsz
    data = data[:seq_len * bsz]
    data = data.view(bsz, seq_len).t().contiguous()
    return data


train_data = batchify(data[:72], 4)
val_data = batchify(data[72:], 2)
print(train_data.shape, val_data.shape)
bptt = 6


def get_batch(source: Tensor, i: int):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].reshape(-1)
    return data, target


ntokens = len(vocab)
model = TransformerModel(ntokens, d_model=16, nhead=2, d_hid=32, nlayers=2, dropout=0.0)
print(sum(p.numel() for p in model.parameters()), model.transformer_encoder.layers[0].self_attn)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)


def train_epoch(epoch):
    model.train()
    total_loss = 0.0
    num_batches = len(train_data) // bptt
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        output = model(data)
        output_flat = output.view(-1, ntokens)
        loss = criterion(output_flat, targets)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        total_loss += loss.item()
    cur_loss = total_loss / num_batches
    print(f"| epoch {epoch:3d} | lr {scheduler.get_last_lr()[0]:02.4f} | "
          f"loss {cur_loss:5.3f} | ppl {math.exp(cur_loss):8.3f}")


def evaluate(eval_data: Tensor) -> float:
    model.eval()
    total_loss = 0.0
    with torch.no_grad():
        for i in range(0, eval_data.size(0) - 1, bptt):
            data, targets = get_batch(eval_data, i)
            seq_len = data.size(0)
            output = model(data)
            output_flat = output.view(-1, ntokens)
            total_loss += seq_len * criterion(output_flat, targets).item()
    return total_loss / (len(eval_data) - 1)


for epoch in range(1, 6):
    train_epoch(epoch)
    val_loss = evaluate(val_data)
    print(f"| end of epoch {epoch:3d} | valid loss {val_loss:5.3f} | "
          f"valid ppl {math.exp(val_loss):8.3f}")
    scheduler.step()

# nn.MultiheadAttention with batch_first, a key padding mask and averaged weights
mha = nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
fill_(mha, 0.45)
q = torch.linspace(-1, 1, 2 * 3 * 8).view(2, 3, 8)
kv = torch.linspace(1, -1, 2 * 4 * 8).view(2, 4, 8)
pad = torch.tensor([[False, False, False, True], [False, False, True, True]])
out, weights = mha(q, kv, kv, key_padding_mask=pad)
print(out.shape, weights.shape, weights[1, 0].round(decimals=4))
out2, w2 = mha(q, kv, kv, need_weights=True, average_attn_weights=False)
print(w2.shape, f"{out2.sum().item():.4f}")
layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True,
                                   activation="gelu")
fill_(layer, 0.2)
print(layer(q).shape, f"{layer(q, is_causal=False).abs().sum().item():.3f}")
dec = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
fill_(dec, 0.3)
print(f"{dec(q, kv).abs().sum().item():.3f}")
