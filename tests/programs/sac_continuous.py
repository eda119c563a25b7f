"""Soft actor-critic on a tiny continuous task, in the style of CleanRL's sac_continuous_action.py
and the spinning-up / pranz24 SAC repositories: a squashed-Gaussian actor built as a
``TransformedDistribution(Normal, [TanhTransform(cache_size=1), AffineTransform])`` sampled
with ``rsample``, twin Q critics with target copies updated by Polyak averaging (both the
``lerp_`` and the ``mul_().add_()`` spelling, under ``torch.no_grad``), automatic entropy
tuning of ``log_alpha`` against ``-|A|``, and a tensor replay buffer sampled with
``torch.randint``. An EMA copy of the actor (as timm's ModelEmaV3 keeps one) is updated with
``torch._foreach_lerp_`` and used for the greedy evaluation. The hand-written task: a 2-D
point that must move to the origin.
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import AffineTransform, Normal, TanhTransform, TransformedDistribution

torch.manual_seed(0)
OBS, ACT = 2, 2
ACTION_SCALE, ACTION_BIAS = 0.5, 0.0
LOG_STD_MIN, LOG_STD_MAX = -5, 2


class PointEnv:
    def reset(self):
        self.pos = torch.rand(2) * 2 - 1
        self.t = 0
        return self.pos.clone()

    def step(self, action):
        self.pos = (self.pos + action).clamp(-1.5, 1.5)
        self.t += 1
        reward = -self.pos.norm().item()
        done = self.t >= 10
        return self.pos.clone(), reward, done


class SoftQNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(OBS + ACT, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc3 = nn.Linear(64, 1)

    def forward(self, x, a):
        x = torch.cat([x, a], 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(OBS, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc_mean = nn.Linear(64, ACT)
        self.fc_logstd = nn.Linear(64, ACT)

    def forward(self, x):
        x = F.relu(self.fc2(F.relu(self.fc1(x))))
        mean = self.fc_mean(x)
        log_std = torch.tanh(self.fc_logstd(x))
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)
        return mean, log_std

    def dist(self, x):
        mean, log_std = self(x)
        return TransformedDistribution(Normal(mean, log_std.exp()), [
            TanhTransform(cache_size=1), AffineTransform(ACTION_BIAS, ACTION_SCALE)])

    def get_action(self, x):
        d = self.dist(x)
        action = d.rsample()
        log_prob = d.log_prob(action).sum(1, keepdim=True)
        mean = torch.tanh(d.base_dist.mean) * ACTION_SCALE + ACTION_BIAS
        return action, log_prob, mean


class ReplayBuffer:
    def __init__(self, size):
        self.obs = torch.zeros(size, OBS)
        self.next_obs = torch.zeros(size, OBS)
        self.actions = torch.zeros(size, ACT)
        self.rewards = torch.zeros(size, 1)
        self.dones = torch.zeros(size, 1)
        self.ptr, self.full, self.size = 0, False, size

    def add(self, o, a, r, o2, d):
        self.obs[self.ptr], self.actions[self.ptr], self.next_obs[self.ptr] = o, a, o2
        self.rewards[self.ptr], self.dones[self.ptr] = r, d
        self.ptr = (self.ptr + 1) % self.size
        self.full = self.full or self.ptr == 0

    def sample(self, batch):
        idx = torch.randint(0, self.size if self.full else self.ptr, (batch,))
        return self.obs[idx], self.actions[idx], self.next_obs[idx], self.rewards[idx], \
            self.dones[idx]


actor = Actor()
ema_actor = copy.deepcopy(actor).requires_grad_(False)
qf1, qf2 = SoftQNetwork(), SoftQNetwork()
qf1_target, qf2_target = copy.deepcopy(qf1), copy.deepcopy(qf2)
q_optimizer = torch.optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=1e-3)
actor_optimizer = torch.optim.Adam(actor.parameters(), lr=3e-4)
target_entropy = -float(ACT)
log_alpha = torch.zeros(1, requires_grad=True)
alpha = log_alpha.exp().item()
a_optimizer = torch.optim.Adam([log_alpha], lr=1e-3)
gamma, tau, batch_size, learning_starts = 0.9, 0.05, 32, 40

# a sanity check of the squashed distribution against the change-of-variables formula
with torch.no_grad():
    d = actor.dist(torch.tensor([[0.3, -0.2]]))
    a = d.rsample()
    u = torch.atanh((a - ACTION_BIAS) / ACTION_SCALE)
    manual = (d.base_dist.log_prob(u) - torch.log(ACTION_SCALE * (1 - a.div(ACTION_SCALE)
                                                                  .pow(2)) + 1e-12))
    print("log_prob vs manual:", f"{(d.log_prob(a) - manual).abs().max().item():.4f}",
          "support:", d.support)

env, rb = PointEnv(), ReplayBuffer(400)
obs, ep_ret, returns = env.reset(), 0.0, []
for global_step in range(220):
    if global_step < learning_starts:
        action = (torch.rand(ACT) * 2 - 1) * ACTION_SCALE
    else:
        with torch.no_grad():
            action = actor.get_action(obs.unsqueeze(0))[0][0]
    next_obs, reward, done = env.step(action)
    rb.add(obs, action, reward, next_obs, float(done))
    obs, ep_ret = next_obs, ep_ret + reward
    if done:
        returns.append(ep_ret)
        obs, ep_ret = env.reset(), 0.0
    if global_step < learning_starts:
        continue
    b_obs, b_act, b_next, b_rew, b_done = rb.sample(batch_size)
    with torch.no_grad():
        next_actions, next_log_pi, _ = actor.get_action(b_next)
        min_q_next = torch.min(qf1_target(b_next, next_actions),
                               qf2_target(b_next, next_actions)) - alpha * next_log_pi
        next_q_value = b_rew + (1 - b_done) * gamma * min_q_next
    qf1_loss = F.mse_loss(qf1(b_obs, b_act), next_q_value)
    qf2_loss = F.mse_loss(qf2(b_obs, b_act), next_q_value)
    qf_loss = qf1_loss + qf2_loss
    q_optimizer.zero_grad()
    qf_loss.backward()
    q_optimizer.step()

    if global_step % 2 == 0:  # delayed policy update
        pi, log_pi, _ = actor.get_action(b_obs)
        min_qf_pi = torch.min(qf1(b_obs, pi), qf2(b_obs, pi))
        actor_loss = ((alpha * log_pi) - min_qf_pi).mean()
        actor_optimizer.zero_grad()
        actor_loss.backward()
        actor_optimizer.step()
        with torch.no_grad():
            _, log_pi, _ = actor.get_action(b_obs)
        alpha_loss = (-log_alpha.exp() * (log_pi + target_entropy)).mean()
        a_optimizer.zero_grad()
        alpha_loss.backward()
        a_optimizer.step()
        alpha = log_alpha.exp().item()

    with torch.no_grad():  # Polyak averaging, two common spellings
        for param, target_param in zip(qf1.parameters(), qf1_target.parameters()):
            target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)
        for param, target_param in zip(qf2.parameters(), qf2_target.parameters()):
            target_param.lerp_(param, tau)
        ema_params, actor_params = list(ema_actor.parameters()), list(actor.parameters())
        torch._foreach_lerp_(ema_params, actor_params, 0.1)
    if global_step % 30 == 0:
        with torch.no_grad():
            ema_gap = torch._foreach_norm(torch._foreach_sub(ema_params, actor_params))
        print(f"ema gap {max(g.item() for g in ema_gap):.4f}", end=" ")
        print(f"step {global_step} qf1 {qf1_loss.item():.4f} qf2 {qf2_loss.item():.4f} "
              f"actor {actor_loss.item():.4f} alpha {alpha:.4f} "
              f"entropy est {-log_pi.mean().item():.3f}")

print("episode returns:", [f"{r:.3f}" for r in returns])
with torch.no_grad():
    probe = torch.tensor([[1.0, 1.0], [-1.0, 0.5], [0.0, 0.0]])
    _, _, mean_action = actor.get_action(probe)
    print("greedy actions:", [f"{v:.3f}" for v in mean_action.flatten().tolist()])
    _, _, ema_action = ema_actor.get_action(probe)
    print("ema greedy actions:", [f"{v:.3f}" for v in ema_action.flatten().tolist()])
    gap = max((p - t).abs().max().item()
              for p, t in zip(qf1.parameters(), qf1_target.parameters()))
    print(f"target lag qf1 {gap:.4f}")
    print("target q:", [f"{v:.3f}" for v in qf2_target(probe, mean_action).flatten().tolist()])
