"""Op-table entries for the first core ops (arithmetic, sum/mean, matmul, shape)."""

from .spec import OpSpec

B = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)), ((), (3,)), ((0, 3), (3,))]

OPS = [
    OpSpec("add", lambda L, a, b: L.add(a, b), B),
    OpSpec("add_alpha", lambda L, a, b: L.add(a, b, alpha=2.5), B),
    OpSpec("sub", lambda L, a, b: a - b, B),
    OpSpec("mul", lambda L, a, b: a * b, B),
    OpSpec("div", lambda L, a, b: a / b, B, domain=(0.5, 2.0)),
    OpSpec("neg", lambda L, a: -a, [((3, 4),), ((),), ((0,),)]),
    OpSpec("sum", lambda L, a: a.sum(), [((3, 4),), ((),), ((0, 2),)]),
    OpSpec("sum_dim", lambda L, a: a.sum(dim=(0, 2), keepdim=True), [((2, 3, 4),)]),
    OpSpec("sum_dim_neg", lambda L, a: L.sum(a, -1), [((2, 3, 4),), ((3,),)]),
    OpSpec("mean", lambda L, a: a.mean(), [((3, 4),), ((),)]),
    OpSpec("mean_dim", lambda L, a: a.mean(1), [((2, 3, 4),)]),
    OpSpec("matmul", lambda L, a, b: a @ b,
           [((3, 4), (4, 5)), ((4,), (4,)), ((4,), (4, 2)), ((3, 4), (4,)),
            ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((0, 4), (4, 2))]),
    OpSpec("reshape", lambda L, a: a.reshape(4, -1), [((2, 3, 4),), ((4, 0),)]),
    OpSpec("view", lambda L, a: a.contiguous().view(-1), [((2, 3),)]),
    OpSpec("transpose", lambda L, a: a.transpose(0, -1), [((2, 3, 4),)]),
    OpSpec("permute", lambda L, a: a.permute(2, 0, 1), [((2, 3, 4),)]),
    OpSpec("unsqueeze", lambda L, a: a.unsqueeze(-1), [((2, 3),), ((),)]),
    OpSpec("squeeze", lambda L, a: a.squeeze(), [((2, 1, 3, 1),)]),
    OpSpec("expand", lambda L, a: a.expand(2, 3, 4), [((3, 1),), ((1, 4),)]),
    OpSpec("clone", lambda L, a: a.clone(), [((2, 3),)]),
    OpSpec("to_double", lambda L, a: a.to(L.float64) * 1, [((2, 3),)], dtypes=("float32",)),
]
