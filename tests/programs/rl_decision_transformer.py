"""A small Decision Transformer (Chen et al., 2021), after the authors' gym/decision_transformer
code and minGPT's optimizer recipe, trained on trajectories of a 1-D grid task.

Trajectories of different lengths are padded with ``nn.utils.rnn.pad_sequence``; returns-to-go
come from ``flip``/``cumsum``/``flip`` (and, discounted, from a ``triu`` matrix of powers that
must agree with a reversed loop); tokens (R, s, a) are interleaved with ``torch.stack(...,
dim=2).reshape``; a ``nn.TransformerEncoder`` (pre-norm, GELU) runs under a causal mask from
``nn.Transformer.generate_square_subsequent_mask`` and a ``src_key_padding_mask``; AdamW gets
minGPT's two param groups (no decay for biases, LayerNorm and embeddings) and a ``LambdaLR``
warm-up; the loss is cross-entropy with ``ignore_index`` on padded steps. At the end the model is
conditioned on high and low target returns and rolled out autoregressively.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)
rng = np.random.default_rng(0)
N_POS, N_ACT, MAX_T, GOAL = 9, 3, 12, 7
PAD_ACTION = -100


def run_episode(policy_probs, start):
    """Behaviour data: actions left/stay/right with given probabilities; reward 1 at the goal."""
    pos, states, actions, rewards = start, [], [], []
    for _ in range(MAX_T):
        a = int(rng.choice(N_ACT, p=policy_probs))
        states.append(pos)
        actions.append(a)
        pos = min(max(pos + a - 1, 0), N_POS - 1)
        r = 1.0 if pos == GOAL else -0.1
        rewards.append(r)
        if pos == GOAL:
            break
    return (torch.tensor(states), torch.tensor(actions), torch.tensor(rewards))


behaviours = [[0.6, 0.2, 0.2], [0.2, 0.2, 0.6], [0.34, 0.33, 0.33]]
trajs = [run_episode(behaviours[i % 3], int(rng.integers(0, 5))) for i in range(60)]
lengths = torch.tensor([len(t[0]) for t in trajs])
returns = torch.stack([t[2].sum() for t in trajs])
print(f"trajectories {len(trajs)} mean length {lengths.float().mean():.3f} "
      f"return mean {returns.mean():.4f} max {returns.max():.4f}")


def returns_to_go(r):
    return r.flip(0).cumsum(0).flip(0)


def discounted_rtg(r, gamma):
    T = r.shape[0]
    idx = torch.arange(T)
    powers = (idx.unsqueeze(0) - idx.unsqueeze(1)).clamp(min=0).to(r.dtype)
    disc = torch.triu(torch.full((T, T), gamma).pow(powers))
    return disc @ r


r0 = trajs[0][2]
loop, acc = [], 0.0
for x in reversed(r0.tolist()):
    acc = x + 0.9 * acc
    loop.append(acc)
print("discounted rtg agrees:", torch.allclose(discounted_rtg(r0, 0.9), torch.tensor(loop[::-1])))

states = pad_sequence([t[0] for t in trajs], batch_first=True)
actions = pad_sequence([t[1] for t in trajs], batch_first=True, padding_value=PAD_ACTION)
rtg = pad_sequence([returns_to_go(t[2]) for t in trajs], batch_first=True)
timesteps = torch.arange(states.shape[1]).expand_as(states)
pad_mask = torch.arange(states.shape[1]).unsqueeze(0) >= lengths.unsqueeze(1)
print("padded:", tuple(states.shape), "pad fraction", f"{pad_mask.float().mean():.4f}",
      "rtg[0, :4]", [f"{x:.2f}" for x in rtg[0, :4].tolist()])


class DecisionTransformer(nn.Module):
    def __init__(self, d=32, heads=2, layers=2):
        super().__init__()
        self.embed_state = nn.Embedding(N_POS, d)
        self.embed_action = nn.Embedding(N_ACT + 1, d)   # last index: "no action yet"
        self.embed_return = nn.Linear(1, d)
        self.embed_time = nn.Embedding(MAX_T, d)
        self.embed_ln = nn.LayerNorm(d)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.predict_action = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, N_ACT))
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, s, a, R, t, pad=None):
        B, T = s.shape
        te = self.embed_time(t)
        a_in = a.masked_fill(a < 0, N_ACT)
        tokens = torch.stack([self.embed_return(R.unsqueeze(-1)) + te,
                              self.embed_state(s) + te,
                              self.embed_action(a_in) + te], dim=2).reshape(B, 3 * T, -1)
        tokens = self.embed_ln(tokens)
        mask = nn.Transformer.generate_square_subsequent_mask(3 * T)
        key_pad = None if pad is None else pad.repeat_interleave(3, dim=1)
        h = self.encoder(tokens, mask=mask, src_key_padding_mask=key_pad, is_causal=True)
        h = h.reshape(B, T, 3, -1)
        return self.predict_action(h[:, :, 1])          # predict a_t from the state token


model = DecisionTransformer()
decay, no_decay = set(), set()
for mn, m in model.named_modules():
    for pn, p in m.named_parameters(recurse=False):
        full = f"{mn}.{pn}" if mn else pn
        if pn.endswith("bias") or isinstance(m, (nn.LayerNorm, nn.Embedding)):
            no_decay.add(full)
        elif pn.endswith("weight") or pn.endswith("in_proj_weight"):
            decay.add(full)
params = dict(model.named_parameters())
assert decay | no_decay == set(params) and not decay & no_decay
groups = [{"params": [params[n] for n in sorted(decay)], "weight_decay": 0.1},
          {"params": [params[n] for n in sorted(no_decay)], "weight_decay": 0.0}]
opt = torch.optim.AdamW(groups, lr=3e-3, betas=(0.9, 0.95))
WARMUP = 10
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / WARMUP))
print("param groups:", [len(g["params"]) for g in opt.param_groups],
      "n params", sum(p.numel() for p in model.parameters()))

gen = torch.Generator().manual_seed(5)
for epoch in range(6):
    perm = torch.randperm(len(trajs), generator=gen)
    tot, correct, count = 0.0, 0, 0
    for i in range(0, len(trajs), 15):
        b = perm[i:i + 15]
        logits = model(states[b], actions[b], rtg[b], timesteps[b], pad_mask[b])
        loss = F.cross_entropy(logits.reshape(-1, N_ACT), actions[b].reshape(-1),
                               ignore_index=PAD_ACTION)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()
        sched.step()
        valid = actions[b] != PAD_ACTION
        correct += (logits.argmax(-1)[valid] == actions[b][valid]).sum().item()
        count += valid.sum().item()
        tot += loss.item()
    print(f"epoch {epoch} loss {tot / 4:.4f} acc {correct / count:.4f} "
          f"lr {sched.get_last_lr()[0]:.5f}")


@torch.no_grad()
def rollout(target_return, start):
    model.eval()
    s = torch.tensor([[start]])
    a = torch.full((1, 1), PAD_ACTION)
    R = torch.tensor([[target_return]])
    pos, total = start, 0.0
    for t in range(MAX_T):
        logits = model(s, a, R, torch.arange(t + 1).unsqueeze(0))
        act = logits[0, -1].argmax().item()
        a[0, -1] = act
        pos = min(max(pos + act - 1, 0), N_POS - 1)
        r = 1.0 if pos == GOAL else -0.1
        total += r
        if pos == GOAL:
            break
        s = torch.cat([s, torch.tensor([[pos]])], dim=1)
        a = torch.cat([a, torch.full((1, 1), PAD_ACTION)], dim=1)
        R = torch.cat([R, R[:, -1:] - r], dim=1)
    model.train()
    return total, s.shape[1]


for target in (0.7, -1.2):
    results = [rollout(target, st) for st in (0, 2, 4)]
    print(f"target {target:+.1f}:", [(f"{ret:.2f}", n) for ret, n in results])
with torch.no_grad():
    probs = F.softmax(model(states[:2], actions[:2], rtg[:2], timesteps[:2], pad_mask[:2]), -1)
    print("first-step probs:", [f"{x:.4f}" for x in probs[:, 0].flatten().tolist()])
    ent = torch.distributions.Categorical(probs=probs[~pad_mask[:2]]).entropy()
    print("entropy:", f"{ent.mean():.4f}")
