"""Offline RL from a fixed dataset: Implicit Q-Learning (Kostrikov et al., 2021) and
Conservative Q-Learning (Kumar et al., 2020), after the reference code of gwthomas/IQL-PyTorch
and the CORL single-file implementations.

A behaviour dataset of a 2-D reach task is generated once with NumPy and served by a
``DataLoader`` over a ``TensorDataset`` (seeded ``RandomSampler`` through ``generator=``).
IQL: an ensemble of two Q networks evaluated in one call with ``torch.func.stack_module_state``
+ ``functional_call`` + ``vmap``, an expectile value loss, and advantage-weighted regression
of a ``TransformedDistribution(Independent(Normal), TanhTransform(cache_size=1))`` policy with
``exp().clamp(max=...)`` weights and a ``CosineAnnealingLR`` schedule. CQL: the conservative
penalty ``logsumexp`` over uniformly drawn and policy-sampled actions (with importance
corrections from ``log_prob``) minus the data Q-value, and a Lagrange-free alpha.
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Independent, Normal, TanhTransform, TransformedDistribution
from torch.func import functional_call, stack_module_state, vmap
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
OBS, ACT, N = 4, 2, 512
GAMMA, TAU = 0.9, 0.01


def make_dataset():
    """Goal-reaching transitions from a noisy, half-competent behaviour policy."""
    pos = rng.uniform(-1, 1, size=(N, 2))
    goal = rng.uniform(-1, 1, size=(N, 2))
    good = np.clip(0.5 * (goal - pos), -1, 1)
    act = np.where(rng.random((N, 1)) < 0.5, good, rng.uniform(-1, 1, size=(N, 2)))
    act = np.clip(act + 0.1 * rng.standard_normal((N, 2)), -0.99, 0.99)
    nxt = pos + 0.5 * act
    dist = np.linalg.norm(goal - nxt, axis=1)
    reward = -dist
    done = (dist < 0.15).astype(np.float64)
    obs = np.concatenate([pos, goal], 1)
    next_obs = np.concatenate([nxt, goal], 1)
    cols = [obs, act, reward[:, None], next_obs, done[:, None]]
    return [torch.from_numpy(c).float() for c in cols]


data = make_dataset()
print("dataset:", [tuple(t.shape) for t in data], f"mean reward {data[2].mean().item():.4f}")
loader = DataLoader(TensorDataset(*data), batch_size=64,
                    sampler=RandomSampler(data[0], generator=torch.Generator().manual_seed(1)),
                    drop_last=True)


def mlp(i, o, h=64):
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, o))


class QEnsemble(nn.Module):
    def __init__(self, n=2):
        super().__init__()
        self.members = nn.ModuleList([mlp(OBS + ACT, 1) for _ in range(n)])
        self.base = copy.deepcopy(self.members[0]).to("meta")

    def forward(self, s, a):
        # stack_module_state returns fresh leaves (no gradient reaches the members), so the
        # trained path stacks the members' parameters with torch.stack instead
        names = [n for n, _ in self.members[0].named_parameters()]
        params = {n: torch.stack([dict(m.named_parameters())[n] for m in self.members])
                  for n in names}
        buffers = {}
        sa = torch.cat([s, a], -1)

        def call(p, b, x):
            return functional_call(self.base, (p, b), (x,))

        return vmap(call, in_dims=(0, 0, None))(params, buffers, sa).squeeze(-1)


class TanhGaussianPolicy(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = mlp(OBS, 2 * ACT)

    def forward(self, s):
        mean, log_std = self.net(s).chunk(2, dim=-1)
        log_std = log_std.clamp(-5.0, 2.0)
        base = Independent(Normal(mean, log_std.exp()), 1)
        return TransformedDistribution(base, [TanhTransform(cache_size=1)])

    def act(self, s):
        return torch.tanh(self.net(s).chunk(2, dim=-1)[0])


def expectile_loss(diff, expectile=0.7):
    weight = torch.where(diff > 0, expectile, 1 - expectile)
    return (weight * diff.square()).mean()


def evaluate(policy, n=64):
    """Mean final distance to the goal and mean discounted return over a 4-step rollout."""
    g = np.random.default_rng(123)
    pos = torch.from_numpy(g.uniform(-1, 1, size=(n, 2))).float()
    goal = torch.from_numpy(g.uniform(-1, 1, size=(n, 2))).float()
    discounts = (GAMMA ** np.arange(4)).astype(np.float32)
    ret = torch.zeros(n)
    with torch.no_grad():
        for k in range(4):
            pos = pos + 0.5 * policy.act(torch.cat([pos, goal], 1))
            ret = ret + discounts[k] * -torch.linalg.vector_norm(goal - pos, dim=1)
    dist = torch.linalg.vector_norm(goal - pos, dim=1).mean().item()
    return f"{dist:.4f} return {ret.mean().item():.4f}"


# ---------------------------------------------------------------- IQL
torch.manual_seed(1)
q = QEnsemble()
stacked, _ = stack_module_state(list(q.members))
print("stacked:", {k: tuple(t.shape) for k, t in stacked.items()},
      "leaf", stacked["0.weight"].is_leaf, "requires_grad", stacked["0.weight"].requires_grad)
with torch.no_grad():
    ref = torch.stack([m(torch.cat(data[:2], -1)[:5]).squeeze(-1) for m in q.members])
    print("vmap matches loop:", torch.allclose(q(data[0][:5], data[1][:5]), ref, atol=1e-6))
q_target = copy.deepcopy(q).requires_grad_(False)
v = mlp(OBS, 1)
pi = TanhGaussianPolicy()
q_opt = torch.optim.Adam(q.members.parameters(), lr=1e-3)
v_opt = torch.optim.Adam(v.parameters(), lr=1e-3)
pi_opt = torch.optim.Adam(pi.parameters(), lr=1e-3)
EPOCHS = 8
pi_sched = torch.optim.lr_scheduler.CosineAnnealingLR(pi_opt, T_max=EPOCHS * len(loader))
print(f"IQL before: goal distance {evaluate(pi)}")
for epoch in range(EPOCHS):
    tot = torch.zeros(3)
    for s, a, r, s2, d in loader:
        with torch.no_grad():
            target_q = q_target(s, a).min(0).values
        vs = v(s).squeeze(-1)
        adv = target_q - vs
        v_loss = expectile_loss(adv)
        v_opt.zero_grad()
        v_loss.backward()
        v_opt.step()

        with torch.no_grad():
            next_v = v(s2).squeeze(-1)
            backup = r.squeeze(-1) + GAMMA * (1 - d.squeeze(-1)) * next_v
        qs = q(s, a)
        q_loss = sum(F.mse_loss(qi, backup) for qi in qs.unbind(0)) / 2
        q_opt.zero_grad()
        q_loss.backward()
        q_opt.step()
        with torch.no_grad():
            for p, tp in zip(q.parameters(), q_target.parameters()):
                tp.mul_(1 - TAU).add_(p, alpha=TAU)

        exp_adv = torch.exp(3.0 * adv.detach()).clamp(max=100.0)
        log_prob = pi(s).log_prob(a.clamp(-0.999, 0.999))
        pi_loss = -(exp_adv * log_prob).mean()
        pi_opt.zero_grad()
        pi_loss.backward()
        pi_opt.step()
        pi_sched.step()
        tot += torch.stack([v_loss.detach(), q_loss.detach(), pi_loss.detach()])
    tot /= len(loader)
    print(f"IQL epoch {epoch} v {tot[0]:.4f} q {tot[1]:.4f} pi {tot[2]:.3f} "
          f"lr {pi_sched.get_last_lr()[0]:.6f}")
print(f"IQL after: goal distance {evaluate(pi)}")

# ---------------------------------------------------------------- CQL
torch.manual_seed(2)
q1, q2 = mlp(OBS + ACT, 1), mlp(OBS + ACT, 1)
q1_t, q2_t = copy.deepcopy(q1), copy.deepcopy(q2)
actor = TanhGaussianPolicy()
critic_opt = torch.optim.Adam(list(q1.parameters()) + list(q2.parameters()), lr=1e-3)
actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-3)
log_alpha = torch.zeros(1, requires_grad=True)
alpha_opt = torch.optim.Adam([log_alpha], lr=1e-3)
target_entropy = -float(ACT)
N_RANDOM, CQL_WEIGHT = 4, 1.0


def q_values(net, s, a):
    """Q for a batch of states and a [B, K, A] stack of actions -> [B, K]."""
    B, K = a.shape[:2]
    s_rep = s.unsqueeze(1).expand(B, K, OBS).reshape(B * K, OBS)
    return net(torch.cat([s_rep, a.reshape(B * K, ACT)], -1)).view(B, K)


def sample_actions(s, k):
    dist = actor(s)
    a = dist.rsample((k,))                     # [K, B, A]
    logp = dist.log_prob(a)                    # [K, B]
    return a.transpose(0, 1), logp.transpose(0, 1)


print(f"CQL before: goal distance {evaluate(actor)}")
for epoch in range(5):
    stats = []
    for s, a, r, s2, d in loader:
        B = s.shape[0]
        with torch.no_grad():
            a2, logp2 = sample_actions(s2, 1)
            tq = torch.min(q_values(q1_t, s2, a2), q_values(q2_t, s2, a2)).squeeze(1)
            tq = tq - log_alpha.exp() * logp2.squeeze(1)
            backup = r.squeeze(-1) + GAMMA * (1 - d.squeeze(-1)) * tq
        q1_data = q1(torch.cat([s, a], -1)).squeeze(-1)
        q2_data = q2(torch.cat([s, a], -1)).squeeze(-1)
        bellman = F.mse_loss(q1_data, backup) + F.mse_loss(q2_data, backup)

        rand_a = torch.empty(B, N_RANDOM, ACT).uniform_(-1, 1)
        rand_logp = np.log(0.5 ** ACT)
        with torch.no_grad():
            cur_a, cur_logp = sample_actions(s, N_RANDOM)
            nxt_a, nxt_logp = sample_actions(s2, N_RANDOM)
        penalty = 0.0
        for net, q_data in ((q1, q1_data), (q2, q2_data)):
            cat_q = torch.cat([
                q_values(net, s, rand_a) - rand_logp,
                q_values(net, s, cur_a) - cur_logp,
                q_values(net, s, nxt_a) - nxt_logp,
            ], dim=1)
            penalty = penalty + (torch.logsumexp(cat_q, dim=1) - q_data).mean()
        critic_loss = bellman + CQL_WEIGHT * penalty
        critic_opt.zero_grad()
        critic_loss.backward()
        gn = nn.utils.clip_grad_norm_(list(q1.parameters()) + list(q2.parameters()), 5.0)
        critic_opt.step()

        new_a, logp = sample_actions(s, 1)
        q_new = torch.min(q_values(q1, s, new_a), q_values(q2, s, new_a)).squeeze(1)
        alpha = log_alpha.exp().detach()
        actor_loss = (alpha * logp.squeeze(1) - q_new).mean()
        actor_opt.zero_grad()
        actor_loss.backward()
        actor_opt.step()
        alpha_loss = -(log_alpha * (logp.detach() + target_entropy)).mean()
        alpha_opt.zero_grad()
        alpha_loss.backward()
        alpha_opt.step()
        with torch.no_grad():
            for net, tnet in ((q1, q1_t), (q2, q2_t)):
                for p, tp in zip(net.parameters(), tnet.parameters()):
                    tp.lerp_(p, TAU)
        stats.append([bellman.item(), penalty.item(), actor_loss.item(), gn.item()])
    m = np.mean(stats, axis=0)
    print(f"CQL epoch {epoch} bellman {m[0]:.4f} penalty {m[1]:.4f} actor {m[2]:.4f} "
          f"gradnorm {m[3]:.3f} alpha {log_alpha.exp().item():.4f}")
print(f"CQL after: goal distance {evaluate(actor)}")
with torch.no_grad():
    s = data[0][:3]
    d = actor(s)
    print("policy mean action:", [f"{x:.3f}" for x in actor.act(s).flatten().tolist()])
    print("entropy estimate:", f"{-d.log_prob(d.sample((16,))).mean().item():.3f}")
    print("event shape", tuple(d.event_shape), "batch shape", tuple(d.batch_shape))
