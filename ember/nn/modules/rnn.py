"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their cells, with PyTorch's parameter
names (``weight_ih_l0``, ``weight_hh_l1_reverse``, ...), shapes and initialisation.

The input projection of a whole sequence is one GEMM per layer and direction; only the hidden
projection runs step by step.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ... import _autocast, _creation
from ..._ops._core import set_node_name
from ..._ops.nn.rnn import gru_layer, lstm_layer, lstm_layer_steps, rnn_layer, rnn_step
from ..._ops.nn.rnn import gru_step as _gru_step
from ..._ops.nn.rnn import lstm_step as _lstm_step
from ..._ops.shape.joining import cat, stack
from ..._tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils._packing import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(mode, gi, h, w_hh, b_hh):
    return rnn_step(mode == "RNN_RELU", gi, h, w_hh, b_hh)


class RNNBase(Module):
    """Shared machinery of ``RNN``, ``LSTM`` and ``GRU`` (parameters, checks, the layer loop)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        # Checks in PyTorch's order, so the first bad argument is the one reported.
        dropout_value = float(dropout)
        if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Number)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int):
                raise TypeError(f"{arg} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{arg} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout = dropout_value
        self.bidirectional, self.proj_size = bidirectional, proj_size

        rows = _GATES[mode] * hidden_size  # the gates are stacked along dim 0
        out_size = proj_size or hidden_size  # what h carries (the projection, if any)
        directions = ("", "_reverse") if bidirectional else ("",)
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            fan_in = input_size if layer == 0 else out_size * len(directions)
            for suffix in directions:
                shapes = {"weight_ih": (rows, fan_in), "weight_hh": (rows, out_size)}
                if bias:
                    shapes.update(bias_ih=(rows,), bias_hh=(rows,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for kind, shape in shapes.items():
                    name = f"{kind}_l{layer}{suffix}"
                    self.register_parameter(name, Parameter(_creation.empty(shape, **kw)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional
                                                                    else 1))
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def flatten_parameters(self) -> None:
        """Kept for API compatibility (cuDNN weight packing); nothing to do here."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _read_flat_weights(self) -> dict | None:
        """The weights for one forward when some are not plain Parameters (a parametrization
        such as weight_norm or a weight-drop), read as PyTorch reads them: its "have the
        weights changed?" pass reads the first such weight, then every weight is read again,
        each read done twice (``hasattr`` then ``getattr``). A parametrization that draws
        random numbers (weight-drop) thus advances the stream as in PyTorch, and the last
        read is the weight used. None when every weight is a registered Parameter."""
        params = self.__dict__.get("_parameters") or {}
        names = self._flat_weights_names
        if all(params.get(n) is not None for n in names):
            return None
        for n in names:
            if params.get(n) is None:
                hasattr(self, n)
                getattr(self, n)
                break
        weights = {}
        for n in names:
            hasattr(self, n)
            weights[n] = getattr(self, n)
        return weights

    def _weights(self, layer: int, d: int):
        suffix = "_reverse" if d == 1 else ""
        g = self.__dict__.get("_parameters", None)
        read = self.__dict__.get("_forward_weights")

        def get(n):
            if read is not None:  # this forward's reading of parametrized weights
                return read[n]
            # the registered Parameter directly (Module.__getattr__ is slow); a weight that a
            # parametrization (weight_norm ...) or a plain attribute replaced comes by getattr
            p = g.get(n) if g is not None else None
            return p if p is not None else getattr(self, n)

        w_ih, w_hh = get(f"weight_ih_l{layer}{suffix}"), get(f"weight_hh_l{layer}{suffix}")
        b_ih = get(f"bias_ih_l{layer}{suffix}") if self.bias else None
        b_hh = get(f"bias_hh_l{layer}{suffix}") if self.bias else None
        w_hr = get(f"weight_hr_l{layer}{suffix}") if self.proj_size > 0 else None
        return w_ih, w_hh, b_ih, b_hh, w_hr

    def _check_dtype(self, input: Tensor) -> None:
        weight = self._weights(0, 0)[0]
        if input.dtype != weight.dtype and not any(_autocast.state.enabled.values()):
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({input.dtype})")

    def _check_input(self, input: Tensor) -> bool:
        self._check_dtype(input)
        if input.dim() not in (2, 3):
            what = "D tensor" if self.mode.startswith("RNN") else "D"  # torch's wording per class
            raise ValueError(f"{self._get_name()}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}{what} instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        return input.dim() == 2

    def _run(self, x: Tensor, h0: Tensor, c0: Tensor | None):
        """``x``: (L, N, H_in) time-major. Returns output, h_n, c_n."""
        dirs = 2 if self.bidirectional else 1
        hs, cs = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
                gi_all = F.linear(layer_in, w_ih, b_ih)  # every time step in one GEMM
                k = layer * dirs + d
                h = h0[k]
                c = c0[k] if c0 is not None else None
                out, h, c = self._layer(gi_all, h, c, w_hh, b_hh, w_hr, reverse=d == 1)
                outs.append(out)
                hs.append(h)
                if c is not None:
                    cs.append(c)
            layer_in = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        return layer_in, stack(hs, 0), (stack(cs, 0) if cs else None)

    def _layer(self, gi, h, c, w_hh, b_hh, w_hr, reverse: bool):
        """One direction of one layer over the whole sequence, as one autograd node where
        the cell has a fused form (see _ops/nn/rnn.py): ``(out, h_n, c_n or None)``."""
        if self.mode == "GRU":
            return (*gru_layer(gi, h, w_hh, b_hh, reverse), None)
        if self.mode != "LSTM":
            return (*rnn_layer(gi, h, w_hh, b_hh, reverse, relu=self.mode == "RNN_RELU"), None)
        if w_hr is None:
            return lstm_layer(gi, h, c, w_hh, b_hh, reverse)
        return lstm_layer_steps(gi, h, c, w_hh, b_hh, reverse, w_hr)

    def _zeros_state(self, n: int, size: int, like: Tensor) -> Tensor:
        dirs = 2 if self.bidirectional else 1
        return _creation.zeros(self.num_layers * dirs, n, size, dtype=like.dtype,
                               device=like.device)

    def _check_hidden(self, h: Tensor, n: int, size: int, what: str) -> None:
        dirs = 2 if self.bidirectional else 1
        want = (self.num_layers * dirs, n, size)
        if tuple(h.shape) != want:
            raise RuntimeError(f"Expected {what} size {want}, got {list(h.shape)}")

    def _run_packed(self, data: Tensor, sizes, h0: Tensor, c0: Tensor | None):
        """Run on packed ``data`` (steps back to back, longest sequences first): at step t
        only the first ``sizes[t]`` rows are live; the others keep their state."""
        dirs = 2 if self.bidirectional else 1
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        hs, cs = [], []
        layer_in = data
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
                gi_all = F.linear(layer_in, w_ih, b_ih)
                k = layer * dirs + d
                h, c = h0[k], (c0[k] if c0 is not None else None)
                order = range(len(sizes)) if d == 0 else range(len(sizes) - 1, -1, -1)
                seq = [None] * len(sizes)
                for t in order:
                    b = int(sizes[t])
                    gi = gi_all[int(offsets[t]):int(offsets[t]) + b]
                    hb, cb = h[:b], (c[:b] if c is not None else None)
                    if self.mode == "LSTM":
                        hb, cb = _lstm_step(gi, hb, cb, w_hh, b_hh, w_hr)
                    elif self.mode == "GRU":
                        hb = _gru_step(gi, hb, w_hh, b_hh)
                    else:
                        hb = _rnn_step(self.mode, gi, hb, w_hh, b_hh)
                    seq[t] = hb
                    h = hb if b == h.shape[0] else cat([hb, h[b:]], 0)
                    if c is not None:
                        c = cb if b == c.shape[0] else cat([cb, c[b:]], 0)
                outs.append(cat(seq, 0))
                hs.append(h)
                if c is not None:
                    cs.append(c)
            layer_in = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        return layer_in, stack(hs, 0), (stack(cs, 0) if cs else None)

    def _forward_packed(self, packed, hx):
        self._check_dtype(packed.data)
        data, sizes = packed.data, packed.batch_sizes._data
        if self.mode != "LSTM" and data.shape[-1] != self.input_size:
            # torch's packed RNN and GRU check this; its packed LSTM fails in the matmul instead
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.shape[-1]}")
        n = int(sizes[0]) if sizes.size else 0
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if hx is None:
            h0 = self._zeros_state(n, real_hidden, data)
            c0 = self._zeros_state(n, self.hidden_size, data) if self.mode == "LSTM" else None
        else:
            h0, c0 = self._packed_states(hx, packed.sorted_indices is None)
            # checked in the caller's batch order, before the permutation below could index
            # past a wrong batch size or pass an extra row through unnoticed
            if self.mode == "LSTM":
                self._check_hidden(h0, n, real_hidden, "hidden[0]")
                self._check_hidden(c0, n, self.hidden_size, "hidden[1]")
            else:
                self._check_hidden(h0, n, self.hidden_size, "hidden")
            if packed.sorted_indices is not None:  # states come in the caller's batch order
                h0 = h0.index_select(1, packed.sorted_indices)
                c0 = c0.index_select(1, packed.sorted_indices) if c0 is not None else None
        out, h_n, c_n = self._run_packed(data, sizes, h0, c0)
        if packed.unsorted_indices is not None:  # index_select, as torch's permute_hidden
            h_n = h_n.index_select(1, packed.unsorted_indices)
            c_n = c_n.index_select(1, packed.unsorted_indices) if c_n is not None else None
        out = PackedSequence(out, packed.batch_sizes, packed.sorted_indices,
                             packed.unsorted_indices)
        return (out, (h_n, c_n)) if self.mode == "LSTM" else (out, h_n)

    def _packed_states(self, hx, sorted_batch: bool):
        """``(h0, c0)`` from the ``hx`` given with a PackedSequence, refused as PyTorch
        refuses a single tensor for an LSTM, a one-state tuple, or a tuple for RNN/GRU."""
        if self.mode != "LSTM":
            if not isinstance(hx, Tensor):  # torch sizes (sorted) or permutes (unsorted) it
                attr = "size" if sorted_batch else "index_select"
                raise AttributeError(f"'{type(hx).__name__}' object has no attribute '{attr}'")
            return hx, None
        if isinstance(hx, Tensor):
            raise TypeError("lstm() received an invalid combination of arguments: hx must be a "
                            "tuple of Tensors (h_0, c_0), not Tensor")
        if len(hx) != 2:
            raise RuntimeError("lstm expects two hidden states")
        return hx[0], hx[1]

    def forward(self, input: Tensor, hx=None):
        self.__dict__["_forward_weights"] = self._read_flat_weights()
        try:
            return self._forward(input, hx)
        finally:
            self.__dict__.pop("_forward_weights", None)

    def _forward(self, input: Tensor, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        unbatched = self._check_input(input)
        if unbatched:
            x = input.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        n = x.shape[1]
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if self.mode == "LSTM":
            if hx is None:
                h0 = self._zeros_state(n, real_hidden, x)
                c0 = self._zeros_state(n, self.hidden_size, x)
            else:
                # indexed as torch indexes it: a lone h_0 tensor fails on hx[1] (IndexError),
                # or its 2-D slices fail the dims check below
                h0, c0 = hx[0], hx[1]
                if unbatched:
                    if h0.dim() != 2 or c0.dim() != 2:
                        raise RuntimeError("For unbatched 2-D input, hx and cx should also be "
                                           f"2-D but got ({h0.dim()}-D, {c0.dim()}-D) tensors")
                    h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
                elif h0.dim() != 3 or c0.dim() != 3:
                    raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but "
                                       f"got ({h0.dim()}-D, {c0.dim()}-D) tensors")
                self._check_hidden(h0, n, real_hidden, "hidden[0]")
                self._check_hidden(c0, n, self.hidden_size, "hidden[1]")
                if not unbatched:  # torch's kernel then takes hx as given: a 2-tuple only
                    if isinstance(hx, Tensor):
                        raise TypeError("lstm() received an invalid combination of arguments: "
                                        "hx must be a tuple of Tensors (h_0, c_0), not Tensor")
                    if len(hx) != 2:
                        raise RuntimeError("lstm expects two hidden states")
        else:
            c0 = None
            if hx is None:
                h0 = self._zeros_state(n, self.hidden_size, x)
            else:
                h0 = hx
                if unbatched:
                    if h0.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but "
                                           f"got {h0.dim()}-D tensor")
                    h0 = h0.unsqueeze(1)
                elif h0.dim() != 3:  # a tuple fails here as in torch: no attribute 'dim'
                    raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got "
                                       f"{h0.dim()}-D tensor")
                self._check_hidden(h0, n, self.hidden_size, "hidden")
        out, h_n, c_n = self._run(x, h0, c0)
        if unbatched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
            if self.mode != "LSTM":  # PyTorch's RNN and GRU transpose in place: another node
                set_node_name(out, "TransposeBackward1")
        return (out, (h_n, c_n)) if self.mode == "LSTM" else (out, h_n)


