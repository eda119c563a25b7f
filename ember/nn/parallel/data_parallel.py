"""``DataParallel``, PyTorch's single-process wrapper.

Without a GPU (no CuPy, or none visible) PyTorch's DataParallel keeps the module as
``.module``, sets ``device_ids = []`` and calls the module directly; ember does the same, so
state dicts carry PyTorch's ``module.`` prefix and checkpoints move between the two. With
GPUs it moves the module to ``device_ids[0]`` and runs there; where PyTorch would split the
batch over several GPUs, ember runs the whole batch on the first (the same numbers, except
that BatchNorm sees the whole batch rather than each GPU's share) and puts the output on
``output_device``.
"""

from __future__ import annotations

from itertools import chain

from ..._backend import Device, cuda_available, cuda_device_count
from ..modules.module import Module


def _device_index(device) -> int:
    if isinstance(device, int):
        return device
    dev = Device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return dev.index or 0


def _to_device(obj, device: Device):
    """Move the tensors inside ``obj`` (nested tuples, lists and dicts) to ``device``."""
    from ..._tensor import Tensor

    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple
        return type(obj)(*(_to_device(x, device) for x in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_device(x, device) for x in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _to_device(v, device)) for k, v in obj.items())
    return obj


def _check_on(module: Module, device: Device) -> None:
    for t in chain(module.parameters(), module.buffers()):
        if t.device != device:
            raise RuntimeError(
                "module must have its parameters and buffers on device "
                f"{device} (device_ids[0]) but found one of them on device: {t.device}")


class DataParallel(Module):
    """Run ``module`` over a batch, PyTorch's ``nn.DataParallel``: on the CPU it calls the
    module as is (``device_ids == []``); the wrapped module is ``.module``.

    Args:
        module: the module to run.
        device_ids: GPU indices (default: all GPUs); ignored without a GPU.
        output_device: where the output goes (default: ``device_ids[0]``).
        dim: the batch dimension (kept for PyTorch's signature).

    Example:
        >>> net = ember.nn.DataParallel(ember.nn.Linear(2, 3))
        >>> net(ember.ones(4, 2)).shape
        torch.Size([4, 3])
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        if not cuda_available():
            self.module = module
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(cuda_device_count()))
        if not device_ids:
            raise RuntimeError("no available devices were found")
        if output_device is None:
            output_device = device_ids[0]
        self.dim = dim
        self.module = module
        self.device_ids = [_device_index(x) for x in device_ids]
        self.output_device = _device_index(output_device)
        self.src_device_obj = Device("cuda", self.device_ids[0])
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        _check_on(self.module, self.src_device_obj)
        inputs = _to_device(inputs, self.src_device_obj)
        kwargs = _to_device(kwargs, self.src_device_obj)
        out = self.module(*inputs, **kwargs)
        if len(self.device_ids) == 1:
            return out
        return _to_device(out, Device("cuda", self.output_device))


def data_parallel(module: Module, inputs, device_ids=None, output_device=None, dim: int = 0,
                  module_kwargs=None):
    """Functional ``DataParallel``: ``module(*inputs)`` on the GPUs in ``device_ids``. Like
    PyTorch's, it needs a GPU (RuntimeError on the CPU; call the module directly there).

    Example:
        >>> ember.nn.parallel.data_parallel(net, x)  # on a GPU machine
    """
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    if not cuda_available():
        raise RuntimeError("device type could not be determined")
    if device_ids is None:
        device_ids = list(range(cuda_device_count()))
    if not device_ids:
        raise RuntimeError("no available devices were found")
    if output_device is None:
        output_device = device_ids[0]
    device_ids = [_device_index(x) for x in device_ids]
    src = Device("cuda", device_ids[0])
    _check_on(module, src)
    out = module(*_to_device(inputs, src), **_to_device(module_kwargs or {}, src))
    if len(device_ids) == 1:
        return out
    return _to_device(out, Device("cuda", _device_index(output_device)))
