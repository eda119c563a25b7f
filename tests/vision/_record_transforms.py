"""Record torchvision 0.29's random transforms into ``transforms_fixtures/torchvision.npz``.

torchvision cannot be installed beside the torch the test suite uses, so its answers are
stored. Run from the repository root with an interpreter that has torch and torchvision::

    /tmp/tvvenv/bin/python tests/vision/_record_transforms.py

``CASES`` (shared with ``test_transforms_parity.py``) builds each transform from a library's
``transforms`` and ``functional`` modules. For every case, image dtype and seed the recorder
seeds the global generator, applies the transform ``CALLS`` times to the seeded ``image()``,
and stores the outputs (one (seed, call, ...) array) and the next ``rand(1)`` per seed (which
shows how many numbers were drawn).
"""

import os
import random
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "transforms_fixtures", "torchvision.npz")
SEEDS = (0, 1)
CALLS = 2
SHAPE = (3, 9, 11)  # small and not square, so width/height mix-ups show


def image(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(1234)
    if dtype in ("uint8", "pil"):
        return rng.integers(0, 256, SHAPE, dtype=np.uint8)
    return rng.random(SHAPE, dtype=np.float32)


def _linear(T, lib):
    rng = np.random.default_rng(7)
    n = int(np.prod(SHAPE))
    matrix = lib.from_numpy((rng.standard_normal((n, n)) * 0.05).astype(np.float32))
    mean = lib.from_numpy(rng.random(n, dtype=np.float32))
    return T.LinearTransformation(matrix, mean)


def _augmix_even_weights(T, **kw):
    """AugMix with its Dirichlet draws replaced by their means, so the rest of its algorithm
    (chains, ops, magnitudes, draws) is compared even where the Dirichlet samplers differ."""

    class EvenAugMix(T.AugMix):
        def _sample_dirichlet(self, params):
            return params / params.sum(-1, keepdim=True)

    return EvenAugMix(**kw)


BOTH, FLOAT, UINT8 = ("float32", "uint8"), ("float32",), ("uint8",)
ALL, UINT8_PIL = BOTH + ("pil",), ("uint8", "pil")

# name -> (dtypes, builder(T, F, lib) -> callable). Builders that return a transform object
# also have their repr compared.
CASES = {
    "hflip": (ALL, lambda T, F, lib: T.RandomHorizontalFlip()),
    "vflip": (BOTH, lambda T, F, lib: T.RandomVerticalFlip(0.5)),
    "crop_pad": (ALL, lambda T, F, lib: T.RandomCrop(8, padding=2)),
    "crop_reflect": (BOTH, lambda T, F, lib: T.RandomCrop((12, 9), padding=1,
                                                          padding_mode="reflect",
                                                          pad_if_needed=True)),
    "rrc": (ALL, lambda T, F, lib: T.RandomResizedCrop(8, antialias=True)),
    "rrc_nearest": (BOTH, lambda T, F, lib: T.RandomResizedCrop(
        (6, 9), scale=(0.3, 1.0), interpolation=T.InterpolationMode.NEAREST)),
    "rrc_bicubic_up": (BOTH, lambda T, F, lib: T.RandomResizedCrop(
        (14, 11), interpolation=T.InterpolationMode.BICUBIC)),
    "jitter": (ALL, lambda T, F, lib: T.ColorJitter(0.4, 0.4, 0.4, 0.1)),
    "jitter_hue": (BOTH, lambda T, F, lib: T.ColorJitter(hue=0.4)),
    "rotation": (ALL, lambda T, F, lib: T.RandomRotation(30)),
    "rotation_bilinear": (BOTH, lambda T, F, lib: T.RandomRotation(
        (-40, 40), interpolation=T.InterpolationMode.BILINEAR, fill=1)),
    "rotation_expand": (ALL, lambda T, F, lib: T.RandomRotation(45, expand=True)),
    "rotation_center": (ALL, lambda T, F, lib: T.RandomRotation(20, center=(2, 3),
                                                                 fill=(1, 2, 3))),
    "erasing": (FLOAT, lambda T, F, lib: T.RandomErasing(p=1.0)),
    "erasing_random": (FLOAT, lambda T, F, lib: T.RandomErasing(p=0.9, value="random",
                                                                scale=(0.1, 0.5))),
    "erasing_value": (BOTH, lambda T, F, lib: T.RandomErasing(p=0.7, value=(9, 8, 7))),
    "apply": (BOTH, lambda T, F, lib: T.RandomApply([T.ColorJitter(0.2)], p=0.5)),
    "compose": (BOTH, lambda T, F, lib: T.Compose([T.RandomCrop(9), T.RandomHorizontalFlip(),
                                                   T.ColorJitter(0.3, 0.3)])),
    "choice": (BOTH, lambda T, F, lib: T.RandomChoice([T.RandomHorizontalFlip(1.0),
                                                       T.RandomVerticalFlip(1.0)])),
    "order": (BOTH, lambda T, F, lib: T.RandomOrder([T.RandomCrop(9), T.RandomInvert(1.0),
                                                     T.RandomHorizontalFlip()])),
    "affine": (ALL, lambda T, F, lib: T.RandomAffine(10, translate=(0.1, 0.2),
                                                      scale=(0.8, 1.2),
                                                      shear=(-5, 5, -3, 3))),
    "affine_bilinear": (ALL, lambda T, F, lib: T.RandomAffine(
        30, interpolation=T.InterpolationMode.BILINEAR, fill=1, center=(3, 4))),
    "affine_shear": (ALL, lambda T, F, lib: T.RandomAffine(0, shear=20)),
    "grayscale": (ALL, lambda T, F, lib: T.RandomGrayscale(0.5)),
    "blur": (ALL, lambda T, F, lib: T.GaussianBlur(3, sigma=(0.1, 2.0))),
    "blur_rect": (BOTH, lambda T, F, lib: T.GaussianBlur((5, 3), sigma=1.5)),
    "perspective": (ALL, lambda T, F, lib: T.RandomPerspective(0.5, p=0.8)),
    "perspective_nearest": (BOTH, lambda T, F, lib: T.RandomPerspective(
        0.7, p=1.0, interpolation=T.InterpolationMode.NEAREST, fill=(1, 0, 1))),
    "invert": (ALL, lambda T, F, lib: T.RandomInvert()),
    "posterize": (UINT8_PIL, lambda T, F, lib: T.RandomPosterize(3)),
    "solarize_float": (FLOAT, lambda T, F, lib: T.RandomSolarize(0.5)),
    "solarize_uint8": (UINT8_PIL, lambda T, F, lib: T.RandomSolarize(100, p=0.7)),
    "sharpness": (ALL, lambda T, F, lib: T.RandomAdjustSharpness(2.5)),
    "autocontrast": (ALL, lambda T, F, lib: T.RandomAutocontrast(p=0.6)),
    "equalize": (UINT8_PIL, lambda T, F, lib: T.RandomEqualize(p=0.6)),
    "elastic": (ALL, lambda T, F, lib: T.ElasticTransform(alpha=20.0, sigma=1.5)),
    "elastic_nearest": (BOTH, lambda T, F, lib: T.ElasticTransform(
        alpha=(5.0, 9.0), sigma=(1.0, 0.5), interpolation=T.InterpolationMode.NEAREST)),
    "autoaugment_imagenet": (UINT8_PIL, lambda T, F, lib: T.AutoAugment()),
    "autoaugment_cifar10": (UINT8_PIL, lambda T, F, lib: T.AutoAugment(
        T.AutoAugmentPolicy.CIFAR10)),
    "autoaugment_svhn": (UINT8, lambda T, F, lib: T.AutoAugment(T.AutoAugmentPolicy.SVHN,
                                                                 fill=[128, 0, 255])),
    "randaugment": (UINT8_PIL, lambda T, F, lib: T.RandAugment()),
    "randaugment_strong": (UINT8, lambda T, F, lib: T.RandAugment(num_ops=4, magnitude=20)),
    "trivialaugment": (UINT8_PIL, lambda T, F, lib: T.TrivialAugmentWide()),
    "augmix": (UINT8, lambda T, F, lib: T.AugMix()),
    "augmix_even": (UINT8_PIL, lambda T, F, lib: _augmix_even_weights(T)),
    "augmix_even_deep": (UINT8, lambda T, F, lib: _augmix_even_weights(
        T, severity=7, mixture_width=2, chain_depth=3, alpha=0.5, all_ops=False,
        interpolation=T.InterpolationMode.NEAREST)),
    "fivecrop": (BOTH, lambda T, F, lib: T.FiveCrop(4)),
    "tencrop": (BOTH, lambda T, F, lib: T.TenCrop((4, 5), vertical_flip=True)),
    "linear": (FLOAT, lambda T, F, lib: _linear(T, lib)),
    "F.affine": (BOTH, lambda T, F, lib: lambda img: F.affine(
        img, 25.0, [1, -2], 1.3, [7.0, -4.0], T.InterpolationMode.BILINEAR, [0.5])),
    "F.rotate_expand": (BOTH, lambda T, F, lib: lambda img: F.rotate(
        img, 33.0, T.InterpolationMode.BILINEAR, expand=True)),
    "F.perspective": (BOTH, lambda T, F, lib: lambda img: F.perspective(
        img, [[0, 0], [10, 0], [10, 8], [0, 8]], [[2, 1], [10, 0], [9, 7], [1, 8]])),
    "F.gaussian_blur": (BOTH, lambda T, F, lib: lambda img: F.gaussian_blur(img, [5, 7])),
    "F.sharpness0": (BOTH, lambda T, F, lib: lambda img: F.adjust_sharpness(img, 0.0)),
    "F.gamma": (ALL, lambda T, F, lib: lambda img: F.adjust_gamma(img, 0.6, 1.1)),
    "F.gamma_dark": (BOTH, lambda T, F, lib: lambda img: F.adjust_gamma(img, 2.2)),
    "F.hue": (BOTH, lambda T, F, lib: lambda img: F.adjust_hue(img, -0.3)),
    "resize": (ALL, lambda T, F, lib: T.Resize(7)),
    "resize_bicubic": (BOTH, lambda T, F, lib: T.Resize((5, 13), T.InterpolationMode.BICUBIC)),
    "center_crop": (ALL, lambda T, F, lib: T.CenterCrop((6, 13))),
    "pad_edge": (BOTH, lambda T, F, lib: T.Pad((1, 2, 3, 0), padding_mode="edge")),
    "F.resize_nearest_exact": (BOTH, lambda T, F, lib: lambda img: F.resize(
        img, [7, 17], T.InterpolationMode.NEAREST_EXACT)),
}


# name -> call(T, F, lib, img) that must raise; the exception's type and message are compared
ERRORS = {
    "affine_degrees": lambda T, F, lib, img: T.RandomAffine(-1),
    "affine_degrees_len": lambda T, F, lib, img: T.RandomAffine([1, 2, 3]),
    "affine_translate": lambda T, F, lib, img: T.RandomAffine(5, translate=(0.1, 2.0)),
    "affine_scale": lambda T, F, lib, img: T.RandomAffine(5, scale=(0.0, 1.0)),
    "affine_shear_len": lambda T, F, lib, img: T.RandomAffine(5, shear=(1, 2, 3)),
    "blur_even": lambda T, F, lib, img: T.GaussianBlur(4),
    "blur_sigma_order": lambda T, F, lib, img: T.GaussianBlur(3, sigma=(2.0, 1.0)),
    "blur_sigma_negative": lambda T, F, lib, img: T.GaussianBlur(3, sigma=-1.0),
    "F.blur_even": lambda T, F, lib, img: F.gaussian_blur(img, [4, 3]),
    "F.blur_sigma": lambda T, F, lib, img: F.gaussian_blur(img, [3, 3], [0.0, 1.0]),
    "F.posterize_float": lambda T, F, lib, img: F.posterize(img.float(), 2),
    "F.equalize_float": lambda T, F, lib, img: F.equalize(img.float()),
    "F.solarize_bound": lambda T, F, lib, img: F.solarize(img.float(), 2.0),
    "F.rotate_bicubic": lambda T, F, lib, img: F.rotate(img, 3.0, T.InterpolationMode.BICUBIC),
    "F.affine_scale": lambda T, F, lib, img: F.affine(img, 0.0, [0, 0], 0.0, [0.0, 0.0]),
    "F.affine_translate": lambda T, F, lib, img: F.affine(img, 0.0, [0], 1.0, [0.0, 0.0]),
    "F.five_crop_big": lambda T, F, lib, img: F.five_crop(img, 20),
    "F.gamma_negative": lambda T, F, lib, img: F.adjust_gamma(img, -1.0),
    "F.sharpness_negative": lambda T, F, lib, img: F.adjust_sharpness(img, -1.0),
    "augmix_severity": lambda T, F, lib, img: T.AugMix(severity=11),
    "linear_square": lambda T, F, lib, img: T.LinearTransformation(lib.ones(2, 3),
                                                                   lib.zeros(2)),
}


def error_of(lib, T, F, name: str) -> str:
    try:
        ERRORS[name](T, F, lib, lib.from_numpy(image("uint8")))
    except Exception as err:  # noqa: BLE001 - the type and message are the record
        return f"{type(err).__name__}: {err}"
    return "no error"


def outputs(lib, T, F, name: str, dtype: str):
    """One case and dtype: outputs stacked as (seed, call, ...) and the next draw per seed."""
    fn = CASES[name][1](T, F, lib)
    outs, nexts = [], []
    for seed in SEEDS:
        lib.manual_seed(seed)
        random.seed(seed)  # RandomChoice and RandomOrder draw from Python's generator
        for _ in range(CALLS):
            if dtype == "pil":  # an RGB PIL image in, an (H, W, 3) array out
                from PIL import Image

                res = fn(Image.fromarray(image(dtype).transpose(1, 2, 0).copy(), "RGB"))
                outs.append(np.asarray(res))
                continue
            res = fn(lib.from_numpy(image(dtype)))
            if isinstance(res, (tuple, list)):
                res = lib.stack(list(res))
            outs.append(res.numpy())
        nexts.append(float(lib.rand(1)))
    record = {f"{name}/{dtype}/next": np.asarray(nexts)}
    if len({o.shape for o in outs}) == 1:
        record[f"{name}/{dtype}/out"] = np.stack(outs).reshape(len(SEEDS), CALLS, *outs[0].shape)
    else:  # the output size is random (rotate with expand=True): one array per call
        record.update({f"{name}/{dtype}/out{i}": o for i, o in enumerate(outs)})
    return record, fn


def main():
    import torch
    import torchvision.transforms as T
    import torchvision.transforms.functional as F

    torch.set_num_threads(1)
    record = {}
    for name, (dtypes, _) in CASES.items():
        for dtype in dtypes:
            out, fn = outputs(torch, T, F, name, dtype)
            record.update(out)
        if not name.startswith("F.") and name != "linear":  # linear's repr is its matrix
            record[f"{name}/repr"] = np.array(repr(fn))
    for name in ERRORS:
        record[f"{name}/error"] = np.array(error_of(torch, T, F, name))
    os.makedirs(os.path.dirname(PATH), exist_ok=True)
    np.savez_compressed(PATH, **record)
    print(f"{len(record)} arrays, {os.path.getsize(PATH)} bytes -> {PATH}")


if __name__ == "__main__":
    sys.exit(main())
