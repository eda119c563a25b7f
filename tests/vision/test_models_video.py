"""``ember.vision.models.video`` (R3D / MC3 / R(2+1)D, S3D, MViT v1 / v2) against torchvision 0.28.

torchvision cannot be imported in CI, so ``fixtures/models_video.json.gz`` holds its answers
(recorded by ``fixtures/make_models_video.py``): after ``manual_seed(0)`` construction the
ordered state_dict keys, shapes and initial-value sums (equal sums in order mean the same init
calls drew the same random stream), the parameter count, and eval outputs for an input drawn
after ``manual_seed(1)``. The live checks (``_video_oracle.py``, run only where
``EMBER_TORCHVISION_PATH`` names torchvision) load torchvision's weights into ember's model
and compare eval and train outputs and gradients.
"""

import gzip
import json
import pathlib
import sys

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.models import video

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE / "fixtures"))
sys.path.insert(0, str(HERE))

from _live_oracle import recorded_state, run_oracle  # noqa: E402
from _video_oracle import GRAD_MODE, GRADS, build  # noqa: E402
from make_models_video import NO_AVGPOOL, SMALL_KWARGS, small_mvit  # noqa: E402

FACTS = json.loads(gzip.decompress((HERE / "fixtures" / "models_video.json.gz").read_bytes()))
BUILDERS = ["r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v1_b", "mvit_v2_s"]
SMALL = ["mvit_small_v1", "mvit_small_v2"]


def _build(name):
    ember.manual_seed(0)
    if name in SMALL:
        return small_mvit(video.mvit, name.endswith("v2"), **SMALL_KWARGS).eval()
    return models.get_model(name, weights=None, **FACTS[name]["kwargs"]).eval()


_CACHE: dict = {}


def _model(name):
    # each model is built once for the module (the MViTs take seconds)
    if name not in _CACHE:
        _CACHE[name] = _build(name)
    return _CACHE[name]


@pytest.mark.parametrize("name", BUILDERS + SMALL)
def test_state_dict_and_init_match_torchvision(name):
    fact = FACTS[name]
    state = _model(name).state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == [[k, s] for k, s, _ in fact["state"]]
    got = np.array([float(v.numpy().astype(np.float64).sum()) for v in state.values()])
    want = np.array([s for _, _, s in fact["state"]])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in _model(name).parameters()) == fact["num_params"]


def _check_out(out, fact_out, shape):
    out = np.asarray(out, dtype=np.float64)
    want = np.array(fact_out)
    assert list(out.shape) == shape
    np.testing.assert_allclose(out.ravel(), want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("name", [n for n in BUILDERS if FACTS[n]["input_shape"]] + SMALL)
def test_eval_output_matches_torchvision(name):
    fact = FACTS[name]
    model = _model(name)
    if name in NO_AVGPOOL:
        model.avgpool = ember.nn.Identity()  # the recorded output skips S3D's 2x7x7 pool
    ember.manual_seed(1)
    x = ember.randn(*(fact.get("input_shape") or (2, 3, 4, 32, 32)))
    with ember.no_grad():
        out = model(x).numpy()
    _check_out(out, fact["out"], fact["out_shape"])


@pytest.mark.parametrize("name", SMALL)
def test_small_mvit_train_output_matches_torchvision(name):
    # dropout (attention, MLP, head) and stochastic depth draw torch's stream in its order
    fact = FACTS[name]
    model = _build(name)  # a fresh copy: train mode must not leak into the cached one
    ember.manual_seed(1)
    x = ember.randn(2, 3, 4, 32, 32)
    model.train()
    ember.manual_seed(3)
    with ember.no_grad():
        out = model(x).numpy()
    _check_out(out, fact["train_out"], fact["out_shape"])


def test_list_models_and_weights():
    # (the swin3d_* builders come from another module of this package)
    names = [n for n in models.list_models(module=video) if not n.startswith("swin3d")]
    assert names == ["mc3_18", "mvit_v1_b", "mvit_v2_s", "r2plus1d_18", "r3d_18", "s3d"]
    assert set(names) <= set(models.list_models())
    for name in names:
        assert models.get_model_builder(name) is getattr(video, name)
    enums = {"r3d_18": ("R3D_18_Weights", "r3d_18-b3b3357e.pth", 33371472),
             "mc3_18": ("MC3_18_Weights", "mc3_18-a90a0ba3.pth", 11695440),
             "r2plus1d_18": ("R2Plus1D_18_Weights", "r2plus1d_18-91a641e6.pth", 31505325),
             "s3d": ("S3D_Weights", "s3d-d76dad2f.pth", 8320048),
             "mvit_v1_b": ("MViT_V1_B_Weights", "mvit_v1_b-dbeb1030.pth", 36610672),
             "mvit_v2_s": ("MViT_V2_S_Weights", "mvit_v2_s-ae3be167.pth", 34537744)}
    for name, (enum_name, file, num_params) in enums.items():
        enum = models.get_model_weights(name)
        assert enum is getattr(video, enum_name) is models.get_model_weights(getattr(video, name))
        assert [m.name for m in enum] == ["KINETICS400_V1"]
        assert enum.DEFAULT is enum.KINETICS400_V1
        assert models.get_weight(f"{enum_name}.DEFAULT") is enum.KINETICS400_V1
        assert enum.DEFAULT.url == "https://download.pytorch.org/models/" + file
        assert enum.DEFAULT.meta["num_params"] == num_params
    assert video.S3D_Weights.DEFAULT.meta["min_temporal_size"] == 14
    assert video.MViT_V2_S_Weights.DEFAULT.meta["min_size"] == (224, 224)
    assert video.R3D_18_Weights.DEFAULT.meta["min_size"] == (1, 1)


def test_module_paths():
    # torchvision's module layout (``models.video.<module>.<name>``)
    assert video.r3d_18.__module__ == "ember.vision.models.video.resnet"
    assert video.VideoResNet.__module__ == "ember.vision.models.video.resnet"
    assert video.R2Plus1D_18_Weights.__module__ == "ember.vision.models.video.resnet"
    assert video.s3d.__module__ == "ember.vision.models.video.s3d"
    assert video.S3D.__module__ == "ember.vision.models.video.s3d"
    assert video.mvit_v2_s.__module__ == "ember.vision.models.video.mvit"
    assert video.MViT_V1_B_Weights.__module__ == "ember.vision.models.video.mvit"
    assert models.video is video


@pytest.mark.parametrize("name", ["r3d_18", "s3d", "mvit_v2_s"])
def test_builder_argument_checks(name):
    # torchvision 0.28's answers
    builder = getattr(video, name)
    enum = models.get_model_weights(name)
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 400 but "
                                         "got 3 instead."):
        builder(weights="KINETICS400_V1", num_classes=3)
    with pytest.raises(TypeError, match="Invalid Weight class provided; expected "
                                        f"{enum.__name__} but received ResNet18_Weights"):
        builder(weights=models.ResNet18_Weights.DEFAULT)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        builder(foo=1)
    # ember downloads nothing: a real checkpoint request is refused, naming the way out
    with pytest.raises(ValueError, match="cannot download"):
        builder(weights=enum.DEFAULT)


