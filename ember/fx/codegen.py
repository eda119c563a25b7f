"""Python source for a traced graph: the ``forward`` that :class:`~ember.fx.GraphModule` runs.

Each node becomes one assignment, written as torch.fx writes it: operators infix
(``add = x + y``), methods as ``x.view(...)``, submodules as ``self.fc(...)``, ember functions
under their torch names (``torch.relu(x)``; the code runs with ``torch`` bound to ember), and
after the last use of a value ``;  x = None`` so intermediates are freed as early as in eager
code.
"""

from __future__ import annotations

import builtins
import keyword
import math
import operator
import re

from .node import Node, _get_qualified_name

__all__ = ["PythonCode", "python_code"]

_INFIX = {
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
    operator.floordiv: "//", operator.mod: "%", operator.pow: "**", operator.matmul: "@",
    operator.lshift: "<<", operator.rshift: ">>", operator.and_: "&", operator.or_: "|",
    operator.xor: "^", operator.eq: "==", operator.ne: "!=", operator.lt: "<",
    operator.le: "<=", operator.gt: ">", operator.ge: ">=",
}
_PREFIX = {operator.neg: "-", operator.pos: "+", operator.invert: "~", operator.not_: "not "}


class PythonCode:
    """Generated source (``src``) and the globals it needs (``globals``)."""

    def __init__(self, src: str, globals_: dict):
        self.src = src
        self.globals = globals_


def base_globals() -> dict:
    import ember

    return {"inf": math.inf, "nan": math.nan, "NoneType": type(None), "torch": ember,
            "device": ember.device}


def _attr_expr(owner: str, target: str) -> str:
    expr = owner
    for part in target.split("."):
        expr = f"{expr}.{part}" if part.isidentifier() and not keyword.iskeyword(part) \
            else f'getattr({expr}, "{part}")'
    return expr


def _resolves_to(qualname: str, target) -> bool:
    """Whether ``qualname`` (``torch.`` standing for ember) names ``target`` itself."""
    obj = base_globals()["torch"]
    for part in qualname.split(".")[1:]:
        if not part.isidentifier():
            return False
        obj = getattr(obj, part, None)
    return obj is target


class _Emitter:
    def __init__(self):
        self.globals = base_globals()
        self.wrapped: list = []  # names of fx.wrap()ed functions the code calls

    def function_name(self, node: Node) -> str:
        target = node.target
        qualname = _get_qualified_name(target)
        if getattr(builtins, qualname, None) is target or \
                qualname.startswith("torch.") and _resolves_to(qualname, target):
            return qualname
        # A user function (fx.wrap) or anything else: a global named after its module and name.
        name = re.sub(r"\W", "_", qualname.replace(".", "_"))
        while name in self.globals and self.globals[name] is not target:
            name += "_"
        self.globals[name] = target
        from ._symbolic_trace import wrapped_functions

        if target in wrapped_functions and name not in self.wrapped:
            self.wrapped.append(name)
        return name

    def arg(self, value) -> str:
        if isinstance(value, Node):
            return value.name
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            items = ", ".join(self.arg(v) for v in value)
            return f"({items},)" if len(value) == 1 else f"({items})"
        if isinstance(value, list):
            return "[" + ", ".join(self.arg(v) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {self.arg(v)}" for k, v in value.items()) + "}"
        if isinstance(value, float) and not math.isfinite(value):
            return repr(value)  # inf / nan, bound in the globals
        if isinstance(value, type):
            if getattr(builtins, value.__name__, None) is value:
                return value.__name__
            name = re.sub(r"\W", "_", f"{value.__module__}_{value.__qualname__}")
            self.globals[name] = value
            return name
        return repr(value)

    def call_args(self, args, kwargs) -> str:
        parts = [self.arg(a) for a in args] + [f"{k} = {self.arg(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)

    def expression(self, node: Node) -> str:
        op, target, args, kwargs = node.op, node.target, node.args, node.kwargs
        if op == "get_attr":
            return _attr_expr("self", target)
        if op == "call_module":
            return f"{_attr_expr('self', target)}({self.call_args(args, kwargs)})"
        if op == "call_method":
            return f"{self.arg(args[0])}.{target}({self.call_args(args[1:], kwargs)})"
        # call_function
        if not kwargs:
            if target in _INFIX and len(args) == 2:
                return f"{self.arg(args[0])} {_INFIX[target]} {self.arg(args[1])}"
            if target in _PREFIX and len(args) == 1:
                return f"{_PREFIX[target]}{self.arg(args[0])}"
            if target is operator.getitem and len(args) == 2:
                return f"{self.arg(args[0])}[{self.arg(args[1])}]"
            if target is builtins.getattr and len(args) == 2 and isinstance(args[1], str) \
                    and args[1].isidentifier():
                return f"{self.arg(args[0])}.{args[1]}"
        return f"{self.function_name(node)}({self.call_args(args, kwargs)})"


def python_code(graph, root_module: str = "self") -> PythonCode:
    """Generate ``def forward(self, ...)`` for ``graph`` (what ``graph.python_code`` returns)."""
    emit = _Emitter()
    nodes = list(graph.nodes)
    last_use: dict = {}
    for node in nodes:
        for inp in node.all_input_nodes:
            last_use[inp] = node

    signature = [root_module]
    body = []
    for node in nodes:
        if node.op == "placeholder":
            param = str(node.target)
            signature.append(param if not node.args else f"{param} = {emit.arg(node.args[0])}")
            if param.lstrip("*") != node.name:
                body.append(f"{node.name} = {param.lstrip('*')}")
            continue
        if node.op == "output":
            result = node.args[0] if node.args else None
            body.append(f"return {emit.arg(result)}")
            continue
        line = f"{node.name} = {emit.expression(node)}"
        dead = [n.name for n in node.all_input_nodes if last_use.get(n) is node]
        if not node.users:
            dead.append(node.name)
        if dead:
            line += ";  " + " = ".join(dead) + " = None"
        body.append(line)
    if not body:
        body.append("pass")
    # Functions recorded through fx.wrap() are registered again where the code runs.
    wraps = "".join(f'torch.fx._symbolic_trace.wrap("{name}")\n' for name in emit.wrapped)
    src = "\n" + (wraps or "\n") + "\ndef forward(" + ", ".join(signature) + "):\n" + \
        "".join(f"    {line}\n" for line in body) + "    "
    return PythonCode(src, emit.globals)
