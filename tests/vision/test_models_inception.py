"""GoogLeNet, Inception v3 and EfficientNetV2 against torchvision 0.28.

``fixtures/models_inception.json.gz`` (written by ``fixtures/make_models_inception.py``, which
says how to run it) holds torchvision's answers for each case: after ``manual_seed(0)``
construction the ordered state_dict keys, shapes and initial-value sums (equal sums in order
mean the same init calls drew the same random stream: truncated normals for GoogLeNet /
Inception v3, Kaiming for EfficientNetV2), the parameter count, the eval output for a seeded
input and the training-mode outputs (auxiliary logits, dropout and stochastic depth drawing
from the same seeded stream). The live test (run when ``EMBER_TORCHVISION_PATH`` names a
torchvision) loads torchvision's state dict into ember's model and compares whole outputs.
"""

import doctest
import gzip
import json
import pathlib
import sys
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import models
from ember.vision.models import efficientnet

from ._live_oracle import recorded_state, run_oracle

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "models_inception.json.gz"
FACTS = json.loads(gzip.decompress(FIXTURE.read_bytes()))
BUILDERS = {"googlenet": "googlenet", "googlenet_noaux": "googlenet",
            "inception_v3": "inception_v3", "inception_v3_noaux": "inception_v3",
            "efficientnet_v2_s": "efficientnet_v2_s", "efficientnet_v2_m": "efficientnet_v2_m",
            "efficientnet_v2_l": "efficientnet_v2_l"}
googlenet_module = sys.modules["ember.vision.models.googlenet"]
inception_module = sys.modules["ember.vision.models.inception"]


def _build(case):
    ember.manual_seed(0)
    return models.get_model(BUILDERS[case], weights=None, **FACTS[case]["kwargs"])


def _check(out, want, what, tol=1e-4):
    got = out.detach().numpy().astype(np.float64)
    assert list(got.shape) == want["shape"], what
    scale = max(abs(v) for v in want["first"]) or 1.0
    np.testing.assert_allclose(got.ravel()[:5], want["first"], rtol=tol, atol=tol * scale,
                               err_msg=what)
    np.testing.assert_allclose(np.abs(got).sum(), want["abs_sum"], rtol=tol, err_msg=what)
    np.testing.assert_allclose(got.sum(), want["sum"], rtol=tol, atol=tol * want["abs_sum"],
                               err_msg=what)


def _check_train(out, fact):
    # batch statistics over two images amplify float32 rounding (torch's own float32 and
    # float64 results differ by up to ~3e-5 relative here), hence 1e-3; a dropout or
    # stochastic-depth draw out of step changes outputs by far more
    assert type(out).__name__ == fact["train_type"]
    parts = list(out) if isinstance(out, tuple) else [out]
    assert len(parts) == len(fact["train"])
    for i, (part, want) in enumerate(zip(parts, fact["train"])):
        if want is None:
            assert part is None
        else:
            _check(part, want, f"train output {i}", tol=1e-3)


@pytest.mark.parametrize("case", sorted(FACTS))
def test_matches_torchvision(case):
    # one build per case (the big models are slow to build): state, init, eval and train
    fact = FACTS[case]
    model = _build(case).eval()
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == [[k, s] for k, s, _ in fact["state"]]
    got = np.array([float(v.numpy().astype(np.float64).sum()) for v in state.values()])
    want = np.array([s for _, _, s in fact["state"]])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) == fact["num_params"]

    ember.manual_seed(1)
    x = ember.randn(*fact["input_shape"])
    with ember.no_grad():
        _check(model(x), fact["eval"], "eval output")
    if "train" not in fact or case == "inception_v3":  # (the fine-tuning test checks it)
        return
    ember.manual_seed(2)
    x = ember.randn(*fact["train_shape"])
    model.train()
    with ember.no_grad():
        _check_train(model(x), fact)