def test_mvit_config_errors():
    cfg = video.mvit.MSBlockConfig(1, 8, 8, [3, 3, 3], [3, 3, 3], [1, 1, 1], [1, 1, 1])
    kwargs = dict(spatial_size=(16, 16), temporal_size=4, residual_pool=True,
                  residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True)
    with pytest.raises(ValueError, match="The configuration parameter can't be empty."):
        video.MViT(block_setting=[], **kwargs)
    # one block: torchvision's stochastic-depth schedule divides by zero
    with pytest.raises(ZeroDivisionError):
        video.MViT(block_setting=[cfg], **kwargs)


def test_mvit_v2_builder_layout():
    # the kwargs torchvision's builder passes on, and the stochastic-depth schedule
    model = _model("mvit_v2_s")
    assert model.pos_encoding.spatial_size == (56, 56)
    assert model.pos_encoding.temporal_size == 8
    assert [round(b.stochastic_depth.p, 6) for b in model.blocks][:3] == [0.0, 0.013333, 0.026667]
    assert model.head[0].p == 0.5


@pytest.mark.parametrize("case", ["mvit_small_v1", "mvit_small_v2", "r2plus1d_18"])
def test_live_against_torchvision(case):
    rec = run_oracle("_video_oracle.py", case)
    ember.manual_seed(0)
    model, _ = build(case, video)
    model.load_state_dict(recorded_state(rec))
    x = ember.from_numpy(rec["x"])
    with ember.no_grad():
        out = model.eval()(x).numpy()
    np.testing.assert_allclose(out, rec["eval_out"], rtol=1e-4, atol=1e-5)
    model.train()
    ember.manual_seed(3)
    with ember.no_grad():
        out = model(x).numpy()
    np.testing.assert_allclose(out, rec["train_out"], rtol=1e-4, atol=1e-4)
    model.train(GRAD_MODE[case] == "train")
    ember.manual_seed(3)
    model(x).sum().backward()
    params = dict(model.named_parameters())
    for name in GRADS[case]:
        want = rec[f"grad/{name}"]
        np.testing.assert_allclose(params[name].grad.numpy(), want, rtol=1e-3,
                                   atol=1e-4 * np.abs(want).max())


def test_zero_init_residual_as_torchvision():
    # torchvision 0.28: no effect on basic-block models, AttributeError for bottleneck ones
    ember.manual_seed(0)
    plain = video.mc3_18(num_classes=3).state_dict()
    ember.manual_seed(0)
    zeroed = video.mc3_18(num_classes=3, zero_init_residual=True).state_dict()
    assert all(np.array_equal(plain[k].numpy(), zeroed[k].numpy()) for k in plain)
    with pytest.raises(AttributeError, match="'Bottleneck' object has no attribute 'bn3'"):
        video.VideoResNet(video.Bottleneck, [video.Conv3DSimple] * 4, [1, 1, 1, 1],
                          video.BasicStem, 7, zero_init_residual=True)


def test_bottleneck_video_resnet():
    # a bottleneck VideoResNet (no torchvision builder uses one): layout and (2+1)-D widths
    model = video.VideoResNet(video.Bottleneck, [video.Conv2Plus1D] * 4, [1, 1, 1, 1],
                              video.R2Plus1dStem, 7)
    state = model.state_dict()
    assert tuple(state["layer1.0.conv2.0.0.weight"].shape) == (144, 64, 1, 3, 3)
    assert tuple(state["layer2.0.conv2.0.0.weight"].shape) == (329, 128, 1, 3, 3)
    assert tuple(state["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1, 1)
    assert tuple(state["fc.weight"].shape) == (7, 2048)
    assert model.eval()(ember.randn(1, 3, 4, 16, 16)).shape == (1, 7)
