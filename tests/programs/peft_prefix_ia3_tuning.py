"""Prefix-tuning and (IA)^3 on a tiny causal LM, in the style of Li & Liang's prefix-tuning and
HF PEFT: the "pretrained" decoder is frozen; prefix-tuning learns per-layer key/value prefixes
(reparametrized through an MLP) that a hand-written attention concatenates in front of its keys
and values; (IA)^3 learns scaling vectors for keys, values and the feed-forward hidden units,
applied through forward hooks. Both are trained on a new task, compared with
torch.func.functional_call, saved as adapter-only state_dicts and reloaded with strict=False."""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

rng = np.random.default_rng(3)
torch.manual_seed(1)
VOCAB, DIM, HEADS, LAYERS, SEQ = 12, 24, 4, 2, 10
HEAD_DIM = DIM // HEADS


class CausalAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.k_proj = nn.Linear(DIM, DIM, bias=False)
        self.v_proj = nn.Linear(DIM, DIM, bias=False)
        self.q_proj = nn.Linear(DIM, DIM, bias=False)
        self.o_proj = nn.Linear(DIM, DIM)

    def split_heads(self, x):
        b, t, _ = x.shape
        return x.view(b, t, HEADS, HEAD_DIM).permute(0, 2, 1, 3)

    def forward(self, x, prefix=None):
        b, t, _ = x.shape
        q = self.split_heads(self.q_proj(x))
        k = self.split_heads(self.k_proj(x))
        v = self.split_heads(self.v_proj(x))
        mask = torch.ones(t, t, dtype=torch.bool).tril_()
        if prefix is not None:  # (2, heads, P, head_dim): the same learned prefix for the batch
            pk, pv = prefix.unbind(0)
            k = torch.cat([pk.unsqueeze(0).expand(b, -1, -1, -1), k], dim=2)
            v = torch.cat([pv.unsqueeze(0).expand(b, -1, -1, -1), v], dim=2)
            mask = F.pad(mask, (pk.shape[1], 0), value=True)  # every query sees the prefix
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o_proj(out.transpose(1, 2).flatten(2))


class DecoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.RMSNorm(DIM, eps=1e-6)
        self.attn = CausalAttention()
        self.norm2 = nn.RMSNorm(DIM, eps=1e-6)
        self.fc1 = nn.Linear(DIM, 4 * DIM)
        self.fc2 = nn.Linear(4 * DIM, DIM)

    def forward(self, x, prefix=None):
        x = x + self.attn(self.norm1(x), prefix)
        return x + self.fc2(F.silu(self.fc1(self.norm2(x))))


class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, DIM)
        self.pos = nn.Parameter(torch.randn(SEQ, DIM) * 0.02)
        self.layers = nn.ModuleList(DecoderLayer() for _ in range(LAYERS))
        self.norm = nn.RMSNorm(DIM, eps=1e-6)
        self.lm_head = nn.Linear(DIM, VOCAB, bias=False)

    def forward(self, tokens, prefixes=None):
        x = self.tok(tokens) + self.pos[: tokens.shape[1]]
        for i, layer in enumerate(self.layers):
            x = layer(x, None if prefixes is None else prefixes[i])
        return self.lm_head(self.norm(x))


class PrefixEncoder(nn.Module):
    """P virtual tokens -> MLP -> a key and a value prefix for every layer and head."""

    def __init__(self, num_virtual=3, hidden=32):
        super().__init__()
        self.num_virtual = num_virtual
        self.embedding = nn.Embedding(num_virtual, DIM)
        self.mlp = nn.Sequential(nn.Linear(DIM, hidden), nn.Tanh(),
                                 nn.Linear(hidden, LAYERS * 2 * DIM))

    def forward(self):
        idx = torch.arange(self.num_virtual)
        kv = self.mlp(self.embedding(idx))  # (P, layers*2*dim)
        kv = kv.view(self.num_virtual, LAYERS, 2, HEADS, HEAD_DIM)
        return kv.permute(1, 2, 3, 0, 4).contiguous()  # (layers, 2, heads, P, head_dim)


