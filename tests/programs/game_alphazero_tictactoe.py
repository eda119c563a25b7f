"""AlphaZero on tic-tac-toe: a policy/value network guides a Monte-Carlo tree search.

In the style of alpha-zero-general and the AlphaZero pseudocode: the network's priors drive
PUCT search (Dirichlet noise at the root), illegal moves are masked with ``-inf`` before the
softmax, self-play positions are augmented with the board's eight symmetries (``rot90`` and
``flip``), value targets come from the game outcome, and the loss is MSE + soft-target
cross-entropy + weight decay. The trained net then plays a random player and gets an Elo-style
score. Everything random comes from ``torch.manual_seed`` and one ``torch.Generator``.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, Dirichlet

torch.manual_seed(0)
torch.set_printoptions(precision=3)
gen = torch.Generator().manual_seed(1)

N = 3
LINES = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6],
                      [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]])


def winner(board):
    """+1 or -1 for a completed line, 0 for a draw, None while the game goes on."""
    sums = board[LINES].sum(dim=1)
    if (sums == 3).any():
        return 1
    if (sums == -3).any():
        return -1
    return 0 if (board != 0).all() else None


def encode(board, player):
    """Three planes from the mover's point of view: mine, theirs, empty."""
    canon = (board * player).view(N, N)
    return torch.stack([canon == 1, canon == -1, canon == 0]).float()


class ResBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class PolicyValueNet(nn.Module):
    def __init__(self, ch=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, ch, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(ch), nn.ReLU(inplace=True))
        self.tower = ResBlock(ch)
        self.policy_head = nn.Sequential(nn.Conv2d(ch, 2, 1), nn.BatchNorm2d(2), nn.ReLU(),
                                         nn.Flatten(), nn.Linear(2 * N * N, N * N))
        self.value_head = nn.Sequential(nn.Conv2d(ch, 1, 1), nn.BatchNorm2d(1), nn.ReLU(),
                                        nn.Flatten(), nn.Linear(N * N, 16), nn.ReLU(),
                                        nn.Linear(16, 1), nn.Tanh())

    def forward(self, x):
        h = self.tower(self.stem(x))
        return self.policy_head(h), self.value_head(h).squeeze(-1)


def masked_policy(logits, legal):
    return F.softmax(logits.masked_fill(~legal, float("-inf")), dim=-1)


class Node:
    def __init__(self, prior):
        self.prior, self.visits, self.value_sum, self.children = prior, 0, 0.0, {}

    def value(self):
        return self.value_sum / self.visits if self.visits else 0.0


@torch.no_grad()
def evaluate(net, board, player):
    logits, value = net(encode(board, player).unsqueeze(0))
    probs = masked_policy(logits[0], board == 0)
    return probs, value.item()


def expand(node, probs):
    for move in probs.nonzero().flatten().tolist():
        node.children[move] = Node(probs[move].item())


def mcts(net, board, player, sims=12, c_puct=1.5, noise=True):
    root = Node(1.0)
    probs, _ = evaluate(net, board, player)
    if noise:
        legal = probs.nonzero().squeeze(1)
        eta = Dirichlet(torch.full((legal.numel(),), 0.5)).sample()
        probs = probs.clone()
        probs[legal] = 0.75 * probs[legal] + 0.25 * eta
    expand(root, probs)
    for _ in range(sims):
        node, b, p, path = root, board.clone(), player, [root]
        while node.children:
            total = math.sqrt(node.visits)
            move, node = max(node.children.items(), key=lambda kv: -kv[1].value()
                             + c_puct * kv[1].prior * total / (1 + kv[1].visits))
            b[move] = p
            p = -p
            path.append(node)
        result = winner(b)
        if result is None:
            leaf_probs, value = evaluate(net, b, p)
            expand(node, leaf_probs)
        else:
            value = float(result * p)  # from the point of view of the player to move at b
        for visited in reversed(path):
            visited.value_sum += value
            visited.visits += 1
            value = -value
    counts = torch.zeros(N * N)
    for move, child in root.children.items():
        counts[move] = child.visits
    return counts


def symmetries(planes, pi):
    """The eight rotations/reflections of a position and its move distribution."""
    grid = pi.view(N, N)
    out = []
    for k in range(4):
        rp, rg = torch.rot90(planes, k, dims=(1, 2)), torch.rot90(grid, k, dims=(0, 1))
        out.append((rp, rg.reshape(-1)))
        out.append((torch.flip(rp, dims=[2]), torch.flip(rg, dims=[1]).flatten()))
    return out


