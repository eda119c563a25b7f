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

from .config import TrainConfig
from .data import build_datasets
from .errors import CLIError, plural
from .models import build_model
from .runs import link_best, save_checkpoint


def make_optimizer(cfg: TrainConfig, params):
    if cfg.optimizer == "sgd":
        return ember.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    cls = ember.optim.AdamW if cfg.optimizer == "adamw" else ember.optim.Adam
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def evaluate(model, loader, num_classes: int, device=None):
    """(mean loss, accuracy, confusion matrix) of a model on a loader."""
    model.eval()
    criterion = nn.CrossEntropyLoss(reduction="sum")
    total, correct, loss_sum = 0, 0, 0.0
    confusion = np.zeros((num_classes, num_classes), np.int64)
    with ember.no_grad():
        for x, y in loader:
            if device is not None:
                x, y = x.to(device), y.to(device)
            out = model(x)
            loss_sum += criterion(out, y).item()
            pred = out.argmax(dim=1).cpu().numpy()
            truth = y.cpu().numpy()
            np.add.at(confusion, (truth, pred), 1)
            correct += int((pred == truth).sum())
            total += len(truth)
    return loss_sum / max(total, 1), correct / max(total, 1), confusion


def finished_epochs(state: dict) -> int:
    """How many epochs a checkpoint has finished: ``epoch + 1``, but never more than its history
    holds (an ``interrupted.pth`` of earlier versions counted the unfinished epoch as done)."""
    return min(state["epoch"] + 1, len(state["history"]["val_acc"]))


