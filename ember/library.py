"""``torch.library`` on ember: define custom operators in Python and give them gradients.

PyTorch programs wrap code ember cannot see into (NumPy, SciPy, another library) as a custom
operator, so that autograd knows its gradient and tracing tools know its output shapes::

    @torch.library.custom_op("mylib::numpy_sin", mutates_args=())
    def numpy_sin(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.sin(x.numpy(force=True)))

    @numpy_sin.register_fake
    def _(x):
        return torch.empty_like(x)

    numpy_sin.register_autograd(backward, setup_context=setup_context)
    torch.ops.mylib.numpy_sin(x)          # the same operator, by name

The operator's schema is read from the function's annotations as PyTorch reads it
(``infer_schema``), with PyTorch's errors for unannotated or unsupported parameters. Calling the
operator checks its arguments against the schema, runs the kernel for the inputs' device (the
fake kernel for ``meta`` tensors) and, where an input requires grad, records one autograd node
named ``GeneratedBackwardFor_<ns>_<name>_defaultBackward`` whose backward is the registered
formula (or raises PyTorch's "no autograd formula was registered" error). Outputs may not alias
inputs. The older ``Library``/``define``/``impl`` API registers operators from schema strings.

ember runs no compiled kernels, so there are no dispatch keys beyond choosing the kernel by
device type; ``register_torch_dispatch`` and ``register_vmap`` store their functions but
ember's ``vmap`` runs an operator once per batch element, as it runs every function.
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import types
import typing

from . import _dtype as D
from ._backend import Device
from ._tensor import Tensor

__all__ = ["Library", "CustomOpDef", "custom_op", "define", "impl", "impl_abstract",
           "register_fake", "register_autograd", "register_kernel", "register_torch_dispatch",
           "register_vmap", "register_autocast", "infer_schema", "opcheck", "get_ctx",
           "fallthrough_kernel", "OpCheckError"]

# "ns::name" -> CustomOpDef; ember.ops.<ns>.<name> reads this registry.
_REGISTRY: dict[str, CustomOpDef] = {}


# -- schema inference -------------------------------------------------------------------------

def _schema_types() -> dict:
    """Python annotation -> schema type, PyTorch's table (ints are SymInt in a schema)."""
    table = {}
    seq_forms = (typing.Sequence, typing.List, collections.abc.Sequence, list)  # noqa: UP006
    base = {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool", str: "str",
            D.dtype: "ScalarType", Device: "Device"}
    number = typing.Union[int, float, bool]  # noqa: UP007
    for py, name in base.items():
        table[py] = name
        table[typing.Optional[py]] = name + "?"  # noqa: UP045
        if py in (Tensor, int, float, bool):
            for seq in seq_forms:
                table[seq[py]] = name + "[]"
                if py is not Tensor:
                    table[typing.Optional[seq[py]]] = name + "[]?"  # noqa: UP045
    for seq in seq_forms:
        table[seq[typing.Optional[Tensor]]] = "Tensor?[]"  # noqa: UP045
        table[seq[number]] = "Scalar[]"
    table[number] = "Scalar"
    table[int | float | bool] = "Scalar"
    table[typing.Optional[number]] = "Scalar?"  # noqa: UP045
    return table


def _return_types() -> dict:
    table = {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool",
             type(None): "()", None: "()"}
    for seq in (typing.List, list, typing.Sequence, collections.abc.Sequence):  # noqa: UP006
        table[seq[Tensor]] = "Tensor[]"
    return table


def _format_default(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, str)):
        return f'"{value}"' if isinstance(value, str) else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, D.dtype):
        return str(value).replace("torch.", "")
    if isinstance(value, Device):
        return f'"{value}"'
    raise TypeError(type(value))


def _annotation(func, param_name, annotation):
    """Resolve string annotations (``from __future__ import annotations``) in func's globals."""
    if isinstance(annotation, str):
        namespace = dict(getattr(func, "__globals__", {}))
        namespace.setdefault("torch", _ember())
        namespace.setdefault("Tensor", Tensor)
        try:
            return eval(annotation, namespace)  # noqa: S307 (the user's own annotation text)
        except Exception as exc:
            raise ValueError(f"infer_schema(func): cannot resolve the annotation "
                             f"{annotation!r} of {param_name}.") from exc
    return annotation


def _ember():
    import ember

    return ember


