"""PPO for a tiny character-level LM against a scripted reward, in the shape of TRL's
PPOTrainer and the InstructGPT recipe: sample responses token by token from
torch.distributions.Categorical (with top-k / top-p filtering), score them, subtract a
per-token KL penalty to a frozen reference (k1 in the reward, k3 logged), whiten rewards and
advantages under the response mask, run GAE backwards over the sequence, then optimise the
clipped ratio objective with value clipping and an entropy bonus, for a few PPO epochs over
minibatches, with an adaptive KL controller. The toy task: the policy should emit vowels."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

torch.manual_seed(0)
rng = np.random.default_rng(2)
torch.set_printoptions(precision=3)

CHARS = "abcdefghij"
V = len(CHARS)
VOWELS = torch.tensor([CHARS.index(c) for c in "aei"])
PROMPT_LEN, RESP_LEN, BATCH = 3, 6, 16


class PolicyWithValueHead(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.emb = nn.Embedding(V, dim)
        self.gru = nn.GRU(dim, dim, batch_first=True)
        self.lm_head = nn.Linear(dim, V)
        self.v_head = nn.Sequential(nn.Dropout(0.0), nn.Linear(dim, 1))

    def forward(self, ids):
        h, _ = self.gru(self.emb(ids))
        return self.lm_head(h), self.v_head(h).squeeze(-1)


def top_k_top_p(logits, top_k=0, top_p=1.0):
    if top_k > 0:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1, None]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=True, dim=-1)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        remove = cum > top_p
        remove[..., 1:] = remove[..., :-1].clone()
        remove[..., 0] = False
        logits = logits.masked_fill(remove.scatter(-1, sorted_idx, remove), float("-inf"))
    return logits


@torch.no_grad()
def generate(model, prompts, temperature=1.0, **filters):
    ids = prompts
    for _ in range(RESP_LEN):
        logits, _ = model(ids)
        dist = Categorical(logits=top_k_top_p(logits[:, -1] / temperature, **filters))
        ids = torch.cat([ids, dist.sample().unsqueeze(1)], dim=1)
    return ids


def logprobs_from_logits(logits, labels):
    return torch.gather(F.log_softmax(logits, dim=-1), 2, labels.unsqueeze(-1)).squeeze(-1)


def forward_response(model, ids):
    logits, values = model(ids)
    logits = logits[:, PROMPT_LEN - 1:-1]
    return logits, logprobs_from_logits(logits, ids[:, PROMPT_LEN:]), values[:, PROMPT_LEN - 1:-1]


def masked_mean(x, mask, dim=None):
    return (x * mask).sum(dim) / mask.sum(dim) if dim is not None else (x * mask).sum() / mask.sum()


def masked_whiten(x, mask, shift_mean=True):
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    var = var * mask.sum() / (mask.sum() - 1)                 # unbiased, as TRL does
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    return out if shift_mean else out + mean


def score(ids):
    resp = ids[:, PROMPT_LEN:]
    vowel = torch.isin(resp, VOWELS).float()
    repeats = (resp[:, 1:] == resp[:, :-1]).float().sum(1)
    return vowel.mean(1) * 2 - 0.3 * repeats


class AdaptiveKLController:
    def __init__(self, init_kl_coef, target, horizon):
        self.value, self.target, self.horizon = init_kl_coef, target, horizon

    def update(self, current, n_steps):
        proportional_error = np.clip(current / self.target - 1, -0.2, 0.2)
        self.value *= 1 + proportional_error * n_steps / self.horizon


policy = PolicyWithValueHead()
reference = copy.deepcopy(policy).requires_grad_(False).eval()
opt = torch.optim.Adam(policy.parameters(), lr=3e-3, eps=1e-5)
sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.3, total_iters=8)
kl_ctl = AdaptiveKLController(0.2, target=0.5, horizon=100)
gamma, lam, cliprange, cliprange_value, vf_coef, ent_coef = 1.0, 0.95, 0.2, 0.2, 0.1, 0.01

filtered = top_k_top_p(torch.tensor([[2.0, 1.0, 0.5, -1.0, 0.0]]), top_k=3, top_p=0.8)
print("filtered logits", filtered)
print("filtered probs", filtered.softmax(-1))

for it in range(8):
    prompts = torch.from_numpy(rng.integers(0, V, size=(BATCH, PROMPT_LEN)))
    policy.eval()
    ids = generate(policy, prompts, top_k=8)
    with torch.no_grad():
        logits, old_logprobs, old_values = forward_response(policy, ids)
        _, ref_logprobs, _ = forward_response(reference, ids)
        scores = score(ids)
    mask = torch.ones_like(old_logprobs)
    mask[ids[:, PROMPT_LEN:] == CHARS.index("j")] = 0.0       # 'j' acts as a padding token

    # per-token rewards: -beta * KL (k1 estimator), the score added at the last token
    log_ratio = (old_logprobs - ref_logprobs) * mask
    non_score = -kl_ctl.value * log_ratio
    rewards = non_score.clone()
    last = mask.cumsum(1).argmax(1)
    rewards[torch.arange(BATCH), last] += scores
    k3 = ((log_ratio.exp() - 1) - log_ratio) * mask             # unbiased, non-negative

    # GAE, backwards over the response
    lastgaelam = torch.zeros(BATCH)
    advantages_reversed = []
    for t in reversed(range(RESP_LEN)):
        next_values = old_values[:, t + 1] if t < RESP_LEN - 1 else torch.zeros(BATCH)
        delta = rewards[:, t] + gamma * next_values - old_values[:, t]
        lastgaelam = delta + gamma * lam * lastgaelam
        advantages_reversed.append(lastgaelam)
    advantages = torch.stack(advantages_reversed[::-1], dim=1)
    returns = advantages + old_values
    advantages = masked_whiten(advantages, mask).detach()

    policy.train()
    stats = []
    for ppo_epoch in range(2):
        for mb in torch.randperm(BATCH).view(4, -1):
            logits, new_logprobs, vpred = forward_response(policy, ids[mb])
            m = mask[mb]
            vpredclipped = old_values[mb] + (vpred - old_values[mb]).clamp(-cliprange_value,
                                                                          cliprange_value)
            vf_losses = torch.max((vpred - returns[mb]) ** 2, (vpredclipped - returns[mb]) ** 2)
            vf_loss = 0.5 * masked_mean(vf_losses, m)
            ratio = torch.exp(new_logprobs - old_logprobs[mb])
            pg_losses = -advantages[mb] * ratio
            pg_losses2 = -advantages[mb] * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
            pg_loss = masked_mean(torch.maximum(pg_losses, pg_losses2), m)
            entropy = masked_mean(Categorical(logits=logits).entropy(), m)
            loss = pg_loss + vf_coef * vf_loss - ent_coef * entropy
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            opt.step()
            clipfrac = masked_mean(torch.gt(pg_losses2, pg_losses).float(), m)
            approxkl = 0.5 * masked_mean((new_logprobs - old_logprobs[mb]) ** 2, m)
            stats.append(torch.stack([pg_loss, vf_loss, entropy, clipfrac, approxkl]).detach())
    sched.step()
    mean_kl = masked_mean(log_ratio, mask, dim=1).sum().item() / BATCH
    kl_ctl.update(mean_kl, BATCH)
    s = torch.stack(stats).mean(0)
    print(f"iter {it} score {scores.mean():.4f} kl {mean_kl:.4f} k3 {k3.sum(1).mean():.4f} "
          f"beta {kl_ctl.value:.4f} pg {s[0]:.4f} vf {s[1]:.4f} ent {s[2]:.4f} "
          f"clip {s[3]:.4f} akl {s[4]:.5f}")

print("last rewards row", rewards[0])
print("advantages row", advantages[0])
print("lr", sched.get_last_lr())
policy.eval()
torch.manual_seed(7)
sample = generate(policy, torch.tensor([[0, 1, 2]]), temperature=0.7, top_p=0.9)
print("sample", "".join(CHARS[i] for i in sample[0].tolist()))
greedy = torch.tensor([[0, 1, 2]])
with torch.no_grad():
    for _ in range(RESP_LEN):
        greedy = torch.cat([greedy, policy(greedy)[0][:, -1].argmax(-1, keepdim=True)], 1)
print("greedy", "".join(CHARS[i] for i in greedy[0].tolist()))
dist = Categorical(probs=torch.tensor([0.5, 0.25, 0.25, 0.0]))
print("probs dist", dist.entropy(), dist.log_prob(torch.tensor([0, 3])), dist.mode)
try:
    Categorical(logits=torch.zeros(2, 3)).log_prob(torch.tensor([0, 5]))
except ValueError as err:
    print("ValueError:", str(err)[:60])
