"""RAFT optical flow (``models.optical_flow``) against recorded torchvision 0.28 facts.

torchvision cannot be imported in CI, so ``fixtures/models_raft.json.gz`` holds its answers
(recorded by ``fixtures/make_models_raft.py``, which documents how to run it): per case the
seeded initial state_dict, the flow predictions in eval (and train) mode and the gradients.
``test_live_torchvision`` re-records the tiny case with the real torchvision, and checks a
torchvision state_dict loaded into ember, when ``EMBER_TORCHVISION_PATH`` names it.
"""

import doctest
import gzip
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import models
from ember.vision.models.optical_flow import raft

HERE = pathlib.Path(__file__).parent
FIXTURE = HERE / "fixtures" / "models_raft.json.gz"
FACTS = json.loads(gzip.decompress(FIXTURE.read_bytes()))

sys.path.insert(0, str(HERE / "fixtures"))
import make_models_raft as recorder  # noqa: E402  (the cases' definitions, torch-free parts)

sys.path.pop(0)


def _close(got, want, rtol=1e-4):
    # absolute slack scaled by the largest recorded value: flows cross zero
    want = np.asarray(want, dtype=np.float64)
    scale = float(np.abs(want).max()) if want.size else 1.0
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=rtol,
                               atol=rtol * scale)


def _check_predictions(preds, facts, stride):
    assert isinstance(preds, list) and len(preds) == len(facts)
    for pred, fact in zip(preds, facts):
        values = pred.detach().numpy().astype(np.float64)
        _close(values[..., ::stride, ::stride].ravel(), fact["values"])
        np.testing.assert_allclose(np.abs(values).sum(), fact["abs_sum"], rtol=1e-4)
        np.testing.assert_allclose(values.sum(), fact["sum"], rtol=1e-4,
                                   atol=1e-4 * fact["abs_sum"])


def check_case(name, fact):
    shape, updates, stride, train, grads = recorder.CASES[name]
    ember.manual_seed(0)
    model = recorder.build_tiny(raft, nn) if name == "tiny" else getattr(raft, name)()
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == [[k, s] for k, s, _ in fact["state"]]
    got = [float(v.numpy().astype(np.float64).sum()) for v in state.values()]
    np.testing.assert_allclose(got, [s for _, _, s in fact["state"]], rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) == fact["num_params"]
    if name == "tiny":
        ember.manual_seed(2)
        with ember.no_grad():
            for value in model.parameters():
                value.copy_(ember.randn(*value.shape) * 0.1)
    first, second = (ember.from_numpy(a) for a in recorder.make_images(shape))
    first.requires_grad_(grads)
    second.requires_grad_(grads)
    model.eval()
    with ember.set_grad_enabled(grads):
        preds = model(first, second, num_flow_updates=updates)
    _check_predictions(preds, fact["eval"], stride)
    if grads:
        sum(p.square().mean() for p in preds).backward()
        named = dict(model.named_parameters())
        assert list(named) == [k for k, _, _ in fact["param_grads"]]
        # a conv bias right before an InstanceNorm is subtracted away again: its gradient is
        # zero up to rounding, in torchvision too, so only its smallness is checked
        cancelled = {f"{name}.0.bias" for name, module in model.named_modules()
                     if isinstance(module, nn.Sequential) and len(module) > 1
                     and isinstance(module[1], nn.InstanceNorm2d)}
        weight_grads = {k: a for k, _, a in fact["param_grads"]}
        for key, total, abs_total in fact["param_grads"]:
            grad = named[key].grad.numpy().astype(np.float64)
            if key in cancelled:
                limit = 1e-3 * weight_grads[key[:-len("bias")] + "weight"]
                assert np.abs(grad).sum() < limit and abs_total < limit, key
                continue
            np.testing.assert_allclose(np.abs(grad).sum(), abs_total, rtol=1e-3, err_msg=key)
            np.testing.assert_allclose(grad.sum(), total, rtol=1e-3, atol=1e-3 * abs_total,
                                       err_msg=key)
        for image, want in zip((first, second), fact["image_grads"]):
            grad = image.grad.numpy().astype(np.float64)
            np.testing.assert_allclose(np.abs(grad).sum(), want["abs_sum"], rtol=1e-3)
            _close(grad[..., ::4, ::4].ravel(), want["values"], rtol=1e-3)
    if train:
        with ember.no_grad():
            preds = model.train()(first, second, num_flow_updates=updates)
        _check_predictions(preds, fact["train"], stride)
        means = [[k, float(v.numpy().astype(np.float64).sum())]
                 for k, v in model.state_dict().items() if k.endswith("running_mean")]
        assert [k for k, _ in means] == [k for k, _ in fact["running_means"]]
        _close([v for _, v in means], [v for _, v in fact["running_means"]])


