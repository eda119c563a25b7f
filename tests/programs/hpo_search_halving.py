"""Hyperparameter search loops as people write them around a small PyTorch training function:
grid search (``itertools.product``) and random search (log-uniform draws from a dedicated
``torch.Generator``, ``torch.rand(generator=...)``, ``torch.randint``) where every trial
re-seeds with ``torch.manual_seed`` so runs are reproducible, early stopping that keeps the
best weights with ``copy.deepcopy(model.state_dict())`` and restores them, checkpoints of
model/optimizer/scheduler state written with ``torch.save`` to ``io.BytesIO`` and resumed
(``torch.load(weights_only=True)``), successive halving (Hyperband's inner loop) that continues
the surviving trials from their checkpoints, ``torch.get_rng_state``/``set_rng_state`` around
an evaluation, ``DataLoader(generator=...)`` shuffling per trial, and a results table sorted
with ``torch.argsort``/``torch.topk``."""
import copy
import io
import itertools
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

rng = np.random.default_rng(0)
X = rng.normal(size=(240, 6)).astype(np.float32)
w_true = rng.normal(size=(6,))
logits = X @ w_true + 0.5 * np.sin(3 * X[:, 0])
y = (logits + 0.3 * rng.normal(size=240) > 0).astype(np.int64)
full = TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
train_ds, val_ds = random_split(full, [180, 60], generator=torch.Generator().manual_seed(42))
print("split sizes", len(train_ds), len(val_ds), "first val idx", val_ds.indices[:5])
Xv = torch.stack([val_ds[i][0] for i in range(len(val_ds))])
yv = torch.stack([val_ds[i][1] for i in range(len(val_ds))])


def make_model(hidden, dropout):
    return nn.Sequential(nn.Linear(6, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 2))


def evaluate(model):
    model.eval()
    with torch.no_grad():
        out = model(Xv)
        loss = F.cross_entropy(out, yv).item()
        acc = (out.argmax(1) == yv).float().mean().item()
    model.train()
    return loss, acc


class Trial:
    def __init__(self, cfg, seed):
        self.cfg, self.seed = cfg, seed
        torch.manual_seed(seed)
        self.model = make_model(cfg["hidden"], cfg["dropout"])
        self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg["lr"], momentum=0.9,
                                   weight_decay=cfg["wd"])
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=3, gamma=0.5)
        self.gen = torch.Generator().manual_seed(seed)
        self.epochs = 0
        self.best = (math.inf, None, -1)

    def train(self, n_epochs, patience=None):
        loader = DataLoader(train_ds, batch_size=32, shuffle=True, generator=self.gen)
        bad = 0
        for _ in range(n_epochs):
            for xb, yb in loader:
                loss = F.cross_entropy(self.model(xb), yb)
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
            self.sched.step()
            self.epochs += 1
            vl, va = evaluate(self.model)
            if vl < self.best[0] - 1e-4:
                self.best = (vl, copy.deepcopy(self.model.state_dict()), self.epochs)
                bad = 0
            else:
                bad += 1
                if patience is not None and bad >= patience:
                    break
        return vl, va

    def checkpoint(self):
        buf = io.BytesIO()
        torch.save({"model": self.model.state_dict(), "opt": self.opt.state_dict(),
                    "sched": self.sched.state_dict(), "epochs": self.epochs,
                    "gen": self.gen.get_state()}, buf)
        buf.seek(0)
        return buf


# ---------------------------------------------------------------- grid search
grid = {"lr": [0.05, 0.2], "hidden": [8, 32], "dropout": [0.0, 0.3]}
results = []
for values in itertools.product(*grid.values()):
    cfg = dict(zip(grid.keys(), values), wd=1e-4)
    trial = Trial(cfg, seed=0)
    vl, va = trial.train(4)
    results.append((vl, va, cfg))
    print(f"grid {values} val loss {vl:.4f} acc {va:.4f}")