def infer_schema(prototype_function, /, *, mutates_args, op_name: str | None = None) -> str:
    """The operator schema PyTorch writes for a function's annotations.

    ``mutates_args`` names the arguments the function writes into (``"unknown"``: all tensor
    arguments). Every parameter needs an annotation from PyTorch's list (Tensor, int, float,
    bool, str, dtype, device, their Optional and list forms).

    Example:
        >>> def add(x: ember.Tensor, alpha: float = 1.0) -> ember.Tensor: ...
        >>> ember.library.infer_schema(add, mutates_args=())
        '(Tensor x, float alpha=1.0) -> Tensor'
    """
    sig = inspect.signature(prototype_function)

    def error(what):
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    params = []
    seen_kwonly = False
    names = set()
    table = _schema_types()
    alias = 0
    for name, p in sig.parameters.items():
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            error("We do not support positional-only args, varargs, or varkwargs.")
        if p.annotation is inspect.Parameter.empty:
            error(f"Parameter {name} must have a type annotation.")
        annotation = _annotation(prototype_function, name, p.annotation)
        try:
            schema_type = table.get(annotation)
        except TypeError:
            schema_type = None
        if schema_type is None:
            error(f"Parameter {name} has unsupported type {_type_name(annotation)}. The valid "
                  "types are: Tensor, int, float, bool, str, dtype, device, their Optional "
                  "forms and lists of Tensor, int, float and bool.")
        names.add(name)
        mutated = mutates_args == "unknown" or (not isinstance(mutates_args, str)
                                                and name in mutates_args)
        if mutated and schema_type.startswith("Tensor"):
            head, rest = "Tensor", schema_type[len("Tensor"):]
            schema_type = f"{head}(a{alias}!){rest}"
            alias += 1
        text = f"{schema_type} {name}"
        if p.default is not inspect.Parameter.empty:
            try:
                text += "=" + _format_default(p.default)
            except TypeError:
                error(f"Parameter {name} has an unsupported default value type "
                      f"{type(p.default)}. Please file an issue on GitHub so we can prioritize "
                      "this.")
        if p.kind == p.KEYWORD_ONLY and not seen_kwonly:
            params.append("*")
            seen_kwonly = True
        params.append(text)
    if mutates_args != "unknown":
        if isinstance(mutates_args, str):
            raise ValueError("mutates_args must be a tuple of argument names or the string "
                             "'unknown'")
        missing = set(mutates_args) - names
        if missing:
            error(f"{missing} in mutates_args were not found in the custom op's signature. "
                  "mutates_args should contain the names of all args that the custom op "
                  "mutates, or just the string 'unknown' if you don't know.")
    returns = _infer_returns(prototype_function, sig, error)
    text = f"({', '.join(params)}) -> {returns}"
    return f"{op_name}{text}" if op_name else text


def _type_name(annotation) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _infer_returns(func, sig, error) -> str:
    ret = sig.return_annotation
    if ret is inspect.Signature.empty:
        error("No return type annotation was provided. Please add one.")
    ret = _annotation(func, "the return value", ret)
    table = _return_types()
    origin = typing.get_origin(ret)
    if origin is tuple:
        parts = []
        for arg in typing.get_args(ret):
            if arg not in table or table[arg] == "()":
                error(f"Return has unsupported type {_type_name(ret)}.")
            parts.append(table[arg])
        return f"({', '.join(parts)})"
    try:
        found = table.get(ret)
    except TypeError:
        found = None
    if found is None:
        error(f"Return has unsupported type {_type_name(ret)}. The valid types are: Tensor, "
              "int, float, bool, None, a tuple of those or a list of Tensors.")
    return found


# -- schemas written as text (Library.define) -------------------------------------------------

_ARG = re.compile(r"^(?P<type>[\w\[\]\?\(\)!\s]+?)\s+(?P<name>\w+)(?:\s*=\s*(?P<default>.+))?$")


def _parse_schema(schema: str):
    """``"name.overload(Tensor x, *, float k=2.) -> Tensor"`` -> (name, params, returns)."""
    match = re.match(r"^\s*([\w.]*)\s*\((.*)\)\s*->\s*(.+?)\s*$", schema)
    if match is None:
        raise RuntimeError(f"Invalid schema: {schema!r}; expected 'name(Type arg, ...) -> "
                           "ReturnType'")
    name, body, returns = match.groups()
    params = []
    kwonly = False
    for piece in _split_args(body):
        if piece == "*":
            kwonly = True
            continue
        arg = _ARG.match(piece)
        if arg is None:
            raise RuntimeError(f"Invalid argument {piece!r} in schema {schema!r}")
        default = arg.group("default")
        kind = inspect.Parameter.KEYWORD_ONLY if kwonly else \
            inspect.Parameter.POSITIONAL_OR_KEYWORD
        value = inspect.Parameter.empty if default is None else _parse_default(default)
        params.append(inspect.Parameter(arg.group("name"), kind, default=value))
    return name, params, returns


