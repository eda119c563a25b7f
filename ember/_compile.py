"""``ember.compile``: capture a module or function on its first call per input signature and
replay the captured ops on later calls (``torch.compile``'s surface on ``ember.fx``).

The guard of a captured graph is the call's signature: each tensor input's shape, dtype,
device and ``requires_grad``, the other arguments' values, grad mode, and the train/eval mode of
every submodule. A call whose signature has no graph yet captures one (up to
``recompile_limit``, 8 as in PyTorch; later new signatures run eagerly after one warning).

Backends:
    ``"inductor"`` (PyTorch's default name) and ``"replay"``: the captured ops run again from a
        plan built once (no ``forward`` Python, no module calls). A graph whose ops all have
        a lowering (``ember._compile_lower``) runs as generated code on raw arrays: with no
        gradient needed, each op's own forward on the arrays; with gradients, one autograd
        node for the whole graph whose backward uses the ops' first-order formulas. Other
        graphs replay the ops through ``apply``, autograd recording them as in eager. Either
        way values and gradients are eager's, bit for bit. A graph whose batch size varies
        is made static for each batch size met (``_ReplayEntry.at_size``: no capture) and
        lowered as a captured one.
    ``"eager"``: the captured graph runs through :class:`ember.fx.Interpreter` (a debugging
        backend, as PyTorch's ``"eager"``).
    ``"onnxruntime"``: calls that need no gradient run the graph, exported with
        ``ember.onnx``, in an onnxruntime ``InferenceSession`` (one per signature); calls that
        need gradients, or run dropout or batch norm in training mode, use ``"replay"``.

A function that calls ``loss.backward()`` and steps an optimizer (a whole training step) is
captured up to the backward and replayed with the backward and the optimizer's calls after it
(``ember._compile_train``).

What a graph cannot hold (``.item()``, ``bool(tensor)``, ``.tolist()``, ``.numpy()`` on a value
computed from the inputs; ``backward()`` or ``.grad`` inside the compiled function, other than
such a training step; a capture
that fails, or whose graph would hold one example's data) is a graph break: that signature runs
eagerly, with one warning, or raises with ``fullgraph=True``. Calls run eagerly while a module
has forward or backward hooks. A capture that does not count (a graph break, the extra runs
that find the batch axis or check the values) puts back the buffers and the random state, so
batch norm statistics and dropout masks follow eager's exactly.
"""

from __future__ import annotations

import builtins
import functools
import importlib.util
import operator
import warnings

from . import nn
from ._compile_lower import RunEager
from ._tensor import Tensor
from .autograd import grad_mode
from .fx.capture import _active

__all__ = ["compile", "OptimizedModule"]

# "aot_eager" (PyTorch traces forward and backward ahead of time, then runs them eagerly) gives
# eager's numbers, so in ember it is the "eager" backend under another name
_BACKENDS = ("inductor", "replay", "eager", "aot_eager", "onnxruntime")
_BACKEND_ALIASES = {"inductor": "replay", "aot_eager": "eager"}
_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
_EAGER = "eager"     # a cache entry: this signature runs the original function
_TRAINING = operator.attrgetter("training")


def _config_limit() -> int:
    """``torch._dynamo.config.recompile_limit`` (8 unless a program changed it)."""
    from ._dynamo import config

    return config.recompile_limit


