"""The older, hook-based ``torch.nn.utils.spectral_norm``.

The weight is kept as ``<name>_orig``; two buffers, ``<name>_u`` and ``<name>_v``, hold the
left and right singular-vector estimates, and a forward pre-hook sets ``module.<name>`` to
``<name>_orig / sigma`` before every call, where ``sigma = u . (W v)`` estimates the largest
singular value of ``W`` (the weight as a matrix) and, in training mode, a few power-iteration
steps refine ``u`` and ``v`` first. The keys, metadata and hooks follow PyTorch, so checkpoints
move either way (older ones holding ``<name>`` and no ``<name>_v`` are converted on load).
PyTorch recommends :func:`ember.nn.utils.parametrizations.spectral_norm` for new code.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..._tensor import Tensor
from ...autograd import grad_mode
from ..functional import normalize
from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook",
           "spectral_norm", "remove_spectral_norm"]

T_module = TypeVar("T_module", bound=Module)


def _default_dim(module: Module) -> int:
    # a transposed convolution stores (in, out, ...): its output channels are dimension 1
    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0


class SpectralNorm:
    """The forward pre-hook made by :func:`spectral_norm`: before each call it sets
    ``module.<name>`` to ``<name>_orig`` divided by its estimated spectral norm.

    Args:
        name: the parameter to normalize.
        n_power_iterations: power-iteration steps per training-mode call (at least 1).
        dim: the dimension of the weight that becomes the rows of the matrix.
        eps: the smallest norm used when normalizing ``u`` and ``v``.

    Example:
        >>> m = ember.nn.utils.spectral_norm(ember.nn.Linear(4, 3))
        >>> hook = next(iter(m._forward_pre_hooks.values()))
        >>> type(hook).__name__, hook.name, hook.n_power_iterations
        ('SpectralNorm', 'weight', 1)
    """

    # state_dict metadata version: 1 stores ``<name>_v`` (version 0 stored ``<name>`` instead)
    _version: int = 1

    name: str
    dim: int
    n_power_iterations: int
    eps: float

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """``weight`` as a matrix: dimension ``dim`` first, the others flattened into columns.

        Example:
            >>> from ember.nn.utils.spectral_norm import SpectralNorm
            >>> SpectralNorm(dim=1).reshape_weight_to_matrix(ember.ones(2, 3, 4)).shape
            torch.Size([3, 8])
        """
        if self.dim != 0:
            rest = [d for d in range(weight.dim()) if d != self.dim]
            weight = weight.permute(self.dim, *rest)
        return weight.reshape(weight.size(0), -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        """``<name>_orig / sigma``; with ``do_power_iteration`` the buffers ``<name>_u`` and
        ``<name>_v`` are first refined in place (``n_power_iterations`` steps).

        Example:
            >>> m = ember.nn.utils.spectral_norm(ember.nn.Linear(4, 3))
            >>> hook = next(iter(m._forward_pre_hooks.values()))
            >>> hook.compute_weight(m, do_power_iteration=False).shape
            torch.Size([3, 4])
        """
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        matrix = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with grad_mode.no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(normalize(matrix.t().mv(u), dim=0, eps=self.eps))
                    u.copy_(normalize(matrix.mv(v), dim=0, eps=self.eps))
            # the next call updates the buffers in place; the graph must keep these values
            u, v = u.clone(), v.clone()
        sigma = u.dot(matrix.mv(v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        """Make ``module.<name>`` a plain parameter again, holding the normalized weight, and
        drop ``<name>_orig``, ``<name>_u`` and ``<name>_v``.

        Example:
            >>> m = ember.nn.utils.spectral_norm(ember.nn.Linear(4, 3))
            >>> hook = next(iter(m._forward_pre_hooks.values()))
            >>> hook.remove(m)
            >>> sorted(n for n, _ in m.named_parameters())
            ['bias', 'weight']
        """
        with grad_mode.no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    def _solve_v_and_rescale(self, weight_mat: Tensor, u: Tensor, target_sigma) -> Tensor:
        # The ``v`` whose image ``W v`` is ``u``'s least-squares preimage, scaled so that
        # ``u . (W v)`` equals ``target_sigma``: recovers ``v`` for a version-0 checkpoint.
        wt = weight_mat.t()
        v = (wt @ weight_mat).pinverse() @ (wt @ u)
        return v * (target_sigma / u.dot(weight_mat.mv(v)))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int,
              eps: float) -> SpectralNorm:
        """Set spectral normalization up on ``module.<name>`` (what :func:`spectral_norm`
        does): move the parameter to ``<name>_orig``, add random unit ``u`` and ``v`` and the
        hooks. Returns the forward pre-hook.

        Example:
            >>> from ember.nn.utils.spectral_norm import SpectralNorm
            >>> m = ember.nn.Linear(4, 3)
            >>> SpectralNorm.apply(m, "weight", 1, 0, 1e-12).name
            'weight'
        """
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError("Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        with grad_mode.no_grad():
            rows, cols = fn.reshape_weight_to_matrix(weight).shape
            u = normalize(weight.new_empty(rows).normal_(0, 1), dim=0, eps=fn.eps)
            v = normalize(weight.new_empty(cols).normal_(0, 1), dim=0, eps=fn.eps)

        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        # a plain attribute (not in the state_dict) until the first call recomputes it
        setattr(module, name, weight.data)
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        module._register_state_dict_hook(SpectralNormStateDictHook(fn))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormLoadStateDictPreHook:
    """Before ``load_state_dict``, converts a version-0 checkpoint (which holds ``<name>`` and
    ``<name>_orig`` but no ``<name>_v``) to the current layout by solving for ``<name>_v``.

    Example:
        >>> m = ember.nn.utils.spectral_norm(ember.nn.Linear(4, 3))
        >>> [type(h).__name__ for h in m._load_state_dict_pre_hooks.values()]
        ['SpectralNormLoadStateDictPreHook']
    """

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs) -> None:
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version")
        if version is not None and version >= 1:
            return
        key = prefix + fn.name
        if version is None and key not in state_dict and all(
                key + suffix in state_dict for suffix in ("_orig", "_u", "_v")):
            return  # the current layout, saved without metadata
        absent = [key + suffix for suffix in ("_orig", "", "_u") if key + suffix not in state_dict]
        if absent:
            if strict:
                missing_keys.extend(absent)
            return
        with grad_mode.no_grad():
            weight_orig = state_dict[key + "_orig"]
            # version 0 saved the normalized weight: their ratio is the sigma it used
            sigma = (weight_orig / state_dict.pop(key)).mean()
            state_dict[key + "_v"] = fn._solve_v_and_rescale(
                fn.reshape_weight_to_matrix(weight_orig), state_dict[key + "_u"], sigma)


class SpectralNormStateDictHook:
    """After ``state_dict``, records ``{"<name>.version": 1}`` under the module's metadata key
    ``"spectral_norm"`` (what the load hook reads to tell the layouts apart).

    Example:
        >>> m = ember.nn.utils.spectral_norm(ember.nn.Linear(4, 3))
        >>> m.state_dict()._metadata[""]["spectral_norm"]
        {'weight.version': 1}
    """

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata) -> None:
        versions = local_metadata.setdefault("spectral_norm", {})
        entry = self.fn.name + ".version"
        if entry in versions:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {entry}")
        versions[entry] = self.fn._version


def spectral_norm(module: T_module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> T_module:
    """Spectral normalization of ``module.<name>`` with a forward pre-hook (the older API):
    each call uses the weight divided by an estimate of its largest singular value, refined
    by ``n_power_iterations`` power-iteration steps per training-mode call.

    Args:
        module: the module holding the weight.
        name: the parameter's name.
        n_power_iterations: power-iteration steps per call.
        eps: the smallest norm used when normalizing the singular-vector estimates.
        dim: the output dimension (None: 1 for transposed convolutions, else 0).

    Returns:
        ``module``, with ``<name>_orig``, ``<name>_u`` and ``<name>_v`` in its state_dict.

    Example:
        >>> m = ember.nn.utils.spectral_norm(ember.nn.Linear(20, 40))
        >>> list(m.state_dict())
        ['bias', 'weight_orig', 'weight_u', 'weight_v']
    """
    SpectralNorm.apply(module, name, n_power_iterations,
                       _default_dim(module) if dim is None else dim, eps)
    return module


def remove_spectral_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo :func:`spectral_norm`: ``module.<name>`` becomes a parameter holding the
    normalized weight, and the hooks and extra tensors go.

    Example:
        >>> m = ember.nn.utils.spectral_norm(ember.nn.Linear(20, 40))
        >>> list(ember.nn.utils.remove_spectral_norm(m).state_dict())
        ['bias', 'weight']
    """
    hooks = module._forward_pre_hooks
    key = next((k for k, h in hooks.items() if isinstance(h, SpectralNorm) and h.name == name),
               None)
    if key is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    hooks.pop(key).remove(module)
    for store, kind in ((module._state_dict_hooks, SpectralNormStateDictHook),
                        (module._load_state_dict_pre_hooks, SpectralNormLoadStateDictPreHook)):
        for k in [k for k, h in store.items() if isinstance(h, kind) and h.fn.name == name]:
            del store[k]
    return module
