"""Causal tracing in a small transformer, after the ROME / TransformerLens / "attribution
patching" reference code: a two-layer pre-norm ``nn.TransformerEncoderLayer`` model learns to
recall the token that followed a key earlier in the sequence. Forward hooks cache every
layer's residual stream; the logit lens decodes each one through the final norm and unembed;
hooks that *return* a replacement patch clean activations into a corrupted run, position by
position and layer by layer; a ``register_forward_pre_hook(with_kwargs=True)`` flips the
attention's ``need_weights``/``average_attn_weights`` to read per-head patterns and another
swaps its query or keys/values for clean ones; attribution patching uses the gradient of
the logit difference (``Tensor.register_hook``, ``retain_grad``) as a linear approximation and
is compared with the real patching effects. Everything runs in float64 (the default dtype).
All hook handles are removed at the end."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)  # exact patching effects, as TransformerLens allows
torch.manual_seed(0)
rng = np.random.default_rng(0)
N_KEYS, N_VALS, D, SEQ = 6, 6, 32, 7
VOCAB = N_KEYS + N_VALS + 1
QUERY = VOCAB - 1


def make_batch(n):
    """k1 v1 k2 v2 k3 v3 [query-key] -> value paired with that key."""
    keys = np.stack([rng.permutation(N_KEYS)[:3] for _ in range(n)])
    vals = rng.integers(0, N_VALS, size=(n, 3)) + N_KEYS
    pick = rng.integers(0, 3, size=n)
    seq = np.zeros((n, SEQ), dtype=np.int64)
    seq[:, 0:6:2], seq[:, 1:6:2] = keys, vals
    seq[:, 6] = keys[np.arange(n), pick]
    return torch.from_numpy(seq), torch.from_numpy(vals[np.arange(n), pick] - N_KEYS)


class Recall(nn.Module):
    def __init__(self, n_layers=2):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D)
        self.pos = nn.Embedding(SEQ, D)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(D, 4, 4 * D, dropout=0.0, batch_first=True,
                                       norm_first=True) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(D)
        self.unembed = nn.Linear(D, N_VALS, bias=False)

    def forward(self, x):
        h = self.embed(x) + self.pos(torch.arange(x.shape[1]))
        for layer in self.layers:
            h = layer(h)
        return self.unembed(self.ln_f(h[:, -1]))


model = Recall()
opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.5e-2, total_steps=240)
for step in range(240):
    x, y = make_batch(128)
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 40 == 39:
        print(f"step {step + 1} loss {loss.item():.4f}")
model.eval()
x_test, y_test = make_batch(256)
with torch.no_grad():
    acc = (model(x_test).argmax(-1) == y_test).float().mean().item()
print(f"test acc {acc:.4f}")

# clean / corrupted pairs: the query asks for a different key, so the answer changes
clean, answer = make_batch(64)
corrupt = clean.clone()
other = torch.where(clean[:, 6] == clean[:, 0], clean[:, 2], clean[:, 0])
corrupt[:, 6] = other
wrong = torch.where(other == clean[:, 0], clean[:, 1], torch.where(other == clean[:, 2],
                                                                   clean[:, 3], clean[:, 5]))
wrong = wrong - N_KEYS
print("answers differ", (wrong != answer).float().mean().item())


def fmt(values):
    return [f"{round(v, 3) + 0.0:.3f}" for v in values]


def logit_diff(logits):
    return (logits.gather(1, answer[:, None]) - logits.gather(1, wrong[:, None])).mean()


class ResidCache:
    """Forward hooks on the embedding sum and every layer store the residual stream."""

    def __init__(self, model):
        self.store, self.handles = {}, []
        for i, layer in enumerate(model.layers):
            self.handles.append(layer.register_forward_hook(self.saver(f"layer{i}")))

    def saver(self, name):
        def hook(module, inputs, output):
            self.store[name] = output
            self.store[name + ".in"] = inputs[0]
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


cache = ResidCache(model)
with torch.no_grad():
    clean_logits = model(clean)
    clean_store = {k: v.clone() for k, v in cache.store.items()}
    corrupt_logits = model(corrupt)
cache.remove()
clean_ld, corrupt_ld = logit_diff(clean_logits).item(), logit_diff(corrupt_logits).item()
print(f"logit diff clean {clean_ld:.4f} corrupt {corrupt_ld:.4f}")

# logit lens: decode the residual stream at the last position after each layer
for name in ["layer0.in", "layer0", "layer1"]:
    resid = clean_store[name][:, -1]
    with torch.no_grad():
        lens = model.unembed(model.ln_f(resid))
    probs = lens.softmax(-1).gather(1, answer[:, None]).squeeze(1)
    top = (lens.argmax(-1) == answer).float().mean()
    print(f"logit lens {name:9s} p(answer) {probs.mean().item():.4f} top1 {top.item():.4f}")

# activation patching of the residual stream, one (layer, position) at a time
effects = torch.zeros(len(model.layers), SEQ)
for li, layer in enumerate(model.layers):
    for pos in range(SEQ):
        def patch(module, inputs, output, pos=pos, li=li):
            patched = output.clone()
            patched[:, pos] = clean_store[f"layer{li}"][:, pos]
            return patched

        h = layer.register_forward_hook(patch)
        with torch.no_grad():
            ld = logit_diff(model(corrupt)).item()
        h.remove()
        effects[li, pos] = (ld - corrupt_ld) / (clean_ld - corrupt_ld)
print("residual patching (normalised)")
for li in range(len(model.layers)):
    print(f"  layer {li}", fmt(effects[li].tolist()))

# per-head attention patterns through a kwargs pre-hook on self_attn
patterns = {}


def want_weights(module, args, kwargs):
    kwargs = dict(kwargs, need_weights=True, average_attn_weights=False)
    return args, kwargs


def keep_pattern(name):
    def hook(module, args, kwargs, output):
        patterns[name] = output[1].detach()
    return hook


handles = []
for i, layer in enumerate(model.layers):
    handles.append(layer.self_attn.register_forward_pre_hook(want_weights, with_kwargs=True))
    handles.append(layer.self_attn.register_forward_hook(keep_pattern(f"attn{i}"),
                                                         with_kwargs=True))
with torch.no_grad():
    out_with_hooks = model(clean)
print("hooked output unchanged", torch.allclose(out_with_hooks, clean_logits, atol=1e-5))
for h in handles:
    h.remove()
for name, pat in patterns.items():
    last = pat[:, :, -1].mean(0)  # (heads, keys): where the query position looks
    print(name, tuple(pat.shape), "query row argmax per head", last.argmax(-1).tolist())
    print("   value-token attention per head",
          [f"{v:.3f}" for v in last[:, 1:6:2].sum(-1).tolist()])
attn1 = patterns["attn1"][:, :, -1]
correct_val_pos = (clean[:, 0:6:2] == clean[:, 6:7]).long().argmax(1) * 2 + 1
hit = attn1.argmax(-1) == correct_val_pos[:, None]
print("layer1 heads attending to the recalled value", hit.float().mean(0).tolist())

# query / key-value patching: a kwargs pre-hook swaps the attention's inputs for clean ones
def qkv_effect(li, which):
    layer = model.layers[li]
    clean_in = layer.norm1(clean_store[f"layer{li}.in"])

    def pre(module, args, kwargs):
        q, k, v = args
        if which == "q":
            q = clean_in
        else:
            k, v = clean_in, clean_in
        assert kwargs["need_weights"] is False
        return (q, k, v), kwargs

    h = layer.self_attn.register_forward_pre_hook(pre, with_kwargs=True)
    with torch.no_grad():
        ld = logit_diff(model(corrupt)).item()
    h.remove()
    return (ld - corrupt_ld) / (clean_ld - corrupt_ld)


for li in range(len(model.layers)):
    print(f"layer {li} query patching {qkv_effect(li, 'q'):.3f}",
          f"key/value patching {qkv_effect(li, 'kv'):.3f}")

# attribution patching: one forward + backward on the corrupted run
grads, acts = {}, {}


def grab(name):
    def hook(module, inputs, output):
        acts[name] = output
        output.register_hook(lambda g: grads.__setitem__(name, g))
    return hook


handles = [layer.register_forward_hook(grab(f"layer{i}"))
           for i, layer in enumerate(model.layers)]
emb = model.embed(corrupt)
emb.retain_grad()
metric = logit_diff(model.unembed(model.ln_f(
    model.layers[1](model.layers[0](emb + model.pos(torch.arange(SEQ))))[:, -1])))
metric.backward()
for h in handles:
    h.remove()
print("metric", f"{metric.item():.4f}", "grad names", sorted(grads), "emb grad",
      tuple(emb.grad.shape), emb.is_leaf, emb.grad_fn.name())
approx = torch.zeros(len(model.layers), SEQ)
for li in range(len(model.layers)):
    delta = clean_store[f"layer{li}"] - acts[f"layer{li}"].detach()
    approx[li] = torch.einsum("bpd,bpd->p", delta, grads[f"layer{li}"])
approx = approx / (clean_ld - corrupt_ld)
for li in range(len(model.layers)):
    print(f"  attribution layer {li}", fmt(approx[li].tolist()))
r = torch.corrcoef(torch.stack([approx.flatten(), effects.flatten()]))[0, 1]
print(f"attribution vs patching corr {r.item():.4f}")
top = effects.flatten().topk(3)
print("top patched sites", [divmod(i, SEQ) for i in top.indices.tolist()])
print("hooks left", sum(len(m._forward_hooks) + len(m._forward_pre_hooks)
                        for m in model.modules()))
