"""Op-table entries for ``ember/_ops/linalg/matmul.py``: matmul (PyTorch's 1-d and broadcasting
cases), mm, bmm, dot, vdot, mv, outer/ger and the fused multiply-adds."""

from ..spec import OpSpec

OPS = [
    OpSpec("matmul", lambda L, a, b: a @ b,
           [((3, 4), (4, 5)), ((4,), (4,)), ((4,), (4, 2)), ((3, 4), (4,)),
            ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((0, 4), (4, 2))]),
    OpSpec("matmul_cases", lambda L, a, b: L.matmul(a, b),
           [((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 1)),
            ((3, 0), (0, 2))]),
    OpSpec("mm", lambda L, a, b: L.mm(a, b), [((3, 4), (4, 5)), ((0, 4), (4, 2)),
                                              ((3, 0), (0, 2))]),
    OpSpec("bmm", lambda L, a, b: a.bmm(b), [((2, 3, 4), (2, 4, 5)), ((0, 3, 4), (0, 4, 2))]),
    OpSpec("dot", lambda L, a, b: L.dot(a, b), [((4,), (4,)), ((0,), (0,))]),
    OpSpec("vdot", lambda L, a, b: L.vdot(a, b), [((5,), (5,))]),
    OpSpec("mv", lambda L, a, b: a.mv(b), [((3, 4), (4,)), ((0, 4), (4,))]),
    OpSpec("outer", lambda L, a, b: L.outer(a, b), [((3,), (4,)), ((0,), (2,))]),
    OpSpec("ger", lambda L, a, b: a.ger(b), [((2,), (3,))]),
    OpSpec("addmm", lambda L, c, a, b: L.addmm(c, a, b),
           [((3,), (2, 4), (4, 3)), ((2, 3), (2, 4), (4, 3)), ((), (2, 4), (4, 3)),
            ((2, 1), (2, 0), (0, 3))]),
    OpSpec("addmm_scaled", lambda L, c, a, b: c.addmm(a, b, beta=0.5, alpha=-2.0),
           [((2, 3), (2, 4), (4, 3))]),
    OpSpec("addmm_beta0", lambda L, c, a, b: L.addmm(c, a, b, beta=0, alpha=3),
           [((2, 3), (2, 4), (4, 3))]),
    OpSpec("addmv", lambda L, c, a, b: L.addmv(c, a, b, beta=2, alpha=0.5),
           [((3,), (3, 4), (4,)), ((), (3, 4), (4,))]),
    OpSpec("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b, alpha=0.5),
           [((2, 3, 5), (2, 3, 4), (2, 4, 5)), ((3, 1), (2, 3, 4), (2, 4, 5))]),
    OpSpec("addbmm", lambda L, c, a, b: c.addbmm(a, b, beta=1.5),
           [((3, 5), (2, 3, 4), (2, 4, 5)), ((5,), (2, 3, 4), (2, 4, 5))]),
]
