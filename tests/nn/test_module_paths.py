"""Classes at PyTorch's module paths: every class ``torch.nn.modules.<sub>`` defines that ember
has lives at ``ember.nn.modules.<sub>``, with the same name, ``__module__`` and public bases;
whole models pickled by PyTorch load into those classes.

``KNOWN_MISSING`` lists the torch classes ember does not implement yet; the walk fails when a
class goes missing that ember had, or when torch (a new version) adds one nobody listed.
"""

import importlib
import inspect
import io
import pkgutil

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

# Private bases user code subclasses or names (``from torch.nn.modules.loss import _Loss``).
PRIVATE_BASES = {"_ConvNd", "_ConvTransposeNd", "_NormBase", "_BatchNorm", "_InstanceNorm",
                 "_DropoutNd", "_Loss", "_WeightedLoss", "_MaxPoolNd", "_AvgPoolNd",
                 "_LPPoolNd", "_IncompatibleKeys"}

KNOWN_MISSING: set = set()  # every class of torch.nn.modules exists in ember


def _torch_classes():
    """(submodule, name, class) for the classes each torch.nn.modules submodule defines."""
    out = []
    for info in pkgutil.iter_modules(torch.nn.modules.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"torch.nn.modules.{info.name}")
        for name, obj in vars(mod).items():
            if (inspect.isclass(obj) and obj.__module__ == mod.__name__
                    and (not name.startswith("_") or name in PRIVATE_BASES)):
                out.append((info.name, name, obj))
    return out


TORCH_CLASSES = _torch_classes()


def _ember_anywhere(name):
    """The ember class called ``name``, wherever ember.nn defines it, or None."""
    if hasattr(ember.nn, name):
        return getattr(ember.nn, name)
    for info in pkgutil.iter_modules(ember.nn.modules.__path__):
        mod = importlib.import_module(f"ember.nn.modules.{info.name}")
        if inspect.isclass(getattr(mod, name, None)):
            return getattr(mod, name)
    return None


def test_every_ember_class_is_at_torchs_path():
    wrong = []
    for sub, name, _ in TORCH_CLASSES:
        cls = _ember_anywhere(name)
        if cls is None:
            continue
        try:
            mod = importlib.import_module(f"ember.nn.modules.{sub}")
        except ModuleNotFoundError:
            wrong.append(f"{sub}.{name}: ember has it in {cls.__module__}, no module {sub}")
            continue
        if getattr(mod, name, None) is not cls:
            wrong.append(f"{sub}.{name}: not reachable at ember.nn.modules.{sub}")
        elif not name.startswith("_") and cls.__module__ != f"ember.nn.modules.{sub}":
            wrong.append(f"{sub}.{name}: __module__ is {cls.__module__}")
    assert not wrong, "\n".join(wrong)


def test_missing_classes_are_the_known_ones():
    missing = {f"{sub}.{name}" for sub, name, _ in TORCH_CLASSES
               if not name.startswith("_") and _ember_anywhere(name) is None}
    # a class ember had must not go missing; a class torch adds must be listed (or built);
    # a class built since must leave the list, so that it stays the true list of gaps
    assert missing == KNOWN_MISSING, (sorted(missing - KNOWN_MISSING),
                                      sorted(KNOWN_MISSING - missing))


def test_issue_13_paths():
    mods = ember.nn.modules
    assert mods.activation.MultiheadAttention is ember.nn.MultiheadAttention
    assert issubclass(mods.linear.NonDynamicallyQuantizableLinear, ember.nn.Linear)
    assert mods.module.Module is ember.nn.Module
    assert mods.transformer.MultiheadAttention is ember.nn.MultiheadAttention  # as in torch
    # torch.nn does not export NonDynamicallyQuantizableLinear; neither does ember.nn
    assert not hasattr(ember.nn, "NonDynamicallyQuantizableLinear")
    mha = ember.nn.MultiheadAttention(8, 2)
    assert type(mha.out_proj) is mods.linear.NonDynamicallyQuantizableLinear
    assert repr(mha.out_proj) == repr(torch.nn.MultiheadAttention(8, 2).out_proj)


def test_public_bases_match_torch():
    """``isinstance`` agrees: each class's torch-named ancestors are torch's."""
    # torch-named classes ember has (a base ember lacks, such as LazyModuleMixin, is skipped)
    torch_public = {name for _, name, _ in TORCH_CLASSES
                    if _ember_anywhere(name) is not None} - {"Module"}
    wrong = []
    for _, name, tcls in TORCH_CLASSES:
        ecls = _ember_anywhere(name)
        if ecls is None:
            continue
        want = {c.__name__ for c in tcls.__mro__[1:]} & torch_public
        got = {c.__name__ for c in ecls.__mro__[1:]} & torch_public
        if want != got:
            wrong.append(f"{name}: ember's bases {sorted(got)}, torch's {sorted(want)}")
    assert not wrong, "\n".join(wrong)


