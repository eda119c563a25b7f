"""Op-table entries for ``ember/_ops/nn/normalization.py``: batch, layer, group, instance and RMS
norm, and local response norm."""

from .._inputs import F
from ..spec import OpSpec


def _bn_train(L, x, w, b):
    return F(L).batch_norm(x, None, None, w, b, training=True, eps=1e-3)


def _bn_eval(L, x, rm, rv, w, b):
    return F(L).batch_norm(x, rm, rv * rv + 0.5, w, b, training=False)


OPS = [
    OpSpec("batch_norm_train", _bn_train,
           [((4, 3), (3,), (3,)), ((2, 3, 4, 2), (3,), (3,)), ((3, 2, 5), (2,), (2,))]),
    OpSpec("batch_norm_train_no_affine",
           lambda L, x: F(L).batch_norm(x, None, None, training=True), [((5, 2, 3),)]),
    OpSpec("batch_norm_eval", _bn_eval, [((4, 3, 2), (3,), (3,), (3,), (3,))],
           grad_inputs=(0, 3, 4)),
    # fixed statistics and no affine: the input's gradient is linear in the output's, and still
    # requires grad under create_graph (torch's double-backward node)
    OpSpec("batch_norm_eval_no_affine", lambda L, x, rm, rv: F(L).batch_norm(
        x, rm, rv * rv + 0.5, training=False), [((4, 3, 2), (3,), (3,))], grad_inputs=(0,)),
    OpSpec("layer_norm", lambda L, x, w, b: F(L).layer_norm(x, (4,), w, b),
           [((3, 4), (4,), (4,)), ((2, 3, 4), (4,), (4,)), ((4,), (4,), (4,))]),
    OpSpec("layer_norm_2d", lambda L, x, w: F(L).layer_norm(x, (3, 4), w, eps=1e-3),
           [((2, 3, 4), (3, 4))]),
    OpSpec("layer_norm_plain", lambda L, x: F(L).layer_norm(x, (5,)), [((2, 5),)]),
    OpSpec("group_norm", lambda L, x, w, b: F(L).group_norm(x, 2, w, b),
           [((2, 4, 3), (4,), (4,)), ((2, 6, 2, 2), (6,), (6,))]),
    OpSpec("instance_norm", lambda L, x, w, b: F(L).instance_norm(x, weight=w, bias=b),
           [((2, 3, 4), (3,), (3,)), ((2, 2, 3, 3), (2,), (2,))]),
    OpSpec("rms_norm", lambda L, x, w: F(L).rms_norm(x, (4,), w, eps=1e-6),
           [((3, 4), (4,)), ((2, 2, 4), (4,))]),
    OpSpec("local_response_norm", lambda L, x: F(L).local_response_norm(x, 3, k=2.0),
           [((2, 5, 4),), ((2, 4, 3, 3),)]),
    # PyTorch's legacy CrossMapLRN2d: its backward is its own formula, not the derivative of
    # its forward, and it has no second derivative, so only torch's gradient is compared
    OpSpec("cross_map_lrn2d", lambda L, x: L.nn.CrossMapLRN2d(3, 0.3, 0.7, 1.5)(x),
           [((2, 5, 3, 2),)], gradcheck=False, gradgrad=False),
]
