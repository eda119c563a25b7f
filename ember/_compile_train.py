"""``ember.compile`` of a whole training step: a function that runs the model and its loss,
calls ``loss.backward()`` and steps the optimizer (what ``torch.compile`` users decorate)::

    @ember.compile
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

The first call per input signature finds the step's parts:

* the forward (everything up to ``loss.backward()``) is captured as a graph: the capture
  stops at the backward (``ember.fx.capture.StopAtBackward``);
* the call itself then runs eagerly (it is the first call's result) while the calls around
  the forward are logged: ``loss.backward()``, ``Optimizer.step()``, ``Optimizer.zero_grad()``,
  ``Module.zero_grad()``, learning-rate schedulers' ``step()`` and gradient clipping
  (``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` called through their module,
  the parameters kept as a list: the replay clips the same parameters' gradients).

Later calls run the forward and the loss as the lowered graph (``ember._compile_lower``: raw
NumPy calls, one autograd node, ``CompiledFunctionBackward``, for the whole graph), then
``loss.backward()`` through that one node, and the logged calls again, in their order, through
the objects' own methods: the optimizer's update is its own code, so every optimizer, its
hyperparameters as they are at that step (an ``lr`` changed by a scheduler between steps), its
step hooks and the parameters' tensor hooks behave as in eager, and numbers equal eager's bit
for bit.

A step whose batch size varies (``dynamic=True``: from its first call, captured once more one
sample larger; ``dynamic=None``: from its second batch size, the two graphs compared) is not
captured again for a new batch size: its graph, with the sizes that follow the batch worked
out for the new one, is lowered again (about a fifth of a capture's cost) and the logged
calls are shared, so a DataLoader's short last batch, or any number of sizes, neither runs
the function again nor counts towards ``recompile_limit``. A constant filled per batch size
(an RNN's ``torch.zeros(B, H)`` initial state made in ``forward``) is made at the new size.

The step runs eagerly (after one warning) when the replay could not be sure to do what the
function does: an op between the backward and the function's end outside those calls (a
gradient changed by hand, a clipping function imported by name before the capture),
``backward()`` with arguments or called twice, a ``zero_grad``-free step before the forward,
a closure passed to ``step()``, an op of the forward without a training lowering (the warning
names it), or a result other than the loss (or ``None``).
Python side effects other than the logged calls (a print, a counter) happen on the first call
only, as in any compiled function.
"""

from __future__ import annotations

import numpy as np

from . import _autocast
from ._autocast import hot as _amp
from ._compile_lower import RunEager
from ._tensor import Tensor
from .autograd import anomaly
from .autograd.graph import AccumulateGrad

__all__ = ["compile_step"]


class _Unsupported(Exception):
    pass


# batch sizes one captured graph is specialized to, at most (each keeps its own generated
# code); later new sizes are captured as other signatures (up to ``recompile_limit``)
MAX_SIZES = 64


