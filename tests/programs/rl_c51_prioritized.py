"""A small Rainbow-style agent: C51 distributional DQN (Bellemare et al., 2017) with a dueling
head, factorised NoisyNet layers, n-step returns and prioritized experience replay (Schaul et
al., 2016), after the Kaixhin/Rainbow and CleanRL c51.py reference code.

The categorical projection of the Bellman target onto the fixed support uses ``floor``/``ceil``
and both ``index_add_`` (flattened offsets) and ``scatter_add_``; the two must agree. The replay
priorities live in a tensor sum tree; proportional sampling is done twice: by stratified
``searchsorted`` on a ``cumsum`` and by ``torch.multinomial``; importance weights are normalised
by their max. The task is a 7-cell corridor with a slippery floor whose slips come from a
seeded ``torch.Generator``.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

torch.manual_seed(0)
N_STATES, N_ACTIONS = 7, 3          # left, stay, right
ATOMS, V_MIN, V_MAX = 21, -2.0, 2.0
GAMMA, N_STEP = 0.9, 3
BATCH = 16
support = torch.linspace(V_MIN, V_MAX, ATOMS)
delta_z = (V_MAX - V_MIN) / (ATOMS - 1)


class SlipperyCorridor:
    def __init__(self, generator):
        self.g = generator

    def reset(self):
        self.pos, self.t = 3, 0
        return self.obs()

    def obs(self):
        return F.one_hot(torch.tensor(self.pos), N_STATES).float()

    def step(self, action):
        move = action - 1
        if torch.rand((), generator=self.g).item() < 0.1:
            move = -move
        self.pos = min(max(self.pos + move, 0), N_STATES - 1)
        self.t += 1
        if self.pos == N_STATES - 1:
            return self.obs(), 1.0, True
        if self.pos == 0:
            return self.obs(), -1.0, True
        return self.obs(), -0.02, self.t >= 15


class NoisyLinear(nn.Module):
    def __init__(self, in_features, out_features, std_init=0.5):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
        self.register_buffer("weight_epsilon", torch.empty(out_features, in_features))
        self.bias_mu = nn.Parameter(torch.empty(out_features))
        self.bias_sigma = nn.Parameter(torch.empty(out_features))
        self.register_buffer("bias_epsilon", torch.empty(out_features))
        mu_range = 1 / math.sqrt(in_features)
        self.weight_mu.data.uniform_(-mu_range, mu_range)
        self.weight_sigma.data.fill_(std_init / math.sqrt(in_features))
        self.bias_mu.data.uniform_(-mu_range, mu_range)
        self.bias_sigma.data.fill_(std_init / math.sqrt(out_features))
        self.reset_noise()

    @staticmethod
    def _scale_noise(size):
        x = torch.randn(size)
        return x.sign().mul_(x.abs().sqrt_())

    def reset_noise(self):
        eps_in = self._scale_noise(self.in_features)
        eps_out = self._scale_noise(self.out_features)
        self.weight_epsilon.copy_(eps_out.outer(eps_in))
        self.bias_epsilon.copy_(eps_out)

    def forward(self, x):
        if self.training:
            return F.linear(x, self.weight_mu + self.weight_sigma * self.weight_epsilon,
                            self.bias_mu + self.bias_sigma * self.bias_epsilon)
        return F.linear(x, self.weight_mu, self.bias_mu)


class DuelingC51(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(N_STATES, 32), nn.ReLU())
        self.value = NoisyLinear(32, ATOMS)
        self.adv = NoisyLinear(32, N_ACTIONS * ATOMS)

    def forward(self, x, log=False):
        h = self.body(x)
        v = self.value(h).view(-1, 1, ATOMS)
        a = self.adv(h).view(-1, N_ACTIONS, ATOMS)
        q = v + a - a.mean(1, keepdim=True)
        return F.log_softmax(q, dim=2) if log else F.softmax(q, dim=2)

    def reset_noise(self):
        for m in self.modules():
            if isinstance(m, NoisyLinear):
                m.reset_noise()


class SumTree:
    """Priorities in the leaves of a complete binary tree stored in one tensor."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.tree = torch.zeros(2 * capacity - 1, dtype=torch.float64)

    def update(self, idx, priority):
        node = idx + self.capacity - 1
        change = priority - self.tree[node]
        while True:
            self.tree[node] += change
            if node == 0:
                break
            node = (node - 1) // 2

    def total(self):
        return self.tree[0].item()

    def find(self, value):
        node = 0
        while node < self.capacity - 1:
            left = 2 * node + 1
            if value <= self.tree[left]:
                node = left
            else:
                value -= self.tree[left].item()
                node = left + 1
        return node - (self.capacity - 1)

    def leaves(self):
        return self.tree[self.capacity - 1:]


class PrioritizedReplay:
    def __init__(self, capacity, alpha=0.6):
        self.tree = SumTree(capacity)
        self.alpha, self.capacity = alpha, capacity
        self.data = [None] * capacity
        self.ptr, self.size, self.max_priority = 0, 0, 1.0

    def add(self, transition):
        self.data[self.ptr] = transition
        self.tree.update(self.ptr, self.max_priority ** self.alpha)
        self.ptr = (self.ptr + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n, beta, generator):
        total = self.tree.total()
        segment = total / n
        u = (torch.arange(n, dtype=torch.float64) + torch.rand(n, generator=generator,
                                                               dtype=torch.float64)) * segment
        idx_tree = torch.tensor([self.tree.find(v) for v in u.tolist()])
        cdf = self.tree.leaves()[:self.size].cumsum(0)
        idx_sorted = torch.searchsorted(cdf, u.clamp(max=cdf[-1].item() - 1e-9))
        assert torch.equal(idx_tree, idx_sorted), (idx_tree, idx_sorted)
        probs = self.tree.leaves()[idx_sorted] / total
        weights = (self.size * probs).pow(-beta)
        weights = weights / weights.max()
        batch = [self.data[i] for i in idx_sorted.tolist()]
        return idx_sorted, weights.float(), batch

    def update_priorities(self, idx, td_errors):
        for i, p in zip(idx.tolist(), td_errors.tolist()):
            self.max_priority = max(self.max_priority, p)
            self.tree.update(i, (p + 1e-6) ** self.alpha)


