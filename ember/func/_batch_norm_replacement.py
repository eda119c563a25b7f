"""``replace_all_batch_norm_modules_``: make a model's BatchNorm layers vmap-friendly.

Under ``vmap`` a BatchNorm that updates its running statistics would write one buffer from
every batch element at once; PyTorch's answer (kept here) is to drop the running statistics,
so the layers always normalize with the current batch's statistics.
"""


def _batch_norm_without_running_stats(module) -> None:
    from ..nn.modules.batchnorm import _BatchNorm

    if isinstance(module, _BatchNorm) and module.track_running_stats:
        module.running_mean = None
        module.running_var = None
        module.num_batches_tracked = None
        module.track_running_stats = False


def replace_all_batch_norm_modules_(root):
    """In place, stop every BatchNorm module under ``root`` (``root`` included) from tracking
    running statistics; returns ``root``.

    Args:
        root (nn.Module): the model to change.

    Example:
        >>> model = replace_all_batch_norm_modules_(nn.Sequential(nn.BatchNorm1d(3)))
        >>> model[0].running_mean is None, model[0].track_running_stats
        (True, False)
    """
    _batch_norm_without_running_stats(root)
    for module in root.modules():
        _batch_norm_without_running_stats(module)
    return root