def test_module_paths_and_registry():
    for name, module in [("googlenet", "googlenet"), ("inception_v3", "inception"),
                         ("efficientnet_v2_s", "efficientnet"),
                         ("efficientnet_v2_m", "efficientnet"),
                         ("efficientnet_v2_l", "efficientnet")]:
        builder = models.get_model_builder(name)
        assert builder is getattr(models, name)
        assert builder.__module__ == f"ember.vision.models.{module}"
    assert models.GoogLeNet.__module__ == "ember.vision.models.googlenet"
    assert models.Inception3.__module__ == "ember.vision.models.inception"
    assert inception_module.InceptionE.__module__ == "ember.vision.models.inception"
    assert models.GoogLeNetOutputs is models._GoogLeNetOutputs is \
        googlenet_module.GoogLeNetOutputs
    assert models.InceptionOutputs is models._InceptionOutputs
    assert models.GoogLeNetOutputs._fields == ("logits", "aux_logits2", "aux_logits1")
    assert models.InceptionOutputs._fields == ("logits", "aux_logits")
    assert sorted(googlenet_module.__all__) == sorted(
        ["GoogLeNet", "GoogLeNetOutputs", "_GoogLeNetOutputs", "GoogLeNet_Weights",
         "googlenet"])
    assert sorted(inception_module.__all__) == sorted(
        ["Inception3", "InceptionOutputs", "_InceptionOutputs", "Inception_V3_Weights",
         "inception_v3"])
    every = models.list_models()
    assert set(BUILDERS.values()) <= set(every)
    assert models.list_models(include="efficientnet_v2*") == [
        "efficientnet_v2_l", "efficientnet_v2_m", "efficientnet_v2_s"]
    assert models.list_models(module=inception_module) == ["inception_v3"]
    assert models.list_models(module=googlenet_module) == ["googlenet"]
    assert {"efficientnet_v2_s", "efficientnet_b0"} <= set(
        models.list_models(module=efficientnet))


def test_weight_enums():
    # torchvision 0.28's names, addresses, parameter counts and minimum sizes
    table = {"googlenet": ("GoogLeNet_Weights", "googlenet-1378be20.pth", 6624904, 15),
             "inception_v3": ("Inception_V3_Weights", "inception_v3_google-0cc3c7bd.pth",
                              27161264, 75),
             "efficientnet_v2_s": ("EfficientNet_V2_S_Weights",
                                   "efficientnet_v2_s-dd5fe13b.pth", 21458488, 33),
             "efficientnet_v2_m": ("EfficientNet_V2_M_Weights",
                                   "efficientnet_v2_m-dc08266a.pth", 54139356, 33),
             "efficientnet_v2_l": ("EfficientNet_V2_L_Weights",
                                   "efficientnet_v2_l-59c71312.pth", 118515272, 33)}
    for builder, (enum_name, file, num_params, size) in table.items():
        enum = models.get_model_weights(builder)
        assert enum.__name__ == enum_name and getattr(models, enum_name) is enum
        assert [m.name for m in enum] == ["IMAGENET1K_V1"]
        assert enum.DEFAULT is enum.IMAGENET1K_V1
        assert enum.DEFAULT.url == "https://download.pytorch.org/models/" + file
        assert enum.DEFAULT.meta["num_params"] == num_params
        assert enum.DEFAULT.meta["min_size"] == (size, size)
        assert models.get_weight(f"{enum_name}.DEFAULT") is enum.IMAGENET1K_V1
        with pytest.raises(ValueError, match="cannot download"):
            models.get_model(builder, weights="DEFAULT")
    assert googlenet_module.GoogLeNet_Weights is models.GoogLeNet_Weights
    assert inception_module.Inception_V3_Weights is models.Inception_V3_Weights
    with pytest.raises(ValueError, match="cannot download"):
        models.googlenet(weights=models.GoogLeNet_Weights.DEFAULT, init_weights=False)


