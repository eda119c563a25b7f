"""Data sets for ``ember train``: the embedded 8x8 digits, or MNIST/FashionMNIST/CIFAR-10
(missing or undownloadable data is a one-line error naming ``--download``/``--data-dir``)."""

from __future__ import annotations

import numpy as np

import ember
from ember.utils.data import Dataset

from .errors import CLIError


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


_SIZES = {"mnist": "12 MB", "fashion-mnist": "30 MB", "cifar10": "170 MB"}


def _vision(cfg):
    from ember.vision import datasets
    from ember.vision.datasets.utils import DownloadError

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST,
           "cifar10": datasets.CIFAR10}[cfg.dataset]
    try:
        train = cls(cfg.data_dir, train=True, download=cfg.download)
        test = cls(cfg.data_dir, train=False, download=cfg.download)
    except RuntimeError as err:
        text = str(err)
        if text.startswith(("Dataset not found", "Dataset metadata file not found")):
            detail = text[text.find("(") + 1:text.rfind(")")] if "(" in text else ""
            raise CLIError(f"{cls.__name__} is not in --data-dir {cfg.data_dir}"
                           + (f" ({detail})" if detail else "") + "; add --download "
                           f"to fetch it (about {_SIZES[cfg.dataset]}), or point --data-dir at "
                           "a folder that holds it") from err
        if text.startswith("Error downloading") or isinstance(err, DownloadError):
            reason = text.splitlines()[-1].strip()
            raise CLIError(f"downloading {cls.__name__} failed: {reason}") from err
        raise CLIError(f"cannot read {cls.__name__} from --data-dir {cfg.data_dir}: "
                       f"{text.splitlines()[0]}") from err
    except OSError as err:
        raise CLIError(f"cannot read or write {cls.__name__} in --data-dir {cfg.data_dir}: "
                       f"{err}") from err

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
