"""A whole LSTM, GRU or Elman RNN layer (one direction) as one autograd node, as PyTorch's
CPU LSTM records it (``MkldnnRnnLayerBackward0``).

Step by step, an LSTM layer records three nodes per time step (hidden projection, gate sum,
gate activations); on short, small sequences their bookkeeping outweighs the arithmetic. This
op runs the recurrence on arrays and keeps what backward-through-time needs (hidden and cell
states, activated gates, ``tanh(c)``). The first-order backward is a loop of raw-array passes
plus one GEMM for the weight gradient; with ``create_graph=True`` it re-runs the layer step by
step with recorded ember ops and differentiates that, so every order of gradient still works.

The input projection ``x @ W_ih^T + b_ih`` of every time step is one GEMM outside these ops.
On the benchmark's recurrent step (batch 16, 20 steps, 32 -> 64, Adam) LSTM went from 3.65 to
2.0 ms and GRU from 8.0 to 2.1 ms (PyTorch: 1.5 and 3.0 ms).
"""

from __future__ import annotations

import functools

import numpy as np

from ..._backend import ascontiguousarray
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op
from .._dispatch import refuse
from .activation import _lstm_consts, lstm_pointwise

_state = grad_mode._state


# -- single steps as recorded ops (cells, packed sequences, projections, create_graph) ------

def lstm_step(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh, w_hr=None):
    """One LSTM step from its input projection ``gi``: ``(h', c')``."""
    from ...nn import functional as F

    h, c = lstm_pointwise(gi + F.linear(h, w_hh, b_hh), c)  # one node for the gate math
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh) -> Tensor:
    """One GRU step from its input projection ``gi`` (gates ``[r, z, n]``)."""
    from ...nn import functional as F

    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r = F.sigmoid(i_r + h_r)
    z = F.sigmoid(i_z + h_z)
    n = F.tanh(i_n + r * h_n)
    return n + z * (h - n)  # (1 - z) * n + z * h


def rnn_step(relu: bool, gi: Tensor, h: Tensor, w_hh: Tensor, b_hh) -> Tensor:
    """One Elman step: ``act(gi + h W^T + b)``, ``act`` relu or tanh."""
    from ...nn import functional as F

    return (F.relu if relu else F.tanh)(gi + F.linear(h, w_hh, b_hh))


def _each_step(gi: Tensor, reverse: bool, step) -> Tensor:
    """``step(gi_t)`` over the time steps (last first when ``reverse``), outputs stacked in
    time order."""
    from ..shape.joining import stack

    steps = gi.unbind(0)
    seq = [step(g) for g in (steps[::-1] if reverse else steps)]
    return stack(seq[::-1] if reverse else seq, 0)


def _hidden_steps(gi: Tensor, h: Tensor, reverse: bool, cell) -> tuple:
    """``(out, h_n)`` of a cell ``cell(gi_t, h) -> h'`` whose only state is ``h``."""
    state = [h]

    def step(gi_t):
        state[0] = cell(gi_t, state[0])
        return state[0]

    return _each_step(gi, reverse, step), state[0]


def _param_grads(ctx, dz: np.ndarray, hs: np.ndarray, gi: Tensor, w_hh: Tensor, b_hh,
                 at_w: int) -> tuple:
    """The gradients of ``gi``, ``w_hh`` and ``b_hh`` from the per-step gradients ``dz`` of
    the hidden projection (processing order) and the states ``hs`` each step started from.
    ``at_w`` is ``w_hh``'s input index (the bias follows it)."""
    need = ctx.needs_input_grad
    steps, n, width = dz.shape
    flat = dz.reshape(steps * n, width)
    dgi = None
    if need[0]:
        dgi = _t(ascontiguousarray(dz[::-1]) if ctx.reverse else dz, gi)
    dw = _t(flat.T @ hs[:steps].reshape(steps * n, -1), w_hh) if need[at_w] else None
    db = _t(flat.sum(axis=0), b_hh) if b_hh is not None and need[at_w + 1] else None
    return dgi, dw, db


