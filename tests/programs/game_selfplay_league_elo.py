"""Batched self-play actor-critic on tic-tac-toe, a league of snapshots and fitted Elo ratings.

In the style of league training (AlphaStar-lite) and the Elo tables of Leela/KataGo: 64 games
run side by side as one (64, 9) int8 tensor, moves are sampled from a ``Categorical`` over the
masked logits, the outcome of each game is the return of every move in it (a value head is the
baseline), snapshots are saved with ``torch.save`` into memory, all snapshots are evaluated at
once with ``torch.func.stack_module_state`` + ``vmap``, and a round robin among them and a random
player is turned into Elo ratings by maximizing the Bradley-Terry likelihood with L-BFGS.
"""
import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical
from torch.func import functional_call, stack_module_state, vmap

torch.manual_seed(0)
torch.set_printoptions(precision=3, sci_mode=False)

LINES = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6],
                      [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]])
B = 64


def outcome(boards):
    """Per game: +1 (X won), -1 (O won), 0 (drawn or still running); and whether it is over."""
    sums = boards[:, LINES].sum(-1)
    x_won, o_won = (sums == 3).any(1), (sums == -3).any(1)
    result = x_won.to(torch.int8) - o_won.to(torch.int8)
    over = x_won | o_won | (boards != 0).all(1)
    return result, over


def features(boards, player):
    """One-hot planes (theirs, empty, mine) of the boards seen by the side to move."""
    canon = boards * player.view(-1, 1)
    return F.one_hot((canon + 1).long(), 3).flatten(1).float()


class ActorCritic(nn.Module):
    def __init__(self, hidden=48):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(27, hidden), nn.ELU(), nn.Linear(hidden, hidden),
                                  nn.ELU())
        self.policy = nn.Linear(hidden, 9)
        self.value = nn.Linear(hidden, 1)

    def forward(self, x):
        h = self.body(x)
        return self.policy(h), self.value(h).squeeze(-1)


def play(policy_x, policy_o, games=B):
    """Plays ``games`` games at once. A policy maps (boards, player) to (logits, values); the
    returned trajectory stacks per-ply log-probs, values, entropies, movers and liveness."""
    boards = torch.zeros(games, 9, dtype=torch.int8)
    player = torch.ones(games, dtype=torch.int8)
    over = torch.zeros(games, dtype=torch.bool)
    trajectory = []
    while not over.all():
        legal = boards == 0
        legal[over] = True  # finished games take a dummy move that is thrown away
        logits, value = policy_x(boards, player)
        if policy_o is not policy_x:
            logits_o, _ = policy_o(boards, player)
            logits = torch.where((player == 1)[:, None], logits, logits_o)
        dist = Categorical(logits=logits.masked_fill(~legal, float("-inf")))
        move = dist.sample()
        trajectory.append((dist.log_prob(move), value, dist.entropy(), player.clone(), ~over))
        play_here = F.one_hot(move, 9).bool() & ~over[:, None]
        boards = boards + play_here.to(torch.int8) * player[:, None]
        player = torch.where(over, player, -player)
        result, over = outcome(boards)
    return result, boards, [torch.stack(column) for column in zip(*trajectory)]


def random_policy(boards, player):
    return torch.zeros(boards.shape[0], 9), torch.zeros(boards.shape[0])


def frozen(net):
    @torch.no_grad()
    def policy(boards, player):
        return net(features(boards, player))
    return policy


def learner(boards, player):
    return net(features(boards, player))


net = ActorCritic()
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12, eta_min=1e-3)
snapshots = []

for it in range(12):
    result, boards, (log_p, value, ent, mover, alive) = play(learner, learner)
    z = (result[None, :] * mover).float()  # the outcome from each mover's point of view
    weight = alive.float()
    advantage = (z - value).detach()
    policy_loss = -(advantage * log_p * weight).sum() / weight.sum()
    value_loss = (F.mse_loss(value, z, reduction="none") * weight).sum() / weight.sum()
    entropy = (ent * weight).sum() / weight.sum()
    loss = policy_loss + 0.5 * value_loss - 0.01 * entropy
    opt.zero_grad()
    loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    sched.step()
    if it % 4 == 3:
        buffer = io.BytesIO()
        torch.save({"iteration": it, "model": net.state_dict()}, buffer)
        snapshots.append(buffer.getvalue())
        counts = torch.bincount((result + 1).long(), minlength=3)
        print(f"iter {it}: O/draw/X={counts.tolist()} loss={loss.item():.4f} "
              f"entropy={entropy.item():.4f} grad_norm={grad_norm:.4f} "
              f"lr={sched.get_last_lr()[0]:.5f}")

print("last boards:\n", boards[:2].view(2, 3, 3))

players = []
for blob in snapshots:
    state = torch.load(io.BytesIO(blob), weights_only=True)
    model = ActorCritic()
    model.load_state_dict(state["model"])
    players.append((f"it{state['iteration']}", model.eval()))
print("snapshots:", [name for name, _ in players])

# Every snapshot's opening policy at once: stacked parameters, vmap over the models.
params, buffers = stack_module_state([model for _, model in players])
base = ActorCritic().to("meta")


def opening(p, b, x):
    return functional_call(base, (p, b), (x,))


positions = features(torch.tensor([[0] * 9, [1, 0, 0, 0, -1, 0, 0, 0, 0]], dtype=torch.int8),
                     torch.tensor([1, 1], dtype=torch.int8))
logits, values = vmap(opening, in_dims=(0, 0, None))(params, buffers, positions)
loop_logits = torch.stack([model(positions)[0] for _, model in players])
print("stacked logits:", tuple(logits.shape), "values:\n", values)
print("vmap matches loop:", torch.allclose(logits, loop_logits, atol=1e-6))
print("opening policies:\n", logits[:, 0].softmax(-1))

# Round robin: each pair plays both colours; scores are wins + half the draws.
entrants = [("random", random_policy)] + [(name, frozen(m)) for name, m in players]
n = len(entrants)
score = torch.zeros(n, n)
for i in range(n):
    for j in range(n):
        if i != j:
            result, _, _ = play(entrants[i][1], entrants[j][1], games=32)
            score[i, j] += (result == 1).sum() + 0.5 * (result == 0).sum()
            score[j, i] += (result == -1).sum() + 0.5 * (result == 0).sum()
games = score + score.T
print("score matrix:\n", score)

# Bradley-Terry / Elo fit: P(i beats j) = sigmoid(s_i - s_j), Elo = s * 400 / ln 10, with the
# random player's strength fixed at 0.
strength = torch.zeros(n - 1, requires_grad=True)
lbfgs = torch.optim.LBFGS([strength], lr=1, max_iter=50, line_search_fn="strong_wolfe")


def closure():
    lbfgs.zero_grad()
    s = torch.cat([torch.zeros(1), strength])
    nll = -(score * F.logsigmoid(s[:, None] - s[None, :])).sum() / games.sum()
    nll = nll + 1e-3 * strength.pow(2).sum()
    nll.backward()
    return nll


final = lbfgs.step(closure)
elo = torch.cat([torch.zeros(1), strength.detach()]) * 400 / math.log(10)
print(f"fit nll={final.item():.4f} expected score it11 vs random="
      f"{torch.sigmoid(strength[-1]).item():.3f}")
for (name, _), rating, row in zip(entrants, elo, score.sum(1) / games.sum(1)):
    print(f"{name:>7}: elo={rating.item():7.1f} score={row.item():.3f}")