def compile(model=None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend=None, mode: str | None = None, options: dict | None = None,
            name: str | None = None, disable: bool = False, recompile_limit: int | None = None,
            isolate_recompiles: bool = False, shapes_spec=None):
    """Capture ``model`` (an ``nn.Module`` or a function) on its first call per input
    signature and replay the captured ops afterwards (``torch.compile``'s signature).

    Args:
        model: the module or function; ``None`` gives a decorator.
        fullgraph: raise on a graph break (``.item()`` and the like on a computed value) and
            on reaching ``recompile_limit``, instead of running those calls eagerly.
        dynamic: ``True`` captures the batch axis (axis 0 of the inputs) as a variable size
            from the start; ``None`` does so after a call differing from a captured one only
            in the batch size; ``False`` captures every shape separately. (A whole training
            step, forward to ``optimizer.step()``, with a variable batch size has its graph
            made again for each new size from the captured one, without running the
            function, and lowered for that size.)
        backend: ``"inductor"`` (the default; in ember the same as ``"replay"``), ``"replay"``,
            ``"eager"``, ``"aot_eager"`` (the same as ``"eager"`` in ember) or
            ``"onnxruntime"`` (needs ``pip install "ember[onnx]"``).
        mode: accepted as in PyTorch (checked; it changes nothing in ember).
        options: for ``"onnxruntime"``, ``onnxruntime.SessionOptions`` attributes
            (``{"intra_op_num_threads": 4}``; by default the session uses ember's thread
            count); other backends accept and ignore them.
        name: a name for the compiled region, used in warnings.
        disable: return ``model`` unchanged.
        recompile_limit: how many signatures get a graph (default 8, PyTorch's).
        isolate_recompiles, shapes_spec: accepted for compatibility.

    Returns:
        for a module, an :class:`OptimizedModule` sharing the module's parameters and buffers
        (``state_dict`` keys start with ``_orig_mod.``, as in PyTorch); for a function, a
        wrapped function.

    Limits: Python side effects in ``forward`` (prints, counters) happen at capture only;
    Python values read in ``forward`` other than the arguments and modules' train/eval mode
    (attributes, globals) are taken as they were at capture.

    Example:
        >>> model = ember.compile(ember.nn.Sequential(ember.nn.Linear(4, 2), ember.nn.ReLU()))
        >>> model(ember.randn(3, 4)).shape
        torch.Size([3, 2])
        >>> @ember.compile
        ... def f(x):
        ...     return x.sin() + x.cos()
    """
    if model is None:
        def decorate(model):
            if model is None:
                raise RuntimeError("Model can't be None")
            return compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                           mode=mode, options=options, name=name, disable=disable,
                           recompile_limit=recompile_limit,
                           isolate_recompiles=isolate_recompiles, shapes_spec=shapes_spec)

        return decorate
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if callable(backend) and not isinstance(backend, str):
        raise NotImplementedError(
            "ember.compile takes a backend name ('inductor', 'replay', 'eager' or "
            "'onnxruntime'); custom backend callables (which receive a torch.fx.GraphModule) "
            "are not supported")
    chosen = "inductor" if backend is None else backend
    if chosen not in _BACKENDS:
        raise RuntimeError(f"Invalid backend: {backend!r}, ember.compile's backends are "
                           f"{', '.join(repr(b) for b in _BACKENDS)} ('inductor', the default, "
                           "is 'replay' in ember)")
    if chosen == "inductor" and mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if disable:
        return model
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    if chosen == "onnxruntime":
        for package in ("onnx", "onnxruntime"):
            if importlib.util.find_spec(package) is None:
                raise ImportError(
                    f"ember.compile(backend='onnxruntime') needs the '{package}' package, which "
                    f"is not installed. Install it with pip install \"ember[onnx]\".")
    if recompile_limit is not None and (not isinstance(recompile_limit, int)
                                        or recompile_limit < 0):
        raise ValueError(f"recompile_limit must be a non-negative int, got {recompile_limit!r}")
    if chosen == "onnxruntime" and options:
        _check_session_options(options)
    compiler = _Compiler(model, _BACKEND_ALIASES.get(chosen, chosen), fullgraph,
                         dynamic, _config_limit() if recompile_limit is None else recompile_limit,
                         name, dict(options) if chosen == "onnxruntime" and options else None)
    if isinstance(model, nn.Module):
        return OptimizedModule(model, compiler)

    @functools.wraps(model)
    def compiled(*args, **kwargs):
        return compiler(*args, **kwargs)

    compiled._torchdynamo_orig_callable = model
    compiled._ember_compiler = compiler
    return compiled


def _check_session_options(options) -> None:
    from .onnx._proto import require

    known = [n for n in dir(require("onnxruntime").SessionOptions) if not n.startswith("_")]
    bad = [k for k in options if k not in known]
    if bad:
        raise ValueError(f"options {bad} are not onnxruntime SessionOptions attributes; the "
                         f"onnxruntime backend takes {', '.join(sorted(known))}")


class OptimizedModule(nn.Module):
    """What :func:`ember.compile` returns for a module (``torch._dynamo.OptimizedModule``):
    calls go through the compiled forward; everything else reaches the original module,
    ``_orig_mod``, whose parameters and buffers it shares (``state_dict`` keys start with
    ``_orig_mod.``; ``train()``/``eval()`` switch the original).

    Example:
        >>> net = ember.nn.Linear(3, 2)
        >>> compiled = ember.compile(net)
        >>> compiled._orig_mod is net
        True
    """

    _opt_mod_attributes = {"_orig_mod", "_compiler", "forward", "_torchdynamo_orig_callable",
                           "__dict__", "_super_module_initialized"}

    def __init__(self, mod, compiler):
        object.__setattr__(self, "_orig_mod", mod)
        object.__setattr__(self, "_super_module_initialized", False)
        super().__init__()
        object.__setattr__(self, "_super_module_initialized", True)
        self._orig_mod = mod  # registered as the one child module
        self._compiler = compiler
        self._torchdynamo_orig_callable = mod.forward
        self.forward = compiler

    @property
    def training(self) -> bool:
        return self._orig_mod.training

    @training.setter
    def training(self, value: bool) -> None:
        if self.__dict__.get("_super_module_initialized"):
            self._orig_mod.training = value

    def __getattr__(self, name: str):
        if name == "_orig_mod":
            return self.__dict__["_modules"]["_orig_mod"]
        return getattr(self._orig_mod, name)

    def __setattr__(self, name: str, value) -> None:
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            return super().__setattr__(name, value)
        return setattr(self._orig_mod, name, value)

    def __delattr__(self, name: str) -> None:
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            return super().__delattr__(name)
        return delattr(self._orig_mod, name)

    def __len__(self) -> int:
        if hasattr(type(self._orig_mod), "__len__"):
            return len(self._orig_mod)
        raise TypeError(f"{type(self._orig_mod).__name__} does not support len()")

    def __dir__(self) -> list:
        own = self._orig_mod.__dir__()
        return own + [a for a in super().__dir__() if a not in own]

    def __reduce__(self):
        return (_rebuild, (self._orig_mod, self._compiler.settings()))

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("forward", None)
        return state


