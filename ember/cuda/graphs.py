"""``torch.cuda.graphs``: CUDA graph capture and replay.

ember does not capture CUDA graphs: its ops run from Python through CuPy, one launch at a time,
and some move small values to the host, which a capture forbids. So ``CUDAGraph`` and
``graph_pool_handle`` raise NotImplementedError on a GPU (PyTorch's RuntimeError without CUDA),
no stream is ever capturing, and ``make_graphed_callables`` returns the callables unchanged
(same results, run eagerly).

Example:
    >>> ember.cuda.is_current_stream_capturing()  # on a GPU machine
    False
"""

from __future__ import annotations

from . import _runtime

__all__ = ["is_current_stream_capturing", "graph_pool_handle", "CUDAGraph", "graph",
           "make_graphed_callables"]

_NO_GRAPHS = ("ember does not capture CUDA graphs (its GPU ops run one CuPy launch at a time); "
              "run the work eagerly instead")


def is_current_stream_capturing() -> bool:
    """Whether a CUDA graph capture is running on the current stream: never, in ember (raises
    without CUDA, as PyTorch's CPU build does).

    Example:
        >>> ember.cuda.is_current_stream_capturing()  # on a GPU machine
        False
    """
    _runtime.cupy("ember.cuda.is_current_stream_capturing() needs a GPU")
    return False


def graph_pool_handle():
    """A memory pool handle to share between graph captures (not supported: see the module).

    Example:
        >>> ember.cuda.graph_pool_handle()  # doctest: +SKIP  (NotImplementedError)
    """
    _runtime.cupy("ember.cuda.graph_pool_handle() needs a GPU")
    raise NotImplementedError(_NO_GRAPHS)


class CUDAGraph:
    """A captured CUDA graph (not supported: see the module).

    Example:
        >>> ember.cuda.CUDAGraph()  # doctest: +SKIP  (NotImplementedError on a GPU)
    """

    def __init__(self, keep_graph: bool = False):
        _runtime.cupy("ember.cuda.CUDAGraph needs a GPU")
        raise NotImplementedError(_NO_GRAPHS)


class graph:
    """``with ember.cuda.graph(g):`` captures the block into ``g`` (not supported: see the
    module; ``g`` cannot be made).

    Example:
        >>> with ember.cuda.graph(g):  # doctest: +SKIP
        ...     y = model(x)
    """

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode: str = "global",
                 **kwargs):
        _runtime.cupy("ember.cuda.graph needs a GPU")
        if not isinstance(cuda_graph, CUDAGraph):
            raise TypeError(f"graph(): expected a torch.cuda.CUDAGraph, got "
                            f"{type(cuda_graph).__name__}")
        raise NotImplementedError(_NO_GRAPHS)


def make_graphed_callables(callables, sample_args, num_warmup_iters: int = 3,
                           allow_unused_input: bool = False, pool=None):
    """Graph-captured versions of ``callables``. ember captures no graphs, so on a GPU the
    callables come back unchanged: the same results, run eagerly (raises without CUDA, as in
    PyTorch).

    Example:
        >>> fast = ember.cuda.make_graphed_callables(model, (x,))  # on a GPU machine
        >>> fast is model
        True
    """
    _runtime.cupy("ember.cuda.make_graphed_callables needs a GPU")
    return callables
