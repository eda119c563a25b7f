"""Op-table entries for ``ember/_ops/nn/aten_forms.py``: pdist (``torch.pdist``, also
``torch.nn.functional.pdist``) for several norms. torch's pdist has no second derivative
(``_pdist_backward`` is not differentiable), so none is compared."""

import math

from .._inputs import F
from ..spec import OpSpec

OPS = [
    OpSpec("pdist", lambda L, a: F(L).pdist(a), [((5, 3),), ((2, 4),), ((1, 3),)],
           gradgrad=False),
    OpSpec("pdist_p1", lambda L, a: F(L).pdist(a, p=1), [((4, 3),)], gradgrad=False),
    OpSpec("pdist_p3", lambda L, a: L.pdist(a, p=3), [((4, 3),)], gradgrad=False),
    OpSpec("pdist_inf", lambda L, a: F(L).pdist(a, p=math.inf), [((4, 3),)], gradgrad=False),
]