def _split_args(body: str):
    depth, start, out = 0, 0, []
    for i, ch in enumerate(body):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(body[start:i].strip())
            start = i + 1
    if body[start:].strip():
        out.append(body[start:].strip())
    return out


def _parse_default(text: str):
    text = text.strip()
    if text == "None":
        return None
    if text in ("True", "False"):
        return text == "True"
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if text.startswith("[") and text.endswith("]"):
        return [_parse_default(t) for t in _split_args(text[1:-1])]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


# -- the operator -----------------------------------------------------------------------------

def _split_name(qualname: str) -> tuple[str, str]:
    namespace, sep, name = qualname.partition("::")
    if not sep or not namespace or not name:
        raise ValueError(f"Expected the operator name in the form 'namespace::name' (got "
                         f"{qualname!r}), e.g. 'mylib::my_sin'.")
    if not re.fullmatch(r"\w+", namespace) or not re.fullmatch(r"\w+", name):
        raise ValueError(f"The operator name {qualname!r} must be made of letters, digits and "
                         "underscores on each side of '::'.")
    return namespace, name


def _tensors_in(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, Tensor)]
    return []


def _device_type(args) -> str:
    for value in args:
        for t in _tensors_in(value):
            return t.device.type
    return "cpu"


def _returns_nothing(*args, **kwargs) -> None:
    """The fake kernel of an operator without outputs."""
    return None


