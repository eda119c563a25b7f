"""Plots and printed summaries of a run: loss/accuracy curves and the confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(cfg) -> str:
    return f"{cfg.model} on {cfg.dataset}" if cfg is not None else ""


def plot_history(history: dict, path: Path, cfg=None) -> Path:
    """Save train/val loss and val accuracy per epoch as a PNG (whole-epoch ticks; the title
    names the model and the data set)."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"], marker="o", label="train")
    ax1.plot(epochs, history["val_loss"], marker="o", label="validation")
    ax1.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax1.legend()
    ax2.plot(epochs, np.array(history["val_acc"]) * 100, marker="o", color="tab:green")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="Validation accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if cfg is not None:
        fig.suptitle(_title(cfg))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion(confusion: np.ndarray, classes: list, path: Path, cfg=None) -> Path:
    """Save the confusion matrix (rows: true class, columns: predicted) as a PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(confusion, cmap="Blues")
    title = "Confusion matrix" + (f": {_title(cfg)}, test split" if cfg is not None else "")
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xticklabels=classes,
           yticklabels=classes, xlabel="predicted", ylabel="true", title=title)
    for i in range(confusion.shape[0]):
        for j in range(confusion.shape[1]):
            ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if confusion[i, j] > confusion.max() / 2 else "black")
    fig.colorbar(im)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def confusion_text(confusion: np.ndarray, classes: list) -> str:
    """The confusion matrix as text: one row per true class, one column per predicted class.

    Example:
        >>> print(confusion_text(np.array([[3, 1], [0, 4]]), ["cat", "dog"]))
        true \\ predicted  cat  dog
        cat                 3    1
        dog                 0    4
    """
    corner = "true \\ predicted"
    width = max(max(len(c) for c in classes), len(str(confusion.max()))) + 2
    label = max(max(len(c) for c in classes), len(corner))
    lines = [f"{corner:<{label}}" + "".join(f"{c:>{width}}" for c in classes)]
    lines += [f"{c:<{label}}" + "".join(f"{v:>{width}}" for v in row)
              for c, row in zip(classes, confusion)]
    return "\n".join(lines)
