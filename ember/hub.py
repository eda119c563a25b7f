"""``torch.hub``: download checkpoints by URL and load models from a folder's ``hubconf.py``.

``download_url_to_file`` and ``load_state_dict_from_url`` work as in PyTorch (any URL urllib
opens, ``file://`` included; the checkpoint is read with :func:`ember.load`). ``load``,
``list`` and ``help`` take a local folder holding a ``hubconf.py`` (``source="local"``).
ember does not download GitHub repositories: ``source="github"`` raises and explains how to
clone the repository and load it from the folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import sys
import tempfile
import uuid
import warnings
import zipfile
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load",
           "load_state_dict_from_url", "set_dir"]

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
MODULE_HUBCONF = "hubconf.py"
VAR_DEPENDENCY = "dependencies"
READ_DATA_CHUNK = 128 * 1024
_hub_dir: str | None = None


def _get_torch_home() -> str:
    return os.path.expanduser(os.getenv(
        "TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")))


def get_dir() -> str:
    """The hub cache folder for downloaded models and weights: the one ``set_dir`` set, else
    ``$TORCH_HOME/hub`` (``$TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, and that to
    ``~/.cache/torch``). The cache is PyTorch's own, shared with it.

    Example:
        >>> ember.hub.get_dir().endswith("hub")
        True
    """
    if os.getenv("TORCH_HUB"):
        warnings.warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead", stacklevel=2)
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(_get_torch_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Set the hub cache folder (``~`` is expanded).

    Example:
        >>> old = ember.hub.get_dir()
        >>> ember.hub.set_dir("~/my_hub")
        >>> ember.hub.get_dir().endswith("my_hub")
        True
        >>> ember.hub.set_dir(old)
    """
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


class _Progress:
    """The percentage (or byte count) written to stderr as a download goes, as PyTorch does
    without tqdm."""

    def __init__(self, total, enabled: bool):
        self.total, self.enabled, self.n = total, enabled, 0

    def update(self, n: int) -> None:
        if self.enabled:
            self.n += n
            sys.stderr.write(f"\r{self.n:.1f} bytes" if self.total is None
                             else f"\r{100 * self.n / float(self.total):.1f}%")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None,
                         progress: bool = True) -> None:
    """Download ``url`` to the path ``dst``. The data goes to a temporary file next to
    ``dst`` that is renamed to ``dst`` when complete, so a failed download leaves no partial
    file (and an existing ``dst`` untouched). With ``hash_prefix``, the file's SHA256 must
    start with it (else RuntimeError). ``progress`` writes the percentage to stderr.

    Example:
        >>> import os, tempfile, pathlib
        >>> folder = tempfile.mkdtemp()
        >>> src = os.path.join(folder, "a.txt")
        >>> _ = pathlib.Path(src).write_text("hi")
        >>> dst = os.path.join(folder, "b.txt")
        >>> ember.hub.download_url_to_file(pathlib.Path(src).as_uri(), dst, progress=False)
        >>> pathlib.Path(dst).read_text()
        'hi'
    """
    # open() without exclusive mode would silently reuse a name, hence the retry on a
    # FileExistsError that cannot happen with "w+b" (kept as PyTorch has it)
    dst = os.path.expanduser(dst)
    for _ in range(tempfile.TMP_MAX):
        tmp_dst = dst + "." + uuid.uuid4().hex + ".partial"
        try:
            f = open(tmp_dst, "w+b")  # noqa: SIM115  (closed in the finally below)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(errno.EEXIST, "No usable temporary file name found")
    req = Request(url, headers={"User-Agent": "torch.hub"})
    try:
        with urlopen(req) as u:
            length = u.info().get_all("Content-Length")
            file_size = int(length[0]) if length else None
            sha256 = hashlib.sha256() if hash_prefix is not None else None
            bar = _Progress(file_size, progress)
            try:
                while True:
                    buffer = u.read(READ_DATA_CHUNK)
                    if len(buffer) == 0:
                        break
                    f.write(buffer)
                    if sha256 is not None:
                        sha256.update(buffer)
                    bar.update(len(buffer))
            finally:
                bar.close()
            f.close()
            if sha256 is not None:
                digest = sha256.hexdigest()
                if digest[:len(hash_prefix)] != hash_prefix:
                    raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                                       f'"{digest}")')
        shutil.move(f.name, dst)
    finally:
        f.close()
        if os.path.exists(f.name):
            os.remove(f.name)