def self_play(net, temp_moves=3):
    board, player, history = torch.zeros(N * N, dtype=torch.int8), 1, []
    while (result := winner(board)) is None:
        counts = mcts(net, board, player)
        temperature = 1.0 if len(history) < temp_moves else 0.25
        pi = counts.pow(1.0 / temperature)
        pi /= pi.sum()
        history.append((encode(board, player), pi, player))
        move = torch.multinomial(pi, 1, generator=gen).item()
        board[move] = player
        player = -player
    examples = []
    for planes, pi, mover in history:
        z = torch.tensor(float(result * mover))
        examples += [(sp, spi, z) for sp, spi in symmetries(planes, pi)]
    return examples, result


net = PolicyValueNet()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2], gamma=0.5)
print("parameters:", sum(p.numel() for p in net.parameters()))

empty = torch.zeros(N * N, dtype=torch.int8)
net.eval()
probs, value = evaluate(net, empty, 1)
print("initial prior:\n", probs.view(N, N))
print(f"initial value: {value:.4f}")

for iteration in range(3):
    net.eval()
    data, outcomes = [], []
    for _ in range(2):
        examples, result = self_play(net)
        data += examples
        outcomes.append(result)
    planes = torch.stack([d[0] for d in data])
    target_pi = torch.stack([d[1] for d in data])
    target_z = torch.stack([d[2] for d in data])
    net.train()
    perm = torch.randperm(len(data))
    for start in range(0, len(data), 32):
        idx = perm[start:start + 32]
        x = planes[idx]
        logits, v = net(x)
        legal = x[:, 2].flatten(1).bool()
        log_p = F.log_softmax(logits.masked_fill(~legal, -1e9), dim=1)
        value_loss = F.mse_loss(v, target_z[idx])
        policy_loss = -(target_pi[idx] * log_p).sum(dim=1).mean()
        loss = value_loss + policy_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), max_norm=5.0)
        opt.step()
    scheduler.step()
    print(f"iter {iteration}: positions={len(data)} outcomes={outcomes} "
          f"value_loss={value_loss.item():.4f} policy_loss={policy_loss.item():.4f} "
          f"lr={scheduler.get_last_lr()[0]:.4f}")

# Symmetry check: rotating a position rotates its legal-move mask exactly.
board = torch.tensor([1, 0, -1, 0, 1, 0, 0, 0, -1], dtype=torch.int8)
planes = encode(board, -1)
for k, (sp, spi) in enumerate(symmetries(planes, (board == 0).float())):
    assert torch.equal(sp[2].flatten(), spi), k
print("symmetry masks agree:", len(symmetries(planes, board.float())))

net.eval()
with torch.no_grad():
    logits, value = net(planes.unsqueeze(0))
legal = board == 0
dist = Categorical(logits=logits[0].masked_fill(~legal, float("-inf")))
print("masked policy:", dist.probs)
print(f"entropy={dist.entropy().item():.4f} value={value.item():.4f}")
print("illegal log-prob:", dist.log_prob(torch.tensor(0)))

try:
    torch.multinomial(torch.zeros(N * N), 1)
except RuntimeError as err:
    print("RuntimeError:", err)
all_masked = F.softmax(torch.zeros(3).masked_fill(torch.ones(3, dtype=torch.bool),
                                                   float("-inf")), dim=0)
print("softmax of all -inf:", all_masked, "nan?", all_masked.isnan().all().item())


def play_vs_random(net, games=4):
    score = 0.0
    for g in range(games):
        board, player, net_side = torch.zeros(N * N, dtype=torch.int8), 1, 1 if g % 2 == 0 else -1
        while (result := winner(board)) is None:
            if player == net_side:
                move = mcts(net, board, player, sims=8, noise=False).argmax().item()
            else:
                legal = (board == 0).nonzero().squeeze(1)
                move = legal[torch.randint(len(legal), (1,), generator=gen)].item()
            board[move] = player
            player = -player
        score += 1.0 if result == net_side else 0.5 if result == 0 else 0.0
        print(f"game {g}: net plays {'X' if net_side == 1 else 'O'}, result {result:+d}")
        print(board.view(N, N))
    return score / games


score = play_vs_random(net)
clipped = min(max(score, 0.01), 0.99)
elo = -400 * math.log10(1 / clipped - 1)
print(f"score vs random={score:.3f} elo_diff={elo:.1f}")