def test_default_init_warning_and_argument_errors():
    # torchvision warns when init_weights is left at None (and then initialises); the length
    # check comes after the warning, which lets this test skip building the model
    with pytest.warns(FutureWarning, match="default weight initialization of GoogleNet"):
        with pytest.raises(ValueError, match="blocks length should be 3 instead of 1"):
            models.GoogLeNet(blocks=[googlenet_module.BasicConv2d])
    with pytest.warns(FutureWarning, match="default weight initialization of inception_v3"):
        with pytest.raises(ValueError,
                           match="length of inception_blocks should be 7 instead of 1"):
            models.Inception3(inception_blocks=[inception_module.BasicConv2d])
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        models.googlenet(init_weights=False, foo=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        models.inception_v3(init_weights=False, foo=1)
    # V2 pins its norm layer and head width: a second value is a duplicate keyword
    with pytest.raises(TypeError, match="multiple values for keyword argument 'norm_layer'"):
        models.efficientnet_v2_s(norm_layer=nn.BatchNorm2d)
    with pytest.raises(TypeError, match="last_channel"):
        models.efficientnet_v2_s(last_channel=100)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        models.efficientnet_v2_s(foo=1)
    with pytest.raises(TypeError, match=r"should be List\[MBConvConfig\]"):
        models.EfficientNet([1, 2], 0.2)
    with pytest.raises(ValueError, match="illegal stride value"):
        efficientnet.FusedMBConv(efficientnet.FusedMBConvConfig(4, 3, 3, 24, 48, 4), 0.1,
                                 nn.BatchNorm2d)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit init_weights gives no warning
        model = models.googlenet(init_weights=False, aux_logits=False, num_classes=3)
    assert model.aux1 is None and model.aux2 is None
    assert (model.aux_logits, model.transform_input) == (False, False)


def test_efficientnet_v2_layout():
    # torchvision's V2 configuration, probed: fused stages first, eps 1e-3, 1280 head
    cnf = efficientnet.FusedMBConvConfig(4, 3, 2, 24, 48, 4)
    assert repr(cnf).startswith("FusedMBConvConfig(expand_ratio=4, kernel=3, stride=2, "
                                "input_channels=24, out_channels=48, num_layers=4, block=")
    assert cnf.block is efficientnet.FusedMBConv
    block = efficientnet.FusedMBConv(efficientnet.FusedMBConvConfig(1, 3, 1, 24, 24, 4), 0.1,
                                     nn.BatchNorm2d)
    assert len(block.block) == 1 and block.use_res_connect and block.out_channels == 24
    model = models.efficientnet_v2_s(dropout=0.7, stochastic_depth_prob=0.5)
    assert model.classifier[0].p == 0.7 and model.classifier[0].inplace
    assert model.classifier[1].in_features == 1280 and model.features[0][1].eps == 1e-3
    assert [type(stage[0]).__name__ for stage in model.features[1:-1]] == \
        ["FusedMBConv"] * 3 + ["MBConv"] * 3
    assert [len(stage) for stage in model.features[1:-1]] == [2, 4, 4, 6, 9, 15]
    assert model.features[-2][-1].stochastic_depth.p == pytest.approx(0.5 * 39 / 40)
    se = model.features[4][0].block[2]
    assert (se.fc1.in_channels, se.fc1.out_channels) == (256, 16)


def test_docstring_examples():
    # the building blocks' examples (the whole-model ones take long to build)
    g, i, e = googlenet_module, inception_module, efficientnet
    objects = [(g, g.BasicConv2d), (g, g.Inception), (g, g.InceptionAux),
               (g, g.GoogLeNetOutputs), (i, i.BasicConv2d), (i, i.InceptionA),
               (i, i.InceptionB), (i, i.InceptionC), (i, i.InceptionD), (i, i.InceptionE),
               (i, i.InceptionAux), (i, i.InceptionOutputs), (e, e.FusedMBConvConfig),
               (e, e.FusedMBConv)]
    runner = doctest.DocTestRunner()
    for module, obj in objects:
        for test in doctest.DocTestFinder(recurse=False).find(
                obj, globs={"ember": ember, **vars(module)}):
            runner.run(test)
    assert runner.failures == 0 and runner.tries >= len(objects)


def test_efficientnet_v2_builder_arguments(monkeypatch):
    # what each builder hands EfficientNet (dropout per variant), without building the models
    seen = {}

    def fake(setting, dropout, **kwargs):
        seen.update(setting=setting, dropout=dropout, **kwargs)

    monkeypatch.setattr(efficientnet, "EfficientNet", fake)
    for builder, dropout, last_out in [(models.efficientnet_v2_s, 0.2, 256),
                                       (models.efficientnet_v2_m, 0.3, 512),
                                       (models.efficientnet_v2_l, 0.4, 640)]:
        seen.clear()
        builder(num_classes=5)
        assert seen["dropout"] == dropout and seen["num_classes"] == 5
        assert seen["last_channel"] == 1280 and seen["norm_layer"](4).eps == 1e-3
        assert seen["setting"][-1].out_channels == last_out
        assert [type(c).__name__ for c in seen["setting"][:4]] == \
            ["FusedMBConvConfig"] * 3 + ["MBConvConfig"]
    builder(dropout=0.1)
    assert seen["dropout"] == 0.1


def test_outputs_by_mode():
    model = models.googlenet(init_weights=False, num_classes=4)
    x = ember.randn(2, 3, 40, 40)
    with ember.no_grad():
        out = model.train()(x)
        assert isinstance(out, models.GoogLeNetOutputs)
        assert [tuple(t.shape) for t in out] == [(2, 4)] * 3
        assert tuple(model.eval()(x).shape) == (2, 4)
    # eager_outputs assembles the result from the parts the mode calls for
    z = ember.zeros(2, 4)
    assert model.eager_outputs(z, None, None) is z
    packed = model.train().eager_outputs(z, None, None)
    assert packed.logits is z and packed.aux_logits1 is None
    model.aux_logits = False
    assert model.eager_outputs(z, None, None) is z

    inc = models.inception_v3(init_weights=False, num_classes=4, aux_logits=False)
    with ember.no_grad():
        assert tuple(inc.train()(ember.randn(2, 3, 75, 75)).shape) == (2, 4)
    assert inc.AuxLogits is None
    inc.aux_logits = True
    assert inc.eager_outputs(z, None) == models.InceptionOutputs(z, None)
    assert inc.eval().eager_outputs(z, None) is z


def test_transform_input_rescales_imagenet_normalization():
    # x * std / 0.5 + (mean - 0.5) / 0.5 per channel, as torchvision's _transform_input gives
    x = ember.arange(24.0).reshape(1, 3, 2, 4)
    model = models.googlenet(init_weights=False, transform_input=True, aux_logits=False)
    got = model._transform_input(x).numpy()
    assert got[0, 0, 0, 0] == pytest.approx(-0.03)
    assert got[0, 1, 0, 0] == pytest.approx(8 * 0.224 / 0.5 + (0.456 - 0.5) / 0.5)
    assert got[0, 2, 1, 3] == pytest.approx(23 * 0.225 / 0.5 + (0.406 - 0.5) / 0.5)
    model.transform_input = False
    assert model._transform_input(x) is x


def test_inception_v3_transfer_learning_snippet():
    # the fine-tuning tutorial's recipe (feature extraction): freeze the body, new heads for
    # 3 classes, train mode returns (outputs, aux), loss = main + 0.4 * aux. torchvision's
    # outputs for these seeded steps are in the fixture.
    fact = FACTS["inception_v3"]
    model = _build("inception_v3")
    for p in model.parameters():
        p.requires_grad = False
    ember.manual_seed(3)
    model.AuxLogits.fc = nn.Linear(768, 3)
    model.fc = nn.Linear(2048, 3)
    params = [p for p in model.parameters() if p.requires_grad]
    assert len(params) == 4
    optimizer = ember.optim.SGD(params, lr=0.001, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    ember.manual_seed(2)
    inputs, labels = ember.randn(*fact["train_shape"]), ember.tensor([0, 2])
    model.train()
    optimizer.zero_grad()
    outputs, aux_outputs = model(inputs)
    _check_train(models.InceptionOutputs(outputs, aux_outputs), fact)
    loss = criterion(outputs, labels) + 0.4 * criterion(aux_outputs, labels)
    loss.backward()
    before = model.fc.weight.detach().clone()
    optimizer.step()
    assert np.isfinite(loss.item())
    assert model.AuxLogits.fc.weight.grad is not None and model.fc.bias.grad is not None
    assert model.Mixed_7c.branch_pool.conv.weight.grad is None
    assert not np.allclose(before.numpy(), model.fc.weight.detach().numpy())
    _, preds = ember.max(outputs, 1)
    assert preds.shape == (2,)


@pytest.mark.parametrize("case", ["googlenet", "googlenet_noaux", "inception_v3",
                                  "inception_v3_noaux", "efficientnet_v2_s"])
def test_torchvision_state_dict_loads_and_matches(case):
    # torchvision's weights (with random batch-norm statistics) in ember's model: whole
    # outputs agree, eval and train (dropout drawing right after the seeded input)
    rec = run_oracle("fixtures/make_models_inception.py", case)
    model = models.get_model(BUILDERS[case], weights=None, **FACTS[case]["kwargs"]).eval()
    model.load_state_dict(recorded_state(rec))
    with ember.no_grad():
        out = model(ember.from_numpy(rec["eval/input"])).numpy()
    np.testing.assert_allclose(out, rec["eval/output"], rtol=1e-4,
                               atol=1e-5 * np.abs(rec["eval/output"]).max())
    if "train/input" not in rec:
        return
    if case == "inception_v3":  # the fine-tuning heads, as the oracle draws them
        ember.manual_seed(3)
        model.AuxLogits.fc = nn.Linear(768, 3)
        model.fc = nn.Linear(2048, 3)
    ember.manual_seed(2)
    x = ember.randn(*rec["train/input"].shape)  # (differs from torch's in the last bit)
    np.testing.assert_allclose(x.numpy(), rec["train/input"], atol=1e-6)
    model.train()
    with ember.no_grad():
        out = model(ember.from_numpy(rec["train/input"]))
    parts = list(out) if isinstance(out, tuple) else [out]
    for i, part in enumerate(parts):
        if f"train/{i}" in rec:
            want = rec[f"train/{i}"]
            np.testing.assert_allclose(part.numpy(), want, rtol=1e-3,
                                       atol=1e-3 * np.abs(want).max())
        else:
            assert part is None