def project(next_dist, rewards, dones, gamma_n):
    """Project r + gamma^n z onto the support (rows: batch, columns: atoms)."""
    tz = (rewards.unsqueeze(1) + (1 - dones).unsqueeze(1) * gamma_n * support).clamp(V_MIN, V_MAX)
    b = (tz - V_MIN) / delta_z
    lo, hi = b.floor().long(), b.ceil().long()
    lo[(hi > 0) & (lo == hi)] -= 1
    hi[(lo < ATOMS - 1) & (lo == hi)] += 1
    m = torch.zeros(rewards.shape[0], ATOMS)
    offset = (torch.arange(rewards.shape[0]) * ATOMS).unsqueeze(1).expand(-1, ATOMS)
    m.view(-1).index_add_(0, (lo + offset).view(-1), (next_dist * (hi.float() - b)).view(-1))
    m.view(-1).index_add_(0, (hi + offset).view(-1), (next_dist * (b - lo.float())).view(-1))
    m2 = torch.zeros_like(m)
    m2.scatter_add_(1, lo, next_dist * (hi - b))
    m2.scatter_add_(1, hi, next_dist * (b - lo))
    assert torch.allclose(m, m2, atol=1e-6)
    return m


online, target = DuelingC51(), DuelingC51()
target.load_state_dict(online.state_dict())
opt = torch.optim.Adam(online.parameters(), lr=2e-3, eps=1.5e-4)
env_gen = torch.Generator().manual_seed(3)
sample_gen = torch.Generator().manual_seed(4)
env = SlipperyCorridor(env_gen)
memory = PrioritizedReplay(128)

demo = project(torch.full((2, ATOMS), 1.0 / ATOMS), torch.tensor([0.5, -1.0]),
               torch.tensor([0.0, 1.0]), GAMMA)
print("projection rows sum:", [f"{v:.4f}" for v in demo.sum(1).tolist()],
      "mass at -1:", f"{demo[1, 5].item():.4f}")

step = 0
for episode in range(16):
    s = env.reset()
    window, ep_ret, done, losses = [], 0.0, False, []
    while not done:
        with torch.no_grad():
            q = (online(s.unsqueeze(0)) * support).sum(2)
            a = q.argmax(1).item()
        if torch.rand((), generator=sample_gen).item() < max(0.05, 0.5 - 0.03 * episode):
            a = torch.randint(N_ACTIONS, (), generator=sample_gen).item()
        s2, r, done = env.step(a)
        ep_ret += r
        window.append((s, a, r))
        if len(window) == N_STEP or done:
            while window and (len(window) == N_STEP or done):
                R = sum(GAMMA ** k * w[2] for k, w in enumerate(window))
                memory.add((window[0][0], window[0][1], R, s2, float(done), GAMMA ** len(window)))
                window.pop(0)
                if not done:
                    break
        s = s2
        step += 1
        if memory.size >= BATCH:
            beta = min(1.0, 0.4 + 0.6 * step / 150)
            idx, w, batch = memory.sample(BATCH, beta, sample_gen)
            states = torch.stack([b[0] for b in batch])
            actions = torch.tensor([b[1] for b in batch])
            rewards = torch.tensor([b[2] for b in batch])
            next_states = torch.stack([b[3] for b in batch])
            dones = torch.tensor([b[4] for b in batch])
            gammas = torch.tensor([b[5] for b in batch])
            with torch.no_grad():
                next_online = online(next_states)
                best = (next_online * support).sum(2).argmax(1)
                target.reset_noise()
                next_dist = target(next_states)[torch.arange(BATCH), best]
                m = project(next_dist, rewards, dones, gammas.unsqueeze(1))
            log_p = online(states, log=True)
            log_p_a = log_p.gather(1, actions.view(-1, 1, 1).expand(-1, 1, ATOMS)).squeeze(1)
            loss_per = -(m * log_p_a).sum(1)
            loss = (w * loss_per).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(online.parameters(), 10.0)
            opt.step()
            online.reset_noise()
            memory.update_priorities(idx, loss_per.detach())
            losses.append(loss.item())
        if step % 20 == 0:
            target.load_state_dict(online.state_dict())
    mean_loss = sum(losses) / len(losses) if losses else 0.0
    print(f"episode {episode:2d} return {ep_ret:6.2f} loss {mean_loss:.4f} "
          f"total priority {memory.tree.total():.4f}")

online.eval()
with torch.no_grad():
    states = torch.eye(N_STATES)
    dist = online(states)
    q = (dist * support).sum(2)
    print("greedy actions:", q.argmax(1).tolist())
    print("Q(s, right):", [f"{v:.3f}" for v in q[:, 2].tolist()])
    ent = Categorical(probs=dist).entropy()
    print("dist entropy mean:", f"{ent.mean().item():.4f}", "shape", tuple(ent.shape))
    idx = torch.multinomial(memory.tree.leaves()[:memory.size].float(), 8, replacement=True,
                            generator=sample_gen)
    print("multinomial draw:", idx.tolist())
    print("sigma norms:",
          [f"{m.weight_sigma.norm().item():.4f}" for m in (online.value, online.adv)])
