"""Lets torchvision's Python parts import beside a CPU-only torch, for recording only.

torchvision's wheels for torch 2.13 carry compiled ops (``torchvision._C``) built against CUDA
libraries that a CPU torch lacks; importing torchvision then fails on its first operator
registration. Declaring the operators' names (with no kernels) is enough for transforms,
utils, models, box ops, the losses and ``roi_align``'s Python fallback to run; ``nms`` and the
other compiled kernels stay unusable, so programs recorded this way avoid them. See
``test_programs.py`` for the recipe.
"""

import torch

_lib = torch.library.Library("torchvision", "DEF")
for _name in ("nms", "qnms", "roi_align", "_roi_align_backward", "ps_roi_align",
              "_ps_roi_align_backward", "roi_pool", "_roi_pool_backward", "ps_roi_pool",
              "_ps_roi_pool_backward", "deform_conv2d", "_deform_conv2d_backward"):
    _lib.define(f"{_name}(Tensor a) -> Tensor")