losses = torch.tensor([r[0] for r in results])
order = torch.argsort(losses)
print("grid ranking", order.tolist(), "best", results[order[0]][2])
top = torch.topk(-losses, k=3)
print("top-3 losses", [round(-v, 4) for v in top.values.tolist()], top.indices.tolist())

# re-running the best configuration reproduces it exactly
again = Trial(results[order[0]][2], seed=0)
print("reproducible", round(again.train(4)[0], 6) == round(results[order[0]][0], 6))

# ---------------------------------------------------------------- random search
search_gen = torch.Generator().manual_seed(123)


def sample_cfg(g):
    lr = 10 ** (torch.rand(1, generator=g).item() * 2 - 2.5)  # log-uniform in [10^-2.5, 10^-0.5]
    hidden = [8, 16, 32, 64][torch.randint(0, 4, (1,), generator=g).item()]
    dropout = round(torch.rand(1, generator=g).item() * 0.5, 3)
    wd = 10 ** torch.empty(1).uniform_(-5, -3, generator=g).item()
    return {"lr": lr, "hidden": hidden, "dropout": dropout, "wd": wd}


configs = [sample_cfg(search_gen) for _ in range(8)]
for i, c in enumerate(configs[:3]):
    print(f"random cfg {i} lr {c['lr']:.5f} hidden {c['hidden']} dropout {c['dropout']} "
          f"wd {c['wd']:.2e}")

# early stopping keeps and restores the best weights
es = Trial({"lr": 0.5, "hidden": 64, "dropout": 0.0, "wd": 0.0}, seed=7)
final_loss, _ = es.train(12, patience=2)
best_loss, best_state, best_epoch = es.best
es.model.load_state_dict(best_state)
print(f"early stopped after {es.epochs} epochs, best epoch {best_epoch}, best {best_loss:.4f}, "
      f"restored {evaluate(es.model)[0]:.4f}, last {final_loss:.4f}")
print("deepcopy is independent", best_state["0.weight"].data_ptr()
      != es.model[0].weight.data_ptr())

# ---------------------------------------------------------------- successive halving
trials = [Trial(c, seed=100 + i) for i, c in enumerate(configs)]
budget = 1
rung = 0
while len(trials) > 1:
    scores = []
    for t in trials:
        ckpt = t.checkpoint()
        state = torch.load(ckpt, weights_only=True)
        fresh = Trial(t.cfg, seed=t.seed)  # resume from the checkpoint, not the live object
        fresh.model.load_state_dict(state["model"])
        fresh.opt.load_state_dict(state["opt"])
        fresh.sched.load_state_dict(state["sched"])
        fresh.gen.set_state(state["gen"])
        fresh.epochs = state["epochs"]
        scores.append(fresh.train(budget)[0])
        t.__dict__.update(fresh.__dict__)
    scores = torch.tensor(scores)
    keep = torch.argsort(scores)[: max(1, len(trials) // 2)]
    print(f"rung {rung} budget {budget} n {len(trials)} scores "
          f"{[round(s, 3) for s in scores.tolist()]} keep {keep.tolist()}")
    trials = [trials[i] for i in keep.tolist()]
    budget *= 2
    rung += 1
winner = trials[0]
print(f"winner lr {winner.cfg['lr']:.5f} hidden {winner.cfg['hidden']} epochs {winner.epochs} "
      f"lr now {winner.sched.get_last_lr()[0]:.6f}")

# evaluation that draws random numbers must not disturb the training stream
torch.manual_seed(5)
state = torch.get_rng_state()
mc = torch.stack([F.softmax(winner.model.train()(Xv[:4]), -1) for _ in range(5)]).mean(0)
torch.set_rng_state(state)
a = torch.rand(2)
torch.manual_seed(5)
b = torch.rand(2)
print("rng restored", torch.equal(a, b), "mc-dropout probs",
      [round(v, 3) for v in mc[:, 1].tolist()])