def make_sequences(n, step):
    start = rng.integers(0, VOCAB, size=(n, 1))
    return torch.from_numpy((start + step * np.arange(SEQ)) % VOCAB).long()


def lm_loss(logits, tokens):
    return F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))


@torch.no_grad()
def greedy(model, prompt, steps, **kwargs):
    out = prompt
    for _ in range(steps):
        next_tok = model(out, **kwargs)[:, -1].argmax(-1, keepdim=True)
        out = torch.cat([out, next_tok], dim=1)
    return out


train_a = make_sequences(64, 1)  # task A: count up by one
train_b = make_sequences(64, 3)  # task B: count up by three
model = TinyLM()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(60):
    loss = lm_loss(model(train_a), train_a)
    opt.zero_grad()
    loss.backward()
    opt.step()
model.eval()
print("pretrained: loss A {:.4f} loss B {:.4f}".format(
    loss.item(), lm_loss(model(train_b), train_b).item()))
print("greedy A:", greedy(model, torch.tensor([[4, 5]]), 5).tolist())
model.requires_grad_(False)
base_params = {n: p.detach().clone() for n, p in model.named_parameters()}
print("frozen:", not any(p.requires_grad for p in model.parameters()))

# ---- prefix-tuning ----
prefix_encoder = PrefixEncoder()
print(prefix_encoder)
print("prefix params:", sum(p.numel() for p in prefix_encoder.parameters()),
      "shape:", tuple(prefix_encoder().shape))
opt = torch.optim.AdamW([
    {"params": prefix_encoder.embedding.parameters(), "lr": 3e-2},
    {"params": prefix_encoder.mlp.parameters()},
], lr=1e-2, weight_decay=0.01)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=60, eta_min=1e-3)
for step in range(60):
    loss = lm_loss(model(train_b, prefixes=prefix_encoder()), train_b)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 20 == 0:
        print("prefix step {:2d} loss {:.4f} lr {:.5f}".format(step, loss.item(),
                                                               sched.get_last_lr()[0]))
with torch.no_grad():
    prefixes = prefix_encoder()  # after training the MLP is dropped: keep only the prefixes
print("prefix loss B {:.4f}".format(lm_loss(model(train_b, prefixes=prefixes), train_b).item()))
print("greedy B with prefix:", greedy(model, torch.tensor([[1, 4]]), 5, prefixes=prefixes).tolist())
print("base untouched:", all(torch.equal(p, base_params[n]) for n, p in model.named_parameters()))
print("prefix k[0,0,0]:", ["{:.2f}".format(v) for v in prefixes[0, 0, 0, 0, :3].tolist()])

# ---- (IA)^3: learned rescaling of keys, values and feed-forward activations ----
ia3 = nn.ParameterDict()
for i in range(LAYERS):
    ia3["l{}_k".format(i)] = nn.Parameter(torch.ones(DIM))
    ia3["l{}_v".format(i)] = nn.Parameter(torch.ones(DIM))
    ia3["l{}_ff".format(i)] = nn.Parameter(torch.ones(4 * DIM))


def scale_hook(key):
    def hook(module, inputs, output):
        return output * ia3[key]
    return hook


def gelu_scale_hook(key):  # scale after the activation: wrap fc1's input to fc2
    def hook(module, args):
        return (args[0] * ia3[key],)
    return hook


handles = []
for i, layer in enumerate(model.layers):
    handles.append(layer.attn.k_proj.register_forward_hook(scale_hook("l{}_k".format(i))))
    handles.append(layer.attn.v_proj.register_forward_hook(scale_hook("l{}_v".format(i))))
    handles.append(layer.fc2.register_forward_pre_hook(gelu_scale_hook("l{}_ff".format(i))))
