"""A quantizable LSTM: the gates are ``Linear`` layers and every sum and product goes through a
``FloatFunctional``, so ``prepare`` can put an observer on each and ``convert`` can swap them for
quantized kernels. In float the result is an ``nn.LSTM``'s (gate order i, f, g, o).

The names of the submodules are part of the checkpoint format (``layers.0.layer_fw.cell.
igates.weight`` ...), which is PyTorch's.
"""

from __future__ import annotations

import numbers

from ..... import _dtype as D
from ....._tensor import Tensor
from .....nn import modules as _m
from .....nn.modules.module import Module
from ...quantized.functional_modules import FloatFunctional

__all__ = ["LSTMCell", "LSTM"]


def _stack(ts, dim=0):
    from ..... import stack

    return stack(ts, dim)


class LSTMCell(Module):
    """One LSTM step made of observable parts: ``igates`` (input to the four gates) and
    ``hgates`` (hidden state to the four gates) are ``Linear`` layers, their sum goes through
    ``gates``, the products and the new cell state through ``fgate_cx``, ``igate_cgate``,
    ``fgate_cx_igate_cgate`` and ``ogate_cy``.

    Args:
        input_dim (int): input features.
        hidden_dim (int): hidden features.
        bias (bool): give both ``Linear`` layers a bias.

    Example:
        >>> cell = ember.ao.nn.quantizable.LSTMCell(3, 4)
        >>> h, c = cell(ember.randn(2, 3))
        >>> h.shape
        torch.Size([2, 4])
    """

    _FLOAT_MODULE = _m.LSTMCell

    def __init__(self, input_dim: int, hidden_dim: int, bias: bool = True, device=None,
                 dtype=None, *, split_gates: bool = False):
        super().__init__()
        if split_gates:
            # (PyTorch's split_gates keeps one Linear per gate; ember has the fused form only)
            raise NotImplementedError("ember's quantizable LSTMCell has no split_gates form")
        kw = {"device": device, "dtype": dtype}
        self.input_size = input_dim
        self.hidden_size = hidden_dim
        self.bias = bias
        self.split_gates = split_gates
        self.igates = _m.Linear(input_dim, 4 * hidden_dim, bias=bias, **kw)
        self.hgates = _m.Linear(hidden_dim, 4 * hidden_dim, bias=bias, **kw)
        self.gates = FloatFunctional()
        self.input_gate = _m.Sigmoid()
        self.forget_gate = _m.Sigmoid()
        self.cell_gate = _m.Tanh()
        self.output_gate = _m.Sigmoid()
        self.fgate_cx = FloatFunctional()
        self.igate_cgate = FloatFunctional()
        self.fgate_cx_igate_cgate = FloatFunctional()
        self.ogate_cy = FloatFunctional()
        # the qparams a quantized initial state would use (scale 1, zero point 0)
        self.initial_hidden_state_qparams = (1.0, 0)
        self.initial_cell_state_qparams = (1.0, 0)
        self.hidden_state_dtype = D.quint8
        self.cell_state_dtype = D.quint8

    def _get_name(self):
        return "QuantizableLSTMCell"

    def forward(self, x: Tensor, hidden=None):
        if hidden is None or hidden[0] is None or hidden[1] is None:
            hidden = self.initialize_hidden(x.shape[0], x.is_quantized)
        hx, cx = hidden
        pre = self.gates.add(self.igates(x), self.hgates(hx))
        i, f, g, o = pre.chunk(4, 1)
        i, f = self.input_gate(i), self.forget_gate(f)
        g, o = self.cell_gate(g), self.output_gate(o)
        cy = self.fgate_cx_igate_cgate.add(self.fgate_cx.mul(f, cx), self.igate_cgate.mul(i, g))
        hy = self.ogate_cy.mul(o, cy.tanh())
        return hy, cy

    def initialize_hidden(self, batch_size: int, is_quantized: bool = False):
        """Zero ``(h, c)`` of shape ``(batch_size, hidden_size)`` (quantized with the initial
        qparams when ``is_quantized``)."""
        from ..... import quantize_per_tensor, zeros

        h = zeros((batch_size, self.hidden_size))
        c = zeros((batch_size, self.hidden_size))
        if is_quantized:
            hs, hz = self.initial_hidden_state_qparams
            cs, cz = self.initial_cell_state_qparams
            h = quantize_per_tensor(h, scale=hs, zero_point=hz, dtype=self.hidden_state_dtype)
            c = quantize_per_tensor(c, scale=cs, zero_point=cz, dtype=self.cell_state_dtype)
        return h, c

    @classmethod
    def from_params(cls, wi, wh, bi=None, bh=None, split_gates=False):
        """A cell whose gate layers hold (new ``Parameter`` copies of) the given weights:
        ``wi`` is ``(4*hidden, input)``, ``wh`` is ``(4*hidden, hidden)``."""
        from .....nn.parameter import Parameter

        cell = cls(wi.shape[1], wh.shape[1], bias=bi is not None and bh is not None,
                   split_gates=split_gates)
        cell.igates.weight = Parameter(wi.detach().clone())
        cell.hgates.weight = Parameter(wh.detach().clone())
        if bi is not None:
            cell.igates.bias = Parameter(bi.detach().clone())
        if bh is not None:
            cell.hgates.bias = Parameter(bh.detach().clone())
        return cell

    @classmethod
    def from_float(cls, other, use_precomputed_fake_quant=False, split_gates=False):
        """The quantizable form of an ``nn.LSTMCell`` that has a ``qconfig``."""
        if type(other) is not cls._FLOAT_MODULE:
            raise AssertionError(f"{type(other)} must be {cls._FLOAT_MODULE}")
        if not hasattr(other, "qconfig"):
            raise AssertionError("The float module must have 'qconfig'")
        cell = cls.from_params(other.weight_ih, other.weight_hh, other.bias_ih, other.bias_hh,
                               split_gates=split_gates)
        cell.qconfig = other.qconfig
        return cell