class LSTMLayer(Op):
    """``(gi, h0, c0, w_hh, b_hh) -> (out, h_n, c_n)`` for ``gi`` ``(L, N, 4H)``, the input
    projections of every step; ``reverse`` runs the sequence backwards (the reverse direction
    of a bidirectional LSTM)."""

    _name = "MkldnnRnnLayerBackward0"
    save_output = True  # as PyTorch's node does: changing ``out`` in place fails backward

    @staticmethod
    def forward(ctx, gi, h0, c0, w_hh, b_hh, reverse):
        ctx.save_for_backward(*ctx.inputs[:5])
        ctx.reverse = reverse
        steps, n, h = gi.shape[0], gi.shape[1], h0.shape[-1]
        dt = gi.dtype
        seq = gi[::-1] if reverse else gi
        xp = xp_of(gi)
        hs = xp.empty((steps + 1, n, h), dt)  # hs[k]: the hidden state step k starts from
        cs = xp.empty((steps + 1, n, h), dt)
        hs[0], cs[0] = h0, c0
        acts = xp.empty((steps, n, 4 * h), dt)  # activated gates [i, f, g, o] per step
        tcs = xp.empty((steps, n, h), dt)  # tanh(c) per step
        scale, offset = _lstm_consts(h, gi)
        # all four activations in one tanh pass, sigmoid(x) = tanh(x/2)/2 + 1/2, with the
        # halving folded into the weights and the input projections (exact: a power of 2)
        # so that a step costs 10 NumPy calls, not 13
        wt = w_hh.T * scale
        seq = (seq + b_hh) * scale if b_hh is not None else seq * scale
        for k in range(steps):
            a = acts[k]
            np.matmul(hs[k], wt, out=a)
            a += seq[k]
            np.tanh(a, out=a)
            a *= scale
            a += offset
            i, f, g, o = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
            c = np.multiply(f, cs[k], out=cs[k + 1])
            c += i * g
            np.tanh(c, out=tcs[k])
            np.multiply(o, tcs[k], out=hs[k + 1])
        ctx.cache = (hs, cs, acts, tcs)
        out = hs[1:][::-1] if reverse else hs[1:]
        # copies: the caller may change h_n and c_n in place; the cache must stay intact
        return out.copy(), hs[steps].copy(), cs[steps].copy()

    @staticmethod
    def backward(ctx, gout, ghn, gcn):
        gi, h0, c0, w_hh, b_hh, _ = ctx.saved_tensors
        if _state.enabled:
            return _recorded_backward(ctx, (gi, h0, c0, w_hh, b_hh), (gout, ghn, gcn))
        hs, cs, acts, tcs = ctx.cache
        steps, n, h = acts.shape[0], acts.shape[1], hs.shape[-1]
        dt = acts.dtype
        go = None if gout is None else (gout._data[::-1] if ctx.reverse else gout._data)
        dh = xp_of(acts).zeros((n, h), dt) if ghn is None else ghn._data.astype(dt, copy=True)
        dc = xp_of(acts).zeros((n, h), dt) if gcn is None else gcn._data.astype(dt, copy=True)
        dz = np.empty_like(acts)  # gradient of the pre-activation gates, per step
        w = w_hh._data
        # every step's local derivatives at once, so that a step of the loop below costs 7
        # NumPy calls, not 24: dc/dh through o and tanh(c), and each gate's pre-activation
        # gradient per unit of dc (i, f, g) or dh (o)
        gates = acts.reshape(steps, n, 4, h)
        i, f, g, o = (gates[:, :, j] for j in range(4))
        o_dtanh = o * (1 - tcs * tcs)
        per = np.empty_like(gates)
        np.multiply(g, i * (1 - i), out=per[:, :, 0])
        np.multiply(cs[:steps], f * (1 - f), out=per[:, :, 1])
        np.multiply(i, 1 - g * g, out=per[:, :, 2])
        np.multiply(tcs, o * (1 - o), out=per[:, :, 3])
        dzg = dz.reshape(steps, n, 4, h)
        for k in range(steps - 1, -1, -1):
            if go is not None:
                dh += go[k]
            dc += dh * o_dtanh[k]
            np.multiply(dc[:, None], per[k, :, :3], out=dzg[k, :, :3])
            np.multiply(dh, per[k, :, 3], out=dzg[k, :, 3])
            dc *= f[k]
            dh = dz[k] @ w
        need = ctx.needs_input_grad
        dgi, dw, db = _param_grads(ctx, dz, hs, gi, w_hh, b_hh, 3)
        return (dgi, _t(dh, h0) if need[1] else None, _t(dc, c0) if need[2] else None, dw, db,
                None)

    def _free(self):
        super()._free()
        self.cache = None