class CustomOpDef:
    """A custom operator made by ``custom_op`` (or ``define``): call it like its function.

    Example:
        >>> @ember.library.custom_op("docs::twice", mutates_args=())
        ... def twice(x: ember.Tensor) -> ember.Tensor:
        ...     return x * 2
        >>> twice(ember.ones(2))
        tensor([2., 2.])
    """

    def __init__(self, namespace: str, name: str, schema: str, fn, signature,
                 mutated: tuple[str, ...]):
        self._namespace = namespace
        self._name = name
        self._schema = schema
        self._init_fn = fn
        self._signature = signature
        self._mutated = mutated
        self._kernels: dict[str, typing.Callable] = {}
        self._fake_fn = None
        self._backward_fn = None
        self._setup_context_fn = None
        self._vmap_fn = None
        self._torch_dispatch_fns: dict = {}
        self._autocast: dict = {}
        self._function = _autograd_function(self)
        if fn is not None:
            functools_update(self, fn)

    # names as PyTorch shows them
    @property
    def _qualname(self) -> str:
        return f"{self._namespace}::{self._name}"

    @property
    def _opoverload(self):
        return self

    @property
    def default(self):
        return self

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    # registrations
    def register_kernel(self, device_types, fn=None, /):
        """Use ``fn`` for inputs on these device types (``"cpu"``, ``"cuda"``) instead of the
        function the operator was defined with."""
        kinds = [device_types] if isinstance(device_types, str) or device_types is None \
            else list(device_types)

        def register(func):
            for kind in kinds:
                self._kernels["default" if kind is None else Device(kind).type] = func
            return func

        return register if fn is None else register(fn)

    def register_fake(self, fn, /):
        """The function that says what the outputs look like (shapes, dtypes) without
        computing them; ember runs it for ``meta`` inputs."""
        self._fake_fn = fn
        return fn

    def register_autograd(self, backward, /, *, setup_context=None):
        """Give the operator a gradient: ``backward(ctx, *grads)`` returns one gradient per
        input (``None`` for non-tensors); ``setup_context(ctx, inputs, output)`` saves what
        backward needs."""
        if not callable(backward):
            raise TypeError(f"register_autograd(backward): expected a function, got "
                            f"{type(backward).__name__}")
        if self._mutated:
            raise NotImplementedError(
                f"{self._qualname}: Autograd is not supported for mutable custom ops yet "
                "(PyTorch's limit too).")
        self._backward_fn = backward
        self._setup_context_fn = setup_context

    def register_torch_dispatch(self, torch_dispatch_class, fn=None, /):
        def register(func):
            self._torch_dispatch_fns[torch_dispatch_class] = func
            return func

        return register if fn is None else register(fn)

    def register_vmap(self, func=None, /):
        def register(f):
            self._vmap_fn = f
            return f

        return register if func is None else register(func)

    def register_autocast(self, device_type: str, cast_inputs):
        self._autocast[device_type] = cast_inputs

    # calls
    def _bind(self, args, kwargs) -> list:
        """The arguments in schema order, checked against the schema (PyTorch's errors)."""
        positional = [p for p in self._signature.parameters.values()
                      if p.kind == p.POSITIONAL_OR_KEYWORD]
        declaration = f"{self._qualname}{self._schema[self._schema.index('('):]}"
        if len(args) > len(positional):
            raise RuntimeError(f"{self._qualname}() takes {len(positional)} positional "
                               f"argument(s) but {len(args)} was/were given.  Declaration: "
                               f"{declaration}")
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise RuntimeError(f"{self._qualname}(): {exc}.  Declaration: {declaration}") from None
        bound.apply_defaults()
        values = list(bound.arguments.values())
        for param, value in zip(self._signature.parameters.values(), values):
            annotation = param.annotation
            if annotation is Tensor and not isinstance(value, Tensor):
                raise RuntimeError(
                    f"{self._qualname}() Expected a value of type 'Tensor' for argument "
                    f"'{param.name}' but instead found type '{type(value).__name__}'.\n"
                    f"Position: {list(self._signature.parameters).index(param.name)}\n"
                    f"Value: {value}\nDeclaration: {declaration}")
        return values

    def _autocast_inputs(self, inputs) -> list:
        from . import is_autocast_enabled

        kind = _device_type(inputs)
        dtype = self._autocast.get(kind)
        if dtype is None or not is_autocast_enabled(kind):
            return inputs

        def cast(t):
            return t.to(dtype) if isinstance(t, Tensor) and t.is_floating_point() else t

        return [type(v)(cast(t) for t in v) if isinstance(v, (list, tuple)) else cast(v)
                for v in inputs]

    def _fake_kernel(self):
        """The registered fake kernel. An operator that returns nothing (``-> ()``, one that
        only mutates its arguments) needs none, as in PyTorch: there is no output to
        describe, so its fake kernel does nothing."""
        if self._fake_fn is None and re.search(r"->\s*\(\s*\)\s*$", self._schema):
            return _returns_nothing
        return self._fake_fn

    def _kernel(self, inputs):
        kind = _device_type(inputs)
        if kind == "meta":
            fake = self._fake_kernel()
            if fake is None:
                raise RuntimeError(
                    f"There was no fake impl registered for {self._qualname}. This is "
                    "necessary for meta tensors; use register_fake to add one.")
            return fake
        fn = self._kernels.get(kind) or self._kernels.get("default") or self._init_fn
        if fn is None:
            raise NotImplementedError(
                f"{self._qualname}: no kernel for device type '{kind}'; register one with "
                f"register_kernel('{kind}') or impl(...).")
        return fn

    def _run_kernel(self, inputs):
        names = list(self._signature.parameters)
        params = self._signature.parameters
        args, kwargs = [], {}
        for name, value in zip(names, inputs):
            if params[name].kind == params[name].KEYWORD_ONLY:
                kwargs[name] = value
            else:
                args.append(value)
        out = self._kernel(inputs)(*args, **kwargs)
        self._check_no_alias(inputs, out)
        return out

    def _check_no_alias(self, inputs, out):
        outs = out if isinstance(out, (tuple, list)) else (out,)
        ins = [t for v in inputs for t in _tensors_in(v)]
        seen = []
        for o in outs:
            if not isinstance(o, Tensor):
                continue
            for other in ins + seen:
                if o is other or (o._data.size and other._data.size
                                  and _shares_memory(o, other)):
                    raise RuntimeError(
                        f"{self._name} (with implementation in "
                        f"{getattr(self._init_fn, '__module__', None)}): The output of this "
                        "custom operator (1) must not also be an input to this custom operator "
                        "and (2) may not alias any inputs to this custom operator or other "
                        "returns. The most common way to trigger this error is if we have y = "
                        "custom_op(x) and y and x are the same Tensor. Please instead return a "
                        "clone of the offending output tensor(s) (e.g. return x.clone()) or "
                        "refactor the custom operator to not return y.")
            seen.append(o)

    def __call__(self, *args, **kwargs):
        inputs = self._bind(args, kwargs)
        if self._autocast:
            inputs = self._autocast_inputs(inputs)
        flat, layout = [], []
        for value in inputs:
            if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
                layout.append(("seq", len(value), type(value)))
                flat.extend(value)
            else:
                layout.append(("one",))
                flat.append(value)
        return self._function.apply(layout, *flat)


