"""TD3 (Fujimoto et al., 2018) on a tiny continuous-control task, after the authors' reference
TD3.py and CleanRL's td3_continuous_action.py: a deterministic tanh actor, twin critics with
``copy.deepcopy`` targets, target policy smoothing (clipped Gaussian noise with ``randn_like``
and ``clamp``), delayed actor updates, and Polyak averaging with ``torch._foreach_mul_`` /
``torch._foreach_add_`` for the critics and ``lerp_`` for the actor. The critic optimizer has
two param groups (the second with weight decay), gradients are clipped with
``clip_grad_norm_``, and the replay buffer is a preallocated tensor ring sampled with
``torch.randint`` on a seeded ``torch.Generator``. The environment is a 1-D double integrator
(position and velocity) written in torch; the action is a bounded force.
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
OBS, ACT = 2, 1
MAX_ACTION = 1.0
GAMMA, TAU = 0.95, 0.05
POLICY_NOISE, NOISE_CLIP, POLICY_FREQ = 0.2, 0.5, 2
BATCH = 32


class DoubleIntegrator:
    """Push a unit mass to the origin: state (x, v), action a in [-1, 1]."""

    def __init__(self, dt=0.1, horizon=20):
        self.dt, self.horizon = dt, horizon

    def reset(self, start):
        self.state = torch.as_tensor(start, dtype=torch.float32)
        self.t = 0
        return self.state.clone()

    def step(self, action):
        x, v = self.state.unbind()
        v = (v + self.dt * action.squeeze()).clamp(-2.0, 2.0)
        x = x + self.dt * v
        self.state = torch.stack([x, v])
        self.t += 1
        reward = -(x.square() + 0.1 * v.square() + 0.01 * action.square().sum())
        return self.state.clone(), float(reward), self.t >= self.horizon


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(OBS, 32)
        self.l2 = nn.Linear(32, 32)
        self.l3 = nn.Linear(32, ACT)

    def forward(self, state):
        a = F.relu(self.l1(state))
        a = F.relu(self.l2(a))
        return MAX_ACTION * torch.tanh(self.l3(a))


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.q1 = nn.Sequential(nn.Linear(OBS + ACT, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                                nn.Linear(32, 1))
        self.q2 = nn.Sequential(nn.Linear(OBS + ACT, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                                nn.Linear(32, 1))

    def forward(self, state, action):
        sa = torch.cat([state, action], dim=1)
        return self.q1(sa), self.q2(sa)

    def Q1(self, state, action):
        return self.q1(torch.cat([state, action], dim=-1))


class ReplayBuffer:
    def __init__(self, capacity, generator):
        self.s = torch.zeros(capacity, OBS)
        self.a = torch.zeros(capacity, ACT)
        self.r = torch.zeros(capacity, 1)
        self.s2 = torch.zeros(capacity, OBS)
        self.nd = torch.zeros(capacity, 1)
        self.ptr, self.size, self.capacity = 0, 0, capacity
        self.g = generator

    def add(self, s, a, r, s2, done):
        i = self.ptr
        self.s[i], self.a[i], self.s2[i] = s, a, s2
        self.r[i] = r
        self.nd[i] = 1.0 - float(done)
        self.ptr = (self.ptr + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n):
        idx = torch.randint(0, self.size, (n,), generator=self.g)
        return self.s[idx], self.a[idx], self.r[idx], self.s2[idx], self.nd[idx]


actor = Actor()
actor_target = copy.deepcopy(actor)
critic = Critic()
critic_target = copy.deepcopy(critic)
for p in list(actor_target.parameters()) + list(critic_target.parameters()):
    p.requires_grad_(False)

actor_opt = torch.optim.Adam(actor.parameters(), lr=3e-3)
critic_opt = torch.optim.Adam([
    {"params": critic.q1.parameters()},
    {"params": critic.q2.parameters(), "weight_decay": 1e-4},
], lr=3e-3, betas=(0.9, 0.99))
print("critic groups:", [(len(g["params"]), g["weight_decay"]) for g in critic_opt.param_groups])

gen = torch.Generator().manual_seed(1)
buffer = ReplayBuffer(2000, gen)
env = DoubleIntegrator()
total_it = 0


def train_step():
    global total_it
    total_it += 1
    state, action, reward, next_state, not_done = buffer.sample(BATCH)
    with torch.no_grad():
        noise = (torch.randn_like(action) * POLICY_NOISE).clamp(-NOISE_CLIP, NOISE_CLIP)
        next_action = (actor_target(next_state) + noise).clamp(-MAX_ACTION, MAX_ACTION)
        tq1, tq2 = critic_target(next_state, next_action)
        target_q = reward + not_done * GAMMA * torch.min(tq1, tq2)
    cq1, cq2 = critic(state, action)
    critic_loss = F.mse_loss(cq1, target_q) + F.mse_loss(cq2, target_q)
    critic_opt.zero_grad(set_to_none=True)
    critic_loss.backward()
    cnorm = nn.utils.clip_grad_norm_(critic.parameters(), max_norm=10.0)
    critic_opt.step()
    actor_loss = None
    if total_it % POLICY_FREQ == 0:
        actor_loss = -critic.Q1(state, actor(state)).mean()
        actor_opt.zero_grad()
        actor_loss.backward()
        actor_opt.step()
        with torch.no_grad():
            cp = list(critic.parameters())
            tp = list(critic_target.parameters())
            torch._foreach_mul_(tp, 1.0 - TAU)
            torch._foreach_add_(tp, cp, alpha=TAU)
            for p, tp_ in zip(actor.parameters(), actor_target.parameters()):
                tp_.lerp_(p, TAU)
    return critic_loss.item(), cnorm.item(), None if actor_loss is None else actor_loss.item()


def evaluate(policy, starts):
    returns = []
    for s0 in starts:
        s = env.reset(s0)
        ret, done = 0.0, False
        while not done:
            with torch.no_grad():
                a = policy(s.unsqueeze(0))[0]
            s, r, done = env.step(a)
            ret += r
        returns.append(ret)
    return float(np.mean(returns))


eval_starts = [[1.0, 0.0], [-0.8, 0.5], [0.5, -0.5]]
print(f"initial eval return {evaluate(actor, eval_starts):.2f}")

starts = rng.uniform(-1.0, 1.0, size=(12, 2)).astype(np.float32)
expl_noise = torch.distributions.Normal(torch.zeros(ACT), torch.full((ACT,), 0.3))
for ep, s0 in enumerate(starts):
    s = env.reset(s0)
    done, ep_ret = False, 0.0
    closs = []
    while not done:
        if ep < 2:
            a = torch.rand(ACT) * 2 - 1
        else:
            with torch.no_grad():
                a = (actor(s.unsqueeze(0))[0] + expl_noise.sample()).clamp(-MAX_ACTION, MAX_ACTION)
        s2, r, done = env.step(a)
        buffer.add(s, a, r, s2, done)
        s, ep_ret = s2, ep_ret + r
        if buffer.size >= BATCH:
            cl, cn, al = train_step()
            closs.append(cl)
    mean_cl = np.mean(closs) if closs else float("nan")
    print(f"episode {ep:2d} return {ep_ret:8.2f} critic_loss {mean_cl:.4f} buffer {buffer.size}")

print(f"final eval return {evaluate(actor, eval_starts):.2f}")
with torch.no_grad():
    grid = torch.linspace(-1, 1, 5)
    states = torch.cartesian_prod(grid, torch.zeros(1))
    print("policy on grid:", [f"{v:.3f}" for v in actor(states).squeeze(1).tolist()])
    q1, q2 = critic(states, actor(states))
    print("twin gap:", f"{(q1 - q2).abs().max().item():.4f}")
    drift = sum((p - tp).abs().sum()
                for p, tp in zip(critic.parameters(), critic_target.parameters()))
    print(f"critic-target drift {drift.item():.3f}")
print("target requires_grad:", any(p.requires_grad for p in critic_target.parameters()))
print("updates:", total_it, "actor steps:", actor_opt.state[actor.l1.weight]["step"].item())
