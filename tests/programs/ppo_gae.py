"""PPO with generalized advantage estimation, in the style of CleanRL's ppo.py and the
"PPO-for-beginners" repositories: a rollout buffer, GAE(lambda) computed backwards, advantage
normalisation, minibatches shuffled with ``torch.randperm`` / ``BatchSampler``, the clipped
surrogate with a clipped value loss, an entropy bonus and ``clip_grad_norm_``.

Two tiny hand-written environments: a discrete corridor (Categorical policy) and a 1-D
point-reaching task (Normal policy with a state-independent log-std parameter).
"""
import torch
import torch.nn as nn
from torch.distributions import Categorical, Normal
from torch.utils.data import BatchSampler, SubsetRandomSampler

torch.manual_seed(0)


class Corridor:
    """Seven cells; start in the middle; +1 at the right end, -1 at the left, small step cost."""

    n_states, n_actions = 7, 2

    def reset(self):
        self.pos, self.t = 3, 0
        return self.obs()

    def obs(self):
        return torch.nn.functional.one_hot(torch.tensor(self.pos), self.n_states).float()

    def step(self, a):
        self.pos += 1 if a == 1 else -1
        self.t += 1
        done = self.pos in (0, self.n_states - 1) or self.t >= 12
        r = 1.0 if self.pos == self.n_states - 1 else (-1.0 if self.pos == 0 else -0.02)
        if done:
            return self.reset(), r, True
        return self.obs(), r, False


class PointReach:
    """x in [-2, 2]; action moves x; reward -|x - 1|; episodes of 8 steps."""

    def reset(self):
        self.x, self.t = -1.0, 0
        return self.obs()

    def obs(self):
        return torch.tensor([self.x, self.t / 8.0])

    def step(self, a):
        self.x = float(min(max(self.x + 0.5 * float(a), -2.0), 2.0))
        self.t += 1
        r = -abs(self.x - 1.0)
        if self.t >= 8:
            return self.reset(), r, True
        return self.obs(), r, False


def layer_init(layer, std=2 ** 0.5, bias_const=0.0):
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, obs_dim, act_dim, continuous):
        super().__init__()
        self.continuous = continuous
        self.critic = nn.Sequential(layer_init(nn.Linear(obs_dim, 32)), nn.Tanh(),
                                    layer_init(nn.Linear(32, 1), std=1.0))
        self.actor = nn.Sequential(layer_init(nn.Linear(obs_dim, 32)), nn.Tanh(),
                                   layer_init(nn.Linear(32, act_dim), std=0.01))
        if continuous:
            self.actor_logstd = nn.Parameter(torch.zeros(1, act_dim))

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        out = self.actor(x)
        if self.continuous:
            std = self.actor_logstd.expand_as(out).exp()
            dist = Normal(out, std)
        else:
            dist = Categorical(logits=out)
        if action is None:
            action = dist.sample()
        if self.continuous:
            return action, dist.log_prob(action).sum(1), dist.entropy().sum(1), self.critic(x)
        return action, dist.log_prob(action), dist.entropy(), self.critic(x)


def compute_gae(rewards, values, dones, next_value, next_done, gamma=0.99, lam=0.95):
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    lastgaelam = 0
    for t in reversed(range(steps)):
        if t == steps - 1:
            nextnonterminal = 1.0 - next_done
            nextvalues = next_value
        else:
            nextnonterminal = 1.0 - dones[t + 1]
            nextvalues = values[t + 1]
        delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
        advantages[t] = lastgaelam = delta + gamma * lam * nextnonterminal * lastgaelam
    return advantages, advantages + values