print("ia3 keys:", list(ia3.keys()))
print("ia3 trainable:", sum(p.numel() for p in ia3.parameters()), "hooks:", len(handles))
with torch.no_grad():
    print("ones = identity:", torch.allclose(model(train_b[:4]), functional_call(
        model, base_params, (train_b[:4],)), atol=1e-6))
opt = torch.optim.Adam(ia3.parameters(), lr=5e-2)
for step in range(60):
    loss = lm_loss(model(train_b), train_b)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 20 == 0:
        print("ia3 step {:2d} loss {:.4f}".format(step, loss.item()))
print("ia3 loss B {:.4f}".format(lm_loss(model(train_b), train_b).item()))
print("l0_v scale stats: mean {:.4f} min {:.4f} max {:.4f}".format(
    ia3["l0_v"].mean().item(), ia3["l0_v"].min().item(), ia3["l0_v"].max().item()))
print("greedy B with ia3:", greedy(model, torch.tensor([[1, 4]]), 5).tolist())

# merging IA3 into the frozen weights: a key/value scale multiplies the rows of W,
# a feed-forward scale multiplies fc2's columns; then the hooks can go
with torch.no_grad():
    ref = model(train_b)
    merged_params = dict(base_params)
    for i in range(LAYERS):
        pre = "layers.{}.".format(i)
        merged_params[pre + "attn.k_proj.weight"] = base_params[pre + "attn.k_proj.weight"] * ia3[
            "l{}_k".format(i)].unsqueeze(1)
        merged_params[pre + "attn.v_proj.weight"] = ia3["l{}_v".format(i)][:, None] * base_params[
            pre + "attn.v_proj.weight"]
        merged_params[pre + "fc2.weight"] = base_params[pre + "fc2.weight"].mul(
            ia3["l{}_ff".format(i)])
for h in handles:
    h.remove()
with torch.no_grad():
    merged_out = functional_call(model, merged_params, (train_b,))
    plain_out = model(train_b)
print("merged ia3 matches hooks:", torch.allclose(merged_out, ref, atol=1e-5))
print("hooks removed, base loss B {:.4f}".format(lm_loss(plain_out, train_b).item()))

# ---- adapter-only checkpoints ----
buffer = io.BytesIO()
torch.save({"prefix": prefixes, "ia3": ia3.state_dict()}, buffer)
buffer.seek(0)
ckpt = torch.load(buffer, weights_only=True)
print("checkpoint:", sorted(ckpt), type(ckpt["ia3"]).__name__, len(ckpt["ia3"]))
fresh_ia3 = nn.ParameterDict({k: nn.Parameter(torch.ones_like(v)) for k, v in ia3.items()})
fresh_ia3.register_load_state_dict_post_hook(
    lambda module, keys: print("post hook missing={} unexpected={}".format(
        len(keys.missing_keys), keys.unexpected_keys)))
extra = dict(ckpt["ia3"], l9_k=torch.ones(DIM))
del extra["l1_ff"]
result = fresh_ia3.load_state_dict(extra, strict=False)
print("missing:", result.missing_keys, "unexpected:", result.unexpected_keys)
print("restored l0_k:", torch.equal(fresh_ia3["l0_k"], ia3["l0_k"]),
      "l1_ff still ones:", bool((fresh_ia3["l1_ff"] == 1).all()))
try:
    fresh_ia3.load_state_dict(extra)
except RuntimeError as err:
    print(str(err).replace("\n\t", " | "))
torch.set_printoptions(precision=3)  # 60 Adam steps leave last-bit float differences
print(fresh_ia3["l0_k"][:4])
print(torch.stack([ckpt["ia3"]["l0_k"][:3], ckpt["ia3"]["l1_v"][:3]]))
torch.set_printoptions(precision=2)  # the prefixes are large: fewer places
print(ckpt["prefix"][1, 1, 0].T)
torch.set_printoptions(profile="default")
print(ckpt["prefix"].dtype, ckpt["prefix"].requires_grad, ckpt["prefix"].is_contiguous())