def _rebuild(module, settings):
    return compile(module, **settings)


# -- the compiler: signatures, cache, capture ------------------------------------------------

def _signature(value, parts: list, tensors: list) -> None:
    """Append what ``value`` contributes to a call's guard key (and its tensors to
    ``tensors``)."""
    if isinstance(value, Tensor):
        data = value._data
        parts.append((data.shape, value._dtype,
                      type(data) if type(data).__module__ == "numpy" else value.device,
                      value._requires_grad))
        tensors.append(value)
    elif isinstance(value, (tuple, list)):
        parts.append((type(value), len(value)))
        for v in value:
            _signature(v, parts, tensors)
    elif isinstance(value, dict):
        parts.append((dict, tuple(value)))
        for v in value.values():
            _signature(v, parts, tensors)
    else:
        try:
            hash(value)
            parts.append((type(value), value))
        except TypeError:
            parts.append((type(value), id(value)))


def _closure_modules(fn) -> list:
    """Modules a function reads from its closure, defaults or globals (their train/eval mode
    is part of the guard; their buffers are restored after a capture that is thrown away)."""
    found = []
    code = getattr(fn, "__code__", None)
    cells = getattr(fn, "__closure__", None) or ()
    values = [c.cell_contents for c in cells if _filled(c)]
    values += list(getattr(fn, "__defaults__", None) or ())
    glb = getattr(fn, "__globals__", {})
    if code is not None:
        values += [glb[n] for n in code.co_names if n in glb]
    bound = getattr(fn, "__self__", None)
    if bound is not None:
        values.append(bound)
    for v in values:
        if isinstance(v, nn.Module) and all(v is not m for m in found):
            found.append(v)
    return found


def _filled(cell) -> bool:
    try:
        return cell.cell_contents is not _filled  # an empty cell raises ValueError
    except ValueError:
        return False


class _State:
    """Buffers and the random generator's state, put back after a capture whose run does not
    count (a graph break, or the extra runs that find the batch axis)."""

    def __init__(self, modules):
        from ._random import get_rng_state

        self.rng = get_rng_state()
        self.buffers = [(b, b._data.copy(), b._vbox[0])
                        for m in modules for b in m.buffers()]

    def restore(self) -> None:
        from ._random import set_rng_state

        set_rng_state(self.rng)
        for b, data, version in self.buffers:
            b._data[...] = data
            b._vbox[0] = version