def _shares_memory(a: Tensor, b: Tensor) -> bool:
    import numpy as np

    try:
        return bool(np.may_share_memory(a._data, b._data))
    except TypeError:  # device arrays: compare the base pointers
        return a.data_ptr() == b.data_ptr()


def functools_update(op: CustomOpDef, fn) -> None:
    op.__doc__ = getattr(fn, "__doc__", None) or CustomOpDef.__doc__
    op.__module__ = getattr(fn, "__module__", __name__)
    op.__wrapped__ = fn


def _regroup(layout, flat):
    values, i = [], 0
    for entry in layout:
        if entry[0] == "seq":
            _, n, kind = entry
            values.append(kind(flat[i:i + n]) if kind in (list, tuple) else list(flat[i:i + n]))
            i += n
        else:
            values.append(flat[i])
            i += 1
    return values


def _autograd_function(op: CustomOpDef):
    """The autograd.Function whose node stands for one call of ``op``."""
    from .autograd.function import Function

    def forward(layout, *flat):
        return op._run_kernel(_regroup(layout, flat))

    def setup_context(ctx, inputs, output):
        layout, flat = inputs[0], inputs[1:]
        ctx._layout = layout
        # The user's functions see flags for the operator's own arguments, not for the layout
        # this Function takes first: flat ones in setup_context, and in backward one per
        # argument (a list of flags for a list of tensors), as PyTorch's.
        flat_needs = ctx.needs_input_grad[1:]
        ctx._op_needs = tuple(list(v) if isinstance(v, (list, tuple)) else v
                              for v in _regroup(layout, flat_needs))
        ctx.needs_input_grad = flat_needs
        if op._setup_context_fn is not None and op._backward_fn is not None:
            op._setup_context_fn(ctx, tuple(_regroup(layout, flat)), output)

    def backward(ctx, *grads):
        if op._backward_fn is None:
            raise RuntimeError(f"Trying to backward through {op._namespace}.{op._name}.default "
                               "but no autograd formula was registered. Please use "
                               "register_autograd to add one.")
        ctx.needs_input_grad = ctx._op_needs
        result = op._backward_fn(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        layout = ctx._layout
        if len(result) != len(layout):
            raise RuntimeError(f"Function {type(ctx).__name__} returned an incorrect number "
                               f"of gradients (expected {len(layout)}, got {len(result)})")
        flat = [None]
        for entry, grad in zip(layout, result):
            if entry[0] == "seq":
                flat.extend(grad if grad is not None else [None] * entry[1])
            else:
                flat.append(grad)
        return tuple(flat)

    name = f"GeneratedBackwardFor_{op._namespace}_{op._name}_default"
    return types.new_class(name, (Function,), exec_body=lambda ns: ns.update(
        forward=staticmethod(forward), setup_context=staticmethod(setup_context),
        backward=staticmethod(backward)))


def _check_mutates_args(mutates_args):
    if mutates_args != "unknown" and isinstance(mutates_args, str):
        raise ValueError("mutates_args must be a tuple of argument names or the string "
                         "'unknown'")


def custom_op(name: str, fn=None, /, *, mutates_args, device_types=None, schema=None):
    """Make a Python function an operator named ``"namespace::name"``.

    ``mutates_args`` names the arguments the function writes into (``()`` for none). The
    result is called like the function and is also ``ember.ops.<namespace>.<name>``; give it
    a gradient with ``.register_autograd`` and a shape function with ``.register_fake``.

    Example:
        >>> @ember.library.custom_op("docs::scale", mutates_args=())
        ... def scale(x: ember.Tensor, k: float) -> ember.Tensor:
        ...     return x * k
        >>> ember.ops.docs.scale(ember.ones(2), 3.0)
        tensor([3., 3.])
    """
    _check_mutates_args(mutates_args)

    def make(func):
        namespace, op_name = _split_name(name)
        text = schema if schema is not None else infer_schema(func, mutates_args=mutates_args)
        signature = inspect.signature(func)
        if mutates_args == "unknown":
            mutated = tuple(signature.parameters)
        else:
            mutated = tuple(mutates_args)
        op = CustomOpDef(namespace, op_name, text, func, signature, mutated)
        if device_types is not None:
            op._kernels.clear()
            op.register_kernel(device_types, func)
            op._init_fn = None
        _REGISTRY[op._qualname] = op
        return op

    return make if fn is None else make(fn)


def _lookup(op) -> CustomOpDef:
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, str):
        if op not in _REGISTRY:
            raise RuntimeError(f"Operator {op!r} is not defined; define it with "
                               "ember.library.custom_op or Library.define first.")
        return _REGISTRY[op]
    found = getattr(getattr(op, "_packet", op), "_custom_op", None)
    if isinstance(found, CustomOpDef):
        return found
    raise TypeError(f"Expected a custom operator or its 'namespace::name' (got "
                    f"{type(op).__name__})")