class _Probe:
    """The first call run eagerly with its calls logged: ``events`` holds
    ``(kind, bound method, args, kwargs)`` in order; ``stray`` counts ops applied after the
    backward outside the logged calls, and gradients changed there (an in-place op on a
    ``.grad``, which may bypass the op path, or a ``.grad`` set: the replay would not)."""

    def __init__(self):
        self.events: list = []
        self.depth = 0          # inside a logged call: its own ops and calls are its business
        self.after = False      # the backward has run
        self.stray = 0
        self.items: list = []   # (tensor, the Python number its .item() gave), outside calls
        self.leaves: list = []  # after the backward: the loss graph's leaves
        self.grads: list = []   # ... their .grad and a copy of its values after the last call

    def note_grads(self) -> None:
        self.grads = []
        for t in self.leaves:
            g = t._grad
            dense = g is not None and type(g._data) is np.ndarray  # (a sparse one: its version)
            self.grads.append((g, g._data.copy() if dense else None,
                               None if g is None else g._vbox[0]))

    def check_grads(self) -> None:
        """Count a gradient changed since the last logged call as a stray op."""
        for t, (grad, values, version) in zip(self.leaves, self.grads):
            now = t._grad
            if now is not grad or (now is not None and (now._vbox[0] != version or (
                    values is not None and not np.array_equal(
                        now._data, values, equal_nan=values.dtype.kind in "fc")))):
                self.stray += 1
                return

    def backward_done(self, loss) -> None:
        leaves, seen = [], set()
        stack = [loss.grad_fn] if isinstance(loss, Tensor) and loss.grad_fn else []
        while stack:
            for nxt, _ in stack.pop().next_functions:
                if nxt is None or id(nxt) in seen:
                    continue
                seen.add(id(nxt))
                if type(nxt) is AccumulateGrad:
                    leaves.append(nxt.variable)
                else:
                    stack.append(nxt)
        self.leaves = leaves
        self.after = True
        self.note_grads()

    def count(self, cls, inputs, kwargs, plain):
        if self.after and self.depth == 0:
            self.stray += 1
        return plain(cls, *inputs, **kwargs)

    def logging(self, kind, original):
        probe = self

        def wrapper(obj, *args, **kwargs):
            if probe.depth:
                return original(obj, *args, **kwargs)
            probe.events.append((kind, obj, original, args, kwargs))
            probe.check_grads()
            probe.depth += 1
            try:
                return original(obj, *args, **kwargs)
            finally:
                probe.depth -= 1
                if kind == "backward":
                    probe.backward_done(obj)
                else:
                    probe.note_grads()

        wrapper.__name__ = getattr(original, "__name__", kind)
        return wrapper

    def logging_clip(self, original):
        """``clip_grad_norm_`` / ``clip_grad_value_`` logged as a call the replay makes again
        (its parameters, a generator such as ``model.parameters()``, taken as a list)."""
        probe = self

        def clip(parameters, *args, **kwargs):
            if probe.depth:
                return original(parameters, *args, **kwargs)
            if not isinstance(parameters, (Tensor, list, tuple)):
                parameters = list(parameters)
            probe.events.append(("clip", None, original, (parameters,) + args, kwargs))
            probe.check_grads()
            probe.depth += 1
            try:
                return original(parameters, *args, **kwargs)
            finally:
                probe.depth -= 1
                probe.note_grads()

        clip.__name__ = original.__name__
        clip.__doc__ = original.__doc__
        return clip

    def run(self, fn, args, kwargs):
        from . import nn
        from ._ops import _core
        from ._tensor import Tensor
        from .fx.capture import _Patches
        from .optim import lr_scheduler
        from .optim.optimizer import (
            Optimizer,
            register_optimizer_step_post_hook,
            register_optimizer_step_pre_hook,
        )

        patches = _Patches()
        patches.set(Tensor, "backward", self.logging("backward", Tensor.backward))
        patches.set(Tensor, "item", self.noting_items(Tensor.item))
        patches.set(Optimizer, "zero_grad", self.logging("zero_grad", Optimizer.zero_grad))
        patches.set(nn.Module, "zero_grad", self.logging("zero_grad", nn.Module.zero_grad))
        # gradient clipping between the backward and the step, called through its module
        # (``torch.nn.utils.clip_grad_norm_(...)``; a name imported before is not seen: its
        # ops then count as stray and the step runs eagerly)
        from .nn.utils import clip_grad

        for name in ("clip_grad_norm_", "clip_grad_value_"):
            original = vars(clip_grad)[name]
            for owner in (nn.utils, clip_grad):
                if vars(owner).get(name) is original:
                    patches.set(owner, name, self.logging_clip(original))
        seen: set = set()
        for value in vars(lr_scheduler).values():
            for cls in (value.__mro__ if isinstance(value, type) else ()):
                if "step" in vars(cls) and cls not in seen and \
                        cls.__module__.startswith("ember.optim.") and \
                        not issubclass(cls, Optimizer):
                    seen.add(cls)
                    patches.set(cls, "step", self.logging("scheduler", vars(cls)["step"]))
        # every optimizer's step, however it is reached (a scheduler wraps it on the
        # instance), runs the global step hooks
        pre = register_optimizer_step_pre_hook(self.step_begins)
        post = register_optimizer_step_post_hook(self.step_ends)
        _core.set_capture(self.count)
        try:
            out = fn(*args, **kwargs)
            self.check_grads()
            return out
        finally:
            _core.set_capture(None)
            pre.remove()
            post.remove()
            patches.restore()

    def noting_items(self, original):
        probe = self

        def item(tensor):
            value = original(tensor)
            if not probe.depth:
                probe.items.append((tensor, value))
            return value

        return item

    def step_begins(self, opt, args, kwargs):
        if not self.depth:
            self.events.append(("step", opt, None, tuple(args[1:]), dict(kwargs)))
            self.check_grads()
        self.depth += 1

    def step_ends(self, opt, args, kwargs):
        self.depth -= 1
        if not self.depth:
            self.note_grads()


