"""Run torchvision 0.28's video models for the live checks of ``test_models_video.py`` and save
what they did to an ``.npz``: the state dict (``state/...``), the input, the eval and train
outputs (train after ``torch.manual_seed(3)``) and the gradient of every parameter named in
``GRADS`` for the sum of the output of a pass in ``GRAD_MODE`` (again after the seed).

The video ResNets' gradients are taken in eval mode: in train mode their batch norms see only a
few positions per channel in the last stages of a small clip, and the gradients there change by
percents when the input moves by 1e-5 (torch against itself), so float32 rounding alone would
fail a comparison.

Usage (torchvision beside the oracle torch, with the shim that lets it import)::

    PYTHONPATH=tests/programs/_torchvision_shim:$EMBER_TORCHVISION_PATH \
        python tests/vision/_video_oracle.py CASE OUT.npz
"""

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))

CASES = ("mvit_small_v1", "mvit_small_v2", "r2plus1d_18")
GRADS = {"mvit_small_v1": ["blocks.0.attn.qkv.weight", "pos_encoding.spatial_pos"],
         "mvit_small_v2": ["blocks.0.attn.qkv.weight", "blocks.0.attn.rel_pos_h",
                           "blocks.3.attn.pool_q.pool.weight"],
         "r2plus1d_18": ["stem.0.weight", "layer2.0.conv1.0.3.weight", "fc.weight"]}
GRAD_MODE = {"mvit_small_v1": "train", "mvit_small_v2": "train", "r2plus1d_18": "eval"}


def build(case, module):
    """The case's model from ``module`` (torchvision's or ember's ``models.video.mvit`` /
    ``models.video``), and its input shape."""
    from make_models_video import SMALL_KWARGS, small_mvit

    if case.startswith("mvit_small"):
        return small_mvit(module.mvit, case.endswith("v2"), **SMALL_KWARGS), (2, 3, 4, 32, 32)
    return getattr(module, case)(num_classes=5), (2, 3, 4, 32, 32)


def record(case, path):
    import torch
    from torchvision.models import video

    torch.manual_seed(0)
    model, shape = build(case, video)
    # the initial state (a train pass moves the norms' running statistics)
    arrays = {f"state/{k}": v.numpy().copy() for k, v in model.state_dict().items()}
    torch.manual_seed(1)
    x = torch.randn(*shape)
    with torch.no_grad():
        eval_out = model.eval()(x)
    model.train()
    torch.manual_seed(3)
    with torch.no_grad():
        train_out = model(x)
    model.train(GRAD_MODE[case] == "train")
    torch.manual_seed(3)
    model(x).sum().backward()
    params = dict(model.named_parameters())
    arrays.update({f"grad/{k}": params[k].grad.numpy() for k in GRADS[case]})
    np.savez(path, x=x.numpy(), eval_out=eval_out.numpy(),
             train_out=train_out.numpy(), **arrays)


if __name__ == "__main__":
    record(sys.argv[1], sys.argv[2])
