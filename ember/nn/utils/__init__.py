"""``ember.nn.utils``: gradient clipping, parameter/vector conversion, ``rnn`` helpers,
parametrizations (``parametrize``, ``parametrizations``), weight and spectral norm, and the
old ``stateless.functional_call``."""

from . import parametrizations, parametrize, rnn, stateless  # noqa: F401
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401
from .weight_norm import remove_weight_norm, weight_norm  # noqa: F401