def _is_legacy_zip_format(filename: str) -> bool:
    """A zip holding exactly one file: how checkpoints older than PyTorch 1.6 were shipped
    (today's checkpoints are zips too, but with several entries)."""
    if zipfile.is_zipfile(filename):
        with zipfile.ZipFile(filename) as zf:
            infolist = zf.infolist()
        return len(infolist) == 1 and not infolist[0].is_dir()
    return False


def _safe_extract_zip(zip_file: zipfile.ZipFile, extract_to: str) -> None:
    """Extract every entry, refusing any whose path would land outside ``extract_to``."""
    target = Path(extract_to).resolve(strict=False)
    for member in zip_file.infolist():
        filename = os.path.normpath(member.filename)
        if filename.startswith(("/", "\\")) or (len(filename) >= 2 and filename[1] == ":"
                                                and filename[0].isalpha()):
            raise ValueError(f"Archive entry has absolute path: {member.filename}")
        if ".." in re.split(r"[/\\]", filename):
            raise ValueError(f"Archive entry contains directory traversal: {member.filename}")
        if not (target / filename).resolve(strict=False).is_relative_to(target):
            raise ValueError(f"Archive entry escapes target directory: {member.filename}")
        zip_file.extract(member, target)


def _legacy_zip_load(filename: str, model_dir: str, map_location, weights_only: bool):
    from .serialization import load as _load

    warnings.warn("Falling back to the old format < 1.6. This support will be deprecated in "
                  "favor of default zipfile format introduced in 1.6. Please redo torch.save() "
                  "to save it in the new zipfile format.", FutureWarning, stacklevel=3)
    with zipfile.ZipFile(filename) as f:
        members = f.infolist()
        if len(members) != 1:
            raise RuntimeError("Only one file(not dir) is allowed in the zipfile")
        _safe_extract_zip(f, model_dir)
        extracted_file = os.path.join(model_dir, members[0].filename)
    return _load(extracted_file, map_location=map_location, weights_only=weights_only)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None, weights_only: bool = False):
    """Load the checkpoint at ``url`` with :func:`ember.load`, downloading it into
    ``model_dir`` (default ``<get_dir()>/checkpoints``) unless a file of that name is there
    already. The file name is the URL's last part, or ``file_name``. With ``check_hash``, a
    name of the form ``name-<sha256 prefix>.ext`` is checked against the download. A zip
    holding a single file (the pre-1.6 format) is extracted first. ``weights_only`` defaults
    to False, as in PyTorch's function: only load files you trust, or pass True.

    Example:
        >>> import os, tempfile, pathlib
        >>> folder = tempfile.mkdtemp()
        >>> path = os.path.join(folder, "w.pt")
        >>> ember.save({"w": ember.ones(2)}, path)
        >>> sd = ember.hub.load_state_dict_from_url(pathlib.Path(path).as_uri(),
        ...     model_dir=os.path.join(folder, "cache"), progress=False)  # doctest: +ELLIPSIS
        Downloading: ...
        >>> sd["w"]
        tensor([1., 1.])
    """
    from .serialization import load as _load

    if os.getenv("TORCH_MODEL_ZOO"):
        warnings.warn("TORCH_MODEL_ZOO is deprecated, please use env TORCH_HOME instead",
                      stacklevel=2)
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        hash_prefix = None
        if check_hash:
            r = HASH_REGEX.search(filename)
            hash_prefix = r.group(1) if r else None
        download_url_to_file(url, cached_file, hash_prefix, progress=progress)
    if _is_legacy_zip_format(cached_file):
        return _legacy_zip_load(cached_file, model_dir, map_location, weights_only)
    return _load(cached_file, map_location=map_location, weights_only=weights_only)


# -- hubconf.py entry points ---------------------------------------------------------------------

