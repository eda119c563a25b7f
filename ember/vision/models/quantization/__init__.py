"""``ember.vision.models.quantization``: torchvision's quantizable classifiers.

Each builder (``resnet18``, ``mobilenet_v2``, ``shufflenet_v2_x1_0`` ...) gives the float
model with ``QuantStub``/``DeQuantStub``, ``FloatFunctional`` skip connections and
``fuse_model()``, ready for eager-mode post-training quantization or QAT with
``ember.ao.quantization``; ``quantize=True`` returns it already converted.

Example:
    >>> from ember.vision.models import quantization as Q
    >>> m = Q.resnet18(num_classes=3).eval()
    >>> m.fuse_model()
    >>> m.qconfig = ember.ao.quantization.get_default_qconfig("x86")
    >>> p = ember.ao.quantization.prepare(m); _ = p(ember.rand(2, 3, 32, 32))
    >>> ember.ao.quantization.convert(p).fc._get_name()
    'QuantizedLinear'
"""

# ``quantization.googlenet`` ends up the builder function (the star import rebinds the name
# after the submodule import), as in torchvision
from .googlenet import *  # noqa: F401,F403
from .inception import *  # noqa: F401,F403
from .mobilenet import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .shufflenetv2 import *  # noqa: F401,F403
