"""Swin Transformer v1/v2, Video Swin and MaxViT builders against recorded torchvision 0.28 facts.

torchvision cannot be imported in CI, so ``fixtures/models_swin.json.gz`` holds its answers
(recorded by ``fixtures/make_models_swin.py``, which documents how to run it): per builder the
seeded initial state_dict (keys, shapes, per-tensor sums), parameter count and eval output; per
small class config, the eval and train-mode outputs after all parameters were redrawn from a
seeded stream, and the input gradient. ``test_live_torchvision`` re-records the small cases
with the real torchvision when ``EMBER_TORCHVISION_PATH`` names it.
"""

import gzip
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.models import maxvit, swin_transformer
from ember.vision.models.video import swin_transformer as video_swin

HERE = pathlib.Path(__file__).parent
FIXTURE = HERE / "fixtures" / "models_swin.json.gz"
FACTS = json.loads(gzip.decompress(FIXTURE.read_bytes()))
BUILDERS = FACTS["builders"]
CONFIGS = FACTS["configs"]

sys.path.insert(0, str(HERE / "fixtures"))
import make_models_swin as recorder  # noqa: E402  (the configs' definitions, torch-free parts)

sys.path.pop(0)


def _module_of(name):
    for module in (swin_transformer, video_swin, maxvit):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(name)


def check_builder(name, fact, with_output=True):
    ember.manual_seed(0)
    model = models.get_model(name, weights=None, **fact["kwargs"]).eval()
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == [[k, s] for k, s, _ in fact["state"]]
    got = np.array([float(v.numpy().astype(np.float64).sum()) for v in state.values()])
    want = np.array([s for _, _, s in fact["state"]])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) == fact["num_params"]
    if not with_output:
        return
    ember.manual_seed(1)
    x = ember.randn(*fact["input_shape"])
    with ember.no_grad():
        out = model(x).numpy().astype(np.float64)
    assert list(out.shape) == fact["out_shape"]
    scale = max(abs(v) for v in fact["out_first"])
    np.testing.assert_allclose(out.ravel()[:5], fact["out_first"], rtol=1e-4, atol=1e-4 * scale)
    np.testing.assert_allclose(np.abs(out).sum(), fact["out_abs_sum"], rtol=1e-4)
    np.testing.assert_allclose(out.sum(), fact["out_sum"], rtol=1e-4,
                               atol=1e-4 * fact["out_abs_sum"])


def check_config(name, fact):
    ember.manual_seed(0)
    model = recorder.build_config(_module_of, name)
    ember.manual_seed(2)
    with ember.no_grad():
        for value in model.parameters():
            value.copy_(ember.randn(*value.shape) * 0.5)
    ember.manual_seed(1)
    x = ember.randn(*recorder.CONFIGS[name][2])
    with ember.no_grad():
        out = model.eval()(x).numpy()
        ember.manual_seed(3)
        train_out = model.train()(x).numpy()
    assert list(out.shape) == fact["out_shape"]
    np.testing.assert_allclose(out.ravel(), fact["eval"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(train_out.ravel(), fact["train"], rtol=1e-4, atol=1e-4)
    x.requires_grad_(True)
    model.eval()(x).square().sum().backward()
    grad = x.grad.numpy().astype(np.float64)
    np.testing.assert_allclose(np.abs(grad).sum(), fact["grad_abs_sum"], rtol=1e-4)
    scale = max(abs(v) for v in fact["grad_first"])
    np.testing.assert_allclose(grad.ravel()[:8], fact["grad_first"], rtol=1e-4,
                               atol=1e-4 * scale)


# the -t models with an output check (maxvit_t's, at its 224x224 size, only with
# EMBER_SLOW_TESTS: maxvit_small checks the same code); of the -s / -b variants (50M-88M
# parameters, their blocks the -t ones repeated and wider) two state_dicts, the rest when
# EMBER_SLOW_TESTS is set (each takes several seconds to initialise)
QUICK_LARGE = {"swin_v2_b", "swin3d_s"}
SLOW = bool(os.environ.get("EMBER_SLOW_TESTS"))
@pytest.mark.parametrize("name", ["swin_t", "swin_v2_t", "maxvit_t", "swin3d_t"])
def test_builder_matches_torchvision(name):
    check_builder(name, BUILDERS[name], with_output=SLOW or name != "maxvit_t")


@pytest.mark.parametrize("name", ["swin_s", "swin_b", "swin_v2_s", "swin_v2_b", "swin3d_s",
                                  "swin3d_b"])
def test_large_builder_state_matches_torchvision(name):
    if name not in QUICK_LARGE and not SLOW:
        pytest.skip("slow to initialise; set EMBER_SLOW_TESTS=1 to check it")
    check_builder(name, BUILDERS[name], with_output=False)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_redrawn_model_outputs_match_torchvision(name):
    # all parameters far from their init (big logit scales, key biases, relative biases),
    # odd input sizes (padding to whole windows), and train-mode dropout / stochastic depth
    check_config(name, CONFIGS[name])


def test_live_torchvision(tmp_path):
    path = os.environ.get("EMBER_TORCHVISION_PATH")
    if not path:
        pytest.skip("torchvision is not installed beside the oracle (EMBER_TORCHVISION_PATH)")
    pytest.importorskip("torch")
    out = tmp_path / "facts.json.gz"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(HERE.parent / "programs" / "_torchvision_shim"), path]))
    subprocess.run([sys.executable, str(HERE / "fixtures" / "make_models_swin.py"), "--out",
                    str(out), "swin_t", *recorder.CONFIGS], env=env, check=True, timeout=600)
    live = json.loads(gzip.decompress(out.read_bytes()))
    check_builder("swin_t", live["builders"]["swin_t"])
    for name, fact in live["configs"].items():
        check_config(name, fact)


