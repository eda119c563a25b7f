"""A T5-style encoder-decoder written the way transformers' ``modeling_t5.py`` writes it, run with
plain torch, trained on a toy reversal task and decoded with beam search: ``T5LayerNorm`` (RMS
norm computed in float32 with ``pow(2).mean(-1, keepdim=True)`` and ``torch.rsqrt``), relative
position buckets (``torch.log`` / ``math.log``, ``.to(torch.long)``, ``torch.min`` against
``torch.full_like``, ``torch.where``) fed to an ``nn.Embedding`` bias shared by every layer, the
decoder's causal mask ``torch.full((t, t), torch.finfo(dtype).min).triu(1)``, the encoder padding
mask, ``_shift_right`` for teacher forcing, ``_init_weights`` with factor-scaled ``normal_``,
``past_key_values`` caches for the decoder, and ``generate(num_beams=...)``-style beam search:
``torch.topk`` over flattened ``(batch, beams * vocab)`` scores, ``//`` and ``%`` to recover the
beam and the token, ``index_select`` to reorder the caches, length-normalised finished
hypotheses."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)

PAD, EOS, BOS = 0, 1, 0  # T5 starts decoding from the pad token
VOCAB, D_MODEL, N_HEADS, D_KV, D_FF = 16, 32, 4, 8, 64
NUM_BUCKETS, MAX_DISTANCE = 8, 16


class T5LayerNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        if self.weight.dtype in [torch.float16, torch.bfloat16]:
            hidden_states = hidden_states.to(self.weight.dtype)
        return self.weight * hidden_states


def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32,
                             max_distance=128):
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1))
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


class T5Attention(nn.Module):
    def __init__(self, is_decoder, has_relative_attention_bias):
        super().__init__()
        self.is_decoder = is_decoder
        self.has_relative_attention_bias = has_relative_attention_bias
        inner = N_HEADS * D_KV
        self.q = nn.Linear(D_MODEL, inner, bias=False)
        self.k = nn.Linear(D_MODEL, inner, bias=False)
        self.v = nn.Linear(D_MODEL, inner, bias=False)
        self.o = nn.Linear(inner, D_MODEL, bias=False)
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(NUM_BUCKETS, N_HEADS)

    def compute_bias(self, query_length, key_length, past_length=0):
        context_position = torch.arange(past_length, past_length + query_length,
                                        dtype=torch.long)[:, None]
        memory_position = torch.arange(key_length, dtype=torch.long)[None, :]
        relative_position = memory_position - context_position
        buckets = relative_position_bucket(relative_position, bidirectional=not self.is_decoder,
                                           num_buckets=NUM_BUCKETS, max_distance=MAX_DISTANCE)
        values = self.relative_attention_bias(buckets)  # (q, k, heads)
        return values.permute([2, 0, 1]).unsqueeze(0)

    def shape(self, x, bsz):
        return x.view(bsz, -1, N_HEADS, D_KV).transpose(1, 2)

    def forward(self, hidden_states, mask=None, key_value_states=None, position_bias=None,
                past_key_value=None, use_cache=False):
        bsz, q_len = hidden_states.shape[:2]
        query = self.shape(self.q(hidden_states), bsz)
        if key_value_states is None:  # self-attention, extended by the cache
            key = self.shape(self.k(hidden_states), bsz)
            value = self.shape(self.v(hidden_states), bsz)
            if past_key_value is not None:
                key = torch.cat([past_key_value[0], key], dim=2)
                value = torch.cat([past_key_value[1], value], dim=2)
        elif past_key_value is not None:  # cross-attention: the encoder's projections
            key, value = past_key_value
        else:
            key = self.shape(self.k(key_value_states), bsz)
            value = self.shape(self.v(key_value_states), bsz)
        scores = torch.matmul(query, key.transpose(3, 2))  # T5 does not scale
        if position_bias is None:
            past_length = key.shape[2] - q_len if key_value_states is None else 0
            if self.has_relative_attention_bias:
                position_bias = self.compute_bias(q_len, key.shape[2], past_length)
            else:
                position_bias = torch.zeros((1, N_HEADS, q_len, key.shape[2]),
                                            dtype=scores.dtype)
            if mask is not None:
                position_bias = position_bias + mask
        scores = scores + position_bias
        attn_weights = F.softmax(scores.float(), dim=-1).type_as(scores)
        attn_output = torch.matmul(attn_weights, value).transpose(1, 2).contiguous()
        attn_output = self.o(attn_output.view(bsz, -1, N_HEADS * D_KV))
        present = (key, value) if use_cache else None
        return attn_output, present, position_bias


class T5Block(nn.Module):
    def __init__(self, is_decoder, has_relative_attention_bias):
        super().__init__()
        self.is_decoder = is_decoder
        self.ln_self = T5LayerNorm(D_MODEL)
        self.self_attn = T5Attention(is_decoder, has_relative_attention_bias)
        if is_decoder:
            self.ln_cross = T5LayerNorm(D_MODEL)
            self.cross_attn = T5Attention(is_decoder, False)
        self.ln_ff = T5LayerNorm(D_MODEL)
        self.wi = nn.Linear(D_MODEL, D_FF, bias=False)
        self.wo = nn.Linear(D_FF, D_MODEL, bias=False)

    def forward(self, h, mask, position_bias, enc_h=None, enc_mask=None, enc_bias=None,
                past=None, use_cache=False):
        self_past = past[:2] if past is not None else None
        cross_past = past[2:] if past is not None else None
        a, self_present, position_bias = self.self_attn(self.ln_self(h), mask, None,
                                                        position_bias, self_past, use_cache)
        h = h + a
        cross_present = ()
        if self.is_decoder:
            a, cross_present, enc_bias = self.cross_attn(self.ln_cross(h), enc_mask, enc_h,
                                                         enc_bias, cross_past, use_cache)
            h = h + a
        h = h + self.wo(F.relu(self.wi(self.ln_ff(h))))
        present = (self_present + cross_present) if use_cache else None
        return h, position_bias, enc_bias, present


class T5Stack(nn.Module):
    def __init__(self, embed_tokens, is_decoder, num_layers=2):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.is_decoder = is_decoder
        self.block = nn.ModuleList([T5Block(is_decoder, i == 0) for i in range(num_layers)])
        self.final_layer_norm = T5LayerNorm(D_MODEL)

    def forward(self, input_ids, attention_mask, enc_h=None, enc_attention_mask=None,
                past_key_values=None, use_cache=False):
        h = self.embed_tokens(input_ids)
        dtype = h.dtype
        bsz, t = input_ids.shape
        past_length = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        mask = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        if self.is_decoder:
            causal = torch.full((t, t + past_length), torch.finfo(dtype).min).triu(
                1 + past_length)
            mask = causal[None, None] if past_key_values is not None else causal[None, None] + \
                mask
        enc_mask = None
        if enc_attention_mask is not None:
            enc_mask = (1.0 - enc_attention_mask[:, None, None, :].to(dtype)) * \
                torch.finfo(dtype).min
        position_bias = enc_bias = None
        presents = () if use_cache else None
        for i, block in enumerate(self.block):
            past = past_key_values[i] if past_key_values is not None else None
            h, position_bias, enc_bias, present = block(h, mask, position_bias, enc_h, enc_mask,
                                                        enc_bias, past, use_cache)
            if use_cache:
                presents = presents + (present,)
        return self.final_layer_norm(h), presents


class T5ForConditionalGeneration(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Embedding(VOCAB, D_MODEL)
        self.encoder = T5Stack(self.shared, is_decoder=False)
        self.decoder = T5Stack(self.shared, is_decoder=True)
        self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)
        self.apply(self._init_weights)

    def _init_weights(self, module, factor=1.0):
        if isinstance(module, T5LayerNorm):
            module.weight.data.fill_(factor * 1.0)
        elif isinstance(module, T5ForConditionalGeneration):
            module.shared.weight.data.normal_(mean=0.0, std=factor * 1.0)
            module.lm_head.weight.data.normal_(mean=0.0, std=factor * D_MODEL ** -0.5)
        elif isinstance(module, T5Attention):
            module.q.weight.data.normal_(mean=0.0, std=factor * (D_MODEL * D_KV) ** -0.5)
            for lin in (module.k, module.v):
                lin.weight.data.normal_(mean=0.0, std=factor * D_MODEL ** -0.5)
            module.o.weight.data.normal_(mean=0.0, std=factor * (N_HEADS * D_KV) ** -0.5)
            if module.has_relative_attention_bias:
                module.relative_attention_bias.weight.data.normal_(mean=0.0,
                                                                   std=factor * D_MODEL ** -0.5)
        elif isinstance(module, T5Block):
            module.wi.weight.data.normal_(mean=0.0, std=factor * D_MODEL ** -0.5)
            module.wo.weight.data.normal_(mean=0.0, std=factor * D_FF ** -0.5)

    def _shift_right(self, input_ids):
        shifted = input_ids.new_zeros(input_ids.shape)
        shifted[..., 1:] = input_ids[..., :-1].clone()
        shifted[..., 0] = BOS
        return shifted.masked_fill(shifted == -100, PAD)

    def forward(self, input_ids, attention_mask, labels=None, decoder_input_ids=None,
                encoder_outputs=None, past_key_values=None, use_cache=False):
        if encoder_outputs is None:
            encoder_outputs, _ = self.encoder(input_ids, attention_mask)
        if decoder_input_ids is None:
            decoder_input_ids = self._shift_right(labels)
        dec_mask = torch.ones_like(decoder_input_ids)
        dec_h, presents = self.decoder(decoder_input_ids, dec_mask, encoder_outputs,
                                       attention_mask, past_key_values, use_cache)
        logits = self.lm_head(dec_h * D_MODEL ** -0.5)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1),
                                   ignore_index=-100)
        return loss, logits, presents, encoder_outputs


rel = torch.arange(12)[None, :] - torch.arange(12)[:, None]
print("buckets bidirectional", relative_position_bucket(rel[0] * 2, True, 8, 16).tolist())
print("buckets causal", relative_position_bucket(rel[:, 0] * 2, False, 8, 16).tolist())
print("causal mask row", torch.full((3, 3), torch.finfo(torch.float32).min).triu(1)[0].tolist())


def make_batch(n):
    """Reverse a sequence of 2..6 tokens drawn from 2..15; padded with PAD, labels -100."""
    lengths = torch.randint(2, 7, (n,))
    src = torch.randint(2, VOCAB, (n, 6))
    pos = torch.arange(6)[None, :]
    valid = pos < lengths[:, None]
    src = src.masked_fill(~valid, PAD)
    src_in = torch.cat([src, torch.zeros(n, 1, dtype=torch.long)], dim=1)
    src_in[torch.arange(n), lengths] = EOS
    attention_mask = (src_in != PAD).long()
    rev_index = (lengths[:, None] - 1 - pos).clamp(min=0)
    tgt = torch.gather(src, 1, rev_index).masked_fill(~valid, PAD)
    labels = torch.cat([tgt, torch.zeros(n, 1, dtype=torch.long)], dim=1)
    labels[torch.arange(n), lengths] = EOS
    labels = labels.masked_fill((torch.arange(7)[None, :] > lengths[:, None]), -100)
    return src_in, attention_mask, labels


model = T5ForConditionalGeneration()
print("lm_head std", round(model.lm_head.weight.std().item(), 2),
      "shared std", round(model.shared.weight.std().item(), 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
for step in range(60):
    src, mask, labels = make_batch(32)
    loss = model(src, mask, labels=labels)[0]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0 or step == 59:
        print("step", step, "loss", round(loss.item(), 3))


@torch.no_grad()
def greedy(model, src, mask, max_len=8):
    enc, _ = model.encoder(src, mask)
    dec = torch.full((src.shape[0], 1), BOS, dtype=torch.long)
    past = None
    for _ in range(max_len):
        _, logits, past, _ = model(src, mask, decoder_input_ids=dec[:, -1:], encoder_outputs=enc,
                                   past_key_values=past, use_cache=True)
        dec = torch.cat([dec, logits[:, -1].argmax(-1, keepdim=True)], dim=-1)
    return dec[:, 1:]


@torch.no_grad()
def beam_search(model, src, mask, num_beams=3, max_len=8, length_penalty=1.0):
    bsz = src.shape[0]
    enc, _ = model.encoder(src, mask)
    # expand the encoder side to (batch * beams, ...)
    enc = enc.repeat_interleave(num_beams, dim=0)
    enc_mask = mask.repeat_interleave(num_beams, dim=0)
    beam_scores = torch.zeros((bsz, num_beams))
    beam_scores[:, 1:] = -1e9  # only the first beam is live at the start
    beam_scores = beam_scores.view(-1)
    dec = torch.full((bsz * num_beams, 1), BOS, dtype=torch.long)
    past = None
    finished = [[] for _ in range(bsz)]
    done = torch.zeros(bsz, dtype=torch.bool)
    for cur_len in range(1, max_len + 1):
        _, logits, past, _ = model(None, enc_mask, decoder_input_ids=dec[:, -1:],
                                   encoder_outputs=enc, past_key_values=past, use_cache=True)
        next_scores = F.log_softmax(logits[:, -1, :], dim=-1) + beam_scores[:, None]
        next_scores = next_scores.view(bsz, num_beams * VOCAB)
        top_scores, top_tokens = torch.topk(next_scores, 2 * num_beams, dim=1, largest=True,
                                            sorted=True)
        next_indices = top_tokens // VOCAB
        next_tokens = top_tokens % VOCAB
        new_scores = torch.zeros((bsz, num_beams))
        new_tokens = torch.zeros((bsz, num_beams), dtype=torch.long)
        new_indices = torch.zeros((bsz, num_beams), dtype=torch.long)
        for b in range(bsz):
            k = 0
            for score, token, beam in zip(top_scores[b], next_tokens[b], next_indices[b]):
                src_beam = b * num_beams + beam.item()
                if token.item() == EOS:
                    if not done[b]:
                        seq = dec[src_beam, 1:].tolist()
                        finished[b].append((score.item() / (len(seq) + 1) ** length_penalty,
                                            seq))
                    continue
                new_scores[b, k], new_tokens[b, k], new_indices[b, k] = score, token, src_beam
                k += 1
                if k == num_beams:
                    break
            if len(finished[b]) >= num_beams:
                done[b] = True
        if done.all():
            break
        beam_scores = new_scores.view(-1)
        beam_idx = new_indices.view(-1)
        dec = torch.cat([dec[beam_idx, :], new_tokens.view(-1, 1)], dim=-1)
        past = tuple(tuple(p.index_select(0, beam_idx) for p in layer) for layer in past)
    best = []
    for b in range(bsz):
        if not finished[b]:
            seq = dec[b * num_beams, 1:].tolist()
            finished[b].append((beam_scores[b * num_beams].item() / len(seq), seq))
        best.append(max(finished[b], key=lambda x: x[0]))
    return best


model.eval()
src, mask, labels = make_batch(4)
print("sources", [s[:int(m.sum()) - 1] for s, m in zip(src.tolist(), mask)])
print("greedy", greedy(model, src, mask).tolist())
for score, seq in beam_search(model, src, mask):
    print("beam", seq, round(score, 3))

with torch.no_grad():
    _, full, _, _ = model(src, mask, labels=labels.clamp(min=0))
    _, logits, past, enc = model(src, mask, decoder_input_ids=model._shift_right(
        labels.clamp(min=0))[:, :3], use_cache=True)
    print("cache shapes", [tuple(p.shape) for p in past[0]])
    print("prefix logits match", torch.allclose(logits, full[:, :3], atol=1e-5))
