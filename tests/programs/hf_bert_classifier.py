"""A BERT-style sequence classifier written the way transformers' ``modeling_bert.py`` writes
it, run with plain torch: word + position + ``token_type_ids`` embeddings (position ids and
default token types in non-persistent buffers, ``padding_idx`` rows zeroed by ``_init_weights``),
the extended attention mask ``(1.0 - mask[:, None, None, :]) * torch.finfo(dtype).min``, an
eager attention next to an SDPA one (``scaled_dot_product_attention`` with a boolean and a float
mask, and with a padding mask together with ``is_causal=True`` as decoder layers pass them),
``output_attentions`` / ``output_hidden_states`` tuples, a ``ModelOutput``-like dataclass, the
tanh pooler and a classification head, gradient checkpointing with
``torch.utils.checkpoint.checkpoint(..., use_reentrant=False)`` toggled by
``gradient_checkpointing_enable()``, and ``resize_token_embeddings`` (a new Embedding whose old
rows are copied under ``no_grad``, re-tied to the MLM decoder)."""
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

torch.manual_seed(0)


class ModelOutput(OrderedDict):
    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None:
                self[f.name] = v

    def __getitem__(self, k):
        return dict(self.items())[k] if isinstance(k, str) else self.to_tuple()[k]

    def to_tuple(self):
        return tuple(self[k] for k in self.keys())


@dataclass
class SequenceClassifierOutput(ModelOutput):
    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor = None
    pooler_output: torch.FloatTensor = None
    hidden_states: Tuple[torch.FloatTensor, ...] | None = None
    attentions: Tuple[torch.FloatTensor, ...] | None = None


class BertConfig:
    vocab_size = 30
    hidden_size = 32
    num_hidden_layers = 2
    num_attention_heads = 4
    intermediate_size = 64
    max_position_embeddings = 24
    type_vocab_size = 2
    pad_token_id = 0
    layer_norm_eps = 1e-12
    initializer_range = 0.02
    hidden_dropout_prob = 0.1
    num_labels = 3
    attn_implementation = "eager"


class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size,
                                            padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings,
                                                config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("position_ids",
                             torch.arange(config.max_position_embeddings).expand((1, -1)),
                             persistent=False)
        self.register_buffer("token_type_ids",
                             torch.zeros(self.position_ids.size(), dtype=torch.long),
                             persistent=False)

    def forward(self, input_ids, token_type_ids=None):
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, :seq_length]
        if token_type_ids is None:
            buffered = self.token_type_ids[:, :seq_length]
            token_type_ids = buffered.expand(input_ids.shape[0], seq_length)
        embeddings = (self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
                      + self.position_embeddings(position_ids))
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(0.0)
        self.config = config

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        return x.view(new_x_shape).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask=None, output_attentions=False):
        q = self.transpose_for_scores(self.query(hidden_states))
        k = self.transpose_for_scores(self.key(hidden_states))
        v = self.transpose_for_scores(self.value(hidden_states))
        if self.config.attn_implementation == "sdpa" and not output_attentions:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask,
                                                     dropout_p=0.0)
            probs = None
        else:
            scores = torch.matmul(q, k.transpose(-1, -2)) / (self.attention_head_size ** 0.5)
            if attention_mask is not None:
                scores = scores + attention_mask
            probs = self.dropout(nn.functional.softmax(scores, dim=-1))
            context = torch.matmul(probs, v)
        context = context.permute(0, 2, 1, 3).contiguous()
        context = context.view(context.size()[:-2] + (self.all_head_size,))
        return (context, probs) if output_attentions else (context,)


class BertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = BertSelfAttention(config)
        self.attn_out = nn.Linear(config.hidden_size, config.hidden_size)
        self.ln1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(config.hidden_size, config.intermediate_size)
        self.output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.ln2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, attention_mask=None, output_attentions=False):
        outputs = self.attention(hidden_states, attention_mask, output_attentions)
        h = self.ln1(self.dropout(self.attn_out(outputs[0])) + hidden_states)
        h = self.ln2(self.dropout(self.output(F.gelu(self.intermediate(h)))) + h)
        return (h,) + outputs[1:]


class BertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states, attention_mask=None, output_attentions=False,
                output_hidden_states=False):
        all_hidden_states = () if output_hidden_states else None
        all_attentions = () if output_attentions else None
        for layer_module in self.layer:
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
            if self.gradient_checkpointing and self.training:
                layer_outputs = checkpoint(layer_module.__call__, hidden_states, attention_mask,
                                           output_attentions, use_reentrant=False)
            else:
                layer_outputs = layer_module(hidden_states, attention_mask, output_attentions)
            hidden_states = layer_outputs[0]
            if output_attentions:
                all_attentions = all_attentions + (layer_outputs[1],)
        if output_hidden_states:
            all_hidden_states = all_hidden_states + (hidden_states,)
        return hidden_states, all_hidden_states, all_attentions


class BertForSequenceClassification(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.mlm_decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
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

    def post_init(self):
        self.apply(self._init_weights)
        self.mlm_decoder.weight = self.get_input_embeddings().weight

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.word_embeddings = value

    def gradient_checkpointing_enable(self):
        self.encoder.gradient_checkpointing = True

    def resize_token_embeddings(self, new_num_tokens):
        old = self.get_input_embeddings()
        old_num_tokens, dim = old.weight.size()
        new = nn.Embedding(new_num_tokens, dim, padding_idx=old.padding_idx,
                           device=old.weight.device, dtype=old.weight.dtype)
        self._init_weights(new)
        n = min(old_num_tokens, new_num_tokens)
        with torch.no_grad():
            new.weight.data[:n, :] = old.weight.data[:n, :]
        self.set_input_embeddings(new)
        # the tied decoder follows: a bigger bias, then the shared weight
        old_bias = self.mlm_decoder.bias.data
        self.mlm_decoder.bias = nn.Parameter(torch.zeros(new_num_tokens))
        self.mlm_decoder.bias.data[:n] = old_bias[:n]
        self.mlm_decoder.out_features = new_num_tokens
        self.mlm_decoder.weight = new.weight
        self.config.vocab_size = new_num_tokens
        return new

    def get_extended_attention_mask(self, attention_mask, dtype):
        extended = attention_mask[:, None, None, :].to(dtype=dtype)
        return (1.0 - extended) * torch.finfo(dtype).min

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        dtype = self.embeddings.word_embeddings.weight.dtype
        if self.config.attn_implementation == "sdpa":
            # SDPA takes the mask as booleans expanded to (batch, 1, tgt, src)
            bsz, tgt = input_ids.shape
            ext = attention_mask[:, None, None, :].expand(bsz, 1, tgt, tgt).to(torch.bool)
        else:
            ext = self.get_extended_attention_mask(attention_mask, dtype)
        h = self.embeddings(input_ids, token_type_ids)
        seq, hidden_states, attentions = self.encoder(h, ext, output_attentions,
                                                      output_hidden_states)
        pooled = torch.tanh(self.pooler(seq[:, 0]))
        logits = self.classifier(pooled)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))
        if not return_dict:
            output = (logits, pooled) + tuple(x for x in (hidden_states, attentions) if x)
            return ((loss,) + output) if loss is not None else output
        return SequenceClassifierOutput(loss=loss, logits=logits, pooler_output=pooled,
                                        hidden_states=hidden_states, attentions=attentions)


def r(x, n=4):
    return [round(v, n) for v in x]


config = BertConfig()
model = BertForSequenceClassification(config)
emb = model.embeddings.word_embeddings
print("pad row zero", bool((emb.weight[0] == 0).all()), "tied",
      model.mlm_decoder.weight is emb.weight)
print("buffers", [n for n, _ in model.named_buffers()],
      "persistent in state_dict", "embeddings.position_ids" in model.state_dict())
