"""LoRA in the style of HF PEFT / loralib: a "pretrained" tiny transformer classifier is frozen,
then every targeted nn.Linear child (q_proj, v_proj, fc1) is replaced in its parent by a
LoRALinear that wraps it (named_modules, get_submodule, setattr). Only the adapters train, with
LoRA+-style param groups (lora_B gets a larger lr). The adapter is merged into the base weight
and unmerged under torch.no_grad, only the adapter's state_dict is saved, and a fresh model loads
it with strict=False (printing missing and unexpected keys)."""
import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(21)
torch.manual_seed(0)


class SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x, pad_mask):
        b, t, d = x.shape
        q, k, v = (proj(x).view(b, t, self.heads, d // self.heads).transpose(1, 2)
                   for proj in (self.q_proj, self.k_proj, self.v_proj))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        scores = scores.masked_fill(pad_mask[:, None, None, :], float("-inf"))
        ctx = scores.softmax(dim=-1) @ v
        return self.out_proj(ctx.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 2 * dim)
        self.fc2 = nn.Linear(2 * dim, dim)

    def forward(self, x, pad_mask):
        x = x + self.attn(self.ln1(x), pad_mask)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class Classifier(nn.Module):
    def __init__(self, vocab=30, dim=16, heads=2, depth=2, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens):
        pad_mask = tokens.eq(0)
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, pad_mask)
        keep = (~pad_mask).unsqueeze(-1).to(x.dtype)
        pooled = (x * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        return self.head(pooled)


class LoRALinear(nn.Module):
    """Wraps a frozen nn.Linear: y = base(x) + dropout(x) @ A^T @ B^T * alpha / r."""

    def __init__(self, base, r=4, alpha=8, dropout=0.0):
        super().__init__()
        self.base = base
        self.r = r
        self.scaling = alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def delta_weight(self):
        return (self.lora_B @ self.lora_A) * self.scaling

    def forward(self, x):
        out = self.base(x)
        if self.merged:
            return out
        low_rank = F.linear(F.linear(self.lora_dropout(x), self.lora_A), self.lora_B)
        return out + low_rank * self.scaling

    @torch.no_grad()
    def merge(self):
        if not self.merged:
            self.base.weight.data += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self):
        if self.merged:
            self.base.weight.data.sub_(self.delta_weight())
            self.merged = False

    def extra_repr(self):
        return "r={}, scaling={}, merged={}".format(self.r, self.scaling, self.merged)


def inject_lora(model, target_names, **kwargs):
    targets = [name for name, module in model.named_modules()
               if isinstance(module, nn.Linear) and name.split(".")[-1] in target_names]
    for name in targets:
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child_name, LoRALinear(getattr(parent, child_name), **kwargs))
    return targets


def print_trainable_parameters(model):
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    print("trainable params: {:,d} || all params: {:,d} || trainable%: {:.4f}".format(
        trainable, total, 100 * trainable / total))


def make_batch(n, label_fn):
    lengths = rng.integers(4, 9, size=n)
    tokens = np.zeros((n, 8), dtype=np.int64)
    for i, length in enumerate(lengths):
        tokens[i, :length] = rng.integers(1, 30, size=length)
    return torch.from_numpy(tokens), torch.tensor([label_fn(row) for row in tokens])


def task_a(row):
    return int(row[row > 0].sum()) % 3


def task_b(row):
    return int((row[row > 0] > 15).sum()) % 3


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        acc = (model(x).argmax(-1) == y).float().mean().item()
    model.train()
    return acc


XA, YA = make_batch(96, task_a)
XB, YB = make_batch(96, task_b)

# "pretraining" on task A, all parameters trainable
model = Classifier()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
for step in range(60):
    loss = F.cross_entropy(model(XA), YA)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
print("pretrain loss {:.4f} acc A {:.3f}".format(loss.item(), accuracy(model, XA, YA)))
base_state = {k: v.clone() for k, v in model.state_dict().items()}
model.eval()
with torch.no_grad():
    before = model(XB[:8])

# freeze and inject
model.requires_grad_(False)
targets = inject_lora(model, {"q_proj", "v_proj", "fc1"}, r=4, alpha=8, dropout=0.1)
print("targets:", targets)
print(model.blocks[0].attn)
print_trainable_parameters(model)
for name, p in model.named_parameters():
    if p.requires_grad:
        print("  trainable", name, tuple(p.shape))
        break
model.head.requires_grad_(True)  # the classifier head is trained fully, as modules_to_save
print_trainable_parameters(model)
model.eval()
with torch.no_grad():
    print("B = 0 at init so outputs unchanged:", torch.equal(model(XB[:8]), before))
model.train()