def compile_step(compiler, key, args, kwargs, brk):
    """The first call of a training step's signature: capture its forward, run it eagerly
    with its calls logged, and cache a :class:`_StepEntry` (or eager, after one warning)."""
    from ._compile import _EAGER, _CannotReplay, _capture, _State
    from .fx.capture import _active

    graph = None
    reason = None
    symbolic = None
    state = _State(compiler.modules())
    _active.stop_at_backward = True
    draws = _UnrecordedDraws()
    try:
        with draws:
            graph = _capture(compiler.fn, args, kwargs, keep_output=False)
        state.restore()
        if not getattr(graph, "stopped_at_backward", False):
            raise _CannotReplay("its capture did not reach the backward.")
        if graph.gradient_cuts:
            what, where, _code = graph.gradient_cuts[0]
            raise _CannotReplay(f"{what} ({where}) defines gradients the replayed graph "
                                "would not follow.")
        if draws.seen:
            raise _CannotReplay("it draws random numbers outside the recorded ops "
                                "(torch.randn_like, torch.rand ...): the graph would keep "
                                "the first call's numbers as a constant.")
        compiler.check_values(graph, args, kwargs)
        symbolic = _batch_symbols(compiler, graph, key, args, kwargs)
    except _CannotReplay as err:
        reason = str(err)
    except Exception as err:  # noqa: BLE001  (eager below decides whether it is the user's)
        state.restore()
        reason = f"{type(err).__name__}: {err}"
    finally:
        _active.stop_at_backward = False
    probe = _Probe()
    out = probe.run(compiler.fn, args, kwargs)
    entry = None
    if reason is None:
        try:
            entry = _StepEntry(compiler, graph, key, probe, out, args, kwargs)
        except _Unsupported as err:
            reason = str(err)
    if entry is None:
        message = (f"ember.compile: graph break in {compiler.name}: Tensor.backward() "
                   f"({brk.source}): the training step cannot be replayed: {reason} This call "
                   "and later calls with the same input signature run eagerly (fullgraph=True "
                   "makes this an error).")
        if compiler.fullgraph:
            raise RuntimeError(message)
        compiler.warn_once("step", message)
        compiler.cache[key] = _EAGER
        return out
    compiler.cache[key] = entry
    if symbolic is not None:  # other batch sizes: this graph specialized (no capture)
        entry.symbolic = symbolic
        compiler.dynamic_entries.append(entry)
    if entry.returns is True:
        _as_compiled_result(out)
    return out


class _UnrecordedDraws:
    """Notes, while a step's forward is captured, a draw from a generator made outside any
    recorded op or function (``torch.randn_like(mu)`` in a VAE's reparameterization): the
    tensor it makes enters the graph as a constant, so a replay would reuse it. (Dropout and
    other random ops recorded whole draw inside their record, and draw again each call.)"""

    def __init__(self):
        self.seen = False

    def __enter__(self):
        import sys

        from .fx.capture import _active, _Patches

        self.patches = _Patches()
        for name in ("ember._random", "ember._random_distributions",
                     "ember.distributions._sampling"):
            module = sys.modules.get(name)
            original = vars(module).get("_gen") if module is not None else None
            if original is None:
                continue

            def gen(generator=None, _original=original):
                rec = getattr(_active, "recorder", None)
                if rec is not None and rec.depth == 0:
                    self.seen = True
                return _original(generator)

            self.patches.set(module, "_gen", gen)
        return self

    def __exit__(self, *exc):
        self.patches.restore()
        return False


def _batch_symbols(compiler, graph, key, args, kwargs):
    """For a step whose batch size may vary (``dynamic=True``, or with ``dynamic=None`` a
    second batch size seen): ``(info, symbols, dynamic)``, the graph's arguments and shapes
    with the sizes that follow the batch (axis 0 of the inputs) symbolic, found by comparing
    it with its capture one sample larger (``dynamic=True``) or with the step's graph at the
    other batch size. None where the batch cannot vary (the graph then differs otherwise)."""
    from ._compile import _same_but_batch
    from .onnx._symbolic import SymInt, symbolize
    from .onnx.errors import SymbolicValueError

    if compiler.dynamic is True:
        info, symbols, dynamic = compiler.batch_axis(graph, args, kwargs)  # (stops at backward)
        return None if info is None else (info, symbols, dynamic)
    other = None
    if compiler.dynamic is None:
        other = next((e for k, e in compiler.cache.items()
                      if type(e) is _StepEntry and _same_but_batch(key, k)), None)
    holders = graph.placeholders
    if other is None or len(other.graph.placeholders) != len(holders) or \
            not holders[0].meta["shape"]:
        return None
    sizes = (holders[0].meta["shape"][0], other.graph.placeholders[0].meta["shape"][0])
    try:
        info = symbolize(graph, [other.graph], ["batch"], {"batch": sizes}, "with the batch size")
    except SymbolicValueError:
        return None
    dynamic = {(i, 0) for i, n in enumerate(holders)
               if info[n][2] and isinstance(info[n][2][0], SymInt)}
    if (0, 0) not in dynamic:
        return None
    return info, {"batch": (0, 0)}, dynamic


