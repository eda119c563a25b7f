"""Datasets, samplers and the DataLoader, mirroring ``torch.utils.data``.

Example:
    >>> from ember.utils.data import DataLoader, TensorDataset
    >>> loader = DataLoader(TensorDataset(ember.arange(10)), batch_size=4, shuffle=True)
"""

# torch.utils.data imports its distributed submodule, so programs reach the sampler as
# torch.utils.data.distributed.DistributedSampler after a plain "import torch.utils.data"
from . import distributed  # noqa: F401  (the attribute is the point)
from ._worker import WorkerInfo, get_worker_info
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
    "DistributedSampler", "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler",
    "StackDataset", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
    "WorkerInfo", "default_collate", "default_convert", "get_worker_info", "random_split",
]