def _no_github(repo: str):
    raise NotImplementedError(
        f"ember.hub does not download GitHub repositories ({repo!r}). Clone it yourself, e.g. "
        f"`git clone https://github.com/{repo.split(':')[0]}` (check out the branch or tag after "
        "':' if you gave one), then load from the folder: ember.hub.load('path/to/clone', "
        "'entrypoint', source='local'). The entry points must build ember models (import "
        "ember as torch), not PyTorch ones.")


def _hubconf(repo_dir: str):
    """The folder's ``hubconf.py`` as a fresh module, imported with the folder on sys.path (as
    PyTorch does, so that hubconf can import the folder's own modules)."""
    import importlib.util

    path = os.path.join(repo_dir, MODULE_HUBCONF)
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, f"no {MODULE_HUBCONF} in the hub folder", path)
    spec = importlib.util.spec_from_file_location(MODULE_HUBCONF, path)
    module = importlib.util.module_from_spec(spec)
    with _sys_path(repo_dir):
        spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _sys_path(path: str):
    sys.path.insert(0, path)
    try:
        yield
    finally:
        sys.path.remove(path)


def _entry(module, model):
    """The callable entry point ``model`` of a hubconf module, after its ``dependencies``
    (module names) are checked to be installed."""
    import importlib.util

    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    dependencies = getattr(module, VAR_DEPENDENCY, None)
    if dependencies is not None:
        missing = [pkg for pkg in dependencies if importlib.util.find_spec(pkg) is None]
        if missing:
            raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    func = getattr(module, model, None) if model in dir(module) else None
    if func is None or not callable(func):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return func


def _local_dir(github: str) -> str:
    """``list`` and ``help`` take a GitHub name in PyTorch; ember takes a folder."""
    if os.path.isdir(github):
        return github
    _no_github(github)


def load(repo_or_dir, model, *args, source="github", trust_repo="check", force_reload=False,
         verbose=True, skip_validation=False, **kwargs):
    """Call the entry point ``model`` of ``repo_or_dir``'s ``hubconf.py`` with ``*args`` and
    ``**kwargs`` and return what it returns. ember loads only local folders
    (``source="local"``); ``source="github"`` (PyTorch's default) raises NotImplementedError
    with instructions to clone the repository. ``trust_repo``, ``force_reload``, ``verbose``
    and ``skip_validation`` concern GitHub downloads and are accepted.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> with open(os.path.join(folder, "hubconf.py"), "w") as f:
        ...     _ = f.write("import ember\\ndef tiny(n=2):\\n    return ember.nn.Linear(n, 1)\\n")
        >>> ember.hub.load(folder, "tiny", n=3, source="local")
        Linear(in_features=3, out_features=1, bias=True)
    """
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "github":
        _no_github(repo_or_dir)
    module = _hubconf(repo_or_dir)
    with _sys_path(repo_or_dir):  # the entry point may import the folder's modules
        return _entry(module, model)(*args, **kwargs)


def list(github, force_reload=False, skip_validation=False, trust_repo="check",  # noqa: A001
         verbose=True):
    """The names of the callable entry points (public callables) in a folder's
    ``hubconf.py``. PyTorch takes a GitHub ``owner/repo[:ref]`` here; ember takes a local
    folder and raises NotImplementedError, with instructions, for anything else.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> with open(os.path.join(folder, "hubconf.py"), "w") as f:
        ...     _ = f.write("def tiny():\\n    return 1\\n")
        >>> ember.hub.list(folder)
        ['tiny']
    """
    module = _hubconf(_local_dir(github))
    return [f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_")]


def help(github, model, force_reload=False, skip_validation=False,  # noqa: A001
         trust_repo="check"):
    """The docstring of entry point ``model`` in a folder's ``hubconf.py`` (a local folder
    where PyTorch takes a GitHub name, as for :func:`list`).

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> with open(os.path.join(folder, "hubconf.py"), "w") as f:
        ...     _ = f.write('def tiny():\\n    "A tiny model."\\n    return 1\\n')
        >>> ember.hub.help(folder, "tiny")
        'A tiny model.'
    """
    return _entry(_hubconf(_local_dir(github)), model).__doc__