def _specialize(graph, info, sizes: dict):
    """A copy of ``graph`` at other sizes: each argument and shape that follows a symbol of
    ``info`` (``symbolize``'s) worked out for ``sizes``. None where a shape or a constant
    follows the symbols in a way the copy cannot make. A constant filled with one value whose
    shape follows the batch (``SymFill``: an RNN's ``torch.zeros(B, H)`` initial state) is
    made again at its new shape."""
    from .fx.graph import Graph, Node
    from .onnx._symbolic import SymFill, SymInt

    made: dict = {}

    def concrete(v):
        if isinstance(v, Node):
            return made[v]
        if isinstance(v, SymInt):
            n = v.coeff
            for s in v.symbols:
                n *= sizes[s]
            return n
        if type(v) in (tuple, list):
            return type(v)(concrete(x) for x in v)
        if isinstance(v, tuple) and hasattr(v, "_fields"):  # a named tuple
            return type(v)(*(concrete(x) for x in v))
        if isinstance(v, tuple):  # ember.Size
            return type(v)(tuple(concrete(x) for x in v))
        if type(v) is dict:
            return {k: concrete(x) for k, x in v.items()}
        if type(v) is slice:
            return slice(concrete(v.start), concrete(v.stop), concrete(v.step))
        return v

    new = Graph()
    new.attributes = dict(graph.attributes)
    for node in graph.nodes:
        args, kwargs, shape, attribute = info[node]
        if shape is None and node.meta.get("shape"):
            return None
        if isinstance(attribute, SymFill):
            dtype = attribute.dtype
            new.attributes[node.target] = Tensor._make(
                np.full(concrete(attribute.shape), attribute.value, dtype.np_dtype), dtype)
        meta = dict(node.meta)
        if shape is not None:
            meta["shape"] = concrete(shape)
        made[node] = new.create_node(node.op, node.target, concrete(args), concrete(kwargs),
                                     name=node.name, meta=meta)
    for k, v in graph.__dict__.items():  # what the capture noted (stopped_at_backward ...)
        if k not in new.__dict__ and k != "live_output":
            new.__dict__[k] = v
    return new


def _as_compiled_result(loss) -> None:
    """The first call's loss (computed eagerly, its graph freed by the backward) given the
    node a replayed call's loss has, as ``torch.compile``'s first call returns it: it prints
    ``grad_fn=<CompiledFunctionBackward>`` and a second ``backward()`` raises as on any freed
    graph. Its edges lead to the leaves the eager graph reached."""
    from ._compile_lower import _COMPILED_NODE
    from .autograd.graph import _sequence

    old = loss.grad_fn
    if old is None or not old._freed:
        return
    edges: list = []
    seen: set = set()
    stack = [old]
    while stack:  # the eager graph's leaves, in the order a depth-first walk meets them
        node = stack.pop()
        for edge in reversed(node.next_functions):
            nxt = edge[0]
            if nxt is None or id(nxt) in seen:
                continue
            seen.add(id(nxt))
            if type(nxt) is AccumulateGrad:
                edges.append(edge)
            else:
                stack.append(nxt)
    node = object.__new__(_COMPILED_NODE)
    node.next_functions = tuple(edges)
    node.needs_input_grad = (True,) * len(edges)
    node._seq = next(_sequence)
    node._output_meta = [(tuple(loss.shape), loss.dtype, None)]
    node._arrays = node._sources = node._lowered = node._entry = node._leaves = None
    node._freed = True
    loss.grad_fn = node
    loss._output_nr = 0


