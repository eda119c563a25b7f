"""Op-table entries for the gap-filling ops in ``ember/_ops/misc.py``: in-place writes through
autograd (copy_, fill_, zero_ ...), in-place metadata changes, composite math and builders."""

import numpy as np

from .spec import OpSpec

B3 = [((3, 4), (3, 4), (3, 4)), ((2, 3, 4), (4,), (3, 1)), ((), (3,), ()), ((0, 3), (3,), (3,))]


def _pos(rng):
    return [rng.uniform(0.5, 2.0, (3, 4)), rng.uniform(-2, 2, (4,)), rng.uniform(0.5, 2.0, (3, 1))]


def _distinct(rng):  # ties make cummax/cummin's gradient routing a matter of convention
    return [rng.permutation(24).reshape(2, 3, 4).astype(np.float64) / 7 - 1.5]


OPS = [
    OpSpec("copy_", lambda L, a, b: (a * 1).copy_(b), [((3, 4), (3, 4)), ((3, 4), (4,)),
                                                        ((), ()), ((2, 3), (1, 3))]),
    OpSpec("copy_view", lambda L, a, b: (lambda y: (y[1].copy_(b), y)[1])(a * 1),
           [((3, 4), (4,))]),
    OpSpec("fill_tensor", lambda L, a, v: (a * 1).fill_(v), [((3, 4), ()), ((0,), ())]),
    OpSpec("fill_number", lambda L, a: (a * 2).fill_(1.5) + a, [((3, 4),)]),
    OpSpec("zero_", lambda L, a: (a * 2).zero_() + a, [((3, 4),), ((),)]),
    OpSpec("fill_diagonal_", lambda L, a: (a * 1).fill_diagonal_(2.0), [((3, 3),), ((5, 3),)]),
    OpSpec("fill_diagonal_wrap", lambda L, a: (a * 1).fill_diagonal_(2.0, wrap=True),
           [((7, 3),)]),
    OpSpec("addcmul", lambda L, a, b, c: L.addcmul(a, b, c, value=0.5), B3),
    OpSpec("addcmul_method", lambda L, a, b, c: a.addcmul(b, c), [((3, 4), (3, 4), (3, 4))]),
    OpSpec("addcmul_", lambda L, a, b, c: (a * 1).addcmul_(b, c, value=-2),
           [((3, 4), (4,), (3, 1))]),
    OpSpec("addcdiv", lambda L, a, b, c: L.addcdiv(b, a, c, value=0.5), [((3, 4), (4,), (3, 1))],
           make=_pos),
    OpSpec("addcdiv_", lambda L, a, b, c: (a * 1).addcdiv_(b, c), [((3, 4), (4,), (3, 1))],
           make=_pos),
    OpSpec("squeeze_", lambda L, a: (a * 1).squeeze_(), [((2, 1, 3, 1),)]),
    OpSpec("squeeze_dim_", lambda L, a: (a * 1).squeeze_(1), [((2, 1, 3),)]),
    OpSpec("unsqueeze_", lambda L, a: (a * 1).unsqueeze_(-1) * 2, [((2, 3),), ((),)]),
    OpSpec("t_", lambda L, a: (a * 1).t_(), [((2, 3),), ((3,),)]),
    OpSpec("transpose_", lambda L, a: (a * 1).transpose_(0, 2), [((2, 3, 4),)]),
    OpSpec("type_as", lambda L, a, b: a.type_as(b) * 1, [((2, 3), (1,))], dtypes=("float64",)),
    OpSpec("sum_to_size", lambda L, a: a.sum_to_size(3, 1), [((2, 3, 4),), ((3, 1),)]),
    OpSpec("as_strided", lambda L, a: L.as_strided(a, (3, 3), (2, 1), 1), [((3, 4),)],
           noncontig=False),
    OpSpec("as_strided_overlap", lambda L, a: a.as_strided((2, 3), (1, 1)), [((4,),)],
           noncontig=False),
    OpSpec("diff", lambda L, a: L.diff(a), [((3, 4),), ((5,),)]),
    OpSpec("diff_n2_dim0", lambda L, a, p: L.diff(a, n=2, dim=0, prepend=p),
           [((4, 3), (1, 3)), ((4, 3), (2, 3))]),
    OpSpec("diff_append", lambda L, a, p: a.diff(append=p), [((2, 3), (2, 2))]),
    OpSpec("cov", lambda L, a: L.cov(a), [((3, 5),), ((6,),)]),
    OpSpec("cov_correction0", lambda L, a: L.cov(a, correction=0), [((2, 4),)]),
    OpSpec("cov_aweights", lambda L, a, w: L.cov(a, aweights=w.abs() + 0.1), [((3, 5), (5,))]),
    OpSpec("corrcoef", lambda L, a: L.corrcoef(a), [((3, 6),)]),
    OpSpec("dist", lambda L, a, b: L.dist(a, b), [((3, 4), (3, 4)), ((2, 3), (3,))]),
    OpSpec("dist_p3", lambda L, a, b: a.dist(b, 3), [((3, 4), (4,))]),
    OpSpec("dist_inf", lambda L, a, b: L.dist(a, b, float("inf")), [((5,), (5,))]),
    OpSpec("inner", lambda L, a, b: L.inner(a, b),
           [((3,), (3,)), ((2, 3), (4, 3)), ((2, 2, 3), (3,)), ((), (2, 3))]),
    OpSpec("rot90", lambda L, a: L.rot90(a), [((2, 3),), ((2, 3, 4),)]),
    OpSpec("rot90_k", lambda L, a: a.rot90(-3, [2, 0]), [((2, 3, 4),)]),
    OpSpec("rot90_k2", lambda L, a: L.rot90(a, 2, [0, 1]), [((2, 3),)]),
    OpSpec("cummax", lambda L, a: L.cummax(a, 1), [((2, 3, 4),)], make=_distinct),
    OpSpec("cummin", lambda L, a: a.cummin(-1), [((2, 3, 4),)], make=_distinct),
    OpSpec("cummax_0d", lambda L, a: L.cummax(a, 0), [((),)]),
    OpSpec("logcumsumexp", lambda L, a: L.logcumsumexp(a, 1), [((3, 4),), ((2, 3, 4),)],
           domain=(-3, 3)),
    OpSpec("logcumsumexp_0d", lambda L, a: a.logcumsumexp(0), [((),), ((0,),)]),
    OpSpec("renorm", lambda L, a: L.renorm(a, 2, 0, 1.5), [((3, 4),), ((2, 3, 2),)]),
    OpSpec("renorm_p1", lambda L, a: a.renorm(1, 1, 2.0), [((3, 4),)]),
    OpSpec("broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b),
           [((3, 1), (4,)), ((), (2, 3))]),
    OpSpec("meshgrid_ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), [((3,), (4,))]),
    OpSpec("meshgrid_xy", lambda L, a, b, c: L.meshgrid(a, b, c, indexing="xy"),
           [((2,), (3,), (4,)), ((2,), (), (3,))]),
    OpSpec("cartesian_prod", lambda L, a, b: L.cartesian_prod(a, b), [((3,), (2,))]),
    OpSpec("block_diag", lambda L, a, b, c: L.block_diag(a, b, c), [((2, 3), (2,), ())]),
    # torch 2.13's own vander backward fails (cumprod saved tensor modified in place), so no
# gradient comparison here: tests/test_api_misc.py gradchecks ember's vander.
    OpSpec("vander", lambda L, a: L.vander(a), [((4,),)], grad=False),
    OpSpec("vander_inc", lambda L, a: L.vander(a, N=3, increasing=True), [((4,),)], grad=False),
    OpSpec("tensor_unfold", lambda L, a: a.unfold(1, 2, 1), [((3, 4),), ((2, 5, 2),)]),
    OpSpec("tensor_unfold_step", lambda L, a: a.unfold(0, 2, 3), [((7, 2),)]),
    OpSpec("logaddexp", lambda L, a, b: L.logaddexp(a, b), [((3, 4), (4,)), ((), (2,))]),
    OpSpec("logaddexp2", lambda L, a, b: L.logaddexp2(a, b), [((3, 4), (3, 1))]),
    OpSpec("sinc", lambda L, a: L.sinc(a), [((3, 4),), ((),)]),
    OpSpec("ldexp", lambda L, a, e: L.ldexp(a, e), [((3, 4), (4,))], int_inputs={1: (-3, 4)}),
    OpSpec("quantile", lambda L, a: L.quantile(a, 0.3), [((3, 4),), ((5,),)]),
    OpSpec("quantile_dim", lambda L, a, q: L.quantile(a, q.abs() / 2, dim=1, keepdim=True),
           [((3, 5), (2,))], grad_inputs=(0,)),
    OpSpec("quantile_nearest", lambda L, a: a.quantile(0.6, 0, interpolation="midpoint"),
           [((4, 3),)]),
    OpSpec("nanquantile", lambda L, a: L.nanquantile(a, 0.75, dim=0), [((4, 3),)]),
    OpSpec("nanmedian", lambda L, a: L.nanmedian(a, 1), [((3, 4),)]),
    OpSpec("nanmedian_all", lambda L, a: L.nanmedian(a), [((3, 5),)]),
    OpSpec("addr", lambda L, a, b, c: L.addr(a, b, c, beta=0.5, alpha=2), [((2, 3), (2,), (3,)),
                                                                            ((3,), (2,), (3,))]),
    OpSpec("addr_", lambda L, a, b, c: (a * 1).addr_(b, c), [((2, 3), (2,), (3,))]),
    OpSpec("addmm_", lambda L, a, b, c: (a * 1).addmm_(b, c, alpha=0.5), [((2, 3), (2, 4),
                                                                           (4, 3))]),
    OpSpec("cumsum_", lambda L, a: (a * 1).cumsum_(1), [((3, 4),)]),
    OpSpec("torch_matrix_power", lambda L, a: L.matrix_power(a, 3), [((3, 3),), ((2, 2, 2),)],
           atol=1e-4),
    # ember's svd backward covers singular values only, so pinverse has no gradient yet
    OpSpec("pinverse", lambda L, a: L.pinverse(a), [((4, 3),)], atol=1e-4, grad=False),
    OpSpec("put", lambda L, a, s: L.put(a, L.tensor([0, 5, 2]), s), [((2, 3), (3,))]),
    OpSpec("put_", lambda L, a, s: (a * 1).put_(L.tensor([1, 1, 0]), s, accumulate=True),
           [((2, 3), (3,))]),
    OpSpec("diagflat", lambda L, a: L.diagflat(a, -1), [((2, 2),)]),
    OpSpec("ravel", lambda L, a: a.ravel(), [((2, 3),)]),
    OpSpec("narrow_copy", lambda L, a: a.narrow_copy(1, 1, 2), [((2, 4),)]),
    OpSpec("hardshrink", lambda L, a: a.hardshrink(0.7), [((3, 4),)]),
]