class _LSTMSingleLayer(Module):
    """One direction of one layer: the cell run over the time steps of a time-major input."""

    def __init__(self, input_dim: int, hidden_dim: int, bias: bool = True, device=None,
                 dtype=None, *, split_gates: bool = False):
        super().__init__()
        self.cell = LSTMCell(input_dim, hidden_dim, bias=bias, device=device, dtype=dtype,
                             split_gates=split_gates)

    def forward(self, x: Tensor, hidden=None):
        outputs = []
        for t in range(x.shape[0]):
            hidden = self.cell(x[t], hidden)
            outputs.append(hidden[0])
        return _stack(outputs, 0), hidden

    @classmethod
    def from_params(cls, *args, **kwargs):
        cell = LSTMCell.from_params(*args, **kwargs)
        layer = cls(cell.input_size, cell.hidden_size, cell.bias)
        layer.cell = cell
        return layer


class _LSTMLayer(Module):
    """One layer, forward and (when ``bidirectional``) backward in time; the backward
    direction reads the sequence reversed and its outputs are flipped back before the two are
    concatenated feature-wise."""

    def __init__(self, input_dim: int, hidden_dim: int, bias: bool = True,
                 batch_first: bool = False, bidirectional: bool = False, device=None,
                 dtype=None, *, split_gates: bool = False):
        super().__init__()
        self.batch_first = batch_first
        self.bidirectional = bidirectional
        kw = {"device": device, "dtype": dtype, "split_gates": split_gates}
        self.layer_fw = _LSTMSingleLayer(input_dim, hidden_dim, bias=bias, **kw)
        if bidirectional:
            self.layer_bw = _LSTMSingleLayer(input_dim, hidden_dim, bias=bias, **kw)

    def forward(self, x: Tensor, hidden=None):
        if self.batch_first:
            x = x.transpose(0, 1)
        hx = cx = None
        if hidden is not None:
            hx, cx = hidden
        if not self.bidirectional:
            out, (h, c) = self.layer_fw(x, None if hx is None else (hx, cx))
        else:
            fw = bw = None
            if hx is not None:  # (2, batch, hidden): one state per direction
                fw, bw = (hx[0], cx[0]), (hx[1], cx[1])
            out_f, (h_f, c_f) = self.layer_fw(x, fw)
            out_b, (h_b, c_b) = self.layer_bw(x.flip(0), bw)
            from ..... import cat

            out = cat([out_f, out_b.flip(0)], out_f.dim() - 1)
            h, c = _stack([h_f, h_b], 0), _stack([c_f, c_b], 0)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, (h, c)

    @classmethod
    def from_float(cls, other, layer_idx=0, qconfig=None, **kwargs):
        """Layer ``layer_idx`` of an ``nn.LSTM``, weights copied."""
        if not (hasattr(other, "qconfig") or qconfig):
            raise AssertionError("other must have qconfig or qconfig must be provided")
        sfx = f"_l{layer_idx}"
        bias = other.bias
        layer = cls(other.input_size if layer_idx == 0 else other.hidden_size *
                    (2 if other.bidirectional else 1), other.hidden_size, bias=bias,
                    batch_first=False, bidirectional=other.bidirectional)  # LSTM transposes
        layer.qconfig = getattr(other, "qconfig", qconfig)

        def direction(tail):
            p = [getattr(other, f"{k}{sfx}{tail}", None) if bias or k.startswith("weight")
                 else None for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            return _LSTMSingleLayer.from_params(*p, split_gates=kwargs.get("split_gates",
                                                                           False))

        layer.layer_fw = direction("")
        if other.bidirectional:
            layer.layer_bw = direction("_reverse")
        return layer


class LSTM(Module):
    """``nn.LSTM`` built from ``LSTMCell``s (``layers[k].layer_fw.cell`` ...), so that eager
    static quantization can observe it; same arguments, same ``(output, (h_n, c_n))``.
    ``from_float`` turns an ``nn.LSTM`` (with a ``qconfig``) into one, with observers attached.

    As in PyTorch, layers after the first are built with ``hidden_size`` inputs, so a
    bidirectional multi-layer LSTM should come from ``from_float``; ``dropout`` is stored
    but not applied.

    Example:
        >>> lstm = ember.ao.nn.quantizable.LSTM(3, 4, batch_first=True)
        >>> out, (h, c) = lstm(ember.randn(2, 5, 3))
        >>> out.shape
        torch.Size([2, 5, 4])
    """

    _FLOAT_MODULE = _m.LSTM

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, *,
                 split_gates: bool = False):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) \
                or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        kw = {"device": device, "dtype": dtype, "split_gates": split_gates}
        first = _LSTMLayer(input_size, hidden_size, bias, batch_first=False,
                           bidirectional=bidirectional, **kw)
        rest = [_LSTMLayer(hidden_size, hidden_size, bias, batch_first=False,
                           bidirectional=bidirectional, **kw) for _ in range(num_layers - 1)]
        self.layers = _m.ModuleList([first, *rest])

    def _get_name(self):
        return "QuantizableLSTM"

    def forward(self, x: Tensor, hidden=None):
        if self.batch_first:
            x = x.transpose(0, 1)
        dirs = 2 if self.bidirectional else 1
        per_layer = [None] * self.num_layers
        if hidden is not None:
            hx, cx = hidden
            # (layers * directions, batch, hidden) -> one (h, c) per layer
            hx = hx.reshape(self.num_layers, dirs, *hx.shape[1:])
            cx = cx.reshape(self.num_layers, dirs, *cx.shape[1:])
            per_layer = [(hx[k], cx[k]) if dirs == 2 else (hx[k][0], cx[k][0])
                         for k in range(self.num_layers)]
        hs, cs = [], []
        for layer, state in zip(self.layers, per_layer):
            x, (h, c) = layer(x, state)
            hs.append(h)
            cs.append(c)
        from ..... import cat

        if dirs == 2:
            h_n, c_n = cat(hs, 0), cat(cs, 0)
        else:
            h_n, c_n = _stack(hs, 0), _stack(cs, 0)
        if self.batch_first:
            x = x.transpose(0, 1)
        return x, (h_n, c_n)

    @classmethod
    def from_float(cls, other, qconfig=None, split_gates=False):
        """The quantizable form of ``other`` (an ``nn.LSTM`` with a ``qconfig``, or pass one),
        weights copied, observers attached: ``prepare`` in eval mode, ``prepare_qat`` in
        training mode."""
        if not isinstance(other, cls._FLOAT_MODULE):
            raise AssertionError(f"{type(other)} must be {cls._FLOAT_MODULE}")
        if not (hasattr(other, "qconfig") or qconfig):
            raise AssertionError("other must have qconfig or qconfig must be provided")
        from ....quantization.quantize import prepare, prepare_qat

        observed = cls(other.input_size, other.hidden_size, other.num_layers, other.bias,
                       other.batch_first, other.dropout, other.bidirectional,
                       split_gates=split_gates)
        observed.qconfig = getattr(other, "qconfig", qconfig)
        for k in range(other.num_layers):
            observed.layers[k] = _LSTMLayer.from_float(other, k, qconfig,
                                                       split_gates=split_gates)
        # (the undecorated workflow functions: this is not a user's call)
        if other.training:
            observed.train()
            observed = prepare_qat.__wrapped__(observed, inplace=True)
        else:
            observed.eval()
            observed = prepare.__wrapped__(observed, inplace=True)
        return observed

    @classmethod
    def from_observed(cls, other):
        # a quantizable LSTM is converted through its parts (custom module mapping)
        raise NotImplementedError("It looks like you are trying to convert a non-quantizable "
                                  "LSTM module. Please, see the examples on quantizable LSTMs.")
