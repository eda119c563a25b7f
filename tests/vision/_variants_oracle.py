"""Run torchvision 0.28 for the live checks of ``test_models_variants.py``: build one variant
after ``torch.manual_seed(0)``, give its BatchNorm statistics (and ViT's zero head) random
values so that every layer shows in the output, and save to an ``.npz`` the state dict
(``state/<key>``), an input, the eval output and the train-mode output of a forward pass run
after ``torch.manual_seed(2)`` (dropout and stochastic depth draw there).

Usage (torchvision beside the oracle torch, with the shim that lets it import)::

    PYTHONPATH=tests/programs/_torchvision_shim:$EMBER_TORCHVISION_PATH \
        python tests/vision/_variants_oracle.py CASE OUT.npz
"""

import sys

import numpy as np

# case -> (builder keyword arguments, image side)
CASES = {
    "mnasnet0_75": ({"num_classes": 7}, 64),
    "efficientnet_b5": ({"num_classes": 7}, 64),
    "shufflenet_v2_x2_0": ({"num_classes": 7}, 64),
    "densenet169": ({"num_classes": 7, "drop_rate": 0.3}, 64),
    "regnet_x_800mf": ({"num_classes": 7}, 64),
    "convnext_small": ({"num_classes": 7}, 64),
    "vit_b_32": ({"num_classes": 7, "image_size": 64, "dropout": 0.2}, 64),
}


def record(case, path):
    import torch
    import torchvision.models as M

    kwargs, side = CASES[case]
    torch.manual_seed(0)
    model = M.get_model(case, weights=None, **kwargs)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if key.endswith("running_var"):
                value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
            elif key.endswith("running_mean") or key.endswith("heads.head.weight"):
                value.copy_(torch.randn(value.shape, generator=gen) * 0.1)
    out = {f"state/{k}": v.numpy().copy() for k, v in model.state_dict().items()}
    x = torch.randn(2, 3, side, side, generator=gen)
    out["input"] = x.numpy()
    with torch.no_grad():
        out["eval"] = model.eval()(x).numpy()
        model.train()
        torch.manual_seed(2)
        out["train"] = model(x).numpy()
    np.savez(path, **out)


if __name__ == "__main__":
    record(sys.argv[1], sys.argv[2])
