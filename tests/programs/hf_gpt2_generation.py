"""A GPT-2-style language model written the way Hugging Face transformers' ``modeling_gpt2.py``
writes it, run with plain torch: the ``Conv1D`` layer (weight stored transposed, applied with
``torch.addmm(bias, x.view(-1, nx), weight)``), a ``PreTrainedModel``-like base with
``_init_weights`` applied through ``self.apply`` and a ``post_init`` that ties the LM head to the
input embeddings (``get_input_embeddings`` / ``set_output_embeddings``), position ids kept in a
non-persistent buffer, a ``ModelOutput``-like OrderedDict subclass returned from ``forward``
(attribute access, integer indexing, ``to_tuple()``), ``past_key_values`` tuples for incremental
decoding, and the generation loops of ``generate()``: greedy search, and sampling with a
repetition penalty (``gather``/``scatter_``), top-k and top-p filtering (``torch.sort``,
``cumsum``, ``scatter`` back), ``torch.multinomial`` and ``unfinished_sequences`` masks that stop
on the eos token."""
import math
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class ModelOutput(OrderedDict):
    """Like transformers.utils.ModelOutput: a dataclass whose non-None fields are also dict
    entries, so ``out.logits``, ``out["logits"]`` and ``out[0]`` all work."""

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                self[f.name] = value

    def __getitem__(self, k):
        if isinstance(k, str):
            return dict(self.items())[k]
        return self.to_tuple()[k]

    def __setattr__(self, name, value):
        if name in self.keys() and value is not None:
            super().__setitem__(name, value)
        super().__setattr__(name, value)

    def to_tuple(self):
        return tuple(self[k] for k in self.keys())


@dataclass
class CausalLMOutputWithPast(ModelOutput):
    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor = None
    past_key_values: Tuple[Tuple[torch.FloatTensor]] | None = None
    hidden_states: Tuple[torch.FloatTensor] | None = None


class Config:
    vocab_size = 40
    n_positions = 32
    n_embd = 32
    n_layer = 2
    n_head = 4
    layer_norm_epsilon = 1e-5
    initializer_range = 0.02
    eos_token_id = 3