@pytest.mark.parametrize("name", sorted(recorder.CASES))
def test_matches_torchvision(name):
    # seeded init, eval / train predictions (one per update) and gradients; raft_large on a
    # non-square image, the tiny model with a batch of two and redrawn parameters
    check_case(name, FACTS[name])


def test_live_torchvision(tmp_path):
    path = os.environ.get("EMBER_TORCHVISION_PATH")
    if not path:
        pytest.skip("torchvision is not installed beside the oracle (EMBER_TORCHVISION_PATH)")
    pytest.importorskip("torch")
    out = tmp_path / "facts.json.gz"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(HERE.parent / "programs" / "_torchvision_shim"), path]))
    subprocess.run([sys.executable, str(HERE / "fixtures" / "make_models_raft.py"), "--out",
                    str(out), "tiny"], env=env, check=True, timeout=600)
    check_case("tiny", json.loads(gzip.decompress(out.read_bytes()))["tiny"])


def test_registration_and_weights():
    assert models.list_models(module=models.optical_flow) == ["raft_large", "raft_small"]
    assert models.optical_flow.raft_large is raft.raft_large
    for name in ("raft_large", "raft_small", "RAFT", "Raft_Large_Weights", "ResidualBlock",
                 "BottleneckBlock", "FeatureEncoder", "MotionEncoder", "ConvGRU",
                 "RecurrentBlock", "FlowHead", "UpdateBlock", "MaskPredictor", "CorrBlock"):
        assert getattr(raft, name).__module__ == "ember.vision.models.optical_flow.raft"
    assert not hasattr(models, "raft_large")  # torchvision.models does not re-export them
    assert models.get_model_builder("raft_small") is raft.raft_small
    assert isinstance(models.get_model("raft_small"), raft.RAFT)
    large, small = raft.Raft_Large_Weights, raft.Raft_Small_Weights
    assert models.get_model_weights("raft_large") is large
    assert models.get_model_weights(raft.raft_small) is small
    assert models.get_weight("Raft_Small_Weights.DEFAULT") is small.C_T_V2
    # torchvision 0.28's members, defaults, addresses and metadata
    assert [m.name for m in large] == ["C_T_V1", "C_T_V2", "C_T_SKHT_V1", "C_T_SKHT_V2",
                                       "C_T_SKHT_K_V1", "C_T_SKHT_K_V2"]
    assert [m.name for m in small] == ["C_T_V1", "C_T_V2"]
    assert large.DEFAULT is large.C_T_SKHT_V2
    assert large.C_T_V1.url == ("https://download.pytorch.org/models/"
                                "raft_large_C_T_V1-22a6c225.pth")
    assert small.C_T_V2.url.endswith("raft_small_C_T_V2-01064c6d.pth")
    meta = large.C_T_V2.meta
    assert meta["num_params"] == 5257536 and meta["min_size"] == (128, 128)
    assert meta["_metrics"]["Kitti-Train"] == {"per_image_epe": 4.5118, "fl_all": 16.0679}
    assert meta["recipe"].endswith("references/optical_flow")
    assert small.C_T_V1.meta["recipe"] == "https://github.com/princeton-vl/RAFT"
    assert small.C_T_V1.meta["num_params"] == 990162
    assert (large.C_T_SKHT_K_V1.meta["_ops"], small.C_T_V2.meta["_file_size"]) == (211.007, 3.821)


def test_builder_arguments():
    # torchvision 0.28's answers
    with pytest.raises(TypeError, match="expected Raft_Large_Weights but received "
                                        "Raft_Small_Weights"):
        raft.raft_large(weights=raft.Raft_Small_Weights.C_T_V2)
    with pytest.raises(ValueError, match="ember cannot download"):
        raft.raft_small(weights="C_T_V2")  # a member name is accepted, then not downloadable
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        raft.raft_small(foo=1)
    # the fixed configuration cannot be overridden
    with pytest.raises(TypeError, match="multiple values for keyword argument "
                                        "'use_mask_predictor'"):
        raft.raft_small(use_mask_predictor=True)
    # but the parts can be replaced; the motion encoder follows the correlation block
    model = raft.raft_small(corr_block=raft.CorrBlock(num_levels=4, radius=4),
                            mask_predictor=raft.MaskPredictor(in_channels=96, hidden_size=8))
    assert model.update_block.motion_encoder.convcorr1[0].in_channels == 324
    assert model.mask_predictor.conv.in_channels == 8
    assert raft.raft_large(mask_predictor=None).mask_predictor is not None
    with pytest.raises(ValueError, match="should expose a 'hidden_state_size' attribute"):
        raft.RAFT(feature_encoder=None, context_encoder=None, corr_block=None,
                  update_block=nn.Identity())