class _StepEntry:
    """One signature's training step: the lowered forward and loss, ``backward()`` through
    its one node, then the logged calls (see the module note)."""

    def __init__(self, compiler, graph, key, probe, out, args, kwargs):
        from ._compile import _unique_leaves
        from ._tensor import Tensor

        events = probe.events
        backward = [k for k, e in enumerate(events) if e[0] == "backward"]
        if len(backward) != 1:
            raise _Unsupported(f"it calls backward() {len(backward)} times.")
        b = backward[0]
        _, loss, _, b_args, b_kwargs = events[b]
        if b_args or b_kwargs:
            raise _Unsupported("backward() is called with arguments.")
        if any(e[0] != "zero_grad" for e in events[:b]):
            raise _Unsupported(f"{events[0][0]}() is called before the backward.")
        for kind, _obj, _, e_args, e_kwargs in events[b + 1:]:
            if kind == "step" and (e_args or e_kwargs):
                raise _Unsupported("optimizer.step() is given a closure.")
            if kind == "scheduler" and (e_args or e_kwargs):
                raise _Unsupported("a scheduler's step() is given a value (a metric, an "
                                   "epoch) that the replay would repeat.")
        if probe.stray:
            raise _Unsupported("it applies ops after the backward outside optimizer.step(), "
                               "zero_grad(), schedulers and gradient clipping (a gradient "
                               "changed by hand, say).")
        if out is None or out is loss:
            self.returns = out is not None
        elif any(t is loss and v is out for t, v in probe.items):
            self.returns = "item"  # ``return loss.item()``: read from the computed loss
        else:
            raise _Unsupported("it returns something other than the loss, loss.item() (or "
                               "None).")
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            raise _Unsupported("backward() is called on a tensor that is not a scalar loss.")
        self.compiler = compiler
        self.symbolic = None  # (info, symbols, dynamic) where other batch sizes specialize it
        self.base = self      # the entry captured (a specialized one's: the one it came from)
        self.specialized = 0  # how many batch sizes it was specialized to
        self.lower(graph, key, _unique_leaves(args, kwargs))
        # each call again through the object's own attribute (a scheduler's wrapper of an
        # optimizer's step included)
        self.pre = [(_call(kind), obj, a, k) for kind, obj, _, a, k in events[:b]]
        self.post = [(_fast_step(obj) if kind == "step" else
                      _call_function(fn) if kind == "clip" else _call(kind), obj, a, k)
                     for kind, obj, fn, a, k in events[b + 1:]]
        self.key = key
        self.graph = graph

    def lower(self, graph, key, leaves) -> None:
        """The forward and loss of ``graph`` as generated code (``lower_training``)."""
        from ._compile import _fast_replay, _ReplayEntry
        from ._compile_lower import lower_training
        from .onnx._symbolic import symbolize

        info = symbolize(graph, [], [], {}, "")
        replay = _fast_replay(graph, info, {}, set(), cse=False)
        why: list = []
        training = lower_training(replay, False, [t._requires_grad for t in leaves],
                                  stateful=True, why=why)
        if training is None:
            node = why[0] if why else None
            name = f" ({node.target_name}, {node.name})" if node is not None else ""
            raise _Unsupported(f"an op of its forward or loss{name} has no compiled training "
                               "form.")
        self.training = training
        self.replay_entry = _ReplayEntry(self.compiler, graph, replay, key)  # for create_graph

    def accepts(self, key) -> bool:
        """Whether ``key`` differs from this step's only in the batch size."""
        from ._compile import _same_but_batch

        return self.symbolic is not None and _same_but_batch(self.key, key)

    def specialize(self, key, args, kwargs):
        """This step at the call's batch size, without a capture (the function does not
        run): the graph's sizes that follow the batch worked out for it, lowered again; the
        calls around the backward (the optimizer's planned step among them) shared. None
        where it cannot (the caller captures this signature as usual)."""
        import copy

        from ._compile import _unique_leaves

        info, symbols, dynamic = self.symbolic
        leaves = _unique_leaves(args, kwargs)
        holders = self.graph.placeholders
        if len(leaves) != len(holders) or self.specialized >= MAX_SIZES:
            return None
        k, axis = symbols["batch"]
        batch = leaves[k]._data.shape[axis]
        for k, (node, t) in enumerate(zip(holders, leaves)):
            want = list(node.meta["shape"])
            if (k, 0) in dynamic:
                want[0] = batch
            if list(t._data.shape) != want:
                return None  # an axis other than the batch changed
        graph = _specialize(self.graph, info, {"batch": batch})
        if graph is None:
            return None
        entry = copy.copy(self)
        try:
            entry.lower(graph, key, leaves)
        except _Unsupported:
            return None
        entry.graph, entry.key, entry.symbolic, entry.base = graph, key, None, self
        self.specialized += 1
        return entry

    def run(self, leaves):
        if _amp.active and _autocast.state.active:
            raise RunEager
        # the forward first: inputs it does not handle go eager before anything changed
        # (zero_grad before the forward does not change what the forward computes)
        loss = self.training(self.replay_entry, None, leaves)
        for fn, obj, a, k in self.pre:
            fn(obj, *a, **k)
        if not _direct_backward(loss):
            loss.backward()
        for fn, obj, a, k in self.post:
            fn(obj, *a, **k)
        returns = self.returns
        if returns is True:
            return loss
        return loss.item() if returns else None


def _direct_backward(loss) -> bool:
    """``loss.backward()`` where the engine would only run the graph's one node and hand
    each parameter its gradient: every source that needs one a leaf with no ``.grad`` yet and
    no hooks, the node unhooked, anomaly detection off. The node's own backward then runs
    directly and each gradient becomes the leaf's ``.grad`` as the engine's ``AccumulateGrad``
    makes it (a fresh array taken over, any other copied). False (nothing done) otherwise."""
    node = loss.grad_fn
    if node is None or node._freed or anomaly._enabled[0] or node._pre_hooks or \
            node._post_hooks or node._retained or loss._hooks or loss._retains_grad:
        return False
    sources, needs = node._sources, node.needs_input_grad
    if len({id(t) for t in sources}) != len(sources):
        return False  # one tensor reached twice (tied weights): the engine sums its gradients
    for (acc, _), t, need in zip(node.next_functions, sources, needs):
        if need and (type(acc) is not AccumulateGrad or t._grad is not None or t._hooks or
                     t._post_acc_hooks or acc._pre_hooks or acc._post_hooks):
            return False
    result = node._lowered.backward(node._arrays, [np.ones((), loss._data.dtype)], needs)
    node._free()
    claimed: set = set()
    for g, t, need in zip(result, sources, needs):
        if g is None or not need:
            continue
        arr = g if type(g) is np.ndarray else np.asarray(g)
        if arr.base is not None or id(arr) in claimed or not arr.flags.writeable or \
                arr.strides != t._data.strides:
            own = np.empty_like(t._data, dtype=arr.dtype)
            np.copyto(own, arr)
            arr = own
        claimed.add(id(arr))
        t._grad = Tensor._make(arr, t._dtype)
        t._grad_private = True
    return True


