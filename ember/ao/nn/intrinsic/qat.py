"""``ember.ao.nn.intrinsic.qat``: the quantization-aware-training forms of the fused modules
(``prepare_qat`` puts them in place of ``ConvBnReLU2d`` ...), and the ``module.apply``
helpers that freeze or resume BatchNorm statistics during QAT.

Example:
    >>> import ember.ao.nn.intrinsic.qat as nniqat
    >>> nniqat.freeze_bn_stats is ember.ao.nn.qat.freeze_bn_stats
    True
"""

from .. import qat as _qat

ConvBn1d, ConvBn2d, ConvBn3d = _qat.ConvBn1d, _qat.ConvBn2d, _qat.ConvBn3d
ConvBnReLU1d, ConvBnReLU2d, ConvBnReLU3d = (_qat.ConvBnReLU1d, _qat.ConvBnReLU2d,
                                            _qat.ConvBnReLU3d)
ConvReLU1d, ConvReLU2d, ConvReLU3d = _qat.ConvReLU1d, _qat.ConvReLU2d, _qat.ConvReLU3d
LinearReLU, LinearBn1d = _qat.LinearReLU, _qat.LinearBn1d
freeze_bn_stats, update_bn_stats = _qat.freeze_bn_stats, _qat.update_bn_stats

__all__ = ["ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d",
           "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearReLU", "LinearBn1d",
           "freeze_bn_stats", "update_bn_stats"]
