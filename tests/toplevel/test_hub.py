"""``ember.hub`` against ``torch.hub``, offline: files served by ``file://`` URLs and by an
``http.server`` on 127.0.0.1, folders with a ``hubconf.py``."""

import collections
import hashlib
import http.server
import os
import threading
import urllib.error
import zipfile
from pathlib import Path

import pytest

import ember

hub = ember.hub


class Custom:
    """A class pickled by reference: safe loading (weights_only=True) refuses it."""

    def __init__(self, value):
        self.value = value


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving ``tmp_path / "www"``; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def test_names_match_torch(torch):
    assert sorted(hub.__all__) == sorted(torch.hub.__all__)


# -- get_dir / set_dir ---------------------------------------------------------------------------

@pytest.mark.parametrize("env", [{"TORCH_HOME": "/tmp/th"}, {"XDG_CACHE_HOME": "/tmp/xdg"},
                                 {"TORCH_HOME": "~/th"}, {}])
def test_get_dir_follows_torch_rules(torch, monkeypatch, env):
    for name in ("TORCH_HOME", "XDG_CACHE_HOME", "TORCH_HUB"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    assert hub.get_dir() == torch.hub.get_dir()
    assert hub.get_dir().endswith("hub")


def test_set_dir_and_torch_hub_warning(torch, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    for lib in (hub, torch.hub):
        lib.set_dir("~/somewhere")
    assert hub.get_dir() == torch.hub.get_dir() == os.path.expanduser("~/somewhere")
    monkeypatch.setenv("TORCH_HUB", "x")
    with pytest.warns(UserWarning, match="TORCH_HUB is deprecated"):
        hub.get_dir()


# -- download_url_to_file ------------------------------------------------------------------------

def _leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".partial"))


def test_download_file_url_with_and_without_hash(torch, tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(300_000))  # more than one 128 KiB chunk
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    for lib in (hub, torch.hub):
        for prefix in (None, digest[:8], digest):
            dst = tmp_path / f"{lib.__name__}-{prefix}.bin"
            lib.download_url_to_file(src.as_uri(), str(dst), hash_prefix=prefix, progress=False)
            assert dst.read_bytes() == src.read_bytes()
    assert _leftovers(tmp_path) == []