def _t(arr, like: Tensor) -> Tensor:
    return Tensor._make(arr, like._dtype)


def _recorded_backward(ctx, inputs, grads, steps_fn=None):
    """Gradients as a graph (``create_graph=True``): re-run the layer with recorded ops from
    the saved inputs and differentiate that."""
    from ...autograd import grad as autograd_grad

    need = ctx.needs_input_grad
    wanted = [t for t, nd in zip(inputs, need) if nd and t is not None]
    outs = (steps_fn or lstm_layer_steps)(*inputs, ctx.reverse)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    got = iter(autograd_grad([o for o, _ in pairs], wanted, [g for _, g in pairs],
                             create_graph=True, allow_unused=True))
    return tuple(next(got) if nd and t is not None else None
                 for t, nd in zip(inputs, need)) + (None,)


def lstm_layer_steps(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh, reverse: bool,
                     w_hr=None):
    """The same layer as recorded ops, one time step after another: ``(out, h_n, c_n)``
    (with ``w_hr``, the projected LSTM, which has no fused form)."""
    state = [h, c]

    def step(gi_t):
        state[0], state[1] = lstm_step(gi_t, state[0], state[1], w_hh, b_hh, w_hr)
        return state[0]

    return _each_step(gi, reverse, step), state[0], state[1]


def lstm_layer(gi: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, b_hh: Tensor | None,
               reverse: bool = False):
    """One direction of one LSTM layer over a whole sequence: ``(out, h_n, c_n)``.

    Example:
        >>> out, h, c = lstm_layer(ember.zeros(5, 2, 12), ember.zeros(2, 3), ember.zeros(2, 3),
        ...                        ember.zeros(12, 3), None)
        >>> out.shape
        torch.Size([5, 2, 3])
    """
    if not _fusable(gi, h0, c0, w_hh, b_hh):  # the step path raises PyTorch's errors
        _refuse_hidden_mm(gi, h0, w_hh)
        return lstm_layer_steps(gi, h0, c0, w_hh, b_hh, reverse)
    return LSTMLayer.apply(gi, h0, c0, w_hh, b_hh, reverse)


def _refuse_hidden_mm(gi, h0, w_hh) -> None:
    """torch's first step is ``linear(h, w_hh)``: its addmm has no bool loop."""
    if gi.shape[0] > 0 and h0._dtype is w_hh._dtype:
        refuse("mm", w_hh._dtype)


def _fusable(gi, *others) -> bool:
    """Same floating dtype, NumPy arrays, and at least one step (other dtypes take the step
    path, whose ops refuse what torch's refuse)."""
    return gi.shape[0] > 0 and gi._dtype.is_floating_point and type(gi._data) is np.ndarray and all(
        t._dtype is gi._dtype and type(t._data) is np.ndarray for t in others if t is not None)


# -- GRU ------------------------------------------------------------------------------------