def register_fake(op, fn=None, /, *, lib=None, _stacklevel: int = 1, allow_override=False):
    """Register ``op``'s fake (shape) function; usable as a decorator.

    Example:
        >>> @ember.library.custom_op("docs::fake_demo", mutates_args=())
        ... def demo(x: ember.Tensor) -> ember.Tensor:
        ...     return x + 1
        >>> @ember.library.register_fake("docs::fake_demo")
        ... def _(x):
        ...     return ember.empty_like(x)
        >>> demo(ember.empty(3, device="meta")).shape
        ember.Size([3])
    """
    target = _lookup(op)
    return target.register_fake if fn is None else target.register_fake(fn)


impl_abstract = register_fake


def register_autograd(op, backward, /, *, setup_context=None, lib=None) -> None:
    """Register ``op``'s gradient (see ``CustomOpDef.register_autograd``).

    Example:
        >>> @ember.library.custom_op("docs::cube", mutates_args=())
        ... def cube(x: ember.Tensor) -> ember.Tensor:
        ...     return x ** 3
        >>> def setup(ctx, inputs, output):
        ...     ctx.save_for_backward(inputs[0])
        >>> def backward(ctx, grad):
        ...     (x,) = ctx.saved_tensors
        ...     return grad * 3 * x ** 2
        >>> ember.library.register_autograd("docs::cube", backward, setup_context=setup)
        >>> x = ember.tensor(2.0, requires_grad=True)
        >>> cube(x).backward(); x.grad
        tensor(12.)
    """
    _lookup(op).register_autograd(backward, setup_context=setup_context)


def register_kernel(op, device_types, fn=None, /, *, lib=None):
    """Register ``op``'s kernel for some device types; usable as a decorator."""
    return _lookup(op).register_kernel(device_types, fn)


def register_torch_dispatch(op, torch_dispatch_class, fn=None, /, *, lib=None):
    """Stored for compatibility; ember has no ``__torch_dispatch__`` subclasses."""
    return _lookup(op).register_torch_dispatch(torch_dispatch_class, fn)


def register_vmap(op, func=None, /, *, lib=None):
    """Stored for compatibility: ember's ``vmap`` runs the operator once per element."""
    return _lookup(op).register_vmap(func)


def register_autocast(op, device_type: str, cast_inputs, /, *, lib=None) -> None:
    """Cast floating-point tensor inputs to ``cast_inputs`` while autocast is on."""
    _lookup(op).register_autocast(device_type, cast_inputs)


def get_ctx():
    raise RuntimeError("get_ctx() is only meaningful inside a fake kernel with data-dependent "
                       "output shapes, which ember's fake kernels never need: return a tensor "
                       "of the real size instead.")


def fallthrough_kernel():
    """A placeholder kernel (PyTorch's dispatcher falls through it); calling it is an error."""
    raise NotImplementedError("fallthrough_kernel should never be called.")


# -- Library / define / impl --------------------------------------------------------------------

_DISPATCH_DEVICES = {"cpu": "cpu", "cuda": "cuda", "meta": "meta",
                     "compositeimplicitautograd": "default", "compositeexplicitautograd":
                     "default", "autograd": "default", "default": "default"}