def train(env, agent, obs_dim, act_shape, iterations, num_steps=64, minibatch=16, epochs=4,
          clip_coef=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, lr=3e-3, sampler=False):
    optimizer = torch.optim.Adam(agent.parameters(), lr=lr, eps=1e-5)
    obs_buf = torch.zeros((num_steps, obs_dim))
    act_buf = torch.zeros((num_steps,) + act_shape)
    logp_buf = torch.zeros(num_steps)
    rew_buf = torch.zeros(num_steps)
    done_buf = torch.zeros(num_steps)
    val_buf = torch.zeros(num_steps)
    next_obs, next_done = env.reset(), 0.0
    for it in range(1, iterations + 1):
        frac = 1.0 - (it - 1.0) / iterations
        optimizer.param_groups[0]["lr"] = frac * lr
        ep_return, returns_seen = 0.0, []
        for step in range(num_steps):
            obs_buf[step] = next_obs
            done_buf[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs.unsqueeze(0))
            val_buf[step] = value.flatten()[0]
            act_buf[step] = action[0]
            logp_buf[step] = logprob[0]
            a = action[0].tolist() if agent.continuous else action.item()
            next_obs, reward, done = env.step(a[0] if agent.continuous else a)
            rew_buf[step] = reward
            next_done = float(done)
            ep_return += reward
            if done:
                returns_seen.append(ep_return)
                ep_return = 0.0
        with torch.no_grad():
            next_value = agent.get_value(next_obs.unsqueeze(0)).reshape(())
            adv, ret = compute_gae(rew_buf, val_buf, done_buf, next_value, next_done)
        clipfracs = []
        for epoch in range(epochs):
            if sampler:
                batches = BatchSampler(SubsetRandomSampler(range(num_steps)), minibatch, False)
            else:
                perm = torch.randperm(num_steps)
                batches = [perm[s:s + minibatch] for s in range(0, num_steps, minibatch)]
            for mb in batches:
                mb = torch.as_tensor(mb)
                acts = act_buf[mb] if agent.continuous else act_buf[mb].long()
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(obs_buf[mb], acts)
                logratio = newlogprob - logp_buf[mb]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs.append(((ratio - 1.0).abs() > clip_coef).float().mean().item())
                mb_adv = adv[mb]
                mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                pg_loss1 = -mb_adv * ratio
                pg_loss2 = -mb_adv * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                newvalue = newvalue.view(-1)
                v_unclipped = (newvalue - ret[mb]) ** 2
                v_clipped = val_buf[mb] + torch.clamp(newvalue - val_buf[mb], -clip_coef,
                                                      clip_coef)
                v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - ret[mb]) ** 2).mean()
                loss = pg_loss - ent_coef * entropy.mean() + v_loss * vf_coef
                optimizer.zero_grad()
                loss.backward()
                gn = nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()
        y_pred, y_true = val_buf, ret
        var_y = torch.var(y_true)
        explained = float("nan") if var_y == 0 else (1 - torch.var(y_true - y_pred) / var_y).item()
        mean_ret = sum(returns_seen) / max(len(returns_seen), 1)
        print(f"iter {it} lr {optimizer.param_groups[0]['lr']:.5f} episodes {len(returns_seen)} "
              f"return {mean_ret:.3f} pg {pg_loss.item():.4f} v {v_loss.item():.4f} "
              f"kl {approx_kl.item():.4f} clipfrac {sum(clipfracs) / len(clipfracs):.3f} "
              f"gradnorm {gn.item():.4f} ev {explained:.3f}")


print("== discrete corridor, Categorical policy ==")
agent = Agent(Corridor.n_states, Corridor.n_actions, continuous=False)
print(agent)
train(Corridor(), agent, Corridor.n_states, (), iterations=6)
with torch.no_grad():
    probs = Categorical(logits=agent.actor(torch.eye(Corridor.n_states))).probs
print("P(right) per cell:", [f"{p:.3f}" for p in probs[:, 1].tolist()])

print("== point reach, Normal policy, BatchSampler minibatches ==")
agent = Agent(2, 1, continuous=True)
train(PointReach(), agent, 2, (1,), iterations=6, sampler=True)
with torch.no_grad():
    mean = agent.actor(torch.tensor([[-1.0, 0.0], [0.0, 0.5], [1.0, 0.875]]))
print("mean actions:", [f"{m:.3f}" for m in mean.flatten().tolist()])
print(f"log std: {agent.actor_logstd.item():.4f}")