def _call(kind):
    name = "zero_grad" if kind == "zero_grad" else "step"

    def call(obj, *args, **kwargs):
        return getattr(obj, name)(*args, **kwargs)

    return call


def _call_function(fn):
    def call(_none, *args, **kwargs):
        return fn(*args, **kwargs)

    return call


def _sgd_class():
    from .optim.sgd import SGD

    return SGD


def _fast_step(opt):
    """The replay's call of ``opt.step()``: a fast update where one covers the optimizer
    (:class:`_FastSGD`, :class:`_FastAdam`), which runs ``opt.step()`` itself for any case it
    does not cover."""
    from .optim.adam import Adam
    from .optim.adamw import AdamW

    if type(opt) is _sgd_class():
        return _FastSGD(opt).step
    if type(opt) in (Adam, AdamW):
        return _FastAdam(opt).step
    return _call("step")


def _unwrapped(opt, own_step) -> bool:
    """Whether ``opt.step`` is its class's own ``own_step``, or a scheduler's wrapper of it
    (which notes the step in ``_opt_called``, as done here)."""
    own = vars(opt).get("step")
    if own is None:
        return True
    if getattr(own, "_wrapped_by_lr_sched", False) and \
            getattr(own, "__wrapped__", None) is own_step:
        opt._opt_called = True
        return True
    return False


class _FastSGD:
    """``SGD.step()`` for its usual case (momentum, its buffers made by a first step, no
    weight decay, Nesterov or maximize, a float ``lr`` read from the group at each step, no
    step hooks, dense float gradients) as the same two BLAS calls per parameter that
    ``SGD.step`` makes (``axpby``: ``buf = momentum*buf + (1-dampening)*g``; ``axpy``:
    ``p += -lr*buf``), their argument checks and addresses worked out once per parameter
    instead of per call. Any other case runs ``SGD.step`` itself."""

    def __init__(self, opt):
        from . import _blas
        from ._sparse_tensor import SparseTensor
        from .optim import optimizer

        self.opt = opt
        self.sgd_step = _sgd_class().step
        self.sparse = SparseTensor
        self.blas = _blas
        self.hooks = (optimizer._global_pre_hooks, optimizer._global_post_hooks)
        self.kernels = _blas._kernels
        self.known: dict = {}  # id(p) -> (p's array, buf's array, their addresses, kernels)

    def step(self, opt):
        if not self.ready(opt):
            return opt.step()
        return None

    def ready(self, opt) -> bool:
        """Run the step (and say True) when it is the usual case; False with nothing done."""
        if opt._step_depth or self.hooks[0] or self.hooks[1] or \
                opt._optimizer_step_pre_hooks or opt._optimizer_step_post_hooks or \
                not _unwrapped(opt, self.sgd_step):
            return False
        work = []
        state = opt.state
        known = self.known
        for group in opt.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            dampening, decay = group["dampening"], group["weight_decay"]
            if type(lr) not in (float, int) or type(momentum) not in (float, int) or \
                    not momentum or type(dampening) not in (float, int) or \
                    type(decay) not in (float, int) or decay != 0 or group["nesterov"] or \
                    group["maximize"] or group["differentiable"]:
                return False
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                st = state.get(p)
                buf = st.get("momentum_buffer") if st else None
                if buf is None:
                    return False  # the first step copies the gradient: SGD.step does it
                g, b, pd = grad._data, buf._data, p._data
                plan = known.get(id(p))
                if plan is None or plan[0] is not pd or plan[1] is not b:
                    plan = self.plan(p, pd, b)
                    if plan is None:
                        return False
                if type(g) is not np.ndarray or g.dtype != b.dtype or g.size != b.size or \
                        not g.flags.c_contiguous or isinstance(grad, self.sparse):
                    return False
                work.append((p, g, plan, momentum, 1 - dampening, -lr))
        address, axpy, threads = self.blas._address, self.blas.axpy, self.blas.get_num_threads
        block = 32 * max(threads() if threads else 1, 1)
        for p, g, (pd, b, ap, ab, (fby, fy), n, f32), momentum, a, neg_lr in work:
            fby(n, a, address(g), 1, momentum, ab, 1)  # SGD._scale_add's axpby
            if f32 and n % block:
                axpy(neg_lr, b, pd)  # the kernel's tail handled as _blas.axpy does
            else:
                fy(n, neg_lr, ab, 1, ap, 1)  # SGD._add_scaled's axpy
            p._vbox[0] += 1
        return True

    def plan(self, p, pd, b):
        """The parameter's and its buffer's arrays, addresses and kernels, where both are
        what ``_blas`` runs its kernels on (else None)."""
        fits = self.blas._fits
        kernels = fits(b, pd)
        if kernels is None or fits(pd, b) is None or not pd.size:
            return None
        plan = (pd, b, self.blas._address(pd), self.blas._address(b), kernels, pd.size,
                pd.dtype == np.float32)
        self.known[id(p)] = plan
        return plan