def test_download_bad_hash_leaves_nothing(torch, tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(b"payload")
    errors = []
    for lib in (hub, torch.hub):
        dst = tmp_path / f"{lib.__name__}.bin"
        with pytest.raises(RuntimeError, match="invalid hash value") as err:
            lib.download_url_to_file(src.as_uri(), str(dst), hash_prefix="0000", progress=False)
        assert not dst.exists()
        errors.append(str(err.value))
    assert errors[0] == errors[1]
    assert _leftovers(tmp_path) == []


def test_download_over_http_with_progress(torch, server, tmp_path, capfd):
    base, root = server
    (root / "w.bin").write_bytes(b"x" * 1000)
    for lib in (hub, torch.hub):
        dst = tmp_path / f"{lib.__name__}.bin"
        lib.download_url_to_file(f"{base}/w.bin", str(dst))
        assert dst.read_bytes() == b"x" * 1000
    assert "100" in capfd.readouterr().err  # the percentage reached 100


def test_failed_download_keeps_existing_file_and_leaves_no_partial(torch, server, tmp_path):
    base, _ = server
    for lib in (hub, torch.hub):
        dst = tmp_path / f"{lib.__name__}.bin"
        dst.write_bytes(b"old")
        with pytest.raises(urllib.error.HTTPError):
            lib.download_url_to_file(f"{base}/missing.bin", str(dst), progress=False)
        assert dst.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


# -- load_state_dict_from_url ----------------------------------------------------------------------

def _state(torch):
    return collections.OrderedDict(w=torch.arange(6.0).reshape(2, 3), b=torch.tensor([1, 2]))


def _check_state(got, want):
    assert list(got) == list(want)
    for k in want:
        assert got[k].tolist() == want[k].tolist()
        assert str(got[k].dtype) == str(want[k].dtype)


def test_load_state_dict_from_url_matches_torch(torch, tmp_path, capsys):
    path = tmp_path / "src" / "model.pt"
    path.parent.mkdir()
    torch.save(_state(torch), path)
    got = hub.load_state_dict_from_url(path.as_uri(), model_dir=str(tmp_path / "e"),
                                       progress=False)
    want = torch.hub.load_state_dict_from_url(path.as_uri(), model_dir=str(tmp_path / "t"),
                                              progress=False)
    _check_state(got, want)
    assert "Downloading" in capsys.readouterr().out
    # cached: found by name, not downloaded again
    path.unlink()
    _check_state(hub.load_state_dict_from_url(path.as_uri(), model_dir=str(tmp_path / "e")),
                 want)
    assert "Downloading" not in capsys.readouterr().out


def test_default_model_dir_and_file_name(monkeypatch, tmp_path, torch):
    monkeypatch.setattr(hub, "_hub_dir", str(tmp_path / "hubdir"))
    path = tmp_path / "model.pt"
    ember.save({"a": ember.ones(2)}, str(path))
    out = hub.load_state_dict_from_url(path.as_uri(), file_name="renamed.pt", progress=False)
    assert out["a"].tolist() == [1.0, 1.0]
    assert (tmp_path / "hubdir" / "checkpoints" / "renamed.pt").exists()


def test_check_hash_uses_the_name(torch, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = src / "model.pt"
    torch.save(_state(torch), good)
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    named = src / f"model-{digest[:8]}.pt"
    named.write_bytes(good.read_bytes())
    wrong = src / "model-deadbeef.pt"
    wrong.write_bytes(good.read_bytes())
    for lib, out in ((hub, "e"), (torch.hub, "t")):
        sd = lib.load_state_dict_from_url(named.as_uri(), model_dir=str(tmp_path / out),
                                          check_hash=True, progress=False)
        assert sd["w"].tolist() == _state(torch)["w"].tolist()
        with pytest.raises(RuntimeError, match='invalid hash value \\(expected "deadbeef"'):
            lib.load_state_dict_from_url(wrong.as_uri(), model_dir=str(tmp_path / out),
                                         check_hash=True, progress=False)
        assert not (tmp_path / out / wrong.name).exists()
        # without check_hash the name is not checked
        lib.load_state_dict_from_url(wrong.as_uri(), model_dir=str(tmp_path / out),
                                     progress=False)


def test_weights_only_default_is_false_as_in_torch(torch, tmp_path):
    path = tmp_path / "custom.pt"
    torch.save({"obj": Custom(5)}, path)
    for lib, out in ((hub, "e"), (torch.hub, "t")):
        loaded = lib.load_state_dict_from_url(path.as_uri(), model_dir=str(tmp_path / out),
                                              progress=False)
        assert loaded["obj"].value == 5
        with pytest.raises(Exception, match="(?i)weights.only|unpickl"):
            lib.load_state_dict_from_url(path.as_uri(), model_dir=str(tmp_path / out),
                                         progress=False, weights_only=True)


def test_legacy_zip_is_extracted_and_loaded(torch, tmp_path):
    inner = tmp_path / "inner.pt"
    torch.save(_state(torch), inner, _use_new_zipfile_serialization=False)
    archive = tmp_path / "legacy.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(inner, "weights.pt")
    results = []
    for lib, out in ((hub, "e"), (torch.hub, "t")):
        with pytest.warns(FutureWarning, match="old format < 1.6"):
            results.append(lib.load_state_dict_from_url(
                archive.as_uri(), model_dir=str(tmp_path / out), progress=False))
        assert (tmp_path / out / "weights.pt").exists()
    _check_state(*results)


def test_legacy_zip_refuses_escaping_entries(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../evil.pt", b"x")
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="directory traversal"):
        hub.load_state_dict_from_url(archive.as_uri(), model_dir=str(tmp_path / "m"),
                                     progress=False)
    assert not (tmp_path / "evil.pt").exists()


# -- load / list / help ----------------------------------------------------------------------------

HUBCONF = '''
dependencies = ["os"]
from helper import scale


def double(x=1, *, times=2):
    """Double (or scale) x."""
    return scale(x, times)


def _private():
    return 0


NOT_CALLABLE = 3
'''


@pytest.fixture
def repo(tmp_path):
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "hubconf.py").write_text(HUBCONF)
    (folder / "helper.py").write_text("def scale(x, times):\n    return x * times\n")
    return str(folder)


def test_load_local_matches_torch(torch, repo):
    for lib in (ember, torch):
        assert lib.hub.load(repo, "double", 4, source="local") == 8
        assert lib.hub.load(repo, "double", x=4, times=3, source="LOCAL") == 12


def test_load_local_errors_match_torch(torch, repo, tmp_path):
    cases = [((repo, "missing"), {}, RuntimeError, "Cannot find callable missing in hubconf"),
             ((repo, "NOT_CALLABLE"), {}, RuntimeError, "Cannot find callable"),
             ((repo, 3), {}, ValueError, "model should be a string"),
             ((str(tmp_path), "double"), {}, FileNotFoundError, ""),
             ((repo, "double"), {"source": "svn"}, ValueError, 'Unknown source: "svn"')]
    for args, kwargs, exc, words in cases:
        for lib in (ember, torch):
            with pytest.raises(exc, match=words):
                lib.hub.load(*args, **{"source": "local", **kwargs})


def test_missing_dependencies_are_reported(torch, tmp_path):
    (tmp_path / "hubconf.py").write_text("dependencies = ['no_such_pkg_xyz']\ndef m():\n    "
                                         "return 1\n")
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Missing dependencies: no_such_pkg_xyz"):
            lib.hub.load(str(tmp_path), "m", source="local")


def test_github_is_refused_with_instructions(repo):
    for call in (lambda: hub.load("pytorch/vision", "resnet18"),
                 lambda: hub.load("pytorch/vision:v0.10", "resnet18", source="github"),
                 lambda: hub.list("pytorch/vision"),
                 lambda: hub.help("pytorch/vision", "resnet18")):
        with pytest.raises(NotImplementedError, match="git clone https://github.com/pytorch/"
                                                      "vision.*source='local'"):
            call()


def test_list_and_help_on_a_folder(repo):
    assert hub.list(repo) == ["double", "scale"]  # public callables, imports included
    assert hub.help(repo, "double") == "Double (or scale) x."
    with pytest.raises(RuntimeError, match="Cannot find callable"):
        hub.help(repo, "_nothing")


def test_entry_points_build_ember_models(tmp_path):
    (tmp_path / "hubconf.py").write_text(
        "import ember as torch\n\ndef tiny(n=2):\n    return torch.nn.Linear(n, 1)\n")
    model = hub.load(str(tmp_path), "tiny", n=3, source="local")
    assert isinstance(model, ember.nn.Linear) and model.in_features == 3
