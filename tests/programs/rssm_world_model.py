"""A recurrent state-space model (the world model of PlaNet / Dreamer), in the style of the
dreamer-pytorch and DreamerV2/V3 PyTorch ports: a deterministic ``nn.GRUCell`` path, a
stochastic latent with prior (from the GRU state) and posterior (also seeing the
observation embedding), the ELBO's KL term with *KL balancing*
(``alpha * KL(sg(post) || prior) + (1 - alpha) * KL(post || sg(prior))``) and free nats,
and imagination rollouts from the prior.

Two latent kinds: Gaussian (``Independent(Normal(mean, softplus(std) + min_std), 1)``, the
DreamerV1 latent) and discrete (``Independent(OneHotCategoricalStraightThrough(logits), 1)``,
DreamerV2's 4 x 4 categorical latent, with 1% uniform mixing as in DreamerV3). The observations
come from a hand-written bouncing-point environment; decoder and reward head use
``symlog`` targets.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (Independent, Normal, OneHotCategoricalStraightThrough,
                                 kl_divergence)

torch.manual_seed(0)
OBS, ACT, DETER, HID, T, B = 4, 1, 16, 32, 8, 6


def symlog(x):
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x):
    return torch.sign(x) * (torch.exp(x.abs()) - 1)


def make_episodes(n, steps):
    """A point bouncing in [-1, 1] pushed by random actions; observations are
    (x, v, sin 3x, reward) with a little noise, rewards favour staying near 0.5."""
    x, v = torch.rand(n) * 2 - 1, torch.zeros(n)
    obs, acts, rews = [], [], []
    for _ in range(steps):
        a = torch.rand(n) * 2 - 1
        v = 0.8 * v + 0.2 * a
        x = x + v
        over = x.abs() > 1
        v = torch.where(over, -v, v)
        x = x.clamp(-1, 1)
        r = 1.0 - (x - 0.5).abs()
        obs.append(torch.stack([x, v, torch.sin(3 * x), r], -1) + 0.01 * torch.randn(n, OBS))
        acts.append(a.unsqueeze(-1))
        rews.append(r)
    return torch.stack(obs, 1), torch.stack(acts, 1), torch.stack(rews, 1)


class RSSM(nn.Module):
    def __init__(self, discrete=None, stoch=6, min_std=0.1, unimix=0.01):
        super().__init__()
        self.discrete, self.stoch, self.min_std, self.unimix = discrete, stoch, min_std, unimix
        stoch_size = discrete[0] * discrete[1] if discrete else stoch
        stats = stoch_size if discrete else 2 * stoch
        self.stoch_size = stoch_size
        self.img_in = nn.Sequential(nn.Linear(stoch_size + ACT, HID), nn.ELU())
        self.cell = nn.GRUCell(HID, DETER)
        self.img_out = nn.Sequential(nn.Linear(DETER, HID), nn.ELU(), nn.Linear(HID, stats))
        self.obs_out = nn.Sequential(nn.Linear(DETER + HID, HID), nn.ELU(), nn.Linear(HID, stats))

    def initial(self, batch):
        return {"deter": torch.zeros(batch, DETER), "stoch": torch.zeros(batch, self.stoch_size)}

    def get_dist(self, stats):
        if self.discrete:
            logits = stats.reshape(*stats.shape[:-1], *self.discrete)
            probs = F.softmax(logits, -1)
            probs = (1 - self.unimix) * probs + self.unimix / self.discrete[1]
            return Independent(OneHotCategoricalStraightThrough(probs=probs), 1)
        mean, std = torch.chunk(stats, 2, -1)
        std = F.softplus(std) + self.min_std
        return Independent(Normal(mean, std), 1)

    def img_step(self, prev, action):
        x = self.img_in(torch.cat([prev["stoch"], action], -1))
        deter = self.cell(x, prev["deter"])
        stats = self.img_out(deter)
        stoch = self.get_dist(stats).rsample().reshape(deter.shape[0], -1)
        return {"deter": deter, "stoch": stoch, "stats": stats}

    def obs_step(self, prev, action, embed):
        prior = self.img_step(prev, action)
        stats = self.obs_out(torch.cat([prior["deter"], embed], -1))
        stoch = self.get_dist(stats).rsample().reshape(embed.shape[0], -1)
        return {"deter": prior["deter"], "stoch": stoch, "stats": stats}, prior

    def kl_loss(self, post, prior, balance=0.8, free=1.0):
        sg = lambda d: {k: v.detach() for k, v in d.items()}  # noqa: E731
        dist = lambda d: self.get_dist(d["stats"])  # noqa: E731
        lhs = kl_divergence(dist(sg(post)), dist(prior))
        rhs = kl_divergence(dist(post), dist(sg(prior)))
        value = kl_divergence(dist(post), dist(prior))
        loss_lhs = torch.clamp(lhs.mean(), min=free)
        loss_rhs = torch.clamp(rhs.mean(), min=free)
        return balance * loss_lhs + (1 - balance) * loss_rhs, value


class WorldModel(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(OBS, HID), nn.ELU(), nn.Linear(HID, HID))
        self.rssm = RSSM(**kw)
        feat = DETER + self.rssm.stoch_size
        self.decoder = nn.Sequential(nn.Linear(feat, HID), nn.ELU(), nn.Linear(HID, OBS))
        self.reward = nn.Sequential(nn.Linear(feat, HID), nn.ELU(), nn.Linear(HID, 1))

    def observe(self, obs, actions):
        embed = self.encoder(obs)
        state = self.rssm.initial(obs.shape[0])
        posts, priors = [], []
        for t in range(obs.shape[1]):
            state, prior = self.rssm.obs_step(state, actions[:, t], embed[:, t])
            posts.append(state)
            priors.append(prior)
        stack = lambda xs: {k: torch.stack([x[k] for x in xs], 1) for k in xs[0]}  # noqa: E731
        return stack(posts), stack(priors)

    def loss(self, obs, actions, rewards):
        post, prior = self.observe(obs, actions)
        feat = torch.cat([post["deter"], post["stoch"]], -1)
        recon = Independent(Normal(self.decoder(feat), 1.0), 1).log_prob(symlog(obs))
        rew = Normal(self.reward(feat).squeeze(-1), 1.0).log_prob(symlog(rewards))
        kl, kl_value = self.rssm.kl_loss(post, prior)
        return -recon.mean() - rew.mean() + kl, recon.mean(), kl_value.mean(), post

    def imagine(self, start, actions):
        state = {"deter": start["deter"][:, -1], "stoch": start["stoch"][:, -1]}
        rewards = []
        for t in range(actions.shape[1]):
            state = self.rssm.img_step(state, actions[:, t])
            feat = torch.cat([state["deter"], state["stoch"]], -1)
            rewards.append(symexp(self.reward(feat).squeeze(-1)))
        return torch.stack(rewards, 1)


obs, actions, rewards = make_episodes(B, T)
print("data:", tuple(obs.shape), f"reward mean {rewards.mean().item():.4f}")
for name, kw in (("gaussian", {}), ("discrete", {"discrete": (4, 4)})):
    torch.manual_seed(1)
    wm = WorldModel(**kw)
    opt = torch.optim.Adam(wm.parameters(), lr=3e-3, eps=1e-5)
    for step in range(25):
        loss, recon, kl_value, post = wm.loss(obs, actions, rewards)
        opt.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(wm.parameters(), 100.0)
        opt.step()
        if step % 8 == 0 or step == 24:
            print(f"{name} step {step:2d} loss {loss.item():.4f} recon {recon.item():.4f} "
                  f"kl {kl_value.item():.4f} grad norm {norm.item():.3f}")
    d = wm.rssm.get_dist(post["stats"][:, -1])
    print(f"{name}: batch {d.batch_shape} event {d.event_shape} "
          f"entropy {d.entropy().mean().item():.4f}")
    if kw:
        sample = d.sample()
        print("one-hot rows sum to 1:", bool((sample.sum(-1) == 1).all()),
              "straight-through grad flows:", d.rsample().requires_grad)
        print("mode of the first latent:", d.base_dist.mode[0].argmax(-1).tolist())
    with torch.no_grad():
        imagined = wm.imagine(post, torch.zeros(B, 5, ACT))
    print(f"{name}: imagined reward mean {imagined.mean().item():.3f}")
