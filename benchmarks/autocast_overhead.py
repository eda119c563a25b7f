"""What autocast's op check costs when autocast is off.

Each public op that carries the check (``if _amp.active and _autocast.state.active``) is timed
against a copy of the same function compiled without those lines, alternately in one process,
many short rounds, minimum per side (a shared machine's load hits both sides alike). A second
table times two identical copies (A/A) to show the noise floor.

    python benchmarks/autocast_overhead.py
"""

import ast
import inspect
import os
import sys
import textwrap
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember  # noqa: E402
from ember._ops.linalg import matmul as linalg
from ember._ops.nn import conv  # noqa: E402
from ember._ops.nn import linear_softmax as nn_ops
from ember._ops.nn import loss as loss_ops
from ember._ops.reduction import sums as reduce
from ember.nn import _functional_loss  # noqa: E402


def copies(fn, strip: bool):
    """Two freshly compiled copies of ``fn``'s body: as written, and with the autocast check
    removed (or, for the A/A run, as written twice)."""
    fn = inspect.unwrap(fn)
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    node = tree.body[0]
    node.decorator_list = []
    out = []
    for drop in (False, strip):
        if drop:
            node.body = [s for s in node.body if not (isinstance(s, ast.If) and
                                                      "_amp.active" in ast.unparse(s.test))]
        ns = {}
        exec(compile(ast.Module([node], []), inspect.getsourcefile(fn), "exec"),
             fn.__globals__, ns)
        out.append(ns[node.name])
    return out


def main(rounds: int = 1501) -> None:
    a, b, bias = ember.randn(8, 8), ember.randn(8, 8), ember.randn(8)
    img, k = ember.randn(1, 2, 6, 6), ember.randn(3, 2, 3, 3)
    idx = ember.zeros(8, dtype=ember.int64)
    cases = {"matmul": (linalg.matmul, (a, b)), "mm": (linalg.mm, (a, b)),
             "linear": (nn_ops.linear, (a, b, bias)), "conv2d": (conv.conv2d, (img, k)),
             "prod": (reduce.prod, (a,)), "mse_loss": (_functional_loss.mse_loss, (a, b)),
             "cross_entropy": (loss_ops.cross_entropy, (a, idx))}
    for title, strip in (("with check vs without (A/B)", True), ("identical copies (A/A)", False)):
        print(f"\n{title}, 8x8 float32, min of {rounds} alternating rounds")
        for name, (fn, args) in cases.items():
            with_check, other = copies(fn, strip)
            n = 10 if name == "conv2d" else 25
            best = [float("inf"), float("inf")]
            for r in range(rounds):
                pair = ((0, with_check), (1, other)) if r % 2 else ((1, other), (0, with_check))
                for i, f in pair:
                    best[i] = min(best[i], timeit.timeit(lambda f=f, a=args: f(*a), number=n) / n)
            diff = best[0] - best[1]
            print(f"  {name:14s} {best[1] * 1e6:8.3f} us -> {best[0] * 1e6:8.3f} us  "
                  f"{diff * 1e9:+6.0f} ns ({diff / best[1] * 100:+.1f}%)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1501)