def _refuse_proj_size(kwargs: dict) -> None:
    # torch's RNN and GRU take ``proj_size`` only to refuse it, whatever its value
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"RNNBase.__init__() got an unexpected keyword argument "
                        f"'{next(iter(kwargs))}'")


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU).

    Example:
        >>> out, h = ember.nn.RNN(10, 20, 2)(ember.randn(5, 3, 10))
        >>> out.shape, h.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None, **kwargs) -> None:
        _refuse_proj_size(kwargs)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory; returns ``output, (h_n, c_n)``; ``proj_size`` projects h.

    Example:
        >>> out, (h, c) = ember.nn.LSTM(10, 20, batch_first=True)(ember.randn(3, 5, 10))
        >>> out.shape
        torch.Size([3, 5, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (PyTorch's gate order r, z, n).

    Example:
        >>> out, h = ember.nn.GRU(10, 20, bidirectional=True)(ember.randn(5, 3, 10))
        >>> out.shape
        torch.Size([5, 3, 40])
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, **kwargs) -> None:
        _refuse_proj_size(kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)


# -- single-step cells ------------------------------------------------------------------------

class RNNCellBase(Module):
    """Parameters and checks shared by the single-step cells."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(_creation.empty((num_chunks * hidden_size, input_size),
                                                   **kw))
        self.weight_hh = Parameter(_creation.empty((num_chunks * hidden_size, hidden_size),
                                                   **kw))
        if bias:
            self.bias_ih = Parameter(_creation.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(_creation.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx):
        if input.dim() not in (1, 2):
            raise ValueError(f"{self._get_name()}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        if hx is not None and not isinstance(self, LSTMCell) and not isinstance(hx, Tensor):
            # torch asks hx.dim() of the one state RNNCell and GRUCell take
            raise AttributeError(f"'{type(hx).__name__}' object has no attribute 'dim'")
        states = hx if isinstance(hx, (tuple, list)) else (() if hx is None else (hx,))
        if isinstance(hx, Tensor) and isinstance(self, LSTMCell):
            states = tuple(hx)  # torch iterates the states it was given: a tensor's rows
        for i, h in enumerate(states):
            if h.dim() not in (1, 2):
                label = "hidden" if isinstance(hx, Tensor) and len(states) == 1 else f"hx[{i}]"
                raise ValueError(f"{self._get_name()}: Expected {label} to be 1D or 2D, got "
                                 f"{h.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        return x, unbatched

    def _zeros(self, x: Tensor) -> Tensor:
        return _creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)

    def _hidden(self, x: Tensor, h: Tensor, unbatched: bool, index: int = 0) -> Tensor:
        """State ``index`` given for the (batched) input ``x``, checked as PyTorch does: its
        first dim against the batch, its second against ``hidden_size``."""
        h = h.unsqueeze(0) if unbatched else h
        if h.shape[0] != x.shape[0]:
            raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{index} "
                               f"batch size {h.shape[0]}")
        if h.shape[1] != self.hidden_size:
            raise RuntimeError(f"hidden{index} has inconsistent hidden_size: got {h.shape[1]}, "
                               f"expected {self.hidden_size}")
        return h


class RNNCell(RNNCellBase):
    """One Elman RNN step.

    Example:
        >>> ember.nn.RNNCell(10, 20)(ember.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        # PyTorch builds a cell with any nonlinearity name and refuses it on the first call
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = self._prepare(input, hx)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h = self._zeros(x) if hx is None else self._hidden(x, hx, unbatched)
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        h = _rnn_step(mode, F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                      self.bias_hh)
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``.

    Example:
        >>> h, c = ember.nn.LSTMCell(10, 20)(ember.randn(3, 10))
        >>> h.shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx=None):
        x, unbatched = self._prepare(input, hx)
        if hx is None:
            h = c = self._zeros(x)
        else:
            if isinstance(hx, Tensor) and not unbatched:  # torch splits an unbatched one
                raise TypeError("lstm_cell(): argument 'hx' (position 2) must be tuple of "
                                "Tensors, not Tensor")
            if len(hx) != 2 and not unbatched:  # unbatched, torch fails on hx[1] itself
                raise RuntimeError("lstm_cell expects two hidden states")
            h, c = self._hidden(x, hx[0], unbatched, 0), self._hidden(x, hx[1], unbatched, 1)
        h, c = _lstm_step(F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                          self.bias_hh, None)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step.

    Example:
        >>> ember.nn.GRUCell(10, 20)(ember.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = self._prepare(input, hx)
        h = self._zeros(x) if hx is None else self._hidden(x, hx, unbatched)
        h = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                      self.bias_hh)
        return h.squeeze(0) if unbatched else h