class Conv1D(nn.Module):
    """A linear layer whose weight is stored (in_features, out_features), as in GPT-2."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class GPT2Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        max_positions = config.n_positions
        self.register_buffer(
            "bias",
            torch.tril(torch.ones((max_positions, max_positions), dtype=torch.bool)).view(
                1, 1, max_positions, max_positions),
            persistent=False,
        )
        self.register_buffer("masked_bias", torch.tensor(-1e4), persistent=False)
        self.embed_dim = config.n_embd
        self.num_heads = config.n_head
        self.head_dim = self.embed_dim // self.num_heads
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)

    def _split_heads(self, tensor):
        new_shape = tensor.size()[:-1] + (self.num_heads, self.head_dim)
        return tensor.view(new_shape).permute(0, 2, 1, 3)

    def _merge_heads(self, tensor):
        tensor = tensor.permute(0, 2, 1, 3).contiguous()
        return tensor.view(tensor.size()[:-2] + (self.num_heads * self.head_dim,))

    def _attn(self, query, key, value, attention_mask=None):
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        attn_weights = attn_weights / torch.full(
            [], value.size(-1) ** 0.5, dtype=attn_weights.dtype, device=attn_weights.device)
        query_length, key_length = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length:key_length, :key_length]
        mask_value = torch.finfo(attn_weights.dtype).min
        mask_value = torch.full([], mask_value, dtype=attn_weights.dtype)
        attn_weights = torch.where(causal_mask, attn_weights.to(attn_weights.dtype), mask_value)
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = nn.functional.softmax(attn_weights, dim=-1)
        attn_weights = attn_weights.type(value.dtype)
        return torch.matmul(attn_weights, value), attn_weights

    def forward(self, hidden_states, layer_past=None, attention_mask=None, use_cache=False):
        query, key, value = self.c_attn(hidden_states).split(self.embed_dim, dim=2)
        query, key, value = map(self._split_heads, (query, key, value))
        if layer_past is not None:
            past_key, past_value = layer_past
            key = torch.cat((past_key, key), dim=-2)
            value = torch.cat((past_value, value), dim=-2)
        present = (key, value) if use_cache else None
        attn_output, _ = self._attn(query, key, value, attention_mask)
        attn_output = self.c_proj(self._merge_heads(attn_output))
        return attn_output, present


class GPT2MLP(nn.Module):
    def __init__(self, intermediate_size, config):
        super().__init__()
        self.c_fc = Conv1D(intermediate_size, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, intermediate_size)

    def forward(self, hidden_states):
        return self.c_proj(F.gelu(self.c_fc(hidden_states), approximate="tanh"))


class GPT2Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(4 * config.n_embd, config)

    def forward(self, hidden_states, layer_past=None, attention_mask=None, use_cache=False):
        attn_output, present = self.attn(self.ln_1(hidden_states), layer_past=layer_past,
                                         attention_mask=attention_mask, use_cache=use_cache)
        hidden_states = attn_output + hidden_states
        hidden_states = hidden_states + self.mlp(self.ln_2(hidden_states))
        return hidden_states, present


class GPT2PreTrainedModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, Conv1D)):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)
        # GPT-2's scaled init of the residual projections
        for name, p in module.named_parameters():
            if name == "c_proj.weight":
                p.data.normal_(mean=0.0, std=(
                    self.config.initializer_range / math.sqrt(2 * self.config.n_layer)))

    def post_init(self):
        self.apply(self._init_weights)
        self.tie_weights()

    def tie_weights(self):
        output_embeddings = self.get_output_embeddings()
        if output_embeddings is not None:
            output_embeddings.weight = self.get_input_embeddings().weight


class GPT2LMHeadModel(GPT2PreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.h = nn.ModuleList([GPT2Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.register_buffer("position_ids", torch.arange(config.n_positions).expand((1, -1)),
                             persistent=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, new_embeddings):
        self.lm_head = new_embeddings

    def forward(self, input_ids, past_key_values=None, attention_mask=None, labels=None,
                use_cache=False, output_hidden_states=False):
        batch_size, seq_len = input_ids.shape
        past_length = 0 if past_key_values is None else past_key_values[0][0].size(-2)
        if past_key_values is None:
            past_key_values = tuple([None] * len(self.h))
        position_ids = self.position_ids[:, past_length:past_length + seq_len]
        if attention_mask is not None:
            attention_mask = attention_mask.view(batch_size, -1)[:, None, None, :]
            attention_mask = attention_mask.to(dtype=self.wte.weight.dtype)
            attention_mask = (1.0 - attention_mask) * torch.finfo(self.wte.weight.dtype).min
        hidden_states = self.wte(input_ids) + self.wpe(position_ids)
        presents = () if use_cache else None
        all_hidden_states = () if output_hidden_states else None
        for block, layer_past in zip(self.h, past_key_values):
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
            hidden_states, present = block(hidden_states, layer_past=layer_past,
                                           attention_mask=attention_mask, use_cache=use_cache)
            if use_cache:
                presents = presents + (present,)
        hidden_states = self.ln_f(hidden_states)
        if output_hidden_states:
            all_hidden_states = all_hidden_states + (hidden_states,)
        lm_logits = self.lm_head(hidden_states)
        loss = None
        if labels is not None:
            shift_logits = lm_logits[..., :-1, :].contiguous()
            shift_labels = labels[..., 1:].contiguous()
            loss = F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)),
                                   shift_labels.view(-1), ignore_index=-100)
        return CausalLMOutputWithPast(loss=loss, logits=lm_logits, past_key_values=presents,
                                      hidden_states=all_hidden_states)


config = Config()
model = GPT2LMHeadModel(config)
print("tied", model.lm_head.weight is model.wte.weight,
      "params", sum(p.numel() for p in model.parameters()))
print("state_dict has position_ids", "position_ids" in model.state_dict(),
      "attn.bias", "h.0.attn.bias" in model.state_dict(), "keys", len(model.state_dict()))
print("c_proj std", round(model.h[0].attn.c_proj.weight.std().item(), 3),
      "c_attn std", round(model.h[0].attn.c_attn.weight.std().item(), 3))

# a toy corpus: repeating counting patterns so the model has something to learn
def make_batch(n, t):
    start = torch.randint(4, 20, (n, 1))
    step = torch.randint(1, 3, (n, 1))
    seq = 4 + (start + step * torch.arange(t)) % (config.vocab_size - 4)
    return seq


optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
model.train()
for step in range(60):
    ids = make_batch(16, 12)
    mask = torch.ones_like(ids)
    mask[:4, :2] = 0  # left padding on a few rows
    labels = ids.masked_fill(mask == 0, -100)
    out = model(ids, attention_mask=mask, labels=labels)
    optimizer.zero_grad()
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if step % 20 == 0 or step == 59:
        print("step", step, "loss", round(out["loss"].item(), 3))

model.eval()
with torch.no_grad():
    ids = make_batch(3, 6)
    out = model(ids, use_cache=True, output_hidden_states=True)
    print("output keys", list(out.keys()), "n hidden", len(out.hidden_states),
          "tuple len", len(out.to_tuple()))
    print("logits[0] is out.logits", out[0] is out.logits,
          "past shapes", tuple(out.past_key_values[0][0].shape))
    # the cache gives the same logits as the full recomputation
    nxt = out.logits[:, -1].argmax(-1, keepdim=True)
    cached = model(nxt, past_key_values=out.past_key_values).logits[:, -1]
    full = model(torch.cat([ids, nxt], dim=-1)).logits[:, -1]
    print("cache matches", torch.allclose(cached, full, atol=1e-5))


def greedy_generate(model, input_ids, max_new_tokens, eos_token_id):
    unfinished = torch.ones(input_ids.shape[0], dtype=torch.long)
    past = None
    cur = input_ids
    for _ in range(max_new_tokens):
        out = model(cur, past_key_values=past, use_cache=True)
        past = out.past_key_values
        next_tokens = torch.argmax(out.logits[:, -1, :], dim=-1)
        next_tokens = next_tokens * unfinished + eos_token_id * (1 - unfinished)
        input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        cur = next_tokens[:, None]
        unfinished = unfinished & (next_tokens != eos_token_id).long()
        if unfinished.max() == 0:
            break
    return input_ids


def repetition_penalty(input_ids, scores, penalty):
    score = torch.gather(scores, 1, input_ids)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return scores.scatter_(1, input_ids, score)


def top_k_filter(scores, top_k, filter_value=-float("inf")):
    top_k = min(top_k, scores.size(-1))
    indices_to_remove = scores < torch.topk(scores, top_k)[0][..., -1, None]
    return scores.masked_fill(indices_to_remove, filter_value)


def top_p_filter(scores, top_p, filter_value=-float("inf"), min_tokens_to_keep=1):
    sorted_logits, sorted_indices = torch.sort(scores, descending=False)
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    sorted_indices_to_remove = cumulative_probs <= (1 - top_p)
    sorted_indices_to_remove[..., -min_tokens_to_keep:] = 0
    indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices,
                                                         sorted_indices_to_remove)
    return scores.masked_fill(indices_to_remove, filter_value)


def sample_generate(model, input_ids, max_new_tokens, eos_token_id, temperature=0.8,
                    top_k=10, top_p=0.9, penalty=1.3):
    unfinished = input_ids.new(input_ids.shape[0]).fill_(1)
    for _ in range(max_new_tokens):
        logits = model(input_ids).logits[:, -1, :]
        scores = repetition_penalty(input_ids, logits.clone(), penalty)
        scores = scores / temperature
        scores = top_p_filter(top_k_filter(scores, top_k), top_p)
        probs = F.softmax(scores, dim=-1)
        next_tokens = torch.multinomial(probs, num_samples=1).squeeze(1)
        next_tokens = next_tokens * unfinished + eos_token_id * (1 - unfinished)
        input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        unfinished = unfinished.mul(next_tokens.ne(eos_token_id).long())
        if unfinished.max() == 0:
            break
    return input_ids


with torch.no_grad():
    prompt = make_batch(3, 4)
    print("prompt", prompt.tolist())
    print("greedy", greedy_generate(model, prompt, 8, config.eos_token_id)[:, 4:].tolist())
    torch.manual_seed(123)
    print("sampled", sample_generate(model, prompt, 8, config.eos_token_id)[:, 4:].tolist())
    scores = torch.randn(2, 10)
    print("top-k kept", (top_k_filter(scores, 3) > -float("inf")).sum(-1).tolist(),
          "top-p kept", (top_p_filter(scores, 0.5) > -float("inf")).sum(-1).tolist())
