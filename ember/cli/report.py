"""Plots and printed summaries of a run: loss/accuracy curves and the confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_history(history: dict, path: Path) -> Path:
    """Save train/val loss and val accuracy per epoch as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion(confusion: np.ndarray, classes: list, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(confusion, cmap="Blues")
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xticklabels=classes,
           yticklabels=classes, xlabel="predicted", ylabel="true", title="Confusion matrix")
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
    width = max(max(len(c) for c in classes), len(str(confusion.max()))) + 1
    head = " " * (width + 1) + "".join(f"{c:>{width}}" for c in classes) + "   <- predicted"
    rows = [f"{c:>{width}} " + "".join(f"{v:>{width}}" for v in row)
            for c, row in zip(classes, confusion)]
    return "\n".join([head] + rows)