def test_registration_and_weights():
    assert models.list_models(module=models.swin_transformer) == [
        "swin_b", "swin_s", "swin_t", "swin_v2_b", "swin_v2_s", "swin_v2_t"]
    assert models.list_models(module=models.maxvit) == ["maxvit_t"]
    assert models.get_model_builder("swin_v2_t") is models.swin_v2_t
    assert models.swin_t.__module__ == "ember.vision.models.swin_transformer"
    assert models.maxvit_t.__module__ == "ember.vision.models.maxvit"
    # the enums are reachable from their builders' modules too, as in torchvision
    assert swin_transformer.Swin_V2_S_Weights is models.Swin_V2_S_Weights
    assert maxvit.MaxVit_T_Weights is models.MaxVit_T_Weights
    # torchvision 0.28's answers
    expected = {"swin_t": ("Swin_T_Weights", "swin_t-704ceda3.pth", 28288354, 224),
                "swin_s": ("Swin_S_Weights", "swin_s-5e29d889.pth", 49606258, 224),
                "swin_b": ("Swin_B_Weights", "swin_b-68c6b09e.pth", 87768224, 224),
                "swin_v2_t": ("Swin_V2_T_Weights", "swin_v2_t-b137f0e2.pth", 28351570, 256),
                "swin_v2_s": ("Swin_V2_S_Weights", "swin_v2_s-637d8ceb.pth", 49737442, 256),
                "swin_v2_b": ("Swin_V2_B_Weights", "swin_v2_b-781e5279.pth", 87930848, 256),
                "maxvit_t": ("MaxVit_T_Weights", "maxvit_t-bc5ab103.pth", 30919624, 224)}
    for name, (enum_name, file, n, size) in expected.items():
        enum = models.get_model_weights(name)
        assert enum is getattr(models, enum_name)
        assert [m.name for m in enum] == ["IMAGENET1K_V1"]
        assert enum.DEFAULT is enum.IMAGENET1K_V1
        assert enum.DEFAULT.url == "https://download.pytorch.org/models/" + file
        assert enum.DEFAULT.meta["num_params"] == n
        assert enum.DEFAULT.meta["min_size"] == (size, size)
        assert models.get_weight(f"{enum_name}.DEFAULT") is enum.IMAGENET1K_V1
        with pytest.raises(ValueError, match="cannot download"):
            models.get_model(name, weights="DEFAULT")


def test_video_registration_and_weights():
    video = models.video
    assert {"swin3d_t", "swin3d_s", "swin3d_b"} <= set(models.list_models(module=video))
    assert video.swin3d_t.__module__ == "ember.vision.models.video.swin_transformer"
    b = models.get_model_weights("swin3d_b")
    assert b is video.Swin3D_B_Weights
    assert [m.name for m in b] == ["KINETICS400_V1", "KINETICS400_IMAGENET22K_V1"]
    assert b.DEFAULT is b.KINETICS400_V1
    assert b.KINETICS400_IMAGENET22K_V1.url.endswith("/swin3d_b_22k-7c6ae6fa.pth")
    assert video.Swin3D_T_Weights.DEFAULT.meta["num_params"] == 28158070
    assert video.Swin3D_S_Weights.DEFAULT.meta["min_temporal_size"] == 1
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 400 but "
                                         "got 10 instead."):
        video.swin3d_t(weights="DEFAULT", num_classes=10)


