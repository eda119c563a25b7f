"""Session 34 gaps in ember.vision, against torchvision 0.28 answers recorded in
``fixtures/s34_gaps.json.gz`` (``fixtures/make_s34_gaps.py``): the weight enums'
``meta["categories"]`` and preset ``transforms()``, and swin's feature-extraction node names."""

import gzip
import json
import pathlib

import numpy as np
import pytest

import ember
from ember.vision import models as M
from ember.vision.models import detection, optical_flow, quantization, segmentation, video
from ember.vision.models.feature_extraction import (
    create_feature_extractor,
    get_graph_node_names,
)
from ember.vision.transforms import InterpolationMode
from ember.vision.transforms import _presets as P

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "s34_gaps.json.gz"
FACTS = json.loads(gzip.decompress(FIXTURE.read_bytes()))

_ = (detection, optical_flow, quantization, segmentation, video)  # (their enums register)


def _members():
    out = {}
    for name in M.list_models():
        enum = M.get_model_weights(name)
        for member in enum:
            out[f"{enum.__name__}.{member.name}"] = member
    return out


MEMBERS = _members()


def test_every_torchvision_member_is_here():
    assert sorted(MEMBERS) == sorted(FACTS["weights"])


@pytest.mark.parametrize("key", sorted(FACTS["weights"]))
def test_weight_meta_and_preset_match_torchvision(key):
    want, member = FACTS["weights"][key], MEMBERS[key]
    assert member.meta.get("categories", "absent") == want["categories"]
    assert member.meta.get("keypoint_names", "absent") == want["keypoint_names"]
    preset = member.transforms()
    assert repr(preset) == want["repr"]
    assert preset.describe() == want["describe"]
    assert isinstance(preset, ember.nn.Module)


def test_transforms_is_a_partial_of_the_preset_class():
    t = M.ResNet50_Weights.DEFAULT.transforms
    assert t.func is P.ImageClassification and t.keywords == {"crop_size": 224,
                                                              "resize_size": 232}
    assert M.ResNet18_Weights.IMAGENET1K_V1.meta["categories"][:2] == ["tench", "goldfish"]


def _image(seed, shape):
    return ember.from_numpy(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8))


def _preset_cases():
    img, clip = _image(0, (3, 23, 19)), _image(1, (2, 3, 14, 17))
    return {
        "cls_bilinear": (P.ImageClassification(crop_size=8, resize_size=11), (img,)),
        "cls_bicubic_batch": (P.ImageClassification(
            crop_size=9, resize_size=12, interpolation=InterpolationMode.BICUBIC,
            mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)), (img[None],)),
        "cls_float_input": (P.ImageClassification(crop_size=7, resize_size=9),
                            (img.float() / 255,)),
        "seg": (P.SemanticSegmentation(resize_size=10), (img,)),
        "seg_none": (P.SemanticSegmentation(resize_size=None), (img,)),
        "det": (P.ObjectDetection(), (img,)),
        "video": (P.VideoClassification(crop_size=(6, 7), resize_size=(9, 11)), (clip,)),
        "video_batch": (P.VideoClassification(crop_size=(6, 6), resize_size=(8,)),
                        (clip[None],)),
        "flow": (P.OpticalFlow(), (img, _image(2, (3, 23, 19)))),
    }


@pytest.mark.parametrize("name", sorted(FACTS["presets"]))
def test_preset_outputs_match_torchvision(name):
    t, args = _preset_cases()[name]
    got = t(*args)
    got = got if isinstance(got, tuple) else (got,)
    for g, want in zip(got, FACTS["presets"][name], strict=True):
        assert list(g.shape) == want["shape"] and str(g.dtype) == want["dtype"]
        np.testing.assert_allclose(g.flatten().numpy(), want["values"], rtol=1e-5, atol=2e-5)


def test_video_preset_refuses_a_single_frame_like_torchvision():
    with pytest.raises(ValueError, match="not enough values to unpack"):
        P.VideoClassification(crop_size=(4, 4), resize_size=(5,))(ember.zeros(3, 8, 8))


def test_preset_accepts_pil_images():
    Image = pytest.importorskip("PIL.Image")
    arr = _image(0, (3, 23, 19))
    pil = Image.fromarray(arr.permute(1, 2, 0).numpy())
    t = P.ImageClassification(crop_size=8, resize_size=11)
    np.testing.assert_allclose(t(pil).numpy(), t(arr).numpy(), atol=0.05)


@pytest.mark.parametrize("name", sorted(FACTS["nodes"]))
def test_swin_node_names_match_torchvision(name):
    model = getattr(M, name)()
    train, eval_ = get_graph_node_names(model)
    assert train == FACTS["nodes"][name]["train"]
    assert eval_ == FACTS["nodes"][name]["eval"]


def test_swin_feature_extractor_outputs_match_the_model():
    model = M.swin_t(num_classes=5).eval()
    fe = create_feature_extractor(model, return_nodes={
        "features.1.0.attn.shifted_window_attention": "attn",
        "features.2._patch_merging_pad": "merged", "head": "out"})
    x = ember.randn(1, 3, 64, 64)
    out = fe(x)
    assert out["attn"].shape == (1, 16, 16, 96) and out["merged"].shape == (1, 8, 8, 384)
    np.testing.assert_allclose(out["out"].detach().numpy(), model(x).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