# LoRA+: lora_B learns 8x faster than lora_A; the head is its own group with weight decay
groups = [
    {"params": [p for n, p in model.named_parameters() if "lora_A" in n], "lr": 2e-3},
    {"params": [p for n, p in model.named_parameters() if "lora_B" in n], "lr": 1.6e-2},
    {"params": list(model.head.parameters()), "lr": 5e-3, "weight_decay": 0.1},
]
opt = torch.optim.AdamW(groups, weight_decay=0.0)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 10))
print("groups:", [(len(g["params"]), g["lr"], g["weight_decay"]) for g in opt.param_groups])
for step in range(80):
    loss = F.cross_entropy(model(XB), YB, label_smoothing=0.05)
    opt.zero_grad()
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(
        [p for p in model.parameters() if p.requires_grad], max_norm=1.0)
    opt.step()
    sched.step()
    if step % 20 == 0:
        print("step {:2d} loss {:.4f} grad-norm {:.4f} lrs {}".format(
            step, loss.item(), grad_norm.item(), ["%.4g" % lr for lr in sched.get_last_lr()]))
print("after LoRA acc A {:.3f} acc B {:.3f}".format(accuracy(model, XA, YA),
                                                    accuracy(model, XB, YB)))
frozen_ok = all(torch.equal(model.state_dict()[k.replace("q_proj.", "q_proj.base.")], v)
                for k, v in base_state.items() if "q_proj.weight" in k)
print("frozen q_proj weights untouched:", frozen_ok)

# merge / unmerge
model.eval()
lora_layers = [m for m in model.modules() if isinstance(m, LoRALinear)]
with torch.no_grad():
    ref = model(XB)
    for m in lora_layers:
        m.merge()
    merged = model(XB)
    print("merged max diff below 1e-5:", (merged - ref).abs().max().item() < 1e-5)
    print("merged close:", torch.allclose(merged, ref, atol=1e-5), "|", lora_layers[0])
    for m in lora_layers:
        m.unmerge()
    w = model.blocks[1].fc1.base.weight
    print("unmerged weight matches pretrained:",
          torch.allclose(w, base_state["blocks.1.fc1.weight"], atol=1e-6))
    print("delta rank:", torch.linalg.matrix_rank(lora_layers[0].delta_weight()).item(),
          "norm {:.4f}".format(torch.linalg.norm(lora_layers[0].delta_weight()).item()))

# save only the adapter (plus the head), then load into a freshly injected copy
adapter_state = {k: v for k, v in model.state_dict().items()
                 if "lora_" in k or k.startswith("head.")}
buffer = io.BytesIO()
torch.save(adapter_state, buffer)
print("adapter tensors: {} values: {}".format(len(adapter_state),
                                               sum(v.numel() for v in adapter_state.values())))
buffer.seek(0)
loaded = torch.load(buffer, weights_only=True)
fresh = Classifier()
fresh.load_state_dict(base_state)
inject_lora(fresh, {"q_proj", "v_proj", "fc1"}, r=4, alpha=8, dropout=0.1)
result = fresh.load_state_dict(loaded, strict=False)
print("missing:", len(result.missing_keys), result.missing_keys[:3])
print("unexpected:", result.unexpected_keys)
fresh.eval()
with torch.no_grad():
    print("reloaded matches:", torch.allclose(fresh(XB), ref, atol=1e-6))
    print(fresh(XB[:2]).softmax(-1))

# an adapter of the wrong rank is rejected, naming the size mismatch
bad = dict(loaded)
bad["blocks.0.attn.q_proj.lora_A"] = torch.zeros(8, 16)
try:
    fresh.load_state_dict(bad, strict=False)
except RuntimeError as err:
    print("RuntimeError:", str(err).splitlines()[0])
    print(str(err).splitlines()[1].strip())
result = fresh.load_state_dict({"blocks.0.attn.q_proj.lora_C": torch.zeros(1)}, strict=False)
print(result.unexpected_keys, len(result.missing_keys))
print(repr(result)[:60])
try:
    fresh.get_submodule("blocks.0.attn.q_proj.lora_C")
except AttributeError as err:
    print("AttributeError:", err)
try:
    fresh.get_parameter("blocks.0.attn.q_proj.lora_dropout")
except AttributeError as err:
    print("AttributeError:", err)
print(fresh.get_parameter("blocks.1.fc1.lora_B").shape,
      type(fresh.get_submodule("blocks.1.fc1.base")).__name__)
for name, p in fresh.named_parameters():
    p.requires_grad_("lora_" in name)
vec = nn.utils.parameters_to_vector([p for p in fresh.parameters() if p.requires_grad])
print("adapter vector", vec.shape, "{:.4f}".format(vec.norm().item()))
kept = fresh.state_dict(keep_vars=True)
print(type(kept["head.weight"]).__name__, kept["head.weight"].requires_grad,
      kept["blocks.0.fc1.base.weight"].requires_grad)
print([n for n, _ in fresh.blocks[0].named_modules(prefix="blocks.0") if "lora" in n])
