"""Double DQN on a small Connect-4 board against a random opponent.

After the DQN tutorial and the Connect-4 Kaggle notebooks: the board is a (2, rows, cols)
tensor of stone planes, wins are found by convolving the planes with line kernels, the
Q-network's illegal columns are masked with ``-inf`` before the greedy ``argmax``, the replay
buffer is a set of preallocated tensors, the target network is a deep copy that follows the
online one by Polyak averaging, the loss is Huber, and mirrored positions double the data.
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_printoptions(precision=3)
gen = torch.Generator().manual_seed(7)

ROWS, COLS, K = 5, 6, 4
# Line detectors: horizontal, vertical and the two diagonals, as 4x4 kernels.
KERNELS = torch.zeros(4, 1, K, K)
KERNELS[0, 0, 0, :] = 1
KERNELS[1, 0, :, 0] = 1
KERNELS[2, 0] = torch.eye(K)
KERNELS[3, 0] = torch.eye(K).fliplr()


def has_won(plane):
    """Whether a (rows, cols) 0/1 plane holds K in a line."""
    hits = F.conv2d(plane[None, None], KERNELS, padding=K - 1)
    return bool((hits == K).any())


def has_won_unfold(plane):
    """The same test with unfold windows and diagonals, to check the convolution."""
    rows = plane.unfold(1, K, 1).sum(-1)
    cols = plane.unfold(0, K, 1).sum(-1)
    diags = [plane.diagonal(o).unfold(0, K, 1).sum(-1) for o in range(-ROWS, COLS)
             if plane.diagonal(o).numel() >= K]
    anti = [plane.fliplr().diagonal(o).unfold(0, K, 1).sum(-1) for o in range(-ROWS, COLS)
            if plane.fliplr().diagonal(o).numel() >= K]
    return bool(torch.cat([rows.flatten(), cols.flatten(), *diags, *anti]).eq(K).any())


class Connect4:
    def reset(self):
        self.planes = torch.zeros(2, ROWS, COLS)  # plane 0: side to move
        return self.planes.clone()

    def legal(self):
        return self.planes.sum(0)[0] == 0

    def drop(self, col):
        filled = self.planes.sum(0)[:, col]
        row = int((filled == 0).nonzero().max())
        self.planes[0, row, col] = 1
        won = has_won(self.planes[0])
        draw = not won and not self.legal().any()
        self.planes = self.planes.flip(0)  # the other side moves next
        return won, draw


class QNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(2, 16, 3, padding=1), nn.LeakyReLU(0.1),
            nn.Conv2d(16, 16, 3, padding=1), nn.LeakyReLU(0.1))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * ROWS * COLS, 64), nn.ReLU(),
                                  nn.Linear(64, COLS))

    def forward(self, x):
        return self.head(self.features(x))


def legal_of(states):
    return states.sum(1)[:, 0] == 0


def greedy(q, legal):
    return q.masked_fill(~legal, float("-inf")).argmax(dim=-1)


class Replay:
    def __init__(self, capacity):
        self.s = torch.zeros(capacity, 2, ROWS, COLS)
        self.a = torch.zeros(capacity, dtype=torch.long)
        self.r = torch.zeros(capacity)
        self.s2 = torch.zeros_like(self.s)
        self.done = torch.zeros(capacity, dtype=torch.bool)
        self.capacity, self.size, self.ptr = capacity, 0, 0

    def push(self, s, a, r, s2, done):
        for state, action, next_state in ((s, a, s2), (s.flip(-1), COLS - 1 - a, s2.flip(-1))):
            i = self.ptr
            self.s[i], self.a[i], self.r[i], self.s2[i], self.done[i] = (
                state, action, r, next_state, done)
            self.ptr = (self.ptr + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def sample(self, n):
        idx = torch.randint(0, self.size, (n,), generator=gen)
        return self.s[idx], self.a[idx], self.r[idx], self.s2[idx], self.done[idx]


def random_move(env):
    cols = env.legal().nonzero().flatten()
    return int(cols[torch.randint(len(cols), (), generator=gen)])


def opponent_turn(env):
    """The random opponent replies; returns (reward for the agent, done)."""
    won, draw = env.drop(random_move(env))
    return (-1.0, True) if won else (0.0, draw)


online = QNet()
target = copy.deepcopy(online).requires_grad_(False)
opt = torch.optim.Adam(online.parameters(), lr=2e-3, amsgrad=True)
huber = nn.HuberLoss(delta=1.0)
replay = Replay(600)
env = Connect4()
gamma, tau, eps = 0.95, 0.05, 1.0
wins = []
print("kernels:\n", KERNELS[2:, 0].int())

for episode in range(16):
    state, done, steps = env.reset(), False, 0
    if episode % 2 == 1:
        opponent_turn(env)
        state = env.planes.clone()
    while not done:
        legal = env.legal()
        if torch.rand((), generator=gen) < eps:
            action = random_move(env)
        else:
            with torch.no_grad():
                action = int(greedy(online(state[None]), legal[None])[0])
        won, draw = env.drop(action)
        reward, done = (1.0, True) if won else (0.0, draw)
        if not done:
            reward, done = opponent_turn(env)
        next_state = env.planes.clone()
        replay.push(state, action, reward, next_state, done)
        state, steps = next_state, steps + 1
        if replay.size >= 64:
            s, a, r, s2, d = replay.sample(32)
            with torch.no_grad():
                next_a = greedy(online(s2), legal_of(s2))
                next_q = target(s2).gather(1, next_a[:, None]).squeeze(1)
                y = r + gamma * next_q * (~d).float()
            q = online(s).gather(1, a.unsqueeze(1)).squeeze(1)
            loss = huber(q, y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_value_(online.parameters(), 1.0)
            opt.step()
            with torch.no_grad():
                for p_t, p in zip(target.parameters(), online.parameters()):
                    p_t.lerp_(p, tau)
    wins.append(reward)
    eps = max(0.1, eps * 0.85)
    if episode % 4 == 3:
        drift = torch.nn.utils.parameters_to_vector(online.parameters()) - \
            torch.nn.utils.parameters_to_vector(target.parameters())
        recent = torch.tensor(wins[-4:])
        print(f"episode {episode}: eps={eps:.3f} loss={loss.item():.3f} "
              f"wins={int((recent == 1).sum())} losses={int((recent == -1).sum())} "
              f"drift={drift.norm():.3f}")

s, a, r, s2, d = replay.sample(4)
with torch.no_grad():
    q = online(s)
print("rewards:", r, "done:", d)
print(q.masked_fill(~legal_of(s), float("-inf")).max(dim=1))
print("smooth_l1 == huber(delta=1):",
      torch.allclose(F.smooth_l1_loss(q[:, 0], q[:, 1]), F.huber_loss(q[:, 0], q[:, 1])))
print("huber delta=0.5:", F.huber_loss(q[:, 0], q[:, 1], delta=0.5, reduction="none"))

# A full column cannot be played: its Q-value never wins the argmax.
env.reset()
for _ in range(ROWS):
    env.drop(2)
legal = env.legal()
print("legal after filling column 2:", legal.tolist())
with torch.no_grad():
    q = online(env.planes[None])
print("greedy:", greedy(q, legal[None]).item(), "unmasked:", q.argmax().item())
try:
    env.drop(2)
except RuntimeError as err:
    print("RuntimeError:", err)
try:
    env.planes[0, ROWS, 0] = 1
except IndexError as err:
    print("IndexError:", err)

# The convolution detector agrees with unfold windows and diagonals on random boards.
boards = torch.rand(200, ROWS, COLS, generator=gen) < 0.45
agree = all(has_won(b.float()) == has_won_unfold(b.float()) for b in boards)
print("detectors agree:", agree, "wins:", sum(has_won(b.float()) for b in boards))
hits = F.conv2d(boards[:3, None].float(), KERNELS, padding=K - 1)
print("hits per direction:", hits.eq(K).sum(dim=(2, 3)))
