"""``ember.nn.parallel``: ``DataParallel`` (on the CPU it runs the module as is, exactly as
PyTorch does with no GPU) and ``DistributedDataParallel`` (data-parallel training over the
processes of ``ember.distributed``, on MPI).

Example:
    >>> model = ember.nn.DataParallel(ember.nn.Linear(2, 3))
    >>> list(model.state_dict())
    ['module.weight', 'module.bias']
"""

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