class _Compiler:
    """A compiled module or function: the cache of graphs by signature and the calls."""

    def __init__(self, fn, backend, fullgraph, dynamic, limit, name, options=None):
        self.fn = fn
        self.options = options
        self.module = fn if isinstance(fn, nn.Module) else None
        self.backend, self.fullgraph, self.dynamic, self.limit = backend, fullgraph, dynamic, limit
        self.name = name or getattr(fn, "__qualname__", None) or type(fn).__name__
        self.cache: dict = {}        # guard key -> entry (or _EAGER)
        self.dynamic_entries: list = []  # entries whose batch size may vary
        self.warned: set = set()
        self._modules = None
        self._params = None

    def settings(self) -> dict:
        return {"fullgraph": self.fullgraph, "dynamic": self.dynamic,
                "backend": self.backend, "recompile_limit": self.limit,
                "options": self.options}

    # -- what the guard reads --------------------------------------------------------------
    def modules(self) -> list:
        if self._modules is None:
            roots = [self.module] if self.module is not None else _closure_modules(self.fn)
            mods = []
            for root in roots:
                mods.extend(m for m in root.modules() if all(m is not x for x in mods))
            self._modules = mods
        return self._modules

    def params(self) -> list:
        if self._params is None:
            self._params = [p for m in self.modules() for p in m._parameters.values()
                            if p is not None]
        return self._params

    def key(self, args, kwargs) -> tuple:
        """The call's guard key and its tensors, each once (as the graph's placeholders)."""
        parts = [grad_mode._state.enabled]
        tensors: list = []
        for a in args:
            _signature(a, parts, tensors)
        if kwargs:
            parts.append(tuple(kwargs))
            for v in kwargs.values():
                _signature(v, parts, tensors)
        parts.append(tuple(map(_TRAINING, self._modules or self.modules())))
        if len(tensors) > 1 and len({id(t) for t in tensors}) < len(tensors):
            # one tensor passed twice is one placeholder: the pattern is part of the guard
            first: dict = {}
            parts.append(tuple(first.setdefault(id(t), k) for k, t in enumerate(tensors)))
            tensors = [t for k, t in enumerate(tensors) if first[id(t)] == k]
        return tuple(parts), tensors

    def hooked(self) -> bool:
        """Whether a module has forward or backward hooks: a replay would skip them (their
        Python runs at capture only), so such calls run eagerly, after one warning."""
        for m in self._modules or self.modules():
            if m._forward_pre_hooks or m._forward_hooks or m._backward_hooks or \
                    m._backward_pre_hooks:
                self.warn_once("hooks", f"ember.compile: a submodule of {self.name} "
                               f"({type(m).__name__}) has forward or backward hooks, which a "
                               "replay would skip; calls run eagerly while hooks are "
                               "registered.")
                return True
        return False

    def needs_grad(self, leaves) -> bool:
        if not grad_mode._state.enabled:
            return False
        return any(t._requires_grad for t in leaves) or \
            any(p._requires_grad for p in self.params())

    # -- calls -----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if getattr(_active, "recorder", None) is not None:  # inside another capture: inline
            return self.fn(*args, **kwargs)
        if self.hooked():
            return self.fn(*args, **kwargs)
        key, leaves = self.key(args, kwargs)
        entry = self.cache.get(key)
        if entry is None:
            entry = self.find_dynamic(key, args, kwargs)
        if entry is None:
            return self.miss(key, args, kwargs)
        if entry is _EAGER:
            return self.fn(*args, **kwargs)
        try:
            return entry.run(leaves)
        except RunEager:  # inputs the generated code does not handle, met before any change
            return self.fn(*args, **kwargs)

    def find_dynamic(self, key, args, kwargs):
        for entry in self.dynamic_entries:
            if entry.accepts(key):
                specialize = getattr(entry, "specialize", None)
                if specialize is not None:  # a training step: its graph at this batch size
                    entry = specialize(key, args, kwargs)
                    if entry is None:
                        continue
                self.cache[key] = entry
                return entry
        return None

    def warn_once(self, what: str, message: str) -> None:
        if what not in self.warned:
            self.warned.add(what)
            warnings.warn(message, UserWarning, stacklevel=4)

    def miss(self, key, args, kwargs):
        from .fx.capture import GraphBreak

        # a training step specialized to another batch size is its captured graph again
        graphs = len({id(getattr(e, "base", e)) for e in self.cache.values() if e is not _EAGER})
        if graphs >= self.limit:
            advice = "Let the batch size vary with dynamic=True, or raise recompile_limit."
            message = (f"ember.compile hit recompile_limit ({self.limit}): {self.name} was "
                       f"captured for {self.limit} input signatures (shapes, dtypes, "
                       "requires_grad, grad mode, train/eval); calls with a new signature run "
                       f"eagerly. {advice}")
            if self.fullgraph:
                raise RuntimeError(message)
            self.warn_once("limit", message)
            return self.fn(*args, **kwargs)
        leaves = _unique_leaves(args, kwargs)
        need_grad = self.needs_grad(leaves)
        state = _State(self.modules())
        try:
            graph = _capture(self.fn, args, kwargs)
        except GraphBreak as err:
            if err.method == "Tensor.backward()" and self.backend == "replay" and \
                    self.module is None:
                # a whole training step (forward, loss.backward(), optimizer.step())
                from ._compile_train import compile_step

                state.restore()
                return compile_step(self, key, args, kwargs, err)
            return self.graph_break(key, args, kwargs, state, err)
        except Exception as err:  # noqa: BLE001  (eager decides whether it is the user's error)
            return self.graph_break(key, args, kwargs, state, err)
        out = graph.__dict__.pop("live_output")
        if need_grad and graph.gradient_cuts:
            return self.graph_break(key, args, kwargs, state, _gradient_cut_break(graph))
        try:
            entry = self.build(graph, key, args, kwargs, need_grad)
        except _CannotReplay as err:
            if self.fullgraph:
                raise RuntimeError(str(err)) from None
            self.warn_once("values", f"ember.compile: {err} {self.name} runs eagerly for "
                           "these inputs.")
            self.cache[key] = _EAGER
            return _finish(out, need_grad)
        self.cache[key] = entry
        return _finish(out, need_grad)

    def graph_break(self, key, args, kwargs, state, err):
        """The capture failed: put the state back, then run eagerly for this signature (or
        raise, with fullgraph)."""
        state.restore()
        if self.fullgraph:
            raise err
        out = self.fn(*args, **kwargs)  # the user's own error, if it is one, is raised here
        self.warn_once("break", f"ember.compile: graph break in {self.name}: {err} This call "
                       "and later calls with the same input signature run eagerly "
                       "(fullgraph=True makes this an error).")
        self.cache[key] = _EAGER
        return out

    def build(self, graph, key, args, kwargs, need_grad):
        from .onnx._symbolic import symbolize

        info, symbols, dynamic = None, {}, set()
        batch_only = self.dynamic is None and any(_same_but_batch(key, k)
                                                  for k in self.cache)
        if self.backend != "eager" and (self.dynamic is True or batch_only):
            info, symbols, dynamic = self.batch_axis(graph, args, kwargs)
        if info is None:
            info = symbolize(graph, [], [], {}, "")
        self.check_values(graph, args, kwargs)
        replay = _fast_replay(graph, info, symbols, dynamic, cse=not need_grad)
        entry = _ReplayEntry(self, graph, replay, key)
        if self.backend == "eager":
            entry = _InterpreterEntry(self, graph, key)
        elif self.backend == "onnxruntime":
            entry = _OrtEntry(self, graph, entry, args, kwargs)
        if dynamic:
            self.dynamic_entries.append(entry)
        return entry

    def rerun(self, args, kwargs):
        """A capture whose run does not count: the module's buffers and the random state are
        put back afterwards."""
        state = _State(self.modules())
        try:
            return _capture(self.fn, args, kwargs, keep_output=False)
        finally:
            state.restore()

    def batch_axis(self, graph, args, kwargs):
        """Capture once more one sample larger; sizes that follow axis 0 become symbolic."""
        from .onnx._export import _grow, _map_tensors
        from .onnx._symbolic import symbolize

        holders = graph.placeholders
        first = next((n.meta["shape"][0] for n in holders if len(n.meta["shape"]) >= 1), None)
        batch = [i for i, n in enumerate(holders) if len(n.meta["shape"]) >= 1
                 and n.meta["shape"][0] == first]
        if not batch:
            return None, {}, set()
        grown = {id(t): _grow(t, [0]) for i, t in enumerate(_unique_leaves(args, kwargs))
                 if i in batch}
        v_args, v_kwargs = _map_tensors((args, kwargs), lambda t: grown.get(id(t), t))
        try:
            variant = self.rerun(v_args, v_kwargs)
            info = symbolize(graph, [variant], ["batch"], {"batch": (first, first + 1)},
                             "with the batch size")
        except Exception:  # noqa: BLE001  (the batch cannot vary: capture each size)
            return None, {}, set()
        return info, {"batch": (batch[0], 0)}, {(i, 0) for i in batch}

    def check_values(self, graph, args, kwargs):
        """Capture once more on shuffled values: a graph that holds one example's data (a
        value computed outside the recorded ops) would give wrong answers on other inputs."""
        import numpy as np

        from .onnx._export import _map_tensors, _shuffle
        from .onnx._symbolic import symbolize
        from .onnx.errors import SymbolicValueError

        rng = np.random.default_rng(0)
        shuffled = {id(t): _shuffle(t, rng) for t in _unique_leaves(args, kwargs)}
        if not shuffled:
            return
        s_args, s_kwargs = _map_tensors((args, kwargs), lambda t: shuffled.get(id(t), t))
        try:
            other = self.rerun(s_args, s_kwargs)
        except Exception:  # noqa: BLE001  (the model refuses other values: nothing to compare)
            return
        try:
            symbolize(graph, [other], [], {}, "with the input's values")
        except SymbolicValueError as err:
            raise _CannotReplay(str(err)) from None


