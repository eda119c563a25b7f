"""einops on ember tensors: ``rearrange``, ``reduce``, ``repeat``, ``einsum``, ``pack`` ...

einops finds a tensor's framework among the subclasses of its ``AbstractBackend`` whose
``framework_name`` is an imported module. Its PyTorch backend answers to ``torch`` only, so a
program that says ``import ember as torch`` got "Tensor type unknown to einops". ember adds a
backend of its own, without importing einops: when einops is already imported, at once; else
the first time it is imported (a one-shot import hook that then removes itself).

Example::

    >>> import ember as torch
    >>> from einops import rearrange
    >>> rearrange(torch.zeros(2, 3, 4), "b c d -> b (c d)").shape
    ember.Size([2, 12])

einops' layers (``einops.layers.torch``) import PyTorch itself; they are not covered.
"""

from __future__ import annotations

import importlib.abc
import sys

_registered = False


def _define_backend(einops_backends) -> None:
    """Define (and thereby register) ember's einops backend class."""
    import ember

    floats = (ember.float16, ember.bfloat16, ember.float32, ember.float64)

    class EmberBackend(einops_backends.AbstractBackend):
        """einops' operations as ember ops (so they are differentiable)."""

        framework_name = "ember"

        def is_appropriate_type(self, tensor):
            return isinstance(tensor, ember.Tensor)

        def from_numpy(self, x):
            tensor = ember.from_numpy(x)
            if tensor.dtype in floats:  # as einops' PyTorch backend: floats take gradients
                tensor.requires_grad_(True)
            return tensor

        def to_numpy(self, x):
            return x.detach().cpu().numpy(force=True)  # (bfloat16 too)

        def arange(self, start, stop):
            return ember.arange(start, stop, dtype=ember.int64)

        def reduce(self, x, operation, axes):
            if operation in ("min", "max"):
                return getattr(x, "a" + operation)(dim=axes)
            if operation in ("sum", "mean"):
                return getattr(x, operation)(dim=axes)
            if operation in ("any", "all", "prod"):  # one axis at a time, the last first
                for axis in sorted(axes, reverse=True):
                    x = getattr(x, operation)(dim=axis)
                return x
            raise NotImplementedError(f"Unknown reduction {operation!r}")

        def transpose(self, x, axes):
            return x.permute(axes)

        def stack_on_zeroth_dimension(self, tensors):
            return ember.stack(tensors)

        def add_axis(self, x, new_position):
            return ember.unsqueeze(x, new_position)

        def add_axes(self, x, n_axes, pos2len):
            sizes = [-1] * n_axes
            for position, length in pos2len.items():
                x = self.add_axis(x, position)
                sizes[position] = length
            return x.expand(sizes)  # a view, as einops' PyTorch backend makes

        def tile(self, x, repeats):
            return x.repeat(repeats)

        def concat(self, tensors, axis):
            return ember.cat(tensors, dim=axis)

        def is_float_type(self, x):
            return x.dtype in floats

        def einsum(self, pattern, *x):
            return ember.einsum(pattern, *x)

        def layers(self):
            raise NotImplementedError(
                "einops.layers.torch imports PyTorch itself; on ember, call einops.rearrange / "
                "einops.reduce inside your module's forward instead of the layer classes.")

    einops_backends.EmberBackend = EmberBackend  # reachable (and kept alive) by name


def register() -> None:
    """Give einops a backend for ember tensors (once; einops must be imported)."""
    global _registered
    if not _registered:
        _registered = True
        from einops import _backends

        _define_backend(_backends)


class _WhenEinopsLoads(importlib.abc.MetaPathFinder):
    """Finds nothing itself: on the first ``import einops`` it wraps the real loader so that
    :func:`register` runs right after einops' own code, then leaves ``sys.meta_path``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "einops":
            return None
        _remove_hook()
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run_module = loader.exec_module

        def exec_module(module):
            run_module(module)
            try:
                register()
            except Exception as err:  # noqa: BLE001  (never break einops' own import)
                import warnings

                warnings.warn(f"ember could not give einops a backend for ember tensors "
                              f"({type(err).__name__}: {err}); einops itself works as before",
                              RuntimeWarning, stacklevel=2)

        loader.exec_module = exec_module  # (this loader is the one made for this spec)
        return spec


_hook = _WhenEinopsLoads()


def _remove_hook() -> None:
    if _hook in sys.meta_path:
        sys.meta_path.remove(_hook)


def install() -> None:
    """Register now when einops is imported, else when it first is."""
    if "einops" in sys.modules:
        register()
    elif _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)  # before the finders that would load einops
