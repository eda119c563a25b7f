"""One-shot search by sampling: GDAS (Dong & Yang 2019) draws one operation per edge with a
hand-written hard Gumbel-softmax (exponential_ noise, scatter_ one-hot, straight-through
hardwts = one_h - probs.detach() + probs) and runs only the chosen op, with the temperature
annealed; F.gumbel_softmax(hard=True) is checked against it; then an ENAS-style LSTMCell
controller samples architectures from torch.distributions.Categorical and learns by REINFORCE
with an exponential-moving-average baseline and an entropy bonus, the shared weights trained on
the sampled child networks."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

torch.manual_seed(0)
rng = np.random.default_rng(8)

CANDIDATES = ["identity", "linear", "tanh_linear", "relu_linear"]


class Edge(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.ops = nn.ModuleList([
            nn.Identity(),
            nn.Linear(dim, dim),
            nn.Sequential(nn.Linear(dim, dim), nn.Tanh()),
            nn.Sequential(nn.Linear(dim, dim), nn.ReLU()),
        ])

    def forward(self, x, hardwts, index):
        # GDAS: only the sampled op runs; the other weights (zeros) still carry gradient
        return sum(hardwts[i] * self.ops[i](x) if i == index else hardwts[i]
                   for i in range(len(self.ops)))


class SuperNet(nn.Module):
    def __init__(self, d_in=6, dim=8, n_edges=3, n_classes=3):
        super().__init__()
        self.inp = nn.Linear(d_in, dim)
        self.edges = nn.ModuleList(Edge(dim) for _ in range(n_edges))
        self.out = nn.Linear(dim, n_classes)
        self.arch_parameters = nn.Parameter(1e-3 * torch.randn(n_edges, len(CANDIDATES)))
        self.tau = 10.0

    def set_tau(self, tau):
        self.tau = tau

    def sample(self):
        while True:
            gumbels = -torch.empty_like(self.arch_parameters).exponential_().log()
            logits = (self.arch_parameters.log_softmax(dim=1) + gumbels) / self.tau
            probs = F.softmax(logits, dim=1)
            index = probs.max(-1, keepdim=True)[1]
            one_h = torch.zeros_like(logits).scatter_(-1, index, 1.0)
            hardwts = one_h - probs.detach() + probs
            if torch.isinf(gumbels).any() or torch.isinf(probs).any() or torch.isnan(probs).any():
                continue
            return hardwts, index

    def forward(self, x, arch=None):
        hardwts, index = self.sample() if arch is None else arch
        h = F.relu(self.inp(x))
        for e, edge in enumerate(self.edges):
            h = h + edge(h, hardwts[e], index[e].item())
        return self.out(h)


X = torch.from_numpy(rng.normal(size=(64, 6)).astype(np.float32))
y = torch.from_numpy((X[:, 0].numpy() > 0).astype(np.int64) + (X[:, 1].numpy() > 0.5))
X_train, y_train, X_val, y_val = X[:32], y[:32], X[32:], y[32:]

net = SuperNet()
w_optimizer = torch.optim.SGD([p for n, p in net.named_parameters() if n != "arch_parameters"],
                              lr=0.05, momentum=0.9, nesterov=True)
a_optimizer = torch.optim.Adam([net.arch_parameters], lr=3e-2, weight_decay=1e-3)
tau_max, tau_min, epochs = 10.0, 0.1, 8
for epoch in range(epochs):
    net.set_tau(tau_max - (tau_max - tau_min) * epoch / (epochs - 1))
    w_optimizer.zero_grad()
    loss = F.cross_entropy(net(X_train), y_train)
    loss.backward()
    w_optimizer.step()
    a_optimizer.zero_grad()
    arch_loss = F.cross_entropy(net(X_val), y_val)
    arch_loss.backward()
    grad_norm = net.arch_parameters.grad.norm()
    a_optimizer.step()
    print(f"epoch {epoch} tau {net.tau:.3f} loss {loss.item():.4f} arch {arch_loss.item():.4f}"
          f" |g_alpha| {grad_norm.item():.5f}")

with torch.no_grad():
    hardwts, index = net.sample()
print("hardwts:", hardwts, "index:", index.flatten().tolist())
print("genotype:", [CANDIDATES[i] for i in net.arch_parameters.argmax(-1).tolist()])

# torch's own hard Gumbel-softmax: one-hot forward, softmax gradient
logits = torch.tensor([[1.0, 2.0, 0.5], [0.1, 0.1, 3.0]], requires_grad=True)
torch.manual_seed(5)
y_hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
(y_hard * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
print("gumbel hard:", y_hard, "sum", y_hard.sum(-1))
print("straight-through grad:", logits.grad)
torch.manual_seed(5)
soft = F.gumbel_softmax(logits.detach(), tau=0.5, hard=False, dim=-1)
print("same draw:", torch.equal(soft.argmax(-1), y_hard.argmax(-1)), soft.sum(-1))


class Controller(nn.Module):
    """ENAS: an LSTM emits one op choice per edge."""

    def __init__(self, n_edges, n_ops, hidden=12):
        super().__init__()
        self.n_edges = n_edges
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.embed = nn.Embedding(n_ops + 1, hidden)
        self.decoder = nn.Linear(hidden, n_ops)
        self.hidden = hidden

    def forward(self):
        h = c = torch.zeros(1, self.hidden)
        inp = self.embed(torch.tensor([len(CANDIDATES)]))
        actions, log_probs, entropies = [], [], []
        for _ in range(self.n_edges):
            h, c = self.lstm(inp, (h, c))
            logits = self.decoder(h) / 1.5
            logits = 2.5 * torch.tanh(logits)  # tanh constant, as in ENAS
            dist = Categorical(logits=logits)
            action = dist.sample()
            actions.append(action.item())
            log_probs.append(dist.log_prob(action))
            entropies.append(dist.entropy())
            inp = self.embed(action)
        return actions, torch.cat(log_probs).sum(), torch.cat(entropies).sum()


def fixed_arch(actions):
    hardwts = F.one_hot(torch.tensor(actions), len(CANDIDATES)).float()
    return hardwts, torch.tensor(actions).unsqueeze(-1)


torch.manual_seed(1)
controller = Controller(n_edges=3, n_ops=len(CANDIDATES))
c_optimizer = torch.optim.Adam(controller.parameters(), lr=5e-3)
baseline, decay = None, 0.9
for it in range(6):
    actions, log_prob, entropy = controller()
    arch = fixed_arch(actions)
    w_optimizer.zero_grad()
    F.cross_entropy(net(X_train, arch), y_train).backward()
    w_optimizer.step()
    with torch.no_grad():
        acc = (net(X_val, arch).argmax(1) == y_val).float().mean()
    reward = acc.item()
    baseline = reward if baseline is None else decay * baseline + (1 - decay) * reward
    c_loss = -log_prob * (reward - baseline) - 1e-4 * entropy
    c_optimizer.zero_grad()
    c_loss.backward()
    c_optimizer.step()
    print(f"iter {it} arch {actions} reward {reward:.4f} baseline {baseline:.4f} "
          f"logp {log_prob.item():.4f} H {entropy.item():.4f}")

for bad in (lambda: F.gumbel_softmax(torch.zeros(2, 3), tau=0.0, hard=True),
            lambda: Categorical(probs=torch.tensor([0.5, -0.1, 0.6])),
            lambda: F.one_hot(torch.tensor([0, 4]), 3)):
    try:
        out = bad()
        print("no error:", out)
    except (ValueError, RuntimeError) as e:
        print(type(e).__name__ + ":", str(e).split("\n")[0][:90])