class Library:
    """A namespace of operators defined from schema strings (PyTorch's older API).

    ``kind`` is ``"DEF"`` (this library defines the namespace), ``"FRAGMENT"`` (adds to it) or
    ``"IMPL"`` (only implements).

    Example:
        >>> lib = ember.library.Library("docs_lib", "DEF")
        >>> lib.define("double(Tensor x) -> Tensor")
        'double'
        >>> lib.impl("double", lambda x: x * 2, "CPU")
        >>> ember.ops.docs_lib.double(ember.ones(1))
        tensor([2.])
    """

    def __init__(self, ns: str, kind: str, dispatch_key: str = ""):
        if kind not in ("IMPL", "DEF", "FRAGMENT"):
            raise ValueError(f"Unsupported kind: {kind}")
        if not re.fullmatch(r"\w+", ns):
            raise ValueError(f"Invalid namespace {ns!r}")
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._defined: list[str] = []

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"

    def define(self, schema: str, alias_analysis: str = "", *, tags=()) -> str:
        """Declare an operator from its schema, ``"name(Tensor x, float k=1.) -> Tensor"``."""
        name, params, returns = _parse_schema(schema)
        base = name.split(".")[0]
        signature = inspect.Signature(params)
        mutated = tuple(p.name for p, text in zip(params, _split_args(
            schema[schema.index("(") + 1:schema.rindex(")", 0, schema.index("->"))]))
            if "!" in text)
        op = CustomOpDef(self.ns, base, schema[len(name):].strip(), None, signature, mutated)
        _REGISTRY[op._qualname] = op
        self._defined.append(op._qualname)
        return base

    def impl(self, op_name, fn, dispatch_key: str = "", *, with_keyset: bool = False,
             allow_override: bool = False) -> None:
        """Give the operator ``op_name`` (in this namespace) a kernel for ``dispatch_key``
        (``"CPU"``, ``"CUDA"``, ``"Meta"``, ``"CompositeImplicitAutograd"``)."""
        key = (dispatch_key or self.dispatch_key or "CompositeImplicitAutograd").lower()
        if key not in _DISPATCH_DEVICES:
            raise ValueError(f"ember has no dispatch key {dispatch_key!r}; use one of CPU, "
                             "CUDA, Meta, CompositeImplicitAutograd, Autograd")
        name = op_name if isinstance(op_name, str) else str(op_name)
        qualname = name if "::" in name else f"{self.ns}::{name.split('.')[0]}"
        op = _lookup(qualname)
        device = _DISPATCH_DEVICES[key]
        if device == "meta":
            op.register_fake(fn)
        else:
            op.register_kernel(None if device == "default" else device, fn)

    def _register_fake(self, op_name, fn, _stacklevel=1, *, allow_override=False):
        _lookup(op_name if "::" in op_name else f"{self.ns}::{op_name}").register_fake(fn)


def define(qualname: str, schema: str, *, lib=None, tags=()) -> None:
    """Declare ``"namespace::name"`` with a schema (``"(Tensor x) -> Tensor"``).

    Example:
        >>> ember.library.define("docs::plus_one", "(Tensor x) -> Tensor")
        >>> ember.library.impl("docs::plus_one", "cpu", lambda x: x + 1)
        >>> ember.ops.docs.plus_one(ember.zeros(1))
        tensor([1.])
    """
    namespace, name = _split_name(qualname)
    (lib or Library(namespace, "FRAGMENT")).define(name + schema, tags=tags)


def impl(qualname: str, types, func=None, *, lib=None):
    """Register a kernel for ``"namespace::name"`` on device types ``types`` (``"cpu"``,
    ``"cuda"``, ``"default"``); usable as a decorator (see ``define``)."""
    op = _lookup(qualname)
    return op.register_kernel(None if types in ("default", "CompositeImplicitAutograd")
                              else types, func)


# -- opcheck ----------------------------------------------------------------------------------

class OpCheckError(Exception):
    """Raised by ``opcheck`` when an operator's registrations disagree with its behaviour."""


def _snapshot(values):
    return [t.detach().clone() for v in values for t in _tensors_in(v)]


