"""Task-conditioned FiLM (TADAM / CNAPs style) and relation networks (Sung et al.) on synthetic
few-shot time-series classification: each episode comes from an ``IterableDataset`` driven by a
``torch.Generator`` (``DataLoader(batch_size=None)``); a Conv1d encoder is modulated per task
by FiLM parameters that a DeepSets set encoder predicts from the support set (an
``nn.ModuleDict`` of generators, one per layer, plus an ``nn.ParameterDict`` of learned scales);
a relation module scores (query, prototype) pairs with a sigmoid and is trained with MSE
against one-hot targets. Also: ``GroupNorm``, ``AdaptiveAvgPool1d``, ``weight_norm``
parametrization, forward hooks that record FiLM statistics, ``AdamW`` param groups and
``OneCycleLR``, ``torch.no_grad`` evaluation and a strict/non-strict ``load_state_dict``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm
from torch.utils.data import DataLoader, IterableDataset

torch.manual_seed(0)
n_way, k_shot, n_query, length = 5, 2, 3, 24
n_families = 30


# every class is a family: a sum of two sinusoids with its own frequencies and phases
fam = torch.rand(n_families, 4)
fam_freq = 0.5 + 2.5 * fam[:, :2]
fam_phase = 2 * math.pi * fam[:, 2:]


def draw(families, n, g):
    t = torch.linspace(0, 2 * math.pi, length)
    f = fam_freq[families].repeat_interleave(n, 0)  # (m*n, 2)
    ph = fam_phase[families].repeat_interleave(n, 0)
    jitter = 0.15 * torch.randn(f.shape, generator=g)
    amp = 1.0 + 0.3 * torch.randn(len(f), 1, generator=g)
    x = amp * (torch.sin((f[:, :1] + jitter[:, :1]) * t + ph[:, :1])
               + 0.5 * torch.sin((f[:, 1:] + jitter[:, 1:]) * t + ph[:, 1:]))
    x = x + 0.2 * torch.randn(x.shape, generator=g)
    return x.unsqueeze(1)  # (m*n, 1, L)


class Episodes(IterableDataset):
    def __init__(self, families, n_episodes, seed):
        self.families = torch.as_tensor(families)
        self.n_episodes, self.seed = n_episodes, seed

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        for _ in range(self.n_episodes):
            chosen = self.families[torch.randperm(len(self.families), generator=g)[:n_way]]
            support = draw(chosen, k_shot, g)
            query = draw(chosen, n_query, g)
            yield support, query, chosen


train_fams, test_fams = list(range(20)), list(range(20, 30))


class SetEncoder(nn.Module):
    """DeepSets: phi on each support item, mean pool, rho to a task embedding."""

    def __init__(self, dim=16):
        super().__init__()
        self.phi = nn.Sequential(nn.Conv1d(1, 8, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(4),
                                 nn.Flatten(), nn.Linear(32, dim))
        self.rho = nn.Sequential(nn.ReLU(), nn.Linear(dim, dim))

    def forward(self, support):
        return self.rho(self.phi(support).mean(0))


class FiLMEncoder(nn.Module):
    def __init__(self, channels=(12, 12), task_dim=16):
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        cin = 1
        for c in channels:
            self.convs.append(nn.Conv1d(cin, c, 3, padding=1))
            self.norms.append(nn.GroupNorm(3, c, affine=False))
            cin = c
        self.film = nn.ModuleDict({f"layer{i}": nn.Linear(task_dim, 2 * c)
                                   for i, c in enumerate(channels)})
        # TADAM's learned post-multipliers keep the modulation near identity early on
        self.film_scale = nn.ParameterDict({f"layer{i}": nn.Parameter(torch.full((2,), 0.1))
                                            for i in range(len(channels))})
        self.pool = nn.AdaptiveAvgPool1d(1)

    def film_params(self, task):
        out = {}
        for name, gen in self.film.items():
            gamma, beta = gen(task).chunk(2, dim=-1)
            s = self.film_scale[name]
            out[name] = (1 + s[0] * gamma, s[1] * beta)
        return out

    def forward(self, x, film):
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            gamma, beta = film[f"layer{i}"]
            x = norm(conv(x))
            x = F.relu(gamma[:, None] * x + beta[:, None])
            x = F.max_pool1d(x, 2)
        return self.pool(x).flatten(1)


class RelationNet(nn.Module):
    def __init__(self, feat=12, hidden=16):
        super().__init__()
        self.fc1 = nn.Linear(2 * feat, hidden)
        self.fc2 = weight_norm(nn.Linear(hidden, 1))

    def forward(self, zq, protos):
        q, c = zq.size(0), protos.size(0)
        a, b = zq.unsqueeze(1).expand(q, c, -1), protos.unsqueeze(0).expand(q, c, -1)
        pairs = torch.cat([(a - b).abs(), a * b], -1)
        return torch.sigmoid(self.fc2(F.relu(self.fc1(pairs)))).squeeze(-1)


class FewShotModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.set_encoder = SetEncoder()
        self.encoder = FiLMEncoder()
        self.relation = RelationNet()

    def forward(self, support, query, use_film=True):
        if use_film:
            film = self.encoder.film_params(self.set_encoder(support))
        else:
            film = {name: (torch.ones(c.out_channels), torch.zeros(c.out_channels))
                    for name, c in zip(self.encoder.film, self.encoder.convs)}
        zs, zq = self.encoder(support, film), self.encoder(query, film)
        protos = zs.view(n_way, k_shot, -1).mean(1)
        return self.relation(zq, protos)


model = FewShotModel()
print("modules", [name for name, _ in model.named_children()],
      "film keys", list(model.encoder.film.keys()), list(model.encoder.film_scale.keys()))
print("param count", sum(p.numel() for p in model.parameters()),
      "weight_norm params", sorted(n for n, _ in model.relation.fc2.named_parameters()))

# forward hooks: mean |activation| after each GroupNorm
stats = {}


def record(name):
    def hook(module, inputs, output):
        stats[name] = output.abs().mean().item()
    return hook


handles = [m.register_forward_hook(record(n)) for n, m in model.named_modules()
           if isinstance(m, nn.GroupNorm)]

film_params = [p for n, p in model.named_parameters()
               if n.startswith(("set_encoder", "encoder.film"))]
other_params = [p for n, p in model.named_parameters()
                if not n.startswith(("set_encoder", "encoder.film"))]
opt = torch.optim.AdamW([{"params": other_params},
                         {"params": film_params, "lr": 5e-3, "weight_decay": 0.0}],
                        lr=1e-2, weight_decay=1e-2)
n_epochs, per_epoch = 3, 25
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1e-2, 5e-3],
                                            total_steps=n_epochs * per_epoch, pct_start=0.3)
target = F.one_hot(torch.arange(n_way).repeat_interleave(n_query), n_way).float()

for epoch in range(n_epochs):
    loader = DataLoader(Episodes(train_fams, per_epoch, seed=epoch), batch_size=None)
    tot, acc = 0.0, 0.0
    for support, query, fams in loader:
        scores = model(support, query)
        loss = F.mse_loss(scores, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        tot += loss.item()
        acc += (scores.argmax(1) == target.argmax(1)).float().mean().item()
    lrs = [f"{g['lr']:.5f}" for g in opt.param_groups]
    print(f"epoch {epoch} mse {tot / per_epoch:.4f} acc {acc / per_epoch:.4f} lrs {lrs}")
print("groupnorm |act|", {k: f"{v:.4f}" for k, v in stats.items()})
for h in handles:
    h.remove()

support, query, fams = next(iter(Episodes(test_fams, 1, seed=99)))
print("episode shapes", tuple(support.shape), tuple(query.shape), "families", fams.tolist())
with torch.no_grad():
    film = model.encoder.film_params(model.set_encoder(support))
    for name, (g, b) in film.items():
        print(f"film {name} gamma mean {g.mean().item():.4f} std {g.std().item():.4f} "
              f"beta mean {b.mean().item():.4f}")
    scores = model(support, query)
print("scores[0]", [f"{v:.4f}" for v in scores[0].tolist()])
print("film_scale", {k: [round(v, 4) for v in p.tolist()]
                     for k, p in model.encoder.film_scale.items()})


def evaluate(m, use_film, n_episodes=30):
    correct = 0
    with torch.no_grad():
        loader = DataLoader(Episodes(test_fams, n_episodes, seed=123), batch_size=None)
        for support, query, _ in loader:
            correct += (m(support, query, use_film).argmax(1) == target.argmax(1)).sum().item()
    return correct, n_episodes * n_way * n_query


model.eval()
print("novel families: with FiLM %d/%d" % evaluate(model, True),
      "without FiLM %d/%d" % evaluate(model, False))

# checkpoint: strict load into a fresh model, and a non-strict load that skips the FiLM part
sd = model.state_dict()
print("state_dict keys with film", sum(k.startswith("encoder.film") for k in sd), "of", len(sd))
print("weight_norm keys", [k for k in sd if k.startswith("relation.fc2")])
fresh = FewShotModel()
print(fresh.load_state_dict(sd))
partial = {k: v for k, v in sd.items() if "film" not in k and not k.startswith("set_encoder")}
fresh2 = FewShotModel()
res = fresh2.load_state_dict(partial, strict=False)
print("missing", len(res.missing_keys), res.missing_keys[:3], "unexpected", res.unexpected_keys)
fresh.eval()
print("reloaded model agrees", evaluate(fresh, True) == evaluate(model, True))
try:
    fresh.load_state_dict({**sd, "relation.fc1.weight": torch.zeros(3, 3)})
except RuntimeError as e:
    print("size mismatch:", str(e).splitlines()[1].strip())
