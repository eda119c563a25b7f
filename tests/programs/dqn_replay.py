"""Deep Q-learning with replay memory and a target network, after PyTorch's DQN tutorial.

The tutorial's CartPole is replaced by a small deterministic chain world so that the program
needs no gym. Exploration draws and minibatch sampling come from Python's ``random`` module
(seeded), and the network starts from NumPy weights, so both libraries see the same numbers.
"""
import math
import random
from collections import namedtuple, deque
from itertools import count

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import torch.nn.functional as F

random.seed(0)
rng = np.random.default_rng(0)
device = torch.device("cpu")


class ChainEnv:
    """Six states in a row; action 1 moves right, 0 moves left; the right end pays 1."""
    n_states = 6

    def reset(self):
        self.pos = 1
        return self.observe()

    def observe(self):
        return [1.0 if i == self.pos else 0.0 for i in range(self.n_states)]

    def step(self, action):
        self.pos = max(0, self.pos + (1 if action == 1 else -1))
        terminated = self.pos == self.n_states - 1
        reward = 1.0 if terminated else -0.01
        return self.observe(), reward, terminated


Transition = namedtuple('Transition', ('state', 'action', 'next_state', 'reward'))


class ReplayMemory(object):

    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        """Save a transition"""
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):

    def __init__(self, n_observations, n_actions):
        super(DQN, self).__init__()
        self.layer1 = nn.Linear(n_observations, 32)
        self.layer2 = nn.Linear(32, 32)
        self.layer3 = nn.Linear(32, n_actions)

    # Called with either one element to determine next action, or a batch
    # during optimization. Returns tensor([[left0exp,right0exp]...]).
    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


BATCH_SIZE = 16
GAMMA = 0.9
EPS_START = 0.9
EPS_END = 0.05
EPS_DECAY = 100
TAU = 0.05
LR = 1e-3

env = ChainEnv()
n_actions = 2
state = env.reset()
n_observations = len(state)

policy_net = DQN(n_observations, n_actions).to(device)
target_net = DQN(n_observations, n_actions).to(device)
with torch.no_grad():
    for p in policy_net.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
target_net.load_state_dict(policy_net.state_dict())

optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
memory = ReplayMemory(1000)

steps_done = 0


def select_action(state):
    global steps_done
    sample = random.random()
    eps_threshold = EPS_END + (EPS_START - EPS_END) * \
        math.exp(-1. * steps_done / EPS_DECAY)
    steps_done += 1
    if sample > eps_threshold:
        with torch.no_grad():
            # t.max(1) will return the largest column value of each row.
            # second column on max result is index of where max element was
            # found, so we pick action with the larger expected reward.
            return policy_net(state).max(1).indices.view(1, 1)
    else:
        return torch.tensor([[random.randrange(n_actions)]], device=device, dtype=torch.long)


def optimize_model():
    if len(memory) < BATCH_SIZE:
        return None
    transitions = memory.sample(BATCH_SIZE)
    # Transpose the batch: from a batch-array of Transitions to a Transition of batch-arrays.
    batch = Transition(*zip(*transitions))

    # Compute a mask of non-final states and concatenate the batch elements
    non_final_mask = torch.tensor(tuple(map(lambda s: s is not None,
                                            batch.next_state)), device=device, dtype=torch.bool)
    non_final_next_states = torch.cat([s for s in batch.next_state
                                       if s is not None])
    state_batch = torch.cat(batch.state)
    action_batch = torch.cat(batch.action)
    reward_batch = torch.cat(batch.reward)

    # Q(s_t, a): the columns of the actions that were taken
    state_action_values = policy_net(state_batch).gather(1, action_batch)

    # V(s_{t+1}) for all next states, from the "older" target_net; 0 for final states
    next_state_values = torch.zeros(BATCH_SIZE, device=device)
    with torch.no_grad():
        next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
    expected_state_action_values = (next_state_values * GAMMA) + reward_batch

    # Compute Huber loss
    criterion = nn.SmoothL1Loss()
    loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))

    optimizer.zero_grad()
    loss.backward()
    # In-place gradient clipping
    torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
    optimizer.step()
    return loss.item()


num_episodes = 30
episode_durations = []
for i_episode in range(num_episodes):
    state = env.reset()
    state = torch.tensor(state, dtype=torch.float32, device=device).unsqueeze(0)
    losses = []
    for t in count():
        action = select_action(state)
        observation, reward, terminated = env.step(action.item())
        reward = torch.tensor([reward], device=device)
        done = terminated or t >= 29

        if terminated:
            next_state = None
        else:
            next_state = torch.tensor(observation, dtype=torch.float32,
                                      device=device).unsqueeze(0)

        memory.push(state, action, next_state, reward)
        state = next_state

        loss = optimize_model()
        if loss is not None:
            losses.append(loss)

        # Soft update of the target network's weights
        # θ′ ← τ θ + (1 −τ )θ′
        target_net_state_dict = target_net.state_dict()
        policy_net_state_dict = policy_net.state_dict()
        for key in policy_net_state_dict:
            target_net_state_dict[key] = policy_net_state_dict[key] * TAU + \
                target_net_state_dict[key] * (1 - TAU)
        target_net.load_state_dict(target_net_state_dict)

        if done:
            episode_durations.append(t + 1)
            break
    if (i_episode + 1) % 5 == 0:
        mean_loss = sum(losses) / len(losses) if losses else float('nan')
        print("episode {:2d}  duration {:2d}  mean loss {:.5f}  steps {}".format(
            i_episode + 1, t + 1, mean_loss, steps_done))

durations_t = torch.tensor(episode_durations, dtype=torch.float)
print("durations:", durations_t.int().tolist())
means = durations_t.unfold(0, 10, 1).mean(1).view(-1)
print("10-episode running mean:", [round(m, 2) for m in means.tolist()[::5]])

with torch.no_grad():
    q = policy_net(torch.eye(n_observations))
print("Q values:")
for s, row in enumerate(q.tolist()):
    print("  state {}: left {:+.4f} right {:+.4f}".format(s, row[0], row[1]))
print("greedy actions:", q.argmax(dim=1).tolist())
print("memory size:", len(memory))
diff = sum((a - b).abs().sum().item() for a, b in zip(policy_net.parameters(),
                                                      target_net.parameters()))
print("policy/target weight distance: {:.4f}".format(diff))
