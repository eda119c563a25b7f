"""Run folders: where a run writes, which checkpoint a resume or an eval reads, and how
checkpoints are written (atomically; ``best.pth`` a hard link to ``last.pth`` when they match).

A new run never overwrites an earlier one: with the default folder (``runs/ember``) it moves on
to ``runs/ember-2``, ``runs/ember-3``, ... and says so; a folder the user named (``--out-dir``
or a config file's ``out_dir``) that already holds files is refused unless ``--force`` is given.
A resumed run continues in the folder of the checkpoint it resumes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import CLIError

RUN_FILES = ("best.pth", "last.pth", "interrupted.pth", "history.png", "confusion.png")


def check_writable_dir(path: Path, what: str) -> None:
    """Fail unless ``path`` is (or can be created as) a folder this process can write."""
    if path.exists():
        if not path.is_dir():
            raise CLIError(f"{what} {path} is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise CLIError(f"{what} {path} is not writable (permission denied)")
        return
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise CLIError(f"{what} {path} cannot be created: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CLIError(f"{what} {path} cannot be created: {parent} is not writable "
                       "(permission denied)")


def _holds_files(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def choose_out_dir(out_dir: str, chosen_by_user: bool, force: bool) -> tuple[Path, str | None]:
    """The folder a new run writes to, and a note to print about it (or None)."""
    path = Path(out_dir)
    check_writable_dir(path, "--out-dir")
    if not _holds_files(path):
        return path, None
    if force:
        for name in RUN_FILES:  # no stale best.pth or plot of the replaced run survives
            (path / name).unlink(missing_ok=True)
        return path, f"--force: replacing the run in {path}"
    if not chosen_by_user:
        n = 2
        while _holds_files(Path(f"{path}-{n}")):
            n += 1
        fresh = Path(f"{path}-{n}")
        check_writable_dir(fresh, "--out-dir")
        return fresh, f"{path} holds an earlier run, which --resume {path} continues"
    held = sorted(p.name for p in path.iterdir())
    shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
    raise CLIError(f"--out-dir {path} already holds files ({shown}); continue that run with "
                   f"--resume {path}, choose another --out-dir, or pass --force to replace it")


def resume_target(arg: str) -> Path:
    """The checkpoint ``--resume`` reads: a file, or a run folder's newest checkpoint
    (``interrupted.pth`` when a run was stopped with Ctrl-C since its last finished epoch,
    else ``last.pth``)."""
    path = Path(arg)
    if path.is_dir():
        for name in ("interrupted.pth", "last.pth"):
            if (path / name).is_file():
                return path / name
        raise CLIError(f"--resume {path}: the folder holds no last.pth or interrupted.pth "
                       "(no epoch of a run finished there)")
    if not path.exists():
        raise CLIError(f"--resume {path}: no such file or folder")
    return path


def eval_target(arg: str) -> tuple[Path, str | None]:
    """The checkpoint ``ember eval`` reads (a run folder's best.pth, else last.pth), and a note
    when it falls back."""
    path = Path(arg)
    if not path.is_dir():
        if not path.exists():
            raise CLIError(f"{path}: no such checkpoint file or run folder")
        return path, None
    for name in ("best.pth", "last.pth", "interrupted.pth"):
        if (path / name).is_file():
            note = None if name == "best.pth" else f"{path} has no best.pth; evaluating {name}"
            return path / name, note
    raise CLIError(f"{path} holds no checkpoint (best.pth, last.pth or interrupted.pth); "
                   "give a run folder of `ember train` or a .pth file")


def load_checkpoint(path: Path) -> dict:
    """A run checkpoint of ``ember train``, or a CLIError that says why the file is not one."""
    import ember

    try:
        state = ember.load(path, map_location="cpu")
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as err:
        reason = str(err).removeprefix(f"{path}: ").splitlines()[0] if str(err) else \
            type(err).__name__
        raise CLIError(f"cannot read checkpoint {path}: {reason}") from err
    if isinstance(state, dict) and "config" in state and "model_state" in state:
        return state
    if isinstance(state, dict) and state and all(hasattr(v, "shape") for v in state.values()):
        raise CLIError(f"{path} holds only model weights (a state_dict), not a checkpoint of "
                       "`ember train`: it has no config to rebuild the model from; give a run "
                       "folder or its best.pth/last.pth")
    raise CLIError(f"{path} is not a checkpoint of `ember train` (it has no model_state and "
                   "config); give a run folder or its best.pth/last.pth")


def save_checkpoint(state: dict, path: Path) -> Path:
    """Write ``path`` atomically, always as a new file (so a hard link to the old one keeps the
    old contents); the file gets the usual mode (umask), as ``torch.save`` gives."""
    import ember

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        ember.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def link_best(last: Path, best: Path) -> None:
    """Make ``best`` the same file as ``last`` (a hard link; a copy where links are refused)."""
    tmp = best.with_name(f".{best.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(last, tmp)
    except OSError:
        shutil.copyfile(last, tmp)
    os.replace(tmp, best)
