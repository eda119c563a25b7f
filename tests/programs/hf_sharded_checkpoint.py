"""Saving and loading a model the way transformers' ``save_pretrained`` / ``from_pretrained`` do
it, written out with plain torch: the state dict is split into size-limited shards plus a JSON
index (``weight_map``), tied weights are found by their shared storage
(``untyped_storage().data_ptr()``) and saved once, each shard is written both with
``torch.save`` and in a safetensors-like layout (a little-endian header length, a JSON header of
dtype / shape / byte offsets, then raw bytes from ``tensor.view(torch.uint8)``; read back with
``torch.frombuffer`` and ``.view(dtype)``, bfloat16 included), loading goes through
``torch.load(weights_only=True, mmap=True)`` into a model built on the ``meta`` device and
materialised with ``load_state_dict(assign=True)``, a base checkpoint is loaded into a model with
a new head via ``load_state_dict(strict=False)`` reporting ``missing_keys`` /
``unexpected_keys`` (with the base-model prefix added or stripped), size mismatches are caught,
and ``torch_dtype`` casts follow ``_keep_in_fp32_modules``."""
import json
import os
import struct
import tempfile

import torch
import torch.nn as nn

torch.manual_seed(0)


class Encoder(nn.Module):
    def __init__(self, vocab=50, dim=16, layers=3):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, dim, padding_idx=0)
        self.layers = nn.ModuleList([nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(),
                                                   nn.Linear(2 * dim, dim))
                                     for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)
        self.register_buffer("position_ids", torch.arange(32).expand((1, -1)), persistent=False)

    def forward(self, ids):
        h = self.embed_tokens(ids)
        for layer in self.layers:
            h = h + layer(h)
        return self.norm(h)


class ForMaskedLM(nn.Module):
    base_model_prefix = "model"
    _tied_weights_keys = ["lm_head.weight"]
    _keep_in_fp32_modules = ["norm"]

    def __init__(self, vocab=50, dim=16):
        super().__init__()
        self.model = Encoder(vocab, dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, ids):
        return self.lm_head(self.model(ids))


class ForSequenceClassification(nn.Module):
    base_model_prefix = "model"

    def __init__(self, vocab=50, dim=16, num_labels=3):
        super().__init__()
        self.model = Encoder(vocab, dim)
        self.score = nn.Linear(dim, num_labels)

    def forward(self, ids):
        return self.score(self.model(ids)[:, 0])


def dtype_byte_size(dtype):
    return torch.finfo(dtype).bits // 8 if dtype.is_floating_point else \
        torch.iinfo(dtype).bits // 8


def shard_checkpoint(state_dict, max_shard_size):
    """Greedy split in key order, as the transformers helper does (sizes in bytes)."""
    shards, current, size = [], {}, 0
    for key, tensor in state_dict.items():
        nbytes = tensor.numel() * dtype_byte_size(tensor.dtype)
        if current and size + nbytes > max_shard_size:
            shards.append(current)
            current, size = {}, 0
        current[key] = tensor
        size += nbytes
    shards.append(current)
    if len(shards) == 1:
        return {"pytorch_model.bin": shards[0]}, None
    names = {f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin": s
             for i, s in enumerate(shards)}
    weight_map = {k: name for name, s in names.items() for k in s}
    total = sum(t.numel() * dtype_byte_size(t.dtype) for t in state_dict.values())
    return names, {"metadata": {"total_size": total}, "weight_map": weight_map}


def remove_tied(state_dict):
    """Drop every tensor that shares storage with an earlier one (the tied LM head)."""
    seen, kept, dropped = {}, {}, []
    for key, tensor in state_dict.items():
        ptr = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if ptr in seen:
            dropped.append(key)
            continue
        seen[ptr] = key
        kept[key] = tensor
    return kept, dropped


DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}


def save_safetensors_like(tensors, path):
    header, offset, blobs = {}, 0, []
    for key, t in tensors.items():
        raw = t.detach().contiguous().view(-1).view(torch.uint8).numpy().tobytes()
        header[key] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                       "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    head = json.dumps(header, sort_keys=True).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def load_safetensors_like(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for key, info in header.items():
        start, end = info["data_offsets"]
        flat = torch.frombuffer(data, dtype=torch.uint8, offset=8 + n + start, count=end - start)
        out[key] = flat.view(DTYPES[info["dtype"]]).reshape(info["shape"]).clone()
    return out


model = ForMaskedLM()
with torch.no_grad():
    model.model.norm.weight.add_(torch.randn(16) * 0.1)
ids = torch.randint(1, 50, (2, 7))
ref = model(ids)
sd = model.state_dict()
print("state_dict keys", len(sd), "has position_ids", "model.position_ids" in sd)
sd, dropped = remove_tied(sd)
print("tied keys dropped", dropped)
shards, index = shard_checkpoint(sd, max_shard_size=2500)
print("shards", {name: len(s) for name, s in shards.items()})
print("total size", index["metadata"]["total_size"], "layer 1 lives in",
      index["weight_map"]["model.layers.1.0.weight"])

