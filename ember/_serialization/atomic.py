"""Atomic saves: write a temporary file next to the target, then ``os.replace`` it.

A reader never sees half a file, and a failed or killed save leaves the old file intact. The
result is what ``open(path, "wb")`` would give otherwise: a symlink is written through to its
target (the link stays a link), an existing file keeps its mode (and, where permitted, its
owner and group), a new file gets the mode the umask gives. A device or a pipe (``/dev/null``)
is written to directly, never replaced; a directory raises as in ``torch.save``. Temporary
files are named ``.ember-save-<host>-<pid>-<random>``; a save removes those of the same machine
whose process no longer runs (left by a killed save), so they do not pile up.
"""

from __future__ import annotations

import os
import stat

PREFIX = ".ember-save-"


def _host_tag() -> str:
    """This machine (and PID namespace, where there is one): another host's, or another
    container's, temporary files on a shared folder are never taken for stale ones."""
    import hashlib
    import socket

    ident = socket.gethostname()
    try:
        ident += f"/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        pass
    return hashlib.sha1(ident.encode()).hexdigest()[:8]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale(folder: str) -> None:
    """Remove this machine's temporary save files whose writing process has gone."""
    if os.name != "posix":  # os.kill(pid, 0) cannot probe a process elsewhere
        return
    tag = f"{PREFIX}{_host_tag()}-"
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if not entry.name.startswith(tag):
                continue
            pid = entry.name[len(tag):].split("-")[0]
            if not pid.isdigit() or int(pid) <= 0 or int(pid) == os.getpid() or \
                    _alive(int(pid)):
                continue
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def atomic_write(path, write) -> None:
    """Call ``write(file)`` on a temporary file, then move it onto ``path`` in one step.

    Example:
        >>> atomic_write("out.bin", lambda f: f.write(b"data"))
    """
    target = os.path.realpath(os.fspath(path))  # through symlinks, as open() writes
    folder = os.path.dirname(target)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if old is not None and stat.S_ISDIR(old.st_mode):
        raise RuntimeError(f"{os.fspath(path)}: open file failed with strerror: Is a directory")
    if old is not None and not stat.S_ISREG(old.st_mode):
        with open(target, "wb") as out:  # /dev/null, a pipe: written to, never replaced
            write(out)
        return
    clean_stale(folder)
    import secrets

    tmp = os.path.join(folder, f"{PREFIX}{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}")
    # A new file gets 0o666 less the umask, as open() gives; an existing one keeps its mode.
    mode = stat.S_IMODE(old.st_mode) if old is not None else 0o666
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, mode & 0o666 if old is not None else mode)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        if old is not None:
            if hasattr(os, "chown") and (old.st_uid, old.st_gid) != _owner(tmp):
                try:
                    os.chown(tmp, old.st_uid, old.st_gid)
                except OSError:
                    pass  # only root may give a file away; the mode is kept regardless
            os.chmod(tmp, stat.S_IMODE(old.st_mode))  # after chown, which clears set-id bits
        os.replace(tmp, target)  # the old file stays intact until the new one is complete
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _owner(path: str) -> tuple:
    st = os.stat(path)
    return st.st_uid, st.st_gid