_NUMBER = (float, int)


class _FastAdam:
    """``Adam.step()`` / ``AdamW.step()`` for their usual case, the bucketed update
    (``Adam._bucketed_step``: every parameter of a group has a dense, C-contiguous float
    gradient of its dtype, two or more of them, one step count; float ``lr`` and ``betas``;
    any ``weight_decay``, coupled or decoupled, ``maximize``; no ``amsgrad``,
    ``differentiable``, ``capturable``, step hooks) as the same NumPy and BLAS calls on the
    same buckets, in the same order, with the same Python scalars: each group's buckets,
    scratch arrays, addresses and kernels worked out once instead of per call. Numbers equal
    eager's bit for bit. Any other case (and any change to the state, the buckets or the
    parameters' arrays) runs ``opt.step()`` itself, which the next call plans from again."""

    def __init__(self, opt):
        from . import _blas
        from ._sparse_tensor import SparseTensor
        from .optim import optimizer

        self.opt = opt
        self.own_step = type(opt).step
        self.blas = _blas
        self.hooks = (optimizer._global_pre_hooks, optimizer._global_post_hooks)
        self.sparse = SparseTensor
        self.plans: dict = {}  # id(group) -> _AdamPlan

    def step(self, opt):
        if not self.ready(opt):
            self.plans.clear()  # the eager step may rebuild buckets or state: plan again
            return opt.step()
        return None

    def ready(self, opt) -> bool:
        """Run the step (and say True) when it is the usual case; False with nothing done."""
        if opt._step_depth or self.hooks[0] or self.hooks[1] or \
                opt._optimizer_step_pre_hooks or opt._optimizer_step_post_hooks or \
                not _unwrapped(opt, self.own_step):
            return False
        work = []
        for group in opt.param_groups:
            lr, betas, eps, decay = group["lr"], group["betas"], group["eps"], \
                group["weight_decay"]
            if type(lr) not in _NUMBER or type(eps) not in _NUMBER or \
                    type(decay) not in _NUMBER or len(betas) != 2 or \
                    type(betas[0]) not in _NUMBER or type(betas[1]) not in _NUMBER or \
                    group["amsgrad"] or group["differentiable"] or group.get("capturable"):
                return False
            plan = self.plans.get(id(group))
            if plan is None or plan.group is not group:
                plan = _AdamPlan.make(opt, group, self.blas)
                if plan is None:
                    return False
                self.plans[id(group)] = plan
            if not plan.current(opt, self.sparse):
                return False
            work.append((plan, lr, betas, eps, decay, group["maximize"],
                         group["decoupled_weight_decay"]))
        threads = self.blas.get_num_threads
        block = 32 * max(threads() if threads else 1, 1)
        for plan, lr, (beta1, beta2), eps, decay, maximize, decoupled in work:
            plan.run(lr, beta1, beta2, eps, decay, maximize, decoupled, block)
        return True


