"""``fuse_modules``: replace runs of modules (Conv-BN-ReLU, Linear-ReLU ...) by one fused
module, the rest of the run by ``Identity``. In eval mode BatchNorm is folded into the
preceding Conv/Linear; ``fuse_modules_qat`` keeps it (as ``ConvBn2d`` ...) for training."""

from __future__ import annotations

import copy

from ... import nn
from ..nn import intrinsic as nni

__all__ = ["fuse_modules", "fuse_modules_qat", "fuse_known_modules", "get_fuser_method"]


def _conv_bn(is_qat, conv, bn, relu=None):
    if conv.training != bn.training:
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    kinds = {nn.Conv1d: (nni.ConvBn1d, nni.ConvBnReLU1d, nni.ConvReLU1d),
             nn.Conv2d: (nni.ConvBn2d, nni.ConvBnReLU2d, nni.ConvReLU2d),
             nn.Conv3d: (nni.ConvBn3d, nni.ConvBnReLU3d, nni.ConvReLU3d)}
    bn_cls, bn_relu_cls, relu_cls = kinds[type(conv)]
    if is_qat:
        if bn.num_features != conv.out_channels:
            # torch's words name the 2-D layers whatever the rank; only Conv+BN ends in "."
            raise AssertionError("Output channel of Conv2d must match num_features of "
                                 "BatchNorm2d" + ("." if relu is None else ""))
        return bn_cls(conv, bn) if relu is None else bn_relu_cls(conv, bn, relu)
    if conv.training:
        raise AssertionError("Fusion only for eval!")
    fused = nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
    return fused if relu is None else relu_cls(fused, relu)


def _conv_relu(is_qat, conv, relu):
    kinds = {nn.Conv1d: nni.ConvReLU1d, nn.Conv2d: nni.ConvReLU2d, nn.Conv3d: nni.ConvReLU3d}
    return kinds[type(conv)](conv, relu)


def _linear_bn(is_qat, linear, bn):
    if linear.training != bn.training:
        raise AssertionError("Linear and BN both must be in the same mode (train or eval).")
    if is_qat:
        if bn.num_features != linear.out_features:
            raise AssertionError("Output features of Linear must match num_features of "
                                 "BatchNorm1d")
        return nni.LinearBn1d(linear, bn)
    if linear.training:
        raise AssertionError("Fusion only for eval!")
    return nn.utils.fusion.fuse_linear_bn_eval(linear, bn)


def _bn_relu(is_qat, bn, relu):
    return (nni.BNReLU2d if type(bn) is nn.BatchNorm2d else nni.BNReLU3d)(bn, relu)


_FUSERS = {
    (nn.Conv1d, nn.BatchNorm1d): _conv_bn, (nn.Conv2d, nn.BatchNorm2d): _conv_bn,
    (nn.Conv3d, nn.BatchNorm3d): _conv_bn,
    (nn.Conv1d, nn.BatchNorm1d, nn.ReLU): _conv_bn,
    (nn.Conv2d, nn.BatchNorm2d, nn.ReLU): _conv_bn,
    (nn.Conv3d, nn.BatchNorm3d, nn.ReLU): _conv_bn,
    (nn.Conv1d, nn.ReLU): _conv_relu, (nn.Conv2d, nn.ReLU): _conv_relu,
    (nn.Conv3d, nn.ReLU): _conv_relu,
    (nn.Linear, nn.ReLU): lambda is_qat, linear, relu: nni.LinearReLU(linear, relu),
    (nn.Linear, nn.BatchNorm1d): _linear_bn,
    (nn.BatchNorm2d, nn.ReLU): _bn_relu, (nn.BatchNorm3d, nn.ReLU): _bn_relu,
}


def get_fuser_method(op_list, additional_fuser_method_mapping=None):
    """The function that fuses modules of these types (a tuple of classes).

    Example:
        >>> from ember.ao.quantization import get_fuser_method
        >>> get_fuser_method((ember.nn.Linear, ember.nn.ReLU)) is not None
        True
    """
    table = dict(_FUSERS, **(additional_fuser_method_mapping or {}))
    fuser = table.get(tuple(op_list))
    if fuser is None:
        raise AssertionError(f"did not find fuser method for: {tuple(op_list)} ")
    return fuser


def fuse_known_modules(mod_list, is_qat, additional_fuser_method_mapping=None):
    """The fused module followed by ``Identity`` for each other module of ``mod_list``.

    Example:
        >>> from ember.ao.quantization import fuse_known_modules
        >>> fuse_known_modules([ember.nn.Linear(2, 2), ember.nn.ReLU()], False)[1]
        Identity()
    """
    fuser = get_fuser_method(tuple(type(m) for m in mod_list),
                             additional_fuser_method_mapping)
    fused = fuser(is_qat, *mod_list)
    return [fused] + [nn.Identity() for _ in mod_list[1:]]


def _get(model, name):
    for part in name.split("."):
        model = getattr(model, part)
    return model


def _set(model, name, module):
    *path, last = name.split(".")
    for part in path:
        model = getattr(model, part)
    setattr(model, last, module)


def _fuse(model, modules_to_fuse, is_qat, inplace, fuser_func, fuse_custom_config_dict):
    if not inplace:
        model = copy.deepcopy(model)
    groups = modules_to_fuse
    if all(isinstance(n, str) for n in groups):
        groups = [groups]
    extra = (fuse_custom_config_dict or {}).get("additional_fuser_method_mapping", {})
    for names in groups:
        mods = [_get(model, n) for n in names]
        new = fuser_func(mods, is_qat, extra)
        for name, module in zip(names, new):
            _set(model, name, module)
    return model


def fuse_modules(model, modules_to_fuse, inplace=False, fuser_func=fuse_known_modules,
                 fuse_custom_config_dict=None):
    """Fuse each listed run of submodules (names, e.g. ``[["conv", "bn", "relu"]]``) of an
    eval-mode model: Conv+BN(+ReLU) become one Conv (``ConvReLU2d``), Linear+ReLU
    ``LinearReLU``; the other names become ``Identity``.

    Example:
        >>> m = ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.ReLU()).eval()
        >>> type(ember.ao.quantization.fuse_modules(m, [["0", "1"]])[0]).__name__
        'LinearReLU'
    """
    return _fuse(model, modules_to_fuse, False, inplace, fuser_func, fuse_custom_config_dict)


def fuse_modules_qat(model, modules_to_fuse, inplace=False, fuser_func=fuse_known_modules,
                     fuse_custom_config_dict=None):
    """``fuse_modules`` for a training model: BatchNorm is kept (``ConvBnReLU2d`` ...), for
    ``prepare_qat``.

    Example:
        >>> m = ember.nn.Sequential(ember.nn.Conv2d(1, 2, 3), ember.nn.BatchNorm2d(2))
        >>> type(ember.ao.quantization.fuse_modules_qat(m, [["0", "1"]])[0]).__name__
        'ConvBn2d'
    """
    return _fuse(model, modules_to_fuse, True, inplace, fuser_func, fuse_custom_config_dict)
