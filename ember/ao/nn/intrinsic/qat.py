"""``ember.ao.nn.intrinsic.qat``: the quantization-aware-training forms of the fused modules
(``prepare_qat`` puts them in place of ``ConvBnReLU2d`` ...), and the ``module.apply``
helpers that freeze or resume BatchNorm statistics during QAT.

Example:
    >>> import ember.ao.nn.intrinsic.qat as nniqat
    >>> nniqat.freeze_bn_stats is ember.ao.nn.qat.freeze_bn_stats
    True
"""

from .. import qat as _qat

ConvBn2d, ConvBnReLU2d = _qat.ConvBn2d, _qat.ConvBnReLU2d
ConvReLU2d, LinearReLU = _qat.ConvReLU2d, _qat.LinearReLU
freeze_bn_stats, update_bn_stats = _qat.freeze_bn_stats, _qat.update_bn_stats

__all__ = ["ConvBn2d", "ConvBnReLU2d", "ConvReLU2d", "LinearReLU", "freeze_bn_stats",
           "update_bn_stats"]
