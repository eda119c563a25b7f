"""``ember.utils.tensorboard``: ``SummaryWriter`` writes TensorBoard event files, as
``torch.utils.tensorboard`` does, through the ``tensorboard`` package (the optional
``tensorboard`` extra: ``pip install "ember[tensorboard]"``).

Example:
    >>> from ember.utils.tensorboard import SummaryWriter
    >>> with SummaryWriter("runs/demo") as writer:  # doctest: +SKIP
    ...     writer.add_scalar("loss", 0.5, global_step=0)
"""

try:
    import tensorboard as _tensorboard
except ImportError as _err:
    raise ImportError('TensorBoard logging needs the tensorboard package: '
                      'pip install "ember[tensorboard]" (or pip install tensorboard)') from _err

if tuple(int(p) for p in _tensorboard.__version__.split(".")[:2] if p.isdigit()) < (1, 15):
    raise ImportError("TensorBoard logging requires TensorBoard version 1.15 or above")

from tensorboard.summary.writer.record_writer import RecordWriter  # noqa: E402

from .writer import FileWriter, SummaryWriter  # noqa: E402

__all__ = ["FileWriter", "RecordWriter", "SummaryWriter"]