print("finfo min", torch.finfo(torch.float32).min, torch.finfo(torch.float16).min,
      torch.finfo(torch.bfloat16).min)
m = torch.tensor([[1, 1, 0]])
print("extended mask fp16", model.get_extended_attention_mask(m, torch.float16).view(-1).tolist())


def make_batch(n, t=10):
    """Two "sentences" per example; the label says which one holds more tokens above 15."""
    ids = torch.randint(1, config.vocab_size, (n, t))
    token_type_ids = (torch.arange(t) >= t // 2).long().expand(n, t)
    lengths = torch.randint(t - 3, t + 1, (n,))
    attention_mask = (torch.arange(t)[None, :] < lengths[:, None]).long()
    ids = ids.masked_fill(attention_mask == 0, config.pad_token_id)
    big = (ids > 15).long()
    first, second = (big * (token_type_ids == 0)).sum(1), (big * (token_type_ids == 1)).sum(1)
    labels = torch.where(first > second, 0, torch.where(first < second, 1, 2))
    return ids, attention_mask, token_type_ids, labels


ids, mask, tt, labels = make_batch(4)
model.eval()
with torch.no_grad():
    out = model(ids, attention_mask=mask, token_type_ids=tt, labels=labels,
                output_attentions=True, output_hidden_states=True)
    print("keys", list(out.keys()), "n hidden", len(out.hidden_states),
          "attn shape", tuple(out.attentions[0].shape))
    print("padded keys get no attention", out.attentions[0][mask[:, None, None, :]
                                                            .expand_as(out.attentions[0]) == 0]
          .abs().max().item() < 1e-30)
    print("logits", r(out.logits[0].tolist()), "loss", round(out.loss.item(), 4))
    tup = model(ids, attention_mask=mask, token_type_ids=tt, return_dict=False)
    print("tuple output len", len(tup), "same logits", torch.equal(tup[0], out["logits"]))
    config.attn_implementation = "sdpa"
    sdpa = model(ids, attention_mask=mask, token_type_ids=tt).logits
    config.attn_implementation = "eager"
    print("sdpa matches eager", torch.allclose(sdpa, out.logits, atol=1e-5))

    q, k, v = torch.randn(3, 2, 2, 5, 4).unbind(0)
    pad = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    bool_mask = pad[:, None, None, :].bool()
    float_mask = (1.0 - pad[:, None, None, :].float()) * torch.finfo(torch.float32).min
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=bool_mask)
    b = F.scaled_dot_product_attention(q, k, v, attn_mask=float_mask)
    print("bool vs float mask", torch.allclose(a, b, atol=1e-6), round(a.sum().item(), 4))
    c = F.scaled_dot_product_attention(q, k, v, attn_mask=bool_mask, is_causal=True)
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    d = F.scaled_dot_product_attention(q, k, v, attn_mask=bool_mask & causal)
    print("padding + is_causal", torch.allclose(c, d, atol=1e-6), round(c.sum().item(), 4))

model.train()
model.gradient_checkpointing_enable()
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
for step in range(40):
    ids, mask, tt, labels = make_batch(16)
    out = model(ids, attention_mask=mask, token_type_ids=tt, labels=labels)
    optimizer.zero_grad()
    out.loss.backward()
    optimizer.step()
    if step % 10 == 0 or step == 39:
        print("step", step, "loss", round(out.loss.item(), 3))
print("pad row grad stays zero", bool((emb.weight.grad[0] == 0).all()))

new = model.resize_token_embeddings(36)
print("resized", tuple(new.weight.shape), "rows kept",
      torch.equal(new.weight[:30], emb.weight), "tied", model.mlm_decoder.weight is new.weight,
      "decoder bias", tuple(model.mlm_decoder.bias.shape))
model.eval()
with torch.no_grad():
    ids, mask, tt, labels = make_batch(64)
    ids[:, 1] = 33  # a new token
    logits = model(ids, attention_mask=mask, token_type_ids=tt).logits
    print("accuracy", round((logits.argmax(-1) == labels).float().mean().item(), 4))
