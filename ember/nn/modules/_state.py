"""``state_dict`` / ``load_state_dict`` for Module, with PyTorch's keys, order, ``_metadata``
and error format, plus a hint when keys differ only by a ``module.`` prefix."""

from __future__ import annotations

import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from ..._errors import with_hint
from ..._tensor import Tensor
from ...autograd import grad_mode
from ...autograd.graph import _RemovableHandle

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"

_IncompatibleKeysBase = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _IncompatibleKeys(_IncompatibleKeysBase):
    """What ``load_state_dict`` returns: ``(missing_keys, unexpected_keys)``."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
                f"unexpected_keys={self.unexpected_keys!r})")

    __str__ = __repr__


def _size_str(shape) -> str:
    return f"torch.Size([{', '.join(str(s) for s in shape)}])"


def _prefix_hint(missing: list, unexpected: list) -> str:
    """Say so when the checkpoint's keys are the model's with (or without) ``module.``."""
    if not missing or not unexpected:
        return ""
    miss, unex = set(missing), set(unexpected)
    if {k[len("module."):] for k in unex if k.startswith("module.")} >= miss:
        return ("Hint: the checkpoint's keys start with 'module.' (saved from a DataParallel/"
                "DistributedDataParallel wrapper). Strip it: model.load_state_dict({k.removeprefix"
                "('module.'): v for k, v in state_dict.items()})")
    if {"module." + k for k in unex} >= miss:
        return ("Hint: the model's keys start with 'module.' but the checkpoint's do not. Load "
                "into the wrapped model (model.module.load_state_dict(...)) or add the prefix.")
    return ""


class StateDictMixin:
    """The state-dict half of ``Module``."""

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        # Only this module's own tensors: children are visited by ``state_dict``. ``None``
        # slots and non-persistent buffers are not part of the checkpoint.
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        skip = self._non_persistent_buffers_set
        for name, buf in self._buffers.items():
            if buf is not None and name not in skip:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        if type(self).get_extra_state is not StateDictMixin.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def get_extra_state(self):
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be "
                           "called.")

    def set_extra_state(self, state) -> None:
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be "
                           "called.")

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Return an ``OrderedDict`` of every parameter and persistent buffer, keyed by its
        dotted path (``"0.weight"``), children after their parent's own entries.

        Tensors are detached unless ``keep_vars``. The dict carries ``_metadata``: per module
        path, the module class's ``_version`` (read back by ``_load_from_state_dict``).

        Example:
            >>> list(ember.nn.Linear(2, 1).state_dict())
            ['weight', 'bias']
        """
        if args:
            # PyTorch still accepts (destination, prefix, keep_vars) positionally, with a warning
            warnings.warn("Positional args are being deprecated, use kwargs instead. Refer to "
                          "https://pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.state_dict for details.", FutureWarning, stacklevel=2)
            destination, prefix, keep_vars = (
                *args, *(destination, prefix, keep_vars)[len(args):])[:3]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        own_metadata = {"version": self._version}
        metadata = getattr(destination, "_metadata", None)
        if metadata is not None:
            metadata[prefix[:-1]] = own_metadata
        for pre_hook in self._state_dict_pre_hooks.values():
            pre_hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for child_name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=destination, prefix=f"{prefix}{child_name}.",
                                 keep_vars=keep_vars)
        for post_hook in self._state_dict_hooks.values():
            replaced = post_hook(self, destination, prefix, own_metadata)
            if replaced is None:
                continue
            if getattr(post_hook, "_from_public_api", False):  # changes in place only
                raise RuntimeError("state_dict post-hook must return None")
            destination = replaced  # the legacy ``_register_state_dict_hook`` contract
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)
        local_state = {k: v for k, v in self._parameters.items() if v is not None}
        local_state.update({k: v for k, v in self._buffers.items()
                            if v is not None and k not in self._non_persistent_buffers_set})
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected torch.Tensor or '
                    f"Tensor-like object from checkpoint but received {type(value)}")
                continue
            if param.ndim == 0 and value.ndim == 1 and value.shape[0] == 1:
                value = value.reshape(())
            if tuple(value.shape) != tuple(param.shape):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {_size_str(value.shape)}"
                    f" from checkpoint, the shape in current model is {_size_str(param.shape)}.")
                continue
            if param.is_meta and not value.is_meta and not assign:
                # a model built under ``torch.device("meta")`` has no memory to copy into:
                # PyTorch warns and leaves it on meta (``assign=True`` is the way to load it)
                warnings.warn(
                    f"for {key}: copying from a non-meta parameter in the checkpoint to a meta "
                    "parameter in the current model, which is a no-op. (Did you mean to "
                    "pass `assign=True` to assign items in the state dictionary to their "
                    "corresponding key in the module instead of copying them in place?)",
                    stacklevel=2)
                continue
            try:
                if assign:
                    self._assign_loaded(name, param, value)
                else:
                    _copy_into(param, value)
            except Exception as ex:  # report every failure at once, as PyTorch does
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the model '
                    f"are {_size_str(param.shape)} and whose dimensions in the checkpoint are "
                    f"{_size_str(value.shape)}, an exception occurred : {ex.args}.")
        extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        if type(self).set_extra_state is not StateDictMixin.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        if strict:
            for key in state_dict.keys():
                if key.startswith(prefix) and key != extra_key:
                    head = key[len(prefix):].split(".", 1)
                    if len(head) > 1:
                        if head[0] not in self._modules:
                            unexpected_keys.append(key)
                    elif head[0] not in local_state:
                        unexpected_keys.append(key)

    def _assign_loaded(self, name, param, value) -> None:
        from ..parameter import Parameter

        if name in self._parameters:
            if not isinstance(value, Parameter):
                value = Parameter(value, requires_grad=param.requires_grad)
            else:
                value.requires_grad_(param.requires_grad)
            self._parameters[name] = value
        else:
            self._buffers[name] = value

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict`` into this module and its children.

        With ``strict`` every missing key, unexpected key and size mismatch is reported in one
        ``RuntimeError``. Returns ``(missing_keys, unexpected_keys)``.

        Example:
            >>> model.load_state_dict(ember.load("model.pt"))
            <All keys matched successfully>
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys: list = []
        unexpected_keys: list = []
        error_msgs: list = []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)

        def load(module, local_state, prefix=""):
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(local_state, prefix, local_metadata, True, missing_keys,
                                         unexpected_keys, error_msgs)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    child_state = {k: v for k, v in local_state.items()
                                   if k.startswith(child_prefix)}
                    load(child, child_state, child_prefix)
            incompatible = _IncompatibleKeys(missing_keys, unexpected_keys)
            for hook in module._load_state_dict_post_hooks.values():
                out = hook(module, incompatible)
                if out is not None:
                    raise RuntimeError("Hooks registered with ``register_load_state_dict_post_"
                                       "hook`` are not expected to return new values.")

        with grad_mode.no_grad():
            load(self, state_dict)
        if strict:
            if unexpected_keys:
                error_msgs.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected_keys)))
            if missing_keys:
                error_msgs.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing_keys)))
        if error_msgs:
            error = RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(error_msgs)))
            hint = _prefix_hint(missing_keys, unexpected_keys) if strict else ""
            raise with_hint(error, hint) if hint else error
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    # -- state-dict hooks ---------------------------------------------------------------------
    def _register(self, store, hook):
        handle = _DictHandle(store)
        store[handle.id] = hook
        return handle

    def register_state_dict_pre_hook(self, hook):
        return self._register(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata)`` after ``state_dict``; it
        may change ``state_dict`` in place and must return None (as in PyTorch, the hook is
        marked ``_from_public_api``; ``_register_state_dict_hook`` keeps the legacy contract
        where a returned dict replaces the state dict).

        Example:
            >>> m = ember.nn.Linear(2, 1)
            >>> _ = m.register_state_dict_post_hook(lambda mod, sd, p, md: sd.pop("bias"))
            >>> m.state_dict()  # doctest: +SKIP
            RuntimeError: state_dict post-hook must return None
        """
        hook._from_public_api = True
        return self._register(self._state_dict_hooks, hook)

    def _register_state_dict_hook(self, hook):
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError(
                "Cannot register the same function as the state dict post hook that was "
                "previously registered via register_state_dict_post_hook")
        return self._register(self._state_dict_hooks, hook)

    def register_load_state_dict_pre_hook(self, hook):
        return self._register(
            self._load_state_dict_pre_hooks,
            lambda sd, prefix, md, strict, mk, uk, em, _h=hook: _h(self, sd, prefix, md, strict,
                                                                    mk, uk, em))

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        if with_module:
            return self.register_load_state_dict_pre_hook(hook)
        return self._register(self._load_state_dict_pre_hooks, hook)

    def register_load_state_dict_post_hook(self, hook):
        return self._register(self._load_state_dict_post_hooks, hook)


def _copy_into(dst: Tensor, src: Tensor) -> None:
    """``dst.copy_(src)`` without autograd: cast, move to ``dst``'s device, bump the version."""
    arr = src._data
    if type(arr) is not type(dst._data):
        from ..._backend import to_device_array

        arr = to_device_array(arr, dst.device)
    dst._data[...] = arr.astype(dst._data.dtype, copy=False)
    dst._vbox[0] += 1


class _DictHandle(_RemovableHandle):
    """A removable handle for hooks stored in a dict by id (PyTorch's ``RemovableHandle``)."""

    _next_id = 0

    def __init__(self, store):
        self.store = store
        self.id = _DictHandle._next_id
        _DictHandle._next_id += 1

    def remove(self):
        self.store.pop(self.id, None)
