"""The reproducibility recipe: seeding, Generator objects, RNG state save/restore, seeded
DataLoader shuffling and random_split — checked for repeatability, not for the draws
themselves (each library has its own random stream)."""
import random

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
random.seed(0)
np.random.seed(0)
torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False
torch.use_deterministic_algorithms(True)
print(torch.are_deterministic_algorithms_enabled(), torch.initial_seed())


def draws():
    return torch.cat([torch.rand(3), torch.randn(2), torch.randint(0, 10, (3,)).float(),
                      torch.randperm(5).float(), torch.empty(2).uniform_(-1, 1),
                      torch.bernoulli(torch.full((3,), 0.5)), torch.multinomial(
                          torch.tensor([0.2, 0.3, 0.5]), 2).float()])


torch.manual_seed(42)
a = draws()
torch.manual_seed(42)
b = draws()
print(a.shape, torch.equal(a, b), torch.equal(a, draws()))
print(bool(((a[:3] >= 0) & (a[:3] < 1)).all()), sorted(a[8:13].long().tolist()))

state = torch.get_rng_state()
c = torch.rand(4)
torch.set_rng_state(state)
print(torch.equal(c, torch.rand(4)), state.dtype, state.dim())

g = torch.Generator().manual_seed(7)
g2 = torch.Generator()
g2.manual_seed(7)
print(torch.equal(torch.rand(5, generator=g), torch.rand(5, generator=g2)), g.initial_seed())
gs = g.get_state()
d = torch.randn(3, generator=g)
g.set_state(gs)
print(torch.equal(d, torch.randn(3, generator=g)))

# dropout masks repeat under the same seed
drop = nn.Dropout(p=0.5)
torch.manual_seed(3)
m1 = drop(torch.ones(20))
torch.manual_seed(3)
m2 = drop(torch.ones(20))
print(torch.equal(m1, m2), set(m1.unique().tolist()) <= {0.0, 2.0})

# initialisation repeats too
torch.manual_seed(5)
l1 = nn.Linear(4, 3)
torch.manual_seed(5)
l2 = nn.Linear(4, 3)
print(torch.equal(l1.weight, l2.weight), float(l1.weight.detach().abs().max()) <= 0.5)

# seeded shuffling in DataLoader, and worker seeding
ds = TensorDataset(torch.arange(10))


def order(seed, workers=0):
    gen = torch.Generator()
    gen.manual_seed(seed)
    loader = DataLoader(ds, batch_size=3, shuffle=True, generator=gen, num_workers=workers)
    return [x.tolist() for (x,) in loader]


o1, o2 = order(0), order(0)
print(o1 == o2, sorted(sum(o1, [])) == list(range(10)), [len(b) for b in o1])
print(order(1, workers=2) == order(1, workers=2))


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


class Noisy(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.tensor([i + np.random.random(), torch.rand(1).item()])


def noisy_run():
    gen = torch.Generator()
    gen.manual_seed(0)
    loader = DataLoader(Noisy(), batch_size=2, num_workers=2, worker_init_fn=seed_worker,
                        generator=gen)
    return torch.cat(list(loader))


r1, r2 = noisy_run(), noisy_run()
print(r1.shape, torch.equal(r1, r2), r1[:, 0].floor().tolist())

# random_split with a seeded generator: same split each time, disjoint, right sizes
full = TensorDataset(torch.arange(20))
s1 = random_split(full, [0.6, 0.2, 0.2], generator=torch.Generator().manual_seed(42))
s2 = random_split(full, [12, 4, 4], generator=torch.Generator().manual_seed(42))
print([len(s) for s in s1], [list(s.indices) for s in s1] == [list(s.indices) for s in s2])
print(sorted(i for s in s1 for i in s.indices) == list(range(20)))
