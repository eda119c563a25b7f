"""``torchvision.models.feature_extraction``: name the intermediate values of a model and
build a module that returns them.

What is supported:

* Models that ``ember.fx`` can trace (no Python control flow on tensor values, no unpacking
  of a tensor or its shape into several names): every ember model but ``vit_b_16``.
  For these, node names follow torchvision's rules, so the names torchvision's
  ``get_graph_node_names`` prints work here: a leaf module's call is named by its path
  (``layer1.0.conv1``; a second call of the same module gets ``_1``), an operation is named by
  the path of the module whose ``forward`` runs it plus the operation (``layer1.0.add``,
  ``flatten``, ``features.12.cat``). Leaf modules are ember.nn's layers (not ``Sequential``)
  and the modules of ``ember.vision.ops`` (``Conv2dNormActivation``, ``SqueezeExcitation``,
  ``StochasticDepth``...) and their subclasses, plus
  ``tracer_kwargs={"leaf_modules": [...]}``.
* A ``return_nodes`` entry may also name a module that is traced through (``layer1``,
  ``features.3``): it means the last node inside it, which is that module's output.
* Models that cannot be traced fall back to forward hooks: node names are then the module
  paths only (``encoder.layers.encoder_layer_5``), no operation nodes, and the returned
  module is a wrapper whose ``forward`` runs the whole model and collects hooked outputs.

``get_graph_node_names`` of an untraceable model therefore differs from torchvision's; a node
name ember cannot provide raises ``ValueError`` with torchvision's message.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ... import nn
from ...fx import GraphModule, Tracer
from ...fx.graph import op_name
from ...fx.proxy import TraceError

__all__ = ["create_feature_extractor", "get_graph_node_names"]


class NodePathTracer(Tracer):
    """An ``ember.fx`` tracer that also records, for every node, the path of the module whose
    ``forward`` created it, and gives nodes torchvision's qualified names.

    Example:
        >>> tracer = NodePathTracer()
        >>> graph = tracer.trace(ember.vision.models.resnet18())
        >>> list(tracer.node_to_qualname.values())[:3]
        ['x', 'conv1', 'bn1']
    """

    def __init__(self, *args: Any, leaf_modules: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._leaf_types = tuple(m for m in leaf_modules if isinstance(m, type))
        self._scopes = [""]
        self._counts: dict[str, int] = {}
        self.node_to_qualname: OrderedDict = OrderedDict()

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if self._leaf_types and isinstance(m, self._leaf_types):
            return True
        # torchvision.ops' layers (and subclasses of them, like RegNet's stem) are leaves in
        # torchvision's tracer; ember's are in ember.vision.ops
        if any((c.__module__ or "").startswith("ember.vision.ops") for c in type(m).__mro__):
            return True
        return super().is_leaf_module(m, module_qualified_name)

    def call_module(self, m, forward, args, kwargs):
        qualname = self.path_of_module(m)
        if self.is_leaf_module(m, qualname):
            return self.create_proxy("call_module", qualname, args, kwargs)
        self._scopes.append(qualname)
        try:
            return forward(*args, **kwargs)
        finally:
            self._scopes.pop()

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        if kind != "output" and not (kind == "get_attr" and not self._is_parameter(target)):
            # torchvision names a get_attr node only when it reads a parameter (a buffer
            # such as swin's relative_position_index gets no name)
            self.node_to_qualname[node] = self._qualname(kind, target)
        return node

    def _is_parameter(self, target: Any) -> bool:
        # (attribute reads are being traced here, so look the name up in the parameter list)
        names = self.__dict__.get("_param_names")
        if names is None:
            names = self._param_names = {
                n for n, _ in self.root.named_parameters(remove_duplicate=False)}
        return str(target) in names

    def _qualname(self, kind: str, target: Any) -> str:
        scope = self._scopes[-1]
        if kind in ("placeholder", "call_module"):
            base = str(target)
        elif kind == "get_attr":
            # as torchvision names them: the scope, then the attribute path with underscores
            base = str(target).replace(".", "_")
            base = f"{scope}.{base}" if scope else base
        else:
            name = target if isinstance(target, str) else op_name(target)
            base = f"{scope}.{name}" if scope else name
        n = self._counts.get(base, 0)
        self._counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"


def _trace(model: nn.Module, train: bool, tracer_kwargs: dict | None,
           concrete_args: dict | None):
    """(graph, node -> name) of ``model`` in train or eval mode; the mode is restored."""
    was_training = model.training
    model.train(train)
    try:
        tracer = NodePathTracer(**(tracer_kwargs or {}))
        graph = tracer.trace(model, concrete_args)
    finally:
        model.train(was_training)
    return graph, tracer.node_to_qualname


def _hook_names(model: nn.Module) -> list[str]:
    # the fallback's nodes: the input, then every submodule path
    return ["x"] + [name for name, _ in model.named_modules() if name]


def get_graph_node_names(model: nn.Module, tracer_kwargs: dict | None = None,
                         suppress_diff_warning: bool = False,
                         concrete_args: dict | None = None) -> tuple[list[str], list[str]]:
    """The node names of ``model``'s forward, in order: ``(train_nodes, eval_nodes)``.

    See the module docstring for how names are made and what an untraceable model gives.

    Example:
        >>> train_nodes, eval_nodes = get_graph_node_names(ember.vision.models.resnet18())
        >>> train_nodes[:5], train_nodes[-3:]
        (['x', 'conv1', 'bn1', 'relu', 'maxpool'], ['avgpool', 'flatten', 'fc'])
    """
    try:
        _, train_names = _trace(model, True, tracer_kwargs, concrete_args)
        _, eval_names = _trace(model, False, tracer_kwargs, concrete_args)
    except TraceError:
        names = _hook_names(model)
        return names, list(names)
    train_nodes, eval_nodes = list(train_names.values()), list(eval_names.values())
    if train_nodes != eval_nodes and not suppress_diff_warning:
        import warnings

        warnings.warn("NOTE: The nodes obtained by tracing the model in eval mode are a "
                      "subsequence of those obtained in train mode. When choosing nodes for "
                      "feature extraction, you may need to specify output nodes for train "
                      "and eval mode separately.", stacklevel=2)
    return train_nodes, eval_nodes


def _missing(name: str) -> ValueError:
    return ValueError(f"node: '{name}' is not present in model. Hint: use "
                      "`get_graph_node_names` to make sure the `return_nodes` you specified "
                      "are present. It may even be that you need to specify "
                      "`train_return_nodes` and `eval_return_nodes` separately.")


def _as_dict(return_nodes: list[str] | dict[str, str]) -> dict[str, str]:
    if isinstance(return_nodes, dict):
        return {str(k): str(v) for k, v in return_nodes.items()}
    return {str(n): str(n) for n in return_nodes}


def _select(graph, names: OrderedDict, return_nodes: dict[str, str]):
    """Point ``graph``'s output at a dict of the requested nodes (in graph order)."""
    order = {node: i for i, node in enumerate(names)}
    chosen = {}
    for query, out_name in return_nodes.items():
        matches = [node for node, name in names.items()
                   if name == query or name.startswith(query + ".")]
        if not matches:
            raise _missing(query)
        # a module traced through means its last node, which is its output
        chosen[out_name] = matches[-1]
    outputs = dict(sorted(chosen.items(), key=lambda kv: order[kv[1]]))
    for node in list(graph.nodes):
        if node.op == "output":
            graph.erase_node(node)
    graph.output(outputs)
    graph.eliminate_dead_code()
    return graph


