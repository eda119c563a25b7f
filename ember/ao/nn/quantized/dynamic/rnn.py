"""The dynamically quantized recurrent layers and cells: ``LSTM``, ``GRU``, ``LSTMCell``,
``GRUCell``, ``RNNCell``; int8 weights, float state.

Each layer and direction projects the whole input sequence through its int8 input weights in
one dynamic quantized product (the sequence quantized once, with qparams from its own range),
then steps through time quantizing the hidden state for the hidden-to-hidden product at every
step; the gates and the cell state are float32, as in PyTorch's quantized modules. A cell is
one such step.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..... import _dtype as D
from ....._quantized_tensor import choose_qparams, quantize_ints, quantize_per_tensor
from ....._random import randn
from ....._tensor import Tensor
from .....backends import quantized as engine
from .....nn.modules.module import Module
from .....nn.modules.rnn import RNNBase
from ..modules import _centred, _weight_scales, quantize_weight, read_local_state

__all__ = ["LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell"]


def dynamic_product(x: np.ndarray, weight, bias) -> np.ndarray:
    """``x @ weight.T + bias`` with ``x`` quantized per tensor on the fly (quint8, qparams from
    its range, 7 bits under the x86 engines) and ``weight`` a quantized tensor: exact integer
    sums read back in float32."""
    qmin, qmax = (0, 127) if engine.reduce_range() else (0, 255)
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    scale, zero = choose_qparams(lo, hi, qmin, qmax)
    xq = quantize_ints(x, np.float32(1) / np.float32(scale), zero, D.quint8)
    acc = (xq.astype(np.int64) - zero) @ _centred(weight).T
    out = acc.astype(np.float32) * (np.float32(scale)
                                    * _weight_scales(weight).astype(np.float32))
    if bias is not None:
        out = out + bias
    return out.astype(np.float32)


def _sigmoid(v):
    return np.float32(1) / (np.float32(1) + np.exp(-v))


def _lstm_step(projected, h, c, w_hh, b_hh):
    gates = projected + dynamic_product(h, w_hh, b_hh)
    i, f, g, o = np.split(gates, 4, axis=1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return (_sigmoid(o) * np.tanh(c)).astype(np.float32), c


def _gru_step(projected, h, w_hh, b_hh):
    hidden = dynamic_product(h, w_hh, b_hh)
    i_r, i_z, i_n = np.split(projected, 3, axis=1)
    h_r, h_z, h_n = np.split(hidden, 3, axis=1)
    r, z = _sigmoid(i_r + h_r), _sigmoid(i_z + h_z)
    n = np.tanh(i_n + r * h_n)
    return (n + z * (h - n)).astype(np.float32)


def _quantized_weights(mod, suffix: str, qconfig, what: str):
    """(w_ih, w_hh, b_ih, b_hh) of a float recurrent module, the weights quantized to qint8."""
    if qconfig.weight().dtype is not D.qint8:
        raise NotImplementedError(f"ember's dynamic quantized {what} has qint8 weights only; "
                                  "quantize it with dtype=torch.qint8")
    weights = []
    for kind in ("ih", "hh"):
        observer = qconfig.weight()
        w = getattr(mod, f"weight_{kind}{suffix}")
        observer(w)
        weights.append(quantize_weight(w.float(), observer))
    biases = [np.asarray(getattr(mod, f"bias_{kind}{suffix}").detach()._data, np.float32)
              if mod.bias else None for kind in ("ih", "hh")]
    return weights[0], weights[1], biases[0], biases[1]


_GATES = {"LSTM": 4, "GRU": 3, "LSTMCell": 4, "GRUCell": 3, "RNNCell": 1}


def _initial_weights(gates: int, input_size: int, hidden_size: int, dtype, cell: bool,
                     bias: bool = True):
    """The (w_ih, w_hh, b_ih, b_hh) a module starts with before ``from_float`` fills it in,
    drawn with ``randn`` as PyTorch's constructors draw them, so that the global random stream
    moves exactly as torch's does when a model is quantized. Layers draw w_ih, w_hh, b_ih, b_hh
    (biases even with ``bias=False``) and quantize the weights with scale 0.1; cells draw their
    biases first (none without ``bias``) and quantize with scale 1.0; zero point 0 for both."""
    if cell and bias:
        b_ih, b_hh = randn(gates), randn(gates)
    w_ih, w_hh = randn(gates, input_size), randn(gates, hidden_size)
    if not cell:
        b_ih, b_hh = randn(gates), randn(gates)
    if dtype is D.qint8:
        scale = 1.0 if cell else 0.1
        w_ih, w_hh = (_quiet_quantize(w, scale) for w in (w_ih, w_hh))
    if cell and not bias:
        return w_ih, w_hh, None, None
    return w_ih, w_hh, _f32(b_ih), _f32(b_hh)


def _quiet_quantize(w, scale: float):
    with warnings.catch_warnings():  # torch warns about quantized tensors only for user calls
        warnings.simplefilter("ignore")
        return quantize_per_tensor(w, scale, 0, D.qint8)


def _packed(cell) -> tuple:
    """A (w_ih, w_hh, b_ih, b_hh) cell as state-dict values: tensors, biases float32."""
    w_ih, w_hh, b_ih, b_hh = cell
    return (w_ih, w_hh) + tuple(None if b is None else _wrap(b) for b in (b_ih, b_hh))


def _unpacked(values, what: str) -> tuple:
    if not (isinstance(values, tuple) and len(values) == 4
            and all(isinstance(w, Tensor) for w in values[:2])
            and all(b is None or isinstance(b, Tensor) for b in values[2:])):
        raise RuntimeError(f"{what} must be a tuple (w_ih, w_hh, b_ih, b_hh) of tensors")
    w_ih, w_hh, b_ih, b_hh = values
    return w_ih, w_hh, None if b_ih is None else _f32(b_ih), None if b_hh is None else _f32(b_hh)


class LSTM(Module):
    """An LSTM with int8 weights whose inputs and hidden states are quantized at run time
    (``quantize_dynamic(model, {nn.LSTM})`` makes it from an ``nn.LSTM`` with biases).
    Inference only; input is batched (3-D), as in PyTorch.

    Example:
        >>> m = ember.nn.Sequential(ember.nn.LSTM(6, 5, batch_first=True))
        >>> q = ember.ao.quantization.quantize_dynamic(m, {ember.nn.LSTM})
        >>> out, (h, c) = q[0](ember.ones(3, 4, 6))
        >>> out.shape, h.shape
        (torch.Size([3, 4, 5]), torch.Size([1, 3, 5]))
    """

    _NAME = "DynamicQuantizedLSTM"

    mode = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=D.qint8):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.dtype = bidirectional, dtype
        dirs = 2 if bidirectional else 1
        gates = _GATES[self.mode] * hidden_size
        # per (layer, direction): (w_ih, w_hh, b_ih, b_hh)
        self._cells = [_initial_weights(gates, input_size if layer == 0 else hidden_size * dirs,
                                        hidden_size, dtype, cell=False)
                       for layer in range(num_layers) for _ in range(dirs)]

    def _get_name(self):
        return self._NAME

    proj_size = 0  # no projections here; nn.LSTM's repr then reads the same
    extra_repr = RNNBase.extra_repr

    @staticmethod
    def _step(projected, h, c, w_hh, b_hh):
        """One time step from the input's projection: the new (h, c)."""
        return _lstm_step(projected, h, c, w_hh, b_hh)

    def _run_direction(self, seq, h, c, cell, reverse):
        w_ih, w_hh, b_ih, b_hh = cell
        steps, batch = seq.shape[0], seq.shape[1]
        projected = dynamic_product(seq.reshape(steps * batch, -1), w_ih, b_ih)
        projected = projected.reshape(steps, batch, -1)
        outs = [None] * steps
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        for t in order:
            h, c = self._step(projected[t], h, c, w_hh, b_hh)
            outs[t] = h
        return np.stack(outs), h, c

    def forward(self, input, hx=None):
        x = np.asarray(input.detach()._data, np.float32)
        if x.ndim != 3:  # PyTorch's quantized LSTM takes batched input only
            raise RuntimeError(f"input must have 3 dimensions, got {x.ndim}")
        if self.batch_first:
            x = x.transpose(1, 0, 2)
        dirs = 2 if self.bidirectional else 1
        batch = x.shape[1]
        shape = (self.num_layers * dirs, batch, self.hidden_size)
        if hx is None:
            h0 = np.zeros(shape, np.float32)
            c0 = np.zeros(shape, np.float32)
        else:
            h0, c0 = (np.asarray(t.detach()._data, np.float32).reshape(shape) for t in hx)
        hs, cs = [], []
        seq = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                out, h, c = self._run_direction(seq, h0[k], c0[k], self._cells[k], d == 1)
                outs.append(out)
                hs.append(h)
                cs.append(c)
            seq = np.concatenate(outs, axis=2) if dirs == 2 else outs[0]
        out = seq.transpose(1, 0, 2) if self.batch_first else seq
        h_n, c_n = np.stack(hs), np.stack(cs)
        wrap = (lambda a: Tensor._make(np.ascontiguousarray(a, np.float32), D.float32))
        return wrap(out), (wrap(h_n), wrap(c_n))

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The dynamic quantized form of a float ``nn.LSTM`` carrying a ``qconfig``."""
        from .....ao.quantization.qconfig import default_dynamic_qconfig

        if not mod.bias:
            raise AssertionError("mod.bias must be True")
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError("ember's dynamic quantized LSTM has no proj_size")
        qconfig = getattr(mod, "qconfig", None) or default_dynamic_qconfig
        out = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
                  mod.dropout, mod.bidirectional)
        dirs = 2 if mod.bidirectional else 1
        out._cells = [_quantized_weights(mod, f"_l{layer}" + ("_reverse" if d == 1 else ""),
                                         qconfig, cls.mode)
                      for layer in range(mod.num_layers) for d in range(dirs)]
        return out

    # PyTorch's layout: one packed entry per (layer, direction) under _all_weight_values
    def _packed_keys(self) -> list:
        return [f"_all_weight_values.{k}.param" for k in range(len(self._cells))]

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for key, cell in zip(self._packed_keys(), self._cells):
            destination[prefix + key] = _packed(cell)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        keys = self._packed_keys()
        values = read_local_state(self, state_dict, prefix, keys, strict, missing_keys,
                                  unexpected_keys, error_msgs)
        if values is not None:
            try:
                self._cells = [_unpacked(v, prefix + k) for k, v in zip(keys, values)]
            except RuntimeError as err:
                error_msgs.append(str(err))


class GRU(LSTM):
    """A GRU with int8 weights whose inputs and hidden states are quantized at run time
    (``quantize_dynamic`` makes it from an ``nn.GRU`` with biases). Inference only; input is
    batched (3-D), as in PyTorch.

    Example:
        >>> q = ember.ao.quantization.quantize_dynamic(ember.nn.Sequential(ember.nn.GRU(6, 5)))
        >>> out, h = q[0](ember.ones(4, 3, 6))
        >>> out.shape, h.shape
        (torch.Size([4, 3, 5]), torch.Size([1, 3, 5]))
    """

    _NAME = "DynamicQuantizedGRU"
    mode = "GRU"

    @staticmethod
    def _step(projected, h, c, w_hh, b_hh):
        return _gru_step(projected, h, w_hh, b_hh), c

    def forward(self, input, hx=None):
        state = None if hx is None else (hx, hx)
        out, (h_n, _) = super().forward(input, state)
        return out, h_n


class _Cell(Module):
    """A single dynamically quantized recurrent step (the cells' shared half)."""

    mode = ""
    nonlinearity = "tanh"

    def __init__(self, input_size, hidden_size, bias=True, dtype=D.qint8):
        super().__init__()
        self.input_size, self.hidden_size, self.bias, self.dtype = (input_size, hidden_size,
                                                                    bias, dtype)
        # (w_ih, w_hh, b_ih, b_hh)
        self._weights = _initial_weights(_GATES[self.mode] * hidden_size, input_size,
                                         hidden_size, dtype, cell=True, bias=bias)

    def _get_name(self):
        return f"DynamicQuantized{self.mode}"

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if self.nonlinearity != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text

    def _input(self, input, hx):
        x = np.asarray(input.detach()._data, np.float32)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got "
                               f"{x.shape[-1] if x.ndim else 0} expected {self.input_size}")
        zeros = np.zeros((x.shape[0], self.hidden_size), np.float32)
        return x, zeros

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The dynamic quantized form of the float cell ``mod``."""
        from .....ao.quantization.qconfig import default_dynamic_qconfig

        qconfig = getattr(mod, "qconfig", None) or default_dynamic_qconfig
        out = cls(mod.input_size, mod.hidden_size, mod.bias)
        out.nonlinearity = getattr(mod, "nonlinearity", "tanh")
        out._weights = _quantized_weights(mod, "", qconfig, cls.mode)
        return out

    # PyTorch's layout: (weight, bias) packed per product
    _KEYS = ("_packed_weight_ih", "_packed_weight_hh")

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        w_ih, w_hh, b_ih, b_hh = _packed(self._weights)
        destination[prefix + self._KEYS[0]] = (w_ih, b_ih)
        destination[prefix + self._KEYS[1]] = (w_hh, b_hh)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        values = read_local_state(self, state_dict, prefix, self._KEYS, strict, missing_keys,
                                  unexpected_keys, error_msgs)
        if values is None:
            return
        if not all(isinstance(v, tuple) and len(v) == 2 for v in values):
            error_msgs.append(f"{prefix}{self._KEYS[0]} and {self._KEYS[1]} must be "
                              "(weight, bias) pairs")
            return
        (w_ih, b_ih), (w_hh, b_hh) = values
        try:
            self._weights = _unpacked((w_ih, w_hh, b_ih, b_hh), prefix + "_packed_weight_*")
        except RuntimeError as err:
            error_msgs.append(str(err))


def _f32(t):
    return np.asarray(t.detach()._data, np.float32)


def _wrap(a):
    return Tensor._make(np.ascontiguousarray(a, np.float32), D.float32)


class LSTMCell(_Cell):
    """One dynamically quantized LSTM step: ``(h, c) = cell(input, (h, c))`` on 2-D input.

    Example:
        >>> q = ember.ao.quantization.quantize_dynamic(ember.nn.Sequential(ember.nn.LSTMCell(3, 4)))
        >>> h, c = q[0](ember.ones(2, 3))
        >>> h.shape
        torch.Size([2, 4])
    """

    mode = "LSTMCell"

    def forward(self, input, hx=None):
        x, zeros = self._input(input, hx)
        h, c = (zeros, zeros) if hx is None else (_f32(hx[0]), _f32(hx[1]))
        w_ih, w_hh, b_ih, b_hh = self._weights
        h, c = _lstm_step(dynamic_product(x, w_ih, b_ih), h, c, w_hh, b_hh)
        return _wrap(h), _wrap(c)


class GRUCell(_Cell):
    """One dynamically quantized GRU step on 2-D input.

    Example:
        >>> q = ember.ao.quantization.quantize_dynamic(ember.nn.Sequential(ember.nn.GRUCell(3, 4)))
        >>> q[0](ember.ones(2, 3)).shape
        torch.Size([2, 4])
    """

    mode = "GRUCell"

    def forward(self, input, hx=None):
        x, zeros = self._input(input, hx)
        h = zeros if hx is None else _f32(hx)
        w_ih, w_hh, b_ih, b_hh = self._weights
        return _wrap(_gru_step(dynamic_product(x, w_ih, b_ih), h, w_hh, b_hh))


class RNNCell(_Cell):
    """One dynamically quantized Elman step (tanh or relu) on 2-D input.

    Example:
        >>> q = ember.ao.quantization.quantize_dynamic(ember.nn.Sequential(ember.nn.RNNCell(3, 4)))
        >>> q[0](ember.ones(2, 3)).shape
        torch.Size([2, 4])
    """

    mode = "RNNCell"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=D.qint8):
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, zeros = self._input(input, hx)
        h = zeros if hx is None else _f32(hx)
        w_ih, w_hh, b_ih, b_hh = self._weights
        pre = dynamic_product(x, w_ih, b_ih) + dynamic_product(h, w_hh, b_hh)
        out = np.tanh(pre) if self.nonlinearity == "tanh" else np.maximum(pre, np.float32(0))
        return _wrap(out)
