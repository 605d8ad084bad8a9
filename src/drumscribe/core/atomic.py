"""Atomic file writes (a temporary sibling, flushed to disk, renamed over the target), and the
destination check that commands run *before* long work so a result is never computed and then lost.

Errors are plain :class:`OSError` naming the path (the CLI prints them as one line, exit 1).
"""

from __future__ import annotations

import errno
import os
import socket
import uuid
from pathlib import Path

TMP_MARK = ".tmp-"  # temp files are ``.<name>.tmp-<host>-<pid>-<random>``


def writer_tag() -> str:
    """``<host>-<pid>``: the identity temp files carry, so only a dead writer's leftovers are removed."""
    host = socket.gethostname().replace("-", "_").replace(os.sep, "_") or "host"
    return f"{host}-{os.getpid()}"


def temp_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}{TMP_MARK}{writer_tag()}-{uuid.uuid4().hex[:8]}")


def parse_temp_name(name: str) -> tuple[str, int] | None:
    """``(host, pid)`` of a temp file name written by :func:`temp_sibling`, else None."""
    if not name.startswith(".") or TMP_MARK not in name:
        return None
    tail = name.rsplit(TMP_MARK, 1)[1].split("-")
    if len(tail) < 3 or not tail[-2].isdigit():
        return None
    return "-".join(tail[:-2]), int(tail[-2])


def writer_alive(host: str, pid: int) -> bool:
    """Whether the writer of a temp file may still be running (another host's writer is assumed alive)."""
    if host != writer_tag().rsplit("-", 1)[0]:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(path: str | Path, owner=None) -> None:
    """Delete the temp files a *dead* writer (``kill -9``) left for ``path``; never a live writer's.

    ``owner``: ``name -> (host, pid) | None`` (default :func:`parse_temp_name`).
    """
    import shutil

    path = Path(path)
    owner = owner or parse_temp_name
    try:
        leftovers = list(path.parent.glob(f".{glob_escape(path.name)}{TMP_MARK}*"))
    except OSError:
        return
    for p in leftovers:
        who = owner(p.name)
        if who is None or writer_alive(*who):
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def _blocking_file(folder: Path) -> Path | None:
    """The first component of ``folder`` that exists but is not a folder (None if there is none)."""
    for p in [*reversed(folder.parents), folder]:
        if p.exists() and not p.is_dir():
            return p
    return None


def ensure_parent(path: str | Path) -> None:
    """Create ``path``'s folder; an existing *file* in the way is ``NotADirectoryError`` naming it."""
    parent = Path(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = _blocking_file(parent) or parent
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(blocker)) from None


def check_destination(path: str | Path) -> Path:
    """Fail now (``OSError`` naming the path) if ``path`` could not be written later.

    Checks that ``path`` is not a folder, that no file sits where a folder is needed, and that the
    nearest existing folder accepts a new file (a probe file is created and removed there; folders
    are not created).  Returns ``path`` as a :class:`Path`.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, a file path is needed", str(path))
    blocker = _blocking_file(path.parent)
    if blocker is not None:
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(blocker))
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    probe = temp_sibling(folder / "probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, str(folder)) from None
    os.close(fd)
    os.unlink(probe)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half of one."""
    path = Path(path)
    ensure_parent(path)
    remove_stale_temps(path)
    tmp = temp_sibling(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # a read-only file system refuses even this (EROFS): the error to report is the write's
            pass
        if isinstance(exc, OSError) and exc.filename in (None, str(tmp)):  # name the target, not our temp file
            raise type(exc)(exc.errno, exc.strerror, str(path)) from None
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def swap_folder(build, target, carry=()) -> None:
    """Put the finished folder ``build`` in ``target``'s place (call under :class:`folder_lock`).

    ``carry``: names of files in the existing ``target`` that are not outputs of the run (a user's album art):
    they are moved into ``build`` first, unchanged.  The old folder is renamed aside and removed only once the new
    one is in place; if the swap fails the old folder is put back."""
    import shutil

    build, target = Path(build), Path(target)
    if not target.exists():
        os.rename(build, target)
        return
    for name in carry:
        os.rename(target / name, build / name)
    old = temp_sibling(target)
    os.rename(target, old)
    try:
        os.rename(build, target)
    except OSError:
        os.rename(old, target)
        for name in carry:
            os.rename(build / name, target / name)
        raise
    shutil.rmtree(old, ignore_errors=True)