class DualGraphModule(GraphModule):
    """The feature extractor: a ``GraphModule`` running ``train_graph`` in training mode and
    ``eval_graph`` in eval mode. It holds the model's submodules under their own paths (only
    those the graphs use), so ``state_dict`` keys are the model's.

    Example:
        >>> fe = create_feature_extractor(ember.vision.models.resnet18(), ["layer1"])
        >>> sorted(fe(ember.randn(1, 3, 32, 32)))
        ['layer1']
    """

    def __init__(self, root: nn.Module, train_graph, eval_graph,
                 class_name: str = "GraphModule") -> None:
        object.__setattr__(self, "eval_graph", eval_graph)
        super().__init__(root, train_graph, class_name)
        for node in eval_graph.nodes:
            if node.op in ("get_attr", "call_module"):
                from ...fx.graph_module import _copy_attr

                _copy_attr(root, self, node.target)
        self.train(root.training)

    @property
    def train_graph(self):
        return self.graph

    def recompile(self):
        code = super().recompile()
        train_forward = type(self).forward
        eval_code = self.eval_graph.python_code("self")
        namespace = dict(eval_code.globals)
        exec(compile(eval_code.src, f"<eval_with_key>.eval.{id(self)}", "exec"), namespace)
        eval_forward = namespace["forward"]

        def forward(self, *args, **kwargs):
            return (train_forward if self.training else eval_forward)(self, *args, **kwargs)

        type(self).forward = forward
        return code


