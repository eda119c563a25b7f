"""Supervised fine-tuning recipe of a tiny Llama-style LM, as in torchtune / nanoGPT / HF
Trainer: RMSNorm, SwiGLU, rotary embeddings, grouped-query attention with
F.scaled_dot_product_attention(enable_gqa=True), tied embeddings; sequence packing through a
DataLoader collate_fn with per-document position ids and a block-diagonal causal mask; prompt
tokens masked out of the loss with ignore_index; gradient accumulation with the loss scaled by
the token count of the whole accumulated batch (checked against one big batch); AdamW with
no-decay parameter groups, linear-warmup + cosine LambdaLR, clip_grad_norm_, label smoothing
and a z-loss, activation checkpointing, an EMA copy with swa_utils.AveragedModel evaluated
through torch.func.functional_call, bfloat16 autocast, and a state_dict round trip."""
import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.checkpoint import checkpoint
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
V, PAD, BOS, SEP, EOS = 20, 0, 1, 2, 3
D, N_HEAD, N_KV, PACK = 32, 4, 2, 32
IGNORE = -100


class RotaryEmbedding(nn.Module):
    def __init__(self, dim, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, position_ids):                                # (B, T) -> cos, sin
        freqs = position_ids[..., None].float() * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[:, None], emb.sin()[:, None]


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.hd = D // N_HEAD
        self.q_proj = nn.Linear(D, N_HEAD * self.hd, bias=False)
        self.kv_proj = nn.Linear(D, 2 * N_KV * self.hd, bias=False)
        self.o_proj = nn.Linear(D, D, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, N_HEAD, self.hd).transpose(1, 2)
        k, v = self.kv_proj(x).view(B, T, 2, N_KV, self.hd).permute(2, 0, 3, 1, 4)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, D))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn_norm = nn.RMSNorm(D, eps=1e-6)
        self.attn = Attention()
        self.mlp_norm = nn.RMSNorm(D, eps=1e-6)
        self.gate_up = nn.Linear(D, 2 * 48, bias=False)
        self.down = nn.Linear(48, D, bias=False)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.attn_norm(x), cos, sin, mask)
        gate, up = self.gate_up(self.mlp_norm(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(gate) * up)


class TinyLlama(nn.Module):
    def __init__(self, n_layer=2, use_checkpoint=False):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.rope = RotaryEmbedding(D // N_HEAD)
        self.layers = nn.ModuleList(Block() for _ in range(n_layer))
        self.norm = nn.RMSNorm(D, eps=1e-6)
        self.lm_head = nn.Linear(D, V, bias=False)
        self.lm_head.weight = self.embed.weight
        self.use_checkpoint = use_checkpoint
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.trunc_normal_(p, std=0.05, a=-0.1, b=0.1)

    def forward(self, ids, position_ids, doc_ids):
        T = ids.size(1)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        same_doc = doc_ids[:, :, None] == doc_ids[:, None, :]
        mask = (causal & same_doc)[:, None]                          # B, 1, T, T
        cos, sin = self.rope(position_ids)
        x = self.embed(ids)
        for layer in self.layers:
            if self.use_checkpoint and self.training:
                x = checkpoint(layer, x, cos, sin, mask, use_reentrant=False)
            else:
                x = layer(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


class InstructionData(Dataset):
    """prompt: BOS a b c SEP ; response: the prompt tokens reversed, then EOS."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.items = []
        for _ in range(n):
            L = int(torch.randint(2, 6, (1,), generator=g))
            toks = torch.randint(4, V, (L,), generator=g)
            prompt = torch.cat([torch.tensor([BOS]), toks, torch.tensor([SEP])])
            response = torch.cat([toks.flip(0), torch.tensor([EOS])])
            self.items.append((prompt, response))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def pack_collate(batch):
    """Greedy packing into rows of PACK tokens; labels ignore prompts and padding."""
    rows, row = [], []
    for prompt, response in batch:
        if sum(len(p) + len(r) for p, r in row) + len(prompt) + len(response) > PACK:
            rows.append(row)
            row = []
        row.append((prompt, response))
    rows.append(row)
    ids, labels, pos, docs = [], [], [], []
    for row in rows:
        seq = torch.cat([torch.cat([p, r]) for p, r in row])
        lab = torch.cat([torch.cat([torch.full((len(p) - 1,), IGNORE), r, torch.tensor([IGNORE])])
                         for p, r in row])
        position = torch.cat([torch.arange(len(p) + len(r)) for p, r in row])
        doc = torch.cat([torch.full((len(p) + len(r),), j) for j, (p, r) in enumerate(row)])
        pad = PACK - len(seq)
        ids.append(F.pad(seq, (0, pad), value=PAD))
        labels.append(F.pad(lab, (0, pad), value=IGNORE))
        pos.append(F.pad(position, (0, pad)))
        docs.append(F.pad(doc, (0, pad), value=-1))
    return torch.stack(ids), torch.stack(labels), torch.stack(pos), torch.stack(docs)


def token_loss_sum(model, batch, label_smoothing=0.0, z_coef=0.0):
    ids, labels, pos, docs = batch
    logits = model(ids, pos, docs)
    flat, target = logits.view(-1, V), labels.view(-1)
    ce = F.cross_entropy(flat, target, ignore_index=IGNORE, reduction="sum",
                         label_smoothing=label_smoothing)
    valid = target != IGNORE
    z = torch.logsumexp(flat[valid], dim=-1).pow(2).sum()
    return ce + z_coef * z, valid.sum()


train = InstructionData(96, seed=1)
val = InstructionData(24, seed=2)
collate_probe = pack_collate([train[i] for i in range(6)])
print("packed", [tuple(t.shape) for t in collate_probe])
print("row0 ids", collate_probe[0][0].tolist())
print("row0 lab", collate_probe[1][0].tolist())
print("row0 pos", collate_probe[2][0].tolist())

# --- gradient accumulation equals one big batch when the loss is scaled by total tokens ----
model = TinyLlama()
big = pack_collate([train[i] for i in range(12)])
loss_sum, n_tok = token_loss_sum(model, big)
(loss_sum / n_tok).backward()
ref_grads = [p.grad.clone() for p in model.parameters()]
model.zero_grad()
micro = [pack_collate([train[i] for i in range(j, j + 4)]) for j in (0, 4, 8)]
total_tokens = sum((m[1] != IGNORE).sum() for m in micro)
for m in micro:
    s, _ = token_loss_sum(model, m)
    (s / total_tokens).backward()
max_diff = max((a - p.grad).abs().max().item() for a, p in zip(ref_grads, model.parameters()))
print(f"accum tokens {total_tokens.item()} big-batch loss {(loss_sum / n_tok).item():.4f} "
      f"grads match {max_diff < 1e-5}")

# --- training ------------------------------------------------------------------------------
model = TinyLlama(use_checkpoint=True)
decay, no_decay = [], []
for name, p in model.named_parameters():
    (decay if p.dim() >= 2 and "norm" not in name else no_decay).append(p)
print("param groups", len(decay), len(no_decay),
      "params", sum(p.numel() for p in model.parameters()))
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                         {"params": no_decay, "weight_decay": 0.0}], lr=5e-3, betas=(0.9, 0.95))
ACCUM, EPOCHS, MICRO = 2, 6, 8
steps_per_epoch = math.ceil(len(train) / MICRO / ACCUM)
total_steps, warmup = EPOCHS * steps_per_epoch, 3


def lr_lambda(step):
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
loader = DataLoader(train, batch_size=MICRO, shuffle=True, collate_fn=pack_collate,
                    generator=torch.Generator().manual_seed(3))
val_batch = pack_collate(list(val))


def evaluate(params_and_buffers=None):
    model.eval()
    with torch.no_grad():
        if params_and_buffers is None:
            s, n = token_loss_sum(model, val_batch)
        else:
            ids, labels, pos, docs = val_batch
            logits = functional_call(model, params_and_buffers, (ids, pos, docs))
            s = F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=IGNORE,
                                reduction="sum")
            n = (labels != IGNORE).sum()
    model.train()
    return (s / n).item()


step = 0
for epoch in range(EPOCHS):
    micro_batches = list(loader)
    log = []
    for i in range(0, len(micro_batches), ACCUM):
        group = micro_batches[i:i + ACCUM]
        n_tokens = sum((b[1] != IGNORE).sum() for b in group)
        for b in group:
            s, _ = token_loss_sum(model, b, label_smoothing=0.05, z_coef=1e-3)
            (s / n_tokens).backward()
        gnorm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0, foreach=True)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sched.step()
        ema.update_parameters(model)
        step += 1
        log.append(gnorm.item())
    val_loss = evaluate()
    print(f"epoch {epoch} step {step} lr {sched.get_last_lr()[0]:.5f} "
          f"gnorm {sum(log) / len(log):.4f} val {val_loss:.3f} ppl {math.exp(val_loss):.2f}")

ema_state = {**dict(ema.module.named_parameters()), **dict(ema.module.named_buffers())}
print(f"ema updates {ema.n_averaged.item()} ema val {evaluate(ema_state):.3f} "
      f"live val {evaluate():.3f}")

# --- inference: greedy completion of a prompt, autocast, checkpoint round trip -------------
model.eval()


@torch.no_grad()
def complete(m, toks, max_new=8):
    ids = torch.tensor([[BOS] + toks + [SEP]])
    for _ in range(max_new):
        T = ids.size(1)
        logits = m(ids, torch.arange(T)[None], torch.zeros(1, T, dtype=torch.long))
        nxt = logits[0, -1].argmax()
        ids = torch.cat([ids, nxt.view(1, 1)], dim=1)
        if nxt.item() == EOS:
            break
    return ids[0, len(toks) + 2:].tolist()


for toks in ([5, 9, 12], [17, 4, 8, 11], [6, 6, 19]):
    print("prompt", toks, "->", complete(model, toks))

ids, labels, pos, docs = val_batch
with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
    logits_bf16 = model(ids, pos, docs)
    print("autocast dtype", logits_bf16.dtype, torch.is_autocast_enabled("cpu"))
with torch.no_grad():
    logits_fp32 = model(ids, pos, docs)
agree = (logits_bf16.argmax(-1) == logits_fp32.argmax(-1))[labels != IGNORE].float().mean()
print(f"bf16 argmax agreement {agree.item():.2f}")

buf = io.BytesIO()
torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "step": step}, buf)
buf.seek(0)
ckpt = torch.load(buf, weights_only=True)
fresh = TinyLlama()
missing = fresh.load_state_dict(ckpt["model"])
fresh.eval()
print("reload", missing, "step", ckpt["step"], "keys", len(ckpt["model"]),
      "tied after load", fresh.lm_head.weight is fresh.embed.weight,
      "same", torch.equal(fresh(ids, pos, docs), logits_fp32))
print("optim state", len(ckpt["optim"]["state"]),
      [g["weight_decay"] for g in ckpt["optim"]["param_groups"]])
