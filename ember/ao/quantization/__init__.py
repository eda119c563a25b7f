"""``ember.ao.quantization``: eager-mode quantization as ``torch.ao.quantization``.

- observers (``MinMaxObserver``, ``MovingAverageMinMaxObserver``, ``PerChannelMinMaxObserver``
  ...) and ``FakeQuantize``; ``QConfig`` and the stock qconfigs
  (``default_qconfig``, ``get_default_qconfig("x86")``, ``get_default_qat_qconfig``);
- ``QuantStub``/``DeQuantStub``, ``fuse_modules``;
- workflows: ``quantize_dynamic``, ``prepare``/``convert``, ``prepare_qat``.

Example:
    >>> m = ember.nn.Sequential(ember.nn.Linear(4, 2))
    >>> q = ember.ao.quantization.quantize_dynamic(m, {ember.nn.Linear}, dtype=ember.qint8)
    >>> q(ember.ones(1, 4)).shape
    torch.Size([1, 2])
"""

from .fake_quantize import *  # noqa: F401,F403
from .fake_quantize import __all__ as _fq_all
from .fuse_modules import *  # noqa: F401,F403
from .fuse_modules import __all__ as _fuse_all
from .observer import *  # noqa: F401,F403
from .observer import UniformQuantizationObserverBase  # noqa: F401
from .observer import __all__ as _obs_all
from .qconfig import *  # noqa: F401,F403
from .qconfig import __all__ as _qc_all
from .qconfig_mapping import *  # noqa: F401,F403
from .qconfig_mapping import __all__ as _qcm_all
from .quantize import *  # noqa: F401,F403
from .quantize import __all__ as _q_all
from .stubs import *  # noqa: F401,F403
from .stubs import __all__ as _stubs_all

__all__ = (_fq_all + _fuse_all + _obs_all + _qc_all + _qcm_all + _q_all + _stubs_all
           + ["UniformQuantizationObserverBase"])
