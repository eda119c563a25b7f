"""Behaviour pinned while rewriting a few units clean-room (masked var/std, the FLOP counter's
SDPA backward formula and module names, the old profiler's enter rules, benchmark TaskSpec,
Fold/Unfold, sigmoid_focal_loss, ConvNormActivation, lazy_property, dropout modules, affine's
argument checks and PIL fill): each case compared with torch / torchvision."""

import functools
import importlib
import itertools
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import ember


def _outcome(fn):
    """(result or ("raise", type name, message)) of ``fn()``, warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - the error itself is compared
            return ("raise", type(e).__name__, str(e))


# -- masked var / std ------------------------------------------------------------------------

VALUES = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.5]])
MASK = np.array([[True, False, True], [False, False, False]])


def _masked(lib, fn, data, mask, **kw):
    kw = {k: getattr(lib, v) if k == "dtype" else v for k, v in kw.items()}
    mask = None if mask is None else lib.tensor(mask)
    return _outcome(lambda: getattr(lib.masked, fn)(lib.tensor(data), mask=mask, **kw))


@pytest.mark.parametrize("fn", ["var", "std"])
@pytest.mark.parametrize("data", [VALUES, VALUES.astype(np.int64), np.array([[1 + 2j, 3 - 1j, 2j],
                                                                             [1j, 2, 3]]),
                                  np.array([[0.6, 0.6, 3.9], [0.2, 0.1, 5.0]])],
                         ids=["float", "int", "complex", "fractions"])
@pytest.mark.parametrize("kw", [{"dim": 1}, {"dim": None}, {"dim": 1, "dtype": "int64"},
                                {"dim": 1, "dtype": "float64"}, {"dim": 0, "correction": 2.5},
                                {"dim": 1, "unbiased": False, "keepdim": True}],
                         ids=str)
def test_masked_var_std_dtypes_and_corrections(torch, fn, data, kw):
    # the mean is taken in ``dtype``, the squares are summed in the working dtype and the
    # quotient is cast before the square root: an int64 ``dtype`` shows all three
    for mask in (MASK, None):
        ours, theirs = _masked(ember, fn, data, mask, **kw), _masked(torch, fn, data, mask, **kw)
        if isinstance(theirs, tuple):
            assert ours[:2] == theirs[:2]
            continue
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, equal_nan=True)


# -- FLOP counter ----------------------------------------------------------------------------

def test_sdpa_backward_flop_count_matches_torch_shapes_and_errors(torch):
    from torch.utils import flop_counter as theirs

    from ember.utils import flop_counter as ours

    sizes = [1, 2, 3, 4]
    rng = np.random.default_rng(0)
    for _ in range(400):
        shapes = [tuple(int(v) for v in rng.choice(sizes, 4)) for _ in range(4)]
        if rng.random() < 0.6:  # mostly consistent shapes, so that counts are compared too
            b, h, s, _ = shapes[1]
            shapes[0] = (b, h, s, shapes[3][3])
            shapes[2] = (b, shapes[3][1], shapes[3][2], shapes[1][3])
            shapes[3] = (b,) + shapes[3][1:]
        assert (_outcome(functools.partial(ours.sdpa_backward_flop_count, *shapes))
                == _outcome(functools.partial(theirs.sdpa_backward_flop_count, *shapes))), shapes


def _module_names(lib):
    """FLOPs by module name for calls that exercise how names are given and overwritten."""
    nn = lib.nn
    lib.manual_seed(0)
    x = lib.randn(2, 4)
    shared = nn.Linear(4, 4)
    first = nn.Sequential(shared)
    holder = nn.ModuleList([nn.Linear(4, 4), shared])

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = holder  # never called itself: its children still get "Outer.m.<i>"

        def forward(self, x):
            return self.m[1](x)

    outer = Outer()
    counter = importlib.import_module(lib.__name__ + ".utils.flop_counter").FlopCounterMode(
        display=False)
    seen = []
    for calls in ([shared, outer, first, shared], [first, outer, first]):
        with counter:
            for module in calls:
                module(x)
        seen.append(sorted((k, sum(v.values())) for k, v in counter.get_flop_counts().items()))
    return seen


def test_flop_counter_module_names_match_torch(torch):
    assert _module_names(ember) == _module_names(torch)


# -- autograd.profiler.profile ---------------------------------------------------------------

def test_old_profiler_enter_rules_match_torch(torch):
    for lib in (ember, torch):
        disabled = lib.autograd.profiler.profile(enabled=False)
        with disabled as bound:
            assert bound is None  # a disabled profiler binds nothing
        prof = lib.autograd.profiler.profile()
        prof._prepare_trace()
        assert prof.entered  # preparing counts as entering: the block cannot be used after
        with pytest.raises(RuntimeError, match="Profiler context manager is not reentrant"):
            prof.__enter__()
        prof = lib.autograd.profiler.profile()
        with prof:
            lib.ones(2).exp()
        with pytest.raises(RuntimeError, match="not reentrant"):
            with prof:
                pass
    with ember.autograd.profiler.profile() as prof:
        ember.ones(2).exp()
    assert [e.key for e in prof.key_averages()] == ["aten::exp"]


# -- benchmark TaskSpec ----------------------------------------------------------------------

def test_taskspec_text_matches_torch(torch):
    from torch.utils.benchmark.utils.common import TaskSpec as Theirs

    from ember.utils.benchmark.utils.common import TaskSpec as Ours

    stmts = ["f(x)", "", "a = 1\nb = 2"]
    setups = ["pass", "", "x = 1", "x = 1\n\ny = 2\n", "  pass  "]
    labels = [None, "", "L", "L\nM"]
    for stmt, setup, label, sub, desc in itertools.product(stmts, setups, labels, labels,
                                                           labels):
        ours = Ours(stmt, setup, label=label, sub_label=sub, description=desc, env="E")
        theirs = Theirs(stmt, setup, label=label, sub_label=sub, description=desc, env="E")
        assert ours.title == theirs.title
        assert ours.setup_str() == theirs.setup_str()
        assert ours.summarize() == theirs.summarize()
        assert hash(ours) == hash(theirs)
    with pytest.raises(Exception, match="cannot assign to field 'stmt'"):
        Ours("a", "b").stmt = "c"


# -- Fold / Unfold ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda nn: nn.Unfold(3, padding=(1, 2), stride=[2, 1]),
    lambda nn: nn.Unfold(kernel_size=(2, 3), dilation=2),
    lambda nn: nn.Fold((4, 5), 2, dilation=1, stride=2),
    lambda nn: nn.Fold(output_size=4, kernel_size=[2, 2], padding=1),
])
def test_fold_unfold_repr_and_attributes_match_torch(torch, make):
    ours, theirs = make(ember.nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    assert type(ours).__constants__ == type(theirs).__constants__
    for name in type(theirs).__constants__:
        assert getattr(ours, name) == getattr(theirs, name)


# -- sigmoid_focal_loss ----------------------------------------------------------------------


# -- ConvNormActivation ----------------------------------------------------------------------


# -- lazy_property ---------------------------------------------------------------------------

def test_lazy_property_matches_torch(torch):
    from torch.distributions.utils import lazy_property as theirs

    from ember.distributions.utils import lazy_property as ours

    for lib, lazy in ((ember, ours), (torch, theirs)):
        calls = []

        class Holder:
            @lazy
            def value(self, calls=calls, lib=lib) -> int:
                """The doc."""
                calls.append(lib.is_grad_enabled())
                return 3

        h = Holder()
        with lib.no_grad():
            assert h.value == 3 and h.value == 3
        assert calls == [True] and vars(h) == {"value": 3}  # computed once, with grad on
        on_class = Holder.value
        assert isinstance(on_class, property) and isinstance(on_class, lazy)
        assert on_class.__doc__ == "The doc." and on_class.fget is vars(Holder)["value"].wrapped
        assert vars(Holder)["value"].__name__ == "value"
        with pytest.raises(AttributeError, match="has no setter"):
            on_class.__set__(h, 1)


# -- dropout modules -------------------------------------------------------------------------

NAMES = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
         "FeatureAlphaDropout"]


@pytest.mark.parametrize("name", NAMES)
def test_dropout_modules_match_torch(torch, name):
    for p in (0.5, 0.2, 1, 0, True, float("nan"), -0.1, 1.5, "0.5", None):
        for inplace in (False, True):
            ours = _outcome(functools.partial(getattr(ember.nn, name), p, inplace))
            theirs = _outcome(functools.partial(getattr(torch.nn, name), p, inplace))
            ours, theirs = (repr(r) if not isinstance(r, tuple) else r for r in (ours, theirs))
            assert ours == theirs, (p, inplace)
    assert getattr(ember.nn, name).__constants__ == getattr(torch.nn, name).__constants__
    shape = {"Dropout1d": (2, 3, 4), "Dropout2d": (2, 3, 4, 4),
             "Dropout3d": (2, 3, 2, 2, 2)}.get(name, (2, 3, 4))
    for lib in (ember, torch):
        x = lib.ones(*shape)
        out = getattr(lib.nn, name)(0.5, inplace=True)(x)
        # the alpha variants ignore ``inplace`` and return a new tensor, as torch's do
        assert (out is x) == ("Alpha" not in name)
        evaluated = getattr(lib.nn, name)(0.5).eval()
        assert bool((evaluated(x) == x).all())


# -- affine's checks and PIL fill ------------------------------------------------------------

# -- against torchvision: run in a subprocess (torchvision needs its import shim at startup) --

# the cases, written once for either library: ``lib`` is torch or ember, ``tv`` torchvision
# or ember.vision; every result is JSON (errors as [type name, message])
TV_CASES = r'''
import itertools, warnings
import numpy as np
from PIL import Image


def outcome(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn()
        except Exception as e:
            return [type(e).__name__, str(e)]


def focal(lib, tv):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, (20, 7)).astype(np.float32)
    y = (rng.random((20, 7)) > 0.6).astype(np.float32)
    out = []
    for alpha, gamma, red in itertools.product((0.25, -1, 0.9), (0, 1.5, 2),
                                               ("none", "mean", "sum")):
        t = lib.tensor(x, requires_grad=True)
        loss = tv.ops.sigmoid_focal_loss(t, lib.tensor(y), alpha, gamma, red)
        loss.sum().backward()
        out.append([loss.detach().reshape(-1).tolist(), t.grad.reshape(-1).tolist()])
    # the loss's own checks (shapes) come before the reduction name is checked
    bad = outcome(lambda: tv.ops.sigmoid_focal_loss(lib.zeros(2, 2), lib.zeros(3, 3),
                                                    reduction="bad"))
    empty = tv.ops.sigmoid_focal_loss(lib.zeros(0, 3), lib.zeros(0, 3), reduction="mean")
    return {"values": out, "bad": bad, "empty": repr(float(empty))}


CNA_ARGS = [{}, {"kernel_size": (3, 5), "dilation": (1, 2)},
            {"kernel_size": (3, 5), "dilation": 2}, {"kernel_size": 5, "dilation": (2, 3)},
            {"kernel_size": 4, "padding": 0, "norm_layer": None},
            {"norm_layer": None, "activation_layer": None, "bias": False}, {"inplace": None},
            {"kernel_size": (3, 5, 7), "dilation": (1, 2)}]


def conv_norm_activation(lib, misc):
    out = [outcome(lambda: repr(misc.Conv2dNormActivation(3, 8, **a))) for a in CNA_ARGS]
    out.append(outcome(lambda: repr(misc.Conv3dNormActivation(2, 4, kernel_size=(1, 3),
                                                              dilation=(1, 2, 2)))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block = misc.ConvNormActivation(3, 8, conv_layer=lib.nn.Conv2d)
    out.append([block.out_channels, [str(w.message) for w in caught]])
    return out


AFFINE_ARGS = [
    {"angle": "1"}, {"angle": 2}, {"translate": 1}, {"translate": [1]}, {"translate": (1, 2)},
    {"scale": 0}, {"scale": None}, {"shear": "a"}, {"shear": 5}, {"shear": (1.0,)},
    {"shear": (1, 2, 3)}, {"shear": []}, {"shear": np.float32(1)}, {"center": 3},
    {"center": (2, 1)}, {"angle": None, "translate": None}, {"scale": -1, "shear": None},
    {"shear": [1, 2, 3], "center": "ab"}]


def affine_checks(lib, F):
    base = {"angle": 10.0, "translate": [1, 0], "scale": 1.0, "shear": [0.0, 0.0]}
    img = lib.arange(60.0).reshape(2, 5, 6)
    return [outcome(lambda: round(float(F.affine(img, **dict(base, **kw)).sum()), 3))
            for kw in AFFINE_ARGS]


def pil_fill(F):
    out = []
    base = Image.fromarray(np.arange(90, dtype=np.uint8).reshape(5, 6, 3))
    for mode in ("L", "F", "RGB", "RGBA", "I"):
        img = base.convert(mode)
        for fill in (7.6, [7.6], [7, 8], (7, 8, 9), [7, 8, 9, 10], [], [300]):
            out.append(outcome(lambda: float(np.asarray(
                F.affine(img, 20, [1, 0], 1.0, [0.0, 0.0], fill=fill)).sum())))
            out.append(outcome(lambda: float(np.asarray(F.rotate(img, 20, fill=fill)).sum())))
    return out


def everything(lib, tv, misc):
    return {"focal": focal(lib, tv), "cna": conv_norm_activation(lib, misc),
            "affine": affine_checks(lib, tv.transforms.functional),
            "fill": pil_fill(tv.transforms.functional)}
'''


@pytest.fixture(scope="module")
def torchvision_results():
    pytest.importorskip("torch")
    path = os.environ.get("EMBER_TORCHVISION_PATH")
    if not path:
        pytest.skip("torchvision is not installed beside the oracle (EMBER_TORCHVISION_PATH)")
    shim = os.path.join(os.path.dirname(__file__), "programs", "_torchvision_shim")
    script = (TV_CASES + "\nimport json, torch, torchvision\nimport torchvision.ops.misc as misc"
              "\nprint(json.dumps(everything(torch, torchvision, misc)))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=600, env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                             [shim, path])))
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def ember_results():
    import ember.vision as vision
    import ember.vision.ops.layers as layers

    namespace: dict = {}
    exec(TV_CASES, namespace)
    return json.loads(json.dumps(namespace["everything"](ember, vision, layers)))


def test_focal_loss_matches_torchvision(torchvision_results, ember_results):
    theirs, ours = torchvision_results["focal"], ember_results["focal"]
    for (got_loss, got_grad), (want_loss, want_grad) in zip(ours["values"], theirs["values"],
                                                            strict=True):
        np.testing.assert_allclose(got_loss, want_loss, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_grad, want_grad, rtol=1e-5, atol=1e-6)
    assert theirs["bad"][0] == "ValueError" and "Target size" in theirs["bad"][1]
    assert ours["bad"] == theirs["bad"]
    assert ours["empty"] == theirs["empty"] == "nan"


def test_conv_norm_activation_matches_torchvision(torchvision_results, ember_results):
    assert ember_results["cna"] == torchvision_results["cna"]
    assert torchvision_results["cna"][-1][1]  # torchvision warns on direct use


def test_affine_argument_checks_match_torchvision(torchvision_results, ember_results):
    assert ember_results["affine"] == torchvision_results["affine"]


def test_pil_fill_matches_torchvision(torchvision_results, ember_results):
    # a fill whose length is neither 1 nor the band count raises (it was drawn before), and a
    # float image keeps a fractional fill
    assert ember_results["fill"] == torchvision_results["fill"]