class _HookFeatureExtractor(nn.Module):
    """The fallback for a model ``ember.fx`` cannot trace: runs the whole model and returns
    the outputs of the named submodules (forward hooks), keyed by the requested names."""

    def __init__(self, model: nn.Module, train_nodes: dict[str, str],
                 eval_nodes: dict[str, str]) -> None:
        super().__init__()
        # the model's own tensors and children, shared, so state_dict keys are the model's
        for name, param in model._parameters.items():
            self.register_parameter(name, param)
        for name, buf in model._buffers.items():
            self.register_buffer(name, buf,
                                 persistent=name not in model._non_persistent_buffers_set)
        for name, child in model.named_children():
            self.add_module(name, child)
        object.__setattr__(self, "_model", model)
        known = dict(model.named_modules())
        for query in [*train_nodes, *eval_nodes]:
            if query != "x" and (query not in known or query == ""):
                raise _missing(query)
        order = {name: i for i, name in enumerate(_hook_names(model))}
        self._train_nodes = dict(sorted(train_nodes.items(), key=lambda kv: order[kv[0]]))
        self._eval_nodes = dict(sorted(eval_nodes.items(), key=lambda kv: order[kv[0]]))
        self.train(model.training)

    def forward(self, x):
        wanted = self._train_nodes if self.training else self._eval_nodes
        got: dict[str, Any] = {}
        handles = []
        modules = dict(self._model.named_modules())
        for query in wanted:
            if query == "x":
                got[query] = x
                continue

            def hook(module, args, output, query=query):
                got[query] = output
            handles.append(modules[query].register_forward_hook(hook))
        try:
            self._model.train(self.training)
            self._model(x)
        finally:
            for h in handles:
                h.remove()
        return {out: got[query] for query, out in wanted.items()}


def create_feature_extractor(model: nn.Module,
                             return_nodes: list[str] | dict[str, str] | None = None,
                             train_return_nodes: list[str] | dict[str, str] | None = None,
                             eval_return_nodes: list[str] | dict[str, str] | None = None,
                             tracer_kwargs: dict[str, Any] | None = None,
                             suppress_diff_warning: bool = False,
                             concrete_args: dict[str, Any] | None = None) -> nn.Module:
    """A module whose ``forward`` returns a dict of ``model``'s intermediate values.

    ``return_nodes`` is a list of node names (the names are also the output keys) or a dict
    ``{node name: output key}``; ``train_return_nodes`` and ``eval_return_nodes`` give
    different nodes per mode. Node names are those of :func:`get_graph_node_names`, or the
    path of a module traced through (its output). The outputs come in graph order.

    Example:
        >>> model = ember.vision.models.resnet18()
        >>> fe = create_feature_extractor(model, {"layer1": "feat1", "layer4": "feat4"})
        >>> {k: tuple(v.shape) for k, v in fe(ember.randn(1, 3, 64, 64)).items()}
        {'feat1': (1, 64, 16, 16), 'feat4': (1, 512, 2, 2)}
    """
    if train_return_nodes is not None or eval_return_nodes is not None:
        if train_return_nodes is None or eval_return_nodes is None:
            raise ValueError("If any of `train_return_nodes` and `eval_return_nodes` are "
                             "specified, then both should be specified")
    if return_nodes is None and (train_return_nodes is None or eval_return_nodes is None):
        raise ValueError("Either `return_nodes` or `train_return_nodes` and "
                         "`eval_return_nodes` together, should be specified")
    if return_nodes is not None and train_return_nodes is not None:
        raise ValueError("If `train_return_nodes` and `eval_return_nodes` are specified, "
                         "then both should be specified")
    if return_nodes is not None:
        train_nodes = eval_nodes = _as_dict(return_nodes)
    else:
        train_nodes, eval_nodes = _as_dict(train_return_nodes), _as_dict(eval_return_nodes)
    try:
        train_graph, train_names = _trace(model, True, tracer_kwargs, concrete_args)
        eval_graph, eval_names = _trace(model, False, tracer_kwargs, concrete_args)
    except TraceError:
        return _HookFeatureExtractor(model, train_nodes, eval_nodes)
    train_graph = _select(train_graph, train_names, train_nodes)
    eval_graph = _select(eval_graph, eval_names, eval_nodes)
    return DualGraphModule(model, train_graph, eval_graph, class_name=type(model).__name__)