def test_part_argument_checks():
    with pytest.raises(ValueError, match="expected number of layers is 5, instead got 3"):
        raft.FeatureEncoder(layers=(1, 2, 3))
    with pytest.raises(IndexError):
        raft.FeatureEncoder(strides=(1, 2, 3))
    with pytest.raises(ValueError, match="expected number of flow_layers is 2, instead got 3"):
        raft.MotionEncoder(in_channels_corr=4, flow_layers=(1, 2, 3))
    with pytest.raises(ValueError, match="number of corr_layers should be 1 or 2, instead got 0"):
        raft.MotionEncoder(in_channels_corr=4, corr_layers=())
    with pytest.raises(ValueError, match=r"len\(kernel_size\) = 1 and len\(padding\) = 2"):
        raft.RecurrentBlock(input_size=4, hidden_size=2, kernel_size=(3,), padding=(1, 2))
    with pytest.raises(ValueError, match="kernel_size should either 1 or 2, instead got 3"):
        raft.RecurrentBlock(input_size=4, hidden_size=2, kernel_size=(3, 3, 3),
                            padding=(1, 1, 1))
    # a one-cell block has no convgru2 at all
    block = raft.RecurrentBlock(input_size=4, hidden_size=2, kernel_size=(3,), padding=(1,))
    assert list(block.state_dict()) == ["convgru1.convz.weight", "convgru1.convz.bias",
                                        "convgru1.convr.weight", "convgru1.convr.bias",
                                        "convgru1.convq.weight", "convgru1.convq.bias"]
    corr = raft.CorrBlock(num_levels=4, radius=1)
    assert corr.out_channels == 36
    with pytest.raises(ValueError, match=r"instead got torch.Size\(\[1, 4, 8, 8\]\) "
                                         r"\(fmap1.shape\) != torch.Size\(\[1, 4, 8, 9\]\)"):
        corr.build_pyramid(ember.rand(1, 4, 8, 8), ember.rand(1, 4, 8, 9))
    with pytest.raises(ValueError, match=r"at least 16; got: torch.Size\(\[15, 16\]\). Remember "
                                         r"that .* at least 8 \* 16 = 128."):
        corr.build_pyramid(ember.rand(1, 4, 15, 16), ember.rand(1, 4, 15, 16))


def test_forward_input_checks():
    model = raft.raft_small()
    image = ember.rand(1, 3, 128, 128)
    with pytest.raises(ValueError, match=r"input images should have the same shape, instead "
                                         r"got \(128, 128\) != torch.Size\(\[128, 120\]\)"):
        model(image, ember.rand(1, 3, 128, 120))
    with pytest.raises(ValueError, match="divisible by 8, instead got 60 \\(h\\) and 64 \\(w\\)"):
        model(ember.rand(1, 3, 60, 64), ember.rand(1, 3, 60, 64))
    # 32x32 images give 4x4 features: too small for a 4-level pyramid (torchvision's message)
    with pytest.raises(ValueError, match="Feature maps are too small"):
        model(ember.rand(1, 3, 32, 32), ember.rand(1, 3, 32, 32))
    small = ember.rand(1, 3, 48, 40)
    assert recorder.build_tiny(raft, nn)(small, small, num_flow_updates=0) == []
    # a one-level pyramid accepts 16x16 images; the context encoder leaves no context channels
    with pytest.raises(ValueError, match="at strictly more than hidden_state=8 channels"):
        tiny = recorder.build_tiny(raft, nn)
        tiny.context_encoder = raft.FeatureEncoder(layers=(8, 8, 8, 8, 8))
        tiny.corr_block = raft.CorrBlock(num_levels=1)
        image = ember.rand(1, 3, 16, 16)
        tiny(image, image, 1)


def test_docstring_examples():
    for module in (raft, models.optical_flow):
        result = doctest.testmod(module, extraglobs={"ember": ember, "nn": nn})
        assert result.failed == 0 and result.attempted > 0