def opcheck(op, args, kwargs=None, *, test_utils=("test_schema", "test_autograd_registration",
                                                  "test_faketensor",
                                                  "test_aot_dispatch_dynamic"),
            raise_exception: bool = True, atol=None, rtol=None) -> dict:
    """Check a custom operator's registrations against what it does on ``args``.

    ``test_schema``: only the arguments in ``mutates_args`` change. ``test_autograd_
    registration``: an operator whose tensor inputs require grad has a gradient formula.
    ``test_faketensor``: the fake function's outputs have the real outputs' shapes and dtypes.
    ``test_aot_dispatch_dynamic``: a second call gives the same outputs, and gradients where a
    formula is registered. Returns ``{test: "SUCCESS"}``, or raises ``OpCheckError``.

    Example:
        >>> @ember.library.custom_op("docs::checked", mutates_args=())
        ... def checked(x: ember.Tensor) -> ember.Tensor:
        ...     return x.sin()
        >>> checked.register_fake(lambda x: ember.empty_like(x))
        <function <lambda> at ...>
        >>> ember.library.opcheck(checked, (ember.randn(3),))["test_faketensor"]
        'SUCCESS'
    """
    kwargs = kwargs or {}
    target = _lookup(op)
    if isinstance(test_utils, str):
        test_utils = (test_utils,)
    results = {}
    for test in test_utils:
        try:
            _OPCHECKS[test](target, args, kwargs, atol, rtol)
            results[test] = "SUCCESS"
        except OpCheckError as exc:
            if raise_exception:
                raise
            results[test] = exc
        except KeyError:
            raise ValueError(f"Unknown opcheck test {test!r}") from None
    return results


def _check_schema(op, args, kwargs, atol, rtol):
    from .autograd.grad_mode import no_grad

    inputs = op._bind(args, kwargs)
    before = _snapshot(inputs)
    with no_grad():
        op(*args, **kwargs)
    after = _snapshot(inputs)
    names = list(op._signature.parameters)
    i = 0
    for name, value in zip(names, inputs):
        for _ in _tensors_in(value):
            changed = not bool((before[i] == after[i]).all() | (before[i].isnan()
                                                                   & after[i].isnan()).all())
            if changed and name not in op._mutated:
                raise OpCheckError(f"opcheck(op, ...): test_schema failed: {op._qualname} "
                                   f"wrote into argument '{name}', which is not in "
                                   "mutates_args. Add it to mutates_args.")
            i += 1


def _check_autograd(op, args, kwargs, atol, rtol):
    inputs = op._bind(args, kwargs)
    wants_grad = any(t.requires_grad for v in inputs for t in _tensors_in(v))
    if wants_grad and op._backward_fn is None:
        raise OpCheckError(f"opcheck(op, ...): test_autograd_registration failed: "
                           f"{op._qualname} has inputs that require grad but no autograd "
                           "formula; register one with register_autograd.")


def _check_fake(op, args, kwargs, atol, rtol):
    from .autograd.grad_mode import no_grad

    fake_fn = op._fake_kernel()
    if fake_fn is None:
        raise OpCheckError(f"opcheck(op, ...): test_faketensor failed: {op._qualname} has no "
                           "fake kernel; register one with register_fake.")
    with no_grad():
        real = op(*args, **kwargs)
        fake = fake_fn(*args, **kwargs)
    reals = real if isinstance(real, (tuple, list)) else (real,)
    fakes = fake if isinstance(fake, (tuple, list)) else (fake,)
    if len(reals) != len(fakes):
        raise OpCheckError(f"opcheck(op, ...): test_faketensor failed: the fake kernel of "
                           f"{op._qualname} returns {len(fakes)} outputs, the op {len(reals)}")
    for i, (r, f) in enumerate(zip(reals, fakes)):
        if isinstance(r, Tensor) and (not isinstance(f, Tensor) or r.shape != f.shape
                                      or r.dtype != f.dtype):
            got = (f"{tuple(f.shape)} {f.dtype}" if isinstance(f, Tensor)
                   else type(f).__name__)
            raise OpCheckError(f"opcheck(op, ...): test_faketensor failed: output {i} of "
                               f"{op._qualname} is {tuple(r.shape)} {r.dtype}, its fake "
                               f"kernel gives {got}")


def _check_repeat(op, args, kwargs, atol, rtol):
    from .autograd.grad_mode import no_grad
    from .testing import assert_close

    if op._mutated:
        return
    with no_grad():
        first = op(*args, **kwargs)
        second = op(*args, **kwargs)
    try:
        assert_close(second, first, atol=atol, rtol=rtol, equal_nan=True)
    except AssertionError as exc:
        raise OpCheckError(f"opcheck(op, ...): test_aot_dispatch_dynamic failed: two calls of "
                           f"{op._qualname} disagree: {exc}") from None


_OPCHECKS = {"test_schema": _check_schema, "test_autograd_registration": _check_autograd,
             "test_faketensor": _check_fake, "test_aot_dispatch_dynamic": _check_repeat}