class GRULayer(Op):
    """``(gi, h0, w_hh, b_hh) -> (out, h_n)`` for ``gi`` ``(L, N, 3H)`` (gates ``[r, z, n]``):
    ``r, z = sigmoid(gi + h W^T + b)``, ``n = tanh(gi_n + r * (h W_n^T + b_n))``,
    ``h' = n + z * (h - n)``."""

    # PyTorch's CPU GRU runs step by step and stacks the outputs: its node is a stack, which
    # saves nothing (the output may be changed in place; this op keeps its own copy)
    _name = "StackBackward0"

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, reverse):
        ctx.save_for_backward(*ctx.inputs[:4])
        ctx.reverse = reverse
        steps, n, h = gi.shape[0], gi.shape[1], h0.shape[-1]
        dt = gi.dtype
        seq = gi[::-1] if reverse else gi
        xp = xp_of(gi)
        hs = xp.empty((steps + 1, n, h), dt)
        hs[0] = h0
        acts = xp.empty((steps, n, 3 * h), dt)  # r, z, n per step
        ghn = xp.empty((steps, n, h), dt)  # h W_n^T + b_n per step (r multiplies it)
        wt = w_hh.T
        half = dt.type(0.5)
        for k in range(steps):
            gh = hs[k] @ wt
            if b_hh is not None:
                gh += b_hh
            a = acts[k]
            rz = a[:, :2 * h]
            np.add(seq[k][:, :2 * h], gh[:, :2 * h], out=rz)
            rz *= half  # sigmoid(x) = tanh(x/2)/2 + 1/2
            np.tanh(rz, out=rz)
            rz *= half
            rz += half
            ghn[k] = gh[:, 2 * h:]
            nn_ = a[:, 2 * h:]
            np.multiply(a[:, :h], ghn[k], out=nn_)
            nn_ += seq[k][:, 2 * h:]
            np.tanh(nn_, out=nn_)
            hk = np.subtract(hs[k], nn_, out=hs[k + 1])
            hk *= a[:, h:2 * h]
            hk += nn_
        ctx.cache = (hs, acts, ghn)
        out = hs[1:][::-1] if reverse else hs[1:]
        return out.copy(), hs[steps].copy()

    @staticmethod
    def backward(ctx, gout, ghn_out):
        gi, h0, w_hh, b_hh = ctx.saved_tensors
        if _state.enabled:
            return _recorded_backward(ctx, (gi, h0, w_hh, b_hh), (gout, ghn_out),
                                      gru_layer_steps)
        hs, acts, ghn = ctx.cache
        steps, n, h = acts.shape[0], acts.shape[1], hs.shape[-1]
        dt = acts.dtype
        go = None if gout is None else (gout._data[::-1] if ctx.reverse else gout._data)
        dh = xp_of(acts).zeros((n, h), dt) if ghn_out is None else \
            ghn_out._data.astype(dt, copy=True)
        dgi = np.empty_like(acts)
        dgh = np.empty_like(acts)
        w = w_hh._data
        for k in range(steps - 1, -1, -1):
            if go is not None:
                dh += go[k]
            a = acts[k]
            r, z, nn_ = a[:, :h], a[:, h:2 * h], a[:, 2 * h:]
            dn = dh * (1 - z) * (1 - nn_ * nn_)  # through tanh
            d = dgi[k]
            np.multiply(dh * (hs[k] - nn_), z * (1 - z), out=d[:, h:2 * h])
            np.multiply(dn * ghn[k], r * (1 - r), out=d[:, :h])
            d[:, 2 * h:] = dn
            e = dgh[k]
            e[:, :2 * h] = d[:, :2 * h]
            np.multiply(dn, r, out=e[:, 2 * h:])
            dh = dh * z + e @ w
        need = ctx.needs_input_grad
        _, dw, db = _param_grads(ctx, dgh, hs, gi, w_hh, b_hh, 2)
        dgi_t = None
        if need[0]:  # r and z take the same gradient from gi and gh; n's differ by r
            dgi_t = _t(ascontiguousarray(dgi[::-1]) if ctx.reverse else dgi, gi)
        return dgi_t, _t(dh, h0) if need[1] else None, dw, db, None

    def _free(self):
        super()._free()
        self.cache = None


def gru_layer_steps(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh, reverse: bool):
    """The same GRU layer as recorded ops, one time step after another: ``(out, h_n)``."""
    return _hidden_steps(gi, h, reverse, lambda g, h_: gru_step(g, h_, w_hh, b_hh))


