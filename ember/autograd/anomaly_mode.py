"""``torch.autograd.anomaly_mode``'s path to ``detect_anomaly`` and ``set_detect_anomaly``.

The objects live in ``anomaly.py``; this module gives them PyTorch's import path so that
``from torch.autograd.anomaly_mode import detect_anomaly`` keeps working under
``import ember as torch``.

Example:
    >>> from ember.autograd.anomaly_mode import detect_anomaly
    >>> detect_anomaly is ember.autograd.detect_anomaly
    True
"""

from .anomaly import detect_anomaly, set_detect_anomaly

__all__ = ["detect_anomaly", "set_detect_anomaly"]
