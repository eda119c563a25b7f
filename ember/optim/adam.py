"""Adam (and the decoupled-weight-decay form AdamW uses), as ``torch.optim.Adam``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .. import _blas
from .._tensor import Tensor
from ._multi_tensor import Buckets, flat_params
from .optimizer import Optimizer, _check_lr, _new_scalar, _real_view, _to_scalar, _zeros_like

__all__ = ["Adam"]


def _check_betas_eps(lr, betas, eps, weight_decay) -> None:
    _check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _check_beta_types(betas, foreach, capturable) -> None:
    """Adam's betas are two floats or two one-element tensors, as PyTorch insists (an int
    such as ``betas=(0, 0.99)`` is refused there too); tensors need the single-tensor step."""
    both_floats = all(isinstance(b, float) for b in betas)
    if not both_floats and not all(isinstance(b, Tensor) for b in betas):
        raise ValueError("betas must be either both floats or both Tensors")
    for i, beta in enumerate(betas):
        if isinstance(beta, Tensor):
            if foreach and not capturable:
                raise ValueError(f"betas[{i}] as a Tensor is not supported for "
                                 "capturable=False and foreach=True")
            if beta.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")


def _bias_corrections(betas, step) -> tuple[float, float]:
    """``1 - beta1 ** step`` and ``sqrt(1 - beta2 ** step)`` as Python floats.

    A tensor beta works in its own dtype, as PyTorch's ``1 - beta ** step`` on a 0-d tensor
    does: in float32 the cancellation (``1 - 0.999 ** 2``) keeps ~1e-5 relative error, and
    PyTorch's updates carry it, so ours do too.
    """
    beta1, beta2 = betas
    if not isinstance(beta1, Tensor) and not isinstance(beta2, Tensor):
        return 1 - beta1 ** step, (1 - beta2 ** step) ** 0.5
    return _one_minus_pow(beta1, step), float(np.sqrt(_one_minus_pow(beta2, step)))


def _one_minus_pow(beta, step):
    """``1 - beta ** step``: in float64 for a number, in the tensor's dtype for a tensor
    (squares and cubes by multiplication, as PyTorch's pow of a tensor by a number)."""
    if not isinstance(beta, Tensor):
        return np.float64(1 - beta ** step)
    base = beta._data.reshape(())[()]
    if step == 2:
        power = base * base
    elif step == 3:
        power = base * base * base
    else:
        power = base ** base.dtype.type(step)
    return float(base.dtype.type(1) - power)


# Running averages in fused passes: OpenBLAS's axpby (``y = a*x + b*y``, one pass) where it
# applies (float32/float64, contiguous), else NumPy through a scratch array. On the MLP
# benchmark's Adam (270k float32 parameters) the update went from 12 passes to 7.

def _lerp_(avg, g, weight, tmp) -> None:
    """``avg += weight * (g - avg)`` in place (``Tensor.lerp_``), through scratch ``tmp``."""
    if _blas.axpby(weight, g, 1 - weight, avg):
        return
    np.subtract(g, avg, out=tmp)
    np.multiply(tmp, weight, out=tmp)
    np.add(avg, tmp, out=avg)


def _ema_sq_(avg, g, beta, tmp) -> None:
    """``avg = beta * avg + (1 - beta) * g * g`` in place, through scratch ``tmp``."""
    np.multiply(g, g, out=tmp)
    if _blas.axpby(1 - beta, tmp, beta, avg):
        return
    np.multiply(avg, beta, out=avg)
    np.multiply(tmp, 1 - beta, out=tmp)
    np.add(avg, tmp, out=avg)


class Adam(Optimizer):
    """Adam: adaptive moment estimation (Kingma & Ba, 2014).

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages of the gradient and its square
            (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0), or decoupled decay (see AdamW).
        amsgrad: use the AMSGrad variant (default False).
        maximize: maximize the objective instead of minimizing (default False).
        decoupled_weight_decay: apply weight decay to the weights directly, as AdamW.
        differentiable: record the step in autograd (default False), so that a later loss
            can be differentiated with respect to a tensor ``lr`` or ``betas``, the given
            ``p.grad`` and the weights before the step; the weights may be non-leaf tensors.

    Example:
        >>> opt = ember.optim.Adam(model.parameters(), lr=1e-3)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def _sparse_grad_error(self) -> str:
        return "Adam does not support sparse gradients, please consider SparseAdam instead"

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, Tensor) and foreach and not capturable:
            # PyTorch's foreach kernels take the lr as a number: refused there, so here too
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        _check_betas_eps(lr, betas, eps, weight_decay)
        _check_beta_types(betas, foreach, capturable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    # Filled into param groups of older state dicts (see Optimizer.__setstate__).
    _group_defaults = {
        "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
        "differentiable": False, "decoupled_weight_decay": False, "fused": None
    }
    _tensor_state_keys = ("step",)
    _differentiable_step = True

    def step(self, closure: Callable | None = None):
        """Perform a single optimization step (``closure`` re-evaluates the loss, optional)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            if self._record_step(group):
                continue
            lr = _to_scalar(group["lr"])
            beta1, beta2 = (_to_scalar(b) for b in group["betas"])
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            flat = None if amsgrad else flat_params(group, self.state)
            if flat is not None:
                self._bucketed_step(group, flat, lr, beta1, beta2, eps, weight_decay, decoupled,
                                    maximize)
                continue
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(state, p, group)
                # complex parameters update as their real views, as PyTorch's
                pd = _real_view(p._data)
                step = self._advance_step(state)
                g = _real_view(self._decayed_grad(p, lr, weight_decay, decoupled, maximize))
                m = _real_view(state["exp_avg"]._data)
                v = _real_view(state["exp_avg_sq"]._data)
                tmp = self._buffer(pd)
                _lerp_(m, g, 1 - beta1, tmp)
                _ema_sq_(v, g, beta2, tmp)
                bias_correction1, bias_correction2_sqrt = _bias_corrections(group["betas"],
                                                                            step)
                if amsgrad:
                    vmax = _real_view(state["max_exp_avg_sq"]._data)
                    np.maximum(vmax, v, out=vmax)
                    v = vmax
                # m / (sqrt(v) / c + eps) == c * m / (sqrt(v) + eps * c): one pass fewer.
                np.sqrt(v, out=tmp)
                np.add(tmp, eps * bias_correction2_sqrt, out=tmp)
                np.divide(m, tmp, out=tmp)
                self._add_scaled(pd, -lr * bias_correction2_sqrt / bias_correction1, tmp)
                p._vbox[0] += 1
        return loss

    def _init_state(self, state: dict, p, group: dict) -> None:
        """A parameter's state before its first step (both step paths)."""
        state["step"] = _new_scalar(0.0)
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(p)

    def _recorded_step(self, group: dict) -> None:
        """One group's step in Tensor ops, recorded by autograd (``differentiable=True``).

        The moment buffers join the graph (a later loss reaches the gradients of every step
        through them); ``lr`` and ``betas`` may be tensors that receive gradients.
        """
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        amsgrad = group["amsgrad"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                self._init_state(state, p, group)
            step = self._advance_step(state)
            g = self._recorded_adam_grad(p, group, lr)
            w, g, m, v = self._real_views(p, g, state["exp_avg"], state["exp_avg_sq"])
            m.lerp_(g, 1 - beta1)
            if isinstance(beta2, Tensor):  # a tensor beta2 must stay in the graph
                v.lerp_(g * g, 1 - beta2)
            else:
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            if amsgrad:
                (vmax,) = self._real_views(state["max_exp_avg_sq"])
                # through a copy: ``maximum`` saves its inputs, and vmax changes right here
                vmax.copy_(vmax.clone().maximum(v))
                v = vmax
            # PyTorch's recorded step works these scalars out from the 0-d ``step`` tensor,
            # so in its dtype (float32) where beta and lr are Python numbers: rounded alike.
            f = state["step"]._data.dtype.type
            if isinstance(beta1, Tensor):
                bias_correction1 = 1 - beta1 ** step
            else:
                bias_correction1 = float(f(1) - f(beta1) ** f(step))
            if isinstance(beta2, Tensor):
                bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            else:
                bias_correction2_sqrt = float(np.sqrt(f(1) - f(beta2) ** f(step)))
            denom = v.sqrt() / bias_correction2_sqrt + eps
            # exp_avg through a copy, as PyTorch's recorded step: addcdiv_ keeps its tensor1
            # for the backward, and exp_avg changes in place at the next step
            if isinstance(lr, Tensor) or isinstance(bias_correction1, Tensor):
                # scaling the denominator (a fresh tensor), not exp_avg, keeps exp_avg out of
                # a saved product, so its next in-place update leaves this step's graph intact
                w.addcdiv_(m.clone(), denom * (bias_correction1 / lr), value=-1)
            else:
                w.addcdiv_(m.clone(), denom, value=-float(f(lr) / f(bias_correction1)))

    def _bucketed_step(self, group, params, lr, beta1, beta2, eps, weight_decay, decoupled,
                       maximize) -> None:
        """The loop above over ``params`` (see ``flat_params``) with each pass of the update
        run once per bucket of parameters (``_multi_tensor``); the same arithmetic per number."""
        store = self.__dict__.setdefault("_buckets", {})
        key = id(group)
        buckets = store.get(key)
        if buckets is None or not buckets.current(params, self.state):
            buckets = store[key] = Buckets(params, self.state)
        step = 0.0
        for p in params:
            step = self._advance_step(self.state[p])
        bias_correction1, bias_correction2_sqrt = _bias_corrections(group["betas"], step)
        coupled = weight_decay if not decoupled else 0
        # decoupled decay joins the weight update (p = (1 - lr wd) p + a u, one BLAS pass)
        shrink = 1 - lr * weight_decay if decoupled else 1
        for bucket_params, m, v, _ in buckets.buckets:
            tmp = self._buffer(m, 3)
            if len(bucket_params) == 1 and not coupled and not maximize:
                g = bucket_params[0]._grad._data.reshape(-1)
            elif not coupled and not maximize:
                g = np.concatenate([p._grad._data.reshape(-1) for p in bucket_params],
                                   out=self._buffer(m, 4))
            else:
                g = self._buffer(m, 4)
                at = 0
                for p in bucket_params:
                    n = p._data.size
                    out = g[at:at + n].reshape(p._data.shape)
                    at += n
                    gd = p._grad._data
                    if coupled:  # as _grad_of: p * wd, then the gradient added (or taken away)
                        np.multiply(p._data, coupled, out=out)
                        (np.subtract if maximize else np.add)(out, gd, out=out)
                    else:
                        np.negative(gd, out=out)
            _lerp_(m, g, 1 - beta1, tmp)
            _ema_sq_(v, g, beta2, tmp)
            # m / (sqrt(v) / c + eps) == c * m / (sqrt(v) + eps * c): one pass fewer.
            np.sqrt(v, out=tmp)
            np.add(tmp, eps * bias_correction2_sqrt, out=tmp)
            np.divide(m, tmp, out=tmp)
            scale = -lr * bias_correction2_sqrt / bias_correction1
            at = 0
            for p in bucket_params:
                n = p._data.size
                update = tmp[at:at + n].reshape(p._data.shape)
                at += n
                if shrink != 1:
                    self._scale_add(p._data, shrink, update, scale)
                else:
                    self._add_scaled(p._data, scale, update)
                p._vbox[0] += 1