def _whole_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Dropout2d(0.1), torch.nn.InstanceNorm2d(4, affine=True),
        torch.nn.PixelShuffle(2), torch.nn.Flatten(), torch.nn.Unflatten(1, (4, 16)),
        torch.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True),
        torch.nn.LayerNorm(16), torch.nn.GELU(), torch.nn.Linear(16, 5),
    ).eval()


def test_whole_torch_model_loads_into_ember_classes(tmp_path):
    model = _whole_model()
    path = tmp_path / "whole.pt"
    torch.save(model, path)
    loaded = ember.load(path, weights_only=False)
    assert type(loaded) is ember.nn.Sequential
    for t_child, e_child in zip(model.modules(), loaded.modules()):
        assert type(e_child).__name__ == type(t_child).__name__
        assert type(e_child).__module__ == type(t_child).__module__.replace("torch", "ember", 1)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = loaded(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_whole_rnn_and_attention_models_load(tmp_path):
    torch.manual_seed(0)
    parts = [torch.nn.LSTM(4, 6, batch_first=True), torch.nn.GRUCell(4, 6),
             torch.nn.MultiheadAttention(4, 2), torch.nn.Embedding(10, 4),
             torch.nn.CrossEntropyLoss(), torch.nn.Fold((4, 4), 2), torch.nn.Unfold(2)]
    buf = io.BytesIO()
    torch.save(parts, buf)
    buf.seek(0)
    lstm, cell, mha, emb, loss, fold, unfold = ember.load(buf, weights_only=False)
    assert type(mha.out_proj) is ember.nn.modules.linear.NonDynamicallyQuantizableLinear
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    with torch.no_grad():
        t_out = parts[0](torch.from_numpy(x))[0].numpy()
        t_att = parts[2](*(torch.from_numpy(x),) * 3)[0].numpy()
    with ember.no_grad():
        e_out = lstm(ember.from_numpy(x))[0].numpy()
        e_att = mha(*(ember.from_numpy(x),) * 3)[0].numpy()
    np.testing.assert_allclose(e_out, t_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e_att, t_att, rtol=1e-4, atol=1e-5)
    assert isinstance(cell, ember.nn.GRUCell) and isinstance(loss, ember.nn.CrossEntropyLoss)


def test_ember_pickles_name_torchs_paths(tmp_path):
    model = ember.nn.Sequential(ember.nn.BatchNorm1d(3), ember.nn.MultiheadAttention(4, 2),
                                ember.nn.GRUCell(2, 2), ember.nn.PixelShuffle(2))
    path = tmp_path / "ember_whole.pt"
    ember.save(model, path)
    loaded = ember.load(path, weights_only=False)
    assert [type(m) for m in loaded] == [type(m) for m in model]
    import zipfile

    with zipfile.ZipFile(path) as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    for name in (b"ember.nn.modules.batchnorm", b"ember.nn.modules.activation",
                 b"ember.nn.modules.rnn", b"ember.nn.modules.pixelshuffle"):
        assert name in pkl


def test_safe_globals_accept_classes_at_torch_paths():
    mods = ember.nn.modules
    classes = [mods.activation.MultiheadAttention, mods.linear.NonDynamicallyQuantizableLinear,
               mods.batchnorm.BatchNorm2d, mods.conv.Conv2d, mods.container.Sequential]
    before = ember.serialization.get_safe_globals()
    with ember.serialization.safe_globals(classes):
        assert all(c in ember.serialization.get_safe_globals() for c in classes)
    assert ember.serialization.get_safe_globals() == before


def test_weights_only_load_with_safe_globals_named_as_in_torch(tmp_path):
    """``import ember as torch``: the program allow-lists ``torch.nn.X`` (ember's classes) and
    loads a whole model PyTorch saved, which names ``torch.nn.modules.<sub>.X``."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4), torch.nn.GELU(),
                                torch.nn.Dropout(0.1), torch.nn.MultiheadAttention(4, 2)).eval()
    path = tmp_path / "whole.pt"
    torch.save(model, path)
    names = ["Sequential", "Linear", "BatchNorm1d", "GELU", "Dropout", "MultiheadAttention"]

    def allowed(lib):
        mods = lib.nn.modules
        return [getattr(lib.nn, n) for n in names] + [mods.linear.NonDynamicallyQuantizableLinear]

    with torch.serialization.safe_globals(allowed(torch)):
        want = torch.load(path, weights_only=True)
    with ember.serialization.safe_globals(allowed(ember)):
        got = ember.load(path, weights_only=True)
    assert [type(m).__name__ for m in got.modules()] == [type(m).__name__ for m in
                                                         want.modules()]
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    with torch.no_grad():
        t = want[3](want[2](want[1](want[0](torch.from_numpy(x)))))
        t = want[4](t, t, t)[0].numpy()
    with ember.no_grad():
        e = got[3](got[2](got[1](got[0](ember.from_numpy(x)))))
        e = got[4](e, e, e)[0].numpy()
    np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-5)
    # without the attention classes both refuse the file
    with ember.serialization.safe_globals(allowed(ember)[:4]):
        with pytest.raises(Exception, match="torch.nn.modules.dropout.Dropout"):
            ember.load(path, weights_only=True)
