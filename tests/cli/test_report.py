"""The plots of a run: whole-epoch ticks, and the model and data set in the title."""

import numpy as np
import pytest

from ember.cli.config import TrainConfig
from ember.cli.report import confusion_text, plot_confusion, plot_history


@pytest.fixture
def saved_figures(monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    figures = []
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: figures.append(self))
    return figures


def test_history_plot_has_whole_epoch_ticks_and_a_title(saved_figures, tmp_path):
    history = {"train_loss": [1.0, 0.5, 0.3], "val_loss": [0.9, 0.6, 0.4],
               "val_acc": [0.5, 0.7, 0.8]}
    plot_history(history, tmp_path / "h.png", TrainConfig(model="mlp", dataset="digits"))
    (fig,) = saved_figures
    assert fig._suptitle.get_text() == "mlp on digits"
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_confusion_plot_names_the_run(saved_figures, tmp_path):
    plot_confusion(np.eye(2, dtype=np.int64), ["a", "b"], tmp_path / "c.png",
                   TrainConfig(model="cnn", dataset="mnist"))
    (fig,) = saved_figures
    ax = fig.axes[0]
    assert "cnn on mnist" in ax.get_title()
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"


def test_confusion_text_labels_both_axes():
    text = confusion_text(np.array([[3, 1], [0, 4]]), ["cat", "dog"])
    assert text.splitlines() == ["true \\ predicted  cat  dog",
                                 "cat                 3    1",
                                 "dog                 0    4"]