def gru_layer(gi: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None,
              reverse: bool = False):
    """One direction of one GRU layer over a whole sequence: ``(out, h_n)``.

    Example:
        >>> out, h = gru_layer(ember.zeros(5, 2, 9), ember.zeros(2, 3), ember.zeros(9, 3), None)
        >>> out.shape
        torch.Size([5, 2, 3])
    """
    if not _fusable(gi, h0, w_hh, b_hh):  # the step path raises PyTorch's errors
        _refuse_hidden_mm(gi, h0, w_hh)
        return gru_layer_steps(gi, h0, w_hh, b_hh, reverse)
    return GRULayer.apply(gi, h0, w_hh, b_hh, reverse)


# -- Elman RNN ------------------------------------------------------------------------------

class RNNLayer(Op):
    """``(gi, h0, w_hh, b_hh) -> (out, h_n)`` with ``h' = act(gi + h W^T + b)``, ``act`` tanh
    or relu."""

    _name = "StackBackward0"  # as PyTorch's CPU RNN records it (a stack of the steps)

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, reverse, relu):
        ctx.save_for_backward(*ctx.inputs[:4])
        ctx.reverse, ctx.relu = reverse, relu
        steps = gi.shape[0]
        seq = gi[::-1] if reverse else gi
        hs = xp_of(gi).empty((steps + 1,) + h0.shape, gi.dtype)
        hs[0] = h0
        wt = w_hh.T
        for k in range(steps):
            a = np.matmul(hs[k], wt, out=hs[k + 1])
            if b_hh is not None:
                a += b_hh
            a += seq[k]
            if relu:
                np.maximum(a, 0, out=a)
            else:
                np.tanh(a, out=a)
        ctx.cache = hs
        out = hs[1:][::-1] if reverse else hs[1:]
        return out.copy(), hs[steps].copy()

    @staticmethod
    def backward(ctx, gout, ghn_out):
        gi, h0, w_hh, b_hh = ctx.saved_tensors
        if _state.enabled:
            return _recorded_backward(ctx, (gi, h0, w_hh, b_hh), (gout, ghn_out),
                                      functools.partial(rnn_layer_steps, relu=ctx.relu)) + (None,)
        hs = ctx.cache
        steps = hs.shape[0] - 1
        dt = hs.dtype
        go = None if gout is None else (gout._data[::-1] if ctx.reverse else gout._data)
        dh = xp_of(hs).zeros(hs.shape[1:], dt) if ghn_out is None else \
            ghn_out._data.astype(dt, copy=True)
        dpre = xp_of(hs).empty(hs[1:].shape, dt)
        w = w_hh._data
        for k in range(steps - 1, -1, -1):
            if go is not None:
                dh += go[k]
            y = hs[k + 1]
            d = np.multiply(dh, y != 0, out=dpre[k]) if ctx.relu else \
                np.multiply(dh, 1 - y * y, out=dpre[k])
            dh = d @ w
        dgi, dw, db = _param_grads(ctx, dpre, hs, gi, w_hh, b_hh, 2)
        return dgi, _t(dh, h0) if ctx.needs_input_grad[1] else None, dw, db, None, None

    def _free(self):
        super()._free()
        self.cache = None


def rnn_layer_steps(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh, reverse: bool, relu: bool):
    """The same Elman layer as recorded ops, one time step after another: ``(out, h_n)``."""
    return _hidden_steps(gi, h, reverse, lambda g, h_: rnn_step(relu, g, h_, w_hh, b_hh))


def rnn_layer(gi: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None, reverse: bool = False,
              relu: bool = False):
    """One direction of one Elman RNN layer (tanh, or relu) over a sequence: ``(out, h_n)``.

    Example:
        >>> out, h = rnn_layer(ember.zeros(5, 2, 3), ember.zeros(2, 3), ember.zeros(3, 3), None)
        >>> out.shape
        torch.Size([5, 2, 3])
    """
    if not _fusable(gi, h0, w_hh, b_hh):  # the step path raises PyTorch's errors
        _refuse_hidden_mm(gi, h0, w_hh)
        return rnn_layer_steps(gi, h0, w_hh, b_hh, reverse, relu)
    return RNNLayer.apply(gi, h0, w_hh, b_hh, reverse, relu)