with tempfile.TemporaryDirectory() as tmp:
    for name, shard in shards.items():
        torch.save(shard, os.path.join(tmp, name))
        save_safetensors_like(shard, os.path.join(tmp, name.replace(".bin", ".safetensors")))
    with open(os.path.join(tmp, "pytorch_model.bin.index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
    print("files", sorted(os.listdir(tmp)))

    # from_pretrained: an empty model on the meta device, filled shard by shard
    with torch.device("meta"):
        loaded = ForMaskedLM()
    print("meta params", loaded.model.norm.weight.is_meta, loaded.model.norm.weight.device)
    with open(os.path.join(tmp, "pytorch_model.bin.index.json")) as f:
        weight_map = json.load(f)["weight_map"]
    full = {}
    for shard_file in sorted(set(weight_map.values())):
        full.update(torch.load(os.path.join(tmp, shard_file), weights_only=True, mmap=True,
                               map_location="cpu"))
    result = loaded.load_state_dict(full, strict=False, assign=True)
    print("missing", result.missing_keys, "unexpected", result.unexpected_keys)
    loaded.lm_head.weight = loaded.model.embed_tokens.weight  # tie_weights()
    # non-persistent buffers are not in the checkpoint: rebuild them off the meta device
    loaded.model.register_buffer("position_ids", torch.arange(32).expand((1, -1)),
                                 persistent=False)
    print("still meta", [n for n, p in loaded.named_parameters() if p.is_meta])
    print("reload matches", torch.equal(loaded(ids), ref),
          "tied", loaded.lm_head.weight is loaded.model.embed_tokens.weight)

    st = {}
    for name in shards:
        st.update(load_safetensors_like(os.path.join(tmp, name.replace(".bin", ".safetensors"))))
    print("safetensors-like equal", all(torch.equal(st[k], sd[k]) for k in sd))

    # torch_dtype=torch.bfloat16, keeping the norm in float32
    half_sd = {k: (v if any(m in k for m in ForMaskedLM._keep_in_fp32_modules)
                   else v.to(torch.bfloat16)) for k, v in sd.items()}
    save_safetensors_like(half_sd, os.path.join(tmp, "bf16.safetensors"))
    bf = load_safetensors_like(os.path.join(tmp, "bf16.safetensors"))
    print("bf16 dtypes", sorted({str(v.dtype) for v in bf.values()}),
          "norm", bf["model.norm.weight"].dtype)
    print("bf16 bytes", os.path.getsize(os.path.join(tmp, "bf16.safetensors")) -
          os.path.getsize(os.path.join(tmp, shards and next(iter(shards)).replace(
              ".bin", ".safetensors"))) > 0)
    bf_model = ForMaskedLM().to(torch.bfloat16)
    bf_model.model.norm.float()
    bf_model.load_state_dict(bf, strict=False)
    with torch.no_grad():
        h = bf_model.model.embed_tokens(ids)
        for layer in bf_model.model.layers:
            h = h + layer(h)
        out = bf_model.lm_head(bf_model.model.norm(h.float()).to(torch.bfloat16))
    print("bf16 max err", round((out.float() - ref).abs().max().item(), 1),
          "first logits", [round(v, 1) for v in out[0, 0, :4].float().tolist()])

    # a checkpoint of the bare encoder ("model." prefix absent) loaded into the classifier
    base = {k.removeprefix("model."): v for k, v in sd.items() if k.startswith("model.")}
    clf = ForSequenceClassification()
    expected = set(clf.state_dict())
    prefix = ForSequenceClassification.base_model_prefix + "."
    loaded_keys = set(base)
    if not any(k.startswith(prefix) for k in loaded_keys):
        base = {prefix + k: v for k, v in base.items()}
    base["model.pooler.dense.weight"] = torch.zeros(16, 16)  # from another architecture
    res = clf.load_state_dict(base, strict=False)
    print("missing", sorted(res.missing_keys), "unexpected", res.unexpected_keys,
          "covered", len(expected) - len(res.missing_keys))
    print("encoder loaded", torch.equal(clf.model.norm.weight, model.model.norm.weight))
    try:
        clf.load_state_dict({"score.weight": torch.zeros(5, 16)}, strict=False)
    except RuntimeError as e:
        lines = str(e).splitlines()
        print("size mismatch:", lines[0])
        print(lines[1].strip())
    # ignore_mismatched_sizes: drop them first, then report
    new = {"score.weight": torch.zeros(5, 16), "score.bias": torch.zeros(3)}
    own = clf.state_dict()
    mismatched = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in new.items()
                  if k in own and v.shape != own[k].shape]
    for k, *_ in mismatched:
        del new[k]
    res = clf.load_state_dict(new, strict=False)
    print("mismatched", mismatched, "missing now", len(res.missing_keys))
    torch.save({"model": clf.state_dict(), "config": {"num_labels": 3}},
               os.path.join(tmp, "ckpt.pt"))
    ck = torch.load(os.path.join(tmp, "ckpt.pt"), weights_only=True)
    print("checkpoint", sorted(ck), ck["config"], "score.bias zero",
          bool((ck["model"]["score.bias"] == 0).all()))
    with torch.no_grad():
        print("classifier logits", [round(v, 4) for v in clf(ids)[0].tolist()])
