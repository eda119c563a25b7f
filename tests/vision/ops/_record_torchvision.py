"""Record torchvision 0.29's ``ops`` outputs into ``torchvision_ops.npz`` (the tests' oracle).

torchvision cannot be installed beside the torch the test suite uses, so its answers are
stored. Run from the repository root with an interpreter that has torch and torchvision::

    /tmp/tvvenv/bin/python tests/vision/ops/_record_torchvision.py

Inputs come from ``_cases.py`` (seeded NumPy, shared with the tests); outputs and input
gradients go under the case's name. Gradients are of ``(out * upstream).sum()`` with a seeded
``upstream`` of the output's shape (``cases.upstream``).
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torchvision import ops
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _cases as cases  # noqa: E402
import _detection_program  # noqa: E402

torch.set_num_threads(1)
OUT = {}


def t(a, grad=False):
    if a is None:
        return None
    x = torch.from_numpy(np.array(a, copy=True))
    return x.requires_grad_() if grad else x


def record_call(name, fn, arrays, grad_of=(), **kw):
    """Call ``fn`` on tensors made from ``arrays``; store the output and input gradients."""
    ins = [t(a, i in grad_of) for i, a in enumerate(arrays)]
    try:
        out = fn(*ins, **kw)
    except Exception as err:  # the type and message are the record
        OUT[f"{name}/error"] = np.array(f"{type(err).__name__}: {err}")
        return
    OUT[f"{name}/out"] = out.detach().numpy()
    if grad_of and out.requires_grad:
        up = cases.upstream(out.shape, out.dtype == torch.float64)
        (out * t(up)).sum().backward()
        for i in grad_of:
            g = ins[i].grad
            OUT[f"{name}/grad{i}"] = np.zeros(ins[i].shape, np.float32) if g is None else g.numpy()


def record_boxes():
    for name, fn_name, arrays, kw, grads in cases.box_cases():
        record_call(name, getattr(ops, fn_name), arrays, grads, **kw)


def record_losses():
    for name, fn_name, arrays, kw, grads in cases.loss_cases():
        record_call(name, getattr(ops, fn_name), arrays, grads, **kw)


def record_roi():
    for name, fn_name, arrays, kw, grads in cases.roi_cases():
        fn = getattr(ops, fn_name)
        if kw.pop("as_list", False):
            def fn(x, rois, _fn=fn, **k):
                per_image = [rois[rois[:, 0] == i, 1:] for i in range(x.shape[0])]
                return _fn(x, per_image, **k)
        record_call(name, fn, arrays, grads, **kw)


def record_layers():
    for name, build, x in cases.layer_cases(torch, ops, LastLevelMaxPool, LastLevelP6P7):
        torch.manual_seed(0)
        module = build()
        OUT[f"{name}/repr"] = np.array(repr(module))
        sd = module.state_dict()
        OUT[f"{name}/keys"] = np.array(list(sd))
        cases.fill_state(module, lambda a: t(a))
        module.eval()
        if x is None:
            continue
        with torch.no_grad():
            if isinstance(x, dict):
                y = module({k: t(v) for k, v in x.items()})
                for k, v in y.items():
                    OUT[f"{name}/out_{k}"] = v.numpy()
            else:
                OUT[f"{name}/out"] = module(t(x)).numpy()


def deform(x, offset, weight, bias, mask, **kw):
    return ops.deform_conv2d(x, offset, weight, bias, mask=mask, **kw)


def record_deform():
    for name, arrays, kw, grads in cases.deform_cases():
        record_call(name, deform, arrays, grads, **kw)


def record_multiscale():
    for name, args, kw, feats, boxes, shapes in cases.multiscale_cases():
        module = ops.MultiScaleRoIAlign(*args, **kw)
        OUT[f"{name}/repr"] = np.array(repr(module))
        x = {k: t(v, grad=True) for k, v in feats.items()}
        out = module(x, [t(b) for b in boxes], shapes)
        OUT[f"{name}/out"] = out.detach().numpy()
        (out * t(cases.upstream(out.shape))).sum().backward()
        for k, v in x.items():
            if v.grad is not None:
                OUT[f"{name}/grad_{k}"] = v.grad.numpy()


def record_errors():
    for name, thunk in cases.error_cases(torch, ops):
        try:
            thunk()
        except Exception as err:  # the type and message are the record
            OUT[f"{name}/error"] = np.array(f"{type(err).__name__}: {err}")


def record_program():
    for k, v in _detection_program.run(torch, F, ops, _detection_program.make_params()).items():
        OUT[f"program/{k}"] = v


if __name__ == "__main__":
    record_boxes()
    record_losses()
    record_roi()
    record_layers()
    record_multiscale()
    record_deform()
    record_errors()
    record_program()
    OUT["versions"] = np.array(f"torch {torch.__version__}, torchvision "
                               f"{__import__('torchvision').__version__}")
    path = os.path.join(HERE, "torchvision_ops.npz")
    np.savez_compressed(path, **OUT)
    print(f"{len(OUT)} arrays, {os.path.getsize(path)} bytes -> {path}")