_DROPOUTS = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
             "feature_alpha_dropout")


def _fast_replay(graph, info, symbols, dynamic, cse):
    """jit's replay with two passes over its plan: dropout that cannot drop (eval, or p=0)
    returns its input, and, with ``cse`` (for calls that need no gradient: in training the
    merged gradients would be summed in another order), a view op repeated on the same value
    with the same arguments (the three ``transpose`` calls of self-attention's q, k, v) runs
    once."""
    from .jit import _Replay

    replay = _Replay(graph, info, symbols, dynamic)
    replay.cse = cse
    replay._plan()
    alias: dict = {}
    seen: dict = {}
    steps = []
    for step in replay.steps:
        kind, i, node, spec = step
        if kind == "call" and spec is not None:
            a, slots, kw, kw_slots = spec
            target = node.target
            if getattr(target, "_fx_name", None) in _DROPOUTS and not kw_slots and slots and \
                    slots[0][0] == 0 and _no_drop(target._fx_name, a, kw):
                alias[i] = alias.get(slots[0][1], slots[0][1])
                steps.append(("alias", i, node, alias[i]))
                continue
            if cse and isinstance(target, type) and getattr(target, "is_view", False):
                key = (target, tuple((k, alias.get(j, j)) for k, j in slots),
                       tuple(x for k, x in enumerate(a) if all(k != s for s, _ in slots)),
                       tuple(sorted((k, v) for k, v in kw.items())), tuple(kw_slots))
                try:
                    earlier = seen.get(key)
                except TypeError:  # an unhashable constant: keep the step
                    earlier, key = None, None
                if earlier is not None:
                    alias[i] = earlier
                    steps.append(("alias", i, node, earlier))
                    continue
                if key is not None:
                    seen[key] = i
        steps.append(step)
    replay.steps = steps
    return replay


def _no_drop(name, a, kw) -> bool:
    p = kw.get("p", a[1] if len(a) > 1 else 0.5)
    training = kw.get("training", a[2] if len(a) > 2 else _trains_by_default(name))
    return p == 0 or not training


class _CannotReplay(Exception):
    pass


def _gradient_cut_break(graph):
    """The graph break for a capture whose user code cut or replaced gradients (a
    ``detach()``, a custom ``autograd.Function``): the graph would replay the values but
    differentiate straight through, so calls that need gradients run eagerly."""
    from .fx.capture import GraphBreak

    what, where, code = graph.gradient_cuts[0]
    return GraphBreak(what, where, code, "the captured graph replays its value but not the "
                      "gradients it defines, so calls that need gradients run eagerly.")


