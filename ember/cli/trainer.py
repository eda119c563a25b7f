"""The training loop behind ``ember train``: progress bar, validation, checkpoints, resume,
early stopping, Ctrl-C handling, and a plot of the run."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import ember
import ember.nn as nn
from ember.utils.data import DataLoader

from .config import TrainConfig, from_dict
from .data import build_datasets
from .models import build_model


def make_optimizer(cfg: TrainConfig, params):
    if cfg.optimizer == "sgd":
        return ember.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    cls = ember.optim.AdamW if cfg.optimizer == "adamw" else ember.optim.Adam
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def evaluate(model, loader, num_classes: int):
    """(mean loss, accuracy, confusion matrix) of a model on a loader."""
    model.eval()
    criterion = nn.CrossEntropyLoss(reduction="sum")
    total, correct, loss_sum = 0, 0, 0.0
    confusion = np.zeros((num_classes, num_classes), np.int64)
    with ember.no_grad():
        for x, y in loader:
            out = model(x)
            loss_sum += criterion(out, y).item()
            pred = out.argmax(dim=1).numpy()
            truth = y.numpy()
            np.add.at(confusion, (truth, pred), 1)
            correct += int((pred == truth).sum())
            total += len(truth)
    return loss_sum / max(total, 1), correct / max(total, 1), confusion


class Trainer:
    """Runs one configured training job and writes its checkpoints and plot to ``out_dir``."""

    def __init__(self, cfg: TrainConfig, progress: bool = True):
        self.cfg = cfg
        self.progress = progress
        self.out = Path(cfg.out_dir)
        ember.manual_seed(cfg.seed)
        self.train_set, self.val_set, self.test_set, self.classes = build_datasets(cfg)
        sample = self.train_set[0][0]
        self.in_shape = tuple(sample.shape)
        self.model = build_model(cfg.model, self.in_shape[0], self.in_shape[-1],
                                 len(self.classes))
        self.optimizer = make_optimizer(cfg, self.model.parameters())
        self.criterion = nn.CrossEntropyLoss()
        self.loader_gen = ember.Generator().manual_seed(cfg.seed)
        self.history = {"train_loss": [], "val_loss": [], "val_acc": [], "epoch_time": []}
        self.start_epoch = 0
        self.best_acc = -1.0
        self.stale = 0

    # -- checkpoints -------------------------------------------------------------------------
    def _state(self, epoch: int) -> dict:
        return {"epoch": epoch, "model_state": self.model.state_dict(),
                "optimizer_state": self.optimizer.state_dict(), "config": self.cfg.to_dict(),
                "history": self.history, "best_acc": self.best_acc, "stale": self.stale,
                "rng_state": ember.get_rng_state(), "loader_rng": self.loader_gen.get_state(),
                "classes": self.classes}

    def save(self, name: str, epoch: int) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / name
        ember.save(self._state(epoch), path)
        return path

    def resume(self, path: str) -> None:
        """Continue exactly where a checkpoint left off (same results as one unbroken run)."""
        p = Path(path)
        if p.is_dir():
            p = p / "last.pth"
        if not p.exists():
            raise ValueError(f"cannot resume: checkpoint {p} does not exist")
        state = ember.load(p)
        saved = from_dict(state["config"], source=str(p))
        for key in ("dataset", "model", "seed", "batch_size", "optimizer", "val_fraction",
                    "test_fraction"):
            if getattr(saved, key) != getattr(self.cfg, key):
                raise ValueError(
                    f"cannot resume from {p}: it was trained with {key}={getattr(saved, key)!r} "
                    f"but this run has {key}={getattr(self.cfg, key)!r}")
        self.model.load_state_dict(state["model_state"])
        self.optimizer.load_state_dict(state["optimizer_state"])
        self.history = state["history"]
        self.best_acc, self.stale = state["best_acc"], state["stale"]
        ember.set_rng_state(state["rng_state"])
        self.loader_gen.set_state(state["loader_rng"])
        self.start_epoch = state["epoch"] + 1

    # -- the loop ----------------------------------------------------------------------------
    def fit(self) -> dict:
        from tqdm import tqdm

        cfg = self.cfg
        train_loader = DataLoader(self.train_set, batch_size=cfg.batch_size, shuffle=True,
                                  generator=self.loader_gen, num_workers=cfg.num_workers)
        val_loader = DataLoader(self.val_set, batch_size=256)
        epoch = self.start_epoch - 1
        try:
            for epoch in range(self.start_epoch, cfg.epochs):
                self.model.train()
                start, seen, loss_sum = time.perf_counter(), 0, 0.0
                bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch",
                           disable=not self.progress, leave=True, dynamic_ncols=True)
                for x, y in bar:
                    self.optimizer.zero_grad()
                    loss = self.criterion(self.model(x), y)
                    loss.backward()
                    self.optimizer.step()
                    seen += len(y)
                    loss_sum += loss.item() * len(y)
                    rate = seen / max(time.perf_counter() - start, 1e-9)
                    bar.set_postfix(loss=f"{loss_sum / seen:.4f}", samples_s=f"{rate:,.0f}")
                elapsed = time.perf_counter() - start
                val_loss, val_acc, _ = evaluate(self.model, val_loader, len(self.classes))
                self.history["train_loss"].append(loss_sum / max(seen, 1))
                self.history["val_loss"].append(val_loss)
                self.history["val_acc"].append(val_acc)
                self.history["epoch_time"].append(elapsed)
                improved = val_acc > self.best_acc
                if improved:
                    self.best_acc, self.stale = val_acc, 0
                else:
                    self.stale += 1
                self._log(f"epoch {epoch + 1}: train loss {loss_sum / max(seen, 1):.4f}, "
                          f"val loss {val_loss:.4f}, val acc {val_acc:.2%}"
                          + (" (best)" if improved else ""))
                self.save("last.pth", epoch)
                if improved:
                    self.save("best.pth", epoch)
                if cfg.patience and self.stale >= cfg.patience:
                    self._log(f"early stopping: no improvement for {cfg.patience} epochs")
                    break
        except KeyboardInterrupt:
            path = self.save("interrupted.pth", epoch)
            print(f"\ninterrupted: weights saved to {path}; `ember train --resume {self.out}` "
                  "continues from the last completed epoch", file=sys.stderr)
            raise
        return self.history

    def _log(self, text: str) -> None:
        if self.progress:
            from tqdm import tqdm

            tqdm.write(text)