def test_weights_argument_checks():
    # torchvision 0.28's answers, checked before ember refuses to download
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 1000 but "
                                         "got 10 instead."):
        models.swin_t(weights="DEFAULT", num_classes=10)
    with pytest.raises(TypeError, match="expected Swin_T_Weights but received ResNet18_Weights"):
        models.swin_t(weights=models.ResNet18_Weights.DEFAULT)
    with pytest.raises(KeyError):
        models.swin_v2_s(weights="NOPE")
    with pytest.raises(ValueError, match=r"The parameter 'input_size' expected value \(224, "
                                         r"224\) but got \(64, 64\) instead."):
        models.maxvit_t(weights="DEFAULT", input_size=(64, 64))
    with pytest.raises(ValueError, match="cannot download"):
        models.maxvit_t(weights=models.MaxVit_T_Weights.IMAGENET1K_V1)


def test_builder_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        models.swin_t(foo=1)
    with pytest.raises(ValueError, match="window_size and shift_size must be of length 2"):
        swin_transformer.ShiftedWindowAttention(8, [2, 2, 2], [1, 1], 2)
    # torchvision's 3-D attention says "2" as well
    with pytest.raises(ValueError, match="window_size and shift_size must be of length 2"):
        video_swin.ShiftedWindowAttention3d(8, [2, 2], [1, 1], 2)
    with pytest.raises(ValueError, match="feat_dim: 10 must be divisible by head_dim: 4"):
        maxvit.RelativePositionalMultiHeadAttention(10, 4, 4)
    with pytest.raises(ValueError, match="partition_type must be either 'grid' or 'window'"):
        maxvit.PartitionAttentionLayer(8, 4, 2, "foo", (4, 4), 4, ember.nn.GELU,
                                       ember.nn.LayerNorm, 0.0, 0.0, 0.0)
    # the stochastic-depth rate rises linearly over the 12 blocks of swin_t to 0.2
    model = models.SwinTransformer([4, 4], 8, [2, 2, 6, 2], [1, 1, 1, 1], [7, 7],
                                   stochastic_depth_prob=0.2)
    probs = [b.stochastic_depth.p for stage in (1, 3, 5, 7) for b in model.features[stage]]
    assert probs == pytest.approx([0.2 * i / 11 for i in range(12)])
    assert [b.attn.shift_size for b in model.features[1]] == [[0, 0], [3, 3]]


def test_maxvit_input_size_rules():
    # torchvision 0.28: each stage's input must divide by the partition size
    with pytest.raises(ValueError, match=r"Input size \(16, 16\) of block 0 is not divisible by "
                                         r"partition size 7\. Consider changing the partition "
                                         r"size or the input size\.\nCurrent configuration "
                                         r"yields the following block input sizes: \[\(16, 16\), "
                                         r"\(8, 8\), \(4, 4\), \(2, 2\)\]\."):
        models.maxvit_t(input_size=(64, 64))
    with pytest.raises(ValueError, match="p_stochastic must have length n_layers=2, got "
                                         r"p_stochastic=\[0.0\]\."):
        maxvit.MaxVitBlock(8, 16, 0.25, 4, ember.nn.BatchNorm2d, ember.nn.GELU, 8, 4, 0.0, 0.0,
                           2, (8, 8), 2, [0.0])
    small = models.MaxVit((32, 32), 8, 2, [8, 16], [2, 1], 4, 0.3, num_classes=3)
    depth = [layer.layers.MBconv.stochastic_depth for b in small.blocks for layer in b.layers]
    # a zero rate gives no module at all, as in torchvision
    assert isinstance(depth[0], ember.nn.Identity)
    assert [d.p for d in depth[1:]] == pytest.approx([0.15, 0.3])
    with pytest.raises(RuntimeError):
        small(ember.randn(1, 3, 64, 64))  # built for 32x32 only


def test_swin_accepts_any_size_from_one_patch():
    # padding to whole windows and patch merging of odd sizes, down to a single patch
    model = swin_transformer.SwinTransformer([4, 4], 8, [1, 1], [1, 2], [3, 3],
                                             num_classes=2).eval()
    for size in [(4, 4), (9, 13), (30, 22)]:
        assert model(ember.randn(1, 3, *size)).shape == (1, 2)
