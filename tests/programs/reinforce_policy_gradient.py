"""REINFORCE with torch.distributions, after PyTorch's examples/reinforcement_learning/reinforce.py.

A categorical policy learns a small corridor task; a Gaussian policy, a PPO-style KL penalty and
a VAE-style KL to the prior follow. Draws from ``m.sample()`` differ between libraries, so the
actions that drive learning come from a NumPy generator (inverse CDF of the policy's probs);
the program prints only what does not depend on torch's random numbers: log_prob of the chosen
actions, entropies, KL divergences, losses and the learned probabilities.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import (Categorical, Independent, Normal, kl_divergence,
                                 MultivariateNormal, Bernoulli)

rng = np.random.default_rng(0)
gamma = 0.9


class Corridor:
    """Five cells; start in the middle; reward 1 at the right end, -1 at the left end."""

    def reset(self):
        self.pos = 2
        return self.state()

    def state(self):
        s = np.zeros(5, dtype=np.float32)
        s[self.pos] = 1.0
        return torch.from_numpy(s)

    def step(self, action):
        self.pos += 1 if action == 1 else -1
        done = self.pos in (0, 4)
        reward = 1.0 if self.pos == 4 else (-1.0 if self.pos == 0 else -0.05)
        return self.state(), reward, done


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(5, 16)
        self.affine2 = nn.Linear(16, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=-1)


def init_weights(model):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))


policy = Policy()
init_weights(policy)
optimizer = optim.Adam(policy.parameters(), lr=2e-2)
env = Corridor()


def select_action(state):
    probs = policy(state.unsqueeze(0))
    m = Categorical(probs)
    drawn = m.sample()  # torch's draw: used here only for its shape and dtype
    assert drawn.shape == (1,) and drawn.dtype == torch.int64
    u = rng.random()
    action = torch.tensor([int(u > probs[0, 0].item())])
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item(), m.entropy().item()


def finish_episode():
    R = 0
    returns = []
    for r in policy.rewards[::-1]:
        R = r + gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    if len(returns) > 1:
        returns = (returns - returns.mean()) / (returns.std() + 1e-6)
    policy_loss = []
    for log_prob, R in zip(policy.saved_log_probs, returns):
        policy_loss.append(-log_prob * R)
    optimizer.zero_grad()
    policy_loss = torch.cat(policy_loss).sum()
    policy_loss.backward()
    optimizer.step()
    del policy.rewards[:]
    del policy.saved_log_probs[:]
    return policy_loss.item()


for i_episode in range(1, 31):
    state = env.reset()
    ep_reward, entropies = 0.0, []
    for t in range(1, 20):
        action, entropy = select_action(state)
        entropies.append(entropy)
        state, reward, done = env.step(action)
        policy.rewards.append(reward)
        ep_reward += reward
        if done:
            break
    loss = finish_episode()
    if i_episode % 5 == 0:
        print("Episode {}\tsteps: {}\treward: {:.2f}\tloss: {:.4f}\tmean entropy: {:.4f}".format(
            i_episode, t, ep_reward, loss, float(np.mean(entropies))))

with torch.no_grad():
    probs = policy(torch.eye(5))
print("P(right) per cell:", [round(p, 3) for p in probs[:, 1].tolist()])
m = Categorical(probs)
print("entropy per cell:", [round(e, 3) for e in m.entropy().tolist()])
print("enumerate_support:", m.enumerate_support(expand=False).flatten().tolist())
print("log_prob(all right):", round(m.log_prob(torch.ones(5, dtype=torch.long)).sum().item(), 4))

# A Gaussian policy for a continuous action: score-function gradient on fixed actions
mu_net = nn.Linear(3, 2)
log_std = nn.Parameter(torch.zeros(2))
init_weights(mu_net)
states = torch.from_numpy(rng.standard_normal((6, 3)).astype(np.float32))
actions = torch.from_numpy(rng.standard_normal((6, 2)).astype(np.float32))
advantages = torch.from_numpy(rng.standard_normal(6).astype(np.float32))
opt = optim.SGD(list(mu_net.parameters()) + [log_std], lr=0.1)
for step in range(3):
    dist = Independent(Normal(mu_net(states), log_std.exp()), 1)
    log_prob = dist.log_prob(actions)
    loss = -(log_prob * advantages).mean() - 0.01 * dist.entropy().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print("gaussian step {}: loss {:.4f} log_prob[0] {:.4f} batch {} event {}".format(
        step, loss.item(), log_prob[0].item(), tuple(dist.batch_shape), tuple(dist.event_shape)))
print("log_std grad:", [round(g, 4) for g in log_std.grad.tolist()])

# PPO-style: KL between the old and the new categorical policy
with torch.no_grad():
    old = Categorical(logits=torch.tensor([[0.2, -0.1], [1.0, 0.5], [0.0, 0.0]]))
new_logits = torch.tensor([[0.3, -0.3], [0.7, 0.6], [0.1, -0.1]], requires_grad=True)
new = Categorical(logits=new_logits)
kl = kl_divergence(old, new).mean()
kl.backward()
print("KL(old || new): {:.5f}".format(kl.item()))
print("d KL / d logits:", [[round(v, 5) for v in row] for row in new_logits.grad.tolist()])

# VAE-style: KL(q(z|x) || N(0, I)) and the reparameterised sample's pathwise gradient
mu = torch.tensor([[0.5, -0.2], [0.1, 0.3]], requires_grad=True)
logvar = torch.tensor([[0.0, -0.5], [0.2, 0.1]], requires_grad=True)
q = Normal(mu, torch.exp(0.5 * logvar))
prior = Normal(torch.zeros(2), torch.ones(2))
kld = kl_divergence(q, prior).sum()
closed_form = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
print("KLD {:.5f} closed form {:.5f}".format(kld.item(), closed_form.item()))
z = q.rsample()
print("rsample shape {} requires_grad {}".format(tuple(z.shape), z.requires_grad))
kld.backward()
print("d KLD / d mu:", [[round(v, 4) for v in row] for row in mu.grad.tolist()])

# A few more distributions a tutorial meets
mvn = MultivariateNormal(torch.zeros(2), covariance_matrix=torch.tensor([[1.0, 0.3],
                                                                         [0.3, 2.0]]))
print("MVN log_prob {:.4f} entropy {:.4f}".format(
    mvn.log_prob(torch.tensor([0.5, -1.0])).item(), mvn.entropy().item()))
coin = Bernoulli(logits=torch.tensor([0.0, 2.0]))
print("Bernoulli log_prob", [round(v, 4) for v in coin.log_prob(torch.tensor([1.0, 0.0])).tolist()],
      "mean", [round(v, 4) for v in coin.mean.tolist()])
print(Normal(torch.tensor(0.0), torch.tensor(1.0)), m, coin)
try:
    Normal(torch.tensor(0.0), torch.tensor(-1.0))
except ValueError as e:
    print("ValueError:", str(e).splitlines()[0])
