"""Contextual and multi-armed bandits in plain torch, as bandit tutorials and research
repositories write them: a disjoint LinUCB (per-arm design matrices grown by rank-one
``torch.addr`` / ``Tensor.addr_`` updates, ridge estimates from ``torch.linalg.solve``, the
inverse kept by Sherman-Morrison with ``torch.outer``), linear Thompson sampling from
``MultivariateNormal``, epsilon-greedy and softmax (Boltzmann) policies drawing from their own
``torch.Generator`` (``rand``, ``randint``, ``multinomial`` with ``generator=``, state saved and
restored, ``clone_state``), Beta-Bernoulli Thompson sampling and EXP3 on a Bernoulli bandit,
and cumulative regret bookkeeping with ``index_add_``, ``bincount`` and ``cumsum``."""
import torch
from torch.distributions import Bernoulli, Beta, MultivariateNormal, kl_divergence

torch.manual_seed(0)
n_arms, d, horizon = 5, 6, 300
theta_true = torch.randn(n_arms, d) / d ** 0.5
contexts = torch.randn(horizon, d)
noise = 0.1 * torch.randn(horizon, n_arms)
rewards = contexts @ theta_true.T + noise
best_reward = (contexts @ theta_true.T).max(1).values
print("reward means per arm", [round(v, 4) for v in rewards.mean(0).tolist()])


class LinUCB:
    def __init__(self, alpha, lam=1.0):
        self.alpha = alpha
        self.A = lam * torch.eye(d).repeat(n_arms, 1, 1)
        self.A_inv = torch.eye(d).repeat(n_arms, 1, 1) / lam
        self.b = torch.zeros(n_arms, d)

    def select(self, x):
        theta = torch.linalg.solve(self.A, self.b.unsqueeze(-1)).squeeze(-1)
        width = torch.einsum("i,aij,j->a", x, self.A_inv, x).sqrt()
        return int((theta @ x + self.alpha * width).argmax())

    def update(self, arm, x, r):
        self.A[arm].addr_(x, x)
        self.b[arm].add_(x, alpha=r)
        Ax = self.A_inv[arm] @ x
        self.A_inv[arm] -= torch.outer(Ax, Ax) / (1.0 + x @ Ax)


class LinTS:
    def __init__(self, v=0.2, lam=1.0):
        self.v = v
        self.A = lam * torch.eye(d).expand(n_arms, d, d).clone()
        self.b = torch.zeros(n_arms, d)

    def select(self, x):
        cov = self.v ** 2 * torch.linalg.inv(self.A)
        mean = torch.linalg.solve(self.A, self.b)
        theta = MultivariateNormal(mean, covariance_matrix=cov).sample()
        return int((theta @ x).argmax())

    def update(self, arm, x, r):
        self.A[arm] = torch.addr(self.A[arm], x, x)
        self.b[arm] += r * x


class EpsGreedy:
    def __init__(self, eps, seed):
        self.eps = eps
        self.gen = torch.Generator().manual_seed(seed)
        self.A = torch.eye(d).repeat(n_arms, 1, 1)
        self.b = torch.zeros(n_arms, d)

    def select(self, x):
        if torch.rand(1, generator=self.gen).item() < self.eps:
            return int(torch.randint(n_arms, (1,), generator=self.gen))
        theta = torch.linalg.solve(self.A, self.b)
        return int((theta @ x).argmax())

    def update(self, arm, x, r):
        self.A[arm] = torch.addr(self.A[arm], x, x, beta=1.0, alpha=1.0)
        self.b[arm] += r * x


class Softmax(EpsGreedy):
    def __init__(self, tau, seed):
        super().__init__(0.0, seed)
        self.tau = tau

    def select(self, x):
        theta = torch.linalg.solve(self.A, self.b)
        probs = torch.softmax(theta @ x / self.tau, dim=0)
        return int(torch.multinomial(probs, 1, generator=self.gen))


def run(policy):
    torch.manual_seed(1)
    pulls = torch.zeros(n_arms, dtype=torch.long)
    regret = torch.zeros(horizon)
    arms = []
    for t in range(horizon):
        arm = policy.select(contexts[t])
        r = rewards[t, arm].item()
        policy.update(arm, contexts[t], r)
        pulls.index_add_(0, torch.tensor([arm]), torch.tensor([1]))
        regret[t] = best_reward[t] - (contexts[t] @ theta_true[arm])
        arms.append(arm)
    counts = torch.bincount(torch.tensor(arms), minlength=n_arms)
    assert torch.equal(counts, pulls)
    return regret.cumsum(0), counts


for name, policy in [("linucb", LinUCB(alpha=0.5)), ("lints", LinTS()),
                     ("eps-greedy", EpsGreedy(0.1, seed=5)), ("softmax", Softmax(0.05, seed=6))]:
    cum, counts = run(policy)
    print(f"{name:10s} regret@100 {cum[99].item():.3f} @300 {cum[-1].item():.3f} "
          f"pulls {counts.tolist()}")
    if name == "linucb":
        check = torch.linalg.inv(policy.A)
        print("  Sherman-Morrison inverse error < 1e-4:",
              bool((check - policy.A_inv).abs().max() < 1e-4))

# a generator's state can be saved and replayed
g = torch.Generator().manual_seed(42)
state = g.get_state()
first = torch.randint(10, (6,), generator=g)
g.set_state(state)
print("replayed draws equal:", torch.equal(first, torch.randint(10, (6,), generator=g)),
      first.tolist(), "initial seed", g.initial_seed())
# clone_state: a twin generator to preview the next exploration draws without consuming them
twin = g.clone_state()
preview = torch.rand(3, generator=twin)
print("preview", [round(v, 4) for v in preview.tolist()], "then drawn",
      [round(v, 4) for v in torch.rand(3, generator=g).tolist()])

# Bernoulli bandit: Beta-Bernoulli Thompson sampling and EXP3
p_true = torch.tensor([0.2, 0.35, 0.5, 0.55, 0.3])
T = 400
torch.manual_seed(2)
wins, losses = torch.ones(5), torch.ones(5)
ts_regret = 0.0
for t in range(T):
    arm = int(Beta(wins, losses).sample().argmax())
    r = Bernoulli(probs=p_true[arm]).sample()
    wins[arm] += r
    losses[arm] += 1 - r
    ts_regret += (p_true.max() - p_true[arm]).item()
post = Beta(wins, losses)
print("thompson regret", round(ts_regret, 3), "posterior means",
      [round(v, 3) for v in post.mean.tolist()])
kl = kl_divergence(post, Beta(torch.ones(5), torch.ones(5)))
print("KL(posterior || uniform)", [round(v, 3) for v in kl.tolist()])

gen = torch.Generator().manual_seed(9)
gamma = 0.1
log_w = torch.zeros(5)
exp3_regret = 0.0
for t in range(T):
    probs = (1 - gamma) * torch.softmax(log_w, 0) + gamma / 5
    arm = int(torch.multinomial(probs, 1, generator=gen))
    r = float(torch.bernoulli(p_true[arm], generator=gen))
    log_w[arm] += gamma * (r / probs[arm]) / 5
    exp3_regret += (p_true.max() - p_true[arm]).item()
print("exp3 regret", round(exp3_regret, 3), "final probs",
      [round(v, 3) for v in torch.softmax(log_w, 0).tolist()])