def _capture(fn, args, kwargs, keep_output=True):
    from .fx.capture import capture

    graph = capture(fn, *args, _mode="compile", **kwargs)
    if not keep_output:
        graph.__dict__.pop("live_output", None)
    return graph


def _finish(out, need_grad):
    """The first call's result: the capture's own output (its autograd graph reaches the
    parameters and the caller's inputs), detached where eager would not record one."""
    if need_grad:
        return out
    from .fx.capture import _detach_all

    return _detach_all(out)


def _codegen(replay, root_reads: bool):
    """The replay plan as one generated Python function (``torch.fx``'s ``GraphModule.code``
    idea): each value a local variable, each op called directly, no per-step dispatch. None
    where the plan has sizes that follow the batch (those replay step by step). With
    ``root_reads``, parameters and buffers are read through the root module on each call."""
    from .fx.graph import Node
    from .onnx._symbolic import SymFill, SymInt

    names: dict = {}

    def const(value):
        key = id(value)
        if key not in names:
            names[key] = (f"c{len(names)}", value)
        return names[key][0]

    def expr(value):
        if isinstance(value, Node):
            return f"v{replay.index[value]}"
        if isinstance(value, (SymInt, SymFill)):
            raise _NoCodegen
        if type(value) is tuple:
            inner = ", ".join(expr(v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if type(value) is list:
            return "[" + ", ".join(expr(v) for v in value) + "]"
        if type(value) is dict:
            return "{" + ", ".join(f"{const(k)}: {expr(v)}" for k, v in value.items()) + "}"
        if type(value) is slice:
            return f"slice({expr(value.start)}, {expr(value.stop)}, {expr(value.step)})"
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
            return f"{const(type(value))}(" + ", ".join(expr(v) for v in value) + ")"
        if value is None or type(value) in (bool, int) or \
                (type(value) is float and value == value and abs(value) != float("inf")):
            return repr(value)
        return const(value)

    lines = ["def forward(root, tensors):"]
    holder = 0
    try:
        for kind, i, node, spec in replay.steps:
            if kind == "call":
                args, kwargs = replay.info[node][0], replay.info[node][1]
                target = node.target
                call = f"{const(target)}.apply" if isinstance(target, type) else const(target)
                parts = [expr(a) for a in args]
                for k, v in kwargs.items():
                    parts.append(f"{k}={expr(v)}" if k.isidentifier() else
                                 f"**{{{const(k)}: {expr(v)}}}")
                lines.append(f"    v{i} = {call}({', '.join(parts)})  # {node.name}")
            elif kind == "alias":
                lines.append(f"    v{i} = v{spec}  # {node.name}")
            elif kind == "attribute":
                lines.append(f"    v{i} = read(root, {spec!r})" if root_reads
                             else f"    v{i} = {const(replay.graph.attributes[spec])}")
            elif kind == "placeholder":
                lines.append(f"    v{i} = tensors[{holder}]  # {node.name}")
                holder += 1
            elif kind == "constant":
                lines.append(f"    v{i} = {const(spec)}  # {node.name}")
            elif kind == "output":
                lines.append(f"    return {expr(node.args[0])}")
            else:  # a fill whose shape follows the batch
                raise _NoCodegen
    except _NoCodegen:
        return None
    namespace = {name: value for name, value in names.values()}
    namespace["read"] = replay._read
    source = "\n".join(lines) + "\n"
    code = builtins.compile(source, "<ember.compile>", "exec")
    exec(code, namespace)  # our own text, built from the plan above
    forward = namespace["forward"]
    forward.source = source
    return forward


class _NoCodegen(Exception):
    pass


def _unique_leaves(args, kwargs) -> list:
    from .jit import _leaves

    return [t for _, t in _leaves(args, kwargs)]


def _same_but_batch(a: tuple, b: tuple) -> bool:
    """Whether two guard keys differ only in axis 0 of tensor shapes."""
    if len(a) != len(b) or a == b:
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        if not (_is_tensor_part(x) and _is_tensor_part(y)):
            return False
        if x[1:] != y[1:] or len(x[0]) != len(y[0]) or not x[0] or x[0][1:] != y[0][1:]:
            return False
    return True


def _is_tensor_part(p) -> bool:
    return type(p) is tuple and len(p) == 4 and type(p[0]) is tuple


class _ReplayEntry:
    """One signature's captured graph, replayed from a plan."""

    def __init__(self, compiler, graph, replay, key):
        self.compiler, self.graph, self.replay, self.key = compiler, graph, replay, key
        self.root = compiler.module
        self.forward = None  # the generated Python function, made on the first replay
        # the graph lowered to raw arrays (ember._compile_lower), made on first use; False
        # where an op has no lowering
        self.inference = None
        self.training = None
        self.grad_mode = key[0]  # the guard's first part: grad mode at capture
        # a graph captured needing no gradient may have merged ops (the view CSE): its
        # training calls replay
        self.trainable = replay is not None and not getattr(replay, "cse", True)
        self.constants = [] if replay is None else \
            [spec for kind, _, _, spec in replay.steps if kind == "constant"]
        # a graph whose batch size varies: per batch size, the graph at that size as a
        # static entry (lowered as a captured one is), or False where it cannot be made
        self.sized: dict | None = {} if replay is not None and replay.symbols else None

    def accepts(self, key) -> bool:
        """For a graph with a variable batch size: whether ``key`` differs from the captured
        one only in axis 0 of the inputs that follow the batch."""
        return _same_but_batch(self.key, key)

    def needs_grad(self, leaves) -> bool:
        """Whether this call records gradients: grad mode is on and an input, a parameter
        or a constant tensor the graph reads requires grad."""
        if not self.grad_mode:
            return False
        if self.compiler.needs_grad(leaves):
            return True
        for c in self.constants:
            if c._requires_grad:
                return True
        return False

    def run(self, leaves):
        if self.sized is not None:
            special = self.at_size(leaves)
            if special is not None:
                return special.run(leaves)
        if not self.needs_grad(leaves):
            lowered = self.inference
            if lowered is None:
                from ._compile_lower import lower_inference

                lowered = self.inference = \
                    lower_inference(self.replay, self.root is not None) or False
            if lowered is not False:
                return lowered(self.root, leaves)
        elif self.trainable:
            lowered = self.training
            if lowered is None:
                from ._compile_lower import lower_training

                lowered = self.training = \
                    lower_training(self.replay, self.root is not None,
                                   [t._requires_grad for t in leaves]) or False
            if lowered is not False:
                return lowered(self, self.root, leaves)
        return self.replay_run(leaves)

    def at_size(self, leaves):
        """This graph made static at the call's batch size (its sizes that follow the batch
        worked out: ``ember._compile_train._specialize``), so the lowerings, which need
        static sizes, apply; one per size, up to ``MAX_SIZES``. None where it cannot be made
        (the symbolic replay runs instead)."""
        replay = self.replay
        sizes = {s: leaves[i]._data.shape[a] for s, (i, a) in replay.symbols.items()}
        size_key = tuple(sizes.items())
        special = self.sized.get(size_key)
        if special is None:
            special = self.sized[size_key] = self.make_sized(leaves, sizes) or False
        return special or None

    def make_sized(self, leaves, sizes):
        """The static entry for ``sizes`` (see :meth:`at_size`), or None."""
        from ._compile_train import MAX_SIZES, _specialize
        from .onnx._symbolic import symbolize

        replay = self.replay
        if len(self.sized) > MAX_SIZES or len(leaves) != len(replay.specs):
            return None
        replay.check(leaves)  # the replay's error for shapes the graph does not take
        if len(sizes) != 1 or any(leaves[i]._data.shape[axis] != sizes["batch"]
                                  for i, axis in replay.dynamic):
            return None  # inputs disagree on the batch size: the replay decides
        graph = _specialize(self.graph, replay.info, sizes)
        if graph is None:
            return None
        static = _fast_replay(graph, symbolize(graph, [], [], {}, ""), {}, set(), replay.cse)
        return _ReplayEntry(self.compiler, graph, static, self.key)

    def replay_run(self, leaves):
        """The captured ops through their ``apply`` (autograd records them as in eager)."""
        forward = self.forward
        if forward is None:
            forward = self.forward = _codegen(self.replay, self.root is not None) or False
        if forward is not False:
            return forward(self.root, leaves)
        return self.replay.run(self.root, leaves, {})


class _InterpreterEntry(_ReplayEntry):
    """The ``"eager"`` backend: the graph run node by node by :class:`ember.fx.Interpreter`."""

    def __init__(self, compiler, graph, key):
        from .fx.interpreter import Interpreter

        super().__init__(compiler, graph, None, key)
        self.interpreter = Interpreter(graph, compiler.module)

    def run(self, leaves):
        return self.interpreter.run(*leaves)


class _OrtEntry:
    """The ``"onnxruntime"`` backend: calls that need no gradient run an InferenceSession of
    the graph exported with ``ember.onnx`` (one per input shapes: a graph whose batch size
    varies replays at any size, the sessions are static); the others replay."""

    def __init__(self, compiler, graph, replay_entry, args, kwargs):
        self.compiler, self.graph, self.replay_entry = compiler, graph, replay_entry
        self.key = replay_entry.key
        self.sessions: dict = {}  # input shapes -> _Session
        self.session = None       # the latest one opened
        # the first call's arguments: their structure and constants, to export with the
        # tensors of a later call put in place (by their position among the inputs)
        self.example = (args, dict(kwargs))
        self.positions = {id(t): k for k, t in enumerate(_unique_leaves(args, kwargs))}
        self.failed = False
        # dropout and batch norm in training mode draw masks and update statistics: replay
        self.stateful = any(_trains(n) for n in graph.nodes)

    def accepts(self, key) -> bool:
        return self.replay_entry.accepts(key)

    def run(self, leaves):
        if self.failed or self.stateful or self.compiler.needs_grad(leaves):
            return self.replay_entry.run(leaves)
        shapes = tuple(t._data.shape for t in leaves)
        session = self.sessions.get(shapes)
        if session is None:
            from .onnx._export import _map_tensors

            args, kwargs = _map_tensors(self.example,
                                        lambda t: leaves[self.positions[id(t)]])
            session = self.export(args, kwargs)
            if session is None:
                return self.replay_entry.run(leaves)
            self.sessions[shapes] = self.session = session
        return session.run(leaves)

    def export(self, args, kwargs):
        """Export the graph with the parameters and buffers as inputs (fed from the live
        tensors on each call, so training between calls is seen) and open a session."""
        from .onnx import TrainingMode
        from .onnx import export as onnx_export
        from .onnx._proto import require

        ort = require("onnxruntime")
        example = tuple(args) + ((dict(kwargs),) if kwargs else ())
        state = _State(self.compiler.modules())
        try:
            if self.compiler.module is None:
                raise NotImplementedError("the onnxruntime backend runs modules; a compiled "
                                          "function's weights could not be fed live")
            program = onnx_export(self.compiler.fn, example, None, export_params=False,
                                  training=TrainingMode.PRESERVE, dynamic_axes=None)
        except Exception as err:  # noqa: BLE001  (an op without an ONNX form: replay instead)
            self.failed = True
            self.compiler.warn_once("onnx", f"ember.compile(backend='onnxruntime'): "
                                    f"{self.compiler.name} is not run by onnxruntime "
                                    f"({type(err).__name__}: {err}); it replays instead.")
            return None
        finally:
            state.restore()
        from ._threads import num_threads

        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads()  # ember's thread count (set_num_threads)
        for name, value in (self.compiler.options or {}).items():
            setattr(options, name, value)
        return _Session(ort.InferenceSession(program.model_proto.SerializeToString(), options,
                                             providers=["CPUExecutionProvider"],
                                             disabled_optimizers=_ORT_SLOW_FUSIONS),
                        program.graph)


# onnxruntime fusions left off because the fused kernel is slower on CPU than what it replaces:
# SkipLayerNormalization (Add + LayerNormalization, a transformer block's residual) measured
# 4.6x to 7x slower than the two ops it fuses on onnxruntime 1.32's CPU provider, one thread
# (8x32x64: 99 vs 21 us; 8x32x768: 1028 vs 140 us); a 2-layer encoder ran 0.66 ms instead of 0.95.
_ORT_SLOW_FUSIONS = ["SkipLayerNormFusion"]


class _Session:
    """An onnxruntime session and how to feed it (inputs, then weights read live) and read
    its outputs back into the returned structure."""

    def __init__(self, session, graph):
        from .fx.graph import Node, map_nodes
        from .onnx._export import _flatten_nodes

        self.session = session
        holders = len(graph.placeholders)
        names = [i.name for i in session.get_inputs()]
        self.feeds = [(n, k if k < holders else graph.attributes[n]) for k, n in enumerate(names)]
        # the per-call path reads these prebuilt lists: inputs by position among the call's
        # tensors, weights as the live tensors (their ``_data`` may be replaced between calls)
        self.inputs = [(n, k) for n, k in self.feeds if type(k) is int]
        self.weights = [(n, t) for n, t in self.feeds if type(t) is not int]
        self.structure = graph.output_node.args[0]
        flat = _flatten_nodes(self.structure)  # one ONNX output per returned node, in order
        self.outputs = [o.name for o in session.get_outputs()][:len(flat)]
        self.out_nodes = [(n, n.meta["dtype"]) for n in flat]
        self.single = isinstance(self.structure, Node)
        self.map_nodes = map_nodes

    def get_session_options(self):
        return self.session.get_session_options()

    def run(self, leaves):
        # arrays go in as they are: onnxruntime copies a non-contiguous one itself
        feeds = {n: leaves[k]._data for n, k in self.inputs}
        for n, t in self.weights:
            feeds[n] = t._data
        outs = self.session.run(self.outputs, feeds)
        if self.single:
            return Tensor._make(outs[0], self.out_nodes[0][1])
        values = {node: Tensor._make(o, dtype) for (node, dtype), o in zip(self.out_nodes, outs)}
        return self.map_nodes(self.structure, values.__getitem__)


def _trains(node) -> bool:
    if node.op != "call_function":
        return False
    name = getattr(node.target, "_fx_name", None)
    if name == "batch_norm_module":
        return node.target.module.training
    if name == "batch_norm":
        training = node.kwargs.get("training", node.args[5] if len(node.args) > 5 else False)
        return bool(training)
    if name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                "feature_alpha_dropout"):
        training = node.kwargs.get("training", node.args[2] if len(node.args) > 2 else
                                   _trains_by_default(name))
        p = node.kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
        return bool(training) and p != 0
    return False


def _trains_by_default(name) -> bool:
    """The default of a dropout function's ``training`` (False for the alpha dropouts, as in
    PyTorch)."""
    return name not in ("alpha_dropout", "feature_alpha_dropout")