class _AdamPlan:
    """One param group's bucketed Adam update, its arrays and kernels found once."""

    def __init__(self, group, buckets, params, pairs, steps, states, blas):
        self.group, self.buckets, self.params = group, buckets, params
        self.pairs = pairs    # per parameter: (its array, the state dict, m view, v view)
        self.steps = steps    # the 0-d arrays of the parameters' step counts
        self.states = states
        self.blas = blas
        # per bucket: ((param, its array, its update's view, their addresses, size) per
        # parameter, m, v, scratch, gradient buffer, their addresses, kernels, size, float32)
        self.work = []

    @classmethod
    def make(cls, opt, group, blas):
        from .optim._multi_tensor import flat_params

        store = opt.__dict__.get("_buckets") or {}
        buckets = store.get(id(group))
        params = flat_params(group, opt.state)
        if buckets is None or params is None or len(params) != len(group["params"]) or \
                not buckets.current(params, opt.state):
            return None  # the eager step makes (or remakes) the buckets first
        state = opt.state
        pairs, steps, states = [], [], []
        for bucket_params, _, _, views in buckets.buckets:
            for p, (mv, vv) in zip(bucket_params, views):
                st = state[p]
                pairs.append((p._data, st, mv, vv))
                steps.append(st["step"]._data)
                states.append(st)
        plan = cls(group, buckets, list(group["params"]), pairs, steps, states, blas)
        fits, address = blas._fits, blas._address
        for bucket_params, m, v, _ in buckets.buckets:
            tmp = opt._buffer(m, 3)
            gbuf = opt._buffer(m, 4)
            kernels = fits(m, m)
            if kernels is None or not m.size:
                return None
            updates, at = [], 0
            for p in bucket_params:
                n = p._data.size
                update = tmp[at:at + n].reshape(p._data.shape)
                at += n
                if fits(update, p._data) is None or not n:
                    return None
                updates.append((p, p._data, update, address(p._data), address(update), n))
            plan.work.append((updates, m, v, tmp, gbuf,
                              (address(m), address(v), address(tmp), address(gbuf)),
                              kernels, m.size, m.dtype == np.float32))
        return plan

    def current(self, opt, sparse) -> bool:
        """Whether the planned arrays are still the parameters' and the state's, and every
        gradient is one the bucketed update takes (``flat_params``'s conditions)."""
        store = opt.__dict__.get("_buckets")
        if store is None or store.get(id(self.group)) is not self.buckets:
            return False
        params = self.group["params"]
        if len(params) != len(self.params):
            return False
        state = opt.state
        for p, q, (pd, st, mv, vv) in zip(params, self.params, self.pairs):
            grad = p._grad
            if p is not q or grad is None or p._data is not pd or isinstance(grad, sparse):
                return False
            gd = grad._data
            if type(gd) is not np.ndarray or gd.dtype != pd.dtype or gd.shape != pd.shape or \
                    not gd.flags.c_contiguous or state.get(p) is not st or \
                    st["exp_avg"]._data is not mv or st["exp_avg_sq"]._data is not vv:
                return False
        first = self.steps[0]
        for st, sa in zip(self.states, self.steps):
            if st["step"]._data is not sa or sa != first:
                return False
        return True

    def run(self, lr, beta1, beta2, eps, weight_decay, maximize, decoupled, block):
        """``Adam._bucketed_step``'s arithmetic, call for call (see there)."""
        step = 0.0
        for sa in self.steps:  # Optimizer._advance_step
            np.add(sa, 1, out=sa)
            step = float(sa)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        coupled = weight_decay if not decoupled else 0
        shrink = 1 - lr * weight_decay if decoupled else 1
        weight1 = 1 - beta1              # _lerp_'s weight, and its 1 - weight
        keep1 = 1 - weight1
        weight2 = 1 - beta2              # _ema_sq_'s
        add_eps = eps * bias_correction2_sqrt
        scale = -lr * bias_correction2_sqrt / bias_correction1
        address, axpy = self.blas._address, self.blas.axpy
        sqrt, add, divide, multiply = np.sqrt, np.add, np.divide, np.multiply
        for updates, m, v, tmp, g, (am, av, at_, ag), (fby, fy), n, f32 in self.work:
            if len(updates) == 1 and not coupled and not maximize:
                g = updates[0][0]._grad._data.reshape(-1)  # the gradient itself
                ag = address(g)
            elif not coupled and not maximize:
                np.concatenate([u[0]._grad._data.reshape(-1) for u in updates], out=g)
            else:
                at = 0
                for p, pd, *_ in updates:
                    k = pd.size
                    out = g[at:at + k].reshape(pd.shape)
                    at += k
                    gd = p._grad._data
                    if coupled:  # as _grad_of: p * wd, then the gradient added (or taken away)
                        multiply(pd, coupled, out=out)
                        (np.subtract if maximize else add)(out, gd, out=out)
                    else:
                        np.negative(gd, out=out)
            fby(n, weight1, ag, 1, keep1, am, 1)          # _lerp_'s axpby
            multiply(g, g, out=tmp)                       # _ema_sq_
            fby(n, weight2, at_, 1, beta2, av, 1)
            sqrt(v, out=tmp)
            add(tmp, add_eps, out=tmp)
            divide(m, tmp, out=tmp)
            for _, pd, update, ap, au, k in updates:
                if shrink != 1:
                    fby(k, scale, au, 1, shrink, ap, 1)   # Optimizer._scale_add's axpby
                elif f32 and k % block:
                    axpy(scale, update, pd)               # the f32 tail as _blas.axpy does
                else:
                    fy(k, scale, au, 1, ap, 1)            # Optimizer._add_scaled's axpy
        for p in self.params:
            p._vbox[0] += 1