class Trainer:
    """Runs one configured training job and writes its checkpoints and plot to ``out``.

    ``progress``: True shows a bar where stderr is a terminal (one line per epoch elsewhere),
    False shows only the per-epoch lines. ``world``: this process's place in a data-parallel
    run (``ember train --nproc``, see ``parallel``), None for one process.
    """

    def __init__(self, cfg: TrainConfig, out: Path, progress: bool = True, world=None):
        self.cfg = cfg
        self.world = world
        self.main = world is None or world.main  # the process that validates and writes
        self.progress = progress and self.main
        self.out = Path(out)
        self.device = None if ember.device(cfg.device).type == "cpu" else ember.device(cfg.device)
        ember.manual_seed(cfg.seed)
        self.train_set, self.val_set, self.test_set, self.classes = build_datasets(cfg)
        sample = self.train_set[0][0]
        self.in_shape = tuple(sample.shape)
        self.model = build_model(cfg.model, self.in_shape[0], self.in_shape[-1],
                                 len(self.classes))
        if self.device is not None:
            self.model.to(self.device)
        self.optimizer = make_optimizer(cfg, self.model.parameters())
        self.step_model = self.model  # what a training step calls: DDP's wrapper over N procs
        if world is not None:
            from ember.nn.parallel import DistributedDataParallel

            self.step_model = DistributedDataParallel(self.model)
        self.criterion = nn.CrossEntropyLoss()
        self.loader_gen = ember.Generator().manual_seed(cfg.seed)
        self.history = {"train_loss": [], "val_loss": [], "val_acc": [], "epoch_time": []}
        self.start_epoch = 0
        self.best_acc = -1.0
        self.best_epoch = -1
        self.stale = 0
        self.stopped_early = False
        self._mark()

    # -- checkpoints -------------------------------------------------------------------------
    def _mark(self) -> None:
        """Remember the run's state at an epoch boundary (an interrupted checkpoint reuses it,
        so an unfinished epoch is never counted as done)."""
        self._boundary = {
            "epoch": self.start_epoch - 1, "history": {k: list(v) for k, v in
                                                       self.history.items()},
            "best_acc": self.best_acc, "best_epoch": self.best_epoch, "stale": self.stale,
            "rng_state": ember.get_rng_state(), "loader_rng": self.loader_gen.get_state()}

    def _state(self, **extra) -> dict:
        """A checkpoint: ``epoch`` is the index of the last finished epoch (-1: none)."""
        return {**self._boundary, "model_state": self.model.state_dict(),
                "optimizer_state": self.optimizer.state_dict(), "config": self.cfg.to_dict(),
                "classes": self.classes, **extra}

    def resume(self, state: dict, source: Path) -> None:
        """Continue where a checkpoint left off (same results as one unbroken run), with the
        learning rate and weight decay of this run's config."""
        try:
            self.model.load_state_dict(state["model_state"])
            self.optimizer.load_state_dict(state["optimizer_state"])
            self.history = {k: list(v) for k, v in state["history"].items()}
            self.best_acc, self.stale = state["best_acc"], state["stale"]
            self.best_epoch = state.get("best_epoch", -1)
            ember.set_rng_state(state["rng_state"])
            self.loader_gen.set_state(state["loader_rng"])
            self.start_epoch = finished_epochs(state)
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            raise CLIError(f"cannot resume from {source}: the checkpoint does not fit this "
                           f"model ({str(err).splitlines()[0]})") from err
        for group in self.optimizer.param_groups:  # flags given on resume take effect
            group["lr"] = self.cfg.lr
            group["weight_decay"] = self.cfg.weight_decay
            if "momentum" in group:
                group["momentum"] = self.cfg.momentum
        self._mark()

    def _save_epoch(self, improved: bool) -> None:
        if not self.main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        last = save_checkpoint(self._state(), self.out / "last.pth")
        if improved:
            link_best(last, self.out / "best.pth")
        (self.out / "interrupted.pth").unlink(missing_ok=True)  # superseded by this epoch

    # -- the loop ----------------------------------------------------------------------------
    def fit(self) -> dict:
        from tqdm import tqdm

        cfg, world = self.cfg, self.world
        if world is None:
            train_loader = DataLoader(self.train_set, batch_size=cfg.batch_size, shuffle=True,
                                      generator=self.loader_gen, num_workers=cfg.num_workers)
        else:  # this process's share of the shuffle one process would draw
            from .parallel import shard_sampler

            train_loader = DataLoader(
                self.train_set, batch_size=cfg.batch_size // world.size,
                sampler=shard_sampler(self.train_set, self.loader_gen, world),
                generator=self.loader_gen, num_workers=cfg.num_workers)
        val_loader = DataLoader(self.val_set, batch_size=256)
        try:
            for epoch in range(self.start_epoch, cfg.epochs):
                if world is not None:
                    from .parallel import seed_dropout

                    seed_dropout(cfg.seed, epoch, world)
                self.model.train()
                start, seen, loss_sum = time.perf_counter(), 0, 0.0
                # disable=None: no bar where stderr is not a terminal (a log file, CI)
                bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch",
                           disable=None if self.progress else True, leave=False,
                           dynamic_ncols=True, file=sys.stderr)
                for x, y in bar:
                    if self.device is not None:
                        x, y = x.to(self.device), y.to(self.device)
                    self.optimizer.zero_grad()
                    loss = self.criterion(self.step_model(x), y)
                    loss.backward()
                    self.optimizer.step()
                    seen += len(y)
                    loss_sum += loss.item() * len(y)
                    if not bar.disable:
                        rate = seen / max(time.perf_counter() - start, 1e-9)
                        bar.set_postfix(loss=f"{loss_sum / seen:.4f}", samples_s=f"{rate:,.0f}")
                bar.close()
                elapsed = time.perf_counter() - start
                if world is None:
                    val_loss, val_acc, _ = evaluate(self.model, val_loader, len(self.classes),
                                                    self.device)
                else:  # the epoch's totals over every process; rank 0 validates
                    from .parallel import reduce_sums, share

                    loss_sum, seen = reduce_sums(world, loss_sum, seen)
                    val_loss, val_acc = share(world, evaluate(
                        self.model, val_loader, len(self.classes), self.device)[:2]
                        if world.main else None)
                self.history["train_loss"].append(loss_sum / max(seen, 1))
                self.history["val_loss"].append(val_loss)
                self.history["val_acc"].append(val_acc)
                self.history["epoch_time"].append(elapsed)
                improved = val_acc > self.best_acc
                if improved:
                    self.best_acc, self.best_epoch, self.stale = val_acc, epoch, 0
                else:
                    self.stale += 1
                self.start_epoch = epoch + 1
                self._mark()
                self._save_epoch(improved)
                if self.main:
                    print(f"epoch {epoch + 1}/{cfg.epochs}: train loss "
                          f"{loss_sum / max(seen, 1):.4f}, val loss {val_loss:.4f}, val acc "
                          f"{val_acc:.2%}{' (best)' if improved else ''} | {elapsed:.1f} s, "
                          f"{seen / max(elapsed, 1e-9):,.0f} samples/s", flush=True)
                if cfg.patience and self.stale >= cfg.patience and epoch + 1 < cfg.epochs:
                    if self.main:
                        print(f"early stopping: no improvement for "
                              f"{plural(cfg.patience, 'epoch')} (--patience {cfg.patience})",
                              flush=True)
                    self.stopped_early = True
                    break
        except KeyboardInterrupt:
            if self.main:
                self._interrupted()
            raise
        return self.history

    def _interrupted(self) -> None:
        """Ctrl-C: save the weights as they are (the unfinished epoch is not counted) and the
        plot of the finished epochs, and say how to continue."""
        self.out.mkdir(parents=True, exist_ok=True)
        path = save_checkpoint(self._state(interrupted=True), self.out / "interrupted.pth")
        history = self._boundary["history"]
        if history["val_acc"]:
            from .report import plot_history

            plot_history(history, self.out / "history.png", self.cfg)
        nxt = self._boundary["epoch"] + 2
        if nxt > self.cfg.epochs:  # Ctrl-C after the last epoch had finished
            print(f"\ninterrupted after the last epoch; the weights are in {path}",
                  file=sys.stderr, flush=True)
            return
        print(f"\ninterrupted in epoch {nxt}/{self.cfg.epochs}: weights saved to {path}; "
              f"`ember train --resume {self.out}` continues with epoch {nxt}",
              file=sys.stderr, flush=True)
