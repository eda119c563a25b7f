"""Data sets for ``ember train``: the embedded 8x8 digits, or MNIST/FashionMNIST/CIFAR-10."""

from __future__ import annotations

import numpy as np

import ember
from ember.utils.data import Dataset


class ArrayDataset(Dataset):
    """Images (N, C, H, W) float32 and int64 labels, already normalised."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, classes: list):
        self.images = ember.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        self.labels = ember.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
        self.classes = classes

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


def _split(n: int, cfg, seed: int):
    """Seeded train/val/test indices (the same for every run with the same seed)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * cfg.test_fraction))
    n_val = int(round(n * cfg.val_fraction))
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]


def _digits(cfg):
    from ember._embedded import load_digits

    images, labels = load_digits()
    x = (images.astype(np.float32) / 16.0 - 0.5) / 0.5
    return x[:, None], labels, [str(i) for i in range(10)], None


def _vision(cfg):
    from ember.vision import datasets

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST,
           "cifar10": datasets.CIFAR10}[cfg.dataset]
    train = cls(cfg.data_dir, train=True, download=cfg.download)
    test = cls(cfg.data_dir, train=False, download=cfg.download)

    def arrays(ds):
        data = ds.data.numpy() if hasattr(ds.data, "numpy") else np.asarray(ds.data)
        data = data.astype(np.float32) / 255.0
        data = data[:, None] if data.ndim == 3 else data.transpose(0, 3, 1, 2)
        targets = np.asarray(ds.targets.numpy() if hasattr(ds.targets, "numpy") else ds.targets)
        return (data - 0.5) / 0.5, targets.astype(np.int64)

    xtr, ytr = arrays(train)
    xte, yte = arrays(test)
    return xtr, ytr, list(train.classes), (xte, yte)


def build_datasets(cfg):
    """(train, val, test) datasets and the class names."""
    loader = _digits if cfg.dataset == "digits" else _vision
    x, y, classes, test = loader(cfg)
    if test is None:
        tr, va, te = _split(len(y), cfg, cfg.seed)
        xte, yte = x[te], y[te]
    else:
        order = np.random.default_rng(cfg.seed).permutation(len(y))
        n_val = int(round(len(y) * cfg.val_fraction))
        tr, va = order[n_val:], order[:n_val]
        xte, yte = test
    return (ArrayDataset(x[tr], y[tr], classes), ArrayDataset(x[va], y[va], classes),
            ArrayDataset(xte, yte, classes), classes)
